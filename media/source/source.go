// Package source provides Podium's video and audio sources other than live
// devices: a video file (any format OpenCV's VideoCapture reads), a still
// image shown with a slow pan and zoom, a moving test pattern, a WAV file
// and a test tone. Each video source delivers RGBA frames at its own pace.
package source

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"
	xdraw "golang.org/x/image/draw"
)

// Video is a source of RGBA frames of a fixed size (W x H) at FPS frames
// per second. ReadFrame blocks until the next frame is due and returns a
// new image each call (the caller owns it).
type Video interface {
	ReadFrame() (*image.RGBA, error)
	Size() (w, h int)
	FPS() float64
	Close() error
}

// ErrClosed is returned by ReadFrame after Close.
var ErrClosed = errors.New("source closed")

// Open chooses a source by name: "testpattern", an image file
// (.jpg/.jpeg/.png: pan and zoom) or any video file. Frames are w x h at fps.
func Open(spec string, w, h int, fps float64) (Video, error) {
	switch ext := strings.ToLower(filepath.Ext(spec)); {
	case spec == "" || spec == "testpattern":
		return NewTestPattern(w, h, fps), nil
	case ext == ".jpg" || ext == ".jpeg" || ext == ".png":
		return NewPanZoom(spec, w, h, fps)
	default:
		return NewFile(spec, w, h, fps)
	}
}

// pacer releases one frame every 1/fps seconds, skipping ahead (never
// bursting) when the consumer fell behind.
type pacer struct {
	next     time.Time
	interval time.Duration
}

func newPacer(fps float64) *pacer {
	return &pacer{interval: time.Duration(float64(time.Second) / fps)}
}

func (p *pacer) wait() {
	now := time.Now()
	if p.next.IsZero() {
		p.next = now
	}
	if d := p.next.Sub(now); d > 0 {
		time.Sleep(d)
	} else if -d > p.interval {
		p.next = now
	}
	p.next = p.next.Add(p.interval)
}

// File plays a video file through OpenCV, looping at its end, scaled to
// W x H. The file's own frame rate is ignored: frames come at FPS.
type File struct {
	mu     sync.Mutex
	cap    *gocv.VideoCapture
	path   string
	w, h   int
	fps    float64
	p      *pacer
	mat    gocv.Mat
	small  gocv.Mat
	rgba   gocv.Mat
	closed bool
}

// NewFile opens path. It returns an error for a missing or unreadable file.
func NewFile(path string, w, h int, fps float64) (*File, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		return nil, fmt.Errorf("source: open %s: %w", path, err)
	}
	if !vc.IsOpened() {
		vc.Close()
		return nil, fmt.Errorf("source: OpenCV cannot read %s", path)
	}
	return &File{cap: vc, path: path, w: w, h: h, fps: fps, p: newPacer(fps), mat: gocv.NewMat(), small: gocv.NewMat(), rgba: gocv.NewMat()}, nil
}

// Size implements Video.
func (f *File) Size() (int, int) { return f.w, f.h }

// FPS implements Video.
func (f *File) FPS() float64 { return f.fps }

// ReadFrame implements Video.
func (f *File) ReadFrame() (*image.RGBA, error) {
	f.p.wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	if !f.cap.Read(&f.mat) || f.mat.Empty() {
		// Loop.
		f.cap.Set(gocv.VideoCapturePosFrames, 0)
		if !f.cap.Read(&f.mat) || f.mat.Empty() {
			return nil, fmt.Errorf("source: no frames in %s", f.path)
		}
	}
	gocv.Resize(f.mat, &f.small, image.Pt(f.w, f.h), 0, 0, gocv.InterpolationLinear)
	gocv.CvtColor(f.small, &f.rgba, gocv.ColorBGRToRGBA)
	img := image.NewRGBA(image.Rect(0, 0, f.w, f.h))
	b, err := f.rgba.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	copy(img.Pix, b)
	return img, nil
}

// Close implements Video.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.mat.Close()
	f.small.Close()
	f.rgba.Close()
	return f.cap.Close()
}

// PanZoom shows a still image with a slow pan and zoom (Ken Burns effect),
// so encoders and tests see motion: a 10 s cycle between 100 % and 115 %.
type PanZoom struct {
	src  image.Image
	w, h int
	fps  float64
	p    *pacer
	n    int
}

// NewPanZoom loads an image with OpenCV (any format it reads).
func NewPanZoom(path string, w, h int, fps float64) (*PanZoom, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	m := gocv.IMRead(path, gocv.IMReadColor)
	if m.Empty() {
		return nil, fmt.Errorf("source: cannot decode image %s", path)
	}
	defer m.Close()
	img, err := m.ToImage()
	if err != nil {
		return nil, err
	}
	return &PanZoom{src: img, w: w, h: h, fps: fps, p: newPacer(fps)}, nil
}

// Size implements Video.
func (s *PanZoom) Size() (int, int) { return s.w, s.h }

// FPS implements Video.
func (s *PanZoom) FPS() float64 { return s.fps }

// Close implements Video.
func (s *PanZoom) Close() error { return nil }

// ReadFrame implements Video.
func (s *PanZoom) ReadFrame() (*image.RGBA, error) {
	s.p.wait()
	t := float64(s.n) / s.fps
	s.n++
	phase := 0.5 - 0.5*math.Cos(2*math.Pi*t/10)
	zoom := 1 + 0.15*phase
	b := s.src.Bounds()
	// Crop with the output aspect ratio, zoomed, panning left to right.
	aspect := float64(s.w) / float64(s.h)
	cw, ch := float64(b.Dx()), float64(b.Dx())/aspect
	if ch > float64(b.Dy()) {
		ch = float64(b.Dy())
		cw = ch * aspect
	}
	cw, ch = cw/zoom, ch/zoom
	x0 := float64(b.Min.X) + (float64(b.Dx())-cw)*phase
	y0 := float64(b.Min.Y) + (float64(b.Dy())-ch)/2
	crop := image.Rect(int(x0), int(y0), int(x0+cw), int(y0+ch))
	dst := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), s.src, crop, draw.Src, nil)
	return dst, nil
}

// TestPattern draws colour bars with a moving box and a frame counter bar,
// like mediadevices' videotest driver, with no file needed.
type TestPattern struct {
	w, h int
	fps  float64
	p    *pacer
	n    int
}

// NewTestPattern returns a W x H pattern at fps.
func NewTestPattern(w, h int, fps float64) *TestPattern {
	return &TestPattern{w: w, h: h, fps: fps, p: newPacer(fps)}
}

// Size implements Video.
func (s *TestPattern) Size() (int, int) { return s.w, s.h }

// FPS implements Video.
func (s *TestPattern) FPS() float64 { return s.fps }

// Close implements Video.
func (s *TestPattern) Close() error { return nil }

var bars = []color.RGBA{{235, 235, 235, 255}, {235, 235, 16, 255}, {16, 235, 235, 255}, {16, 235, 16, 255}, {235, 16, 235, 255}, {235, 16, 16, 255}, {16, 16, 235, 255}}

// ReadFrame implements Video.
func (s *TestPattern) ReadFrame() (*image.RGBA, error) {
	s.p.wait()
	img := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
	for i, c := range bars {
		r := image.Rect(i*s.w/len(bars), 0, (i+1)*s.w/len(bars), s.h)
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	size := s.h / 4
	x := (s.n * 4) % (s.w - size)
	draw.Draw(img, image.Rect(x, s.h/2-size/2, x+size, s.h/2+size/2), &image.Uniform{color.RGBA{16, 16, 16, 255}}, image.Point{}, draw.Src)
	s.n++
	return img, nil
}
