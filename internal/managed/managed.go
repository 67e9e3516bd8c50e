// Package managed reads Podium's managed (organisation-wide) configuration:
// a TOML file that IT deploys to every machine, /etc/podium/podium.toml by
// default ($PODIUM_MANAGED_CONFIG overrides the path, e.g. in tests).
//
//	# /etc/podium/podium.toml
//	server      = "wss://podium.example.com/ws"   # managed values
//	ice_servers = ["stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp"]
//	turn_username   = "podium"
//	turn_credential = "s3cret"
//	backgrounds = ["none", "blur-light", "blur-strong"]  # allowed background kinds
//	disable     = ["host", "screen_share"]              # features turned off
//	locked      = ["server", "backgrounds"]             # the user cannot change these
//
//	[defaults]                                          # preset, the user may change
//	join_muted = true
//
// Precedence, highest first, for a key the app has as a setting:
//
//  1. a locked managed value (Policy.Locked): nothing in the app changes it;
//  2. the command-line flag (--server) and the environment (PODIUM_SERVER);
//  3. a managed value (top level of the file): it overrides the user's
//     saved setting each time settings are loaded;
//  4. the user's saved setting;
//  5. a managed default ([defaults]);
//  6. the built-in default.
//
// Keys are the same as the flags and environment variables: the flag is
// --KEY with underscores as dashes (FlagName), the variable PODIUM_KEY in
// upper case (EnvName). A missing file is an empty Policy, not an error.
package managed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/pion/webrtc/v4"
)

// DefaultPath is the system-wide file on Linux (SystemPath gives the one
// of the running OS); EnvPath names the variable that overrides it.
const (
	DefaultPath = "/etc/podium/podium.toml"
	EnvPath     = "PODIUM_MANAGED_CONFIG"
)

// SystemPath is the managed file of the running OS: DefaultPath on Linux
// and other Unix systems, %ProgramData%\Podium\podium.toml on Windows,
// /Library/Application Support/Podium/podium.toml on macOS.
func SystemPath() string {
	switch runtime.GOOS {
	case "windows":
		d := os.Getenv("ProgramData")
		if d == "" {
			d = `C:\ProgramData`
		}
		return filepath.Join(d, "Podium", "podium.toml")
	case "darwin":
		return "/Library/Application Support/Podium/podium.toml"
	}
	return DefaultPath
}

// Keys.
const (
	Server         = "server"          // string: signaling URL (ws:// or wss://)
	Room           = "room"            // string: default room
	Background     = "background"      // string: background choice (none, blur-light, blur-strong, image:NAME)
	JoinMuted      = "join_muted"      // bool: join with the microphone muted
	JoinCameraOff  = "join_camera_off" // bool: join with the camera off
	ICEServers     = "ice_servers"     // []string: STUN/TURN URLs
	TURNUsername   = "turn_username"   // string: credentials for the turn:/turns: URLs
	TURNCredential = "turn_credential" // string
	Backgrounds    = "backgrounds"     // []string: allowed background kinds (none, blur-light, blur-strong, image)
	Disable        = "disable"         // []string: features turned off (Features)
)

// kind is a key's value type.
type kind int

const (
	kString kind = iota
	kBool
	kList
)

var keys = map[string]kind{
	Server: kString, Room: kString, Background: kString, JoinMuted: kBool, JoinCameraOff: kBool,
	ICEServers: kList, TURNUsername: kString, TURNCredential: kString, Backgrounds: kList, Disable: kList,
}

// Features that `disable` may name.
var Features = []string{"host", "screen_share", "chat", "qa", "polls", "custom_background", "camera", "microphone"}

// Keys lists every key, sorted.
func Keys() []string {
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FlagName is the command-line flag of a key (without dashes): ice_servers
// -> ice-servers.
func FlagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// EnvName is the environment variable of a key: ice_servers ->
// PODIUM_ICE_SERVERS.
func EnvName(key string) string { return "PODIUM_" + strings.ToUpper(key) }

// Policy is a parsed managed configuration. The zero value manages nothing.
type Policy struct {
	// Path is the file it was read from ("" when there was none).
	Path     string
	values   map[string]any // string, bool or []string
	defaults map[string]any
	locked   map[string]bool
}

// Load reads $PODIUM_MANAGED_CONFIG, or SystemPath() when unset. A missing
// file gives an empty Policy and no error. A file with mistakes gives the
// Policy of its valid keys and an error naming the others, so a typo does
// not stop the app.
func Load() (Policy, error) {
	path := os.Getenv(EnvPath)
	if path == "" {
		path = SystemPath()
	}
	return LoadFile(path)
}

// LoadFile reads one file (see Load).
func LoadFile(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Policy{}, nil
	}
	if err != nil {
		return Policy{}, fmt.Errorf("managed config: %w", err)
	}
	p, err := Parse(b)
	p.Path = path
	if err != nil {
		err = fmt.Errorf("managed config %s: %w", path, err)
	}
	return p, err
}

// Parse parses a file's contents (see Load).
func Parse(data []byte) (Policy, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return Policy{}, err
	}
	p := Policy{values: map[string]any{}, defaults: map[string]any{}, locked: map[string]bool{}}
	var errs []error
	for k, v := range raw {
		switch k {
		case "locked":
			l, err := toList(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("locked: %w", err))
				continue
			}
			for _, key := range l {
				if _, ok := keys[key]; !ok {
					errs = append(errs, fmt.Errorf("locked: unknown key %q", key))
					continue
				}
				p.locked[key] = true
			}
		case "defaults":
			m, ok := v.(map[string]any)
			if !ok {
				errs = append(errs, errors.New("defaults: not a table"))
				continue
			}
			for dk, dv := range m {
				if err := set(p.defaults, dk, dv); err != nil {
					errs = append(errs, fmt.Errorf("defaults.%w", err))
				}
			}
		default:
			if err := set(p.values, k, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if l, ok := p.values[Disable].([]string); ok {
		for _, f := range l {
			if !contains(Features, f) {
				errs = append(errs, fmt.Errorf("disable: unknown feature %q (known: %s)", f, strings.Join(Features, ", ")))
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return p, errors.Join(errs...)
}

func set(m map[string]any, key string, v any) error {
	k, ok := keys[key]
	if !ok {
		return fmt.Errorf("%s: unknown key (known: %s)", key, strings.Join(Keys(), ", "))
	}
	switch k {
	case kString:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", key, v)
		}
		m[key] = s
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%s: want true or false, got %T", key, v)
		}
		m[key] = b
	case kList:
		l, err := toList(v)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		m[key] = l
	}
	return nil
}

func toList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return splitList(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want a list of strings, got a %T in it", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}

func splitList(s string) []string {
	out := []string{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// Value is the managed value of key (string, bool or []string) and whether
// the file sets it.
func (p Policy) Value(key string) (any, bool) {
	v, ok := p.values[key]
	return v, ok
}

// Default is the managed default ([defaults]) of key.
func (p Policy) Default(key string) (any, bool) {
	v, ok := p.defaults[key]
	return v, ok
}

// Locked reports whether the user may not change key.
func (p Policy) Locked(key string) bool { return p.locked[key] }

// LockedKeys lists the locked keys, sorted.
func (p Policy) LockedKeys() []string {
	var out []string
	for k := range p.locked {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Empty reports whether the policy manages nothing.
func (p Policy) Empty() bool {
	return len(p.values) == 0 && len(p.defaults) == 0 && len(p.locked) == 0
}

// String is a string key's managed value.
func (p Policy) String(key string) (string, bool) {
	s, ok := p.values[key].(string)
	return s, ok
}

// Bool is a bool key's managed value.
func (p Policy) Bool(key string) (bool, bool) {
	b, ok := p.values[key].(bool)
	return b, ok
}

// List is a list key's managed value.
func (p Policy) List(key string) ([]string, bool) {
	l, ok := p.values[key].([]string)
	return l, ok
}

// Disabled reports whether the file turns feature off (see Features).
func (p Policy) Disabled(feature string) bool {
	l, _ := p.List(Disable)
	return contains(l, feature)
}

// AllowedBackgrounds is the list of allowed background kinds, nil when
// all are allowed.
func (p Policy) AllowedBackgrounds() []string {
	l, ok := p.List(Backgrounds)
	if !ok {
		return nil
	}
	return l
}

// ResolveString is the effective value of a string key (see the package
// comment for the order): flag is the command-line value ("" when not
// given), user the saved setting (userSet false when none), def the
// built-in default. The environment variable is read here.
func (p Policy) ResolveString(key, flag, user string, userSet bool, def string) string {
	if p.Locked(key) {
		if v, ok := p.String(key); ok {
			return v
		}
		if d, ok := p.defaults[key].(string); ok {
			return d
		}
		return def
	}
	if flag != "" {
		return flag
	}
	if e := os.Getenv(EnvName(key)); e != "" {
		return e
	}
	if v, ok := p.String(key); ok {
		return v
	}
	if userSet {
		return user
	}
	if d, ok := p.defaults[key].(string); ok {
		return d
	}
	return def
}

// ResolveBool is ResolveString for bool keys (the app has no such flags;
// PODIUM_KEY is read).
func (p Policy) ResolveBool(key string, user, userSet, def bool) bool {
	if p.Locked(key) {
		if v, ok := p.Bool(key); ok {
			return v
		}
		if d, ok := p.defaults[key].(bool); ok {
			return d
		}
		return def
	}
	if e, ok := os.LookupEnv(EnvName(key)); ok {
		if b, err := strconv.ParseBool(e); err == nil {
			return b
		}
	}
	if v, ok := p.Bool(key); ok {
		return v
	}
	if userSet {
		return user
	}
	if d, ok := p.defaults[key].(bool); ok {
		return d
	}
	return def
}

// ICE is the STUN/TURN server list for WebRTC (ice_servers, with the TURN
// credentials on turn:/turns: URLs); the environment's PODIUM_ICE_SERVERS,
// PODIUM_TURN_USERNAME and PODIUM_TURN_CREDENTIAL apply unless locked.
func (p Policy) ICE() []webrtc.ICEServer {
	urls, _ := p.List(ICEServers)
	user, _ := p.String(TURNUsername)
	cred, _ := p.String(TURNCredential)
	if e := os.Getenv(EnvName(ICEServers)); e != "" && !p.Locked(ICEServers) {
		urls = splitList(e)
	}
	if e := os.Getenv(EnvName(TURNUsername)); e != "" && !p.Locked(TURNUsername) {
		user = e
	}
	if e := os.Getenv(EnvName(TURNCredential)); e != "" && !p.Locked(TURNCredential) {
		cred = e
	}
	var out []webrtc.ICEServer
	for _, u := range urls {
		s := webrtc.ICEServer{URLs: []string{u}}
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			s.Username, s.Credential = user, cred
		}
		out = append(out, s)
	}
	return out
}
