package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/client"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/room"
)

func startRoomHost(t *testing.T, rc room.Config) *host.Host {
	t.Helper()
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte(secret), API: rtcapi.Options{LoopbackOnly: true}, Room: rc, SendQueue: 4096, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return h
}

// joinAs joins signaling-only with the given role.
func joinAs(t *testing.T, h *host.Host, roomName, id string, role protocol.Role) (*client.Client, protocol.JoinedBody) {
	t.Helper()
	c := dial(t, h)
	send(t, c, protocol.TypeJoin, protocol.JoinBody{Token: tok(t, roomName, id, role, time.Hour), SignalingOnly: true, ClientTimeMs: time.Now().UnixMilli()})
	env := next(t, c, protocol.TypeJoined, protocol.TypeError)
	if env.Type == protocol.TypeError {
		t.Fatalf("join %s: %s", id, env.Body)
	}
	var j protocol.JoinedBody
	if err := json.Unmarshal(env.Body, &j); err != nil {
		t.Fatal(err)
	}
	return c, j
}

// request sends a room request and returns its ack (failing on an error).
func request(t *testing.T, c *client.Client, typ string, body any) protocol.AckBody {
	t.Helper()
	id := send(t, c, typ, body)
	for {
		env := next(t, c, protocol.TypeAck, protocol.TypeError)
		if env.ID != id {
			continue
		}
		if env.Type == protocol.TypeError {
			t.Fatalf("%s refused: %s", typ, env.Body)
		}
		var a protocol.AckBody
		_ = json.Unmarshal(env.Body, &a)
		return a
	}
}

func refusedWith(t *testing.T, c *client.Client, code, typ string, body any) {
	t.Helper()
	id := send(t, c, typ, body)
	env := next(t, c, protocol.TypeAck, protocol.TypeError)
	var e protocol.ErrorBody
	_ = json.Unmarshal(env.Body, &e)
	if env.Type != protocol.TypeError || env.ID != id || e.Code != code {
		t.Fatalf("%s: got %s %s (id %s), want error %s for id %s", typ, env.Type, env.Body, env.ID, code, id)
	}
}

// handWatcher follows a presenter's hands deltas in the background.
type handWatcher struct {
	mu    sync.Mutex
	queue map[string]protocol.HandEntry
	last  map[string]protocol.HandEntry // latest entry per id, raised or not
	msgs  int
}

func watchHands(c *client.Client, snap []protocol.HandEntry) *handWatcher {
	w := &handWatcher{queue: map[string]protocol.HandEntry{}, last: map[string]protocol.HandEntry{}}
	for _, h := range snap {
		w.queue[h.ID] = h
	}
	go func() {
		for env := range c.Messages() {
			if env.Type != protocol.TypeHands {
				continue
			}
			var b protocol.HandsBody
			_ = json.Unmarshal(env.Body, &b)
			w.mu.Lock()
			w.msgs++
			for _, h := range b.Hands {
				w.last[h.ID] = h
				if h.Raised {
					w.queue[h.ID] = h
				} else {
					delete(w.queue, h.ID)
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *handWatcher) order() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	hs := make([]protocol.HandEntry, 0, len(w.queue))
	for _, h := range w.queue {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool {
		return hs[i].TimeMs < hs[j].TimeMs || (hs[i].TimeMs == hs[j].TimeMs && hs[i].ID < hs[j].ID)
	})
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.ID
	}
	return ids
}

// waitFor polls cond for up to 10 s (no timing assertion: a deadline only).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func eq(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestHandQueueServerRules: raises reach both presenters as deltas in one
// order; attendees get their position in the ack; an attendee's dismiss,
// lower-all and spotlight are refused; a presenter's dismiss reaches the
// attendee; an explicit leave removes the hand for everyone.
func TestHandQueueServerRules(t *testing.T) {
	h := startRoomHost(t, room.Config{})
	hostC, _ := joinAs(t, h, "w", "host", protocol.RoleHost)
	request(t, hostC, protocol.TypeRoomMode, protocol.ModeBody{Mode: protocol.ModeWebinar})
	pres, _ := joinAs(t, h, "w", "pres", protocol.RolePresenter)
	a, _ := joinAs(t, h, "w", "a", protocol.RoleAttendee)
	b, _ := joinAs(t, h, "w", "b", protocol.RoleAttendee)
	c, _ := joinAs(t, h, "w", "c", protocol.RoleAttendee)
	refusedWith(t, c, protocol.ErrForbidden, protocol.TypeRoomMode, protocol.ModeBody{Mode: protocol.ModeMeeting})
	wh, wp := watchHands(hostC, nil), watchHands(pres, nil)

	now := time.Now().UnixMilli()
	if ack := request(t, a, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: now}); ack.Position != 1 || ack.Count != 1 || !ack.Applied {
		t.Fatalf("a's ack %+v", ack)
	}
	if ack := request(t, b, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: now + 1}); ack.Position != 2 || ack.Count != 2 {
		t.Fatalf("b's ack %+v", ack)
	}
	if ack := request(t, c, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: now + 2}); ack.Position != 3 {
		t.Fatalf("c's ack %+v", ack)
	}
	for _, w := range []*handWatcher{wh, wp} {
		waitFor(t, "presenters see a, b, c", func() bool { return eq(w.order(), []string{"a", "b", "c"}) })
	}
	refusedWith(t, c, protocol.ErrForbidden, protocol.TypeHandDismiss, protocol.HandBody{Target: "a"})
	refusedWith(t, c, protocol.ErrForbidden, protocol.TypeHandsLowerAll, protocol.HandBody{})
	refusedWith(t, c, protocol.ErrForbidden, protocol.TypeStageSet, protocol.StageSetBody{Target: "c", On: true})

	send(t, pres, protocol.TypeHandDismiss, protocol.HandBody{Target: "b"}) // (pres's messages go to its watcher)
	env := next(t, b, protocol.TypeHandPosition)
	var pos protocol.HandPositionBody
	_ = json.Unmarshal(env.Body, &pos)
	if pos.Position != 0 || pos.Count != 2 {
		t.Fatalf("dismissed b got %+v", pos)
	}
	send(t, a, protocol.TypeLeave, nil)
	for _, w := range []*handWatcher{wh, wp} {
		waitFor(t, "a's hand gone after leaving", func() bool { return eq(w.order(), []string{"c"}) })
	}
	w := wp
	w.mu.Lock()
	if w.last["a"].Reason != "left" || w.last["b"].Reason != "dismissed" {
		t.Fatalf("reasons: a %+v b %+v", w.last["a"], w.last["b"])
	}
	w.mu.Unlock()
	// c's position moves up to 1: sent, coalesced, by the server.
	for {
		env := next(t, c, protocol.TypeHandPosition)
		_ = json.Unmarshal(env.Body, &pos)
		if pos.Position == 1 && pos.Count == 1 {
			break
		}
	}
}

// TestHandReconnectKeepsPlaceServer: a dropped connection that rejoins
// within the grace period keeps its hand and position (snapshot), and a
// second session under the same identity leaves no stale entry; a
// presenter joining later gets the queue with its snapshot.
func TestHandReconnectKeepsPlaceServer(t *testing.T) {
	h := startRoomHost(t, room.Config{GraceMs: 60_000})
	pres, _ := joinAs(t, h, "r", "pres", protocol.RolePresenter)
	wp := watchHands(pres, nil)
	a, _ := joinAs(t, h, "r", "a", protocol.RoleAttendee)
	b, _ := joinAs(t, h, "r", "b", protocol.RoleAttendee)
	now := time.Now().UnixMilli()
	request(t, a, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: now})
	request(t, b, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: now + 1})
	_ = a.Close() // the connection drops (no leave)
	waitFor(t, "a's connection gone", func() bool { _, n := h.Server.Rooms(); return n == 2 })
	_, j := joinAs(t, h, "r", "a", protocol.RoleAttendee)
	if j.State == nil || j.State.Position != 1 || j.State.Count != 2 {
		t.Fatalf("rejoin snapshot %+v", j.State)
	}
	// A second session for b: replacement, still one entry.
	b2, j2 := joinAs(t, h, "r", "b", protocol.RoleAttendee)
	wantError(t, b, protocol.ErrReplaced)
	if j2.State.Position != 2 || j2.State.Count != 2 {
		t.Fatalf("replacement snapshot %+v", j2.State)
	}
	request(t, b2, protocol.TypeChatSend, protocol.ChatSendBody{ClientMsgID: "1", Text: "still here"})
	late, lj := joinAs(t, h, "r", "late", protocol.RolePresenter)
	if len(lj.State.Chat) != 1 || lj.State.Chat[0].Text != "still here" {
		t.Fatalf("chat history %+v", lj.State.Chat)
	}
	env := next(t, late, protocol.TypeHands)
	var hb protocol.HandsBody
	_ = json.Unmarshal(env.Body, &hb)
	if env.Seq != lj.State.Seq || len(hb.Hands) != 2 || hb.Hands[0].ID != "a" || hb.Hands[1].ID != "b" {
		t.Fatalf("late presenter's queue %+v (seq %d, snapshot %d)", hb, env.Seq, lj.State.Seq)
	}
	if !eq(wp.order(), []string{"a", "b"}) {
		t.Fatalf("presenter's queue %v", wp.order())
	}
}

// TestHandLeaverGoneAfterGrace: a dropped connection that does not come
// back loses its hand when the grace period ends, for everyone.
func TestHandLeaverGoneAfterGrace(t *testing.T) {
	h := startRoomHost(t, room.Config{GraceMs: 200})
	pres, _ := joinAs(t, h, "g", "pres", protocol.RolePresenter)
	wp := watchHands(pres, nil)
	a, _ := joinAs(t, h, "g", "a", protocol.RoleAttendee)
	request(t, a, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: time.Now().UnixMilli()})
	waitFor(t, "presenter sees a", func() bool { return eq(wp.order(), []string{"a"}) })
	_ = a.Close()
	waitFor(t, "a's hand removed after the grace period", func() bool { return len(wp.order()) == 0 })
}

// TestHandQueueLoadSmall: 200 signaling-only attendees and 2 presenters in
// a webinar all raise at once: both presenters converge to the same
// 200-hand queue; the server's messages per raise stay proportional to
// presenters + 1 (plus coalesced position/count updates), not room size.
func TestHandQueueLoadSmall(t *testing.T) {
	const n = 200
	h := startRoomHost(t, room.Config{})
	p1, _ := joinAs(t, h, "big", "p1", protocol.RoleHost)
	request(t, p1, protocol.TypeRoomMode, protocol.ModeBody{Mode: protocol.ModeWebinar})
	p2, _ := joinAs(t, h, "big", "p2", protocol.RolePresenter)
	atts := make([]*client.Client, n)
	for i := range atts {
		atts[i], _ = joinAs(t, h, "big", fmt.Sprintf("att%03d", i), protocol.RoleAttendee)
	}
	w1, w2 := watchHands(p1, nil), watchHands(p2, nil)
	var received sync.WaitGroup
	var mu sync.Mutex
	perAttendee := make([]int, n)
	for i, c := range atts {
		received.Add(1)
		go func() {
			defer received.Done()
			for env := range c.Messages() {
				mu.Lock()
				perAttendee[i]++
				mu.Unlock()
				_ = env
			}
		}()
	}
	var wg sync.WaitGroup
	for i, c := range atts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Send(context.Background(), protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: time.Now().UnixMilli() + int64(i%3)})
		}()
	}
	wg.Wait()
	waitFor(t, "both presenters see 200 hands", func() bool { return len(w1.order()) == n && len(w2.order()) == n })
	if !eq(w1.order(), w2.order()) {
		t.Fatal("presenters disagree on the order")
	}
	// Let coalesced updates go out, then count.
	time.Sleep(1500 * time.Millisecond)
	for _, c := range atts {
		_ = c.Close()
	}
	received.Wait()
	total := 0
	maxPer := 0
	for _, k := range perAttendee {
		total += k
		maxPer = max(maxPer, k)
	}
	w1.mu.Lock()
	pm := w1.msgs
	w1.mu.Unlock()
	t.Logf("%d raises: presenter got %d hands messages; attendees got %d messages (%.2f per raise, max %d each)", n, pm, total, float64(total)/n, maxPer)
	if pm > n {
		t.Fatalf("presenter got %d hands messages for %d raises", pm, n)
	}
	// Ack + a few coalesced position/count updates each; a broadcast per
	// raise would be ~n each.
	if maxPer > 20 {
		t.Fatalf("an attendee got %d messages for %d raises: fan-out is not by deltas", maxPer, n)
	}
}
