package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/netcut"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/room"
	"github.com/podiumhq/podium/signaling/roomlog"
	"github.com/podiumhq/podium/signaling/token"
)

// storedServer is a signaling server with a room store on dir, serving
// on addr ("127.0.0.1:0": any port).
type storedServer struct {
	srv   *Server
	store *roomlog.Store
	http  *http.Server
	addr  string
}

func startStored(t *testing.T, dir, addr string, tokens token.Issuer, rc room.Config) *storedServer {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := roomlog.Open(roomlog.Options{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Tokens: tokens, RoomStore: st, Room: rc, Logger: quiet})
	var ln net.Listener
	for i := 0; ; i++ { // the old listener's port: free once it closed
		if ln, err = net.Listen("tcp", addr); err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	s := &storedServer{srv: srv, store: st, http: hs, addr: ln.Addr().String()}
	t.Cleanup(func() { _ = hs.Close(); _ = st.Close() })
	return s
}

// views returns what each participant would get on joining the room now
// (seq aside), and the queue as presenters see it.
func (s *storedServer) views(roomName string, ids []string) (map[string]protocol.RoomSnapshot, []protocol.HandEntry) {
	s.srv.mu.Lock()
	rm := s.srv.rooms[roomName]
	s.srv.mu.Unlock()
	if rm == nil {
		return nil, nil
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	out := map[string]protocol.RoomSnapshot{}
	for _, id := range ids {
		out[id] = rm.st.Snapshot(id)
	}
	return out, rm.st.QueueEntries()
}

// handsSeen records the hands messages a presenter receives.
type handsSeen struct {
	mu    sync.Mutex
	hands []protocol.HandEntry
}

func (h *handsSeen) on(env protocol.Envelope) {
	if env.Type != protocol.TypeHands {
		return
	}
	var b protocol.HandsBody
	if json.Unmarshal(env.Body, &b) == nil {
		h.mu.Lock()
		h.hands = append(h.hands, b.Hands...)
		h.mu.Unlock()
	}
}

func (h *handsSeen) take() []protocol.HandEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.hands
	h.hands = nil
	return out
}

func ob(t *testing.T, url string, tokens token.Issuer, id string, role protocol.Role, on func(protocol.Envelope)) *participant.Outbox {
	t.Helper()
	tok, err := tokens.Issue("town-hall", id, "Name of "+id, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := participant.DialOutbox(ctx, participant.OutboxConfig{URL: url, Token: tok, OnMessage: on,
		Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func must(t *testing.T, what string, f func() (protocol.AckBody, error)) protocol.AckBody {
	t.Helper()
	ack, err := f()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return ack
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRoomStateSurvivesRestart: a webinar with chat, a hand queue, a
// stage, Q&A and polls; the server stops (its store closed, every
// connection cut) and a new server starts on the same state directory and
// address. The participants' outboxes reconnect by themselves and each
// gets the room exactly as it was: the same chat history, hand queue (same
// order, same positions), stage, questions and polls. Requests retried
// across the restart stay deduplicated (the chat message id, the vote),
// and a participant who never comes back is dropped after the grace
// period, as a lost connection is.
//
// Two stops: the store closed before the connections drop (SIGTERM with
// the store closed first, or a crash right after a flush), and after (the
// server logged everyone's lost connection).
func TestRoomStateSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		closeFirst bool
	}{{"store-closed-first", true}, {"leaves-logged", false}} {
		t.Run(tc.name, func(t *testing.T) { testRestart(t, tc.closeFirst) })
	}
}

func testRestart(t *testing.T, closeFirst bool) {
	dir := t.TempDir()
	tokens := token.Issuer{Secret: []byte("restart-test-secret-0123456789")}
	rc := room.Config{GraceMs: 8000}
	s1 := startStored(t, dir, "127.0.0.1:0", tokens, rc)
	px, err := netcut.New(s1.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	url := "ws://" + px.Addr() + "/ws"
	ctx := context.Background()

	var hostHands handsSeen
	host := ob(t, url, tokens, "host", protocol.RoleHost, hostHands.on)
	att := map[string]*participant.Outbox{}
	for _, id := range []string{"a", "b", "c", "d"} {
		att[id] = ob(t, url, tokens, id, protocol.RoleAttendee, nil)
	}
	do := func(o *participant.Outbox, what, typ string, body any) protocol.AckBody {
		t.Helper()
		return must(t, what, func() (protocol.AckBody, error) { return o.Do(ctx, typ, body) })
	}
	do(host, "webinar", protocol.TypeRoomMode, protocol.ModeBody{Mode: protocol.ModeWebinar})
	do(host, "poll", protocol.TypePollCreate, protocol.PollCreateBody{Question: "Lunch?", Options: []string{"yes", "no"}})
	do(host, "poll 2", protocol.TypePollCreate, protocol.PollCreateBody{Question: "Again?", Options: []string{"a", "b", "c"}})
	do(att["a"], "vote a", protocol.TypePollVote, protocol.PollVoteBody{PollID: 1, Option: 0})
	do(att["b"], "vote b", protocol.TypePollVote, protocol.PollVoteBody{PollID: 1, Option: 1})
	do(att["c"], "vote c", protocol.TypePollVote, protocol.PollVoteBody{PollID: 2, Option: 2})
	do(host, "close poll 2", protocol.TypePollClose, protocol.PollRefBody{PollID: 2})
	chatA := protocol.ChatSendBody{ClientMsgID: "a-1", Text: "Hello from a"}
	firstChat := do(att["a"], "chat a", protocol.TypeChatSend, chatA)
	for _, id := range []string{"b", "host", "c", "d"} {
		o := att[id]
		if id == "host" {
			o = host
		}
		must(t, "chat "+id, func() (protocol.AckBody, error) { return o.SendChat(ctx, "Hi, I am "+id) })
	}
	q := do(att["a"], "ask", protocol.TypeQuestionAsk, protocol.QuestionAskBody{ClientMsgID: "qa-1", Text: "When is the break?"})
	do(att["b"], "ask 2", protocol.TypeQuestionAsk, protocol.QuestionAskBody{ClientMsgID: "qb-1", Text: "Slides?"})
	do(att["c"], "upvote", protocol.TypeQuestionUpvote, protocol.QuestionRefBody{QuestionID: q.QuestionID})
	do(host, "answer", protocol.TypeQuestionAnswer, protocol.QuestionRefBody{QuestionID: 2})
	click := time.Now().Add(-time.Second) // 250 ms apart: an order no clock estimate changes
	for i, id := range []string{"d", "b", "a", "c"} {
		must(t, "raise "+id, func() (protocol.AckBody, error) {
			return att[id].RaiseHand(ctx, click.Add(time.Duration(i)*250*time.Millisecond))
		})
	}
	do(host, "stage c", protocol.TypeStageSet, protocol.StageSetBody{Target: "c", On: true})

	ids := []string{"host", "a", "b", "c", "d"}
	before, queue := s1.views("town-hall", ids)
	if len(queue) != 3 || queue[0].ID != "d" || queue[1].ID != "b" || queue[2].ID != "a" { // c went on stage
		t.Fatalf("queue before the restart: %s", asJSON(queue))
	}

	// The server goes. d will not come back.
	if closeFirst {
		_ = s1.store.Close()
	}
	_ = s1.http.Close()
	_ = att["d"].Close()
	px.Cut()
	if !closeFirst {
		waitUntil(t, "the old server saw every connection drop", func() bool { _, n := s1.srv.Rooms(); return n == 0 })
		_ = s1.store.Close()
	}
	hostHands.take()
	reconnects := map[string]int{}
	for _, id := range []string{"host", "a", "b", "c"} {
		o := host
		if id != "host" {
			o = att[id]
		}
		reconnects[id], _ = o.Stats()
	}

	s2 := startStored(t, dir, s1.addr, tokens, rc)
	for id, n := range reconnects {
		o := host
		if id != "host" {
			o = att[id]
		}
		waitUntil(t, id+" reconnected", func() bool {
			r, _ := o.Stats()
			select {
			case <-o.Connected():
				return r > n
			default:
				return false
			}
		})
		got := *o.Joined().State
		want := before[id]
		got.Seq, want.Seq, want.Queue = 0, 0, nil
		if asJSON(got) != asJSON(want) {
			t.Errorf("%s's room after the restart differs:\n got  %s\n want %s", id, asJSON(got), asJSON(want))
		}
	}
	// The host's queue came with its rejoin: the same hands in the same
	// order, d's still there (its grace is not over).
	waitUntil(t, "the host has the queue", func() bool {
		hostHands.mu.Lock()
		defer hostHands.mu.Unlock()
		return len(hostHands.hands) >= len(queue)
	})
	if got := hostHands.take(); asJSON(got) != asJSON(queue) {
		t.Fatalf("the host's queue after the restart:\n got  %s\n want %s", asJSON(got), asJSON(queue))
	}
	if !t.Failed() {
		t.Logf("4 participants back with chat (%d), queue (%d), stage, %d questions and %d polls as they were",
			len(before["a"].Chat), len(queue), len(before["a"].Questions), len(before["a"].Polls))
	}

	// Retries across the restart: the same chat message id is the same
	// message; a second vote is a conflict.
	ack := do(att["a"], "chat a again", protocol.TypeChatSend, chatA)
	if ack.Applied || ack.Chat == nil || ack.Chat.Seq != firstChat.Chat.Seq {
		t.Fatalf("a's chat message retried after the restart: %+v (first: %+v)", ack, firstChat.Chat)
	}
	_, err = att["a"].Vote(ctx, 1, 1)
	if pe := (*protocol.Error)(nil); !errors.As(err, &pe) || pe.Code != protocol.ErrConflict {
		t.Fatalf("a second vote after the restart: %v (want conflict)", err)
	}
	// The room goes on: a raise now queues behind the restored hands.
	if ack := must(t, "raise after", func() (protocol.AckBody, error) { return att["c"].RaiseHand(ctx, time.Now()) }); ack.Position != 4 || ack.Count != 4 {
		t.Fatalf("a raise after the restart: position %d of %d, want 4 of 4", ack.Position, ack.Count)
	}
	// d never came back: gone after the grace period, and b is first.
	waitUntil(t, "d's grace ran out", func() bool {
		_, q := s2.views("town-hall", nil)
		return len(q) == 3 && q[0].ID == "b"
	})
	after, _ := s2.views("town-hall", []string{"d"})
	if after["d"].Position != 0 {
		t.Fatalf("d is still queued: %+v", after["d"])
	}
}

// TestDamagedRoomLog: a room log with a damaged line and a last line cut
// short (a crash in the middle of a write) does not stop the server: the
// room comes back with what the good lines hold.
func TestDamagedRoomLog(t *testing.T) {
	dir := t.TempDir()
	tokens := token.Issuer{Secret: []byte("restart-test-secret-0123456789")}
	lines := []room.Action{
		{Kind: room.KindJoin, AtMs: 1000, By: "x", Name: "X", Role: protocol.RoleHost},
		{Kind: protocol.TypeChatSend, AtMs: 1001, By: "x", ClientMsgID: "1", Text: "kept"},
	}
	var file []byte
	for _, a := range lines {
		b, _ := json.Marshal(map[string]any{"action": a})
		file = append(append(file, b...), '\n')
	}
	file = append(file, "{\"action\":{\"kind\":\"chat-send\",\"by\":\x00\x01garbage\n"...)
	file = append(file, `{"action":{"kind":"chat-send","atMs":1003,"by":"x","text":"cut sh`...)
	if err := os.WriteFile(filepath.Join(dir, roomlog.FileName("town-hall")), file, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStored(t, dir, "127.0.0.1:0", tokens, room.Config{})
	a := ob(t, "ws://"+s.addr+"/ws", tokens, "a", protocol.RoleAttendee, nil)
	if chat := a.Joined().State.Chat; len(chat) != 1 || chat[0].Text != "kept" {
		t.Fatalf("the room after a damaged log: chat %s", asJSON(chat))
	}
	must(t, "chat", func() (protocol.AckBody, error) { return a.SendChat(context.Background(), "and on") })
}
