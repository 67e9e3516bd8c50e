package roomstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/podiumhq/podium/signaling/protocol"
)

func joinedAs(role protocol.Role, queue ...protocol.HandEntry) Joined {
	return Joined{SelfID: "me", SelfName: "Me", Role: role, OffsetMs: 1000,
		Room: Snapshot{Seq: 5, Mode: protocol.ModeWebinar, Queue: queue, Count: len(queue)}}
}

func TestOptimisticHandRaiseShowsAtOnceAndRollsBack(t *testing.T) {
	for _, role := range []protocol.Role{protocol.RoleAttendee, protocol.RoleHost} {
		s := Reduce(State{}, joinedAs(role, protocol.HandEntry{ID: "a", Name: "Ada", TimeMs: 5000, Raised: true}))
		s = Reduce(s, Requested{Op: Op{Req: "r1", Kind: KindRaise, ClickMs: 9000}})
		h := SelfHand(s)
		if !h.Raised || !h.Pending || h.Count != 2 {
			t.Fatalf("%s: after the click the hand must show raised at once: %+v", role, h)
		}
		if role == protocol.RoleHost {
			q := Queue(s)
			if len(q) != 2 || q[1].ID != "me" || !q[1].Pending || q[1].TimeMs != 10000 || q[1].Position != 2 {
				t.Fatalf("presenter queue with our raise in flight: %+v", q)
			}
		}
		refused := Reduce(s, Refused{Req: "r1", Code: protocol.ErrForbidden, Message: "no"})
		if h := SelfHand(refused); h.Raised || h.Pending || h.Count != 1 {
			t.Fatalf("%s: a refused raise must roll back: %+v", role, h)
		}
		if refused.LastError != "no" || refused.Errors != 1 || len(Queue(refused)) != 1 && role == protocol.RoleHost {
			t.Fatalf("refusal not recorded: %+v", refused)
		}
		acked := Reduce(s, Acked{Req: "r1", Ack: protocol.AckBody{Type: protocol.TypeHandRaise, Applied: true, TimeMs: 9990, Position: 2, Count: 2}})
		if h := SelfHand(acked); !h.Raised || h.Pending || h.Position != 2 || h.Count != 2 {
			t.Fatalf("%s: acked raise: %+v", role, h)
		}
		// A late answer for an unknown request changes nothing.
		if again := Reduce(acked, Refused{Req: "r1", Message: "late"}); again.Errors != 0 {
			t.Fatal("an answer for no request in flight must be ignored")
		}
	}
}

func TestQueueOptimisticDismissLowerAllAndSpotlight(t *testing.T) {
	var hands []protocol.HandEntry
	for i := range 5 {
		hands = append(hands, protocol.HandEntry{ID: fmt.Sprint("p", i), Name: fmt.Sprint("P", i), TimeMs: int64(1000 * (i + 1)), Raised: true})
	}
	s := Reduce(State{}, joinedAs(protocol.RolePresenter, hands...))
	s = Reduce(s, Requested{Op: Op{Req: "d", Kind: KindDismiss, Target: "p1"}})
	s = Reduce(s, Requested{Op: Op{Req: "s", Kind: KindSpotlight, Target: "p3", On: true}})
	q := Queue(s)
	if len(q) != 3 || q[0].ID != "p0" || q[1].ID != "p2" || q[2].ID != "p4" || q[2].Position != 3 {
		t.Fatalf("queue after dismiss+spotlight in flight: %+v", q)
	}
	if !OnStage(s, "p3") {
		t.Fatal("spotlight in flight must show on stage")
	}
	back := Reduce(s, Refused{Req: "d", Message: "forbidden"})
	if q := Queue(back); len(q) != 4 || q[1].ID != "p1" {
		t.Fatalf("a refused dismiss must put the hand back: %+v", q)
	}
	s = Reduce(s, Requested{Op: Op{Req: "l", Kind: KindLowerAll, ClickMs: 3500}}) // server time 4500
	if q := Queue(s); len(q) != 1 || q[0].ID != "p4" {
		t.Fatalf("lower-all in flight hides hands raised before it: %+v", q)
	}
}

// randomSession drives a store as the glue would: joins, server deltas,
// requests and their answers, in random order.
func randomSession(st *Store, r *rand.Rand) {
	st.Dispatch(joinedAs(protocol.RoleHost, protocol.HandEntry{ID: "x", Name: "X", TimeMs: 1, Raised: true}))
	var inflight []string
	seq := uint64(5)
	for i := range 400 {
		switch r.IntN(6) {
		case 0, 1:
			seq++
			d := Delta{Seq: seq, OffsetMs: 1000, Mode: protocol.ModeWebinar, Count: r.IntN(50)}
			for range r.IntN(4) {
				id := fmt.Sprint("p", r.IntN(40))
				if r.IntN(3) == 0 {
					d.Lowered = append(d.Lowered, id)
				} else {
					d.Raised = append(d.Raised, protocol.HandEntry{ID: id, Name: "N" + id, TimeMs: int64(r.IntN(100000))})
				}
			}
			if r.IntN(4) == 0 {
				d.Chat = []protocol.ChatMessage{{Seq: seq, From: "p1", Name: "P1", Text: fmt.Sprint("hello ", i)}}
			}
			if r.IntN(5) == 0 {
				d.Questions = []protocol.Question{{ID: r.IntN(5) + 1, From: "p2", Text: "why?", Votes: r.IntN(9)}}
			}
			if r.IntN(8) == 0 {
				d.Polls = []protocol.Poll{{ID: r.IntN(3) + 1, Question: "which?", Options: []string{"a", "b"}, Open: r.IntN(2) == 0, Counts: []int{r.IntN(9), r.IntN(9)}}}
			}
			if r.IntN(6) == 0 {
				d.Stage = &protocol.StageBody{Stage: []string{fmt.Sprint("p", r.IntN(40))}}
			}
			st.Dispatch(d)
		case 2, 3:
			kinds := []string{KindRaise, KindLower, KindDismiss, KindSpotlight, KindChat, KindUpvote, KindVote, KindLowerAll, KindAnswer}
			req := fmt.Sprint("r", i)
			st.Dispatch(Requested{Op: Op{Req: req, Kind: kinds[r.IntN(len(kinds))], Target: fmt.Sprint("p", r.IntN(40)), On: true,
				ClickMs: int64(r.IntN(100000)), Text: "msg", ClientMsgID: fmt.Sprint("c", r.IntN(20)), ID: r.IntN(5) + 1}})
			inflight = append(inflight, req)
		default:
			if len(inflight) == 0 {
				continue
			}
			k := r.IntN(len(inflight))
			req := inflight[k]
			inflight = append(inflight[:k], inflight[k+1:]...)
			if r.IntN(3) == 0 {
				st.Dispatch(Refused{Req: req, Code: protocol.ErrForbidden, Message: "refused " + req})
			} else {
				seq++
				st.Dispatch(Acked{Req: req, Ack: protocol.AckBody{Seq: seq, Applied: true, TimeMs: int64(r.IntN(100000)), Position: r.IntN(9), Count: r.IntN(9),
					Chat: &protocol.ChatMessage{Seq: seq, From: "me", Text: "msg", ClientMsgID: "c"}}})
			}
		}
	}
}

func TestReplayReproducesHandQueueState(t *testing.T) {
	for seed := range uint64(5) {
		st := NewStore()
		randomSession(st, rand.New(rand.NewPCG(seed, 7)))
		var buf bytes.Buffer
		if err := st.SaveLog(&buf); err != nil {
			t.Fatal(err)
		}
		got, n, err := Replay(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if n != len(st.Log()) {
			t.Fatalf("replayed %d of %d actions", n, len(st.Log()))
		}
		want := st.State()
		a, _ := json.Marshal(Summarize(want))
		b, _ := json.Marshal(Summarize(got))
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: replay differs\nlive:   %s\nreplay: %s", seed, a, b)
		}
		if !reflect.DeepEqual(want.Hands, got.Hands) || !reflect.DeepEqual(want.Order, got.Order) || want.Seq != got.Seq {
			t.Fatalf("seed %d: normalized queue differs after replay", seed)
		}
		if len(Queue(want)) == 0 {
			t.Fatalf("seed %d: the session left an empty queue; the test is too weak", seed)
		}
	}
}

func TestDiffThenReduceMatchesSnapshotQueue(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	snap := func() Snapshot {
		var q []protocol.HandEntry
		for i := range 60 {
			if r.IntN(2) == 0 {
				q = append(q, protocol.HandEntry{ID: fmt.Sprint("p", i), Name: "x", TimeMs: int64(r.IntN(1000)), Raised: true})
			}
		}
		return Snapshot{Seq: uint64(r.IntN(100)), Mode: protocol.ModeMeeting, Queue: q, Count: len(q)}
	}
	prev := snap()
	s := Reduce(State{}, Joined{SelfID: "me", Role: protocol.RoleHost, Room: prev})
	for range 50 {
		next := snap()
		d, _ := Diff(prev, next, 0)
		s = Reduce(s, d)
		want := Reduce(State{}, Joined{SelfID: "me", Role: protocol.RoleHost, Room: next})
		if !reflect.DeepEqual(Queue(s), Queue(want)) {
			t.Fatalf("queue after Diff differs from the snapshot's")
		}
		prev = next
	}
}

func TestChatRetryNeverDuplicates(t *testing.T) {
	s := Reduce(State{}, joinedAs(protocol.RoleAttendee))
	s = Reduce(s, Requested{Op: Op{Req: "r1", Kind: KindChat, Text: "hi", ClientMsgID: "c1"}})
	if v := ChatView(s); len(v) != 1 || !v[0].Sending {
		t.Fatalf("sending: %+v", v)
	}
	s = Reduce(s, Refused{Req: "r1", Message: "timeout"})
	if v := ChatView(s); len(v) != 1 || !v[0].Failed {
		t.Fatalf("failed: %+v", v)
	}
	s = Reduce(s, RetryChat{ClientMsgID: "c1", Req: "r2"})
	// The server had it after all: its broadcast arrives before the ack.
	s = Reduce(s, Delta{Seq: 7, Chat: []protocol.ChatMessage{{Seq: 1, From: "me", Text: "hi", ClientMsgID: "c1"}}})
	s = Reduce(s, Acked{Req: "r2", Ack: protocol.AckBody{Chat: &protocol.ChatMessage{Seq: 1, From: "me", Text: "hi", ClientMsgID: "c1"}}})
	if v := ChatView(s); len(v) != 1 || v[0].Sending || v[0].Failed {
		t.Fatalf("after retry: %+v", v)
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 102: "102nd", 111: "111th"} {
		if got := Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %s, want %s", n, got, want)
		}
	}
}
