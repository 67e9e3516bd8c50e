// Command podium-compbench compares Podium's two compositors, the OpenGL one
// (gpu/glpipe through EGL; Mesa llvmpipe on a machine without a GPU) and the
// CPU fallback (gpu/cpu, gocv), side by side in one process. For each effect
// it composites the same real frames (vtest.avi scaled to -size) with a
// synthetic soft-edged ellipse mask at 256x144, alternating backends frame by
// frame, and prints the median and 95th percentile wall time per frame in ms
// (upload, all passes, I420 conversion and readback included) and their
// ratio CPU/GPU (above 1: the GPU is faster).
//
//	go run ./cmd/podium-compbench [-n 120] [-size 1280x720]
//	make bench-compositor
package main

import (
	"flag"
	"fmt"
	"image"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/podiumhq/podium/gpu"
	"github.com/podiumhq/podium/gpu/testimg"
	"github.com/podiumhq/podium/internal/testdata"
)

func main() {
	n := flag.Int("n", 120, "measured frames per backend and effect")
	warm := flag.Int("warmup", 5, "unmeasured frames per backend and effect")
	size := flag.String("size", "1280x720", "frame size WxH")
	video := flag.String("video", testdata.Path("opencv/vtest.avi"), "video whose frames are composited")
	bgPath := flag.String("bg", testdata.Path("faceapi/sample1.jpg"), "replacement background image")
	effects := flag.String("effects", "blur,replace", "comma-separated effects: none, blur, blur+wrap, replace, replace+wrap")
	flag.Parse()
	if err := run(*n, *warm, *size, *video, *bgPath, *effects); err != nil {
		fmt.Fprintln(os.Stderr, "podium-compbench:", err)
		os.Exit(1)
	}
}

func run(n, warm int, size, video, bgPath, effects string) error {
	var w, h int
	if _, err := fmt.Sscanf(size, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
		return fmt.Errorf("bad -size %q", size)
	}
	frames, err := testimg.VideoFrames(video, 24, 10, w, h)
	if err != nil {
		return fmt.Errorf("%w (run `make testdata`)", err)
	}
	bg, err := testimg.Load(bgPath)
	if err != nil {
		return fmt.Errorf("%w (run `make testdata`)", err)
	}
	mask := testimg.Ellipse(256, 144, 0.5, 0.55, 0.22, 0.5, 0.1)

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	g, info := gpu.New(gpu.Options{Logger: log, TierCache: "-"})
	defer g.Close()
	c, _ := gpu.New(gpu.Options{ForceCPU: true, Logger: log})
	defer c.Close()
	fmt.Printf("GPU backend: %s", g.Backend())
	if g.Backend() == "gpu" {
		fmt.Printf(" (EGL %s; %s; %s; tier %s, tier benchmark %.1f ms)\n", info.Platform, info.Renderer, info.GLVersion, info.Tier, info.BenchMS)
	} else {
		fmt.Printf(" (no GPU: %s)\n", info.Reason)
	}
	fmt.Printf("OPENCV_FOR_THREADS_NUM=%q (OpenCV's spinning worker pool slows llvmpipe; the Makefile sets 1)\n", os.Getenv("OPENCV_FOR_THREADS_NUM"))
	fmt.Printf("frames: %s %dx%d (%d distinct, cycled), mask 256x144 synthetic, %d measured + %d warm-up per cell\n\n",
		video, w, h, len(frames), n, warm)
	fmt.Printf("%-14s %14s %14s %14s %14s %12s %12s\n", "effect", "GPU median ms", "GPU p95 ms", "CPU median ms", "CPU p95 ms", "CPU/GPU med", "CPU/GPU p95")
	for _, name := range strings.Split(effects, ",") {
		eff, err := parseEffect(strings.TrimSpace(name), bg)
		if err != nil {
			return err
		}
		var tg, tc []float64
		for i := 0; i < warm+n; i++ {
			f := frames[i%len(frames)]
			dg, err := timeOne(g, f, mask, eff)
			if err != nil {
				return err
			}
			dc, err := timeOne(c, f, mask, eff)
			if err != nil {
				return err
			}
			if i >= warm {
				tg, tc = append(tg, dg), append(tc, dc)
			}
		}
		gm, gp := stats(tg)
		cm, cp := stats(tc)
		fmt.Printf("%-14s %14.2f %14.2f %14.2f %14.2f %12.2f %12.2f\n", name, gm, gp, cm, cp, cm/gm, cp/gp)
	}
	if g.Backend() != "gpu" {
		fmt.Println("\nnote: the GPU compositor was not available; both columns ran on the CPU")
	}
	return nil
}

func parseEffect(name string, bg image.Image) (gpu.Effect, error) {
	switch name {
	case "none":
		return gpu.Effect{Mode: gpu.EffectNone}, nil
	case "blur":
		return gpu.Effect{Mode: gpu.EffectBlur, BlurStrength: 0.7}, nil
	case "blur+wrap":
		return gpu.Effect{Mode: gpu.EffectBlur, BlurStrength: 0.7, LightWrap: true}, nil
	case "replace":
		return gpu.Effect{Mode: gpu.EffectReplace, Background: bg}, nil
	case "replace+wrap":
		return gpu.Effect{Mode: gpu.EffectReplace, Background: bg, LightWrap: true}, nil
	}
	return gpu.Effect{}, fmt.Errorf("unknown effect %q", name)
}

func timeOne(c gpu.Compositor, f *image.RGBA, m *image.Gray, e gpu.Effect) (float64, error) {
	t := time.Now()
	_, err := c.Composite(f, m, e)
	return float64(time.Since(t).Nanoseconds()) / 1e6, err
}

// stats returns the median and the 95th percentile (nearest rank) in ms.
func stats(ms []float64) (median, p95 float64) {
	s := slices.Clone(ms)
	slices.Sort(s)
	median = s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	p95 = s[min(len(s)-1, (95*len(s)+99)/100-1)]
	return median, p95
}
