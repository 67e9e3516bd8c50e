// Command podium-pubbench measures Podium's whole publish path, side by side
// for no effect, background blur and background replacement, in one run:
//
//	video file (media/source, OpenCV decode + scale to 1280x720, paced at 30 fps)
//	  -> media/vbg Pipeline.Process (segmentation pool, compositor, I420)
//	  -> latest-frame slot -> VP8 encoder (mediadevices vpx, the parameters
//	     media/participant uses)
//
// For each mode it reports the encoded frame rate, the latency from capture
// (ReadFrame returning) to the encoded VP8 frame (p50/p95, and the p50/p95
// added over no effect), the time Process adds on the capture goroutine,
// per-stage timings, and the process's CPU use (user+sys from getrusage over
// the measured window, in % of one core). The degrade ladder is off so each
// mode is measured as asked. Run with OPENCV_FOR_THREADS_NUM=1 (the Makefile
// does): OpenCV's spinning pool otherwise steals the second core.
//
//	go run ./cmd/podium-pubbench [-input testdata/opencv/Megamind.avi] [-seconds 10]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"log"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/media/vbg"
	"github.com/podiumhq/podium/segmentation"
)

type result struct {
	mode                string
	seconds             float64
	captured, encoded   int
	dropped             int
	bytes               int
	lat, cost           []float64 // ms
	cpu                 float64   // % of one core
	stats               vbg.Stats
	latP50, latP95      float64
	costP50, costP95    float64
	addedP50, addedP95  float64
	fps, kbps, cpuRatio float64
}

func main() {
	input := flag.String("input", testdata.Path("opencv/Megamind.avi"), "video file (or image / testpattern)")
	w := flag.Int("w", 1280, "frame width")
	h := flag.Int("h", 720, "frame height")
	fps := flag.Float64("fps", 30, "capture frame rate")
	secs := flag.Float64("seconds", 10, "measured seconds per mode")
	warm := flag.Float64("warmup", 2, "warm-up seconds per mode (not measured)")
	modes := flag.String("modes", "none,blur,replace", "modes to run, in order: none, blur (strong), blur-light, replace")
	bitrate := flag.Int("bitrate", 2_500_000, "VP8 bit rate, bit/s")
	bgName := flag.String("bg", "office", "bundled background for replace")
	workers := flag.Int("workers", 1, "segmentation workers")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	if _, err := os.Stat(*input); err != nil && *input != "testpattern" {
		log.Fatalf("input %s: %v (run `make testdata`)", *input, err)
	}
	if _, err := segmentation.FindModel(segmentation.GeneralModel); err != nil {
		log.Fatal(err)
	}
	pipe, err := vbg.New(vbg.Options{CameraFPS: *fps, NoDegrade: true, Workers: *workers})
	if err != nil {
		log.Fatal(err)
	}
	defer pipe.Close()
	info := pipe.Info()
	bgs, err := vbg.Bundled()
	if err != nil {
		log.Fatal(err)
	}
	var replace vbg.Background
	for _, b := range bgs {
		if b.Name == *bgName {
			replace = b
		}
	}
	if replace.Image == nil {
		log.Fatalf("no bundled background %q (have %v)", *bgName, bgs)
	}
	fmt.Printf("podium-pubbench: %s at %dx%d, %.0f fps, %.0f s per mode (+%.0f s warm-up), VP8 %d kbit/s, OPENCV_FOR_THREADS_NUM=%s\n",
		*input, *w, *h, *fps, *secs, *warm, *bitrate/1000, os.Getenv("OPENCV_FOR_THREADS_NUM"))
	fmt.Printf("compositor: %s (GL renderer %q, tier %v; %s)\n\n", pipe.Stats().Backend, info.Renderer, info.Tier, info.Reason)

	var results []*result
	for _, m := range strings.Split(*modes, ",") {
		var bg vbg.Background
		switch strings.TrimSpace(m) {
		case "none":
			bg = vbg.None
		case "blur":
			bg = vbg.Strong
		case "blur-light":
			bg = vbg.Light
		case "replace":
			bg = replace
		default:
			log.Fatalf("unknown mode %q", m)
		}
		pipe.SetEffect(bg)
		r, err := run(pipe, *input, *w, *h, *fps, *bitrate, time.Duration(*warm*float64(time.Second)), time.Duration(*secs*float64(time.Second)))
		if err != nil {
			log.Fatalf("%s: %v", m, err)
		}
		r.mode = m
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "  %s done\n", m)
	}
	report(results)
}

type item struct {
	img image.Image
	at  time.Time
}

func run(pipe *vbg.Pipeline, input string, w, h int, fps float64, bitrate int, warm, dur time.Duration) (*result, error) {
	src, err := source.Open(input, w, h, fps)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slot := make(chan item, 1)
	var mu sync.Mutex
	var cur item
	reader := video.ReaderFunc(func() (image.Image, func(), error) {
		select {
		case it := <-slot:
			mu.Lock()
			cur = it
			mu.Unlock()
			return it.img, func() {}, nil
		case <-ctx.Done():
			return nil, func() {}, context.Canceled
		}
	})
	params, err := vpx.NewVP8Params()
	if err != nil {
		return nil, err
	}
	// As media/participant configures it.
	params.BitRate = bitrate
	params.KeyFrameInterval = int(fps * 4)
	params.RateControlEndUsage = vpx.RateControlCBR
	params.ErrorResilient = vpx.ErrorResilientDefault
	params.LagInFrames = 0
	enc, err := params.BuildVideoEncoder(reader, prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: float32(fps)}})
	if err != nil {
		return nil, err
	}

	r := &result{}
	var measuring, stop bool
	var start time.Time
	var ru0 syscall.Rusage
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // capture
		defer wg.Done()
		for {
			img, err := src.ReadFrame()
			if err != nil {
				if !errors.Is(err, source.ErrClosed) {
					log.Print(err)
				}
				return
			}
			at := time.Now()
			out := pipe.Process(img)
			cost := float64(time.Since(at)) / float64(time.Millisecond)
			mu.Lock()
			if stop {
				mu.Unlock()
				return
			}
			if measuring {
				r.captured++
				r.cost = append(r.cost, cost)
			}
			mu.Unlock()
			select {
			case <-slot:
				mu.Lock()
				if measuring {
					r.dropped++
				}
				mu.Unlock()
			default:
			}
			slot <- item{img: out, at: at}
		}
	}()
	go func() { // encode
		defer wg.Done()
		for {
			b, release, err := enc.Read()
			if err != nil {
				return
			}
			now := time.Now()
			release()
			mu.Lock()
			if measuring {
				r.encoded++
				r.bytes += len(b)
				r.lat = append(r.lat, float64(now.Sub(cur.at))/float64(time.Millisecond))
			}
			mu.Unlock()
		}
	}()
	time.Sleep(warm)
	mu.Lock()
	measuring, start = true, time.Now()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	mu.Unlock()
	time.Sleep(dur)
	mu.Lock()
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	measuring, stop = false, true
	r.seconds = time.Since(start).Seconds()
	mu.Unlock()
	r.stats = pipe.Stats()
	cpu := tv(ru1.Utime) - tv(ru0.Utime) + tv(ru1.Stime) - tv(ru0.Stime)
	r.cpu = 100 * cpu / r.seconds
	src.Close()
	cancel()
	enc.Close()
	wg.Wait()
	return r, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func report(rs []*result) {
	var base *result
	for _, r := range rs {
		if r.mode == "none" {
			base = r
		}
	}
	for _, r := range rs {
		r.fps = float64(r.encoded) / r.seconds
		r.kbps = float64(r.bytes) * 8 / 1000 / r.seconds
		r.latP50, r.latP95 = pct(r.lat, 0.5), pct(r.lat, 0.95)
		r.costP50, r.costP95 = pct(r.cost, 0.5), pct(r.cost, 0.95)
		if base != nil {
			r.addedP50, r.addedP95 = r.latP50-pct(base.lat, 0.5), r.latP95-pct(base.lat, 0.95)
			r.cpuRatio = r.cpu / base.cpu
		}
	}
	row := func(name string, f func(r *result) string) {
		fmt.Printf("%-34s", name)
		for _, r := range rs {
			fmt.Printf("%14s", f(r))
		}
		fmt.Println()
	}
	row("mode", func(r *result) string { return r.mode })
	row("encoded fps", func(r *result) string { return fmt.Sprintf("%.1f", r.fps) })
	row("captured fps / dropped at encoder", func(r *result) string {
		return fmt.Sprintf("%.1f/%d", float64(r.captured)/r.seconds, r.dropped)
	})
	row("VP8 kbit/s", func(r *result) string { return fmt.Sprintf("%.0f", r.kbps) })
	row("capture->encoded p50 / p95 ms", func(r *result) string { return fmt.Sprintf("%.1f/%.1f", r.latP50, r.latP95) })
	row("added vs none p50 / p95 ms", func(r *result) string { return fmt.Sprintf("%+.1f/%+.1f", r.addedP50, r.addedP95) })
	row("Process p50 / p95 ms", func(r *result) string { return fmt.Sprintf("%.1f/%.1f", r.costP50, r.costP95) })
	row("CPU % of one core", func(r *result) string { return fmt.Sprintf("%.0f", r.cpu) })
	row("CPU vs none", func(r *result) string { return fmt.Sprintf("%.2fx", r.cpuRatio) })
	row("  copy for segmentation ms", func(r *result) string { return fmt.Sprintf("%.2f", r.stats.CopyMs) })
	row("  composite + I420 ms", func(r *result) string { return fmt.Sprintf("%.2f", r.stats.CompositeMs) })
	row("  seg pre / infer / post ms", func(r *result) string {
		if r.mode == "none" {
			return "-"
		}
		return fmt.Sprintf("%.1f/%.1f/%.1f", r.stats.Seg.PreprocessMs, r.stats.Seg.InferenceMs, r.stats.Seg.PostprocessMs)
	})
	row("  mask lag frames", func(r *result) string { return fmt.Sprintf("%.2f", r.stats.MaskLag) })
	fmt.Println()
	fmt.Println("targets: blur CPU <= 1.5x none; added p95 latency <= 33 ms (one frame at 30 fps)")
	for _, r := range rs {
		if r.mode == "none" || base == nil {
			continue
		}
		ok := func(b bool) string {
			if b {
				return "met"
			}
			return "MISSED"
		}
		fmt.Printf("  %-10s CPU %.2fx (%s), added p95 %+.1f ms (%s), %.1f fps\n", r.mode, r.cpuRatio, ok(r.cpuRatio <= 1.5), r.addedP95, ok(r.addedP95 <= 33), r.fps)
	}
}
