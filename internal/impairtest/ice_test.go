package impairtest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v5/vnet"

	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/source"
)

// TestImpairICERestart: the publisher's media path (every UDP packet, over
// pion's in-process vnet) goes dark for 9 s while its signaling
// connection (loopback TCP) stays up, as when a laptop's Wi-Fi hands over
// and only the media flow is lost. ICE goes disconnected; the participant
// asks the server for an ICE restart (new ICE credentials, RFC 8445
// section 9) without reconnecting signaling, and video reaches the
// subscriber again once the path is back, with no user action.
func TestImpairICERestart(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of media")
	}
	pubIP := net.ParseIP("10.78.0.2")
	var dark atomic.Bool
	dropPub := func(c vnet.Chunk) bool {
		if !dark.Load() {
			return true
		}
		src, dst := c.SourceAddr().(*net.UDPAddr), c.DestinationAddr().(*net.UDPAddr)
		return !(src != nil && src.IP.Equal(pubIP)) && !(dst != nil && dst.IP.Equal(pubIP))
	}
	quiet := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	lab := newVNetLab(t, "10.78.0.0/24", 0, 0, dropPub, quiet, "10.78.0.1", pubIP.String(), "10.78.0.3")
	h := lab.h
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var events eventCount
	pub, err := participant.Join(ctx, participant.Config{URL: h.URL(), Token: lab.token(t, "pub"), Video: source.NewTestPattern(320, 240, 15), VideoBitrate: 300_000,
		Audio: &audio.Tone{Hz: 440, Amp: 0.3}, API: lab.api(pubIP.String()), Logger: quiet, OnEvent: events.on})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := participant.Join(ctx, participant.Config{URL: h.URL(), Token: lab.token(t, "sub"), API: lab.api("10.78.0.3"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	frames := func() int {
		for _, s := range sub.Stats() {
			if s.From == "pub" && s.Kind == "video" {
				return s.FramesDecoded
			}
		}
		return 0
	}
	wait := func(what string, d time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > d {
				t.Fatalf("timed out after %v waiting for %s", d, what)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return time.Since(start)
	}
	wait("video at the subscriber", 15*time.Second, func() bool { return frames() > 20 })

	dark.Store(true)
	time.Sleep(9 * time.Second)
	during := frames()
	dark.Store(false)
	back := wait("video again after the path came back", 15*time.Second, func() bool { return frames() > during+15 })

	if n := pub.ICERestarts(); n < 1 {
		t.Errorf("no ICE restart was asked for (%d)", n)
	}
	if n := pub.Reconnects(); n != 0 {
		t.Errorf("signaling reconnected %d times; only the media path was lost", n)
	}
	if events.get(participant.EventICERestart) < 1 {
		t.Errorf("the app was not told about the ICE restart")
	}
	t.Logf("RESULT ICE restart: %d asked, video flowing again %.1f s after the 9 s blackout ended (signaling reconnects: %d)",
		pub.ICERestarts(), back.Seconds(), pub.Reconnects())
}

// eventCount counts participant events by type.
type eventCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *eventCount) on(ev participant.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[ev.Type]++
}

func (e *eventCount) get(typ string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[typ]
}
