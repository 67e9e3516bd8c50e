// Package testimg makes inputs for compositor tests and benchmarks:
// synthetic confidence masks and frames, and real frames read from image
// and video files and scaled to a working size. It stands in for the
// segmentation model, which the compositor must not depend on.
package testimg

import (
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // decode .jpg test inputs
	_ "image/png"  // decode .png test inputs
	"math"
	"os"

	"gocv.io/x/gocv"
)

// Ellipse returns a w x h confidence mask: 255 inside an ellipse centred at
// (cx*w, cy*h) with radii (rx*w, ry*h), 0 outside, with a linear soft edge
// `soft` (a fraction of the radius) wide, like a segmentation model's output.
func Ellipse(w, h int, cx, cy, rx, ry, soft float64) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx := ((float64(x)+0.5)/float64(w) - cx) / rx
			dy := ((float64(y)+0.5)/float64(h) - cy) / ry
			d := math.Sqrt(dx*dx + dy*dy) // 1 on the ellipse
			v := 0.5 - (d-1)/(2*soft)
			m.Pix[y*m.Stride+x] = uint8(math.Round(255 * math.Max(0, math.Min(1, v))))
		}
	}
	return m
}

// Gradient returns a w x h RGBA test pattern (smooth gradients plus a few
// hard edges).
func Gradient(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := y*m.Stride + 4*x
			m.Pix[o] = uint8(x * 255 / max(1, w-1))
			m.Pix[o+1] = uint8(y * 255 / max(1, h-1))
			m.Pix[o+2] = uint8(((x / 32) + (y / 32)) % 2 * 200)
			m.Pix[o+3] = 255
		}
	}
	return m
}

// Load decodes an image file (JPEG or PNG) into RGBA at its own size.
func Load(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("testimg: %s: %w", path, err)
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m, nil
}

// Resize scales m to w x h (OpenCV INTER_AREA when shrinking, INTER_LINEAR
// when enlarging), ignoring aspect.
func Resize(m *image.RGBA, w, h int) (*image.RGBA, error) {
	src, err := gocv.NewMatFromBytes(m.Rect.Dy(), m.Rect.Dx(), gocv.MatTypeCV8UC4, m.Pix)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	interp := gocv.InterpolationLinear
	if w < m.Rect.Dx() {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(src, &dst, image.Pt(w, h), 0, 0, interp)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	copy(out.Pix, dst.ToBytes())
	return out, nil
}

// VideoFrames reads n frames from a video file, every step-th frame from the
// start, converted to RGBA and scaled to w x h (0 keeps the video's size).
func VideoFrames(path string, n, step, w, h int) ([]*image.RGBA, error) {
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		return nil, fmt.Errorf("testimg: open %s: %w", path, err)
	}
	defer vc.Close()
	bgr, rgba := gocv.NewMat(), gocv.NewMat()
	defer bgr.Close()
	defer rgba.Close()
	var out []*image.RGBA
	for i := 0; len(out) < n; i++ {
		if !vc.Read(&bgr) || bgr.Empty() {
			break
		}
		if i%max(1, step) != 0 {
			continue
		}
		gocv.CvtColor(bgr, &rgba, gocv.ColorBGRToRGBA)
		m := image.NewRGBA(image.Rect(0, 0, rgba.Cols(), rgba.Rows()))
		copy(m.Pix, rgba.ToBytes())
		if w > 0 && h > 0 && (w != m.Rect.Dx() || h != m.Rect.Dy()) {
			if m, err = Resize(m, w, h); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	if len(out) < n {
		return out, fmt.Errorf("testimg: %s: read %d of %d frames", path, len(out), n)
	}
	return out, nil
}
