// Package headless runs a Podium participant with no window: it joins a
// room, publishes a video file, still image or test pattern and a WAV file
// or test tone, subscribes to everyone else, optionally writes received
// frames as PNG, and prints per-track statistics as JSON lines.
package headless

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
)

// Options are the headless participant's settings.
type Options struct {
	URL, Token, Room, Name string
	Video                  string // file, image, "testpattern" or "" for none
	Audio                  string // WAV path, "tone", or "" for none
	Width, Height          int
	FPS                    float64
	Bitrate                int
	Duration               time.Duration // 0: until ctx ends
	StatsEvery             time.Duration
	FramesDir              string // write received frames here as PNG
	FramesEvery            int    // write every Nth frame per track
	Loopback               bool
}

// Flags registers Options on fs.
func Flags(fs *flag.FlagSet) *Options {
	o := &Options{}
	fs.StringVar(&o.URL, "url", "ws://127.0.0.1:7880/ws", "signaling URL")
	fs.StringVar(&o.Token, "token", "", "access token (or --room/--name on a --dev server)")
	fs.StringVar(&o.Room, "room", "", "room (dev servers only)")
	fs.StringVar(&o.Name, "name", "headless", "display name (dev servers only)")
	fs.StringVar(&o.Video, "video", "testpattern", "video file, image (pan and zoom), testpattern, or none")
	fs.StringVar(&o.Audio, "audio", "tone", "WAV file (48 kHz, 16-bit), tone, or none")
	fs.IntVar(&o.Width, "width", 640, "video width (px)")
	fs.IntVar(&o.Height, "height", 480, "video height (px)")
	fs.Float64Var(&o.FPS, "fps", 30, "video frame rate (fps)")
	fs.IntVar(&o.Bitrate, "bitrate", 1_000_000, "video bitrate (bit/s)")
	fs.DurationVar(&o.Duration, "duration", 0, "leave after this long (0: run until interrupted)")
	fs.DurationVar(&o.StatsEvery, "stats-every", 2*time.Second, "print stats this often")
	fs.StringVar(&o.FramesDir, "frames-dir", "", "write received frames as PNG into this directory")
	fs.IntVar(&o.FramesEvery, "frames-every", 30, "with --frames-dir, write every Nth frame of each track")
	fs.BoolVar(&o.Loopback, "loopback", false, "keep media on the loopback interface")
	return o
}

// StatsLine is one JSON line of output.
type StatsLine struct {
	Time   string                   `json:"time"`
	Self   string                   `json:"self"`
	Sent   participant.SentStats    `json:"sent"`
	Tracks []participant.TrackStats `json:"tracks"`
}

// Run joins and runs until ctx ends or the duration passes.
func Run(ctx context.Context, o Options, out io.Writer, log *slog.Logger) error {
	cfg := participant.Config{URL: o.URL, Token: o.Token, Room: o.Room, Name: o.Name, VideoBitrate: o.Bitrate,
		API: rtcapi.Options{LoopbackOnly: o.Loopback}, Logger: log}
	if o.Video != "" && o.Video != "none" {
		v, err := source.Open(o.Video, o.Width, o.Height, o.FPS)
		if err != nil {
			return err
		}
		cfg.Video = v
	}
	switch o.Audio {
	case "", "none":
	case "tone":
		cfg.Audio = &audio.Tone{Hz: 440, Amp: 0.2}
	default:
		a, err := audio.NewWAV(o.Audio)
		if err != nil {
			return err
		}
		cfg.Audio = a
	}
	var mu sync.Mutex
	counts := map[string]int{}
	cfg.OnVideoFrame = func(from, track string, img *image.YCbCr) {
		if o.FramesDir == "" {
			return
		}
		mu.Lock()
		key := from + "-" + track
		n := counts[key]
		counts[key]++
		mu.Unlock()
		if n%max(o.FramesEvery, 1) != 0 {
			return
		}
		if err := writePNG(filepath.Join(o.FramesDir, fmt.Sprintf("%s-%06d.png", key, n)), img); err != nil {
			log.Warn("write frame", "err", err)
		}
	}
	cfg.OnAudio = func(string, []int16) {} // decode, so stats count audio frames
	cfg.OnEvent = func(e participant.Event) {
		switch {
		case e.Error != nil:
			log.Warn("server", "code", e.Error.Code, "msg", e.Error.Message)
		default:
			log.Info(e.Type, "id", e.Participant.ID, "name", e.Participant.Name)
		}
	}
	if o.FramesDir != "" {
		if err := os.MkdirAll(o.FramesDir, 0o755); err != nil {
			return err
		}
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	p, err := participant.Join(jctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer p.Close()
	log.Info("joined", "id", p.Self().ID, "name", p.Self().Name, "others", len(p.Roster()))
	tick := time.NewTicker(o.StatsEvery)
	defer tick.Stop()
	enc := json.NewEncoder(out)
	for {
		select {
		case <-ctx.Done():
			return enc.Encode(StatsLine{Time: time.Now().Format(time.RFC3339), Self: p.Self().Name, Sent: p.Sent(), Tracks: p.Stats()})
		case <-tick.C:
			if err := enc.Encode(StatsLine{Time: time.Now().Format(time.RFC3339), Self: p.Self().Name, Sent: p.Sent(), Tracks: p.Stats()}); err != nil {
				return err
			}
		}
	}
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
