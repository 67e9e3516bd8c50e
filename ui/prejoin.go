package ui

import (
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/session"
	"github.com/podiumhq/podium/ui/store"
)

// preJoinScreen: live preview, devices, background, mic meter, join muted
// or with the camera off, and (when hosting) the invite link.
type preJoinScreen struct {
	obj             fyne.CanvasObject
	preview         *tile
	form            *deviceForm
	name            *widget.Entry
	muted, camOff   *widget.Check
	meter           *widget.ProgressBar
	invite          *widget.Entry
	inviteBox       *fyne.Container
	errLabel, title *widget.Label
	busy            *fyne.Container
	join            *widget.Button
	get             func() store.State
	updating        bool
}

func newPreJoinScreen(ch Choices, clip func(string), get func() store.State, dispatch func(store.Action), pickBackground func()) *preJoinScreen {
	p := &preJoinScreen{get: get}
	p.preview = newTile(session.SelfID)
	p.form = newDeviceForm(ch, get, dispatch, pickBackground)
	p.name = widget.NewEntry()
	p.name.OnChanged = func(v string) {
		if p.updating {
			return
		}
		st := get().Settings
		st.Name = v
		dispatch(store.UpdateSettings{Settings: st})
	}
	p.form.obj.Items = append([]*widget.FormItem{widget.NewFormItem("Your name", p.name)}, p.form.obj.Items...)
	p.muted = widget.NewCheck("Join with microphone muted", func(bool) {
		if !p.updating {
			dispatch(store.ToggleMic{})
		}
	})
	p.camOff = widget.NewCheck("Join with camera off", func(bool) {
		if !p.updating {
			dispatch(store.ToggleCamera{})
		}
	})
	p.meter = widget.NewProgressBar()
	p.meter.TextFormatter = func() string { return "" }
	p.invite = widget.NewEntry()
	copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { clip(p.invite.Text) })
	p.inviteBox = container.NewVBox(widget.NewLabelWithStyle("Invite others with this link", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, copyBtn, p.invite))
	p.join = widget.NewButtonWithIcon("Join now", theme.LoginIcon(), func() { dispatch(store.JoinRequested{}) })
	p.join.Importance = widget.HighImportance
	back := widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), func() { dispatch(store.Navigate{To: store.ScreenStart}) })
	p.errLabel = widget.NewLabel("")
	p.errLabel.Importance = widget.DangerImportance
	p.errLabel.Wrapping = fyne.TextWrapWord
	p.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.busy = container.NewVBox(widget.NewProgressBarInfinite())
	left := container.NewBorder(nil, container.NewBorder(nil, nil, widget.NewIcon(theme.VolumeUpIcon()), nil, p.meter), nil, nil,
		container.New(&aspectLayout{ratio: 4.0 / 3}, p.preview.obj))
	right := container.NewVBox(p.title, p.form.obj, p.muted, p.camOff, p.inviteBox, p.errLabel, p.busy,
		container.NewHBox(back, layout.NewSpacer(), p.join))
	p.obj = container.NewPadded(container.New(&splitLayout{frac: 0.56, pad: theme.Padding() * 4}, left, container.NewVScroll(right)))
	return p
}

func (p *preJoinScreen) render(s store.State) {
	p.updating = true
	setText(p.name, s.Settings.Name)
	p.muted.SetChecked(s.Settings.JoinMuted)
	p.camOff.SetChecked(s.Settings.JoinCameraOff)
	setText(p.invite, s.Invite)
	p.updating = false
	p.form.render(s)
	if s.Hosting {
		p.title.SetText("Ready to host “" + s.Settings.Room + "” on this computer")
		p.inviteBox.Show()
	} else {
		p.title.SetText("Ready to join “" + s.Settings.Room + "” at " + s.Settings.Server)
		p.inviteBox.Hide()
	}
	p.errLabel.SetText(s.Error)
	if s.Busy != "" {
		p.busy.Show()
		p.join.Disable()
	} else {
		p.busy.Hide()
		p.join.Enable()
	}
	lv := (s.MicLevelDB + 60) / 60
	if s.Settings.JoinMuted {
		lv = 0
	}
	p.meter.SetValue(math.Max(0, math.Min(1, lv)))
	p.preview.render(tileInfo{Name: s.Settings.Name + " (you)", Muted: s.Settings.JoinMuted, LevelDB: s.MicLevelDB,
		HasVideo: !s.Settings.JoinCameraOff})
}

// aspectLayout keeps a ratio (w/h), centred.
type aspectLayout struct{ ratio float32 }

func (a *aspectLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(320, 240) }
func (a *aspectLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w, h := size.Width, size.Width/a.ratio
	if h > size.Height {
		h, w = size.Height, size.Height*a.ratio
	}
	for _, o := range objs {
		o.Resize(fyne.NewSize(w, h))
		o.Move(fyne.NewPos((size.Width-w)/2, (size.Height-h)/2))
	}
}

// splitLayout puts two objects side by side, the first frac of the width.
type splitLayout struct{ frac, pad float32 }

func (s *splitLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(objs[0].MinSize().Width+objs[1].MinSize().Width+s.pad, max(objs[0].MinSize().Height, objs[1].MinSize().Height))
}
func (s *splitLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w0 := (size.Width - s.pad) * s.frac
	objs[0].Resize(fyne.NewSize(w0, size.Height))
	objs[0].Move(fyne.NewPos(0, 0))
	objs[1].Resize(fyne.NewSize(size.Width-w0-s.pad, size.Height))
	objs[1].Move(fyne.NewPos(w0+s.pad, 0))
}

// silence "unused" for canvas in builds without previews.
var _ = canvas.NewRectangle
