package sfu_test

import (
	"context"
	"image"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
)

// TestReceiveOnlyParticipant: a participant that publishes nothing joins an
// empty room first, then receives and decodes a publisher who joins later.
func TestReceiveOnlyParticipant(t *testing.T) {
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte(benchSecret), API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var frames atomic.Int64
	tok, _ := h.Tokens.Issue("bench", "viewer", "Viewer", protocol.RoleAttendee, time.Hour)
	viewer, err := participant.Join(ctx, participant.Config{URL: h.URL(), Token: tok, API: rtcapi.Options{LoopbackOnly: true},
		OnVideoFrame: func(string, string, *image.YCbCr) { frames.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	tok2, _ := h.Tokens.Issue("bench", "pub", "Pub", protocol.RoleAttendee, time.Hour)
	pub, err := participant.Join(ctx, participant.Config{URL: h.URL(), Token: tok2, Video: source.NewTestPattern(320, 240, 15), API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for frames.Load() < 10 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if n := frames.Load(); n < 10 {
		t.Fatalf("receive-only participant decoded %d frames, want >= 10", n)
	}
}
