package room

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/podiumhq/podium/signaling/protocol"
)

const base = int64(1_700_000_000_000) // server ms

func must(t testing.TB, s *State, a Action) []Event {
	t.Helper()
	ns, ev, err := Apply(*s, a)
	if err != nil {
		t.Fatalf("%s by %s: %v", a.Kind, a.By, err)
	}
	*s = ns
	return ev
}

func refused(t testing.TB, s *State, a Action, code string) {
	t.Helper()
	before := s.Clone()
	ns, ev, err := Apply(*s, a)
	if err == nil {
		t.Fatalf("%s by %s accepted, want %s", a.Kind, a.By, code)
	}
	if pe := protocol.AsError(err); pe.Code != code {
		t.Fatalf("%s by %s: %v, want code %s", a.Kind, a.By, err, code)
	}
	if len(ev) != 0 || !reflect.DeepEqual(ns.Clone(), before.Clone()) {
		t.Fatalf("refused %s changed the state or produced events", a.Kind)
	}
	*s = ns
}

func joinA(id string, role protocol.Role, at int64) Action {
	return Action{Kind: KindJoin, By: id, Name: "name-" + id, Role: role, AtMs: at}
}

func raise(id string, click, at int64) Action {
	return Action{Kind: protocol.TypeHandRaise, By: id, ClickMs: click, AtMs: at}
}

func queueIDs(s *State) []string {
	var ids []string
	for _, k := range s.Queue {
		ids = append(ids, k.ID)
	}
	return ids
}

// presenterView rebuilds the queue from a snapshot and hands deltas, as a
// presenter's client does.
type presenterView map[string]protocol.HandEntry

func (v presenterView) apply(ev []Event, self string, presenters map[string]bool) {
	for _, e := range ev {
		if e.Type != protocol.TypeHands || !(e.To == ToPresenters && presenters[self]) {
			continue
		}
		for _, h := range e.Body.(protocol.HandsBody).Hands {
			if h.Raised {
				v[h.ID] = h
			} else {
				delete(v, h.ID)
			}
		}
	}
}

func (v presenterView) order() []QueueKey {
	var out []QueueKey
	for id, h := range v {
		out = append(out, QueueKey{h.TimeMs, id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out
}

// TestHandQueueConvergesProperty: random clock skews (±10 s), random
// one-way network delays (1-300 ms, so every raise arrives within
// MaxLatencyMs), clock sync by ping exchanges (or, for some clients, only
// the join's one-way sample), random lowers, presenter dismisses (with ties)
// and re-raises, applied in several random arrival orders. Each order
// must give the same queue and hands; every presenter view (including one
// that joins midway from a snapshot) must equal the server's queue; and the
// queue must follow the true click times within the stated bound: two hands
// are out of true order only if their clicks are closer than the sum of
// their offset errors, each at most half the best ping round trip (or the
// one-way delay without pings).
func TestHandQueueConvergesProperty(t *testing.T) {
	for trial := 0; trial < 60; trial++ {
		rng := rand.New(rand.NewPCG(uint64(trial), 7))
		n := 3 + rng.IntN(60)
		type client struct {
			id             string
			skew, offset   int64
			errBound       int64
			click          int64 // true click time
			hasHand        bool
			finalTrueClick int64
		}
		cls := make([]*client, n)
		var acts []Action // hand actions, with true send time in AtMs (arrival drawn per order)
		var sendT []int64
		for i := range cls {
			c := &client{id: fmt.Sprintf("a%03d", i), skew: rng.Int64N(20001) - 10000}
			var clk Clock
			if rng.IntN(5) == 0 {
				d := 1 + rng.Int64N(300)
				tau := base - 5000
				clk.AddOneWay(tau+c.skew, tau+d)
				c.errBound = 300
			} else {
				for k := 0; k < 1+rng.IntN(4); k++ {
					tau := base - 10000 + int64(k)*1000
					d1, d2 := 1+rng.Int64N(300), 1+rng.Int64N(300)
					clk.AddExchange(tau+c.skew, tau+d1, tau+d1+d2+c.skew)
				}
				_, rtt := clk.OffsetMs()
				c.errBound = rtt/2 + 1
			}
			c.offset, _ = clk.OffsetMs()
			if e := c.offset + c.skew; e > c.errBound || -e > c.errBound {
				t.Fatalf("trial %d: offset error %d ms over the bound %d ms", trial, e, c.errBound)
			}
			c.click = base + rng.Int64N(1000)
			acts = append(acts, Action{Kind: protocol.TypeHandRaise, By: c.id, ClickMs: c.click + c.skew, OffsetMs: c.offset})
			sendT = append(sendT, c.click)
			c.hasHand, c.finalTrueClick = true, c.click
			switch rng.IntN(6) {
			case 0: // owner lowers
				lt := c.click + c.errBound + 1 + rng.Int64N(500)
				acts = append(acts, Action{Kind: protocol.TypeHandLower, By: c.id, ClickMs: lt + c.skew, OffsetMs: c.offset})
				sendT = append(sendT, lt)
				c.hasHand = false
			case 1: // owner lowers while a presenter dismisses at the same server time: the presenter wins
				lt := c.click + c.errBound + 1 + rng.Int64N(400)
				acts = append(acts, Action{Kind: protocol.TypeHandLower, By: c.id, ClickMs: lt - c.offset, OffsetMs: c.offset},
					Action{Kind: protocol.TypeHandDismiss, By: "p1", Target: c.id, ClickMs: lt})
				sendT = append(sendT, lt, lt)
				c.hasHand = false
			case 2: // dismissed, then raised again later: the later raise wins
				dt := c.click + c.errBound + 1 + rng.Int64N(200)
				rt := dt + 100 + 2*c.errBound + rng.Int64N(300)
				acts = append(acts, Action{Kind: protocol.TypeHandDismiss, By: "p2", Target: c.id, ClickMs: dt},
					Action{Kind: protocol.TypeHandRaise, By: c.id, ClickMs: rt + c.skew, OffsetMs: c.offset})
				sendT = append(sendT, dt, rt)
				c.finalTrueClick = rt
			}
			cls[i] = c
		}
		arr := make([]int64, len(acts))
		for i := range arr {
			arr[i] = sendT[i] + 1 + rng.Int64N(300)
		}
		var final *State
		for order := 0; order < 4; order++ {
			s := New(Config{MaxLatencyMs: 2000})
			presenters := map[string]bool{"p1": true, "p2": true}
			views := map[string]presenterView{"p1": {}, "p2": {}}
			must(t, &s, joinA("p1", protocol.RolePresenter, base-20000))
			must(t, &s, joinA("p2", protocol.RoleHost, base-20000))
			for _, c := range cls {
				must(t, &s, joinA(c.id, protocol.RoleAttendee, base-20000))
			}
			idx := make([]int, len(acts))
			for i := range idx {
				idx[i] = i
			}
			switch order {
			case 0: // by arrival time
				sort.SliceStable(idx, func(a, b int) bool { return arr[idx[a]] < arr[idx[b]] })
			case 1: // the reverse
				sort.SliceStable(idx, func(a, b int) bool { return arr[idx[a]] > arr[idx[b]] })
			default: // any order at all
				rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
			}
			lateJoin := rng.IntN(len(idx) + 1)
			for k, i := range idx {
				if k == lateJoin {
					must(t, &s, joinA("p3", protocol.RolePresenter, base))
					presenters["p3"] = true
					views["p3"] = presenterView{}
					for _, h := range s.Snapshot("p3").Queue {
						views["p3"][h.ID] = h
					}
				}
				a := acts[i]
				a.AtMs = arr[i]
				ns, ev, err := Apply(s, a)
				if err != nil {
					t.Fatalf("trial %d: %s by %s: %v", trial, a.Kind, a.By, err)
				}
				s = ns
				for p, v := range views {
					v.apply(ev, p, presenters)
				}
			}
			if lateJoin == len(idx) {
				views["p3"] = presenterView{}
				must(t, &s, joinA("p3", protocol.RolePresenter, base))
				for _, h := range s.Snapshot("p3").Queue {
					views["p3"][h.ID] = h
				}
			}
			for p, v := range views {
				if got := v.order(); !slices.Equal(got, s.Queue) {
					t.Fatalf("trial %d order %d: presenter %s sees %v, server %v", trial, order, p, got, s.Queue)
				}
			}
			for _, c := range cls {
				h := s.Hands[c.id]
				if (h != nil && h.Raised) != c.hasHand {
					t.Fatalf("trial %d order %d: %s hand raised=%v, want %v; hand %+v client %+v", trial, order, c.id, h != nil && h.Raised, c.hasHand, h, c)
				}
			}
			if final == nil {
				final = &s
				// True-order check within the bound.
				byID := map[string]*client{}
				for _, c := range cls {
					byID[c.id] = c
				}
				for i := 0; i < len(s.Queue); i++ {
					for j := i + 1; j < len(s.Queue); j++ {
						a, b := byID[s.Queue[i].ID], byID[s.Queue[j].ID]
						if a.finalTrueClick > b.finalTrueClick+a.errBound+b.errBound {
							t.Fatalf("trial %d: %s (click %d, ±%d) ahead of %s (click %d, ±%d)", trial, a.id, a.finalTrueClick, a.errBound, b.id, b.finalTrueClick, b.errBound)
						}
					}
				}
				continue
			}
			if !slices.Equal(s.Queue, final.Queue) {
				t.Fatalf("trial %d: arrival order %d gives queue %v, first order %v", trial, order, s.Queue, final.Queue)
			}
			for id, h := range final.Hands {
				g := s.Hands[id]
				if g == nil || g.Raised != h.Raised || g.Reason != h.Reason || g.TimeMs != h.TimeMs || g.By != h.By {
					t.Fatalf("trial %d order %d: hand %s = %+v, first order %+v", trial, order, id, g, h)
				}
			}
		}
	}
}

// TestHandForgedTimestamps: a raise claiming a click long before (or after)
// its arrival is bounded to [arrival - MaxLatency, arrival] and does not
// jump ahead of an honest hand clicked earlier.
func TestHandForgedTimestamps(t *testing.T) {
	s := New(Config{MaxLatencyMs: 1000})
	for _, id := range []string{"honest", "past", "future", "skewoffset"} {
		must(t, &s, joinA(id, protocol.RoleAttendee, base))
	}
	must(t, &s, raise("honest", base+100, base+150))
	must(t, &s, raise("past", 0, base+1200))                                                                               // the epoch
	must(t, &s, raise("future", base+10_000_000, base+1300))                                                               // far future: clamped to arrival
	must(t, &s, Action{Kind: protocol.TypeHandRaise, By: "skewoffset", ClickMs: 5, OffsetMs: -1 << 60, AtMs: base + 1400}) // absurd offset
	// skewoffset is bounded to its arrival - 1000 ms: ahead of "future"
	// (which arrived 900 ms before it was bounded to) but behind everyone
	// who clicked before that.
	if got := queueIDs(&s); !slices.Equal(got, []string{"honest", "past", "skewoffset", "future"}) {
		t.Fatalf("queue %v", got)
	}
	if h := s.Hands["past"]; h.TimeMs != base+200 {
		t.Fatalf("past-dated raise at %d, want arrival-1000 = %d", h.TimeMs, base+200)
	}
	if h := s.Hands["future"]; h.TimeMs != base+1300 {
		t.Fatalf("future-dated raise at %d, want its arrival %d", h.TimeMs, base+1300)
	}
}

// TestHandAttendeeRefused: attendees cannot dismiss others, lower all,
// change the stage or mode, answer or dismiss questions, close Q&A or polls.
func TestHandAttendeeRefused(t *testing.T) {
	s := New(Config{})
	must(t, &s, joinA("host", protocol.RoleHost, base))
	must(t, &s, joinA("a", protocol.RoleAttendee, base))
	must(t, &s, joinA("b", protocol.RoleAttendee, base))
	must(t, &s, raise("b", base, base))
	must(t, &s, Action{Kind: protocol.TypeQuestionAsk, By: "b", Text: "why?", AtMs: base})
	must(t, &s, Action{Kind: protocol.TypePollCreate, By: "host", Text: "lunch?", Options: []string{"yes", "no"}, AtMs: base})
	for _, a := range []Action{
		{Kind: protocol.TypeHandDismiss, By: "a", Target: "b", AtMs: base},
		{Kind: protocol.TypeHandsLowerAll, By: "a", AtMs: base},
		{Kind: protocol.TypeStageSet, By: "a", Target: "b", On: true, AtMs: base},
		{Kind: protocol.TypeStageSet, By: "a", Target: "a", On: true, AtMs: base},
		{Kind: protocol.TypeRoomMode, By: "a", Mode: protocol.ModeWebinar, AtMs: base},
		{Kind: protocol.TypeQuestionAnswer, By: "a", QuestionID: 1, AtMs: base},
		{Kind: protocol.TypeQuestionDismiss, By: "a", QuestionID: 1, AtMs: base},
		{Kind: protocol.TypeQAOpen, By: "a", On: false, AtMs: base},
		{Kind: protocol.TypePollCreate, By: "a", Text: "q", Options: []string{"x", "y"}, AtMs: base},
		{Kind: protocol.TypePollClose, By: "a", PollID: 1, AtMs: base},
	} {
		refused(t, &s, a, protocol.ErrForbidden)
	}
	if s.Position("b") != 1 {
		t.Fatal("b's hand was lowered by a refused request")
	}
	// The host may; an attendee may dismiss (lower) their own hand.
	must(t, &s, Action{Kind: protocol.TypeHandDismiss, By: "b", Target: "b", ClickMs: base + 1, AtMs: base + 1})
	if len(s.Queue) != 0 {
		t.Fatal("own dismiss did not lower")
	}
}

// TestHandLowerDismissRace: the attendee lowers and a presenter dismisses
// at the same server time, in both arrival orders: the presenter's write
// wins; with the attendee's lower later, the attendee's wins; and a raise
// older than a lower-all stays down whenever it arrives.
func TestHandLowerDismissRace(t *testing.T) {
	run := func(acts ...Action) State {
		s := New(Config{})
		must(t, &s, joinA("p", protocol.RolePresenter, base))
		must(t, &s, joinA("a", protocol.RoleAttendee, base))
		must(t, &s, raise("a", base, base+10))
		for _, a := range acts {
			must(t, &s, a)
		}
		return s
	}
	lower := Action{Kind: protocol.TypeHandLower, By: "a", ClickMs: base + 500, AtMs: base + 600}
	dismiss := Action{Kind: protocol.TypeHandDismiss, By: "p", Target: "a", ClickMs: base + 500, AtMs: base + 550}
	for _, s := range []State{run(lower, dismiss), run(dismiss, lower)} {
		if h := s.Hands["a"]; h.Raised || h.Reason != "dismissed" || h.By != "p" {
			t.Fatalf("tie: hand %+v, want dismissed by p", h)
		}
	}
	later := lower
	later.ClickMs = base + 501
	for _, s := range []State{run(later, dismiss), run(dismiss, later)} {
		if h := s.Hands["a"]; h.Raised || h.Reason != "lowered" {
			t.Fatalf("later lower: hand %+v, want lowered", h)
		}
	}
	reraise := raise("a", base+700, base+710)
	dismissOld := dismiss // older than the re-raise: the raise stays
	for _, s := range []State{run(lower, reraise, dismissOld), run(dismissOld, reraise, lower), run(reraise, lower, dismissOld)} {
		if s.Position("a") != 1 || s.Hands["a"].TimeMs != base+700 {
			t.Fatalf("re-raise after the dismiss: hand %+v", s.Hands["a"])
		}
	}
	all := Action{Kind: protocol.TypeHandsLowerAll, By: "p", ClickMs: base + 800, AtMs: base + 800}
	lateRaise := raise("a", base+790, base+810) // clicked before lower-all, arrived after
	for _, s := range []State{run(all, lateRaise), run(lateRaise, all)} {
		if len(s.Queue) != 0 {
			t.Fatalf("raise older than lower-all survives: %v", s.Queue)
		}
	}
}

// TestHandLeaverRemoved: an explicit leave removes the hand at once (the
// presenters get the delta); a dropped connection keeps it for the grace
// period and Expire then removes it.
func TestHandLeaverRemoved(t *testing.T) {
	s := New(Config{GraceMs: 30000})
	must(t, &s, joinA("p", protocol.RolePresenter, base))
	for _, id := range []string{"a", "b", "c"} {
		must(t, &s, joinA(id, protocol.RoleAttendee, base))
		must(t, &s, raise(id, base+int64(id[0]), base+200))
	}
	ev := must(t, &s, Action{Kind: KindLeave, By: "a", Explicit: true, AtMs: base + 1000})
	var delta *protocol.HandsBody
	for _, e := range ev {
		if e.Type == protocol.TypeHands && e.To == ToPresenters {
			b := e.Body.(protocol.HandsBody)
			delta = &b
		}
	}
	if delta == nil || delta.Hands[0].ID != "a" || delta.Hands[0].Raised || delta.Count != 2 {
		t.Fatalf("leave delta %+v", delta)
	}
	must(t, &s, Action{Kind: KindLeave, By: "b", AtMs: base + 2000}) // dropped
	if !slices.Equal(queueIDs(&s), []string{"b", "c"}) {
		t.Fatalf("queue %v", queueIDs(&s))
	}
	if s.NextExpiryMs() != base+32000 {
		t.Fatalf("next expiry %d", s.NextExpiryMs())
	}
	must(t, &s, Action{Kind: KindExpire, AtMs: base + 31999})
	if s.Position("b") != 1 {
		t.Fatal("hand gone before the grace period ended")
	}
	must(t, &s, Action{Kind: KindExpire, AtMs: base + 32000})
	if !slices.Equal(queueIDs(&s), []string{"c"}) || s.Members["b"] != nil {
		t.Fatalf("after grace: queue %v", queueIDs(&s))
	}
}

// TestHandReconnectKeepsPlace: a reconnect within the grace period keeps
// the hand and its position; the dropped member's requests are refused
// until it rejoins.
func TestHandReconnectKeepsPlace(t *testing.T) {
	s := New(Config{GraceMs: 30000})
	for _, id := range []string{"a", "b", "c"} {
		must(t, &s, joinA(id, protocol.RoleAttendee, base))
		must(t, &s, raise(id, base+int64(id[0]), base+200))
	}
	must(t, &s, Action{Kind: KindLeave, By: "a", AtMs: base + 1000})
	refused(t, &s, raise("a", base+1100, base+1100), protocol.ErrNotJoined)
	must(t, &s, joinA("a", protocol.RoleAttendee, base+20000))
	must(t, &s, Action{Kind: KindExpire, AtMs: base + 40000})
	if s.Position("a") != 1 || !slices.Equal(queueIDs(&s), []string{"a", "b", "c"}) {
		t.Fatalf("after reconnect: queue %v", queueIDs(&s))
	}
	if snap := s.Snapshot("a"); snap.Position != 1 || snap.Count != 3 || snap.Queue != nil {
		t.Fatalf("attendee snapshot %+v", snap)
	}
}

// TestHandRejoinNoStaleEntry: a second session under the same identity
// (replacement) leaves one member and one queue entry.
func TestHandRejoinNoStaleEntry(t *testing.T) {
	s := New(Config{})
	must(t, &s, joinA("a", protocol.RoleAttendee, base))
	must(t, &s, raise("a", base, base))
	must(t, &s, joinA("a", protocol.RoleAttendee, base+10))
	must(t, &s, raise("a", base+20, base+20)) // the new session raises again: it moves, it does not duplicate
	if len(s.Queue) != 1 || len(s.Members) != 1 || s.Queue[0].TimeMs != base+20 {
		t.Fatalf("queue %v members %d", s.Queue, len(s.Members))
	}
}

// TestHandStageWebinar: in a webinar attendees may not publish; putting a
// raised hand on stage grants publish rights (and answers the hand);
// taking them off revokes them.
func TestHandStageWebinar(t *testing.T) {
	s := New(Config{})
	must(t, &s, joinA("p", protocol.RolePresenter, base))
	must(t, &s, joinA("a", protocol.RoleAttendee, base))
	ev := must(t, &s, Action{Kind: protocol.TypeRoomMode, By: "p", Mode: protocol.ModeWebinar, AtMs: base})
	if !hasPublish(ev, "a", false) || !s.PublishAllowed("p") || s.PublishAllowed("a") {
		t.Fatalf("webinar: events %+v", ev)
	}
	must(t, &s, raise("a", base+5, base+10))
	ev = must(t, &s, Action{Kind: protocol.TypeStageSet, By: "p", Target: "a", On: true, AtMs: base + 20})
	if !hasPublish(ev, "a", true) || s.Spotlight != "a" || len(s.Queue) != 0 || s.Hands["a"].Reason != "stage" {
		t.Fatalf("on stage: events %+v, state %+v", ev, s.Hands["a"])
	}
	ev = must(t, &s, Action{Kind: protocol.TypeStageSet, By: "p", Target: "a", On: false, AtMs: base + 30})
	if !hasPublish(ev, "a", false) || s.Spotlight != "" || s.PublishAllowed("a") {
		t.Fatalf("off stage: events %+v", ev)
	}
}

func hasPublish(ev []Event, id string, allowed bool) bool {
	for _, e := range ev {
		if e.Type == EventPublish && e.ID == id && e.Body.(bool) == allowed {
			return true
		}
	}
	return false
}

// TestChatHistoryAndRetries: chat is ordered, history is bounded, a retried
// client message id is not duplicated.
func TestChatHistoryAndRetries(t *testing.T) {
	s := New(Config{ChatHistory: 3})
	must(t, &s, joinA("a", protocol.RoleAttendee, base))
	for i := 0; i < 5; i++ {
		must(t, &s, Action{Kind: protocol.TypeChatSend, By: "a", ClientMsgID: fmt.Sprint("m", i), Text: fmt.Sprint("hello ", i), AtMs: base + int64(i)})
	}
	ev := must(t, &s, Action{Kind: protocol.TypeChatSend, By: "a", ClientMsgID: "m4", Text: "hello 4", AtMs: base + 9})
	if len(ev) != 1 || ev[0].Type != protocol.TypeAck || ev[0].Body.(protocol.AckBody).Applied || ev[0].Body.(protocol.AckBody).Chat.Seq != 5 {
		t.Fatalf("retry: %+v", ev)
	}
	if len(s.Chat) != 3 || s.Chat[0].Seq != 3 || s.Chat[2].Seq != 5 || len(s.ChatIDs) != 3 {
		t.Fatalf("history %+v ids %d", s.Chat, len(s.ChatIDs))
	}
	if snap := s.Snapshot("a"); len(snap.Chat) != 3 {
		t.Fatal("snapshot without history")
	}
}

// TestQuestionsAndPolls: ask, upvote once, answer; create, vote once, close.
func TestQuestionsAndPolls(t *testing.T) {
	s := New(Config{})
	must(t, &s, joinA("p", protocol.RolePresenter, base))
	must(t, &s, joinA("a", protocol.RoleAttendee, base))
	must(t, &s, Action{Kind: protocol.TypeQuestionAsk, By: "a", Text: "why?", ClientMsgID: "q1", AtMs: base})
	must(t, &s, Action{Kind: protocol.TypeQuestionAsk, By: "a", Text: "why?", ClientMsgID: "q1", AtMs: base}) // retry
	must(t, &s, Action{Kind: protocol.TypeQuestionUpvote, By: "p", QuestionID: 1, AtMs: base})
	refused(t, &s, Action{Kind: protocol.TypeQuestionUpvote, By: "p", QuestionID: 1, AtMs: base}, protocol.ErrConflict)
	must(t, &s, Action{Kind: protocol.TypeQuestionAnswer, By: "p", QuestionID: 1, AtMs: base})
	if len(s.Questions) != 1 || s.Questions[0].Votes != 1 || !s.Questions[0].Answered {
		t.Fatalf("questions %+v", s.Questions[0])
	}
	must(t, &s, Action{Kind: protocol.TypeQAOpen, By: "p", On: false, AtMs: base})
	refused(t, &s, Action{Kind: protocol.TypeQuestionAsk, By: "a", Text: "more?", AtMs: base}, protocol.ErrClosed)
	must(t, &s, Action{Kind: protocol.TypePollCreate, By: "p", Text: "lunch?", Options: []string{"yes", "no"}, AtMs: base})
	must(t, &s, Action{Kind: protocol.TypePollVote, By: "a", PollID: 1, Option: 1, AtMs: base})
	refused(t, &s, Action{Kind: protocol.TypePollVote, By: "a", PollID: 1, Option: 0, AtMs: base}, protocol.ErrConflict)
	if v := s.Snapshot("a").Polls[0]; v.Counts != nil || v.Voters != 1 {
		t.Fatalf("attendee sees open poll %+v", v)
	}
	ev := must(t, &s, Action{Kind: protocol.TypePollClose, By: "p", PollID: 1, AtMs: base})
	if p := ev[0].Body.(protocol.Poll); ev[0].To != ToAll || p.Open || !slices.Equal(p.Counts, []int{0, 1}) {
		t.Fatalf("close: %+v", ev)
	}
	refused(t, &s, Action{Kind: protocol.TypePollVote, By: "p", PollID: 1, Option: 0, AtMs: base}, protocol.ErrClosed)
}

// TestHandQueueReplay: a log of actions (through JSON, as the server would
// write it) replays to the same state.
func TestHandQueueReplay(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := New(Config{})
	var log []Action
	for i := 0; i < 2000; i++ {
		a := randomAction(rng)
		log = append(log, a)
		s, _, _ = Apply(s, a)
	}
	b, err := json.Marshal(log)
	if err != nil {
		t.Fatal(err)
	}
	var back []Action
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r := Replay(Config{}, back)
	if !reflect.DeepEqual(r.Clone(), s.Clone()) {
		t.Fatal("replayed state differs")
	}
	checkInvariants(t, &s)
	if s.Seq < 100 || len(s.Members) == 0 {
		t.Fatalf("random log applied too little: seq %d", s.Seq)
	}
}

var ids = []string{"h", "p", "a", "b", "c", "d"}

func randomAction(rng *rand.Rand) Action {
	kinds := []string{KindJoin, KindJoin, KindLeave, KindExpire, protocol.TypeHandRaise, protocol.TypeHandRaise, protocol.TypeHandLower,
		protocol.TypeHandDismiss, protocol.TypeHandsLowerAll, protocol.TypeStageSet, protocol.TypeRoomMode, protocol.TypeChatSend,
		protocol.TypeQuestionAsk, protocol.TypeQuestionUpvote, protocol.TypeQuestionAnswer, protocol.TypeQAOpen, protocol.TypePollCreate,
		protocol.TypePollVote, protocol.TypePollClose}
	return actionFrom(kinds[rng.IntN(len(kinds))], rng.IntN(6), rng.IntN(6), rng.Int64N(5000), rng.IntN(4))
}

func actionFrom(kind string, by, target int, dt int64, n int) Action {
	roles := map[string]protocol.Role{"h": protocol.RoleHost, "p": protocol.RolePresenter}
	a := Action{Kind: kind, By: ids[by%6], Target: ids[target%6], AtMs: base + dt*10, ClickMs: base + dt*10 - int64(n)*400,
		OffsetMs: int64(n-2) * 700, On: n%2 == 0, Explicit: n == 0, Text: fmt.Sprint("t", n), ClientMsgID: fmt.Sprint("c", n),
		QuestionID: n, PollID: n, Option: n % 3, Options: []string{"x", "y", "z"}[:1+n%3]}
	a.Role = roles[a.By]
	if a.Role == "" {
		a.Role = protocol.RoleAttendee
	}
	a.Mode = []string{protocol.ModeMeeting, protocol.ModeWebinar, "bogus", ""}[n]
	if kind == KindExpire {
		a.By = ""
		a.AtMs += 40000
	}
	return a
}

func checkInvariants(t testing.TB, s *State) {
	t.Helper()
	if !sort.SliceIsSorted(s.Queue, func(i, j int) bool { return s.Queue[i].less(s.Queue[j]) }) {
		t.Fatalf("queue not sorted: %v", s.Queue)
	}
	raised := 0
	for id, h := range s.Hands {
		if s.Members[id] == nil {
			t.Fatalf("hand for non-member %s", id)
		}
		if h.Raised {
			raised++
			if s.Position(id) == 0 {
				t.Fatalf("raised hand %s not in the queue", id)
			}
		}
	}
	if raised != len(s.Queue) {
		t.Fatalf("%d raised hands, queue of %d", raised, len(s.Queue))
	}
	for i := 1; i < len(s.Queue); i++ {
		if s.Queue[i] == s.Queue[i-1] {
			t.Fatal("duplicate queue entry")
		}
	}
	for id := range s.Stage {
		if s.Members[id] == nil {
			t.Fatalf("stage member %s gone", id)
		}
	}
	if len(s.Chat) > s.Config.ChatHistory {
		t.Fatal("chat history over the bound")
	}
}

// FuzzApply: any sequence of actions keeps the invariants (queue sorted and
// equal to the raised hands, no hands or stage for non-members, bounded
// chat), a refused action changes nothing, and the log replays to the same
// state.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 2, 0, 0, 4, 2, 0, 1, 7, 1, 2, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 2, 0, 0, 4, 2, 0, 0, 8, 0, 0, 9, 9, 1, 2, 0, 2, 2, 0, 1, 3, 0, 0, 200})
	f.Add([]byte("hand raise lower dismiss lower-all stage chat poll"))
	kinds := []string{KindJoin, KindLeave, KindExpire, protocol.TypeHandRaise, protocol.TypeHandLower, protocol.TypeHandDismiss,
		protocol.TypeHandsLowerAll, protocol.TypeStageSet, protocol.TypeRoomMode, protocol.TypeChatSend, protocol.TypeQuestionAsk,
		protocol.TypeQuestionUpvote, protocol.TypeQuestionAnswer, protocol.TypeQuestionDismiss, protocol.TypeQAOpen,
		protocol.TypePollCreate, protocol.TypePollVote, protocol.TypePollClose, "nonsense"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4*128 {
			// Each step clones and compares the whole state: keep inputs
			// short enough that one run stays in milliseconds.
			data = data[:4*128]
		}
		s := New(Config{ChatHistory: 4, GraceMs: 1000})
		var log []Action
		for len(data) >= 4 {
			a := actionFrom(kinds[int(data[0])%len(kinds)], int(data[1]), int(data[1]>>3), int64(data[2])*int64(data[3]%16), int(data[3]>>4)%4)
			data = data[4:]
			log = append(log, a)
			before := s.Clone()
			ns, ev, err := Apply(s, a)
			if err != nil {
				if len(ev) != 0 || !reflect.DeepEqual(ns.Clone(), before) {
					t.Fatalf("refused %+v changed the state", a)
				}
			}
			s = ns
			checkInvariants(t, &s)
		}
		if r := Replay(Config{ChatHistory: 4, GraceMs: 1000}, log); !reflect.DeepEqual(r.Clone(), s.Clone()) {
			t.Fatal("replay differs")
		}
	})
}
