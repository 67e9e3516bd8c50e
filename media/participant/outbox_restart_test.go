package participant_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/netcut"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/protocol"
)

// TestOutboxServerRestart: podiumd stops (its process ends: every socket
// closes) and starts again on the same address. The participant
// reconnects by itself and rejoins the room; a request made while the
// server was down is delivered once it is back.
//
// Loss window: the room state lives in the server's memory, so a restart
// loses everything the room held (chat history, hands, Q&A, polls);
// requests the server had not acknowledged are kept by the clients and
// delivered after the restart. Membership comes back as clients rejoin.
func TestOutboxServerRestart(t *testing.T) {
	cfg := host.Config{Addr: "127.0.0.1:0", Secret: []byte(outboxSecret), API: rtcapi.Options{LoopbackOnly: true}, Logger: slog.New(slog.DiscardHandler)}
	h1, err := host.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := h1.Addr()
	px, err := netcut.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	var seen chatLog
	url := "ws://" + px.Addr() + "/ws"
	a := outboxFor(t, h1, url, "r", "a", protocol.RoleAttendee, nil)
	b := outboxFor(t, h1, url, "r", "b", protocol.RoleAttendee, seen.on)
	do(t, "chat before", func(ctx context.Context) (protocol.AckBody, error) { return a.SendChat(ctx, "before") })

	// The process ends: the listener and every connection close.
	_ = h1.Shutdown(context.Background())
	px.Cut()
	down := time.Now()
	sent := make(chan error, 1)
	go func() {
		_, err := a.SendChat(context.Background(), "while down")
		sent <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cfg.Addr = addr
	h2, err := host.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Shutdown(context.Background())
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the message sent while the server was down was never acknowledged")
	}
	waitUntil(t, "both back in the room", func() bool { _, n := h2.Server.Rooms(); return n == 2 })
	t.Logf("room back %v after the server went down (300 ms down; reconnect backoff 20 ms doubling to 2 s)", time.Since(down).Round(time.Millisecond))
	// b has it once: as an event, or in its rejoin snapshot when a's
	// resend came first.
	waitUntil(t, "b sees the message sent while down", func() bool {
		inSnap := 0
		if j := b.Joined(); j.State != nil {
			for _, m := range j.State.Chat {
				if m.Text == "while down" {
					inSnap++
				}
			}
		}
		return seen.count("while down")+inSnap == 1
	})
	late := outboxFor(t, h2, url, "r", "late", protocol.RoleAttendee, nil)
	if j := late.Joined(); j.State == nil || len(j.State.Chat) != 1 || j.State.Chat[0].Text != "while down" {
		t.Fatalf("after the restart the room holds %+v: want only the message sent while down (the rest was lost with the process)", j.State)
	}
}
