package ui

// Managed (organisation-wide) configuration in the app: internal/managed
// reads /etc/podium/podium.toml ($PODIUM_MANAGED_CONFIG); here it is
// applied to the settings. managedPrefs wraps the app's preferences so
// LoadSettings sees managed values over the user's saved ones and
// SaveSettings cannot store a locked key; managedDispatch keeps locked
// settings (and refused features) out of the store; the start screen and
// the device form show locked settings as "Managed by your organisation".

import (
	"log/slog"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/internal/managed"
	"github.com/podiumhq/podium/ui/store"
)

// ManagedNotice is shown next to a setting the organisation locked.
const ManagedNotice = "Managed by your organisation"

var (
	managedMu  sync.Mutex
	managedPol *managed.Policy
)

// managedPolicy is the managed configuration, read once.
func managedPolicy() managed.Policy {
	managedMu.Lock()
	defer managedMu.Unlock()
	if managedPol == nil {
		p, err := managed.Load()
		if err != nil {
			slog.Warn("managed configuration", "err", err)
		}
		managedPol = &p
	}
	return *managedPol
}

// resetManagedPolicy makes the next managedPolicy read the file again
// (tests).
func resetManagedPolicy() {
	managedMu.Lock()
	managedPol = nil
	managedMu.Unlock()
}

// managedKeyOf maps preference keys to managed keys.
var managedKeyOf = map[string]string{
	prefServer: managed.Server, prefRoom: managed.Room, prefBackground: managed.Background,
	prefJoinMuted: managed.JoinMuted, prefJoinCameraOff: managed.JoinCameraOff,
}

// prefs is fyne.Preferences with the managed configuration applied.
type prefs struct {
	fyne.Preferences
	pol managed.Policy
}

// managedPrefs wraps p (a no-op when nothing is managed).
func managedPrefs(p fyne.Preferences) fyne.Preferences {
	if _, ok := p.(prefs); ok {
		return p
	}
	pol := managedPolicy()
	if pol.Empty() {
		return p
	}
	return prefs{p, pol}
}

const unsetPref = "\x00unset"

func (p prefs) StringWithFallback(key, fallback string) string {
	mk, ok := managedKeyOf[key]
	if !ok {
		return p.Preferences.StringWithFallback(key, fallback)
	}
	user := p.Preferences.StringWithFallback(key, unsetPref)
	v := p.pol.ResolveString(mk, "", user, user != unsetPref, fallback)
	if key == prefBackground && !backgroundAllowed(p.pol, v) {
		v = bgNone
		if a := p.pol.AllowedBackgrounds(); len(a) > 0 && !backgroundAllowed(p.pol, bgNone) {
			v = a[0]
		}
	}
	return v
}

func (p prefs) String(key string) string { return p.StringWithFallback(key, "") }

func (p prefs) SetString(key, value string) {
	if mk, ok := managedKeyOf[key]; ok && p.pol.Locked(mk) {
		return
	}
	p.Preferences.SetString(key, value)
}

func (p prefs) BoolWithFallback(key string, fallback bool) bool {
	mk, ok := managedKeyOf[key]
	if !ok {
		return p.Preferences.BoolWithFallback(key, fallback)
	}
	user := p.Preferences.BoolWithFallback(key, false)
	set := user || !p.Preferences.BoolWithFallback(key, true) // saved either way
	return p.pol.ResolveBool(mk, user, set, fallback)
}

func (p prefs) Bool(key string) bool { return p.BoolWithFallback(key, false) }

func (p prefs) SetBool(key string, value bool) {
	if mk, ok := managedKeyOf[key]; ok && p.pol.Locked(mk) {
		return
	}
	p.Preferences.SetBool(key, value)
}

func backgroundAllowed(pol managed.Policy, spec string) bool {
	a := pol.AllowedBackgrounds()
	if a == nil {
		return true
	}
	k := kindOf(normBackground(spec))
	for _, x := range a {
		if x == k {
			return true
		}
	}
	return false
}

// managedSettings replaces the locked settings in s by their managed
// values (what LoadSettings gives) and refuses a background that is not
// allowed.
func managedSettings(pol managed.Policy, cur, s store.Settings) store.Settings {
	lock := func(key string) bool { return pol.Locked(key) }
	if lock(managed.Server) {
		s.Server = pol.ResolveString(managed.Server, "", "", false, cur.Server)
	}
	if lock(managed.Room) {
		s.Room = pol.ResolveString(managed.Room, "", "", false, cur.Room)
	}
	if lock(managed.Background) {
		s.Background = pol.ResolveString(managed.Background, "", "", false, cur.Background)
	} else if !backgroundAllowed(pol, s.Background) {
		s.Background = cur.Background
	}
	if lock(managed.JoinMuted) {
		s.JoinMuted = pol.ResolveBool(managed.JoinMuted, false, false, cur.JoinMuted)
	}
	if lock(managed.JoinCameraOff) {
		s.JoinCameraOff = pol.ResolveBool(managed.JoinCameraOff, false, false, cur.JoinCameraOff)
	}
	return s
}

// managedDispatch keeps locked settings and disabled features out of the
// store: an UpdateSettings changing a locked setting keeps its managed
// value; hosting is refused when "host" is disabled; a locked server
// replaces an invite's.
func managedDispatch(get func() store.State, dispatch func(store.Action)) func(store.Action) {
	return func(a store.Action) {
		pol := managedPolicy()
		if pol.Empty() {
			dispatch(a)
			return
		}
		switch x := a.(type) {
		case store.UpdateSettings:
			x.Settings = managedSettings(pol, get().Settings, x.Settings)
			a = x
		case store.UseInvite:
			if pol.Locked(managed.Server) {
				x.Server = get().Settings.Server
				a = x
			}
		case store.HostRequested:
			if pol.Disabled("host") {
				return
			}
		}
		dispatch(a)
	}
}

// managedAllowedBackgrounds is the Background menu's allowed kinds (nil:
// all).
func managedAllowedBackgrounds() []string { return managedPolicy().AllowedBackgrounds() }

func managedLabel(what ...string) *widget.Label {
	l := widget.NewLabel(strings.Join(what, ", ") + ": " + ManagedNotice)
	l.Importance = widget.LowImportance
	l.Wrapping = fyne.TextWrapWord
	return l
}

// applyManagedStart disables the locked fields of the start screen, hides
// Host when disabled, and says so.
func applyManagedStart(s *startScreen, form *widget.Form) {
	pol := managedPolicy()
	var locked []string
	if pol.Locked(managed.Server) {
		s.server.Disable()
		locked = append(locked, "Server")
	}
	if pol.Locked(managed.Room) {
		s.room.Disable()
		locked = append(locked, "Room")
	}
	if pol.Disabled("host") {
		s.host.Hide()
		locked = append(locked, "Hosting (turned off)")
	}
	if len(locked) > 0 {
		form.Append("", managedLabel(locked...))
	}
}

// applyManagedForm disables a locked background choice and says so.
func applyManagedForm(f *deviceForm) {
	pol := managedPolicy()
	if pol.Locked(managed.Background) || pol.Locked(managed.Backgrounds) && len(pol.AllowedBackgrounds()) <= 1 {
		f.bgSel.Disable()
		f.obj.Append("", managedLabel("Background"))
	} else if pol.AllowedBackgrounds() != nil {
		f.obj.Append("", managedLabel("Background choices"))
	}
}
