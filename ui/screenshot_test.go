package ui

// Screenshot tests: a REAL Fyne window (GLFW on X11; under `make test` a
// private Xvfb), captured from the X server with ImageMagick's `import`,
// checked for content and saved to $PODIUM_ARTIFACTS.

import (
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/podiumhq/podium/assets"
	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/store"
)

var fyneApp fyne.App

// TestMain runs the tests beside the Fyne event loop, which must own the
// main thread.
func TestMain(m *testing.M) {
	if os.Getenv("DISPLAY") == "" {
		fmt.Fprintln(os.Stderr, "ui tests need an X display: run them with scripts/test.sh (xvfb-run)")
		os.Exit(1)
	}
	fyneApp = app.NewWithID("dev.podium.app.test")
	code := 0
	go func() {
		code = m.Run()
		fyne.Do(fyneApp.Quit)
		// Run normally returns at once; Fyne 2.7's lifecycle queue can
		// be left waiting on a main loop that already ended (seen once:
		// the process hung after PASS), so exit regardless.
		time.Sleep(10 * time.Second)
		os.Exit(code)
	}()
	fyneApp.Run()
	os.Exit(code)
}

type testHost struct{ h *host.Host }

func (e testHost) URL() string { return e.h.URL() }
func (e testHost) Invite(room, id, name string, role protocol.Role) (string, error) {
	return e.h.Tokens.Issue(room, id, name, role, time.Hour)
}
func (e testHost) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e.h.Shutdown(ctx)
}

var (
	fixture  *Window
	hostImpl testHost
	guests   []*participant.Participant
)

// window returns the shared window showing the start screen at first.
func window(t *testing.T) *Window {
	t.Helper()
	if fixture != nil {
		return fixture
	}
	vtest := testdata.Require(t, "opencv/vtest.avi")
	ch := Choices{Cameras: devices.Cameras(vtest, testdata.Require(t, "opencv/Megamind.avi")), Microphones: devices.Microphones(testdata.Require(t, "speech.wav")),
		Speakers: []devices.Option{{Spec: "", Label: "System default"}}}
	hf := func() (Host, error) {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: secret, Dev: true, API: rtcapi.Options{LoopbackOnly: true}})
		if err != nil {
			return nil, err
		}
		hostImpl = testHost{h}
		return hostImpl, nil
	}
	fyne.DoAndWait(func() {
		fixture = NewWindow(Deps{App: fyneApp, Icon: assets.Icon, Choices: ch, Host: hf, NoPlayback: true})
		fixture.Win.Resize(fyne.NewSize(1280, 720))
		fixture.Win.Show()
	})
	s := fixture.Store.State().Settings
	s.Server, s.Room, s.Name, s.Video, s.Audio = "ws://127.0.0.1:7880/ws", "demo", "Hana Host", vtest, "tone"
	s.JoinMuted, s.JoinCameraOff, s.Background = false, false, "none"
	fixture.Store.Dispatch(store.UpdateSettings{Settings: s})
	t.Cleanup(func() {}) // the window lives for the whole package run
	return fixture
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// capture grabs the window from the X server.
func capture(t *testing.T) *image.RGBA {
	t.Helper()
	out, err := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Podium$").Output()
	if err != nil {
		t.Fatalf("xdotool: cannot find the Podium window: %v", err)
	}
	id := strings.Fields(string(out))[0]
	f := filepath.Join(t.TempDir(), "cap.png")
	if b, err := exec.Command("import", "-window", id, f).CombinedOutput(); err != nil {
		t.Fatalf("import: %v: %s", err, b)
	}
	r, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	img, err := png.Decode(r)
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba
}

func save(t *testing.T, name string, img image.Image) {
	t.Helper()
	dir := os.Getenv("PODIUM_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testdata.Root(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", p)
}

// stats returns the luma standard deviation and the number of distinct
// colours (quantised to 4 bits per channel) inside r.
func stats(img *image.RGBA, r image.Rectangle) (std float64, colours int) {
	seen := map[uint32]bool{}
	var sum, sq, n float64
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := img.PixOffset(x, y)
			p := img.Pix[i : i+3]
			l := 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
			sum += l
			sq += l * l
			n++
			seen[uint32(p[0]>>4)<<8|uint32(p[1]>>4)<<4|uint32(p[2]>>4)] = true
		}
	}
	if n == 0 {
		return 0, 0
	}
	m := sum / n
	return math.Sqrt(math.Max(0, sq/n-m*m)), len(seen)
}

// meanDiff is the mean absolute per-channel difference inside r.
func meanDiff(a, b *image.RGBA, r image.Rectangle) float64 {
	r = r.Intersect(a.Rect).Intersect(b.Rect)
	var d, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				d += math.Abs(float64(a.Pix[i+c]) - float64(b.Pix[j+c]))
			}
			n += 3
		}
	}
	return d / math.Max(n, 1)
}

func checkNotBlank(t *testing.T, what string, img *image.RGBA, r image.Rectangle, minStd float64, minColours int) {
	t.Helper()
	std, cols := stats(img, r)
	t.Logf("%s: luma std %.1f, %d colours in %v", what, std, cols, r)
	if std < minStd || cols < minColours {
		t.Errorf("%s looks blank: luma std %.1f (want >= %.0f), %d colours (want >= %d)", what, std, minStd, cols, minColours)
	}
}

// rectOf is obj's rectangle in window pixels.
func rectOf(w *Window, obj fyne.CanvasObject) image.Rectangle {
	var r image.Rectangle
	fyne.DoAndWait(func() {
		pos := fyneApp.Driver().AbsolutePositionForObject(obj)
		sz := obj.Size()
		sc := w.Win.Canvas().Scale()
		r = image.Rect(int(pos.X*sc), int(pos.Y*sc), int((pos.X+sz.Width)*sc), int((pos.Y+sz.Height)*sc))
	})
	return r
}

func TestScreenshotStart(t *testing.T) {
	w := window(t)
	waitFor(t, "the start screen", 5*time.Second, func() bool { return w.Store.State().Screen == store.ScreenStart })
	time.Sleep(700 * time.Millisecond) // a few paints
	img := capture(t)
	save(t, "start.png", img)
	checkNotBlank(t, "start screen", img, img.Rect, 8, 20)
}

func TestScreenshotPreJoin(t *testing.T) {
	w := window(t)
	if w.Store.State().Screen != store.ScreenPreJoin {
		w.Store.Dispatch(store.HostRequested{})
	}
	waitFor(t, "the pre-join screen", 10*time.Second, func() bool { return w.Store.State().Screen == store.ScreenPreJoin })
	waitFor(t, "preview frames", 10*time.Second, func() bool { return w.VideoTicks.Load() > 15 })
	time.Sleep(300 * time.Millisecond)
	r := rectOf(w, w.prejoin.preview.obj)
	a := capture(t)
	time.Sleep(time.Second)
	b := capture(t)
	save(t, "prejoin.png", b)
	checkNotBlank(t, "pre-join preview", b, r, 15, 200)
	if d := meanDiff(a, b, r); d < 1 {
		t.Errorf("the preview did not change in 1 s (mean difference %.2f): not live video", d)
	} else {
		t.Logf("preview changed by %.1f per channel in 1 s", d)
	}
}

func joinGuest(t *testing.T, url, name, file string) *participant.Participant {
	t.Helper()
	v, err := source.Open(file, 640, 480, 30)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := participant.Join(ctx, participant.Config{URL: url, Room: "demo", Name: name, Video: v,
		API: rtcapi.Options{LoopbackOnly: true}, VideoBitrate: 600_000})
	if err != nil {
		t.Fatalf("guest %s: %v", name, err)
	}
	guests = append(guests, p)
	return p
}

func TestScreenshotCall(t *testing.T) {
	w := window(t)
	if w.Store.State().Screen == store.ScreenStart {
		w.Store.Dispatch(store.HostRequested{})
		waitFor(t, "the pre-join screen", 10*time.Second, func() bool { return w.Store.State().Screen == store.ScreenPreJoin })
	}
	w.Store.Dispatch(store.JoinRequested{})
	waitFor(t, "the call screen", 15*time.Second, func() bool { return w.Store.State().Screen == store.ScreenCall })
	url := w.Store.State().Settings.Server
	joinGuest(t, url, "Alice Walker", testdata.Require(t, "opencv/vtest.avi"))
	joinGuest(t, url, "Bob Photo", testdata.Require(t, "faceapi/sample1.jpg"))
	defer func() {
		for _, g := range guests {
			g.Close()
		}
		guests = nil
	}()
	waitFor(t, "two remote tiles with video", 20*time.Second, func() bool {
		s := w.Store.State()
		if len(s.Remotes) != 2 {
			return false
		}
		for _, r := range s.Remotes {
			if !r.HasVideo {
				return false
			}
		}
		return true
	})
	time.Sleep(1500 * time.Millisecond)
	var rects []image.Rectangle
	for _, id := range store.SortedRemoteIDs(w.Store.State()) {
		var obj fyne.CanvasObject
		fyne.DoAndWait(func() { obj = w.call.tiles[id].obj })
		rects = append(rects, rectOf(w, obj))
	}
	a := capture(t)
	time.Sleep(time.Second)
	b := capture(t)
	save(t, "call.png", b)
	checkNotBlank(t, "call screen", b, b.Rect, 15, 200)
	for i, r := range rects {
		// The video inside the tile, above its name bar.
		in := image.Rect(r.Min.X+4, r.Min.Y+4, r.Max.X-4, r.Max.Y-40)
		checkNotBlank(t, fmt.Sprintf("tile %d", i), b, in, 15, 200)
		if d := meanDiff(a, b, in); d < 0.5 {
			t.Errorf("tile %d did not change in 1 s (mean difference %.2f): not moving video", i, d)
		} else {
			t.Logf("tile %d changed by %.2f per channel in 1 s", i, d)
		}
	}
	// Side panel and self state render too.
	w.Store.Dispatch(store.ShowPanel{Panel: store.PanelParticipants})
	w.Store.Dispatch(store.ToggleHand{})
	time.Sleep(800 * time.Millisecond)
	save(t, "call-participants.png", capture(t))
	w.Store.Dispatch(store.ShowPanel{Panel: store.PanelParticipants})
	w.Store.Dispatch(store.LeaveRequested{})
	waitFor(t, "leaving", 10*time.Second, func() bool { return w.Store.State().Screen != store.ScreenCall })
}
