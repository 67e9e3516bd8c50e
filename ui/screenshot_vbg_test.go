package ui

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/podiumhq/podium/gpu"
	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/store"
)

// sharpness is the mean absolute horizontal+vertical luma gradient in r:
// a blurred background has far less of it than the raw one.
func sharpness(img *image.RGBA, r image.Rectangle) float64 {
	r = r.Intersect(img.Rect)
	luma := func(x, y int) float64 {
		i := img.PixOffset(x, y)
		p := img.Pix[i : i+3]
		return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
	}
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y-1; y++ {
		for x := r.Min.X; x < r.Max.X-1; x++ {
			l := luma(x, y)
			dx, dy := luma(x+1, y)-l, luma(x, y+1)-l
			if dx < 0 {
				dx = -dx
			}
			if dy < 0 {
				dy = -dy
			}
			sum += dx + dy
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// toPreJoin shows the pre-join screen with settings changed by edit.
func toPreJoin(t *testing.T, w *Window, edit func(*store.Settings)) {
	t.Helper()
	if w.Store.State().Screen == store.ScreenStart {
		w.Store.Dispatch(store.HostRequested{})
	}
	waitFor(t, "the pre-join screen", 10*time.Second, func() bool { return w.Store.State().Screen == store.ScreenPreJoin })
	s := w.Store.State().Settings
	edit(&s)
	w.Store.Dispatch(store.UpdateSettings{Settings: s})
}

func waitBackgrounds(t *testing.T, w *Window) {
	t.Helper()
	waitFor(t, "the background pipeline", 30*time.Second, func() bool { return w.Store.State().BgReady })
	if u := w.Store.State().BgUnavailable; u != "" {
		if !strings.Contains(u, "make model") {
			t.Fatalf("background effects unavailable without naming `make model`: %s", u)
		}
		t.Skipf("no segmentation model here: %s", u)
	}
}

// composited waits until the pipeline has composited n more frames with kind.
func composited(t *testing.T, w *Window, n uint64) {
	t.Helper()
	p := w.Ctl.bg.pipe.Load()
	start := p.Stats().Composited
	waitFor(t, "composited frames", 15*time.Second, func() bool { return p.Stats().Composited >= start+n })
}

func TestScreenshotPreJoinBlur(t *testing.T) {
	w := window(t)
	person := testdata.Require(t, "opencv/Megamind.avi")
	toPreJoin(t, w, func(s *store.Settings) { s.Video, s.Background, s.JoinCameraOff = person, bgNone, false })
	waitBackgrounds(t, w)
	p := w.Ctl.bg.pipe.Load()
	info := p.Info()
	t.Logf("compositor: backend %s, tier %v, renderer %q; offer warning %q", info.Backend, info.Tier, info.Renderer, w.Store.State().BgWarning)
	if info.Tier <= gpu.TierLow && w.Store.State().BgWarning == "" {
		t.Errorf("weak hardware (tier %v) but no warning shown", info.Tier)
	}
	time.Sleep(1500 * time.Millisecond)
	r := rectOf(w, w.prejoin.preview.obj)
	in := image.Rect(r.Min.X+4, r.Min.Y+4, r.Max.X-4, r.Max.Y-40) // above the name bar
	raw := capture(t)
	save(t, "prejoin-raw.png", raw)

	s := w.Store.State().Settings
	s.Background = bgBlurStrong
	w.Store.Dispatch(store.UpdateSettings{Settings: s})
	composited(t, w, 20)
	time.Sleep(500 * time.Millisecond)
	blur := capture(t)
	save(t, "prejoin-blur.png", blur)
	checkNotBlank(t, "blurred preview", blur, in, 10, 100)
	if st := p.Stats(); st.Effect.String() != bgBlurStrong {
		t.Errorf("pipeline effect %v, want %s", st.Effect, bgBlurStrong)
	}
	// The background loses its detail. The person moves around the middle
	// of this video and may reach one edge of the preview, never both: the
	// less sharp of the left and right strips (relative to the raw capture)
	// must be clearly blurred.
	edges := []image.Rectangle{
		image.Rect(in.Min.X, in.Min.Y, in.Min.X+in.Dx()/6, in.Max.Y),
		image.Rect(in.Max.X-in.Dx()/6, in.Min.Y, in.Max.X, in.Max.Y),
	}
	ratio, bgEdge := math.Inf(1), edges[0]
	for _, e := range edges {
		sr, sb := sharpness(raw, e), sharpness(blur, e)
		t.Logf("background sharpness in %v: raw %.2f, blurred %.2f", e, sr, sb)
		if sr > 0 && sb/sr < ratio {
			ratio, bgEdge = sb/sr, e
		}
	}
	t.Logf("background strip %v: sharpness ratio %.2f, mean difference %.1f", bgEdge, ratio, meanDiff(raw, blur, bgEdge))
	if ratio > 0.6 {
		t.Errorf("the blurred preview's background is not blurred: sharpness ratio %.2f (want <= 0.6)", ratio)
	}
	if d := meanDiff(raw, blur, bgEdge); d < 2 {
		t.Errorf("blurred background differs from the raw frame by only %.2f per channel", d)
	}
	// The warning (weak hardware) is visible beside the choice.
	var helpVisible bool
	fyne.DoAndWait(func() { helpVisible = w.prejoin.form.bgHelp.Visible() && w.prejoin.form.bgHelp.Text != "" })
	if w.Store.State().BgWarning != "" && !helpVisible {
		t.Errorf("the offer's warning is not shown")
	}

	// A bundled image replaces the background.
	s.Background = bgImagePfx + "office"
	w.Store.Dispatch(store.UpdateSettings{Settings: s})
	composited(t, w, 20)
	time.Sleep(500 * time.Millisecond)
	img := capture(t)
	save(t, "prejoin-image.png", img)
	checkNotBlank(t, "image background preview", img, in, 10, 100)

	// A broken file: a message in the window, the choice stays.
	bad := filepath.Join(t.TempDir(), "holiday.jpg")
	if err := os.WriteFile(bad, []byte("this is not a JPEG at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Store.Dispatch(store.ChooseBackgroundFile{Path: bad})
	waitFor(t, "the bad-file message", 5*time.Second, func() bool { return strings.Contains(w.Store.State().BgError, "not an image") })
	time.Sleep(600 * time.Millisecond)
	save(t, "prejoin-bad-image.png", capture(t))
	var errShown string
	fyne.DoAndWait(func() {
		if w.prejoin.form.bgErr.Visible() {
			errShown = w.prejoin.form.bgErr.Text
		}
	})
	if !strings.Contains(errShown, "holiday.jpg") {
		t.Errorf("the bad file's error is not shown beside the choice (shown: %q)", errShown)
	}
	if got := w.Store.State().Settings.Background; got != bgImagePfx+"office" {
		t.Errorf("a broken file changed the background to %q", got)
	}
	// A good user file is taken.
	good := testdata.Require(t, "faceapi/sample2.jpg")
	w.Store.Dispatch(store.ChooseBackgroundFile{Path: good})
	waitFor(t, "the user image", 5*time.Second, func() bool { return w.Store.State().Settings.Background == bgFile })

	// Back to the defaults the other tests expect.
	s = w.Store.State().Settings
	s.Background, s.Video = bgNone, testdata.Require(t, "opencv/vtest.avi")
	w.Store.Dispatch(store.UpdateSettings{Settings: s})
}

// screenFrames is how many screen frames p has received from from
// (packets as a fallback: the guests do not decode).
func screenPackets(p *participant.Participant, from string) int {
	for _, ts := range p.Stats() {
		if ts.From == from && ts.Track == participant.ScreenTrackID {
			return ts.Packets
		}
	}
	return 0
}

func TestScreenshotScreenShare(t *testing.T) {
	w := window(t)
	toPreJoin(t, w, func(s *store.Settings) {
		s.Video, s.Background, s.JoinCameraOff = testdata.Require(t, "opencv/vtest.avi"), bgBlurLight, false
	})
	waitBackgrounds(t, w)
	w.Store.Dispatch(store.JoinRequested{})
	waitFor(t, "the call screen", 15*time.Second, func() bool { return w.Store.State().Screen == store.ScreenCall })
	defer func() {
		for _, g := range guests {
			g.Close()
		}
		guests = nil
		w.Store.Dispatch(store.LeaveRequested{})
		waitFor(t, "leaving", 10*time.Second, func() bool { return w.Store.State().Screen != store.ScreenCall })
	}()
	// The chosen background applies in the call, and switches mid-call.
	composited(t, w, 15)
	s := w.Store.State().Settings
	s.Background = bgBlurStrong
	w.Store.Dispatch(store.ShowPanel{Panel: store.PanelSettings})
	w.Store.Dispatch(store.UpdateSettings{Settings: s})
	composited(t, w, 15)
	if k := w.Ctl.bg.pipe.Load().Stats().Effect.String(); k != bgBlurStrong {
		t.Errorf("mid-call switch: effect %s, want %s", k, bgBlurStrong)
	}
	time.Sleep(500 * time.Millisecond)
	save(t, "call-settings-blur.png", capture(t))
	w.Store.Dispatch(store.ShowPanel{Panel: store.PanelSettings})

	url := w.Store.State().Settings.Server
	alice := joinGuest(t, url, "Alice Walker", testdata.Require(t, "opencv/vtest.avi"))
	waitFor(t, "Alice's tile", 15*time.Second, func() bool { r, ok := w.Store.State().Remote(alice.Self().ID); return ok && r.HasVideo })

	// A remote share: shown large above the tiles.
	scr, err := source.Open(testdata.Require(t, "opencv/basketball1.png"), 1280, 720, 15)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.StartScreenShare(scr); err != nil {
		t.Fatalf("guest screen share: %v", err)
	}
	waitFor(t, "Alice's screen on the stage", 15*time.Second, func() bool { return w.Store.State().ScreenFrom == alice.Self().ID })
	// The machine is shared and slow: poll until the stage is laid out with
	// the tiles below it and the painted window shows the picture on it.
	var img *image.RGBA
	var stage, in, tileR image.Rectangle
	for end := time.Now().Add(15 * time.Second); ; {
		time.Sleep(700 * time.Millisecond)
		var shown bool
		fyne.DoAndWait(func() {
			shown = w.call.screenTile.obj.Visible()
			tileR = rectOf0(w, w.call.tiles[alice.Self().ID].obj)
		})
		stage = rectOf(w, w.call.screenTile.obj)
		in = image.Rect(stage.Min.X+4, stage.Min.Y+4, stage.Max.X-4, stage.Max.Y-40)
		img = capture(t)
		std, cols := stats(img, in)
		laidOut := shown && stage.Min.Y > 0 && tileR.Min.Y >= stage.Max.Y
		if (laidOut && std >= 15 && cols >= 8) || time.Now().After(end) {
			break
		}
	}
	save(t, "call-screenshare.png", img)
	t.Logf("stage %v (%.0f%% of the window), Alice's tile %v", stage, 100*float64(stage.Dx()*stage.Dy())/float64(img.Rect.Dx()*img.Rect.Dy()), tileR)
	if stage.Dx()*stage.Dy() < img.Rect.Dx()*img.Rect.Dy()/3 {
		t.Errorf("the shared screen is not large: %v in a %v window", stage, img.Rect.Size())
	}
	if tileR.Min.Y < stage.Max.Y || tileR.Dx()*tileR.Dy()*4 > stage.Dx()*stage.Dy() {
		t.Errorf("the tiles are not a strip below the screen: tile %v, stage %v", tileR, stage)
	}
	checkNotBlank(t, "shared screen", img, in, 15, 8) // a grey picture (basketball1.png): few distinct colours, high luma spread

	// Stopping removes it.
	alice.StopScreenShare()
	waitFor(t, "the stage to close", 10*time.Second, func() bool { return w.Store.State().ScreenFrom == "" })
	// Poll until the painted window no longer shows the shared picture.
	var after *image.RGBA
	for end := time.Now().Add(8 * time.Second); ; {
		time.Sleep(500 * time.Millisecond)
		after = capture(t)
		if meanDiff(img, after, in) > 8 || time.Now().After(end) {
			break
		}
	}
	save(t, "call-screenshare-stopped.png", after)
	if d := meanDiff(img, after, in); d <= 8 {
		t.Errorf("the window still shows the shared screen after it stopped (difference %.1f)", d)
	}
	var hidden bool
	fyne.DoAndWait(func() { hidden = !w.call.screenTile.obj.Visible() })
	if !hidden {
		t.Errorf("the stage is still shown after the share stopped")
	}

	// Our own share (mediadevices screen driver on this X display, or the
	// test pattern fallback): the guest receives it.
	t.Logf("X11 screen driver available: %v", devices.HasScreen())
	w.Store.Dispatch(store.ToggleScreenShare{})
	waitFor(t, "our share", 10*time.Second, func() bool { return w.Store.State().ScreenShare })
	self := w.Store.State().SelfID
	waitFor(t, "Alice receiving our screen", 15*time.Second, func() bool { return screenPackets(alice, self) > 50 })
	time.Sleep(1200 * time.Millisecond)
	own := capture(t)
	save(t, "call-screenshare-self.png", own)
	for _, m := range w.Store.State().Toasts {
		t.Logf("toast: %s", m.Text)
	}
	w.Store.Dispatch(store.ToggleScreenShare{})
	waitFor(t, "our share to stop", 10*time.Second, func() bool { return !w.Store.State().ScreenShare && w.Store.State().ScreenFrom == "" })
	time.Sleep(300 * time.Millisecond) // packets in flight
	n := screenPackets(alice, self)
	time.Sleep(time.Second)
	if m := screenPackets(alice, self); m > n+10 {
		t.Errorf("screen packets still arriving after stopping: %d -> %d", n, m)
	}
}

// rectOf0 is rectOf for callers already on the UI thread.
func rectOf0(w *Window, obj fyne.CanvasObject) image.Rectangle {
	pos := fyneApp.Driver().AbsolutePositionForObject(obj)
	sz := obj.Size()
	sc := w.Win.Canvas().Scale()
	return image.Rect(int(pos.X*sc), int(pos.Y*sc), int((pos.X+sz.Width)*sc), int((pos.Y+sz.Height)*sc))
}
