package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/podiumhq/podium/ui/store"
)

// Shortcut is one keyboard shortcut (listed in the README).
type Shortcut struct {
	Key    fyne.KeyName
	Mod    fyne.KeyModifier
	Label  string
	Action store.Action
}

// Shortcuts are every keyboard shortcut of the app, registered in one place.
var Shortcuts = []Shortcut{
	{fyne.KeyD, fyne.KeyModifierControl, "Ctrl+D: mute or unmute the microphone", store.ToggleMic{}},
	{fyne.KeyE, fyne.KeyModifierControl, "Ctrl+E: turn the camera off or on", store.ToggleCamera{}},
	{fyne.KeyH, fyne.KeyModifierControl, "Ctrl+H: raise or lower your hand", store.ToggleHand{}},
	{fyne.KeyC, fyne.KeyModifierControl | fyne.KeyModifierAlt, "Ctrl+Alt+C: chat panel", store.ShowPanel{Panel: store.PanelChat}},
	{fyne.KeyP, fyne.KeyModifierControl | fyne.KeyModifierAlt, "Ctrl+Alt+P: participants panel", store.ShowPanel{Panel: store.PanelParticipants}},
	{fyne.KeyS, fyne.KeyModifierControl | fyne.KeyModifierAlt, "Ctrl+Alt+S: call stats panel", store.ShowPanel{Panel: store.PanelStats}},
}

func registerShortcuts(c fyne.Canvas, dispatch func(store.Action)) {
	for _, s := range Shortcuts {
		a := s.Action
		c.AddShortcut(&desktop.CustomShortcut{KeyName: s.Key, Modifier: s.Mod}, func(fyne.Shortcut) { dispatch(a) })
	}
}
