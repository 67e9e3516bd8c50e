// Package roomstore is the desktop app's normalized room state: the
// hand-raise queue, the stage, chat, Q&A and polls, as the server describes
// them, plus this client's requests in flight (optimistic updates).
//
// Everything changes through Actions applied by Reduce, a pure function
// (no clock, no I/O): the glue in package ui turns server updates into
// Delta actions and the user's clicks into Requested actions, then answers
// them with Acked or Refused once the server has. Selectors (Queue,
// SelfHand, ChatView, ...) merge the server's state with the requests in
// flight: a raised hand shows at once and disappears again if the server
// refuses it.
//
// The Store records every action; the log saves as JSON lines and Replay
// folds it back into the same State (`podium replay FILE`).
package roomstore

import (
	"maps"
	"slices"
	"sort"

	"github.com/podiumhq/podium/signaling/protocol"
)

// Request kinds (Op.Kind).
const (
	KindRaise       = "raise"
	KindLower       = "lower"
	KindDismiss     = "dismiss"   // Target's hand
	KindLowerAll    = "lower-all" // every hand raised before ClickMs
	KindSpotlight   = "spotlight" // Target on (On) or off stage
	KindChat        = "chat"      // Text, ClientMsgID
	KindAsk         = "ask"       // Text, ClientMsgID
	KindUpvote      = "upvote"    // ID: question
	KindAnswer      = "answer"    // ID: question
	KindDismissQ    = "dismiss-question"
	KindQAOpen      = "qa-open" // On
	KindCreatePoll  = "create-poll"
	KindVote        = "vote" // ID: poll, Option
	KindClosePoll   = "close-poll"
	KindSetMode     = "mode" // Text: protocol.ModeMeeting or ModeWebinar
	chatFailedLimit = 50
)

// Op is one request this client sent and the server has not answered yet.
// Req is unique per request; ClientMsgID stays the same across retries of
// one chat message or question, so the server never duplicates it.
type Op struct {
	Req         string   `json:"req"`
	Kind        string   `json:"kind"`
	Target      string   `json:"target,omitempty"`
	On          bool     `json:"on,omitempty"`
	ClickMs     int64    `json:"clickMs,omitempty"` // this machine's clock
	Text        string   `json:"text,omitempty"`
	ClientMsgID string   `json:"clientMsgId,omitempty"`
	ID          int      `json:"id,omitempty"`
	Option      int      `json:"option,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// State is the room as this client knows it.
type State struct {
	Joined           bool
	SelfID, SelfName string
	Role             protocol.Role
	// OffsetMs is the server clock minus this machine's (ms).
	OffsetMs int64
	Seq      uint64
	Mode     string
	Stage    protocol.StageBody
	// Hands are the raised hands by participant ID (presenters and hosts
	// only: attendees get Position and Count); Order is the queue order,
	// (TimeMs, ID).
	Hands           map[string]protocol.HandEntry
	Order           []string
	Position, Count int
	Chat            []protocol.ChatMessage
	QAOpen          bool
	Questions       []protocol.Question // by ID
	Polls           []protocol.Poll     // by ID
	PublishAllowed  bool
	// Pending are requests in flight, in the order they were made.
	Pending []Op
	// FailedChat are chat messages the server did not take (retry keeps
	// their ClientMsgID).
	FailedChat []Op
	// Upvoted and Voted remember this client's accepted upvotes and votes.
	Upvoted map[int]bool
	Voted   map[int]int
	// LastError is the latest refusal, for the window's toast.
	LastError string
	Errors    int
}

// Presenter reports whether the state's user may manage the room.
func (s State) Presenter() bool {
	return s.Role == protocol.RolePresenter || s.Role == protocol.RoleHost
}

// Snapshot is the whole room on join (or after a reconnect).
type Snapshot struct {
	Seq            uint64                 `json:"seq"`
	Mode           string                 `json:"mode"`
	Stage          protocol.StageBody     `json:"stage"`
	Queue          []protocol.HandEntry   `json:"queue,omitempty"`
	Position       int                    `json:"position"`
	Count          int                    `json:"count"`
	Chat           []protocol.ChatMessage `json:"chat,omitempty"`
	QAOpen         bool                   `json:"qaOpen"`
	Questions      []protocol.Question    `json:"questions,omitempty"`
	Polls          []protocol.Poll        `json:"polls,omitempty"`
	PublishAllowed bool                   `json:"publishAllowed"`
}

// Action is something that happened to the room state.
type Action interface{ kind() string }

// Actions.
type (
	// Joined starts a session: who we are and the room's snapshot.
	Joined struct {
		SelfID   string        `json:"selfId"`
		SelfName string        `json:"selfName"`
		Role     protocol.Role `json:"role"`
		OffsetMs int64         `json:"offsetMs"`
		Room     Snapshot      `json:"room"`
	}
	// Delta is a batch of server updates (everything that changed since
	// the previous Delta, gathered once per frame).
	Delta struct {
		Seq            uint64                 `json:"seq"`
		OffsetMs       int64                  `json:"offsetMs"`
		Mode           string                 `json:"mode"`
		Stage          *protocol.StageBody    `json:"stage,omitempty"`
		Raised         []protocol.HandEntry   `json:"raised,omitempty"`
		Lowered        []string               `json:"lowered,omitempty"`
		Position       int                    `json:"position"`
		Count          int                    `json:"count"`
		Chat           []protocol.ChatMessage `json:"chat,omitempty"` // appended (by Seq)
		QAOpen         bool                   `json:"qaOpen"`
		Questions      []protocol.Question    `json:"questions,omitempty"` // upserted
		Polls          []protocol.Poll        `json:"polls,omitempty"`     // upserted
		PublishAllowed bool                   `json:"publishAllowed"`
	}
	// Requested: the user asked for Op (sent to the server).
	Requested struct {
		Op Op `json:"op"`
	}
	// Acked: the server accepted request Req.
	Acked struct {
		Req string           `json:"req"`
		Ack protocol.AckBody `json:"ack"`
	}
	// Refused: the server (or the network) refused request Req: its
	// optimistic effect rolls back.
	Refused struct {
		Req     string `json:"req"`
		Code    string `json:"code,omitempty"`
		Message string `json:"message"`
	}
	// RetryChat resends a failed chat message (same ClientMsgID) as Req.
	RetryChat struct {
		ClientMsgID string `json:"clientMsgId"`
		Req         string `json:"req"`
	}
	// Left ends the session.
	Left struct{}
)

func (Joined) kind() string    { return "joined" }
func (Delta) kind() string     { return "delta" }
func (Requested) kind() string { return "requested" }
func (Acked) kind() string     { return "acked" }
func (Refused) kind() string   { return "refused" }
func (RetryChat) kind() string { return "retry-chat" }
func (Left) kind() string      { return "left" }

// Reduce returns the state after a. It never mutates s's maps or slices.
func Reduce(s State, a Action) State {
	switch a := a.(type) {
	case Joined:
		s = State{Joined: true, SelfID: a.SelfID, SelfName: a.SelfName, Role: a.Role, OffsetMs: a.OffsetMs,
			Seq: a.Room.Seq, Mode: a.Room.Mode, Stage: cloneStage(a.Room.Stage), Position: a.Room.Position, Count: a.Room.Count,
			Chat: slices.Clone(a.Room.Chat), QAOpen: a.Room.QAOpen, PublishAllowed: a.Room.PublishAllowed}
		s.Hands = map[string]protocol.HandEntry{}
		for _, h := range a.Room.Queue {
			if h.Raised || h.Reason == "" {
				h.Raised = true
				s.Hands[h.ID] = h
			}
		}
		s.Order = order(s.Hands)
		s.Questions = upsertQuestions(nil, a.Room.Questions)
		s.Polls = upsertPolls(nil, a.Room.Polls)
	case Delta:
		s.Seq, s.OffsetMs, s.Position, s.Count = max(s.Seq, a.Seq), a.OffsetMs, a.Position, a.Count
		if a.Mode != "" {
			s.Mode = a.Mode
		}
		s.QAOpen, s.PublishAllowed = a.QAOpen, a.PublishAllowed
		if a.Stage != nil {
			s.Stage = cloneStage(*a.Stage)
		}
		if len(a.Raised)+len(a.Lowered) > 0 {
			hands := maps.Clone(s.Hands)
			if hands == nil {
				hands = map[string]protocol.HandEntry{}
			}
			for _, id := range a.Lowered {
				delete(hands, id)
			}
			for _, h := range a.Raised {
				h.Raised = true
				hands[h.ID] = h
			}
			s.Hands, s.Order = hands, order(hands)
		}
		if len(a.Chat) > 0 {
			s.Chat = appendChat(s.Chat, a.Chat)
		}
		if len(a.Questions) > 0 {
			s.Questions = upsertQuestions(s.Questions, a.Questions)
		}
		if len(a.Polls) > 0 {
			s.Polls = upsertPolls(s.Polls, a.Polls)
		}
	case Requested:
		s.Pending = append(slices.Clone(s.Pending), a.Op)
		if a.Op.Kind == KindChat {
			s.FailedChat = slices.DeleteFunc(slices.Clone(s.FailedChat), func(o Op) bool { return o.ClientMsgID == a.Op.ClientMsgID })
		}
	case RetryChat:
		for _, o := range s.FailedChat {
			if o.ClientMsgID == a.ClientMsgID {
				o.Req = a.Req
				return Reduce(s, Requested{Op: o})
			}
		}
	case Acked:
		op, ok := s.pending(a.Req)
		if !ok {
			break
		}
		s.Pending = without(s.Pending, a.Req)
		switch op.Kind {
		case KindRaise, KindLower:
			s.Position, s.Count = a.Ack.Position, a.Ack.Count
			if s.Presenter() && a.Ack.Applied && s.SelfID != "" {
				hands := maps.Clone(s.Hands)
				if hands == nil {
					hands = map[string]protocol.HandEntry{}
				}
				if op.Kind == KindRaise {
					hands[s.SelfID] = protocol.HandEntry{ID: s.SelfID, Name: s.SelfName, TimeMs: a.Ack.TimeMs, Raised: true}
				} else {
					delete(hands, s.SelfID)
				}
				s.Hands, s.Order = hands, order(hands)
			}
		case KindChat:
			if a.Ack.Chat != nil {
				s.Chat = appendChat(s.Chat, []protocol.ChatMessage{*a.Ack.Chat})
			}
		case KindUpvote:
			s.Upvoted = maps.Clone(s.Upvoted)
			if s.Upvoted == nil {
				s.Upvoted = map[int]bool{}
			}
			s.Upvoted[op.ID] = true
		case KindVote:
			s.Voted = maps.Clone(s.Voted)
			if s.Voted == nil {
				s.Voted = map[int]int{}
			}
			s.Voted[op.ID] = op.Option
		}
		if a.Ack.Seq > s.Seq {
			s.Seq = a.Ack.Seq
		}
	case Refused:
		op, ok := s.pending(a.Req)
		if !ok {
			break
		}
		s.Pending = without(s.Pending, a.Req)
		s.Errors++
		s.LastError = a.Message
		switch {
		case op.Kind == KindChat:
			f := append(slices.Clone(s.FailedChat), op)
			if len(f) > chatFailedLimit {
				f = f[len(f)-chatFailedLimit:]
			}
			s.FailedChat = f
		case a.Code == protocol.ErrConflict && op.Kind == KindUpvote:
			s.Upvoted = maps.Clone(s.Upvoted)
			if s.Upvoted == nil {
				s.Upvoted = map[int]bool{}
			}
			s.Upvoted[op.ID] = true
		}
	case Left:
		s = State{}
	}
	return s
}

func (s State) pending(req string) (Op, bool) {
	for _, o := range s.Pending {
		if o.Req == req {
			return o, true
		}
	}
	return Op{}, false
}

func without(ops []Op, req string) []Op {
	out := make([]Op, 0, len(ops))
	for _, o := range ops {
		if o.Req != req {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func cloneStage(b protocol.StageBody) protocol.StageBody {
	if len(b.Stage) == 0 {
		b.Stage = nil
	} else {
		b.Stage = slices.Clone(b.Stage)
	}
	return b
}

// less is the queue order: (time, participant ID).
func less(a, b protocol.HandEntry) bool {
	return a.TimeMs < b.TimeMs || (a.TimeMs == b.TimeMs && a.ID < b.ID)
}

func order(hands map[string]protocol.HandEntry) []string {
	if len(hands) == 0 {
		return nil
	}
	ids := make([]string, 0, len(hands))
	for id := range hands {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return less(hands[ids[i]], hands[ids[j]]) })
	return ids
}

// appendChat adds messages after the last known Seq (duplicates and
// replays of older messages are skipped), keeping the server's order.
func appendChat(chat, add []protocol.ChatMessage) []protocol.ChatMessage {
	out := slices.Clone(chat)
	seen := map[uint64]bool{}
	for _, m := range chat {
		seen[m.Seq] = true
	}
	for _, m := range add {
		if !seen[m.Seq] {
			seen[m.Seq] = true
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	if over := len(out) - ChatHistory; over > 0 {
		out = slices.Clone(out[over:])
	}
	return out
}

// ChatHistory bounds the chat kept (as the server's default).
const ChatHistory = 200

func upsertQuestions(qs, add []protocol.Question) []protocol.Question {
	out := slices.Clone(qs)
	for _, q := range add {
		i := sort.Search(len(out), func(i int) bool { return out[i].ID >= q.ID })
		if i < len(out) && out[i].ID == q.ID {
			out[i] = q
		} else {
			out = slices.Insert(out, i, q)
		}
	}
	return out
}

func upsertPolls(ps, add []protocol.Poll) []protocol.Poll {
	out := slices.Clone(ps)
	for _, p := range add {
		p.Options, p.Counts = slices.Clone(p.Options), slices.Clone(p.Counts)
		i := sort.Search(len(out), func(i int) bool { return out[i].ID >= p.ID })
		if i < len(out) && out[i].ID == p.ID {
			out[i] = p
		} else {
			out = slices.Insert(out, i, p)
		}
	}
	return out
}
