package turnserver_test

import (
	"context"
	"fmt"
	"github.com/podiumhq/podium/internal/netnstest"
	"image"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/media/turnserver"
	"github.com/podiumhq/podium/signaling/protocol"
)

// TestTURNCredentials: the REST-style credentials are "expiry:identity"
// and base64(HMAC-SHA1(secret, username)), checked against openssl:
//
//	echo -n 2000000000:alice | openssl dgst -sha1 -hmac 0123456789abcdef -binary | base64
func TestTURNCredentials(t *testing.T) {
	u, p := turnserver.Credentials([]byte("0123456789abcdef"), "alice", time.Unix(2000000000, 0))
	if u != "2000000000:alice" || p != "SLB0dxek3TPtAofK1DafMFHCTT8=" {
		t.Fatalf("credentials %q %q", u, p)
	}
}

// The test's roles: the parent (root namespace) starts "server" in a new
// network namespace S, which holds podiumd with its TURN relay and starts
// two "client" processes, each in a network namespace of its own joined to
// S by a veth pair. nftables rules in S drop UDP between the clients and
// S except to and from the TURN port, and every forwarded UDP packet
// (client to client): only the relay carries media.
const (
	roleEnv   = "PODIUM_TURNTEST_ROLE"
	hostNSEnv = "PODIUM_TURNTEST_HOSTNS"
	turnPort  = 3478
)

var clients = []struct{ name, ifS, ifC, addrS, addrC, gw string }{
	{"a", "pdmta0", "pdmta1", "10.213.8.1/24", "10.213.8.2/24", "10.213.8.1"},
	{"b", "pdmtb0", "pdmtb1", "10.213.9.1/24", "10.213.9.2/24", "10.213.9.1"},
}

// TestTURNRelay: two participants in separate network namespaces whose
// direct UDP path (to the SFU and to each other) is blocked by nftables
// rules exchange video through podiumd's embedded TURN relay, with the
// ICE servers and credentials they got in the join answer.
func TestTURNRelay(t *testing.T) {
	switch os.Getenv(roleEnv) {
	case "server":
		runServer(t)
		return
	case "client":
		runClient(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("TestTURNRelay creates network namespaces and must run as root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make deps installs iproute2 and nftables): %v", tool, err)
		}
	}
	hostNS, err := netnstest.HostNS()
	if err != nil {
		t.Fatal(err)
	}
	runChild(t, "server", hostNS, nil, func(line string) { t.Log(line) })
}

// startChild re-executes TestTURNRelay as role in a new network namespace.
func startChild(t *testing.T, role, hostNS string, env []string, onLine func(string)) *netnstest.Child {
	return netnstest.Start(t, "TestTURNRelay", 3*time.Minute, append([]string{roleEnv + "=" + role, hostNSEnv + "=" + hostNS}, env...), onLine)
}

// runChild runs role in a new network namespace and waits for it.
func runChild(t *testing.T, role, hostNS string, env []string, onLine func(string)) {
	t.Helper()
	if err := startChild(t, role, hostNS, env, onLine).Wait(); err != nil {
		t.Fatalf("%s (in its network namespace) failed: %v", role, err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// inOwnNamespace fails unless this process is outside the host's network
// namespace (never change the host's interfaces or rules).
func inOwnNamespace(t *testing.T) { netnstest.RequireOwn(t, os.Getenv(hostNSEnv)) }

const nftRules = `
table inet podiumturntest {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr { 10.213.8.2, 10.213.9.2 } udp dport != 3478 counter drop
	}
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr { 10.213.8.2, 10.213.9.2 } udp sport != 3478 counter drop
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		meta l4proto udp counter drop
	}
}
`

func runServer(t *testing.T) {
	inOwnNamespace(t)
	run(t, "ip", "link", "set", "lo", "up")
	for _, c := range clients {
		run(t, "ip", "link", "add", c.ifS, "type", "veth", "peer", "name", c.ifC)
		run(t, "ip", "addr", "add", c.addrS, "dev", c.ifS)
		run(t, "ip", "link", "set", c.ifS, "up")
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "rules*.nft")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(nftRules)
	f.Close()
	run(t, "nft", "-f", f.Name())

	ifaces := []string{clients[0].ifS, clients[1].ifS}
	h, err := host.Start(host.Config{Addr: clients[0].gw + ":0", BehindProxy: true, Secret: []byte("turn-test-secret-0123456789"),
		API:    rtcapi.Options{Interfaces: ifaces},
		TURN:   &turnserver.Config{Addr: fmt.Sprintf("%s:%d", clients[0].gw, turnPort), Secret: []byte("turn-shared-secret-0123456789")},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	t.Logf("podiumd at %s, TURN relay %s", h.URL(), h.TURN.URL())

	var mu sync.Mutex
	frames := map[string]int{}
	re := regexp.MustCompile(`RESULT client=(\w+) frames=(\d+)`)
	var waits []func() error
	for _, c := range clients {
		tok, _ := h.Tokens.Issue("turn", "peer-"+c.name, c.name, protocol.RolePresenter, time.Hour)
		child := startChild(t, "client", os.Getenv(hostNSEnv), []string{
			"PODIUM_TURNTEST_NAME=" + c.name, "PODIUM_TURNTEST_IF=" + c.ifC, "PODIUM_TURNTEST_ADDR=" + c.addrC,
			"PODIUM_TURNTEST_GW=" + c.gw, "PODIUM_TURNTEST_URL=" + h.URL(), "PODIUM_TURNTEST_TOKEN=" + tok,
		}, func(line string) {
			t.Logf("[%s] %s", c.name, line)
			if m := re.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[2])
				mu.Lock()
				frames[m[1]] = n
				mu.Unlock()
			}
		})
		// Hand the client its end of the veth pair.
		run(t, "ip", "link", "set", c.ifC, "netns", strconv.Itoa(child.Cmd.Process.Pid))
		waits = append(waits, child.Wait)
	}
	for i, w := range waits {
		if err := w(); err != nil {
			t.Errorf("client %s: %v", clients[i].name, err)
		}
	}
	allocs, relayed := h.TURN.Stats()
	counters := run(t, "nft", "list", "table", "inet", "podiumturntest")
	drops := regexp.MustCompile(`counter packets (\d+)`).FindAllStringSubmatch(counters, -1)
	var dropped []string
	for _, d := range drops {
		dropped = append(dropped, d[1])
	}
	t.Logf("TURN: %d allocations, %d bytes relayed; nftables drops (input, output, forward): %s; frames received: %v",
		allocs, relayed, strings.Join(dropped, ", "), frames)
	if allocs < 2 {
		t.Errorf("%d TURN allocations, want one per client at least", allocs)
	}
	if relayed < 100_000 {
		t.Errorf("only %d bytes relayed: media did not go through the relay", relayed)
	}
	for _, c := range clients {
		if frames[c.name] < 30 {
			t.Errorf("client %s decoded %d frames from the other, want at least 30", c.name, frames[c.name])
		}
	}
}

func runClient(t *testing.T) {
	inOwnNamespace(t)
	name, ifc := os.Getenv("PODIUM_TURNTEST_NAME"), os.Getenv("PODIUM_TURNTEST_IF")
	// Wait for the server to move our veth end in.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if exec.Command("ip", "link", "show", ifc).Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("interface %s never arrived", ifc)
		}
	}
	run(t, "ip", "link", "set", "lo", "up")
	run(t, "ip", "addr", "add", os.Getenv("PODIUM_TURNTEST_ADDR"), "dev", ifc)
	run(t, "ip", "link", "set", ifc, "up")
	run(t, "ip", "route", "add", "default", "via", os.Getenv("PODIUM_TURNTEST_GW"))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := 0
	enough := make(chan struct{})
	var once sync.Once
	var self string
	p, err := participant.Join(ctx, participant.Config{
		URL: os.Getenv("PODIUM_TURNTEST_URL"), Token: os.Getenv("PODIUM_TURNTEST_TOKEN"),
		Video: source.NewTestPattern(320, 240, 15), VideoBitrate: 300_000,
		API: rtcapi.Options{Interfaces: []string{ifc}},
		OnVideoFrame: func(from, _ string, _ *image.YCbCr) {
			mu.Lock()
			defer mu.Unlock()
			if from == self {
				return
			}
			got++
			if got >= 60 {
				once.Do(func() { close(enough) })
			}
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mu.Lock()
	self = "peer-" + name
	mu.Unlock()
	select {
	case <-enough:
	case <-ctx.Done():
	}
	// Keep sending a moment so the other side gets its frames too.
	time.Sleep(3 * time.Second)
	mu.Lock()
	fmt.Printf("RESULT client=%s frames=%d\n", name, got)
	mu.Unlock()
}
