package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/store"
)

// startScreen: join by server, room and name or by a pasted invite, or
// host on this computer.
type startScreen struct {
	obj                      fyne.CanvasObject
	server, room, name, link *widget.Entry
	linkErr, errLabel        *widget.Label
	busy                     *fyne.Container
	busyText                 *widget.Label
	join, host               *widget.Button
	dispatch                 func(store.Action)
	get                      func() store.State
	updating                 bool
}

func newStartScreen(icon fyne.Resource, get func() store.State, dispatch func(store.Action)) *startScreen {
	s := &startScreen{dispatch: managedDispatch(get, dispatch), get: get}
	s.server, s.room, s.name, s.link = widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	s.server.SetPlaceHolder("ws://host:7880/ws")
	s.link.SetPlaceHolder("podium://join?server=…&token=…  or a token")
	edit := func(f func(*store.Settings, string)) func(string) {
		return func(v string) {
			if s.updating {
				return
			}
			st := s.get().Settings
			f(&st, v)
			s.dispatch(store.UpdateSettings{Settings: st})
		}
	}
	s.server.OnChanged = edit(func(st *store.Settings, v string) { st.Server = v })
	s.room.OnChanged = edit(func(st *store.Settings, v string) { st.Room = v })
	s.name.OnChanged = edit(func(st *store.Settings, v string) { st.Name = v })
	s.linkErr = widget.NewLabel("")
	s.linkErr.Importance = widget.DangerImportance
	s.link.OnChanged = func(v string) {
		if s.updating {
			return
		}
		if v == "" {
			s.linkErr.SetText("")
			s.dispatch(store.UseInvite{Server: s.get().Settings.Server})
			return
		}
		in, err := ParseInvite(v)
		if err != nil {
			s.linkErr.SetText(err.Error())
			return
		}
		s.linkErr.SetText("")
		if in.Server == "" {
			in.Server = s.get().Settings.Server
		}
		s.dispatch(store.UseInvite{Server: in.Server, Room: in.Room, Token: in.Token})
	}
	s.join = widget.NewButtonWithIcon("Continue to join", theme.LoginIcon(), func() {
		s.dispatch(store.Navigate{To: store.ScreenPreJoin})
	})
	s.join.Importance = widget.HighImportance
	s.host = widget.NewButtonWithIcon("Host on this computer", theme.ComputerIcon(), func() {
		s.dispatch(store.HostRequested{})
	})
	s.host.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem("Server", s.server),
		widget.NewFormItem("Room", s.room),
		widget.NewFormItem("Your name", s.name),
		widget.NewFormItem("Invite", s.link),
	)
	applyManagedStart(s, form)
	joinCard := widget.NewCard("Join a meeting", "Enter the server and room, or paste an invite link", container.NewVBox(form, s.linkErr, s.join))
	hostCard := widget.NewCard("Host a meeting", "Start a meeting server inside this app and invite others",
		container.NewVBox(widget.NewLabel("Others on this computer or network join with the invite link\nshown once the meeting starts."), s.host))
	s.errLabel = widget.NewLabel("")
	s.errLabel.Importance = widget.DangerImportance
	s.errLabel.Wrapping = fyne.TextWrapWord
	s.busyText = widget.NewLabel("")
	s.busy = container.NewVBox(widget.NewProgressBarInfinite(), s.busyText)
	logo := canvas.NewImageFromResource(icon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSize(56, 56))
	title := canvas.NewText("Podium", theme.Color(theme.ColorNameForeground))
	title.TextSize = 34
	title.TextStyle.Bold = true
	sub := canvas.NewText("Video meetings, hosted anywhere", color.NRGBA{0x9a, 0xa4, 0xb4, 0xff})
	sub.TextSize = 15
	head := container.NewHBox(logo, container.NewVBox(title, sub))
	cards := container.NewGridWithColumns(2, joinCard, hostCard)
	body := container.NewVBox(container.NewCenter(head), cards, s.errLabel, s.busy)
	s.obj = container.NewPadded(container.NewVBox(layout.NewSpacer(), container.New(&maxWidth{w: 980}, body), layout.NewSpacer()))
	return s
}

func setText(e *widget.Entry, v string) {
	if e.Text != v {
		e.SetText(v)
	}
}

func (s *startScreen) render(st store.State) {
	s.updating = true
	setText(s.server, st.Settings.Server)
	setText(s.room, st.Settings.Room)
	setText(s.name, st.Settings.Name)
	s.updating = false
	s.errLabel.SetText(st.Error)
	s.busyText.SetText(st.Busy)
	if st.Busy != "" {
		s.busy.Show()
		s.join.Disable()
		s.host.Disable()
	} else {
		s.busy.Hide()
		s.join.Enable()
		s.host.Enable()
	}
}

// maxWidth centres its children at most w wide.
type maxWidth struct{ w float32 }

func (m *maxWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

func (m *maxWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w := min(size.Width, m.w)
	for _, o := range objs {
		o.Resize(fyne.NewSize(w, size.Height))
		o.Move(fyne.NewPos((size.Width-w)/2, 0))
	}
}
