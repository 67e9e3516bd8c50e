package main

// podium --bench-ui 1,4,9: the window's CPU and memory with N remote
// 640x480 tiles at 30 fps. A video file is encoded to VP8 once, then each
// simulated remote decodes it in a loop at 30 fps through the same path as
// a call (VP8 decode, frames store, one batched fyne.Do per tick, Fyne
// painting). The network and the encoders are left out, so the figures are
// the app's own receive-and-render cost.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/podiumhq/podium/assets"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/ui"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/store"
)

const benchFrames = 90

func encodeClip(path string) ([][]byte, error) {
	if path == "" {
		path = "testpattern"
	}
	src, err := source.Open(path, 640, 480, 1000)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var imgs []image.Image
	for len(imgs) < benchFrames {
		f, err := src.ReadFrame()
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, f)
	}
	i := 0
	r := video.ReaderFunc(func() (image.Image, func(), error) {
		if i >= len(imgs) {
			return nil, func() {}, errors.New("end")
		}
		i++
		return imgs[i-1], func() {}, nil
	})
	params, err := vpx.NewVP8Params()
	if err != nil {
		return nil, err
	}
	params.BitRate = 1_000_000
	params.KeyFrameInterval = benchFrames
	params.LagInFrames = 0
	enc, err := params.BuildVideoEncoder(r, prop.Media{Video: prop.Video{Width: 640, Height: 480, FrameRate: 30}})
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	var out [][]byte
	for len(out) < benchFrames {
		b, release, err := enc.Read()
		if err != nil {
			return nil, err
		}
		out = append(out, append([]byte(nil), b...))
		release()
	}
	return out, nil
}

// loopReader hands the clip to the decoder one frame per Read at 30 fps.
type loopReader struct {
	clip [][]byte
	i    int
	next time.Time
	ctx  context.Context
}

func (l *loopReader) Read(b []byte) (int, error) {
	if l.ctx.Err() != nil {
		return 0, l.ctx.Err()
	}
	now := time.Now()
	if l.next.IsZero() {
		l.next = now
	}
	if d := l.next.Sub(now); d > 0 {
		time.Sleep(d)
	}
	l.next = l.next.Add(time.Second / 30)
	f := l.clip[l.i%len(l.clip)]
	l.i++
	return copy(b, f), nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func rssMiB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func runBench(ctx context.Context, a fyne.App, tiles string, per time.Duration, videoPath string) error {
	var counts []int
	for _, s := range strings.Split(tiles, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("--bench-ui: bad tile count %q", s)
		}
		counts = append(counts, n)
	}
	clip, err := encodeClip(videoPath)
	if err != nil {
		return fmt.Errorf("bench: encode clip: %w", err)
	}
	w := ui.NewWindow(ui.Deps{App: a, Icon: assets.Icon, NoPlayback: true,
		Choices: ui.Choices{Cameras: devices.Cameras(), Microphones: devices.Microphones()}})
	w.Win.Resize(fyne.NewSize(1280, 720))
	var benchErr error
	go func() {
		defer fyne.Do(a.Quit)
		s := w.Store.State().Settings
		s.Name = "Bench"
		w.Store.Dispatch(store.UpdateSettings{Settings: s})
		w.Store.Dispatch(store.Joined{SelfID: "bench-self", SelfName: "Bench"})
		fmt.Printf("podium --bench-ui: %d x %d VP8 640x480 frames looped at 30 fps per tile, window 1280x720, %s per step\n", len(clip), 1, per)
		fmt.Printf("%6s %14s %10s %16s %14s\n", "tiles", "CPU (% core)", "RSS (MiB)", "decoded fps/tile", "shown fps/tile")
		for _, n := range counts {
			sctx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("remote-%d", i)
				w.Store.Dispatch(store.RemoteJoined{ID: ids[i], Name: fmt.Sprintf("Remote %d", i+1), Role: "presenter", Existing: true})
				wg.Add(1)
				go func(id string) {
					defer wg.Done()
					dec, err := vpx.NewDecoder(&loopReader{clip: clip, ctx: sctx}, prop.Media{})
					if err != nil {
						benchErr = err
						return
					}
					defer dec.Close()
					for sctx.Err() == nil {
						img, release, err := dec.Read()
						if err != nil {
							return
						}
						w.Frames.Put(id, img)
						if release != nil {
							release()
						}
					}
				}(ids[i])
			}
			tick := store.MediaTick{Remotes: map[string]store.RemoteMedia{}, MicLevelDB: -127}
			for _, id := range ids {
				tick.Remotes[id] = store.RemoteMedia{HasVideo: true, Quality: store.QualityGood, LevelDB: -127, Muted: true, FPS: 30}
			}
			w.Store.Dispatch(tick)
			time.Sleep(3 * time.Second) // warm up
			c0, t0 := cpuSeconds(), time.Now()
			r0, s0 := 0, 0
			for _, id := range ids {
				r, s := w.Frames.Counts(id)
				r0, s0 = r0+r, s0+s
			}
			time.Sleep(per)
			c1, el := cpuSeconds(), time.Since(t0).Seconds()
			r1, s1 := 0, 0
			for _, id := range ids {
				r, s := w.Frames.Counts(id)
				r1, s1 = r1+r, s1+s
			}
			fmt.Printf("%6d %14.0f %10.0f %16.1f %14.1f\n", n, 100*(c1-c0)/el, rssMiB(),
				float64(r1-r0)/el/float64(n), float64(s1-s0)/el/float64(n))
			cancel()
			wg.Wait()
			for _, id := range ids {
				w.Store.Dispatch(store.RemoteLeft{ID: id})
				w.Frames.Remove(id)
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	w.Win.ShowAndRun()
	return benchErr
}
