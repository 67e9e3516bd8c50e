package participant_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/netcut"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/protocol"
)

const outboxSecret = "outbox-test-secret-0123456789"

func startOutboxHost(t *testing.T) (*host.Host, *netcut.Proxy) {
	t.Helper()
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte(outboxSecret), API: rtcapi.Options{LoopbackOnly: true}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	p, err := netcut.New(h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return h, p
}

func outboxFor(t *testing.T, h *host.Host, url, room, id string, role protocol.Role, onMsg func(protocol.Envelope)) *participant.Outbox {
	t.Helper()
	tok, err := h.Tokens.Issue(room, id, id, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := participant.DialOutbox(ctx, participant.OutboxConfig{URL: url, Token: tok, OnMessage: onMsg, Backoff: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

// chatLog records the chat messages a participant sees.
type chatLog struct {
	mu   sync.Mutex
	msgs []protocol.ChatMessage
	poll protocol.Poll
}

func (l *chatLog) on(env protocol.Envelope) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch env.Type {
	case protocol.TypeChat:
		var m protocol.ChatMessage
		_ = json.Unmarshal(env.Body, &m)
		l.msgs = append(l.msgs, m)
	case protocol.TypePoll:
		_ = json.Unmarshal(env.Body, &l.poll)
	}
}

func (l *chatLog) count(text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m.Text == text {
			n++
		}
	}
	return n
}

func do(t *testing.T, what string, f func(ctx context.Context) (protocol.AckBody, error)) protocol.AckBody {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := f(ctx)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return ack
}

// TestOutboxConnectionKilledMidSend: the attendee's connection is killed
// right after a chat message, a hand raise and a poll vote reach the
// server (their acks are lost), and right before one reaches it (the
// request is lost). Each is acknowledged after the outbox reconnects and
// resends, and each happened exactly once.
func TestOutboxConnectionKilledMidSend(t *testing.T) {
	h, px := startOutboxHost(t)
	var seen chatLog
	pres := outboxFor(t, h, h.URL(), "r", "pres", protocol.RolePresenter, seen.on) // direct, never cut
	poll := do(t, "create poll", func(ctx context.Context) (protocol.AckBody, error) {
		return pres.Do(ctx, protocol.TypePollCreate, protocol.PollCreateBody{Question: "Lunch?", Options: []string{"yes", "no"}})
	})
	att := outboxFor(t, h, "ws://"+px.Addr()+"/ws", "r", "att", protocol.RoleAttendee, nil)

	px.CutAfter(`"chat-send"`)
	ack := do(t, "chat (ack lost)", func(ctx context.Context) (protocol.AckBody, error) { return att.SendChat(ctx, "one") })
	if ack.Chat == nil || ack.Chat.Text != "one" {
		t.Fatalf("chat ack %+v", ack)
	}
	t.Logf("chat whose ack was lost: acknowledged on resend, applied=%v (false: the server had it already)", ack.Applied)

	px.CutBefore(`"chat-send"`)
	do(t, "chat (request lost)", func(ctx context.Context) (protocol.AckBody, error) { return att.SendChat(ctx, "two") })

	px.CutAfter(`"hand-raise"`)
	hand := do(t, "raise (ack lost)", func(ctx context.Context) (protocol.AckBody, error) { return att.RaiseHand(ctx, time.Now()) })
	if hand.Position != 1 || hand.Count != 1 {
		t.Fatalf("raise ack %+v, want position 1 of 1", hand)
	}

	px.CutAfter(`"poll-vote"`)
	do(t, "vote (ack lost)", func(ctx context.Context) (protocol.AckBody, error) { return att.Vote(ctx, poll.PollID, 1) })

	// Several at once, with a cut in the middle.
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := att.SendChat(context.Background(), fmt.Sprintf("batch %d", i)); err != nil {
				t.Errorf("batch chat: %v", err)
			}
		}()
	}
	px.Cut()
	wg.Wait()

	// Exactly once each, as the presenter saw them.
	waitUntil(t, "presenter sees every message", func() bool {
		return seen.count("one") >= 1 && seen.count("two") >= 1 && seen.count("batch 4") >= 1 && seen.poll.Voters >= 1
	})
	time.Sleep(200 * time.Millisecond) // room for a duplicate to show up
	for _, text := range []string{"one", "two", "batch 0", "batch 1", "batch 2", "batch 3", "batch 4"} {
		if n := seen.count(text); n != 1 {
			t.Errorf("%q seen %d times", text, n)
		}
	}
	seen.mu.Lock()
	p := seen.poll
	seen.mu.Unlock()
	if p.Voters != 1 || len(p.Counts) != 2 || p.Counts[1] != 1 || p.Counts[0] != 0 {
		t.Errorf("poll after a resent vote: %+v, want one vote for option 1", p)
	}
	// One hand in the queue (a newcomer's snapshot).
	late := outboxFor(t, h, h.URL(), "r", "late", protocol.RoleAttendee, nil)
	if s := late.Joined().State; s == nil || s.Count != 1 {
		t.Errorf("queue after a resent raise: %+v", s)
	}
	rc, resent := att.Stats()
	t.Logf("attendee: %d reconnects, %d requests resent, %d cuts", rc, resent, px.Cuts())
	if rc < 4 || resent < 3 {
		t.Errorf("%d reconnects and %d resends: the cuts did not happen as planned", rc, resent)
	}
	if att.Pending() != 0 {
		t.Errorf("%d requests still pending", att.Pending())
	}
}

// TestOutboxRandomCuts: 200 chat messages from four goroutines while the
// connection is cut every 10 ms: all 200 arrive, none twice.
func TestOutboxRandomCuts(t *testing.T) {
	h, px := startOutboxHost(t)
	var seen chatLog
	outboxFor(t, h, h.URL(), "r", "watcher", protocol.RoleAttendee, seen.on)
	att := outboxFor(t, h, "ws://"+px.Addr()+"/ws", "r", "att", protocol.RoleAttendee, nil)
	stop := make(chan struct{})
	go func() {
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				px.Cut()
			}
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				do(t, "chat", func(ctx context.Context) (protocol.AckBody, error) {
					return att.SendChat(ctx, fmt.Sprintf("g%d-%d", g, i))
				})
				time.Sleep(5 * time.Millisecond) // a typing pace: the sends span many cuts
			}
		}()
	}
	wg.Wait()
	close(stop)
	waitUntil(t, "200 messages", func() bool { seen.mu.Lock(); defer seen.mu.Unlock(); return len(seen.msgs) >= 200 })
	time.Sleep(200 * time.Millisecond)
	seen.mu.Lock()
	n := len(seen.msgs)
	seen.mu.Unlock()
	for g := 0; g < 4; g++ {
		for i := 0; i < 50; i++ {
			if c := seen.count(fmt.Sprintf("g%d-%d", g, i)); c != 1 {
				t.Errorf("g%d-%d seen %d times", g, i, c)
			}
		}
	}
	rc, resent := att.Stats()
	t.Logf("200 messages, %d received, %d reconnects, %d resent", n, rc, resent)
	if n != 200 {
		t.Errorf("%d messages received, want 200", n)
	}
	if rc < 3 {
		t.Errorf("only %d reconnects: the cuts did not happen", rc)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
