package ui

import (
	"fyne.io/fyne/v2"

	"github.com/podiumhq/podium/ui/store"
)

// Preference keys.
const (
	prefServer, prefRoom, prefName        = "server", "room", "name"
	prefVideo, prefAudio, prefSpeaker     = "video", "audio", "speaker"
	prefBackground, prefBackgroundImage   = "background", "backgroundImage"
	prefJoinMuted, prefJoinCameraOff      = "joinMuted", "joinCameraOff"
	defaultServer, defaultRoom, defaultNm = "ws://127.0.0.1:7880/ws", "demo", "Guest"
)

// LoadSettings reads the saved settings (defaults for missing ones).
func LoadSettings(p fyne.Preferences) store.Settings {
	p = managedPrefs(p) // managed configuration over the user's (managed.go)
	return store.Settings{
		Server:          p.StringWithFallback(prefServer, defaultServer),
		Room:            p.StringWithFallback(prefRoom, defaultRoom),
		Name:            p.StringWithFallback(prefName, defaultNm),
		Video:           p.StringWithFallback(prefVideo, "testpattern"),
		Audio:           p.StringWithFallback(prefAudio, "tone"),
		Speaker:         p.String(prefSpeaker),
		Background:      p.StringWithFallback(prefBackground, "none"),
		BackgroundImage: p.String(prefBackgroundImage),
		JoinMuted:       p.Bool(prefJoinMuted),
		JoinCameraOff:   p.Bool(prefJoinCameraOff),
	}
}

// SaveSettings writes the settings. The embedded host's address is not
// saved as the last server (its port changes every run).
func SaveSettings(p fyne.Preferences, s store.Settings, hosting bool) {
	p = managedPrefs(p) // locked keys are not saved (managed.go)
	if !hosting {
		p.SetString(prefServer, s.Server)
		p.SetString(prefRoom, s.Room)
	}
	p.SetString(prefName, s.Name)
	p.SetString(prefVideo, s.Video)
	p.SetString(prefAudio, s.Audio)
	p.SetString(prefSpeaker, s.Speaker)
	p.SetString(prefBackground, s.Background)
	p.SetString(prefBackgroundImage, s.BackgroundImage)
	p.SetBool(prefJoinMuted, s.JoinMuted)
	p.SetBool(prefJoinCameraOff, s.JoinCameraOff)
}
