package roomstore

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/podiumhq/podium/signaling/protocol"
)

// MaxLog bounds the action log kept in memory (older entries drop; a log
// that lost its start replays from its first Joined).
const MaxLog = 200_000

// Entry is one logged action: its kind, when it was applied (this
// machine's clock, ms; informative only, Reduce never reads it) and the
// action itself.
type Entry struct {
	Kind   string          `json:"kind"`
	AtMs   int64           `json:"atMs"`
	Action json.RawMessage `json:"action"`
}

// Store holds the State, logs every action and tells subscribers about
// changes. Dispatch may be called from any goroutine.
type Store struct {
	mu      sync.Mutex
	state   State
	version uint64
	log     []Entry
	subs    []func()
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{} }

// State returns the current state (do not mutate its maps or slices).
func (st *Store) State() State {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.state
}

// Version counts dispatched actions: a renderer redraws when it changed.
func (st *Store) Version() uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.version
}

// Subscribe calls f (on the dispatching goroutine) after each action.
func (st *Store) Subscribe(f func()) {
	st.mu.Lock()
	st.subs = append(st.subs, f)
	st.mu.Unlock()
}

// Dispatch applies a and logs it.
func (st *Store) Dispatch(a Action) {
	b, err := json.Marshal(a)
	if err != nil {
		panic(fmt.Sprintf("roomstore: action %T does not encode: %v", a, err))
	}
	st.mu.Lock()
	st.state = Reduce(st.state, a)
	st.version++
	st.log = append(st.log, Entry{Kind: a.kind(), AtMs: time.Now().UnixMilli(), Action: b})
	if len(st.log) > MaxLog {
		st.log = slices.Clone(st.log[len(st.log)-MaxLog/2:])
	}
	subs := slices.Clone(st.subs)
	st.mu.Unlock()
	for _, f := range subs {
		f()
	}
}

// Log returns a copy of the action log.
func (st *Store) Log() []Entry {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.log)
}

// SaveLog writes the action log as JSON lines.
func (st *Store) SaveLog(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range st.Log() {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Decode turns a log entry back into its action.
func Decode(e Entry) (Action, error) {
	var a Action
	var err error
	switch e.Kind {
	case "joined":
		var x Joined
		err = json.Unmarshal(e.Action, &x)
		a = x
	case "delta":
		var x Delta
		err = json.Unmarshal(e.Action, &x)
		a = x
	case "requested":
		var x Requested
		err = json.Unmarshal(e.Action, &x)
		a = x
	case "acked":
		var x Acked
		err = json.Unmarshal(e.Action, &x)
		a = x
	case "refused":
		var x Refused
		err = json.Unmarshal(e.Action, &x)
		a = x
	case "retry-chat":
		var x RetryChat
		err = json.Unmarshal(e.Action, &x)
		a = x
	case "left":
		a = Left{}
	default:
		return nil, fmt.Errorf("unknown action kind %q", e.Kind)
	}
	return a, err
}

// Replay folds a saved log (JSON lines) into the state it produced.
// Entries before the first Joined (a log that lost its start) are skipped.
func Replay(r io.Reader) (State, int, error) {
	var s State
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	n, line, started := 0, 0, false
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return s, n, fmt.Errorf("line %d: %v", line, err)
		}
		a, err := Decode(e)
		if err != nil {
			return s, n, fmt.Errorf("line %d: %v", line, err)
		}
		if _, ok := a.(Joined); ok {
			started = true
		}
		if !started {
			continue
		}
		s = Reduce(s, a)
		n++
	}
	return s, n, sc.Err()
}

// Summary is a state in a stable, comparable, printable form (`podium
// replay` prints it; the replay test compares it).
type Summary struct {
	Self      string             `json:"self"`
	Role      protocol.Role      `json:"role"`
	Seq       uint64             `json:"seq"`
	Mode      string             `json:"mode"`
	Stage     protocol.StageBody `json:"stage"`
	Queue     []QueueRow         `json:"queue"`
	Hand      Hand               `json:"hand"`
	Chat      []ChatLine         `json:"chat"`
	QAOpen    bool               `json:"qaOpen"`
	Questions []QuestionRow      `json:"questions"`
	Polls     []PollRow          `json:"polls"`
	Pending   []Op               `json:"pending"`
	Errors    int                `json:"errors"`
	LastError string             `json:"lastError,omitempty"`
}

// Summarize applies the selectors.
func Summarize(s State) Summary {
	return Summary{Self: s.SelfID, Role: s.Role, Seq: s.Seq, Mode: s.Mode, Stage: s.Stage, Queue: Queue(s), Hand: SelfHand(s),
		Chat: ChatView(s), QAOpen: s.QAOpen, Questions: Questions(s), Polls: Polls(s), Pending: s.Pending,
		Errors: s.Errors, LastError: s.LastError}
}

// Diff is the Delta that takes a room described by prev to next (both
// snapshots, queues in any order): the glue calls it once per frame with
// the participant's room state.
func Diff(prev, next Snapshot, offsetMs int64) (Delta, bool) {
	d := Delta{Seq: next.Seq, OffsetMs: offsetMs, Mode: next.Mode, Position: next.Position, Count: next.Count,
		QAOpen: next.QAOpen, PublishAllowed: next.PublishAllowed}
	changed := prev.Seq != next.Seq || prev.Mode != next.Mode || prev.Position != next.Position || prev.Count != next.Count ||
		prev.QAOpen != next.QAOpen || prev.PublishAllowed != next.PublishAllowed
	if !slices.Equal(prev.Stage.Stage, next.Stage.Stage) || prev.Stage.Spotlight != next.Stage.Spotlight {
		st := cloneStage(next.Stage)
		d.Stage, changed = &st, true
	}
	old := make(map[string]protocol.HandEntry, len(prev.Queue))
	for _, h := range prev.Queue {
		old[h.ID] = h
	}
	seen := make(map[string]bool, len(next.Queue))
	for _, h := range next.Queue {
		seen[h.ID] = true
		if o, ok := old[h.ID]; !ok || o.TimeMs != h.TimeMs || o.Name != h.Name {
			d.Raised = append(d.Raised, h)
		}
	}
	for _, h := range prev.Queue {
		if !seen[h.ID] {
			d.Lowered = append(d.Lowered, h.ID)
		}
	}
	var last uint64
	if n := len(prev.Chat); n > 0 {
		last = prev.Chat[n-1].Seq
	}
	for _, m := range next.Chat {
		if m.Seq > last {
			d.Chat = append(d.Chat, m)
		}
	}
	oq := map[int]protocol.Question{}
	for _, q := range prev.Questions {
		oq[q.ID] = q
	}
	for _, q := range next.Questions {
		if o, ok := oq[q.ID]; !ok || o != q {
			d.Questions = append(d.Questions, q)
		}
	}
	op := map[int]protocol.Poll{}
	for _, p := range prev.Polls {
		op[p.ID] = p
	}
	for _, p := range next.Polls {
		if o, ok := op[p.ID]; !ok || o.Open != p.Open || o.Voters != p.Voters || !slices.Equal(o.Counts, p.Counts) || o.Question != p.Question {
			d.Polls = append(d.Polls, p)
		}
	}
	changed = changed || len(d.Raised)+len(d.Lowered)+len(d.Chat)+len(d.Questions)+len(d.Polls) > 0
	return d, changed
}
