package ui

import (
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/store"
)

// Choices are the device menus' entries, found once at start.
type Choices struct {
	Cameras, Microphones, Speakers []devices.Option
}

// deviceForm edits camera, microphone, speaker and background; the
// pre-join screen and the call's settings panel both use it.
type deviceForm struct {
	obj                         *widget.Form
	camera, mic, speaker, bgSel *widget.Select
	bgHelp, bgErr               *widget.Label
	bgOpts                      []devices.Option
	choices                     Choices
	get                         func() store.State
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

// newDeviceForm builds the form; pickBackground opens the file dialog for
// "Choose image…".
func newDeviceForm(ch Choices, get func() store.State, dispatch func(store.Action), pickBackground func()) *deviceForm {
	f := &deviceForm{choices: ch, get: get}
	dispatch = managedDispatch(get, dispatch)
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
	f.bgOpts = backgroundOptions(get().Settings, managedAllowedBackgrounds())
	f.bgSel = widget.NewSelect(labels(f.bgOpts), func(label string) {
		if f.updating {
			return
		}
		spec := specOf(f.bgOpts, label)
		if spec == bgChoose {
			// Keep showing the current choice; the dialog's answer
			// changes it (only if the image can be used).
			f.render(get())
			if pickBackground != nil {
				pickBackground()
			}
			return
		}
		st := get().Settings
		st.Background = spec
		dispatch(store.UpdateSettings{Settings: st})
	})
	camHelp := widget.NewLabel("")
	if len(ch.Cameras) == 0 || ch.Cameras[0].Spec == "testpattern" {
		camHelp.SetText("No camera found: a test pattern or a video file is sent instead.")
	}
	camHelp.Wrapping = fyne.TextWrapWord
	camHelp.Importance = widget.LowImportance
	f.bgHelp = widget.NewLabel("Loading background effects…")
	f.bgHelp.Wrapping = fyne.TextWrapWord
	f.bgHelp.Importance = widget.LowImportance
	f.bgErr = widget.NewLabel("")
	f.bgErr.Wrapping = fyne.TextWrapWord
	f.bgErr.Importance = widget.DangerImportance
	f.bgErr.Hide()
	f.obj = widget.NewForm(
		widget.NewFormItem("Camera", f.camera),
		widget.NewFormItem("", camHelp),
		widget.NewFormItem("Microphone", f.mic),
		widget.NewFormItem("Speaker", f.speaker),
		widget.NewFormItem("Background", f.bgSel),
		widget.NewFormItem("", container.NewVBox(f.bgErr, f.bgHelp)),
	)
	applyManagedForm(f)
	return f
}

func (f *deviceForm) render(st store.State) {
	s := st.Settings
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
	if opts := backgroundOptions(s, st.BgAllowed); !slices.Equal(opts, f.bgOpts) {
		f.bgOpts = opts
		f.bgSel.Options = labels(opts)
		f.bgSel.Refresh()
	}
	set(f.bgSel, f.bgOpts, normBackground(s.Background))
	errText := st.BgUnavailable
	if errText == "" {
		errText = st.BgError
	}
	if errText != f.bgErr.Text {
		f.bgErr.SetText(errText)
	}
	if errText == "" {
		f.bgErr.Hide()
	} else {
		f.bgErr.Show()
	}
	help := ""
	switch {
	case st.BgUnavailable != "":
	case !st.BgReady:
		help = "Loading background effects…"
	default:
		help = st.BgWarning
		if st.BgNote != "" {
			help = strings.TrimSpace(help + " " + st.BgNote)
		}
	}
	if help != f.bgHelp.Text {
		f.bgHelp.SetText(help)
	}
	if help == "" {
		f.bgHelp.Hide()
	} else {
		f.bgHelp.Show()
	}
}
