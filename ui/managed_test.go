package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/internal/managed"
	"github.com/podiumhq/podium/ui/store"
)

func withManagedFile(t *testing.T, toml string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "podium.toml")
	if err := os.WriteFile(p, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(managed.EnvPath, p)
	t.Setenv("PODIUM_SERVER", "")
	t.Setenv("PODIUM_ROOM", "")
	resetManagedPolicy()
	t.Cleanup(resetManagedPolicy)
}

// TestManagedOverridesUserAndLocks: a managed value overrides the user's
// saved one, a locked setting cannot be changed from the app (neither
// saved nor let into the store), an unlocked managed default yields to the
// user, and the screens show the lock.
func TestManagedOverridesUserAndLocks(t *testing.T) {
	p := newMemPrefs()
	// The user's saved settings, before IT deploys the file.
	SaveSettings(p, store.Settings{Server: "ws://user.example:7880/ws", Room: "myroom", Name: "Ann",
		Background: bgBlurStrong, JoinMuted: false}, false)
	withManagedFile(t, `
server = "wss://podium.corp.example/ws"
room = "townhall"
backgrounds = ["none", "blur-light"]
locked = ["server"]
[defaults]
join_muted = true
`)
	s := LoadSettings(p)
	if s.Server != "wss://podium.corp.example/ws" {
		t.Errorf("managed server did not override the user's: %q", s.Server)
	}
	if s.Room != "townhall" {
		t.Errorf("managed room did not override the user's: %q", s.Room)
	}
	if s.Background != bgNone {
		t.Errorf("background blur-strong is not allowed, got %q", s.Background)
	}
	if s.JoinMuted {
		t.Error("the user's saved join_muted=false should beat the managed default")
	}
	if s.Name != "Ann" {
		t.Errorf("unmanaged name: %q", s.Name)
	}

	// Change everything from the app: the locked server stays.
	s.Server, s.Room = "ws://evil.example/ws", "other"
	SaveSettings(p, s, false)
	if got := p.String(prefServer); got != "ws://user.example:7880/ws" {
		t.Errorf("a locked key was saved: %q", got)
	}
	s = LoadSettings(p)
	if s.Server != "wss://podium.corp.example/ws" {
		t.Errorf("locked server changed: %q", s.Server)
	}
	// The room is managed, not locked: the user may change it for the
	// session (it is saved), the managed value applies again at the next
	// start.
	if got := p.String(prefRoom); got != "other" {
		t.Errorf("unlocked room not saved: %q", got)
	}

	// Through the store, as the screens dispatch it.
	st := store.New(store.State{Settings: LoadSettings(p)})
	dispatch := managedDispatch(st.State, st.Dispatch)
	cur := st.State().Settings
	cur.Server, cur.Name, cur.Background = "ws://evil.example/ws", "Bob", bgBlurStrong
	dispatch(store.UpdateSettings{Settings: cur})
	got := st.State().Settings
	if got.Server != "wss://podium.corp.example/ws" || got.Name != "Bob" || got.Background != bgNone {
		t.Errorf("store after the app's edit: server %q name %q background %q", got.Server, got.Name, got.Background)
	}

	// The start screen shows the server as managed and disabled: typing
	// into it changes nothing. The background menu offers only the
	// allowed kinds, marked as managed. (Widgets on the Fyne thread: the
	// package's TestMain runs the real app.)
	fyne.DoAndWait(func() {
		start := newStartScreen(theme.ComputerIcon(), st.State, st.Dispatch)
		start.render(st.State())
		if !start.server.Disabled() {
			t.Error("locked server entry is editable")
		}
		test.Type(start.server, "x")
		if got := st.State().Settings.Server; got != "wss://podium.corp.example/ws" {
			t.Errorf("typing into the locked entry changed the server: %q", got)
		}
		if !hasText(start.obj, ManagedNotice) {
			t.Errorf("start screen does not say %q", ManagedNotice)
		}
		f := newDeviceForm(Choices{}, st.State, st.Dispatch, nil)
		for _, o := range f.bgOpts {
			if k := kindOf(o.Spec); o.Spec != bgChoose && k != bgNone && k != bgBlurLight {
				t.Errorf("background %q offered, not allowed", o.Spec)
			}
		}
		if !hasText(f.obj, ManagedNotice) {
			t.Errorf("device form does not say %q", ManagedNotice)
		}
	})
}

// hasText: a label under o contains s.
func hasText(o fyne.CanvasObject, s string) bool {
	switch x := o.(type) {
	case *widget.Label:
		return strings.Contains(x.Text, s)
	case *fyne.Container:
		for _, c := range x.Objects {
			if hasText(c, s) {
				return true
			}
		}
	case *widget.Card:
		return x.Content != nil && hasText(x.Content, s)
	case *widget.Form:
		for _, it := range x.Items {
			if it.Widget != nil && hasText(it.Widget, s) {
				return true
			}
		}
	case *container.Scroll:
		return hasText(x.Content, s)
	}
	return false
}

// memPrefs: the preferences the settings use, in memory.
type memPrefs struct {
	fyne.Preferences
	str  map[string]string
	bool map[string]bool
}

func newMemPrefs() *memPrefs { return &memPrefs{str: map[string]string{}, bool: map[string]bool{}} }

func (m *memPrefs) String(k string) string { return m.str[k] }
func (m *memPrefs) StringWithFallback(k, f string) string {
	if v, ok := m.str[k]; ok {
		return v
	}
	return f
}
func (m *memPrefs) SetString(k, v string) { m.str[k] = v }
func (m *memPrefs) Bool(k string) bool    { return m.bool[k] }
func (m *memPrefs) BoolWithFallback(k string, f bool) bool {
	if v, ok := m.bool[k]; ok {
		return v
	}
	return f
}
func (m *memPrefs) SetBool(k string, v bool) { m.bool[k] = v }

// TestNoManagedConfig: without the file, settings are the user's.
func TestNoManagedConfig(t *testing.T) {
	p := newMemPrefs()
	withManagedFile(t, "")
	t.Setenv(managed.EnvPath, filepath.Join(t.TempDir(), "absent.toml"))
	SaveSettings(p, store.Settings{Server: "ws://user.example:7880/ws", Room: "r", Background: bgBlurStrong}, false)
	if s := LoadSettings(p); s.Server != "ws://user.example:7880/ws" || s.Room != "r" || s.Background != bgBlurStrong {
		t.Errorf("%+v", s)
	}
}
