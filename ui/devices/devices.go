// Package devices lists cameras, microphones and speakers, opens a capture
// source by its spec (a device, a video or image file, a test pattern, a
// WAV file or a tone), and wraps sources so the call can mute them, turn
// the camera off, swap sources mid-call and survive a device that fails:
// a failing source turns into black video or silence and reports once.
package devices

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/driver"
	_ "github.com/pion/mediadevices/pkg/driver/camera"     // V4L2 cameras
	_ "github.com/pion/mediadevices/pkg/driver/microphone" // miniaudio microphones
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/source"
)

// Frame size and rate of every local video source.
const (
	Width  = 640
	Height = 480
	FPS    = 30
)

// Option is one entry of a device menu: a spec to open and a label.
type Option struct{ Spec, Label string }

// Cameras lists the cameras, then the file and test-pattern fallbacks.
func Cameras(files ...string) []Option {
	var out []Option
	for _, d := range driver.GetManager().Query(driver.FilterVideoRecorder()) {
		out = append(out, Option{"camera:" + d.ID(), "Camera: " + d.Info().Label})
	}
	out = append(out, Option{"testpattern", "Test pattern"})
	for _, f := range files {
		out = append(out, Option{f, "File: " + f})
	}
	return out
}

// Microphones lists microphones (ALSA's "null" sink is left out), then a
// test tone, WAV files and "none".
func Microphones(files ...string) []Option {
	var out []Option
	for _, d := range driver.GetManager().Query(driver.FilterAudioRecorder()) {
		if l := d.Info().Label; l != "" && !strings.Contains(strings.ToLower(l), "null") {
			out = append(out, Option{"mic:" + d.ID(), "Microphone: " + l})
		}
	}
	out = append(out, Option{"tone", "Test tone (440 Hz)"})
	for _, f := range files {
		out = append(out, Option{f, "File: " + f})
	}
	return append(out, Option{"none", "No microphone"})
}

// OpenVideo opens a video spec at Width x Height, FPS.
func OpenVideo(spec string) (source.Video, error) {
	if id, ok := strings.CutPrefix(spec, "camera:"); ok {
		return openCamera(id)
	}
	v, err := source.Open(spec, Width, Height, FPS)
	if err != nil {
		return nil, fmt.Errorf("cannot open video source %q: %w", spec, err)
	}
	return v, nil
}

// OpenAudio opens an audio spec; "none" returns nil, nil.
func OpenAudio(spec string) (audio.Source, error) {
	switch {
	case spec == "none" || spec == "":
		return nil, nil
	case spec == "tone":
		return &audio.Tone{Hz: 440, Amp: 0.1}, nil
	case strings.HasPrefix(spec, "mic:"):
		return openMic(strings.TrimPrefix(spec, "mic:"))
	}
	w, err := audio.NewWAV(spec)
	if err != nil {
		return nil, fmt.Errorf("cannot open audio file %q: %w", spec, err)
	}
	return w, nil
}

// ---- mediadevices adapters ----

type camera struct {
	track mediadevices.Track
	r     interface {
		Read() (image.Image, func(), error)
	}
}

func openCamera(id string) (source.Video, error) {
	s, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{Video: func(c *mediadevices.MediaTrackConstraints) {
		c.DeviceID = prop.String(id)
		c.Width, c.Height, c.FrameRate = prop.Int(Width), prop.Int(Height), prop.Float(FPS)
	}})
	if err != nil {
		return nil, fmt.Errorf("the camera could not be opened (%w); pick another camera, a file or the test pattern", err)
	}
	tr := s.GetVideoTracks()[0]
	vt, ok := tr.(*mediadevices.VideoTrack)
	if !ok {
		_ = tr.Close()
		return nil, errors.New("the camera gave no video track")
	}
	return &camera{track: tr, r: vt.NewReader(false)}, nil
}

func (c *camera) Size() (int, int) { return Width, Height }
func (c *camera) FPS() float64     { return FPS }
func (c *camera) Close() error     { return c.track.Close() }
func (c *camera) ReadFrame() (*image.RGBA, error) {
	img, release, err := c.r.Read()
	if err != nil {
		return nil, err
	}
	defer release()
	out := image.NewRGBA(image.Rect(0, 0, Width, Height))
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out, nil
}

type mic struct {
	track mediadevices.Track
	ar    func() ([]int16, error)
	buf   []int16
}

func openMic(id string) (audio.Source, error) {
	s, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{Audio: func(c *mediadevices.MediaTrackConstraints) {
		c.DeviceID = prop.String(id)
		c.SampleRate, c.ChannelCount = prop.Int(audio.SampleRate), prop.Int(1)
	}})
	if err != nil {
		return nil, fmt.Errorf("the microphone could not be opened (%w); pick another microphone or a file", err)
	}
	tr := s.GetAudioTracks()[0]
	at, ok := tr.(*mediadevices.AudioTrack)
	if !ok {
		_ = tr.Close()
		return nil, errors.New("the microphone gave no audio track")
	}
	r := at.NewReader(false)
	m := &mic{track: tr}
	m.ar = func() ([]int16, error) {
		chunk, release, err := r.Read()
		if err != nil {
			return nil, err
		}
		defer release()
		n := chunk.ChunkInfo().Len
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(chunk.At(i, 0).Int() >> 16)
		}
		return out, nil
	}
	return m, nil
}

func (m *mic) ReadFrame() ([]int16, error) {
	for len(m.buf) < audio.FrameSamples {
		b, err := m.ar()
		if err != nil {
			return nil, err
		}
		m.buf = append(m.buf, b...)
	}
	out := append([]int16(nil), m.buf[:audio.FrameSamples]...)
	m.buf = append(m.buf[:0], m.buf[audio.FrameSamples:]...)
	return out, nil
}

func (m *mic) Close() error { return m.track.Close() }

// ---- wrappers ----

// Video wraps the current video source: Off sends black frames, Swap
// replaces the source, and a source that fails is closed, reported once
// through OnError and replaced by black frames, so the call goes on.
type Video struct {
	mu      sync.Mutex
	src     source.Video
	black   *image.RGBA
	off     atomic.Bool
	closed  bool
	next    time.Time
	OnFrame func(*image.RGBA) // preview (the frame is read-only)
	OnError func(error)
}

// NewVideo wraps src (nil: black frames until Swap).
func NewVideo(src source.Video) *Video {
	return &Video{src: src, black: image.NewRGBA(image.Rect(0, 0, Width, Height))}
}

// SetOff turns the camera off (black frames) or on.
func (v *Video) SetOff(off bool) { v.off.Store(off) }

// Off reports whether the camera is off.
func (v *Video) Off() bool { return v.off.Load() }

// Swap replaces the source (closing the old one).
func (v *Video) Swap(src source.Video) {
	v.mu.Lock()
	old := v.src
	v.src = src
	v.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
}

// Size implements source.Video.
func (v *Video) Size() (int, int) { return Width, Height }

// FPS implements source.Video.
func (v *Video) FPS() float64 { return FPS }

// ReadFrame implements source.Video; it fails only after Close.
func (v *Video) ReadFrame() (*image.RGBA, error) {
	v.mu.Lock()
	src, closed := v.src, v.closed
	v.mu.Unlock()
	if closed {
		return nil, source.ErrClosed
	}
	var img *image.RGBA
	if src != nil {
		f, err := src.ReadFrame()
		if err != nil {
			v.mu.Lock()
			if v.src == src && !v.closed {
				v.src = nil
				_ = src.Close()
				if v.OnError != nil && !errors.Is(err, source.ErrClosed) {
					go v.OnError(fmt.Errorf("the video source stopped (%v); sending no picture, choose another source in Settings", err))
				}
			}
			closed = v.closed
			v.mu.Unlock()
			if closed {
				return nil, source.ErrClosed
			}
		} else {
			img = f
			v.next = time.Time{}
		}
	}
	if img == nil {
		paceFrame(&v.next, time.Second/FPS)
	}
	if img == nil || v.off.Load() {
		img = image.NewRGBA(v.black.Rect) // the encoder may hold the frame
	}
	if v.OnFrame != nil {
		v.OnFrame(img)
	}
	return img, nil
}

// Close closes the wrapper and its source.
func (v *Video) Close() error {
	v.mu.Lock()
	src := v.src
	v.src, v.closed = nil, true
	v.mu.Unlock()
	if src != nil {
		return src.Close()
	}
	return nil
}

func paceFrame(next *time.Time, d time.Duration) {
	now := time.Now()
	if next.IsZero() || now.Sub(*next) > d {
		*next = now
	}
	if w := next.Sub(now); w > 0 {
		time.Sleep(w)
	}
	*next = next.Add(d)
}

// Audio wraps the current audio source: Muted sends silence, Level is the
// input level (measured before muting, for the meter), and a failing source
// turns into silence and reports once.
type Audio struct {
	mu      sync.Mutex
	src     audio.Source
	muted   atomic.Bool
	level   atomic.Uint64
	closed  bool
	next    time.Time
	OnError func(error)
}

// NewAudio wraps src (nil: silence).
func NewAudio(src audio.Source) *Audio {
	a := &Audio{src: src}
	a.level.Store(math.Float64bits(-127))
	return a
}

// SetMuted mutes or unmutes.
func (a *Audio) SetMuted(m bool) { a.muted.Store(m) }

// LevelDB is the last frame's input level in dBov.
func (a *Audio) LevelDB() float64 { return math.Float64frombits(a.level.Load()) }

// Swap replaces the source (closing the old one).
func (a *Audio) Swap(src audio.Source) {
	a.mu.Lock()
	old := a.src
	a.src = src
	a.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
}

// ReadFrame implements audio.Source.
func (a *Audio) ReadFrame() ([]int16, error) {
	a.mu.Lock()
	src, closed := a.src, a.closed
	a.mu.Unlock()
	if closed {
		return nil, source.ErrClosed
	}
	var pcm []int16
	if src != nil {
		f, err := src.ReadFrame()
		if err != nil {
			a.mu.Lock()
			if a.src == src {
				a.src = nil
				_ = src.Close()
				if a.OnError != nil && !a.closed {
					go a.OnError(fmt.Errorf("the microphone stopped (%v); sending silence, choose another in Settings", err))
				}
			}
			a.mu.Unlock()
		} else {
			pcm = f
			a.next = time.Time{}
		}
	}
	if pcm == nil {
		paceFrame(&a.next, audio.FrameDuration)
		pcm = make([]int16, audio.FrameSamples)
	}
	a.level.Store(math.Float64bits(audio.LevelDBov(pcm)))
	if a.muted.Load() {
		return make([]int16, len(pcm)), nil
	}
	return pcm, nil
}

// Close closes the wrapper and its source.
func (a *Audio) Close() error {
	a.mu.Lock()
	src := a.src
	a.src, a.closed = nil, true
	a.mu.Unlock()
	if src != nil {
		return src.Close()
	}
	return nil
}
