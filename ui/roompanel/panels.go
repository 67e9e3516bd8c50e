package roompanel

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/roomstore"
)

// Tab names (Panels.Select).
const (
	TabHands = "Hands"
	TabChat  = "Chat"
	TabQA    = "Q&A"
	TabPolls = "Polls"
)

// Panels are the four room panels in tabs.
type Panels struct {
	Obj   fyne.CanvasObject
	Tabs  *container.AppTabs
	Queue *Queue
	Chat  *Chat
	QA    *QA
	Polls *Polls
	tabs  map[string]*container.TabItem
}

// New builds the panels.
func New(cb Callbacks) *Panels {
	cb.fill()
	c := &cb
	p := &Panels{Queue: newQueue(c), Chat: newChat(c), QA: newQA(c), Polls: newPolls(c), tabs: map[string]*container.TabItem{}}
	add := func(name string, _ fyne.Resource, obj fyne.CanvasObject) *container.TabItem {
		t := container.NewTabItem(name, obj)
		p.tabs[name] = t
		return t
	}
	p.Tabs = container.NewAppTabs(add(TabHands, theme.AccountIcon(), p.Queue.Obj), add(TabChat, theme.MailComposeIcon(), p.Chat.Obj),
		add(TabQA, theme.QuestionIcon(), p.QA.Obj), add(TabPolls, theme.ListIcon(), p.Polls.Obj))
	p.Obj = p.Tabs
	return p
}

// Select shows a tab.
func (p *Panels) Select(name string) {
	if t := p.tabs[name]; t != nil && p.Tabs.Selected() != t {
		p.Tabs.Select(t)
	}
}

// Render shows s at time now.
func (p *Panels) Render(s roomstore.State, now time.Time) {
	p.Queue.Render(s, now)
	p.Chat.Render(s)
	p.QA.Render(s)
	p.Polls.Render(s)
	hands := TabHands
	if s.Presenter() {
		if n := len(roomstore.Queue(s)); n > 0 {
			hands = fmt.Sprintf("%s (%d)", TabHands, n)
		}
	}
	if t := p.tabs[TabHands]; t.Text != hands {
		t.Text = hands
		p.Tabs.Refresh()
	}
}

// Chat is the chat panel: history since before we joined, our messages
// in flight ("sending…") and failed ones (tap to retry: same client
// message ID, so the server never shows it twice).
type Chat struct {
	Obj   fyne.CanvasObject
	List  *fyne.Container
	Entry *widget.Entry
	scr   *container.Scroll
	cb    *Callbacks
	key   string
}

func newChat(cb *Callbacks) *Chat {
	c := &Chat{cb: cb, List: container.NewVBox()}
	c.Entry = widget.NewEntry()
	c.Entry.SetPlaceHolder("Message everyone")
	send := func() {
		t := strings.TrimSpace(c.Entry.Text)
		if t == "" {
			return
		}
		c.Entry.SetText("")
		c.cb.SendChat(t)
	}
	c.Entry.OnSubmitted = func(string) { send() }
	c.scr = container.NewVScroll(c.List)
	c.Obj = container.NewBorder(nil, container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("", theme.MailSendIcon(), send), c.Entry), nil, nil, c.scr)
	return c
}

// Render rebuilds the message list when it changed.
func (c *Chat) Render(s roomstore.State) {
	lines := roomstore.ChatView(s)
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%d/%s/%v/%v;", l.Seq, l.ClientMsgID, l.Sending, l.Failed)
	}
	if b.String() == c.key {
		return
	}
	c.key = b.String()
	objs := make([]fyne.CanvasObject, 0, len(lines)+1)
	if len(lines) == 0 {
		l := widget.NewLabel("No messages yet. Messages sent before you joined show here too.")
		l.Wrapping, l.Importance = fyne.TextWrapWord, widget.LowImportance
		objs = append(objs, l)
	}
	for _, l := range lines {
		name := l.Name
		if l.From == s.SelfID {
			name = "You"
		}
		when := time.UnixMilli(l.TimeMs - s.OffsetMs).Format("15:04")
		head := widget.NewLabelWithStyle(name+"  "+when, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		body := widget.NewLabel(l.Text)
		body.Wrapping = fyne.TextWrapWord
		row := []fyne.CanvasObject{head, body}
		switch {
		case l.Sending:
			n := widget.NewLabel("sending…")
			n.Importance = widget.LowImportance
			row = append(row, n)
		case l.Failed:
			id := l.ClientMsgID
			r := widget.NewButtonWithIcon("Not sent · retry", theme.ViewRefreshIcon(), func() { c.cb.RetryChat(id) })
			r.Importance = widget.DangerImportance
			row = append(row, container.NewHBox(r))
		}
		objs = append(objs, container.NewVBox(row...))
	}
	c.List.Objects = objs
	c.List.Refresh()
	c.scr.ScrollToBottom()
}

// QA is the Q&A panel.
type QA struct {
	Obj    fyne.CanvasObject
	List   *fyne.Container
	Entry  *widget.Entry
	toggle *widget.Button
	status *widget.Label
	cb     *Callbacks
	key    string
	open   bool
}

func newQA(cb *Callbacks) *QA {
	q := &QA{cb: cb, List: container.NewVBox()}
	q.Entry = widget.NewEntry()
	q.Entry.SetPlaceHolder("Ask the presenters a question")
	ask := func() {
		t := strings.TrimSpace(q.Entry.Text)
		if t == "" {
			return
		}
		q.Entry.SetText("")
		q.cb.Ask(t)
	}
	q.Entry.OnSubmitted = func(string) { ask() }
	q.toggle = widget.NewButton("Close Q&A", func() { q.cb.SetQAOpen(!q.open) })
	q.status = widget.NewLabel("")
	q.status.Importance = widget.LowImportance
	top := container.NewHBox(q.status, layout.NewSpacer(), q.toggle)
	q.Obj = container.NewBorder(top, container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("Ask", theme.QuestionIcon(), ask), q.Entry), nil, nil,
		container.NewVScroll(q.List))
	return q
}

// Render rebuilds the questions when they changed.
func (q *QA) Render(s roomstore.State) {
	q.open = s.QAOpen
	if s.Presenter() {
		q.toggle.Show()
		if s.QAOpen {
			q.toggle.SetText("Close Q&A")
		} else {
			q.toggle.SetText("Open Q&A")
		}
	} else {
		q.toggle.Hide()
	}
	if s.QAOpen {
		q.status.SetText("Q&A is open")
		q.Entry.Enable()
	} else {
		q.status.SetText("Q&A is closed")
		q.Entry.Disable()
	}
	rows := roomstore.Questions(s)
	key := fmt.Sprintf("%v/%v/%v", s.Presenter(), s.QAOpen, rows)
	if key == q.key {
		return
	}
	q.key = key
	objs := make([]fyne.CanvasObject, 0, len(rows)+1)
	if len(rows) == 0 {
		l := widget.NewLabel("No questions yet.")
		l.Importance = widget.LowImportance
		objs = append(objs, l)
	}
	for _, r := range rows {
		id := r.ID
		text := widget.NewLabel(r.Text)
		text.Wrapping = fyne.TextWrapWord
		who := r.Name
		if r.From == s.SelfID {
			who = "You"
		}
		if r.Answered {
			who += " · answered"
		}
		meta := widget.NewLabel(who)
		meta.Importance = widget.LowImportance
		up := widget.NewButtonWithIcon(fmt.Sprint(r.Votes), theme.MoveUpIcon(), func() { q.cb.Upvote(id) })
		if r.Upvoted || !s.QAOpen {
			up.Disable()
		}
		bar := container.NewHBox(up, meta, layout.NewSpacer())
		if s.Presenter() {
			if !r.Answered {
				a := widget.NewButtonWithIcon("", theme.ConfirmIcon(), func() { q.cb.Answer(id) })
				a.Importance = widget.LowImportance
				bar.Add(a)
			}
			d := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { q.cb.DismissQuestion(id) })
			d.Importance = widget.LowImportance
			bar.Add(d)
		}
		objs = append(objs, container.NewVBox(text, bar, widget.NewSeparator()))
	}
	q.List.Objects = objs
	q.List.Refresh()
}

// Polls is the polls panel.
type Polls struct {
	Obj               fyne.CanvasObject
	List              *fyne.Container
	Question, Options *widget.Entry
	create            fyne.CanvasObject
	cb                *Callbacks
	key               string
}

func newPolls(cb *Callbacks) *Polls {
	p := &Polls{cb: cb, List: container.NewVBox()}
	p.Question = widget.NewEntry()
	p.Question.SetPlaceHolder("Poll question")
	p.Options = widget.NewMultiLineEntry()
	p.Options.SetPlaceHolder("Options, one per line (2 to 10)")
	p.Options.SetMinRowsVisible(3)
	btn := widget.NewButtonWithIcon("Create poll", theme.ContentAddIcon(), func() {
		var opts []string
		for _, o := range strings.Split(p.Options.Text, "\n") {
			if o = strings.TrimSpace(o); o != "" {
				opts = append(opts, o)
			}
		}
		q := strings.TrimSpace(p.Question.Text)
		if q == "" || len(opts) < 2 {
			return
		}
		p.Question.SetText("")
		p.Options.SetText("")
		p.cb.CreatePoll(q, opts)
	})
	p.create = container.NewVBox(p.Question, p.Options, btn, widget.NewSeparator())
	p.Obj = container.NewBorder(p.create, nil, nil, nil, container.NewVScroll(p.List))
	return p
}

// Render rebuilds the polls when they changed.
func (p *Polls) Render(s roomstore.State) {
	if s.Presenter() {
		p.create.Show()
	} else {
		p.create.Hide()
	}
	rows := roomstore.Polls(s)
	key := fmt.Sprintf("%v/%v", s.Presenter(), rows)
	if key == p.key {
		return
	}
	p.key = key
	objs := make([]fyne.CanvasObject, 0, len(rows)+1)
	if len(rows) == 0 {
		l := widget.NewLabel("No polls yet.")
		l.Importance = widget.LowImportance
		objs = append(objs, l)
	}
	for _, r := range rows {
		id := r.ID
		state := "open"
		if !r.Open {
			state = "closed"
		}
		head := widget.NewLabelWithStyle(r.Question, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		head.Wrapping = fyne.TextWrapWord
		box := container.NewVBox(head)
		total := 0
		for _, c := range r.Counts {
			total += c
		}
		for i, o := range r.Options {
			i := i
			if len(r.Counts) == len(r.Options) {
				bar := widget.NewProgressBar()
				bar.Max = float64(max(total, 1))
				bar.Value = float64(r.Counts[i])
				cnt := r.Counts[i]
				bar.TextFormatter = func() string { return fmt.Sprintf("%d", cnt) }
				label := o
				if r.Voted == i {
					label += " ✓"
				}
				box.Add(container.NewBorder(nil, nil, nil, container.New(&minWidth{w: 120}, bar), widget.NewLabel(label)))
				continue
			}
			b := widget.NewButton(o, func() { p.cb.Vote(id, i) })
			if r.Voted == i {
				b.Importance = widget.HighImportance
			}
			if r.Voted >= 0 || !r.Open {
				b.Disable()
			}
			box.Add(b)
		}
		meta := widget.NewLabel(fmt.Sprintf("%d voted · %s", r.Voters, state))
		meta.Importance = widget.LowImportance
		bar := container.NewHBox(meta, layout.NewSpacer())
		if s.Presenter() && r.Open {
			bar.Add(widget.NewButtonWithIcon("Close", theme.CancelIcon(), func() { p.cb.ClosePoll(id) }))
		}
		box.Add(bar)
		box.Add(widget.NewSeparator())
		objs = append(objs, box)
	}
	p.List.Objects = objs
	p.List.Refresh()
}
