package roompanel

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/roomstore"
)

func bigQueue(n int) roomstore.State {
	var q []protocol.HandEntry
	for i := range n {
		q = append(q, protocol.HandEntry{ID: fmt.Sprintf("att-%05d", i), Name: fmt.Sprintf("Attendee %d", i+1), TimeMs: int64(1_000_000 + i), Raised: true})
	}
	return roomstore.Reduce(roomstore.State{}, roomstore.Joined{SelfID: "host", SelfName: "Hana", Role: protocol.RoleHost,
		Room: roomstore.Snapshot{Mode: protocol.ModeWebinar, Queue: q, Count: n}})
}

// visibleRows returns the queue rows on screen, top to bottom, as "pos name".
func visibleRows(q *Queue) []string {
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if r, ok := o.(*rowBox); ok {
			if r.Visible() && r.Position().Y+r.Size().Height >= 0 {
				out = append(out, r.row.pos.Text+" "+r.row.name.Text)
			}
			return
		}
		if c, ok := o.(*fyne.Container); ok {
			for _, x := range c.Objects {
				walk(x)
			}
			return
		}
		if w, ok := o.(fyne.Widget); ok {
			for _, x := range test.WidgetRenderer(w).Objects() {
				walk(x)
			}
		}
	}
	walk(q.List)
	return out
}

func TestQueuePanel5000HandsIsVirtualized(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	p := New(Callbacks{})
	w := test.NewWindow(p.Obj)
	defer w.Close()
	w.Resize(fyne.NewSize(330, 720))
	s := bigQueue(5000)
	start := time.Now()
	p.Render(s, time.UnixMilli(1_000_000+5000+90_000))
	first := time.Since(start)
	if got := p.Queue.List.Length(); got != 5000 {
		t.Fatalf("list length %d, want 5000", got)
	}
	created := p.Queue.RowsCreated.Load()
	t.Logf("first render of 5,000 hands: %v, %d row widgets", first, created)
	if created == 0 || created >= 60 {
		t.Fatalf("%d row widgets built for 5,000 hands: want a few screens' worth (< 60)", created)
	}
	if rows := visibleRows(p.Queue); len(rows) == 0 || !strings.HasPrefix(rows[0], "1. Attendee 1") {
		t.Fatalf("top rows: %v", rows)
	}
	// Scroll through the whole queue in steps, then to the end.
	for off := float32(0); off < 5000*40; off += 2000 {
		p.Queue.List.ScrollToOffset(off)
	}
	p.Queue.List.ScrollToBottom()
	// Live updates while scrolled: a new hand at the end, re-render.
	s = roomstore.Reduce(s, roomstore.Delta{Seq: 9, Mode: protocol.ModeWebinar, Count: 5001,
		Raised: []protocol.HandEntry{{ID: "zz-late", Name: "Late Larry", TimeMs: 9_000_000}}})
	p.Render(s, time.UnixMilli(9_000_500))
	p.Queue.List.ScrollToBottom()
	created = p.Queue.RowsCreated.Load()
	rows := visibleRows(p.Queue)
	t.Logf("after scrolling to the end: %d row widgets in all; last visible %q", created, rows[len(rows)-1])
	if created >= 60 {
		t.Fatalf("%d row widgets after scrolling 5,001 hands: rows are not reused", created)
	}
	found := false
	for _, r := range rows {
		if r == "5001. Late Larry" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the last hand is not on screen after scrolling to the end: %v", rows)
	}
}

func TestQueuePanelRowActionsAndLowerAll(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	var dismissed, spot []string
	lowered := 0
	p := New(Callbacks{Dismiss: func(id string) { dismissed = append(dismissed, id) }, Spotlight: func(id string, on bool) { spot = append(spot, id) },
		LowerAll: func() { lowered++ }})
	w := test.NewWindow(p.Obj)
	defer w.Close()
	w.Resize(fyne.NewSize(330, 600))
	p.Render(bigQueue(3), time.UnixMilli(1_000_000+65_000))
	var row *rowBox
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if r, ok := o.(*rowBox); ok && r.row.pos.Text == "2." {
			row = r
		}
		if c, ok := o.(*fyne.Container); ok {
			for _, x := range c.Objects {
				walk(x)
			}
		} else if wd, ok := o.(fyne.Widget); ok {
			if _, isRow := o.(*rowBox); !isRow {
				for _, x := range test.WidgetRenderer(wd).Objects() {
					walk(x)
				}
			}
		}
	}
	walk(p.Queue.List)
	if row == nil {
		t.Fatal("row 2 not found")
	}
	if row.row.wait.Text != "1m04s" {
		t.Errorf("waiting time %q, want 1m04s", row.row.wait.Text)
	}
	test.Tap(row.row.dismiss)
	test.Tap(row.row.spot)
	test.Tap(p.Queue.lowerAll)
	if len(dismissed) != 1 || dismissed[0] != "att-00001" || len(spot) != 1 || spot[0] != "att-00001" || lowered != 1 {
		t.Fatalf("dismiss %v spotlight %v lower-all %d", dismissed, spot, lowered)
	}
}

func TestQueuePanelAttendeeSeesOwnPlace(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	raised := 0
	p := New(Callbacks{ToggleHand: func() { raised++ }})
	w := test.NewWindow(p.Obj)
	defer w.Close()
	w.Resize(fyne.NewSize(330, 600))
	s := roomstore.Reduce(roomstore.State{}, roomstore.Joined{SelfID: "me", Role: protocol.RoleAttendee, Room: roomstore.Snapshot{Count: 11}})
	p.Render(s, time.Now())
	if p.Queue.place.Text != "Your hand is down" || p.Queue.detail.Text != "11 hands are raised" {
		t.Fatalf("down: %q / %q", p.Queue.place.Text, p.Queue.detail.Text)
	}
	test.Tap(p.Queue.hand)
	s = roomstore.Reduce(s, roomstore.Requested{Op: roomstore.Op{Req: "r", Kind: roomstore.KindRaise, ClickMs: 1}})
	p.Render(s, time.Now())
	if p.Queue.place.Text != "Your hand is raised" || p.Queue.hand.Text != "Lower hand" {
		t.Fatalf("in flight: %q %q", p.Queue.place.Text, p.Queue.hand.Text)
	}
	s = roomstore.Reduce(s, roomstore.Acked{Req: "r", Ack: protocol.AckBody{Applied: true, Position: 3, Count: 12}})
	p.Render(s, time.Now())
	if p.Queue.place.Text != "You are 3rd of 12" || raised != 1 {
		t.Fatalf("acked: %q (taps %d)", p.Queue.place.Text, raised)
	}
}

func TestPanelsChatQAPollsRender(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	var sent []string
	var votes [][2]int
	p := New(Callbacks{SendChat: func(t string) { sent = append(sent, t) }, Vote: func(poll, o int) { votes = append(votes, [2]int{poll, o}) }})
	w := test.NewWindow(p.Obj)
	defer w.Close()
	w.Resize(fyne.NewSize(330, 600))
	s := roomstore.Reduce(roomstore.State{}, roomstore.Joined{SelfID: "me", SelfName: "Me", Role: protocol.RoleAttendee, Room: roomstore.Snapshot{
		QAOpen: true, Chat: []protocol.ChatMessage{{Seq: 1, From: "a", Name: "Ada", Text: "welcome"}},
		Questions: []protocol.Question{{ID: 1, From: "b", Name: "Bo", Text: "first?", Votes: 1}, {ID: 2, From: "c", Name: "Cy", Text: "popular?", Votes: 5}},
		Polls:     []protocol.Poll{{ID: 1, Question: "Lunch?", Options: []string{"Pizza", "Salad"}, Open: true}}}})
	p.Render(s, time.Now())
	p.Select(TabChat)
	test.Type(p.Chat.Entry, "hello all")
	p.Chat.Entry.OnSubmitted(p.Chat.Entry.Text)
	if len(sent) != 1 || sent[0] != "hello all" || p.Chat.Entry.Text != "" {
		t.Fatalf("chat send: %v", sent)
	}
	if len(p.Chat.List.Objects) != 1 {
		t.Fatalf("chat history rows: %d", len(p.Chat.List.Objects))
	}
	if len(p.QA.List.Objects) != 2 {
		t.Fatalf("questions: %d", len(p.QA.List.Objects))
	}
	// Most votes first.
	first := p.QA.List.Objects[0].(*fyne.Container).Objects[0].(*widget.Label).Text
	if first != "popular?" {
		t.Fatalf("first question %q", first)
	}
	var vote *widget.Button
	for _, o := range p.Polls.List.Objects[0].(*fyne.Container).Objects {
		if b, ok := o.(*widget.Button); ok && b.Text == "Salad" {
			vote = b
		}
	}
	if vote == nil {
		t.Fatal("no Salad button")
	}
	test.Tap(vote)
	if len(votes) != 1 || votes[0] != [2]int{1, 1} {
		t.Fatalf("votes %v", votes)
	}
}
