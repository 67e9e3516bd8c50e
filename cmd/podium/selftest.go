package main

// podium --self-test [--server URL] [--json] checks that this machine can
// run Podium and prints a report an administrator can collect:
//
//	OK    models  /usr/share/podium/models/selfie_segmentation.onnx, ...
//	WARN  camera  none found (test pattern and video files still work)
//
// One line per check: version, config (the managed configuration), models,
// opencv (the model loads through segmentation.NewSegmenter and runs once),
// gpu (the compositor tier from gpu.New), camera, audio (microphones and
// speakers), server (/healthz of the configured server). Exit status:
//
//	0  usable: every check passed, or some gave warnings only (no camera,
//	   no sound card, no GPU: the app works with fallbacks)
//	1  a check failed (models or OpenCV missing, an invalid managed config,
//	   the configured server unreachable)
//	2  bad usage
//
// The server checked is --server, else $PODIUM_SERVER, else the managed
// config's server, else the user's saved one, else ws://127.0.0.1:7880/ws
// (only a warning when that default is unreachable). --json prints the
// checks as one JSON object instead.
//
// It is dispatched from init, before main parses its flags, so the flag
// set of the app (main.go) needs no change.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/podiumhq/podium/gpu"
	"github.com/podiumhq/podium/internal/managed"
	"github.com/podiumhq/podium/internal/version"
	"github.com/podiumhq/podium/segmentation"
	"github.com/podiumhq/podium/ui/audioout"
	"github.com/podiumhq/podium/ui/devices"
)

func init() {
	for _, a := range os.Args[1:] {
		if a == "--self-test" || a == "-self-test" {
			os.Exit(selfTestMain(os.Args[1:], os.Stdout))
		}
	}
}

// Check statuses.
const (
	statusOK   = "OK"
	statusWarn = "WARN"
	statusFail = "FAIL"
)

type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

type selfTestReport struct {
	Version  string        `json:"version"`
	Platform string        `json:"platform"`
	Checks   []checkResult `json:"checks"`
	Warnings int           `json:"warnings"`
	Failures int           `json:"failures"`
	Exit     int           `json:"exit"`
}

func selfTestMain(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("podium --self-test", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Bool("self-test", true, "check this machine and print a report")
	server := fs.String("server", "", "server to check (default: $PODIUM_SERVER, the managed config, the saved setting)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("check-timeout", 60*time.Second, "longest time one check may take")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	r := runSelfTest(*server, *timeout)
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
		return r.Exit
	}
	fmt.Fprintf(out, "Podium self-test (podium %s, %s)\n", r.Version, r.Platform)
	for _, c := range r.Checks {
		fmt.Fprintf(out, "%-5s %-7s %s\n", c.Status, c.Name, c.Detail)
	}
	switch {
	case r.Failures > 0:
		fmt.Fprintf(out, "Result: NOT USABLE: %d failed, %d warnings (exit %d)\n", r.Failures, r.Warnings, r.Exit)
	case r.Warnings > 0:
		fmt.Fprintf(out, "Result: usable with %d warnings (exit %d)\n", r.Warnings, r.Exit)
	default:
		fmt.Fprintf(out, "Result: all checks passed (exit %d)\n", r.Exit)
	}
	return r.Exit
}

func runSelfTest(server string, timeout time.Duration) selfTestReport {
	r := selfTestReport{Version: version.Version, Platform: runtime.GOOS + "/" + runtime.GOARCH}
	add := func(name string, f func() (string, string)) {
		type res struct{ s, d string }
		ch := make(chan res, 1)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					ch <- res{statusFail, fmt.Sprint("panic: ", p)}
				}
			}()
			s, d := f()
			ch <- res{s, d}
		}()
		var c checkResult
		select {
		case x := <-ch:
			c = checkResult{name, x.s, x.d}
		case <-time.After(timeout):
			c = checkResult{name, statusFail, fmt.Sprintf("no answer in %v", timeout)}
		}
		switch c.Status {
		case statusWarn:
			r.Warnings++
		case statusFail:
			r.Failures++
		}
		r.Checks = append(r.Checks, c)
	}
	add("version", func() (string, string) { return statusOK, "podium " + version.Version })
	pol, polErr := managed.Load()
	add("config", func() (string, string) { return checkConfig(pol, polErr) })
	var modelPath string
	add("models", func() (string, string) {
		s, d, p := checkModels()
		modelPath = p
		return s, d
	})
	add("opencv", func() (string, string) { return checkOpenCV(modelPath) })
	add("gpu", checkGPU)
	add("camera", checkCamera)
	add("audio", checkAudio)
	add("server", func() (string, string) { return checkServer(server, pol) })
	if r.Failures > 0 {
		r.Exit = 1
	}
	return r
}

func checkConfig(p managed.Policy, err error) (string, string) {
	path := os.Getenv(managed.EnvPath)
	if path == "" {
		path = managed.SystemPath()
	}
	if err != nil {
		return statusFail, err.Error()
	}
	if p.Path == "" {
		return statusOK, "no managed config (" + path + " absent): user settings only"
	}
	d := fmt.Sprintf("%s read", p.Path)
	if l := p.LockedKeys(); len(l) > 0 {
		d += "; locked: " + strings.Join(l, ", ")
	}
	if l, ok := p.List(managed.Disable); ok && len(l) > 0 {
		d += "; disabled: " + strings.Join(l, ", ")
	}
	return statusOK, d
}

func checkModels() (status, detail, general string) {
	var found []string
	for _, name := range []string{segmentation.GeneralModel, segmentation.LandscapeModel} {
		p, err := segmentation.FindModel(name)
		if err != nil {
			return statusFail, err.Error(), ""
		}
		if general == "" {
			general = p
		}
		found = append(found, p)
	}
	return statusOK, strings.Join(found, ", "), general
}

func checkOpenCV(modelPath string) (string, string) {
	if modelPath == "" {
		return statusFail, "OpenCV " + gocv.OpenCVVersion() + ": no model to load (see models)"
	}
	s, err := segmentation.NewSegmenter(modelPath)
	if err != nil {
		return statusFail, "OpenCV " + gocv.OpenCVVersion() + ": " + err.Error()
	}
	defer s.Close()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	t0 := time.Now()
	if _, err := s.Segment(img); err != nil {
		return statusFail, "OpenCV " + gocv.OpenCVVersion() + ": inference: " + err.Error()
	}
	w, h := s.Size()
	return statusOK, fmt.Sprintf("OpenCV %s: model loads, %dx%d inference in %d ms", gocv.OpenCVVersion(), w, h, time.Since(t0).Milliseconds())
}

func checkGPU() (string, string) {
	c, info := gpu.New(gpu.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer c.Close()
	d := fmt.Sprintf("tier %s, compositor %s", info.Tier, info.Backend)
	if info.Renderer != "" {
		d += fmt.Sprintf(": %s (EGL %s)", info.Renderer, info.Platform)
	}
	if info.BenchMS > 0 {
		d += fmt.Sprintf(", 1280x720 blur %.1f ms", info.BenchMS)
	}
	if info.Tier == gpu.TierNone {
		return statusWarn, d + "; no GPU: effects run on the CPU (" + info.Reason + ")"
	}
	if _, warn := info.Recommend(); warn != "" {
		return statusOK, d + " (software renderer: blur recommended over replacement)"
	}
	return statusOK, d
}

func checkCamera() (string, string) {
	var cams []string
	for _, o := range devices.Cameras() {
		if strings.HasPrefix(o.Spec, "camera:") {
			cams = append(cams, strings.TrimPrefix(o.Label, "Camera: "))
		}
	}
	if len(cams) == 0 {
		return statusWarn, "none found (the test pattern and video files still work)"
	}
	return statusOK, fmt.Sprintf("%d: %s", len(cams), strings.Join(cams, "; "))
}

func checkAudio() (string, string) {
	var mics []string
	for _, o := range devices.Microphones() {
		if l := strings.TrimPrefix(o.Label, "Microphone: "); strings.HasPrefix(o.Spec, "mic:") && !nullDevice(l) {
			mics = append(mics, l)
		}
	}
	spk, err := audioout.Devices()
	var spkNames []string
	for _, s := range spk {
		if !nullDevice(s.Name) {
			spkNames = append(spkNames, s.Name)
		}
	}
	d := fmt.Sprintf("microphones: %s; speakers: %s", listOrNone(mics), listOrNone(spkNames))
	if err != nil {
		d += " (" + err.Error() + ")"
	}
	if len(mics) == 0 || len(spkNames) == 0 {
		return statusWarn, d
	}
	return statusOK, d
}

// nullDevice: ALSA's "null" device (a sink that discards, a source of
// silence), listed even with no sound card; miniaudio may label it in hex.
func nullDevice(name string) bool {
	n := strings.ToLower(name)
	if b, err := hex.DecodeString(n); err == nil {
		n = strings.ToLower(string(b))
	}
	return strings.Contains(n, "null") || strings.Contains(n, "discard all samples")
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none found"
	}
	return fmt.Sprintf("%d (%s)", len(l), strings.Join(l, "; "))
}

const defaultSelfTestServer = "ws://127.0.0.1:7880/ws"

// savedServer is the server the app saved last (Fyne preferences), or "".
func savedServer() string {
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(d, "fyne", "dev.podium.app", "preferences.json"))
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	s, _ := m["server"].(string)
	return s
}

func checkServer(flagServer string, pol managed.Policy) (string, string) {
	saved := savedServer()
	server := pol.ResolveString(managed.Server, flagServer, saved, saved != "", "")
	configured := server != ""
	if !configured {
		server = defaultSelfTestServer
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return statusFail, fmt.Sprintf("%q is not a server URL", server)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return statusFail, fmt.Sprintf("%q: scheme must be ws, wss, http or https", server)
	}
	u.Path, u.RawQuery = "/healthz", ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
	}
	if err != nil {
		if !configured {
			return statusWarn, fmt.Sprintf("no server configured; the default %s does not answer (%v)", server, err)
		}
		return statusFail, fmt.Sprintf("%s: %v", u, err)
	}
	return statusOK, fmt.Sprintf("%s: /healthz 200 in %d ms", server, time.Since(t0).Milliseconds())
}
