package roomlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/room"
)

// logBuf collects a store's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func open(t *testing.T, dir string, lb *logBuf, opt Options) *Store {
	t.Helper()
	opt.Dir = dir
	if lb != nil {
		opt.Logger = slog.New(slog.NewJSONHandler(lb, nil))
	} else {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// session is a room's worth of actions: joins, a webinar with a stage,
// chat, hands in a queue, questions with votes, polls with votes, leaves.
func session(t0 int64) []room.Action {
	at := t0
	next := func() int64 { at += 10; return at }
	var a []room.Action
	add := func(x room.Action) { x.AtMs = next(); a = append(a, x) }
	add(room.Action{Kind: room.KindJoin, By: "host", Name: "Host", Role: protocol.RoleHost})
	for i := range 6 {
		add(room.Action{Kind: room.KindJoin, By: fmt.Sprint("att", i), Name: fmt.Sprint("Attendee ", i), Role: protocol.RoleAttendee})
	}
	add(room.Action{Kind: protocol.TypeRoomMode, By: "host", Mode: protocol.ModeWebinar})
	for i := range 6 {
		add(room.Action{Kind: protocol.TypeHandRaise, By: fmt.Sprint("att", 5-i), ClickMs: at - int64(i)*3, OffsetMs: 1})
	}
	add(room.Action{Kind: protocol.TypeStageSet, By: "host", Target: "att2", On: true})
	add(room.Action{Kind: protocol.TypeHandDismiss, By: "host", Target: "att4"})
	for i := range 5 {
		add(room.Action{Kind: protocol.TypeChatSend, By: fmt.Sprint("att", i), ClientMsgID: fmt.Sprint("m", i), Text: fmt.Sprintf("hello <%d> \u00e9", i)})
	}
	add(room.Action{Kind: protocol.TypeQuestionAsk, By: "att1", ClientMsgID: "q1", Text: "Why?"})
	add(room.Action{Kind: protocol.TypeQuestionAsk, By: "att3", ClientMsgID: "q2", Text: "How?"})
	add(room.Action{Kind: protocol.TypeQuestionUpvote, By: "att0", QuestionID: 2})
	add(room.Action{Kind: protocol.TypeQuestionAnswer, By: "host", QuestionID: 1})
	add(room.Action{Kind: protocol.TypePollCreate, By: "host", Text: "Lunch?", Options: []string{"yes", "no", "later"}})
	add(room.Action{Kind: protocol.TypePollVote, By: "att0", PollID: 1, Option: 2})
	add(room.Action{Kind: protocol.TypePollVote, By: "att1", PollID: 1, Option: 0})
	add(room.Action{Kind: protocol.TypePollCreate, By: "host", Text: "Again?", Options: []string{"a", "b"}})
	add(room.Action{Kind: protocol.TypePollClose, By: "host", PollID: 2})
	add(room.Action{Kind: room.KindLeave, By: "att5"})                 // dropped: in grace
	add(room.Action{Kind: room.KindLeave, By: "att3", Explicit: true}) // gone
	return a
}

// canon is a state as comparable JSON: empty and missing lists and maps
// are the same.
func canon(t *testing.T, st room.State) any {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var norm func(any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				return nil
			}
			for k, e := range x {
				x[k] = norm(e)
			}
		case []any:
			if len(x) == 0 {
				return nil
			}
			for i, e := range x {
				x[i] = norm(e)
			}
		}
		return v
	}
	return norm(v)
}

func sameState(t *testing.T, what string, got, want room.State) {
	t.Helper()
	if g, w := canon(t, got), canon(t, want); !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Fatalf("%s: state differs\n got  %s\n want %s", what, gb, wb)
	}
}

// apply runs actions through the reducer and the store, as the server does.
func apply(t *testing.T, s *Store, name string, st room.State, acts []room.Action) room.State {
	t.Helper()
	for _, a := range acts {
		var err error
		st, _, err = room.Apply(st, a)
		if err != nil {
			t.Fatalf("%s by %s: %v", a.Kind, a.By, err)
		}
		s.Append(name, a)
	}
	return st
}

// TestRoundTrip: a room's state is the same after the store is closed and
// opened again, with and without a rewrite as a snapshot in between.
func TestRoundTrip(t *testing.T) {
	for _, minCompact := range []int64{1, 1 << 30} {
		t.Run(fmt.Sprint("compact-", minCompact), func(t *testing.T) {
			dir := t.TempDir()
			cfg := room.Config{GraceMs: 5000}
			s := open(t, dir, nil, Options{MinCompactBytes: minCompact})
			st, ok := s.Load("town hall", cfg)
			if ok {
				t.Fatal("a new room loaded as saved")
			}
			acts := session(1_700_000_000_000)
			st = apply(t, s, "town hall", st, acts[:20])
			s.Flush()
			st = apply(t, s, "town hall", st, acts[20:])
			want := st.Clone()
			_ = s.Close()

			s2 := open(t, dir, nil, Options{MinCompactBytes: minCompact})
			got, ok := s2.Load("town hall", cfg)
			if !ok {
				t.Fatal("saved room not found")
			}
			sameState(t, "reloaded", got, want)
			sameState(t, "replayed", room.Replay(cfg, acts), want)
			// The reloaded state works on: a new action applies as it
			// would have before.
			a := room.Action{Kind: protocol.TypeChatSend, AtMs: 1_700_000_001_000, By: "att0", ClientMsgID: "m0", Text: "retry"}
			_, _, err1 := room.Apply(want, a)
			got2, ev, err2 := room.Apply(got, a)
			if err1 != nil || err2 != nil || len(got2.Chat) != len(want.Chat) || ev[0].Body.(protocol.AckBody).Applied {
				t.Fatalf("a retried chat message after reload: %v %v, %d messages, events %+v", err1, err2, len(got2.Chat), ev)
			}
		})
	}
}

// TestCompactionBoundsTheFile: thousands of chat messages in a room that
// keeps 20 leave a file a few snapshots long, and the room reloads as it
// was.
func TestCompactionBoundsTheFile(t *testing.T) {
	dir := t.TempDir()
	cfg := room.Config{ChatHistory: 20}
	s := open(t, dir, nil, Options{MinCompactBytes: 4 << 10})
	st, _ := s.Load("r", cfg)
	st = apply(t, s, "r", st, []room.Action{{Kind: room.KindJoin, AtMs: 1, By: "a", Name: "A", Role: protocol.RoleAttendee}})
	var largest int64
	for i := range 5000 {
		st = apply(t, s, "r", st, []room.Action{{Kind: protocol.TypeChatSend, AtMs: int64(2 + i), By: "a", ClientMsgID: fmt.Sprint(i), Text: strings.Repeat("x", 50)}})
		if i%100 == 99 {
			s.Flush()
			fi, err := os.Stat(s.Path("r"))
			if err != nil {
				t.Fatal(err)
			}
			largest = max(largest, fi.Size())
		}
	}
	_ = s.Close()
	// A snapshot with 20 messages is about 4 KiB; 100 more messages are
	// about 12 KiB. Without compaction the file would pass 600 KiB.
	if largest > 40<<10 {
		t.Fatalf("the log grew to %d bytes", largest)
	}
	t.Logf("largest file: %d bytes for 5,000 messages", largest)
	got, _ := open(t, dir, nil, Options{}).Load("r", cfg)
	sameState(t, "after compactions", got, st)
}

// TestDamagedLinesSkipped: a garbage line in the middle and a last line
// cut short are skipped with a logged error; everything else loads, and
// the file is rewritten clean.
func TestDamagedLinesSkipped(t *testing.T) {
	dir := t.TempDir()
	cfg := room.Config{}
	acts := session(1_700_000_000_000)
	var lines []string
	for _, a := range acts {
		b, _ := json.Marshal(record{Action: &a})
		lines = append(lines, string(b))
	}
	// Line 3 is damaged: the join of att1 (its later actions are refused
	// on replay and skipped too). The last line (att3's leave) is cut.
	damaged := append([]string(nil), lines[:2]...)
	damaged = append(damaged, `{"action":{"kind":"join","atMs":17`, "\x00\xff not json", "{}")
	damaged = append(damaged, lines[3:len(lines)-1]...)
	last := lines[len(lines)-1]
	file := strings.Join(damaged, "\n") + "\n" + last[:len(last)/2]
	lb := &logBuf{}
	s := open(t, dir, lb, Options{})
	if err := os.WriteFile(s.Path("r"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	got, ok := s.Load("r", cfg)
	if !ok {
		t.Fatal("damaged room not loaded")
	}
	want := room.Replay(cfg, append(append([]room.Action(nil), acts[:2]...), acts[3:len(acts)-1]...))
	sameState(t, "damaged log", got, want)
	logs := lb.String()
	for _, w := range []string{"damaged line skipped", "truncated last line skipped", "neither snapshot nor action"} {
		if !strings.Contains(logs, w) {
			t.Errorf("no %q in the log:\n%s", w, logs)
		}
	}
	if got.Members["att3"] == nil || !got.Members["att3"].Connected {
		t.Fatal("att3's cut leave was applied")
	}
	// Rewritten clean on the next write: one snapshot line that loads the
	// same.
	s.Append("r", room.Action{Kind: protocol.TypeChatSend, AtMs: 1_800_000_000_000, By: "att0", Text: "after"})
	s.Flush()
	b, err := os.ReadFile(s.Path("r"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 1 || !bytes.HasPrefix(b, []byte(`{"snapshot":`)) {
		t.Fatalf("after a damaged load the file is %d lines: %.200s", n, b)
	}
	_ = s.Close()
	got2, _ := open(t, dir, nil, Options{}).Load("r", cfg)
	want2, _, _ := room.Apply(want, room.Action{Kind: protocol.TypeChatSend, AtMs: 1_800_000_000_000, By: "att0", Text: "after"})
	sameState(t, "rewritten", got2, want2)
}

// TestDamagedSnapshot: a snapshot whose fields make no sense (nil entries,
// counts that do not match the options, a queue that does not match the
// hands) loads as a state the reducer can work on.
func TestDamagedSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil, Options{})
	snap := `{"snapshot":{"room":"r","state":{"seq":9,"members":{"a":{"name":"A","role":"attendee","connected":true},"b":null},` +
		`"hands":{"a":{"raised":true,"timeMs":5},"ghost":{"raised":true,"timeMs":1},"n":null},"queue":[{"timeMs":1,"id":"ghost"}],` +
		`"stage":{"ghost":true},"qaOpen":true,"questions":[null,{"id":7,"text":"q"}],"questionIds":{"x":99},` +
		`"polls":[{"id":3,"question":"p","options":["x","y"],"open":true,"counts":[1],"votes":{"a":5}},null],"chat":null,"chatIds":null}}}` + "\n"
	if err := os.WriteFile(s.Path("r"), []byte(snap), 0o600); err != nil {
		t.Fatal(err)
	}
	st, ok := s.Load("r", room.Config{})
	if !ok {
		t.Fatal("not loaded")
	}
	if len(st.Members) != 1 || len(st.Queue) != 1 || st.Queue[0].ID != "a" || len(st.Stage) != 0 || len(st.Questions) != 1 ||
		st.Questions[0].ID != 1 || len(st.QuestionIDs) != 0 || len(st.Polls) != 1 || st.Polls[0].ID != 1 || len(st.Polls[0].Counts) != 2 {
		t.Fatalf("sanitized state: %+v", st)
	}
	for _, a := range []room.Action{
		{Kind: protocol.TypePollVote, AtMs: 10, By: "a", PollID: 1, Option: 1},
		{Kind: protocol.TypeQuestionUpvote, AtMs: 11, By: "a", QuestionID: 1},
		{Kind: protocol.TypeChatSend, AtMs: 12, By: "a", ClientMsgID: "c", Text: "t"},
		{Kind: protocol.TypeHandLower, AtMs: 13, By: "a", ClickMs: 13},
	} {
		var err error
		if st, _, err = room.Apply(st, a); err != nil {
			t.Fatalf("%s on the sanitized state: %v", a.Kind, err)
		}
	}
}

// TestRoomNamesStayInTheDirectory: hostile room names map to plain file
// names inside the state directory, different names to different files,
// and nothing is written anywhere else.
func TestRoomNamesStayInTheDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "state")
	s := open(t, dir, nil, Options{})
	names := []string{"../escape", "../../etc/passwd", "/abs/path", "a/b", "..", ".", "", "a\\b", "x\x00y", "Room", "room",
		"%2e%2e", "%2E%2E", "room-a.jsonl", strings.Repeat("/", 128), strings.Repeat("../", 42), strings.Repeat("é", 64),
		strings.Repeat("a", 127) + "b", strings.Repeat("a", 127) + "c", "~", "con", "a b", "\n"}
	files := map[string]string{}
	for _, n := range names {
		fn := FileName(n)
		if strings.ContainsAny(fn, "/\\\x00") || fn == "." || fn == ".." || len(fn) > 255 || !strings.HasPrefix(fn, filePrefix) {
			t.Fatalf("room %q: file name %q", n, fn)
		}
		if filepath.Dir(s.Path(n)) != filepath.Clean(dir) {
			t.Fatalf("room %q: path %q is outside %q", n, s.Path(n), dir)
		}
		if other, dup := files[fn]; dup {
			t.Fatalf("rooms %q and %q share %q", other, n, fn)
		}
		files[fn] = n
		st, _ := s.Load(n, room.Config{})
		apply(t, s, n, st, []room.Action{{Kind: room.KindJoin, AtMs: 1, By: "p", Name: "P", Role: protocol.RoleHost}})
	}
	_ = s.Close()
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 || ents[0].Name() != "state" {
		t.Fatalf("the parent directory holds %v", ents)
	}
	ents, _ = os.ReadDir(dir)
	if len(ents) != len(names) {
		t.Fatalf("%d files for %d rooms", len(ents), len(names))
	}
	s2 := open(t, dir, nil, Options{})
	for _, n := range names {
		st, ok := s2.Load(n, room.Config{})
		if !ok || st.Members["p"] == nil {
			t.Fatalf("room %q did not come back", n)
		}
	}
}

// TestDropRemovesTheLog: an ended room's file goes, and the next room of
// that name starts empty, even when it starts before the file is removed.
func TestDropRemovesTheLog(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil, Options{})
	st, _ := s.Load("r", room.Config{})
	apply(t, s, "r", st, session(1)[:12])
	s.Flush()
	if _, err := os.Stat(s.Path("r")); err != nil {
		t.Fatal(err)
	}
	s.Drop("r")
	st, ok := s.Load("r", room.Config{}) // before the writer removed it
	if ok || len(st.Members) != 0 {
		t.Fatalf("a dropped room came back: %d members", len(st.Members))
	}
	s.Flush()
	s.Drop("r")
	s.Flush()
	if _, err := os.Stat(s.Path("r")); !os.IsNotExist(err) {
		t.Fatalf("the log is still there: %v", err)
	}
	_ = s.Close()
	if _, ok := open(t, dir, nil, Options{}).Load("r", room.Config{}); ok {
		t.Fatal("a dropped room loaded after a restart")
	}
}

// TestAppendAfterCloseIgnored: a closed store writes nothing more.
func TestAppendAfterCloseIgnored(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil, Options{})
	st, _ := s.Load("r", room.Config{})
	apply(t, s, "r", st, session(1)[:3])
	_ = s.Close()
	s.Append("r", room.Action{Kind: protocol.TypeChatSend, AtMs: 99, By: "host", Text: "late"})
	_ = s.Close()
	got, _ := open(t, dir, nil, Options{}).Load("r", room.Config{})
	if len(got.Members) != 3 || len(got.Chat) != 0 {
		t.Fatalf("after close: %d members, %d chat", len(got.Members), len(got.Chat))
	}
}

// BenchmarkAppend is the cost the server pays under the room lock.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Load("r", room.Config{})
	a := room.Action{Kind: protocol.TypeHandRaise, AtMs: 1, By: "x", ClickMs: 1}
	b.ReportAllocs()
	for b.Loop() {
		s.Append("r", a)
	}
}
