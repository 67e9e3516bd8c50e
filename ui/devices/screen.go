package devices

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/driver"
	_ "github.com/pion/mediadevices/pkg/driver/screen" // X11 screen capture
	"github.com/pion/mediadevices/pkg/prop"
	xdraw "golang.org/x/image/draw"

	"github.com/podiumhq/podium/media/source"
)

// Screen share frame rate and largest width (wider screens are scaled).
const (
	ScreenFPS      = 15
	ScreenMaxWidth = 1280
)

// HasScreen reports whether the mediadevices screen driver found a display.
func HasScreen() bool {
	return len(driver.GetManager().Query(func(d driver.Driver) bool { return d.Info().DeviceType == driver.Screen })) > 0
}

// OpenScreen opens the screen for sharing with the mediadevices `screen`
// driver (X11). When that cannot capture here it returns a test pattern
// instead and says so in note; err is only for a fallback that fails too.
func OpenScreen() (src source.Video, note string, err error) {
	s, serr := openX11Screen()
	if serr == nil {
		return s, "", nil
	}
	tp, err := source.Open("testpattern", ScreenMaxWidth, 720, ScreenFPS)
	if err != nil {
		return nil, "", fmt.Errorf("cannot capture the screen (%v) nor make a test pattern (%v)", serr, err)
	}
	return tp, "Screen capture is not available here (" + serr.Error() + "): sharing a test pattern instead.", nil
}

type screenSrc struct {
	track mediadevices.Track
	r     interface {
		Read() (image.Image, func(), error)
	}
	w, h int
	// The x11 reader waits for its ticker, which Close stops: a Read in
	// progress would then wait for ever. So Close during a read leaves
	// closing the track to the reader, after its read returns.
	mu      sync.Mutex
	closed  bool
	reading bool
	once    sync.Once
}

func openX11Screen() (source.Video, error) {
	if !HasScreen() {
		return nil, errors.New("no X11 display for the screen driver")
	}
	st, err := mediadevices.GetDisplayMedia(mediadevices.MediaStreamConstraints{Video: func(c *mediadevices.MediaTrackConstraints) {
		c.FrameRate = prop.Float(ScreenFPS)
	}})
	if err != nil {
		return nil, fmt.Errorf("the screen could not be captured: %w", err)
	}
	tr := st.GetVideoTracks()[0]
	vt, ok := tr.(*mediadevices.VideoTrack)
	if !ok {
		_ = tr.Close()
		return nil, errors.New("the screen gave no video track")
	}
	s := &screenSrc{track: tr, r: vt.NewReader(false)}
	// The first frame fixes the size (the encoder needs it up front).
	img, release, err := s.r.Read()
	if err != nil {
		_ = tr.Close()
		return nil, fmt.Errorf("the screen could not be captured: %w", err)
	}
	b := img.Bounds()
	release()
	if b.Dx() < 16 || b.Dy() < 16 {
		_ = tr.Close()
		return nil, fmt.Errorf("the screen capture is empty (%v)", b)
	}
	s.w, s.h = b.Dx(), b.Dy()
	if s.w > ScreenMaxWidth {
		s.w, s.h = ScreenMaxWidth, b.Dy()*ScreenMaxWidth/b.Dx()
	}
	s.w, s.h = s.w&^1, s.h&^1 // even sizes for I420
	return s, nil
}

func (s *screenSrc) Size() (int, int) { return s.w, s.h }
func (s *screenSrc) FPS() float64     { return ScreenFPS }
func (s *screenSrc) Close() error {
	s.mu.Lock()
	s.closed = true
	reading := s.reading
	s.mu.Unlock()
	if reading {
		return nil
	}
	return s.closeTrack()
}

func (s *screenSrc) closeTrack() error {
	var err error
	s.once.Do(func() { err = s.track.Close() })
	return err
}

func (s *screenSrc) ReadFrame() (*image.RGBA, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, source.ErrClosed
	}
	s.reading = true
	s.mu.Unlock()
	img, release, err := s.r.Read()
	s.mu.Lock()
	s.reading = false
	closed := s.closed
	s.mu.Unlock()
	if err == nil && closed {
		release()
		err = source.ErrClosed
	}
	if err != nil {
		_ = s.closeTrack()
		return nil, source.ErrClosed
	}
	defer release()
	out := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
	if img.Bounds().Dx() == s.w && img.Bounds().Dy() == s.h {
		xdraw.Draw(out, out.Rect, img, img.Bounds().Min, xdraw.Src)
	} else {
		xdraw.ApproxBiLinear.Scale(out, out.Rect, img, img.Bounds(), xdraw.Src, nil)
	}
	return out, nil
}
