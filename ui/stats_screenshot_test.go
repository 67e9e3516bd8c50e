package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/netsim"
	"github.com/podiumhq/podium/ui/store"
)

// reasonRE is every short reason the indicator can give.
var reasonRE = regexp.MustCompile(`^(loss \d+%|delay \d+ ms|jitter \d+ ms|\d+ fps|connection too poor for video|nothing received|audio only \((bandwidth|cpu)\))$`)

// colourNear reports whether most pixels of r are within tol of c.
func colourNear(img *image.RGBA, r image.Rectangle, c color.NRGBA, tol float64) (float64, bool) {
	r = r.Intersect(img.Rect)
	n, hit := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := img.PixOffset(x, y)
			d := math.Abs(float64(img.Pix[i])-float64(c.R)) + math.Abs(float64(img.Pix[i+1])-float64(c.G)) + math.Abs(float64(img.Pix[i+2])-float64(c.B))
			n++
			if d <= tol {
				hit++
			}
		}
	}
	if n == 0 {
		return 0, false
	}
	share := float64(hit) / float64(n)
	return share, share >= 0.6
}

// TestScreenshotDegradedParticipant: the app (publishing with the
// adaptation ladder) is in a call with Bob, whose uplink loses 20 % of
// its packets and is capped at 250 kbit/s (ui/netsim, nearest his
// network), and Alice on a clean link. Bob's tile must show a poor
// indicator with a short reason (from the participant's Quality), in the
// poor colour on screen; the stats panel shows his packets lost; the self
// tile shows what we send. Then a tile limit of one hides Alice's tile:
// the app asks the server for none of her video and her bytes stop.
func TestScreenshotDegradedParticipant(t *testing.T) {
	w := window(t)
	if w.Store.State().Screen == store.ScreenStart {
		w.Store.Dispatch(store.HostRequested{})
		waitFor(t, "the pre-join screen", 10*time.Second, func() bool { return w.Store.State().Screen == store.ScreenPreJoin })
	}
	w.Store.Dispatch(store.JoinRequested{})
	waitFor(t, "the call screen", 15*time.Second, func() bool { return w.Store.State().Screen == store.ScreenCall })
	defer func() {
		w.Store.Dispatch(store.SetTileLimit{})
		if w.Store.State().Panel != store.PanelNone {
			w.Store.Dispatch(store.ShowPanel{Panel: w.Store.State().Panel})
		}
		w.Store.Dispatch(store.LeaveRequested{})
		waitFor(t, "leaving", 10*time.Second, func() bool { return w.Store.State().Screen != store.ScreenCall })
	}()
	url := w.Store.State().Settings.Server

	// Bob: a lossy, capped uplink, adapting like the app does.
	link := &netsim.Link{LossPct: 20, RateBps: 250_000}
	v, err := source.Open(testdata.Require(t, "faceapi/sample1.jpg"), 640, 480, 30)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	bob, err := participant.Join(ctx, participant.Config{URL: url, Room: "demo", Name: "Bob Remote", Video: v, VideoBitrate: 600_000,
		Audio: &audio.Tone{Hz: 330, Amp: 0.05}, Adaptive: true,
		API: rtcapi.Options{LoopbackOnly: true, ConfigureInterceptors: link.Configure(nil)}})
	cancel()
	if err != nil {
		t.Fatalf("Bob: %v", err)
	}
	defer bob.Close()
	alice := joinGuest(t, url, "Alice Walker", testdata.Require(t, "opencv/vtest.avi"))
	defer func() {
		alice.Close()
		guests = nil
	}()
	bobID, aliceID := bob.Self().ID, alice.Self().ID

	start := time.Now()
	waitFor(t, "Alice's video and Bob graded poor with a reason", 40*time.Second, func() bool {
		s := w.Store.State()
		a, okA := s.Remote(aliceID)
		b, okB := s.Remote(bobID)
		return okA && okB && a.HasVideo && b.Quality == store.QualityPoor && b.QualityReason != "" && len(b.Tracks) == 2
	})
	t.Logf("Bob graded poor after %v", time.Since(start).Round(100*time.Millisecond))
	// Let the stats settle a few seconds, so the panel shows a real window.
	time.Sleep(3 * time.Second)
	w.Store.Dispatch(store.ShowPanel{Panel: store.PanelStats})
	for _, m := range w.Store.State().Toasts { // toasts would cover the tiles
		w.Store.Dispatch(store.DismissToast{ID: m.ID})
	}
	waitFor(t, "the stats panel to list Bob", 5*time.Second, func() bool {
		ok := false
		fyne.DoAndWait(func() { ok = w.call.stats.remotes[bobID] != nil && w.call.sideBox.Visible() })
		return ok
	})
	time.Sleep(800 * time.Millisecond) // a few paints

	var img *image.RGBA
	var bobR store.Remote
	for try := 0; ; try++ {
		before, _ := w.Store.State().Remote(bobID)
		var bars image.Rectangle
		var label string
		var bar fyne.CanvasObject
		fyne.DoAndWait(func() {
			label, bar = w.call.tiles[bobID].qLabel.Text, w.call.tiles[bobID].quality[0]
		})
		bars = rectOf(w, bar).Inset(1) // the bar's inside, not its anti-aliased edge
		img = capture(t)
		bobR, _ = w.Store.State().Remote(bobID)
		share, red := colourNear(img, bars, qualityCols[store.QualityPoor].(color.NRGBA), 40)
		t.Logf("try %d: Bob %s (%q) before, %s (%q) after the capture; tile label %q; first bar %v: %.0f%% poor colour",
			try, before.Quality, before.QualityReason, bobR.Quality, bobR.QualityReason, label, bars, 100*share)
		// Alice's clean link shows jitter when the machine is busy: a
		// picture where she is not poor contrasts better, if one comes.
		a, _ := w.Store.State().Remote(aliceID)
		if before.Quality == store.QualityPoor && bobR.Quality == store.QualityPoor && red && strings.HasPrefix(label, "Poor") &&
			(a.Quality != store.QualityPoor || try >= 3) {
			break
		}
		if try == 6 {
			t.Fatalf("Bob's indicator on screen is not poor (store %s, label %q, %.0f%% of the first bar in the poor colour)", bobR.Quality, label, 100*share)
		}
		time.Sleep(time.Second)
	}
	save(t, "call-degraded.png", img)
	checkNotBlank(t, "call with a degraded participant", img, img.Rect, 15, 200)

	// The reason is one of the indicator's, and agrees with the figures.
	if !reasonRE.MatchString(bobR.QualityReason) {
		t.Errorf("Bob's reason %q is not one of the indicator's short reasons", bobR.QualityReason)
	}
	var lost int64
	var got int
	for _, ts := range bobR.Tracks {
		lost += ts.PacketsLost
		got += ts.Packets
		t.Logf("Bob %s: %d packets, %d lost, %.1f%% loss now, %.0f kbit/s, %.0f fps, jitter %.0f ms, RTT %.1f ms, %s %q off=%q",
			ts.Track, ts.Packets, ts.PacketsLost, ts.LossPct, ts.BitrateKbps, ts.FPS, ts.JitterMs, ts.RTTMs, ts.Quality, ts.Reason, ts.VideoOff)
	}
	lossPct := 100 * float64(lost) / float64(max(1, int64(got)+lost))
	t.Logf("Bob overall: %d of %d packets lost (%.1f%%); uplink link dropped %d, sent %d; tile says %q",
		lost, int64(got)+lost, lossPct, link.Dropped.Load(), link.Sent.Load(), store.QualityLabel(bobR.Quality, bobR.QualityReason))
	if lossPct < 5 {
		t.Errorf("Bob's tracks show %.1f%% loss overall: the impaired link did not reach the receiver", lossPct)
	}
	if strings.HasPrefix(bobR.QualityReason, "loss ") {
		var n float64
		fmt.Sscanf(bobR.QualityReason, "loss %f%%", &n)
		if n <= 3 {
			t.Errorf("reason %q: loss under the fair threshold", bobR.QualityReason)
		}
	}
	// The tile says why his video is off, as the store has it now (the
	// window renders the store a moment after it changes).
	waitFor(t, "Bob's tile to say what the store says about his video", 5*time.Second, func() bool {
		var txt string
		fyne.DoAndWait(func() { txt = w.call.tiles[bobID].offText.Text })
		r, _ := w.Store.State().Remote(bobID)
		if r.VideoOff != "" {
			t.Logf("Bob's video is off (%s, %q): tile says %q", r.VideoOff, r.VideoOffReason, txt)
		}
		return txt == store.VideoOffText(r)
	})
	// The stats panel shows Bob's packets lost, as the store holds them.
	var cells []string
	fyne.DoAndWait(func() {
		for _, c := range w.call.stats.remotes[bobID].cells[1] {
			cells = append(cells, c.Text)
		}
	})
	t.Logf("stats panel, Bob's packets lost: %q", cells)
	anyLost := false
	for _, c := range cells {
		var n, of int
		if _, err := fmt.Sscanf(c, "%d of %d", &n, &of); err == nil && n > 0 && of > n {
			anyLost = true
		}
	}
	if !anyLost {
		t.Errorf("the stats panel shows no packets lost for Bob: %q", cells)
	}
	checkNotBlank(t, "stats panel", img, rectOf(w, w.call.sideBox), 10, 8)

	// Our own sending state is on the self tile (as the store has it
	// now: the window renders it a moment after it changes).
	waitFor(t, "the self tile to show our sending state", 5*time.Second, func() bool {
		var badge string
		fyne.DoAndWait(func() { badge = w.call.self.badge.Text })
		s := w.Store.State()
		a := bob.Adaptation()
		t.Logf("self tile: %q; sending %+v; Bob sends %s at %d fps (%s), estimate %d bit/s",
			badge, s.Sending, a.Decision.Rung, a.Decision.FPS, a.Decision.Reason, a.Estimate)
		return badge != "" && badge == s.Sending.Label()
	})

	// A tile limit of one: Alice (joined second) gets no tile, the app
	// asks the server for none of her video, and her bytes stop.
	aliceBytes := func() int {
		for _, ts := range w.Ctl.Session().Stats() {
			if ts.From == aliceID && ts.Kind == "video" {
				return ts.Bytes
			}
		}
		return -1
	}
	w.Store.Dispatch(store.SetTileLimit{N: 1})
	waitFor(t, "Alice's video turned off here", 10*time.Second, func() bool {
		a, _ := w.Store.State().Remote(aliceID)
		return a.VideoOff == store.VideoOffReceiver
	})
	time.Sleep(time.Second) // what was in flight arrives
	b0 := aliceBytes()
	time.Sleep(2 * time.Second)
	b1 := aliceBytes()
	t.Logf("Alice hidden: %d bytes of her video in 2 s", b1-b0)
	if b1-b0 > 4000 {
		t.Errorf("Alice's tile is hidden but %d bytes of her video arrived in 2 s", b1-b0)
	}
	var moreText string
	fyne.DoAndWait(func() { moreText = w.call.more.count.Text })
	if moreText != "+1 more" {
		t.Errorf("the more tile says %q, want +1 more", moreText)
	}
	save(t, "call-tile-limit.png", capture(t))
	w.Store.Dispatch(store.SetTileLimit{})
	waitFor(t, "Alice's video back", 15*time.Second, func() bool {
		a, _ := w.Store.State().Remote(aliceID)
		return a.VideoOff == "" && a.HasVideo
	})
	b2 := aliceBytes()
	time.Sleep(2 * time.Second)
	t.Logf("Alice shown again: %d bytes of her video in 2 s", aliceBytes()-b2)
	if aliceBytes()-b2 < 10000 {
		t.Errorf("Alice's video did not resume: %d bytes in 2 s", aliceBytes()-b2)
	}

	// Turning our camera off tells the others why: Alice's participant
	// reports our video off by the sender (the user), not a black picture.
	selfID := w.Store.State().SelfID
	selfCam := func() (participant.TrackQuality, bool) {
		for _, q := range alice.Quality() {
			if q.From == selfID && q.Kind == "video" {
				return q, true
			}
		}
		return participant.TrackQuality{}, false
	}
	w.Store.Dispatch(store.ToggleCamera{})
	waitFor(t, "Alice to see our camera off by us", 10*time.Second, func() bool {
		q, ok := selfCam()
		return ok && q.VideoOff == participant.OffBySender && q.SenderReason == protocol.ReasonUser
	})
	w.Store.Dispatch(store.ToggleCamera{})
	waitFor(t, "Alice to see our camera on again", 10*time.Second, func() bool {
		q, ok := selfCam()
		return ok && q.VideoOff == ""
	})
	// And the other way: Alice turns hers off; her tile says so.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	_, err = alice.Signaling().Send(ctx, protocol.TypeMediaState, protocol.MediaStateBody{Track: "camera", Off: true, Reason: protocol.ReasonUser})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Alice's tile to say her camera is off", 10*time.Second, func() bool {
		a, _ := w.Store.State().Remote(aliceID)
		txt := ""
		fyne.DoAndWait(func() {
			if tl := w.call.tiles[aliceID]; tl != nil {
				txt = tl.offText.Text
			}
		})
		return a.VideoOff == store.VideoOffSender && !a.HasVideo && txt == "Camera off"
	})
}
