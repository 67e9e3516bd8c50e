package participant_test

import (
	"context"
	"image"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
)

// frameCounter counts decoded frames per sender.
type frameCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *frameCounter) on(from, _ string, _ *image.YCbCr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[from]++
}

func (f *frameCounter) get(from string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[from]
}

// eventLog records participant events by type.
type eventLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *eventLog) on(ev participant.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[ev.Type]++
}

func (e *eventLog) get(typ string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[typ]
}

func joinMedia(t *testing.T, h *host.Host, url, id string, role protocol.Role, frames *frameCounter, events *eventLog) *participant.Participant {
	t.Helper()
	tok, err := h.Tokens.Issue("r", id, id, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := participant.Join(ctx, participant.Config{
		URL: url, Token: tok,
		Video: source.NewTestPattern(320, 240, 15), VideoBitrate: 300_000,
		OnVideoFrame: frames.on, OnEvent: events.on,
		API: rtcapi.Options{LoopbackOnly: true}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestReconnectSignalingCut: the attendee's signaling connection is cut
// (the TCP proxy in front of the server drops it, as a NAT rebinding or a
// Wi-Fi switch would). The participant reconnects by itself with its
// resume token and comes back as the same participant: its raised hand is
// still first in the presenter's queue, the chat message it sent while
// disconnected arrives exactly once, and video flows again both ways on a
// new PeerConnection, with no user action.
func TestReconnectSignalingCut(t *testing.T) {
	h, px := startOutboxHost(t)
	url := "ws://" + px.Addr() + "/ws"
	var fa, fb frameCounter
	var ea, eb eventLog
	a := joinMedia(t, h, url, "pres", protocol.RolePresenter, &fa, &ea)
	b := joinMedia(t, h, url, "att", protocol.RoleAttendee, &fb, &eb)
	waitUntil(t, "video both ways", func() bool { return fa.get("att") > 10 && fb.get("pres") > 10 })
	do(t, "raise", func(ctx context.Context) (protocol.AckBody, error) { return b.RaiseHand(ctx, time.Now()) })
	waitUntil(t, "the hand in the presenter's queue", func() bool { return len(a.RoomState().Queue) == 1 })
	oldPC := b.PeerConnection()

	px.Cut() // every signaling connection through the proxy drops
	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := b.SendChat(ctx, participant.NewClientMsgID(), "sent while cut")
		sent <- err
	}()
	cut := time.Now()
	waitUntil(t, "both reconnected", func() bool {
		return ea.get(participant.EventReconnected) >= 1 && eb.get(participant.EventReconnected) >= 1
	})
	back := time.Since(cut)
	if err := <-sent; err != nil {
		t.Fatalf("chat sent while cut: %v", err)
	}
	if b.Self().ID != "att" {
		t.Fatalf("came back as %q, want the same participant", b.Self().ID)
	}
	if b.PeerConnection() == oldPC {
		t.Fatal("the media session was not rebuilt")
	}
	fa0, fb0 := fa.get("att"), fb.get("pres")
	waitUntil(t, "video both ways after the reconnect", func() bool { return fa.get("att") > fa0+10 && fb.get("pres") > fb0+10 })
	resumed := time.Since(cut)
	waitUntil(t, "the chat message at the presenter", func() bool {
		n := 0
		for _, m := range a.RoomState().Chat {
			if m.Text == "sent while cut" {
				n++
			}
		}
		return n == 1
	})
	time.Sleep(300 * time.Millisecond)
	n := 0
	for _, m := range a.RoomState().Chat {
		if m.Text == "sent while cut" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the presenter has the message %d times, want once", n)
	}
	if q := a.RoomState().Queue; len(q) != 1 || q[0].ID != "att" {
		t.Fatalf("presenter's queue after the reconnect: %+v, want att's hand", q)
	}
	if st := b.RoomState(); st.Position != 1 {
		t.Fatalf("attendee's position after the reconnect: %d, want 1", st.Position)
	}
	t.Logf("signaling back %v after the cut; video flowing both ways again after %v", back.Round(time.Millisecond), resumed.Round(time.Millisecond))
}

// TestReplacedDoesNotReconnect: the same participant joins from a second
// connection (another device). The first is told it was replaced and
// stays out: reconnecting would throw the second out in turn.
func TestReplacedDoesNotReconnect(t *testing.T) {
	h, px := startOutboxHost(t)
	url := "ws://" + px.Addr() + "/ws"
	var f1, f2 frameCounter
	var e1, e2 eventLog
	first := joinMedia(t, h, url, "same", protocol.RoleAttendee, &f1, &e1)
	_ = first
	second := joinMedia(t, h, url, "same", protocol.RoleAttendee, &f2, &e2)
	waitUntil(t, "the first told it is disconnected", func() bool { return e1.get(protocol.TypeError) >= 1 })
	time.Sleep(2 * time.Second) // several reconnect backoffs
	if n := e1.get(participant.EventReconnected); n != 0 {
		t.Fatalf("the replaced connection came back %d times", n)
	}
	if n := e2.get(participant.EventReconnecting); n != 0 {
		t.Fatalf("the newer connection was thrown out %d times", n)
	}
	if _, n := h.Server.Rooms(); n != 1 {
		t.Fatalf("%d participants in the room, want 1", n)
	}
	if second.Self().ID != "same" {
		t.Fatalf("second joined as %q", second.Self().ID)
	}
}
