// Package ui is Podium's desktop window: one file per screen (start,
// pre-join, call), built by constructors that take their dependencies,
// rendering the store (ui/store) and dispatching actions. The controller
// (controller.go) performs the effects: hosting, joining, devices.
package ui

import (
	"log/slog"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"github.com/podiumhq/podium/ui/frames"
	"github.com/podiumhq/podium/ui/store"
)

// Deps are what the window needs from outside.
type Deps struct {
	App     fyne.App
	Icon    fyne.Resource
	Choices Choices
	Log     *slog.Logger
	// Host starts the embedded server (nil: hosting unavailable).
	Host HostFunc
	// InviteFile, when set, receives the server URL, room and invite link
	// once hosting starts (scripts start headless guests from it).
	InviteFile string
	// NoPlayback mixes audio but opens no sound card (tests, benchmarks).
	NoPlayback bool
	// ActionLog, when set, receives the room action log (JSON lines) when
	// a call ends; `podium replay FILE` folds it back into the state.
	ActionLog string
}

// Window is the app's main window with its store and controller.
type Window struct {
	Win    fyne.Window
	Store  *store.Store
	Ctl    *Controller
	Frames *frames.Store

	start   *startScreen
	prejoin *preJoinScreen
	call    *callScreen
	room    *roomUI // room.go: hands, chat, Q&A, polls
	toasts  *toasts
	body    *fyne.Container
	screen  store.Screen
	shown   bool
	pending atomic.Bool
	// VideoTicks counts UI video ticks that showed at least one new frame.
	VideoTicks atomic.Int64
	stop       chan struct{}
}

// NewWindow builds the window (not shown).
func NewWindow(d Deps) *Window {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	init := store.State{Settings: LoadSettings(d.App.Preferences()), MicLevelDB: -127}
	w := &Window{Store: store.New(init), Frames: frames.New(), stop: make(chan struct{})}
	w.Win = d.App.NewWindow("Podium")
	if d.Icon != nil {
		w.Win.SetIcon(d.Icon)
	}
	w.Win.Resize(fyne.NewSize(1280, 760))
	dispatch := w.Store.Dispatch
	get := w.Store.State
	clip := func(s string) { d.App.Clipboard().SetContent(s) }
	w.start = newStartScreen(d.Icon, get, dispatch)
	w.prejoin = newPreJoinScreen(d.Choices, clip, get, dispatch, w.pickBackground)
	w.call = newCallScreen(d.Choices, clip, get, dispatch, w.pickBackground)
	w.toasts = newToasts(dispatch)
	w.body = container.NewStack(w.start.obj)
	w.Win.SetContent(container.NewStack(w.body, container.NewPadded(w.toasts.obj)))
	registerShortcuts(w.Win.Canvas(), dispatch)
	w.Ctl = newController(d, w.Store, w.Frames)
	w.room = newRoomUI(w, d.ActionLog)
	w.call.chatPanel = w.room.Panels.Obj
	w.call.chat.SetText("Hands & chat")
	w.Store.Subscribe(func(store.State, store.Action) { w.scheduleRender() })
	w.Win.SetCloseIntercept(func() {
		w.Ctl.Shutdown()
		close(w.stop)
		w.Win.Close()
	})
	w.render(w.Store.State())
	go w.videoLoop()
	return w
}

// scheduleRender coalesces renders: at most one is queued at a time.
func (w *Window) scheduleRender() {
	if w.pending.Swap(true) {
		return
	}
	fyne.Do(func() {
		w.pending.Store(false)
		w.render(w.Store.State())
	})
}

func (w *Window) render(s store.State) {
	if s.Screen != w.screen || !w.shown {
		w.screen, w.shown = s.Screen, true
		var obj fyne.CanvasObject
		switch s.Screen {
		case store.ScreenStart:
			obj = w.start.obj
		case store.ScreenPreJoin:
			obj = w.prejoin.obj
		case store.ScreenCall:
			obj = w.call.obj
		}
		w.body.Objects = []fyne.CanvasObject{obj}
		w.body.Refresh()
	}
	switch s.Screen {
	case store.ScreenStart:
		w.start.render(s)
	case store.ScreenPreJoin:
		w.prejoin.render(s)
	case store.ScreenCall:
		w.call.render(s, w.Frames)
	}
	w.toasts.render(s)
}

// videoLoop swaps new frames into the visible tiles, all tiles in one
// fyne.Do per tick. It ticks at 60 Hz (Fyne's paint rate) so a 30 fps
// source beating against the tick does not drop frames; ticks with no new
// frame cost a map lookup per tile.
func (w *Window) videoLoop() {
	t := time.NewTicker(time.Second / 60)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			fyne.Do(func() {
				switch w.screen {
				case store.ScreenPreJoin:
					if img, fresh := w.Frames.Take(selfKey); fresh {
						w.prejoin.preview.img.Image = img
						w.prejoin.preview.img.Refresh()
						w.VideoTicks.Add(1)
					}
				case store.ScreenCall:
					if w.call.refreshVideo(w.Frames) {
						w.VideoTicks.Add(1)
					}
				}
			})
		}
	}
}

// pickBackground asks for a background image file; the controller loads
// it and reports a broken or huge file in the window.
func (w *Window) pickBackground() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			w.Store.Dispatch(store.BackgroundFailed{Message: "Cannot open that file: " + err.Error()})
			return
		}
		if r == nil { // cancelled
			return
		}
		path := r.URI().Path()
		_ = r.Close()
		w.Store.Dispatch(store.ChooseBackgroundFile{Path: path})
	}, w.Win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".jpg", ".jpeg", ".png", ".gif", ".JPG", ".JPEG", ".PNG", ".GIF"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// Close shuts the call and host down and closes the window.
func (w *Window) Close() {
	w.Ctl.Shutdown()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.Win.Close()
}
