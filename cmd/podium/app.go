package main

import (
	"context"
	"crypto/rand"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/podiumhq/podium/assets"
	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui"
	"github.com/podiumhq/podium/ui/audioout"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/store"
)

// appFlags are the window's options (the headless flags --url, --token,
// --room, --name, --video and --audio prefill its forms too).
type appFlags struct {
	host, join, noSound bool
	inviteFile          string
	actionLog           string
	benchTiles          string
	benchSeconds        time.Duration
}

var af appFlags

func registerAppFlags(fs *flag.FlagSet) {
	fs.BoolVar(&af.host, "host", false, "start hosting a meeting on this computer at launch")
	fs.BoolVar(&af.join, "join", false, "join at launch (after --host, or with --url/--room/--name or --token)")
	fs.BoolVar(&af.noSound, "no-sound", false, "mix remote audio but do not open a sound card")
	fs.StringVar(&af.actionLog, "action-log", "", "when a call ends, save its room action log (JSON lines) to this file; see podium replay")
	fs.StringVar(&af.inviteFile, "invite-file", "", "when hosting, write the server URL, room and invite link to this file")
	fs.StringVar(&af.benchTiles, "bench-ui", "", "benchmark the window with these numbers of remote 640x480 30 fps tiles, e.g. 1,4,9")
	fs.DurationVar(&af.benchSeconds, "bench-time", 10*time.Second, "with --bench-ui, measure this long per step")
}

// embeddedHost adapts internal/host to ui.Host.
type embeddedHost struct{ h *host.Host }

func (e embeddedHost) URL() string { return e.h.URL() }
func (e embeddedHost) Invite(room, id, name string, role protocol.Role) (string, error) {
	return e.h.Tokens.Issue(room, id, name, role, 24*time.Hour)
}
func (e embeddedHost) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = e.h.Shutdown(ctx)
}

func startEmbeddedHost(log *slog.Logger) ui.HostFunc {
	return func() (ui.Host, error) {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: secret, Dev: true,
			API: rtcapi.Options{LoopbackOnly: true}, Logger: log})
		if err != nil {
			return nil, err
		}
		return embeddedHost{h}, nil
	}
}

// sampleFiles finds the test media (make testdata) next to the working
// directory or the executable, offered as camera and microphone stand-ins.
func sampleFiles(extraVideo, extraAudio string) (video, audioFiles []string) {
	roots := []string{"testdata"}
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Join(filepath.Dir(exe), "..", "testdata"))
	}
	add := func(list []string, p string) []string {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return append(list, p)
		}
		return list
	}
	video = add(video, extraVideo)
	audioFiles = add(audioFiles, extraAudio)
	for _, r := range roots {
		if _, err := os.Stat(r); err != nil {
			continue
		}
		for _, f := range []string{"opencv/vtest.avi", "opencv/Megamind.avi", "faceapi/sample1.jpg", "opencv/messi5.jpg"} {
			video = add(video, filepath.Join(r, f))
		}
		audioFiles = add(audioFiles, filepath.Join(r, "speech.wav"))
		break
	}
	return video, audioFiles
}

// Choices lists devices and fallbacks for the menus.
func choices(extraVideo, extraAudio string) ui.Choices {
	vf, afiles := sampleFiles(extraVideo, extraAudio)
	ch := ui.Choices{Cameras: devices.Cameras(vf...), Microphones: devices.Microphones(afiles...)}
	ch.Speakers = []devices.Option{{Spec: "", Label: "System default"}}
	if outs, err := audioout.Devices(); err == nil {
		for _, o := range outs {
			ch.Speakers = append(ch.Speakers, devices.Option{Spec: o.ID, Label: o.Name})
		}
	}
	return ch
}

// runApp opens the desktop window.
func runApp(ctx context.Context, fs *flag.FlagSet) error {
	log := slog.Default()
	a := app.NewWithID("dev.podium.app")
	a.SetIcon(assets.Icon)
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
	if af.benchTiles != "" {
		return runBench(ctx, a, af.benchTiles, af.benchSeconds, set["video"])
	}
	w := ui.NewWindow(ui.Deps{App: a, Icon: assets.Icon, Choices: choices(set["video"], set["audio"]), Log: log,
		Host: startEmbeddedHost(log), InviteFile: af.inviteFile, NoPlayback: af.noSound, ActionLog: af.actionLog})
	prefill(w.Store, set)
	if af.join {
		once := false
		w.Store.OnAction(func(act store.Action) {
			if _, ok := act.(store.HostStarted); ok && !once {
				once = true
				go w.Store.Dispatch(store.JoinRequested{})
			}
		})
	}
	switch {
	case af.host:
		w.Store.Dispatch(store.HostRequested{})
	case af.join:
		w.Store.Dispatch(store.Navigate{To: store.ScreenPreJoin})
		w.Store.Dispatch(store.JoinRequested{})
	}
	go func() {
		<-ctx.Done()
		fyne.Do(func() {
			w.Close()
			a.Quit()
		})
	}()
	w.Win.SetMaster()
	w.Win.ShowAndRun()
	w.Ctl.Shutdown()
	return nil
}

// prefill copies the headless-style flags given on the command line into
// the settings.
func prefill(st *store.Store, set map[string]string) {
	s := st.State().Settings
	if v, ok := set["url"]; ok {
		s.Server = v
	}
	if v, ok := set["room"]; ok {
		s.Room = v
	}
	if v, ok := set["name"]; ok {
		s.Name = v
	}
	if v, ok := set["video"]; ok {
		s.Video = v
	}
	if v, ok := set["audio"]; ok {
		s.Audio = v
	}
	st.Dispatch(store.UpdateSettings{Settings: s})
	if v, ok := set["token"]; ok && v != "" {
		st.Dispatch(store.UseInvite{Server: s.Server, Token: v})
	}
}
