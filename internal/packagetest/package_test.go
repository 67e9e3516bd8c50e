package packagetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	unitPath    = "/lib/systemd/system/podiumd.service"
	serviceUser = "podiumd"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func version(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "FyneApp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*Version\s*=\s*"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("FyneApp.toml: no Version")
	}
	return string(m[1])
}

func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LANG=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := run(t, timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func installed(pkg string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	return err == nil && strings.Contains(string(out), "install ok installed") ||
		err == nil && strings.Contains(string(out), "config-files")
}

func purge(t *testing.T) {
	t.Helper()
	var pkgs []string
	for _, p := range []string{"podium", "podiumd"} {
		if installed(p) {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		return
	}
	mustRun(t, 3*time.Minute, "dpkg", append([]string{"--purge"}, pkgs...)...)
}

// lock serialises runs of this test on the machine.
func lock(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/run/lock/podium-packagetest.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

func TestInstallRunPurge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installs packages: root only")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("no dpkg")
	}
	root := repoRoot(t)
	ver := version(t, root)
	arch := strings.TrimSpace(mustRun(t, 10*time.Second, "dpkg", "--print-architecture"))
	debs := map[string]string{}
	for _, p := range []string{"podium", "podiumd"} {
		f := filepath.Join(root, "build", "dist", fmt.Sprintf("%s_%s_%s.deb", p, ver, arch))
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s not built (make package)", f)
		}
		debs[p] = f
	}
	lock(t)
	checkDepends(t, root, debs["podium"])

	purge(t) // a run killed half-way
	t.Cleanup(func() { purge(t) })
	mustRun(t, 4*time.Minute, "apt-get", "install", "-y", "-q", "--no-install-recommends",
		"-o", "DPkg::Lock::Timeout=180", debs["podium"], debs["podiumd"])
	files := packageFiles(t) // regular files

	// Layout.
	for _, f := range []string{"/usr/bin/podium", "/usr/bin/podiumd", unitPath, "/etc/podium/podiumd.env",
		"/usr/share/applications/podium.desktop", "/usr/share/icons/hicolor/256x256/apps/podium.png",
		"/usr/share/podium/models/selfie_segmentation.onnx", "/usr/share/podium/models/selfie_segmentation_landscape.onnx",
		"/usr/share/podium/backgrounds/office.jpg"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("installed: %v", err)
		}
	}
	if _, err := exec.LookPath("desktop-file-validate"); err == nil {
		if out, err := run(t, 10*time.Second, "desktop-file-validate", "/usr/share/applications/podium.desktop"); err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("desktop-file-validate: %v %s", err, out)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		if out, err := run(t, 30*time.Second, "systemd-analyze", "verify", unitPath); err != nil {
			t.Errorf("systemd-analyze verify: %v %s", err, out)
		}
	}
	checkUserAndSecret(t)

	// podium --version.
	out := mustRun(t, 30*time.Second, "/usr/bin/podium", "--version")
	if !strings.Contains(out, "podium "+ver) {
		t.Errorf("podium --version: %q, want podium %s", out, ver)
	}
	out = mustRun(t, 30*time.Second, "/usr/bin/podiumd", "version")
	if !strings.Contains(out, "podiumd "+ver) {
		t.Errorf("podiumd version: %q", out)
	}

	// podiumd under its unit's command line, then the self-test against it.
	addr, stop := startUnit(t)
	selfTest(t, []string{"--server", "ws://" + addr + "/ws"}, nil)
	// The server from a managed configuration file instead of the flag.
	cfg := filepath.Join(t.TempDir(), "podium.toml")
	if err := os.WriteFile(cfg, []byte("server = \"ws://"+addr+"/ws\"\nlocked = [\"server\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = selfTest(t, nil, []string{"PODIUM_MANAGED_CONFIG=" + cfg})
	if !strings.Contains(out, "locked: server") {
		t.Errorf("self-test does not report the managed config %s", cfg)
	}
	stop() // as prerm does with systemd: the user goes only without processes

	// Purge: nothing left.
	purge(t)
	for _, p := range []string{"podium", "podiumd"} {
		if installed(p) {
			t.Errorf("%s still installed after purge", p)
		}
	}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("left after purge: %s", f)
		}
	}
	for _, d := range []string{"/etc/podium", "/var/lib/podiumd", "/usr/share/podium", "/usr/share/doc/podium", "/usr/share/doc/podiumd",
		"/etc/systemd/system/multi-user.target.wants/podiumd.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/podiumd.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/podiumd.service",
		"/var/lib/systemd/deb-systemd-helper-masked/podiumd.service"} {
		if _, err := os.Lstat(d); err == nil {
			t.Errorf("left after purge: %s", d)
		}
	}
	if out, err := exec.Command("getent", "passwd", serviceUser).Output(); err == nil {
		t.Errorf("user left after purge: %s", out)
	}
	if out, err := exec.Command("getent", "group", serviceUser).Output(); err == nil {
		t.Errorf("group left after purge: %s", out)
	}
}

// checkDepends: every library the podium binary needs (readelf NEEDED)
// comes from a package listed in the .deb's Depends.
func checkDepends(t *testing.T, root, deb string) {
	t.Helper()
	depends := mustRun(t, 10*time.Second, "dpkg-deb", "-f", deb, "Depends")
	have := map[string]bool{}
	for _, d := range strings.Split(depends, ",") {
		have[strings.Fields(d)[0]] = true
	}
	out := mustRun(t, 10*time.Second, "readelf", "-d", filepath.Join(root, "build", "pkg", "bin", "podium"))
	for _, m := range regexp.MustCompile(`\(NEEDED\)\s+Shared library: \[([^\]]+)\]`).FindAllStringSubmatch(out, -1) {
		lib := m[1]
		owners, err := run(t, 10*time.Second, "dpkg", "-S", "*/"+lib)
		if err != nil {
			t.Errorf("%s: no package owns it: %s", lib, owners)
			continue
		}
		ok := false
		var names []string
		for _, line := range strings.Split(strings.TrimSpace(owners), "\n") {
			for _, p := range strings.Split(strings.SplitN(line, ": ", 2)[0], ", ") {
				p = strings.SplitN(p, ":", 2)[0] // drop :amd64
				names = append(names, p)
				ok = ok || have[p]
			}
		}
		if !ok {
			t.Errorf("podium needs %s (from %v), not in Depends: %s", lib, names, depends)
		}
	}
}

func packageFiles(t *testing.T) []string {
	out := mustRun(t, 10*time.Second, "dpkg", "-L", "podium", "podiumd")
	var files []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "/") {
			continue
		}
		st, err := os.Lstat(l)
		switch {
		case err != nil:
			t.Errorf("listed but not installed: %s", l)
		case st.Mode().IsRegular():
			files = append(files, l)
		}
	}
	return files
}

func checkUserAndSecret(t *testing.T) {
	t.Helper()
	out, err := exec.Command("getent", "passwd", serviceUser).Output()
	if err != nil {
		t.Fatalf("no %s user after install", serviceUser)
	}
	if f := strings.Split(strings.TrimSpace(string(out)), ":"); len(f) < 7 || f[6] != "/usr/sbin/nologin" {
		t.Errorf("%s user: %s (want a nologin system user)", serviceUser, out)
	}
	st, err := os.Stat("/etc/podium/secret")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("/etc/podium/secret mode %v, want 0640", st.Mode().Perm())
	}
	if b, _ := os.ReadFile("/etc/podium/secret"); len(bytes.TrimSpace(b)) < 32 {
		t.Errorf("/etc/podium/secret: %d bytes", len(bytes.TrimSpace(b)))
	}
	grp := mustRun(t, 5*time.Second, "stat", "-c", "%U:%G", "/etc/podium/secret")
	if strings.TrimSpace(grp) != "root:"+serviceUser {
		t.Errorf("/etc/podium/secret owner %s, want root:%s", grp, serviceUser)
	}
}

// unit is what startUnit takes from the [Service] section.
type unit struct {
	execStart       []string
	user, group, wd string
	envFiles        []string
	hardening       map[string]string
	noNewPrivileges bool
}

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{hardening: map[string]string{}}
	sc := bufio.NewScanner(f)
	section := ""
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			section = l
			continue
		}
		if section != "[Service]" {
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "ExecStart":
			u.execStart = strings.Fields(strings.TrimLeft(v, "-@:+!"))
		case "User":
			u.user = v
		case "Group":
			u.group = v
		case "WorkingDirectory":
			u.wd = v
		case "EnvironmentFile":
			u.envFiles = append(u.envFiles, v)
		default:
			u.hardening[k] = v
		}
	}
	return u
}

func readEnvFile(t *testing.T, spec string) []string {
	optional := strings.HasPrefix(spec, "-")
	b, err := os.ReadFile(strings.TrimPrefix(spec, "-"))
	if err != nil {
		if optional {
			return nil
		}
		t.Fatal(err)
	}
	var env []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || !strings.Contains(l, "=") {
			continue
		}
		env = append(env, l)
	}
	return env
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startUnit runs podiumd as the unit would (systemd is not PID 1 here):
// ExecStart as User/Group with no new privileges, no capabilities, the
// EnvironmentFile and WorkingDirectory; PODIUM_ADDR moves it to a free port.
func startUnit(t *testing.T) (addr string, stop func()) {
	t.Helper()
	u := parseUnit(t, unitPath)
	if len(u.execStart) == 0 || u.user != serviceUser || u.group != serviceUser {
		t.Fatalf("unit: ExecStart %v User %q Group %q", u.execStart, u.user, u.group)
	}
	for k, want := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
		"ProtectHome": "yes", "CapabilityBoundingSet": ""} {
		if v, ok := u.hardening[k]; !ok || v != want {
			t.Errorf("unit: %s=%q, want %q", k, v, want)
		}
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	for _, f := range u.envFiles {
		env = append(env, readEnvFile(t, f)...)
	}
	addr = freeAddr(t)
	env = append(env, "PODIUM_ADDR="+addr)
	args := append([]string{"--reuid=" + u.user, "--regid=" + u.group, "--init-groups", "--no-new-privs",
		"--inh-caps=-all", "--bounding-set=-all", "--"}, u.execStart...)
	cmd := exec.Command("setpriv", args...)
	cmd.Env = env
	cmd.Dir = u.wd
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("podiumd exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("podiumd /healthz not OK after 30 s (%v)\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// It runs as the service user (setpriv execs podiumd: same pid).
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
		uid := strings.TrimSpace(mustRun(t, 5*time.Second, "id", "-u", serviceUser))
		if !regexp.MustCompile(`(?m)^Uid:\s+` + uid + `\s`).Match(st) {
			t.Errorf("podiumd does not run as %s:\n%s", serviceUser, st)
		}
	}
	t.Logf("podiumd (unit command line, user %s) healthy at %s", serviceUser, addr)
	return addr, stop
}

// selfTest runs the installed podium --self-test, wants exit 0, every
// check reported, the models, OpenCV and the server OK; returns the report.
func selfTest(t *testing.T, args, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/podium", append([]string{"--self-test"}, args...)...)
	cmd.Env = append(append(os.Environ(), "LANG=C.UTF-8", "PODIUM_SERVER="), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("podium --self-test: %v", err)
		}
		code = ee.ExitCode()
	}
	t.Logf("podium --self-test (exit %d):\n%s", code, out)
	// 0: usable (warnings allowed, e.g. no camera on a server); 1: a
	// required check failed.
	if code != 0 {
		t.Errorf("podium --self-test exit %d, want 0", code)
	}
	for _, check := range []string{"models", "opencv", "gpu", "camera", "audio", "server"} {
		if !regexp.MustCompile(`(?mi)^\s*(OK|WARN|FAIL)\s+` + check + `\b`).Match(out) {
			t.Errorf("self-test report has no %q line", check)
		}
	}
	if !regexp.MustCompile(`(?mi)^\s*OK\s+server\b`).Match(out) {
		t.Errorf("self-test did not reach podiumd")
	}
	if !regexp.MustCompile(`(?mi)^\s*OK\s+models\b`).Match(out) || !regexp.MustCompile(`(?mi)^\s*OK\s+opencv\b`).Match(out) {
		t.Errorf("self-test: models/opencv not OK from /usr/share/podium/models")
	}
	return string(out)
}
