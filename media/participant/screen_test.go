package participant_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
)

// screenPackets is how many RTP packets of from's screen track p received.
func screenPackets(p *participant.Participant, from string) int {
	for _, ts := range p.Stats() {
		if ts.From == from && ts.Track == participant.ScreenTrackID {
			return ts.Packets
		}
	}
	return 0
}

// TestScreenShareSharesTheEstimate: an adaptive presenter (camera,
// microphone, GCC) shares a 1280x720 screen. The share and the camera fit
// the bandwidth estimate together, so the pacer's queue stays short (audio
// is not held behind the share), and once the share stops its packets stop
// within 300 ms.
func TestScreenShareSharesTheEstimate(t *testing.T) {
	h, _ := startOutboxHost(t)
	url := h.URL()
	tok := func(id string, role protocol.Role) string {
		s, err := h.Tokens.Issue("r", id, id, role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	api := rtcapi.Options{LoopbackOnly: true}
	cam, err := source.Open(testdata.Require(t, "opencv/vtest.avi"), 640, 480, 30)
	if err != nil {
		t.Fatal(err)
	}
	pres, err := participant.Join(ctx, participant.Config{URL: url, Token: tok("pres", protocol.RolePresenter),
		Video: cam, Audio: &audio.Tone{Hz: 440, Amp: 0.3}, VideoBitrate: 1_000_000, Adaptive: true, API: api,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pres.Close()
	att, err := participant.Join(ctx, participant.Config{URL: url, Token: tok("att", protocol.RoleAttendee), API: api,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()
	scr, err := source.Open(testdata.Require(t, "opencv/basketball1.png"), 1280, 720, 15)
	if err != nil {
		t.Fatal(err)
	}
	if err := pres.StartScreenShare(scr); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the screen at the attendee", func() bool { return screenPackets(att, "pres") > 50 })
	var maxQ, sumQ, n int
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		st := pres.Adaptation()
		maxQ, sumQ, n = max(maxQ, st.PacerQueue), sumQ+st.PacerQueue, n+1
	}
	t.Logf("pacer queue while sharing: mean %d B, max %d B", sumQ/n, maxQ)
	// With the share at a fixed 1.5 Mbit/s beside the camera's ladder,
	// the mean was 110 kB: everything, audio too, waited about a second.
	if sumQ/n > 30_000 {
		t.Errorf("pacer queue while sharing: mean %d B (max %d B), want under 30 kB", sumQ/n, maxQ)
	}
	pres.StopScreenShare()
	time.Sleep(300 * time.Millisecond)
	a := screenPackets(att, "pres")
	time.Sleep(time.Second)
	b := screenPackets(att, "pres")
	t.Logf("screen packets after the stop: %d -> %d", a, b)
	if b > a+5 {
		t.Errorf("screen packets still arriving 300 ms after the share stopped: %d -> %d", a, b)
	}
}
