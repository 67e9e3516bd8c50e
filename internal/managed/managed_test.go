package managed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `
server = "wss://podium.example.com/ws"
room = "townhall"
ice_servers = ["stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp"]
turn_username = "podium"
turn_credential = "s3cret"
backgrounds = ["none", "blur-light"]
disable = ["host", "screen_share"]
locked = ["server", "backgrounds", "join_camera_off"]

[defaults]
join_muted = true
`

func write(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "podium.toml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Setenv(EnvPath, write(t, sample))
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Value(Server); v != "wss://podium.example.com/ws" {
		t.Errorf("server %v", v)
	}
	if !p.Locked(Server) || p.Locked(Room) || !p.Locked(Backgrounds) {
		t.Errorf("locked %v", p.LockedKeys())
	}
	if !p.Disabled("host") || p.Disabled("chat") {
		t.Error("disable")
	}
	if got := strings.Join(p.AllowedBackgrounds(), ","); got != "none,blur-light" {
		t.Errorf("backgrounds %s", got)
	}
	ice := p.ICE()
	if len(ice) != 2 || ice[0].Username != "" || ice[1].Username != "podium" || ice[1].Credential != "s3cret" {
		t.Errorf("ICE %+v", ice)
	}
}

func TestMissingFileIsEmpty(t *testing.T) {
	t.Setenv(EnvPath, filepath.Join(t.TempDir(), "none.toml"))
	p, err := Load()
	if err != nil || !p.Empty() || p.Locked(Server) {
		t.Fatalf("%+v %v", p, err)
	}
	if got := p.ResolveString(Server, "", "ws://user/ws", true, "ws://def/ws"); got != "ws://user/ws" {
		t.Errorf("got %s", got)
	}
}

func TestMistakesKeepValidKeys(t *testing.T) {
	p, err := Parse([]byte("server = \"wss://a/ws\"\nsevrer = \"x\"\njoin_muted = \"yes\"\ndisable = [\"teleport\"]\nlocked = [\"nope\"]\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"sevrer: unknown key", "join_muted: want true or false", `unknown feature "teleport"`, `locked: unknown key "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if s, _ := p.String(Server); s != "wss://a/ws" {
		t.Errorf("valid key lost: %q", s)
	}
}

func TestPrecedence(t *testing.T) {
	p, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	// Locked: beats the flag, the environment and the user.
	t.Setenv(EnvName(Server), "ws://env/ws")
	if got := p.ResolveString(Server, "ws://flag/ws", "ws://user/ws", true, "d"); got != "wss://podium.example.com/ws" {
		t.Errorf("locked server: %s", got)
	}
	// Managed, not locked: the flag and environment win, then it beats the user.
	t.Setenv(EnvName(Room), "")
	if got := p.ResolveString(Room, "flagroom", "userroom", true, "demo"); got != "flagroom" {
		t.Errorf("flag: %s", got)
	}
	if got := p.ResolveString(Room, "", "userroom", true, "demo"); got != "townhall" {
		t.Errorf("managed over user: %s", got)
	}
	t.Setenv(EnvName(Room), "envroom")
	if got := p.ResolveString(Room, "", "userroom", true, "demo"); got != "envroom" {
		t.Errorf("env: %s", got)
	}
	// Defaults: the user's choice wins, else the managed default.
	if !p.ResolveBool(JoinMuted, false, false, false) || p.ResolveBool(JoinMuted, false, true, false) {
		t.Error("join_muted default")
	}
	// Locked without a value: the built-in default, whatever the user saved.
	if p.ResolveBool(JoinCameraOff, true, true, false) {
		t.Error("locked join_camera_off")
	}
	if FlagName(ICEServers) != "ice-servers" || EnvName(ICEServers) != "PODIUM_ICE_SERVERS" {
		t.Error("names")
	}
}

// TestExampleFile: the example shipped in the package parses cleanly.
func TestExampleFile(t *testing.T) {
	p, err := LoadFile("../../packaging/podium.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := p.String(Server); s == "" || !p.Locked(Server) {
		t.Errorf("example: server %q locked %v", s, p.Locked(Server))
	}
}
