package roomstore

import (
	"slices"
	"sort"
	"strconv"

	"github.com/podiumhq/podium/signaling/protocol"
)

// QueueRow is one hand in the presenter's queue panel.
type QueueRow struct {
	Position int
	ID, Name string
	// TimeMs is the hand's time on the server clock (estimated from the
	// click and the clock offset while the raise is in flight).
	TimeMs  int64
	Pending bool // our own raise, not yet acknowledged
}

// Queue is the queue as presenters see it: the server's order with our
// requests in flight applied (our raise shows at once; dismissed, lowered
// and spotlighted hands leave at once).
func Queue(s State) []QueueRow {
	hide := map[string]bool{}
	var lowerAll int64 = -1
	var raise *Op
	for i, o := range s.Pending {
		switch o.Kind {
		case KindDismiss:
			hide[o.Target] = true
		case KindSpotlight:
			if o.On {
				hide[o.Target] = true
			}
		case KindLower:
			hide[s.SelfID] = true
			raise = nil
		case KindRaise:
			delete(hide, s.SelfID)
			raise = &s.Pending[i]
		case KindLowerAll:
			lowerAll = max(lowerAll, o.ClickMs+s.OffsetMs)
		}
	}
	rows := make([]QueueRow, 0, len(s.Order)+1)
	for _, id := range s.Order {
		h := s.Hands[id]
		if hide[id] || h.TimeMs <= lowerAll || (raise != nil && id == s.SelfID) {
			continue
		}
		rows = append(rows, QueueRow{ID: id, Name: h.Name, TimeMs: h.TimeMs})
	}
	if raise != nil && s.Presenter() {
		if h, ok := s.Hands[s.SelfID]; ok {
			// Already raised: a second raise keeps the place.
			rows = insertRow(rows, QueueRow{ID: s.SelfID, Name: h.Name, TimeMs: h.TimeMs})
		} else {
			rows = insertRow(rows, QueueRow{ID: s.SelfID, Name: s.SelfName, TimeMs: raise.ClickMs + s.OffsetMs, Pending: true})
		}
	}
	for i := range rows {
		rows[i].Position = i + 1
	}
	return rows
}

func insertRow(rows []QueueRow, r QueueRow) []QueueRow {
	i := sort.Search(len(rows), func(i int) bool {
		return less(protocol.HandEntry{ID: r.ID, TimeMs: r.TimeMs}, protocol.HandEntry{ID: rows[i].ID, TimeMs: rows[i].TimeMs})
	})
	return slices.Insert(rows, i, r)
}

// Hand is this participant's own hand.
type Hand struct {
	Raised  bool
	Pending bool // a raise or lower is in flight
	// Position (1-based; 0 unknown or down) and Count (raised hands).
	Position, Count int
}

// SelfHand is our hand with requests in flight applied: raised at once
// on click, down at once on lower, back as the server has it after a
// refusal.
func SelfHand(s State) Hand {
	h := Hand{Position: s.Position, Count: s.Count}
	if s.Presenter() {
		q := Queue(s)
		h.Count = len(q)
		h.Position = 0
		for _, r := range q {
			if r.ID == s.SelfID {
				h.Position, h.Raised, h.Pending = r.Position, true, r.Pending
			}
		}
	} else {
		h.Raised = s.Position > 0
	}
	for _, o := range s.Pending {
		switch o.Kind {
		case KindRaise:
			if !h.Raised {
				h.Count++
			}
			h.Raised, h.Pending = true, true
		case KindLower:
			if h.Raised && h.Count > 0 {
				h.Count--
			}
			h.Raised, h.Pending, h.Position = false, true, 0
		case KindLowerAll:
			h.Raised, h.Position, h.Count = false, 0, 0
		}
	}
	return h
}

// ChatLine is a chat message as the panel shows it.
type ChatLine struct {
	protocol.ChatMessage
	Sending bool // ours, in flight
	Failed  bool // ours, refused or lost: can be retried
}

// ChatView is the server's chat followed by our messages in flight and
// those that failed (a message the server already has shows once).
func ChatView(s State) []ChatLine {
	out := make([]ChatLine, 0, len(s.Chat)+len(s.Pending)+len(s.FailedChat))
	have := map[string]bool{}
	for _, m := range s.Chat {
		out = append(out, ChatLine{ChatMessage: m})
		if m.From == s.SelfID && m.ClientMsgID != "" {
			have[m.ClientMsgID] = true
		}
	}
	for _, o := range s.Pending {
		if o.Kind == KindChat && !have[o.ClientMsgID] {
			have[o.ClientMsgID] = true
			out = append(out, ChatLine{ChatMessage: protocol.ChatMessage{From: s.SelfID, Name: s.SelfName, Text: o.Text, ClientMsgID: o.ClientMsgID, TimeMs: o.ClickMs + s.OffsetMs}, Sending: true})
		}
	}
	for _, o := range s.FailedChat {
		if !have[o.ClientMsgID] {
			out = append(out, ChatLine{ChatMessage: protocol.ChatMessage{From: s.SelfID, Name: s.SelfName, Text: o.Text, ClientMsgID: o.ClientMsgID, TimeMs: o.ClickMs + s.OffsetMs}, Failed: true})
		}
	}
	return out
}

// QuestionRow is a question as the Q&A panel shows it.
type QuestionRow struct {
	protocol.Question
	Upvoted bool // by us (or in flight)
	Pending bool // an action on it is in flight
}

// Questions are the open questions by votes (most first, then oldest),
// then the answered ones; dismissed questions are left out (and ones
// being dismissed). Our upvotes in flight count at once.
func Questions(s State) []QuestionRow {
	out := make([]QuestionRow, 0, len(s.Questions))
	for _, q := range s.Questions {
		r := QuestionRow{Question: q, Upvoted: s.Upvoted[q.ID]}
		skip := q.Dismissed
		for _, o := range s.Pending {
			if o.ID != q.ID {
				continue
			}
			switch o.Kind {
			case KindUpvote:
				if !r.Upvoted {
					r.Votes++
				}
				r.Upvoted, r.Pending = true, true
			case KindAnswer:
				r.Answered, r.Pending = true, true
			case KindDismissQ:
				skip = true
			}
		}
		if !skip {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Answered != b.Answered {
			return !a.Answered
		}
		if a.Votes != b.Votes {
			return a.Votes > b.Votes
		}
		return a.ID < b.ID
	})
	return out
}

// PollRow is a poll as the polls panel shows it.
type PollRow struct {
	protocol.Poll
	Voted   int // our option, -1: not voted
	Pending bool
}

// Polls are the polls, newest first, with our votes (in flight too).
func Polls(s State) []PollRow {
	out := make([]PollRow, 0, len(s.Polls))
	for i := len(s.Polls) - 1; i >= 0; i-- {
		p := s.Polls[i]
		r := PollRow{Poll: p, Voted: -1}
		if v, ok := s.Voted[p.ID]; ok {
			r.Voted = v
		}
		for _, o := range s.Pending {
			if o.ID != p.ID {
				continue
			}
			switch o.Kind {
			case KindVote:
				r.Voted, r.Pending = o.Option, true
			case KindClosePoll:
				r.Open, r.Pending = false, true
			}
		}
		out = append(out, r)
	}
	return out
}

// OnStage reports whether id is on the stage (or being brought on).
func OnStage(s State, id string) bool {
	on := slices.Contains(s.Stage.Stage, id)
	for _, o := range s.Pending {
		if o.Kind == KindSpotlight && o.Target == id {
			on = o.On
		}
	}
	return on
}

// Ordinal writes n as 1st, 2nd, 3rd, 4th, 11th, 21st...
func Ordinal(n int) string {
	suf := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suf = "st"
		case 2:
			suf = "nd"
		case 3:
			suf = "rd"
		}
	}
	return strconv.Itoa(n) + suf
}
