package ui

import (
	"fmt"
	"image/color"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/frames"
	"github.com/podiumhq/podium/ui/session"
	"github.com/podiumhq/podium/ui/store"
)

// callScreen: the remote tiles in an adaptive grid, the self-view in the
// corner, a side panel (chat, participants, settings) and the controls.
type callScreen struct {
	obj                                   fyne.CanvasObject
	grid                                  *fyne.Container
	tiles                                 map[string]*tile
	self                                  *tile
	waiting                               *fyne.Container
	title, count                          *widget.Label
	invite                                *widget.Button
	mic, cam, share, hand, chat, people   *widget.Button
	settings, leave, statsBtn             *widget.Button
	stats                                 *statsPanel
	more                                  *moreTile
	side, sideBox                         *fyne.Container
	chatPanel, peoplePanel, settingsPanel fyne.CanvasObject
	peopleList                            *fyne.Container
	form                                  *deviceForm
	lastInvite                            string
	// The stage: a shared screen shown large above the tile strip.
	screenTile *tile
	stageL     *stageLayout
	gridL      *gridLayout
	center     *fyne.Container
	screenFrom string // whose screen the stage shows ("" none)
}

func newCallScreen(ch Choices, clip func(string), get func() store.State, dispatch func(store.Action), pickBackground func()) *callScreen {
	c := &callScreen{tiles: map[string]*tile{}}
	c.self = newTile(session.SelfID)
	c.more = newMoreTile(func() { dispatch(store.ShowPanel{Panel: store.PanelParticipants}) })
	c.gridL = &gridLayout{pad: 8}
	c.grid = container.New(c.gridL)
	c.screenTile = newTile("screen")
	c.screenTile.obj.Hide()
	c.stageL = &stageLayout{frac: 0.74, pad: 8}
	c.center = container.New(c.stageL, c.screenTile.obj, c.grid)
	waitLabel := widget.NewLabelWithStyle("Waiting for others to join… share the invite link.", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	c.waiting = container.NewCenter(waitLabel)
	stage := container.NewStack(c.center, container.NewVBox(c.waiting))

	c.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.count = widget.NewLabel("")
	c.invite = widget.NewButtonWithIcon("Copy invite link", theme.ContentCopyIcon(), func() {
		clip(c.lastInvite)
		dispatch(store.Notify{Text: "Invite link copied to the clipboard"})
	})
	top := container.NewHBox(c.title, c.count, layout.NewSpacer(), c.invite)

	btn := func(label string, icon fyne.Resource, a store.Action) *widget.Button {
		return widget.NewButtonWithIcon(label, icon, func() { dispatch(a) })
	}
	c.mic = btn("Mute", theme.VolumeUpIcon(), store.ToggleMic{})
	c.cam = btn("Stop video", theme.MediaVideoIcon(), store.ToggleCamera{})
	c.share = btn("Share screen", theme.ComputerIcon(), store.ToggleScreenShare{})
	c.hand = btn("Raise hand", theme.AccountIcon(), store.ToggleHand{})
	c.chat = btn("Chat", theme.MailComposeIcon(), store.ShowPanel{Panel: store.PanelChat})
	c.people = btn("Participants", theme.ListIcon(), store.ShowPanel{Panel: store.PanelParticipants})
	c.statsBtn = btn("Stats", theme.InfoIcon(), store.ShowPanel{Panel: store.PanelStats})
	c.stats = newStatsPanel()
	c.settings = btn("Settings", theme.SettingsIcon(), store.ShowPanel{Panel: store.PanelSettings})
	c.leave = btn("Leave", theme.LogoutIcon(), store.LeaveRequested{})
	c.leave.Importance = widget.DangerImportance
	controls := container.NewHBox(layout.NewSpacer(), c.mic, c.cam, c.share, c.hand, widget.NewSeparator(),
		c.chat, c.people, c.statsBtn, c.settings, widget.NewSeparator(), c.leave, layout.NewSpacer())

	chatNote := widget.NewLabel("Chat is not available yet: the signaling protocol has no chat message. It will appear here once it does.")
	chatNote.Wrapping = fyne.TextWrapWord
	chatEntry := widget.NewEntry()
	chatEntry.SetPlaceHolder("Message everyone")
	chatEntry.Disable()
	c.chatPanel = container.NewBorder(widget.NewLabelWithStyle("Chat", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), chatEntry, nil, nil, chatNote)
	c.peopleList = container.NewVBox()
	c.peoplePanel = container.NewBorder(widget.NewLabelWithStyle("Participants", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil,
		container.NewVScroll(c.peopleList))
	c.form = newDeviceForm(ch, get, dispatch, pickBackground)
	shortcuts := widget.NewLabel("")
	for _, s := range Shortcuts {
		shortcuts.SetText(shortcuts.Text + s.Label + "\n")
	}
	shortcuts.Importance = widget.LowImportance
	c.settingsPanel = container.NewVScroll(container.NewVBox(widget.NewLabelWithStyle("Settings", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		c.form.obj, widget.NewLabelWithStyle("Keyboard shortcuts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), shortcuts))
	c.side = container.NewStack()
	c.sideBox = container.New(&widthLayout{w: 330}, container.NewPadded(c.side))
	c.sideBox.Hide()
	c.obj = container.NewBorder(container.NewPadded(top), container.NewPadded(controls), nil, c.sideBox, stage)
	return c
}

func (c *callScreen) render(s store.State, fr *frames.Store) {
	c.title.SetText(s.Settings.Room)
	c.count.SetText(fmt.Sprintf("· %d in the call", len(s.Remotes)+1))
	c.lastInvite = s.Invite
	if s.Hosting && s.Invite != "" {
		c.invite.Show()
	} else {
		c.invite.Hide()
	}
	// Tiles follow the roster in joining order, up to the tile limit; the
	// rest are summed up in one "+N more" tile (the controller asks the
	// server for none of their video).
	ids, hidden := store.ShownRemotes(s)
	seen := map[string]bool{}
	objs := make([]fyne.CanvasObject, 0, len(ids)+2)
	for _, id := range ids {
		seen[id] = true
		t := c.tiles[id]
		if t == nil {
			t = newTile(id)
			c.tiles[id] = t
		}
		objs = append(objs, t.obj)
		r, _ := s.Remote(id)
		t.render(tileInfo{Name: r.Name, Muted: r.Muted, LevelDB: r.LevelDB, Quality: r.Quality, ShowQ: true,
			QualityReason: r.QualityReason, VideoOff: store.VideoOffText(r),
			HasVideo: r.HasVideo, Hand: r.Hand, Speaking: s.ActiveSpeaker == id})
	}
	for id := range c.tiles {
		if !seen[id] {
			delete(c.tiles, id)
		}
	}
	if len(hidden) > 0 {
		c.more.render(s, hidden)
		objs = append(objs, c.more.obj)
	}
	objs = append(objs, c.self.obj) // the self-view is the last tile
	if !slices.Equal(objs, c.grid.Objects) {
		c.grid.Objects = objs
		c.grid.Refresh()
	}
	c.renderStage(s)
	if len(ids) == 0 && s.ScreenFrom == "" {
		c.waiting.Show()
	} else {
		c.waiting.Hide()
	}
	selfInfo := tileInfo{Name: s.Settings.Name + " (you)", Muted: s.MicMuted, LevelDB: s.MicLevelDB,
		HasVideo: !s.CameraOff, Hand: s.HandRaised, Badge: s.Sending.Label()}
	if s.CameraOff {
		selfInfo.Badge, selfInfo.VideoOff = "", "Camera off"
	}
	c.self.render(selfInfo)

	toggle := func(b *widget.Button, on bool, onText, offText string, onIcon, offIcon fyne.Resource) {
		text, icon, imp := offText, offIcon, widget.MediumImportance
		if on {
			text, icon, imp = onText, onIcon, widget.WarningImportance
		}
		if b.Text != text || b.Importance != imp {
			b.Text, b.Icon, b.Importance = text, icon, imp
			b.Refresh()
		}
	}
	toggle(c.mic, s.MicMuted, "Unmute", "Mute", theme.VolumeMuteIcon(), theme.VolumeUpIcon())
	toggle(c.cam, s.CameraOff, "Start video", "Stop video", theme.VisibilityOffIcon(), theme.MediaVideoIcon())
	toggle(c.hand, s.HandRaised, "Lower hand", "Raise hand", theme.AccountIcon(), theme.AccountIcon())
	toggle(c.share, s.ScreenShare, "Stop sharing", "Share screen", theme.CancelIcon(), theme.ComputerIcon())

	var panel fyne.CanvasObject
	switch s.Panel {
	case store.PanelChat:
		panel = c.chatPanel
	case store.PanelParticipants:
		panel = c.peoplePanel
		c.renderPeople(s)
	case store.PanelSettings:
		panel = c.settingsPanel
		c.form.render(s)
	case store.PanelStats:
		panel = c.stats.obj
		c.stats.render(s)
	}
	if panel == nil {
		if len(c.side.Objects) > 0 {
			c.side.Objects = nil
			c.side.Refresh()
			c.sideBox.Hide()
		}
	} else if len(c.side.Objects) == 0 || c.side.Objects[0] != panel {
		c.side.Objects = []fyne.CanvasObject{panel}
		c.sideBox.Show()
		c.side.Refresh()
	}
}

func (c *callScreen) renderPeople(s store.State) {
	line := func(name, detail string, muted bool) fyne.CanvasObject {
		icon := theme.VolumeUpIcon()
		if muted {
			icon = theme.VolumeMuteIcon()
		}
		d := widget.NewLabel(detail)
		d.Importance = widget.LowImportance
		d.Truncation = fyne.TextTruncateEllipsis
		head := container.NewHBox(widget.NewIcon(icon), widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		if detail == "" {
			return head
		}
		return container.NewVBox(head, d)
	}
	objs := []fyne.CanvasObject{line(s.Settings.Name+" (you)", "", s.MicMuted)}
	for _, id := range store.SortedRemoteIDs(s) {
		r, _ := s.Remote(id)
		objs = append(objs, line(r.Name, r.Role+" · "+qualityText(r), r.Muted))
	}
	c.peopleList.Objects = objs
	c.peopleList.Refresh()
}

// refreshVideo swaps in the newest frames; called once per video tick
// on the UI thread.
func (c *callScreen) refreshVideo(fr *frames.Store) bool {
	any := false
	for id, t := range c.tiles {
		if img, fresh := fr.Take(id); fresh {
			t.img.Image = img
			t.img.Refresh()
			any = true
		}
	}
	if img, fresh := fr.Take(session.SelfID); fresh {
		c.self.img.Image = img
		c.self.img.Refresh()
	}
	if c.screenFrom != "" {
		if img, fresh := fr.Take(session.ScreenKey(c.screenFrom)); fresh {
			c.screenTile.img.Image = img
			c.screenTile.img.Refresh()
			any = true
		}
	}
	return any
}

// renderStage shows the shared screen large with the tiles in a strip
// below it, or the plain grid when nobody shares.
func (c *callScreen) renderStage(s store.State) {
	from := s.ScreenFrom
	if from != "" {
		name := "Your screen (everyone sees it)"
		if from != store.SelfID {
			name = "Screen shared by " + from
			if r, ok := s.Remote(from); ok {
				name = r.Name + "’s screen"
			}
		}
		c.screenTile.render(tileInfo{Name: name, HasVideo: true, LevelDB: -127})
	}
	if from == c.screenFrom {
		return
	}
	c.screenFrom = from
	c.screenTile.img.Image = nil
	c.screenTile.img.Refresh()
	on := from != ""
	c.stageL.on, c.gridL.strip = on, on
	if on {
		c.screenTile.obj.Show()
	} else {
		c.screenTile.obj.Hide()
	}
	c.center.Refresh()
	c.grid.Refresh()
}

// stageLayout: with on, the first object (the shared screen) takes frac
// of the height and the second (the tile strip) the rest; otherwise the
// second fills everything.
type stageLayout struct {
	frac, pad float32
	on        bool
}

func (l *stageLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(160, 120) }
func (l *stageLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if !l.on {
		objs[1].Move(fyne.NewPos(0, 0))
		objs[1].Resize(size)
		return
	}
	h := (size.Height - l.pad) * l.frac
	objs[0].Move(fyne.NewPos(l.pad, 0))
	objs[0].Resize(fyne.NewSize(size.Width-2*l.pad, h))
	objs[1].Move(fyne.NewPos(0, h+l.pad))
	objs[1].Resize(fyne.NewSize(size.Width, size.Height-h-l.pad))
}

// widthLayout gives its children width w and the full height.
type widthLayout struct{ w float32 }

func (l *widthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(l.w, h)
}

func (l *widthLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

// moreTile stands for the remotes beyond the tile limit: "+N more" and
// their names; tapping it opens the participants panel.
type moreTile struct {
	obj   fyne.CanvasObject
	count *canvas.Text
	names *canvas.Text
}

func newMoreTile(open func()) *moreTile {
	m := &moreTile{count: canvas.NewText("", color.White), names: canvas.NewText("", color.NRGBA{0xd8, 0xdc, 0xe4, 0xff})}
	m.count.TextSize, m.count.TextStyle.Bold, m.count.Alignment = 30, true, fyne.TextAlignCenter
	m.names.TextSize, m.names.Alignment = 13, fyne.TextAlignCenter
	bg := canvas.NewRectangle(tileBG)
	bg.CornerRadius = 6
	btn := widget.NewButton("", open)
	btn.Importance = widget.LowImportance
	m.obj = container.NewStack(bg, btn, container.NewCenter(container.NewVBox(m.count, m.names)))
	return m
}

func (m *moreTile) render(s store.State, hidden []string) {
	names := make([]string, 0, 3)
	for _, id := range hidden {
		if len(names) == 3 {
			names = append(names, "…")
			break
		}
		r, _ := s.Remote(id)
		names = append(names, r.Name)
	}
	count, list := fmt.Sprintf("+%d more", len(hidden)), strings.Join(names, ", ")
	if m.count.Text != count || m.names.Text != list {
		m.count.Text, m.names.Text = count, list
		m.count.Refresh()
		m.names.Refresh()
	}
}
