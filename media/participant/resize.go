package participant

import (
	"errors"
	"image"
	"sync"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// resizingEncoder is a VP8 encoder whose frame size follows the frames it
// is given: when the adaptation ladder changes resolution it builds a new
// vpx encoder at the new size (mediadevices' vpx encoder re-initialises
// itself in place on a size change, which crashes the Go runtime: "found
// pointer to free object"). Bitrate and key-frame requests go to the
// current encoder and carry over to the next.
type resizingEncoder struct {
	params vpx.VP8Params
	src    video.Reader
	fps    float32

	mu      sync.Mutex
	cur     codec.ReadCloser
	w, h    int
	stash   image.Image
	bitrate int
	// Requests applied by Read between frames: the vpx encoder holds its
	// lock while it waits for a frame, and in audio only none comes.
	newRate, wantKey bool
}

var errResize = errors.New("frame size changed")

func newResizingEncoder(params vpx.VP8Params, src video.Reader, w, h int, fps float32) (*resizingEncoder, error) {
	e := &resizingEncoder{params: params, src: src, fps: fps, bitrate: params.BitRate}
	if err := e.build(w, h); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *resizingEncoder) build(w, h int) error {
	p := e.params
	p.BitRate = e.bitrate
	inner := video.ReaderFunc(func() (image.Image, func(), error) {
		e.mu.Lock()
		img := e.stash
		e.stash = nil
		e.mu.Unlock()
		if img == nil {
			var err error
			img, _, err = e.src.Read()
			if err != nil {
				return nil, func() {}, err
			}
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			e.mu.Lock()
			e.stash = img
			e.mu.Unlock()
			return nil, func() {}, errResize
		}
		return img, func() {}, nil
	})
	enc, err := p.BuildVideoEncoder(inner, prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: e.fps}})
	if err != nil {
		return err
	}
	e.mu.Lock()
	old := e.cur
	e.cur, e.w, e.h = enc, w, h
	e.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

func (e *resizingEncoder) Read() ([]byte, func(), error) {
	for {
		e.mu.Lock()
		cur := e.cur
		rate, setRate, key := e.bitrate, e.newRate, e.wantKey
		e.newRate, e.wantKey = false, false
		e.mu.Unlock()
		if br, ok := cur.Controller().(codec.BitRateController); ok && setRate {
			_ = br.SetBitRate(rate)
		}
		if kf, ok := cur.Controller().(codec.KeyFrameController); ok && key {
			_ = kf.ForceKeyFrame()
		}
		b, release, err := cur.Read()
		if !errors.Is(err, errResize) {
			return b, release, err
		}
		e.mu.Lock()
		b0 := e.stash.Bounds()
		e.mu.Unlock()
		if err := e.build(b0.Dx(), b0.Dy()); err != nil {
			return nil, func() {}, err
		}
	}
}

func (e *resizingEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur.Close()
}

// Controller forwards bitrate and key-frame requests.
func (e *resizingEncoder) Controller() codec.EncoderController { return e }

func (e *resizingEncoder) SetBitRate(b int) error {
	e.mu.Lock()
	e.bitrate, e.newRate = b, true
	e.mu.Unlock()
	return nil
}

func (e *resizingEncoder) ForceKeyFrame() error {
	e.mu.Lock()
	e.wantKey = true
	e.mu.Unlock()
	return nil
}
