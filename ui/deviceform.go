package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/store"
)

// Choices are the device menus' entries, found once at start.
type Choices struct {
	Cameras, Microphones, Speakers []devices.Option
}

// backgrounds are the virtual-background choices. The setting is stored;
// the effect itself arrives with the segmentation and compositor work.
var backgrounds = []devices.Option{{Spec: "none", Label: "None"}, {Spec: "blur", Label: "Blur"}, {Spec: "image", Label: "Image"}}

// deviceForm edits camera, microphone, speaker and background; the
// pre-join screen and the call's settings panel both use it.
type deviceForm struct {
	obj                         *widget.Form
	camera, mic, speaker, bgSel *widget.Select
	choices                     Choices
	updating                    bool
}

func labels(opts []devices.Option) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.Label
	}
	return out
}

func specOf(opts []devices.Option, label string) string {
	for _, o := range opts {
		if o.Label == label {
			return o.Spec
		}
	}
	return ""
}

func labelOf(opts []devices.Option, spec string) string {
	for _, o := range opts {
		if o.Spec == spec {
			return o.Label
		}
	}
	return ""
}

func newDeviceForm(ch Choices, get func() store.State, dispatch func(store.Action)) *deviceForm {
	f := &deviceForm{choices: ch}
	edit := func(opts []devices.Option, set func(*store.Settings, string)) func(string) {
		return func(label string) {
			if f.updating {
				return
			}
			st := get().Settings
			set(&st, specOf(opts, label))
			dispatch(store.UpdateSettings{Settings: st})
		}
	}
	f.camera = widget.NewSelect(labels(ch.Cameras), edit(ch.Cameras, func(s *store.Settings, v string) { s.Video = v }))
	f.mic = widget.NewSelect(labels(ch.Microphones), edit(ch.Microphones, func(s *store.Settings, v string) { s.Audio = v }))
	f.speaker = widget.NewSelect(labels(ch.Speakers), edit(ch.Speakers, func(s *store.Settings, v string) { s.Speaker = v }))
	f.bgSel = widget.NewSelect(labels(backgrounds), edit(backgrounds, func(s *store.Settings, v string) { s.Background = v }))
	camHelp := widget.NewLabel("")
	if len(ch.Cameras) == 0 || ch.Cameras[0].Spec == "testpattern" {
		camHelp.SetText("No camera found: a test pattern or a video file is sent instead.")
	}
	camHelp.Wrapping = fyne.TextWrapWord
	camHelp.Importance = widget.LowImportance
	bgHelp := widget.NewLabel("Blur and image backgrounds apply once virtual backgrounds land.")
	bgHelp.Wrapping = fyne.TextWrapWord
	bgHelp.Importance = widget.LowImportance
	f.obj = widget.NewForm(
		widget.NewFormItem("Camera", f.camera),
		widget.NewFormItem("", camHelp),
		widget.NewFormItem("Microphone", f.mic),
		widget.NewFormItem("Speaker", f.speaker),
		widget.NewFormItem("Background", f.bgSel),
		widget.NewFormItem("", bgHelp),
	)
	return f
}

func (f *deviceForm) render(s store.Settings) {
	f.updating = true
	defer func() { f.updating = false }()
	set := func(sel *widget.Select, opts []devices.Option, spec string) {
		if l := labelOf(opts, spec); l != "" && sel.Selected != l {
			sel.SetSelected(l)
		}
	}
	set(f.camera, f.choices.Cameras, s.Video)
	set(f.mic, f.choices.Microphones, s.Audio)
	set(f.speaker, f.choices.Speakers, s.Speaker)
	set(f.bgSel, backgrounds, s.Background)
}
