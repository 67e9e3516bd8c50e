// Package roompanel holds the call screen's room panels: the hand-raise
// queue (presenters: a virtualized list with dismiss and spotlight;
// attendees: their own place), chat, Q&A and polls. Each panel renders a
// roomstore.State and calls back with the user's intents; it keeps no
// room state of its own. It needs no window system, so its tests run in
// Fyne's test driver.
package roompanel

import (
	"fmt"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/roomstore"
)

// Callbacks are the user's intents (the glue sends them to the server).
type Callbacks struct {
	ToggleHand      func()
	Dismiss         func(id string)
	Spotlight       func(id string, on bool)
	LowerAll        func()
	SendChat        func(text string)
	RetryChat       func(clientMsgID string)
	Ask             func(text string)
	Upvote, Answer  func(id int)
	DismissQuestion func(id int)
	SetQAOpen       func(open bool)
	CreatePoll      func(question string, options []string)
	Vote            func(poll, option int)
	ClosePoll       func(poll int)
	SetWebinar      func(on bool)
}

// fill sets the missing callbacks to no-ops.
func (c *Callbacks) fill() {
	if c.ToggleHand == nil {
		c.ToggleHand = func() {}
	}
	if c.Dismiss == nil {
		c.Dismiss = func(string) {}
	}
	if c.Spotlight == nil {
		c.Spotlight = func(string, bool) {}
	}
	if c.LowerAll == nil {
		c.LowerAll = func() {}
	}
	if c.SendChat == nil {
		c.SendChat = func(string) {}
	}
	if c.RetryChat == nil {
		c.RetryChat = func(string) {}
	}
	if c.Ask == nil {
		c.Ask = func(string) {}
	}
	for _, f := range []*func(int){&c.Upvote, &c.Answer, &c.DismissQuestion, &c.ClosePoll} {
		if *f == nil {
			*f = func(int) {}
		}
	}
	if c.SetQAOpen == nil {
		c.SetQAOpen = func(bool) {}
	}
	if c.CreatePoll == nil {
		c.CreatePoll = func(string, []string) {}
	}
	if c.Vote == nil {
		c.Vote = func(int, int) {}
	}
	if c.SetWebinar == nil {
		c.SetWebinar = func(bool) {}
	}
}

// Queue is the hands panel. Presenters get the whole queue in a
// widget.List, which builds row widgets only for the rows on screen and
// reuses them while scrolling; attendees get their own place and count.
type Queue struct {
	Obj fyne.CanvasObject
	// List is the presenter's queue list.
	List *widget.List
	// RowsCreated counts the row widgets the list has built.
	RowsCreated atomic.Int64

	cb        *Callbacks
	rows      []roomstore.QueueRow
	offsetMs  int64
	now       time.Time
	presenter bool
	stack     *fyne.Container

	header, empty  *widget.Label
	lowerAll, mode *widget.Button
	presenterView  fyne.CanvasObject

	place, detail *widget.Label
	hand          *widget.Button
	attendeeView  fyne.CanvasObject
	webinar       bool
}

// queueRow is one row's widgets: position, name, waiting time, dismiss
// and spotlight.
type queueRow struct {
	pos, name, wait *widget.Label
	dismiss, spot   *widget.Button
	obj             fyne.CanvasObject
}

func newQueue(cb *Callbacks) *Queue {
	q := &Queue{cb: cb}
	q.header = widget.NewLabelWithStyle("Raised hands", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	q.lowerAll = widget.NewButtonWithIcon("Lower all", theme.ContentClearIcon(), func() { q.cb.LowerAll() })
	q.lowerAll.Importance = widget.WarningImportance
	q.mode = widget.NewButton("Webinar mode", func() { q.cb.SetWebinar(!q.webinar) })
	q.mode.Importance = widget.LowImportance
	q.empty = widget.NewLabel("No hands raised. Attendees' hands appear here in the order they were raised.")
	q.empty.Wrapping = fyne.TextWrapWord
	q.empty.Importance = widget.LowImportance
	q.List = widget.NewList(func() int { return len(q.rows) }, q.createRow, q.updateRow)
	q.presenterView = container.NewBorder(
		container.NewVBox(container.NewHBox(q.header, layout.NewSpacer(), q.lowerAll), q.mode),
		nil, nil, nil, container.NewStack(q.List, container.NewVBox(q.empty)))

	q.place = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	q.place.Wrapping = fyne.TextWrapWord
	q.detail = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	q.detail.Wrapping = fyne.TextWrapWord
	q.hand = widget.NewButtonWithIcon("Raise hand", theme.AccountIcon(), func() { q.cb.ToggleHand() })
	q.attendeeView = container.NewVBox(widget.NewLabelWithStyle("Raise your hand", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		q.place, q.detail, container.NewCenter(q.hand))
	q.stack = container.NewStack(q.attendeeView)
	q.Obj = q.stack
	return q
}

func (q *Queue) createRow() fyne.CanvasObject {
	q.RowsCreated.Add(1)
	r := &queueRow{pos: widget.NewLabel("9999."), name: widget.NewLabel(""), wait: widget.NewLabel("")}
	r.pos.Alignment = fyne.TextAlignTrailing
	r.pos.TextStyle.Monospace = true
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.wait.Importance = widget.LowImportance
	r.wait.TextStyle.Monospace = true
	r.dismiss = widget.NewButtonWithIcon("", theme.CancelIcon(), nil)
	r.dismiss.Importance = widget.LowImportance
	r.spot = widget.NewButtonWithIcon("Stage", theme.MediaVideoIcon(), nil)
	r.spot.Importance = widget.MediumImportance
	right := container.NewHBox(r.wait, r.spot, r.dismiss)
	r.obj = &rowBox{BaseWidget: widget.BaseWidget{}, row: r, content: container.NewBorder(nil, nil, container.New(&minWidth{w: 46}, r.pos), right, r.name)}
	r.obj.(*rowBox).ExtendBaseWidget(r.obj.(*rowBox))
	return r.obj
}

func (q *Queue) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i < 0 || i >= len(q.rows) {
		return
	}
	r := o.(*rowBox).row
	row := q.rows[i]
	r.pos.SetText(fmt.Sprintf("%d.", row.Position))
	name := row.Name
	if row.Pending {
		name += " (raising…)"
	}
	r.name.SetText(name)
	r.wait.SetText(Waited(q.now, row.TimeMs-q.offsetMs))
	id := row.ID
	r.dismiss.OnTapped = func() { q.cb.Dismiss(id) }
	r.spot.OnTapped = func() { q.cb.Spotlight(id, true) }
}

// Waited formats how long ago a hand went up (its time on this
// machine's clock, ms).
func Waited(now time.Time, atMs int64) string {
	d := max(now.Sub(time.UnixMilli(atMs)), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// Render shows s at time now.
func (q *Queue) Render(s roomstore.State, now time.Time) {
	if s.Presenter() != q.presenter || len(q.stack.Objects) == 0 {
		q.presenter = s.Presenter()
		view := q.attendeeView
		if q.presenter {
			view = q.presenterView
		}
		q.stack.Objects = []fyne.CanvasObject{view}
		q.stack.Refresh()
	}
	if q.presenter {
		q.rows, q.offsetMs, q.now = roomstore.Queue(s), s.OffsetMs, now
		q.header.SetText(fmt.Sprintf("Raised hands (%d)", len(q.rows)))
		if len(q.rows) == 0 {
			q.empty.Show()
			q.lowerAll.Disable()
		} else {
			q.empty.Hide()
			q.lowerAll.Enable()
		}
		q.webinar = s.Mode == "webinar"
		mode := "Meeting · make it a webinar"
		if q.webinar {
			mode = "Webinar · make it a meeting"
		}
		if q.mode.Text != mode {
			q.mode.SetText(mode)
		}
		q.List.Refresh() // updates only the visible rows
		return
	}
	h := roomstore.SelfHand(s)
	switch {
	case h.Raised && h.Position > 0:
		q.place.SetText(fmt.Sprintf("You are %s of %d", roomstore.Ordinal(h.Position), h.Count))
	case h.Raised:
		q.place.SetText("Your hand is raised")
	default:
		q.place.SetText("Your hand is down")
	}
	switch {
	case h.Pending:
		q.detail.SetText("Telling the presenters…")
	case h.Count == 1 && !h.Raised:
		q.detail.SetText("1 hand is raised")
	case !h.Raised:
		q.detail.SetText(fmt.Sprintf("%d hands are raised", h.Count))
	default:
		q.detail.SetText("The presenters see the hands in the order they went up.")
	}
	text, imp := "Raise hand", widget.HighImportance
	if h.Raised {
		text, imp = "Lower hand", widget.WarningImportance
	}
	if q.hand.Text != text {
		q.hand.Text, q.hand.Importance = text, imp
		q.hand.Refresh()
	}
}

// rowBox is a row's widget (it carries its parts for updateRow).
type rowBox struct {
	widget.BaseWidget
	row     *queueRow
	content fyne.CanvasObject
}

func (b *rowBox) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(b.content) }

// minWidth lays its children out at least w wide.
type minWidth struct{ w float32 }

func (m *minWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := fyne.NewSize(m.w, 0)
	for _, o := range objs {
		ms := o.MinSize()
		s = s.Max(fyne.NewSize(m.w, ms.Height))
	}
	return s
}

func (m *minWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}
