package ui

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/store"
)

// toastTime is how long a toast stays.
const toastTime = 5 * time.Second

// toasts renders State.Toasts in the bottom-left corner, above the control
// bar (where they cover neither the side panel nor the controls), and
// dismisses each after toastTime.
type toasts struct {
	box      *fyne.Container
	obj      fyne.CanvasObject
	shown    map[int]bool
	dispatch func(store.Action)
}

func newToasts(dispatch func(store.Action)) *toasts {
	t := &toasts{box: container.NewVBox(), shown: map[int]bool{}, dispatch: dispatch}
	controls := canvas.NewRectangle(color.Transparent)
	controls.SetMinSize(fyne.NewSize(1, 64)) // the control bar's height
	t.obj = container.NewVBox(layout.NewSpacer(), container.NewHBox(t.box, layout.NewSpacer()), controls)
	return t
}

func (t *toasts) render(s store.State) {
	ids := map[int]bool{}
	objs := make([]fyne.CanvasObject, 0, len(s.Toasts))
	for _, m := range s.Toasts {
		ids[m.ID] = true
		bg := color.NRGBA{0x2b, 0x3a, 0x55, 0xee}
		if m.Error {
			bg = color.NRGBA{0xb0, 0x2a, 0x2a, 0xee}
		}
		r := canvas.NewRectangle(bg)
		r.CornerRadius = 6
		l := widget.NewLabel(m.Text)
		l.Wrapping = fyne.TextWrapWord
		box := container.NewStack(r, container.NewPadded(l))
		objs = append(objs, container.New(&fixedWidth{w: 360}, box))
		if !t.shown[m.ID] {
			t.shown[m.ID] = true
			id := m.ID
			time.AfterFunc(toastTime, func() { t.dispatch(store.DismissToast{ID: id}) })
		}
	}
	for id := range t.shown {
		if !ids[id] {
			delete(t.shown, id)
		}
	}
	t.box.Objects = objs
	t.box.Refresh()
}

// fixedWidth lays out its one child at width w and its minimum height.
type fixedWidth struct{ w float32 }

func (f *fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		o.Resize(fyne.NewSize(f.w, o.MinSize().Height))
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(f.w, h)
}

func (f *fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}
