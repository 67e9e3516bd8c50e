// Package room holds a Podium room's state and rules as a pure reducer:
//
//	state, events, err := room.Apply(state, action)
//
// Apply does no I/O and reads no clock: every action carries the server
// time it arrived at (AtMs). The signaling server owns one State per room,
// applies actions one at a time, sends the events to the participants they
// name and may log the actions; Replay folds a log back into the same state.
//
// The rules (docs: /work/shared/DESIGN.md, "The hand-raise queue"):
//   - A raise carries the client's click time. It becomes server time with
//     the client's clock offset (see Clock) and is bounded to
//     [AtMs - MaxLatencyMs, AtMs]: neither a fast or slow clock nor a forged
//     timestamp moves a hand ahead of one clicked before
//     arrival - MaxLatencyMs.
//   - The queue is ordered by (time, participant ID).
//   - Each hand is last-writer-wins by (time, priority): raise and lower by
//     its owner have priority 0, dismiss and lower-all by a presenter or
//     host priority 1, so the presenter wins a tie. Lower-all is one
//     room-wide write: any raise older than it loses, whenever it arrives.
//   - An explicit leave removes the hand at once; a dropped connection keeps
//     member and hand for GraceMs (a rejoin keeps hand and place), then an
//     Expire action removes them.
//   - Only presenters and hosts dismiss others, lower all, change the stage
//     or mode, answer or dismiss questions, open or close Q&A, create or
//     close polls (ErrForbidden otherwise).
//   - Webinar mode: attendees publish only while on stage.
//
// For speed Apply updates the maps of the State it is given and returns it:
// the caller hands over ownership (State.Clone keeps a copy). On error the
// state is unchanged.
package room

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/podiumhq/podium/signaling/protocol"
)

// Config holds the room's limits.
type Config struct {
	// MaxLatencyMs bounds how far before its arrival a hand's time may be
	// (ms, default 2000): the longest a raise may take from click to server.
	MaxLatencyMs int64 `json:"maxLatencyMs"`
	// GraceMs is how long a dropped participant keeps member and hand
	// (ms, default 30000).
	GraceMs int64 `json:"graceMs"`
	// ChatHistory is how many chat messages are kept and sent on join
	// (default 200).
	ChatHistory int `json:"chatHistory"`
	// MaxTextBytes bounds chat messages, questions and poll texts (default 2000).
	MaxTextBytes int `json:"maxTextBytes"`
	// MaxQuestions and MaxPolls bound Q&A and polls (defaults 1000 and 100).
	MaxQuestions int `json:"maxQuestions"`
	MaxPolls     int `json:"maxPolls"`
}

// Defaults fills zero fields with the defaults.
func (c Config) Defaults() Config {
	if c.MaxLatencyMs <= 0 {
		c.MaxLatencyMs = 2000
	}
	if c.GraceMs <= 0 {
		c.GraceMs = 30000
	}
	if c.ChatHistory <= 0 {
		c.ChatHistory = 200
	}
	if c.MaxTextBytes <= 0 {
		c.MaxTextBytes = 2000
	}
	if c.MaxQuestions <= 0 {
		c.MaxQuestions = 1000
	}
	if c.MaxPolls <= 0 {
		c.MaxPolls = 100
	}
	return c
}

// Member is a participant known to the room.
type Member struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Role      protocol.Role `json:"role"`
	Connected bool          `json:"connected"`
	// LeftAtMs is when the connection dropped (server ms), while !Connected.
	LeftAtMs int64 `json:"leftAtMs,omitempty"`
}

// Hand is one participant's hand: raised or not, its queue time and the
// last-writer-wins stamp of the write that set it.
type Hand struct {
	Raised    bool   `json:"raised"`
	TimeMs    int64  `json:"timeMs"`    // place in the queue (server ms)
	StampMs   int64  `json:"stampMs"`   // time of the last applied write
	StampPrio int    `json:"stampPrio"` // 0 owner, 1 presenter/host
	Reason    string `json:"reason,omitempty"`
	By        string `json:"by,omitempty"`
}

// QueueKey is one raised hand's place: ordered by (TimeMs, ID).
type QueueKey struct {
	TimeMs int64  `json:"timeMs"`
	ID     string `json:"id"`
}

func (a QueueKey) less(b QueueKey) bool {
	return a.TimeMs < b.TimeMs || (a.TimeMs == b.TimeMs && a.ID < b.ID)
}

// Question is a Q&A entry with its voters.
type Question struct {
	protocol.Question
	Voters map[string]bool `json:"voters"`
}

// Poll is a poll with its votes (participant -> option).
type Poll struct {
	protocol.Poll
	Votes map[string]int `json:"votes"`
}

// State is one room's state.
type State struct {
	Config Config `json:"config"`
	// Seq is the room version: the number of actions applied successfully.
	Seq     uint64             `json:"seq"`
	Mode    string             `json:"mode"`
	Members map[string]*Member `json:"members"`
	Hands   map[string]*Hand   `json:"hands"`
	// Queue is the raised hands in order.
	Queue []QueueKey `json:"queue"`
	// LowerAll is set once a presenter lowered all hands; LowerAllMs is the
	// latest lower-all's time (server ms, priority 1): any hand write older
	// than it loses.
	LowerAll   bool                   `json:"lowerAll"`
	LowerAllMs int64                  `json:"lowerAllMs"`
	Stage      map[string]bool        `json:"stage"`
	Spotlight  string                 `json:"spotlight"`
	Chat       []protocol.ChatMessage `json:"chat"`
	ChatSeq    uint64                 `json:"chatSeq"`
	// ChatIDs maps sender + "\x00" + client message id to the chat seq, for
	// the messages still in Chat (retries of older ones are refused as
	// duplicates without a copy).
	ChatIDs   map[string]uint64 `json:"chatIds"`
	QAOpen    bool              `json:"qaOpen"`
	Questions []*Question       `json:"questions"`
	// QuestionIDs maps asker + "\x00" + client message id to the question.
	QuestionIDs map[string]int `json:"questionIds"`
	Polls       []*Poll        `json:"polls"`
}

// New returns an empty room in meeting mode with Q&A open.
func New(cfg Config) State {
	return State{Config: cfg.Defaults(), Mode: protocol.ModeMeeting, Members: map[string]*Member{}, Hands: map[string]*Hand{},
		Stage: map[string]bool{}, ChatIDs: map[string]uint64{}, QuestionIDs: map[string]int{}, QAOpen: true}
}

// Clone returns a deep copy.
func (s State) Clone() State {
	c := s
	c.Members = make(map[string]*Member, len(s.Members))
	for k, v := range s.Members {
		m := *v
		c.Members[k] = &m
	}
	c.Hands = make(map[string]*Hand, len(s.Hands))
	for k, v := range s.Hands {
		h := *v
		c.Hands[k] = &h
	}
	c.Queue = append([]QueueKey(nil), s.Queue...)
	c.Stage = make(map[string]bool, len(s.Stage))
	for k, v := range s.Stage {
		c.Stage[k] = v
	}
	c.Chat = append([]protocol.ChatMessage(nil), s.Chat...)
	c.ChatIDs = make(map[string]uint64, len(s.ChatIDs))
	for k, v := range s.ChatIDs {
		c.ChatIDs[k] = v
	}
	c.QuestionIDs = make(map[string]int, len(s.QuestionIDs))
	for k, v := range s.QuestionIDs {
		c.QuestionIDs[k] = v
	}
	c.Questions = make([]*Question, len(s.Questions))
	for i, q := range s.Questions {
		n := *q
		n.Voters = make(map[string]bool, len(q.Voters))
		for k, v := range q.Voters {
			n.Voters[k] = v
		}
		c.Questions[i] = &n
	}
	c.Polls = make([]*Poll, len(s.Polls))
	for i, p := range s.Polls {
		n := *p
		n.Options = append([]string(nil), p.Options...)
		n.Counts = append([]int(nil), p.Counts...)
		n.Votes = make(map[string]int, len(p.Votes))
		for k, v := range p.Votes {
			n.Votes[k] = v
		}
		c.Polls[i] = &n
	}
	return c
}

// Action kinds (those that are also client requests use the protocol's
// message types).
const (
	KindJoin   = "join"
	KindLeave  = "leave"
	KindExpire = "expire"
)

// Action is one change to a room. AtMs is the server time it arrived (ms
// since the Unix epoch); By is the participant who asked (empty for the
// server's own Expire).
type Action struct {
	Kind string `json:"kind"`
	AtMs int64  `json:"atMs"`
	By   string `json:"by,omitempty"`

	// Join.
	Name string        `json:"name,omitempty"`
	Role protocol.Role `json:"role,omitempty"`
	// Leave: Explicit is a leave the participant asked for (hand removed at
	// once); otherwise the connection dropped (grace period).
	Explicit bool `json:"explicit,omitempty"`

	// Hands: the client's click time (client clock, ms since epoch) and the
	// server's estimate of that client's clock offset (server - client, ms).
	ClickMs  int64 `json:"clickMs,omitempty"`
	OffsetMs int64 `json:"offsetMs,omitempty"`

	Target string `json:"target,omitempty"` // dismiss, stage
	On     bool   `json:"on,omitempty"`     // stage, qa-open
	Mode   string `json:"mode,omitempty"`

	Text        string   `json:"text,omitempty"`
	ClientMsgID string   `json:"clientMsgId,omitempty"`
	QuestionID  int      `json:"questionId,omitempty"`
	PollID      int      `json:"pollId,omitempty"`
	Option      int      `json:"option,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// Audience says who receives an event.
type Audience int

// Audiences.
const (
	ToAll        Audience = iota // every connected member
	ToPresenters                 // connected presenters and hosts
	ToOne                        // the member Event.ID
	ToNone                       // internal: for the server, not sent
)

// Internal event types (Audience ToNone).
const (
	// EventPublish: Event.ID's publish rights changed; Body is a bool (allowed).
	EventPublish = "publish"
	// EventQueueMoved: raised hands' positions or the count changed; the
	// server sends attendees their positions and the count, coalesced.
	EventQueueMoved = "queue-moved"
)

// Event is something to tell participants (or, ToNone, the server). Body
// is a protocol body for Type.
type Event struct {
	To   Audience
	ID   string
	Type string
	Body any
}

// Errors: protocol errors with the codes clients get.
var (
	ErrForbidden = protocol.Errorf(protocol.ErrForbidden, "only presenters and hosts may do that")
	ErrNotJoined = protocol.Errorf(protocol.ErrNotJoined, "not a member of the room")
)

func isPresenter(r protocol.Role) bool { return r == protocol.RolePresenter || r == protocol.RoleHost }

// PublishAllowed reports whether member id may publish media now.
func (s *State) PublishAllowed(id string) bool {
	m := s.Members[id]
	if m == nil {
		return false
	}
	return s.Mode != protocol.ModeWebinar || isPresenter(m.Role) || s.Stage[id]
}

// HandTime converts a client click time to the hand's server time:
// click + offset, bounded to [at - maxLatency, at] (all ms).
func HandTime(click, offset, at, maxLatency int64) int64 {
	const lim = int64(1) << 52
	click = min(max(click, -lim), lim)
	offset = min(max(offset, -lim), lim)
	t := click + offset
	return min(max(t, at-maxLatency), at)
}

// Position returns id's 1-based place in the queue (0: no hand raised).
func (s *State) Position(id string) int {
	h := s.Hands[id]
	if h == nil || !h.Raised {
		return 0
	}
	k := QueueKey{h.TimeMs, id}
	i := sort.Search(len(s.Queue), func(i int) bool { return !s.Queue[i].less(k) })
	if i < len(s.Queue) && s.Queue[i] == k {
		return i + 1
	}
	return 0
}

// QueueEntries returns the queue in order as presenters see it.
func (s *State) QueueEntries() []protocol.HandEntry {
	out := make([]protocol.HandEntry, len(s.Queue))
	for i, k := range s.Queue {
		out[i] = s.entry(k.ID)
	}
	return out
}

func (s *State) entry(id string) protocol.HandEntry {
	e := protocol.HandEntry{ID: id}
	if m := s.Members[id]; m != nil {
		e.Name = m.Name
	}
	if h := s.Hands[id]; h != nil {
		e.TimeMs, e.Raised, e.Reason, e.By = h.TimeMs, h.Raised, h.Reason, h.By
	}
	return e
}

func (s *State) queueInsert(k QueueKey) {
	i := sort.Search(len(s.Queue), func(i int) bool { return !s.Queue[i].less(k) })
	s.Queue = append(s.Queue, QueueKey{})
	copy(s.Queue[i+1:], s.Queue[i:])
	s.Queue[i] = k
}

func (s *State) queueRemove(k QueueKey) {
	i := sort.Search(len(s.Queue), func(i int) bool { return !s.Queue[i].less(k) })
	if i < len(s.Queue) && s.Queue[i] == k {
		s.Queue = append(s.Queue[:i], s.Queue[i+1:]...)
	}
}

// StageBody returns the stage, sorted.
func (s *State) StageBody() protocol.StageBody {
	st := make([]string, 0, len(s.Stage))
	for id := range s.Stage {
		st = append(st, id)
	}
	sort.Strings(st)
	return protocol.StageBody{Stage: st, Spotlight: s.Spotlight}
}

// PollView returns poll p as member id sees it (counts hidden from
// attendees while open).
func (s *State) PollView(p *Poll, presenter bool) protocol.Poll {
	v := p.Poll
	v.Options = append([]string(nil), p.Options...)
	v.Voters = len(p.Votes)
	if presenter || !p.Open {
		v.Counts = append([]int(nil), p.Counts...)
	} else {
		v.Counts = nil
	}
	return v
}

// Snapshot is the room state sent to member id on join.
func (s *State) Snapshot(id string) protocol.RoomSnapshot {
	m := s.Members[id]
	pres := m != nil && isPresenter(m.Role)
	snap := protocol.RoomSnapshot{Seq: s.Seq, Mode: s.Mode, Stage: s.StageBody(), Position: s.Position(id), Count: len(s.Queue),
		Chat: append([]protocol.ChatMessage(nil), s.Chat...), QAOpen: s.QAOpen, PublishAllowed: s.PublishAllowed(id)}
	if pres {
		snap.Queue = s.QueueEntries()
	}
	for _, q := range s.Questions {
		snap.Questions = append(snap.Questions, q.Question)
	}
	for _, p := range s.Polls {
		snap.Polls = append(snap.Polls, s.PollView(p, pres))
	}
	return snap
}

func validText(t string, maxBytes int) bool {
	return t != "" && len(t) <= maxBytes && utf8.ValidString(t) && !strings.ContainsRune(t, 0)
}

func bad(format string, args ...any) error {
	return protocol.Errorf(protocol.ErrBadMessage, format, args...)
}

// Apply applies one action. It returns the new state, the events to send
// and, for a refused action, an error (a *protocol.Error) with the state
// unchanged. Accepted requests produce an ack event (TypeAck, ToOne By).
func Apply(s State, a Action) (State, []Event, error) {
	if s.Members == nil {
		s = New(s.Config)
	}
	var ev []Event
	var err error
	switch a.Kind {
	case KindJoin:
		ev, err = s.join(a)
	case KindLeave:
		ev, err = s.leave(a)
	case KindExpire:
		ev = s.expire(a.AtMs)
	default:
		m := s.Members[a.By]
		if m == nil || !m.Connected {
			return s, nil, ErrNotJoined
		}
		ev, err = s.request(m, a)
	}
	if err != nil {
		return s, nil, err
	}
	s.Seq++
	return s, ev, nil
}

func (s *State) join(a Action) ([]Event, error) {
	if a.By == "" || !a.Role.Valid() {
		return nil, bad("join needs an id and a valid role")
	}
	m := s.Members[a.By]
	if m == nil {
		m = &Member{ID: a.By}
		s.Members[a.By] = m
	}
	// A rejoin (replacement or reconnect within grace) keeps hand and place.
	// Publish rights are read by the server when it opens the new media
	// session (PublishAllowed), so a join has no events.
	m.Name, m.Role, m.Connected, m.LeftAtMs = a.Name, a.Role, true, 0
	return nil, nil
}

func (s *State) leave(a Action) ([]Event, error) {
	m := s.Members[a.By]
	if m == nil {
		return nil, ErrNotJoined
	}
	if a.Explicit {
		return s.remove([]string{a.By}), nil
	}
	m.Connected, m.LeftAtMs = false, a.AtMs
	return nil, nil
}

// expire removes members disconnected for GraceMs or more.
func (s *State) expire(now int64) []Event {
	var gone []string
	for id, m := range s.Members {
		if !m.Connected && now-m.LeftAtMs >= s.Config.GraceMs {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	return s.remove(gone)
}

// NextExpiryMs is when the next disconnected member's grace ends (server
// ms), or 0 when none is waiting.
func (s *State) NextExpiryMs() int64 {
	var next int64
	for _, m := range s.Members {
		if !m.Connected {
			if t := m.LeftAtMs + s.Config.GraceMs; next == 0 || t < next {
				next = t
			}
		}
	}
	return next
}

func (s *State) remove(ids []string) []Event {
	var ev []Event
	var lowered []protocol.HandEntry
	for _, id := range ids {
		if h := s.Hands[id]; h != nil {
			if h.Raised {
				s.queueRemove(QueueKey{h.TimeMs, id})
				e := s.entry(id)
				e.Raised, e.Reason, e.By = false, "left", ""
				lowered = append(lowered, e)
			}
			delete(s.Hands, id)
		}
		if s.Stage[id] {
			delete(s.Stage, id)
			if s.Spotlight == id {
				s.Spotlight = ""
			}
			ev = append(ev, Event{To: ToAll, Type: protocol.TypeStage, Body: s.StageBody()})
		}
		delete(s.Members, id)
	}
	if len(lowered) > 0 {
		ev = append(ev, Event{To: ToPresenters, Type: protocol.TypeHands, Body: protocol.HandsBody{Hands: lowered, Count: len(s.Queue)}},
			Event{To: ToNone, Type: EventQueueMoved})
	}
	return ev
}

func (s *State) request(m *Member, a Action) ([]Event, error) {
	pres := isPresenter(m.Role)
	ack := protocol.AckBody{Type: a.Kind, Seq: s.Seq + 1, Applied: true}
	var ev []Event
	switch a.Kind {
	case protocol.TypeHandRaise, protocol.TypeHandLower:
		t := HandTime(a.ClickMs, a.OffsetMs, a.AtMs, s.Config.MaxLatencyMs)
		reason := "lowered"
		if a.Kind == protocol.TypeHandRaise {
			reason = ""
		}
		ev, ack.Applied = s.writeHand(m.ID, a.Kind == protocol.TypeHandRaise, t, 0, reason, m.ID)
		if h := s.Hands[m.ID]; h != nil && h.Raised {
			ack.TimeMs = h.TimeMs
		}
		ack.Position, ack.Count = s.Position(m.ID), len(s.Queue)
	case protocol.TypeHandDismiss:
		if !pres && a.Target != m.ID {
			return nil, ErrForbidden
		}
		if s.Members[a.Target] == nil {
			return nil, protocol.Errorf(protocol.ErrNotFound, "no participant %q", a.Target)
		}
		prio := 0
		if pres {
			prio = 1
		}
		t := HandTime(a.ClickMs, a.OffsetMs, a.AtMs, s.Config.MaxLatencyMs)
		ev, ack.Applied = s.writeHand(a.Target, false, t, prio, "dismissed", m.ID)
		ack.Count = len(s.Queue)
	case protocol.TypeHandsLowerAll:
		if !pres {
			return nil, ErrForbidden
		}
		t := HandTime(a.ClickMs, a.OffsetMs, a.AtMs, s.Config.MaxLatencyMs)
		if !s.LowerAll || t > s.LowerAllMs {
			s.LowerAll, s.LowerAllMs = true, t
		}
		ids := make([]string, 0, len(s.Hands))
		for id := range s.Hands {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var lowered []protocol.HandEntry
		for _, id := range ids {
			h := s.Hands[id]
			if h.StampMs > t || (h.StampMs == t && h.StampPrio >= 1) {
				continue // a newer write
			}
			was := h.Raised
			if was {
				s.queueRemove(QueueKey{h.TimeMs, id})
			}
			h.Raised, h.TimeMs, h.StampMs, h.StampPrio, h.Reason, h.By = false, 0, t, 1, "lower-all", m.ID
			if was {
				lowered = append(lowered, s.entry(id))
				ev = append(ev, Event{To: ToOne, ID: id, Type: protocol.TypeHandPosition})
			}
		}
		for i := range ev {
			ev[i].Body = protocol.HandPositionBody{Position: 0, Count: len(s.Queue)}
		}
		if len(lowered) > 0 {
			ev = append(ev, Event{To: ToPresenters, Type: protocol.TypeHands, Body: protocol.HandsBody{Hands: lowered, Count: len(s.Queue)}},
				Event{To: ToNone, Type: EventQueueMoved})
		}
		ack.Applied = len(lowered) > 0
		ack.Count = len(s.Queue)
	case protocol.TypeStageSet:
		if !pres {
			return nil, ErrForbidden
		}
		tm := s.Members[a.Target]
		if tm == nil {
			return nil, protocol.Errorf(protocol.ErrNotFound, "no participant %q", a.Target)
		}
		before := s.PublishAllowed(a.Target)
		if a.On {
			s.Stage[a.Target] = true
			s.Spotlight = a.Target
			if h := s.Hands[a.Target]; h != nil && h.Raised {
				// Brought on stage from the queue: the hand is answered.
				e, _ := s.writeHand(a.Target, false, max(h.StampMs, HandTime(a.ClickMs, a.OffsetMs, a.AtMs, s.Config.MaxLatencyMs)), 1, "stage", m.ID)
				ev = append(ev, e...)
			}
		} else {
			delete(s.Stage, a.Target)
			if s.Spotlight == a.Target {
				s.Spotlight = ""
			}
		}
		ev = append(ev, Event{To: ToAll, Type: protocol.TypeStage, Body: s.StageBody()})
		if after := s.PublishAllowed(a.Target); after != before {
			ev = append(ev, Event{To: ToNone, ID: a.Target, Type: EventPublish, Body: after})
		}
	case protocol.TypeRoomMode:
		if !pres {
			return nil, ErrForbidden
		}
		if a.Mode != protocol.ModeMeeting && a.Mode != protocol.ModeWebinar {
			return nil, bad("unknown mode %q", a.Mode)
		}
		if a.Mode == s.Mode {
			ack.Applied = false
			break
		}
		before := map[string]bool{}
		for id := range s.Members {
			before[id] = s.PublishAllowed(id)
		}
		s.Mode = a.Mode
		ev = append(ev, Event{To: ToAll, Type: protocol.TypeRoomMode, Body: protocol.ModeBody{Mode: s.Mode}})
		ids := make([]string, 0, len(before))
		for id := range before {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if after := s.PublishAllowed(id); after != before[id] {
				ev = append(ev, Event{To: ToNone, ID: id, Type: EventPublish, Body: after})
			}
		}
	case protocol.TypeChatSend:
		if !validText(a.Text, s.Config.MaxTextBytes) || len(a.ClientMsgID) > 128 {
			return nil, bad("chat text must be 1 to %d bytes of UTF-8; client message id at most 128 bytes", s.Config.MaxTextBytes)
		}
		key := m.ID + "\x00" + a.ClientMsgID
		if a.ClientMsgID != "" {
			if seq, dup := s.ChatIDs[key]; dup {
				ack.Applied = false
				for i := range s.Chat {
					if s.Chat[i].Seq == seq {
						c := s.Chat[i]
						ack.Chat = &c
					}
				}
				break
			}
		}
		s.ChatSeq++
		msg := protocol.ChatMessage{Seq: s.ChatSeq, From: m.ID, Name: m.Name, Text: a.Text, TimeMs: a.AtMs, ClientMsgID: a.ClientMsgID}
		s.Chat = append(s.Chat, msg)
		if a.ClientMsgID != "" {
			s.ChatIDs[key] = msg.Seq
		}
		if over := len(s.Chat) - s.Config.ChatHistory; over > 0 {
			for _, old := range s.Chat[:over] {
				if old.ClientMsgID != "" {
					delete(s.ChatIDs, old.From+"\x00"+old.ClientMsgID)
				}
			}
			s.Chat = append([]protocol.ChatMessage(nil), s.Chat[over:]...)
		}
		ack.Chat = &msg
		ev = append(ev, Event{To: ToAll, Type: protocol.TypeChat, Body: msg})
	case protocol.TypeQuestionAsk:
		if !s.QAOpen {
			return nil, protocol.Errorf(protocol.ErrClosed, "Q&A is closed")
		}
		if !validText(a.Text, s.Config.MaxTextBytes) {
			return nil, bad("question must be 1 to %d bytes of UTF-8", s.Config.MaxTextBytes)
		}
		if len(s.Questions) >= s.Config.MaxQuestions {
			return nil, protocol.Errorf(protocol.ErrRoomFull, "at most %d questions", s.Config.MaxQuestions)
		}
		qkey := m.ID + "\x00" + a.ClientMsgID
		if id, dup := s.QuestionIDs[qkey]; dup && a.ClientMsgID != "" {
			ack.Applied, ack.QuestionID = false, id
			break
		}
		q := &Question{Question: protocol.Question{ID: len(s.Questions) + 1, From: m.ID, Name: m.Name, Text: a.Text, TimeMs: a.AtMs}, Voters: map[string]bool{}}
		s.Questions = append(s.Questions, q)
		if a.ClientMsgID != "" && len(a.ClientMsgID) <= 128 {
			s.QuestionIDs[qkey] = q.ID
		}
		ack.QuestionID = q.ID
		ev = append(ev, Event{To: ToAll, Type: protocol.TypeQuestion, Body: q.Question})
	case protocol.TypeQuestionUpvote, protocol.TypeQuestionAnswer, protocol.TypeQuestionDismiss:
		if a.QuestionID < 1 || a.QuestionID > len(s.Questions) {
			return nil, protocol.Errorf(protocol.ErrNotFound, "no question %d", a.QuestionID)
		}
		q := s.Questions[a.QuestionID-1]
		switch a.Kind {
		case protocol.TypeQuestionUpvote:
			if !s.QAOpen {
				return nil, protocol.Errorf(protocol.ErrClosed, "Q&A is closed")
			}
			if q.Voters[m.ID] {
				return nil, protocol.Errorf(protocol.ErrConflict, "already upvoted question %d", q.ID)
			}
			q.Voters[m.ID] = true
			q.Votes = len(q.Voters)
		case protocol.TypeQuestionAnswer:
			if !pres {
				return nil, ErrForbidden
			}
			q.Answered = true
		default:
			if !pres {
				return nil, ErrForbidden
			}
			q.Dismissed = true
		}
		ack.QuestionID = q.ID
		ev = append(ev, Event{To: ToAll, Type: protocol.TypeQuestion, Body: q.Question})
	case protocol.TypeQAOpen:
		if !pres {
			return nil, ErrForbidden
		}
		ack.Applied = s.QAOpen != a.On
		s.QAOpen = a.On
		ev = append(ev, Event{To: ToAll, Type: protocol.TypeQAState, Body: protocol.QAOpenBody{Open: s.QAOpen}})
	case protocol.TypePollCreate:
		if !pres {
			return nil, ErrForbidden
		}
		if !validText(a.Text, s.Config.MaxTextBytes) || len(a.Options) < 2 || len(a.Options) > 10 {
			return nil, bad("a poll needs a question and 2 to 10 options")
		}
		for _, o := range a.Options {
			if !validText(o, s.Config.MaxTextBytes) {
				return nil, bad("poll options must be 1 to %d bytes of UTF-8", s.Config.MaxTextBytes)
			}
		}
		if len(s.Polls) >= s.Config.MaxPolls {
			return nil, protocol.Errorf(protocol.ErrRoomFull, "at most %d polls", s.Config.MaxPolls)
		}
		p := &Poll{Poll: protocol.Poll{ID: len(s.Polls) + 1, Question: a.Text, Options: append([]string(nil), a.Options...), Open: true,
			Counts: make([]int, len(a.Options))}, Votes: map[string]int{}}
		s.Polls = append(s.Polls, p)
		ack.PollID = p.ID
		ev = append(ev, Event{To: ToAll, Type: protocol.TypePoll, Body: s.PollView(p, false)},
			Event{To: ToPresenters, Type: protocol.TypePoll, Body: s.PollView(p, true)})
	case protocol.TypePollVote, protocol.TypePollClose:
		if a.PollID < 1 || a.PollID > len(s.Polls) {
			return nil, protocol.Errorf(protocol.ErrNotFound, "no poll %d", a.PollID)
		}
		p := s.Polls[a.PollID-1]
		ack.PollID = p.ID
		if a.Kind == protocol.TypePollClose {
			if !pres {
				return nil, ErrForbidden
			}
			if !p.Open {
				ack.Applied = false
				break
			}
			p.Open = false
			ev = append(ev, Event{To: ToAll, Type: protocol.TypePoll, Body: s.PollView(p, true)})
			break
		}
		if !p.Open {
			return nil, protocol.Errorf(protocol.ErrClosed, "poll %d is closed", p.ID)
		}
		if a.Option < 0 || a.Option >= len(p.Options) {
			return nil, bad("poll %d has no option %d", p.ID, a.Option)
		}
		if _, voted := p.Votes[m.ID]; voted {
			return nil, protocol.Errorf(protocol.ErrConflict, "already voted in poll %d", p.ID)
		}
		p.Votes[m.ID] = a.Option
		p.Counts[a.Option]++
		// Live counts to presenters only: a vote costs O(presenters) messages.
		ev = append(ev, Event{To: ToPresenters, Type: protocol.TypePoll, Body: s.PollView(p, true)})
	default:
		return nil, protocol.Errorf(protocol.ErrUnknownType, "%q is not a room action", a.Kind)
	}
	ev = append(ev, Event{To: ToOne, ID: m.ID, Type: protocol.TypeAck, Body: ack})
	return ev, nil
}

// writeHand applies a last-writer-wins write (raised, at time t with
// priority prio) to id's hand and returns the events and whether it won.
// The hand's value is that of the winning write, and a raised hand's place
// is the winning raise's time, so the result does not depend on the order
// writes arrive in.
func (s *State) writeHand(id string, raised bool, t int64, prio int, reason, by string) ([]Event, bool) {
	if !s.beats(id, t, prio) {
		return nil, false
	}
	h := s.Hands[id]
	if h == nil {
		h = &Hand{}
		s.Hands[id] = h
	}
	was, wasT := h.Raised, h.TimeMs
	h.StampMs, h.StampPrio, h.By = t, prio, by
	if was {
		s.queueRemove(QueueKey{wasT, id})
	}
	if raised {
		h.Raised, h.TimeMs, h.Reason = true, t, ""
		s.queueInsert(QueueKey{t, id})
	} else {
		h.Raised, h.TimeMs, h.Reason = false, 0, reason // a lowered hand has no place
	}
	if !was && !raised {
		return nil, true // still down: nothing to tell
	}
	ev := []Event{
		{To: ToPresenters, Type: protocol.TypeHands, Body: protocol.HandsBody{Hands: []protocol.HandEntry{s.entry(id)}, Count: len(s.Queue)}},
		{To: ToNone, Type: EventQueueMoved},
	}
	if by != id {
		ev = append(ev, Event{To: ToOne, ID: id, Type: protocol.TypeHandPosition, Body: protocol.HandPositionBody{Position: s.Position(id), Count: len(s.Queue)}})
	}
	return ev, true
}

// beats reports whether a write at (t, prio) is newer than id's hand's
// stamp and the room's last lower-all.
func (s *State) beats(id string, t int64, prio int) bool {
	newer := func(st int64, sp int) bool { return t > st || (t == st && prio > sp) }
	if h := s.Hands[id]; h != nil && !newer(h.StampMs, h.StampPrio) {
		return false
	}
	return !s.LowerAll || newer(s.LowerAllMs, 1)
}

// Replay applies a log of actions to a new room with cfg and returns the
// state (refused actions change nothing, as when they were first applied).
func Replay(cfg Config, log []Action) State {
	s := New(cfg)
	for _, a := range log {
		s, _, _ = Apply(s, a)
	}
	return s
}
