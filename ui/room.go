package ui

// The room panels' glue: server room updates -> roomstore (batched, one
// Delta and at most one UI refresh per frame); the user's clicks ->
// optimistic roomstore requests + the participant's room API, answered
// with Acked or Refused (rollback and a toast).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/roompanel"
	"github.com/podiumhq/podium/ui/roomstore"
	"github.com/podiumhq/podium/ui/store"
)

// roomFrame is the batching period: Fyne paints at 60 Hz.
const roomFrame = time.Second / 60

// roomUI owns the room store and panels of a window.
type roomUI struct {
	w       *Window
	St      *roomstore.Store
	Panels  *roompanel.Panels
	logPath string

	mu   sync.Mutex
	p    *participant.Participant
	prev roomstore.Snapshot
	stop chan struct{}
	wg   sync.WaitGroup

	dirty   atomic.Bool   // server room events since the last Delta
	queued  atomic.Bool   // a render is queued on the UI thread
	drawn   atomic.Uint64 // store version last rendered
	lastUI  atomic.Int64  // when it was rendered (unix ms)
	reqs    atomic.Int64
	Renders atomic.Int64 // UI refreshes (one fyne.Do each)
	Deltas  atomic.Int64 // Delta actions (one per frame at most)
	Events  atomic.Int64 // room events from the server
}

func newRoomUI(w *Window, logPath string) *roomUI {
	r := &roomUI{w: w, St: roomstore.NewStore(), logPath: logPath}
	r.Panels = roompanel.New(roompanel.Callbacks{
		ToggleHand: func() { w.Store.Dispatch(store.ToggleHand{}) },
		Dismiss: func(id string) {
			r.send(roomstore.Op{Kind: roomstore.KindDismiss, Target: id}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.DismissHand(ctx, id)
			})
		},
		Spotlight: func(id string, on bool) {
			r.send(roomstore.Op{Kind: roomstore.KindSpotlight, Target: id, On: on}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.Spotlight(ctx, id, on)
			})
		},
		LowerAll: func() {
			r.send(roomstore.Op{Kind: roomstore.KindLowerAll}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.LowerAllHands(ctx)
			})
		},
		SendChat: func(text string) { r.sendChat(participant.NewClientMsgID(), text, false) },
		RetryChat: func(id string) {
			for _, o := range r.St.State().FailedChat {
				if o.ClientMsgID == id {
					r.sendChat(id, o.Text, true)
				}
			}
		},
		Ask: func(text string) {
			id := participant.NewClientMsgID()
			r.send(roomstore.Op{Kind: roomstore.KindAsk, Text: text, ClientMsgID: id}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.AskQuestion(ctx, id, text)
			})
		},
		Upvote: func(id int) {
			r.send(roomstore.Op{Kind: roomstore.KindUpvote, ID: id}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.UpvoteQuestion(ctx, id)
			})
		},
		Answer: func(id int) {
			r.send(roomstore.Op{Kind: roomstore.KindAnswer, ID: id}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.AnswerQuestion(ctx, id)
			})
		},
		DismissQuestion: func(id int) {
			r.send(roomstore.Op{Kind: roomstore.KindDismissQ, ID: id}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.DismissQuestion(ctx, id)
			})
		},
		SetQAOpen: func(open bool) {
			r.send(roomstore.Op{Kind: roomstore.KindQAOpen, On: open}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.SetQAOpen(ctx, open)
			})
		},
		CreatePoll: func(q string, opts []string) {
			r.send(roomstore.Op{Kind: roomstore.KindCreatePoll, Text: q, Options: opts}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.CreatePoll(ctx, q, opts)
			})
		},
		Vote: func(poll, option int) {
			r.send(roomstore.Op{Kind: roomstore.KindVote, ID: poll, Option: option}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.Vote(ctx, poll, option)
			})
		},
		ClosePoll: func(poll int) {
			r.send(roomstore.Op{Kind: roomstore.KindClosePoll, ID: poll}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.ClosePoll(ctx, poll)
			})
		},
		SetWebinar: func(on bool) {
			mode := protocol.ModeMeeting
			if on {
				mode = protocol.ModeWebinar
			}
			r.send(roomstore.Op{Kind: roomstore.KindSetMode, Text: mode}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
				return p.SetMode(ctx, mode)
			})
		},
	})
	w.Store.OnAction(r.handle)
	w.Ctl.onRoom = r.onEvent
	// Ctrl+Alt+H: the hands queue (Ctrl+H raises or lowers one's hand).
	w.Win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyH, Modifier: fyne.KeyModifierControl | fyne.KeyModifierAlt},
		func(fyne.Shortcut) { r.ShowTab(roompanel.TabHands) })
	return r
}

// ShowTab opens the room side panel at tab.
func (r *roomUI) ShowTab(tab string) {
	if r.w.Store.State().Panel != store.PanelChat {
		r.w.Store.Dispatch(store.ShowPanel{Panel: store.PanelChat})
	}
	fyne.Do(func() { r.Panels.Select(tab) })
}

func (r *roomUI) participant() *participant.Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}

func (r *roomUI) handle(a store.Action) {
	switch a.(type) {
	case store.Joined:
		r.attach()
	case store.Left:
		r.detach()
	case store.ToggleHand:
		if r.w.Store.State().Screen == store.ScreenCall {
			r.toggleHand(time.Now())
		}
	}
}

func (r *roomUI) onEvent(e participant.Event) {
	switch e.Type {
	case protocol.TypeHands, protocol.TypeHandPosition, protocol.TypeHandCount, protocol.TypeStage, protocol.TypeRoomMode,
		protocol.TypeChat, protocol.TypeQuestion, protocol.TypeQAState, protocol.TypePoll, protocol.TypeAck:
		r.Events.Add(1)
		r.dirty.Store(true)
	}
}

func snapshotOf(s participant.RoomState) roomstore.Snapshot {
	return roomstore.Snapshot{Seq: s.Seq, Mode: s.Mode, Stage: s.Stage, Queue: s.Queue, Position: s.Position, Count: s.Count,
		Chat: s.Chat, QAOpen: s.QAOpen, Questions: s.Questions, Polls: s.Polls, PublishAllowed: s.PublishAllowed}
}

// attach starts following the call's room.
func (r *roomUI) attach() {
	sess := r.w.Ctl.Session()
	if sess == nil {
		return
	}
	p := sess.Room()
	self := sess.Self()
	snap := snapshotOf(p.RoomState())
	r.mu.Lock()
	if r.stop != nil {
		r.mu.Unlock()
		return
	}
	r.p, r.prev, r.stop = p, snap, make(chan struct{})
	stop := r.stop
	r.mu.Unlock()
	r.St.Dispatch(roomstore.Joined{SelfID: self.ID, SelfName: self.Name, Role: self.Role, OffsetMs: p.ClockOffset().Milliseconds(), Room: snap})
	r.wg.Add(1)
	go r.loop(p, stop)
}

// detach stops following the room and saves the action log.
func (r *roomUI) detach() {
	r.mu.Lock()
	stop := r.stop
	r.stop, r.p = nil, nil
	r.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	r.wg.Wait()
	r.St.Dispatch(roomstore.Left{})
	r.render()
	if r.logPath != "" {
		if err := r.SaveLog(r.logPath); err != nil {
			r.w.Store.Dispatch(store.Notify{Text: "Could not save the action log: " + err.Error(), Error: true})
		}
	}
}

// SaveLog writes the room action log (JSON lines; `podium replay FILE`).
func (r *roomUI) SaveLog(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.St.SaveLog(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loop runs once per frame: the room events since the last frame become
// one Delta, and a changed store one UI refresh (waiting times tick once
// a second).
func (r *roomUI) loop(p *participant.Participant, stop chan struct{}) {
	defer r.wg.Done()
	t := time.NewTicker(roomFrame)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if r.dirty.Swap(false) {
			next := snapshotOf(p.RoomState())
			d, changed := roomstore.Diff(r.prev, next, p.ClockOffset().Milliseconds())
			r.prev = next
			if changed {
				r.Deltas.Add(1)
				r.St.Dispatch(d)
			}
		}
		if r.St.Version() != r.drawn.Load() || time.Now().UnixMilli()-r.lastUI.Load() >= 1000 {
			r.render()
		}
	}
}

// render queues one UI refresh unless one is already queued.
func (r *roomUI) render() {
	if r.queued.Swap(true) {
		return
	}
	fyne.Do(func() {
		r.queued.Store(false)
		r.Renders.Add(1)
		r.drawn.Store(r.St.Version())
		r.lastUI.Store(time.Now().UnixMilli())
		s := r.St.State()
		r.Panels.Render(s, time.Now())
		if h := roomstore.SelfHand(s); h.Raised != r.w.Store.State().HandRaised {
			r.w.Store.Dispatch(store.HandSynced{Raised: h.Raised})
		}
	})
}

func (r *roomUI) toggleHand(click time.Time) {
	if roomstore.SelfHand(r.St.State()).Raised {
		r.send(roomstore.Op{Kind: roomstore.KindLower, ClickMs: click.UnixMilli()}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
			return p.LowerHand(ctx, click)
		})
		return
	}
	r.send(roomstore.Op{Kind: roomstore.KindRaise, ClickMs: click.UnixMilli()}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
		return p.RaiseHand(ctx, click)
	})
}

func (r *roomUI) sendChat(id, text string, retry bool) {
	r.do(roomstore.Op{Kind: roomstore.KindChat, Text: text, ClientMsgID: id}, retry, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
		return p.SendChat(ctx, id, text)
	})
}

var opVerb = map[string]string{
	roomstore.KindRaise: "Raising your hand", roomstore.KindLower: "Lowering your hand", roomstore.KindDismiss: "Dismissing the hand",
	roomstore.KindLowerAll: "Lowering all hands", roomstore.KindSpotlight: "Changing the stage", roomstore.KindChat: "Sending the message",
	roomstore.KindAsk: "Asking the question", roomstore.KindUpvote: "Upvoting", roomstore.KindAnswer: "Marking the question answered",
	roomstore.KindDismissQ: "Dismissing the question", roomstore.KindQAOpen: "Opening or closing Q&A", roomstore.KindCreatePoll: "Creating the poll",
	roomstore.KindVote: "Voting", roomstore.KindClosePoll: "Closing the poll", roomstore.KindSetMode: "Switching the room mode",
}

// send applies op optimistically and asks the server; its answer
// reconciles the store (a refusal rolls back, with a toast).
func (r *roomUI) send(op roomstore.Op, call func(context.Context, *participant.Participant) (protocol.AckBody, error)) {
	r.do(op, false, call)
}

// do is send; retry resends a failed chat message under its client
// message ID.
func (r *roomUI) do(op roomstore.Op, retry bool, call func(context.Context, *participant.Participant) (protocol.AckBody, error)) {
	p := r.participant()
	if p == nil {
		r.w.Store.Dispatch(store.Notify{Text: "Join a call first.", Error: true})
		return
	}
	op.Req = fmt.Sprintf("r%d", r.reqs.Add(1))
	if op.ClickMs == 0 {
		op.ClickMs = time.Now().UnixMilli()
	}
	if retry {
		r.St.Dispatch(roomstore.RetryChat{ClientMsgID: op.ClientMsgID, Req: op.Req})
	} else {
		r.St.Dispatch(roomstore.Requested{Op: op})
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ack, err := call(ctx, p)
		if err != nil {
			code, msg := "", err.Error()
			var pe *protocol.Error
			if errors.As(err, &pe) {
				code, msg = pe.Code, pe.Message
			} else if errors.Is(err, context.DeadlineExceeded) {
				msg = "the server did not answer"
			}
			r.St.Dispatch(roomstore.Refused{Req: op.Req, Code: code, Message: msg})
			r.w.Store.Dispatch(store.Notify{Text: opVerb[op.Kind] + " failed: " + msg, Error: true})
			return
		}
		r.St.Dispatch(roomstore.Acked{Req: op.Req, Ack: ack})
		r.dirty.Store(true)
	}()
}
