package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/roompanel"
	"github.com/podiumhq/podium/ui/roomstore"
	"github.com/podiumhq/podium/ui/store"
)

// TestScreenshotPresenterQueue: the app joins as the host (a presenter),
// six in-process attendees raise their hands one after another, and the
// presenter's hands panel lists them in order with their waiting times.
// The host's own Raise hand (Ctrl+H's action) shows at once; a refused
// dismiss rolls back with a toast; the action log replays to the same
// state.
func TestScreenshotPresenterQueue(t *testing.T) {
	w := window(t)
	if w.Store.State().Screen == store.ScreenStart {
		w.Store.Dispatch(store.HostRequested{})
		waitFor(t, "the pre-join screen", 10*time.Second, func() bool { return w.Store.State().Screen == store.ScreenPreJoin })
	}
	w.Store.Dispatch(store.JoinRequested{})
	waitFor(t, "the call screen", 15*time.Second, func() bool { return w.Store.State().Screen == store.ScreenCall })
	waitFor(t, "the room store", 5*time.Second, func() bool { return w.room.St.State().Joined })
	s := w.Store.State()
	room := s.Settings.Room
	names := []string{"Amara Okafor", "Ben Carter", "Chen Wei", "Dana Kowalski", "Eitan Levi", "Farah Haddad"}
	var atts []*participant.Participant
	defer func() {
		for _, p := range atts {
			p.Close()
		}
	}()
	for i, name := range names {
		tok, err := hostImpl.h.Tokens.Issue(room, fmt.Sprintf("att-%d", i), name, protocol.RoleAttendee, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		p, err := participant.Join(ctx, participant.Config{URL: s.Settings.Server, Token: tok, API: rtcapi.Options{LoopbackOnly: true}})
		cancel()
		if err != nil {
			t.Fatalf("attendee %s: %v", name, err)
		}
		atts = append(atts, p)
	}
	// Raise in a known order, a little apart, clicks back-dated so the
	// panel shows a spread of waiting times.
	base := time.Now().Add(-95 * time.Second)
	for i, p := range atts {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ack, err := p.RaiseHand(ctx, base.Add(time.Duration(i)*17*time.Second))
		cancel()
		if err != nil {
			t.Fatalf("%s raises: %v", names[i], err)
		}
		t.Logf("%s raised: position %d of %d", names[i], ack.Position, ack.Count)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, _ = atts[1].SendChat(ctx, participant.NewClientMsgID(), "Could you share the slides after the session?")
	_, _ = atts[2].AskQuestion(ctx, participant.NewClientMsgID(), "Will the recording be available?")
	cancel()

	w.room.ShowTab(roompanel.TabHands)
	waitFor(t, "six hands in the presenter's queue", 10*time.Second, func() bool { return len(roomstore.Queue(w.room.St.State())) == 6 })
	q := roomstore.Queue(w.room.St.State())
	for i, r := range q {
		if r.Name != names[i] || r.Position != i+1 {
			t.Fatalf("queue row %d is %+v, want %s", i, r, names[i])
		}
	}

	// Our own raise: in the store and on the button at once (before the
	// server answers), then confirmed by the server.
	var before int64
	fyne.DoAndWait(func() {
		before = w.room.Renders.Load()
		w.Store.Dispatch(store.ToggleHand{})
	})
	if h := roomstore.SelfHand(w.room.St.State()); !h.Raised || !w.Store.State().HandRaised {
		t.Fatalf("the raise did not show at once: %+v", h)
	}
	waitFor(t, "our raise acknowledged", 5*time.Second, func() bool {
		h := roomstore.SelfHand(w.room.St.State())
		return h.Raised && !h.Pending && h.Position == 7
	})
	t.Logf("own raise: %d UI refreshes until acknowledged", w.room.Renders.Load()-before)

	// A refused request (no such participant) rolls back with a toast.
	lastToast := func() store.Toast {
		ts := w.Store.State().Toasts
		if len(ts) == 0 {
			return store.Toast{}
		}
		return ts[len(ts)-1]
	}
	toastID := lastToast().ID
	// The server is asked only after the optimistic state has been read
	// (on loopback its refusal could otherwise arrive first).
	release := make(chan struct{})
	fyne.DoAndWait(func() {
		w.room.send(roomstore.Op{Kind: roomstore.KindDismiss, Target: "att-0"}, func(ctx context.Context, p *participant.Participant) (protocol.AckBody, error) {
			<-release
			return p.DismissHand(ctx, "nobody-here")
		})
	})
	optimistic := len(roomstore.Queue(w.room.St.State()))
	close(release)
	if optimistic != 6 {
		t.Fatalf("optimistic dismiss: %d hands shown, want 6", optimistic)
	}
	waitFor(t, "the refused dismiss to roll back", 5*time.Second, func() bool {
		return len(roomstore.Queue(w.room.St.State())) == 7 && lastToast().ID > toastID && lastToast().Error
	})
	t.Logf("refusal toast: %q", lastToast().Text)

	// Batching: room updates reach the window at most once per frame.
	start, r0, e0 := time.Now(), w.room.Renders.Load(), w.room.Events.Load()
	for i := range 40 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = atts[i%len(atts)].SendChat(ctx, participant.NewClientMsgID(), fmt.Sprintf("burst %d", i))
		cancel()
	}
	time.Sleep(300 * time.Millisecond)
	el := time.Since(start)
	renders, events := w.room.Renders.Load()-r0, w.room.Events.Load()-e0
	t.Logf("burst: %d room events, %d UI refreshes in %v (frame budget %d)", events, renders, el.Round(time.Millisecond), int(el/roomFrame)+1)
	if renders > int64(el/roomFrame)+2 {
		t.Errorf("%d UI refreshes in %v: more than one per frame", renders, el)
	}

	for _, m := range w.Store.State().Toasts { // toasts would cover the panel
		w.Store.Dispatch(store.DismissToast{ID: m.ID})
	}
	time.Sleep(1200 * time.Millisecond) // waiting times tick, a few paints
	panel := rectOf(w, w.room.Panels.Obj)
	img := capture(t)
	save(t, "presenter-queue.png", img)
	checkNotBlank(t, "hands panel", img, panel, 10, 8)
	w.room.ShowTab(roompanel.TabChat)
	time.Sleep(500 * time.Millisecond)
	save(t, "presenter-chat.png", capture(t))

	// Leave: the action log is saved and replays to the same state.
	want := roomstore.Summarize(w.room.St.State())
	logPath := filepath.Join(t.TempDir(), "room.log")
	if err := w.room.SaveLog(logPath); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := roomstore.Replay(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := fmt.Sprint(want), fmt.Sprint(roomstore.Summarize(got)); a != b {
		t.Fatalf("replay of %d actions differs:\nlive   %s\nreplay %s", n, a, b)
	}
	t.Logf("replayed %d actions to the same state (%d hands)", n, len(want.Queue))
	w.Store.Dispatch(store.ShowPanel{Panel: store.PanelChat})
	w.Store.Dispatch(store.LeaveRequested{})
	waitFor(t, "leaving", 10*time.Second, func() bool { return w.Store.State().Screen != store.ScreenCall })
	waitFor(t, "the hand button down after leaving", 5*time.Second, func() bool { return !w.Store.State().HandRaised })
}
