package gpu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/podiumhq/podium/gpu/glpipe"
	"github.com/podiumhq/podium/gpu/testimg"
)

// Tier is a quality tier: what the machine's compositor can afford.
type Tier int

const (
	// TierNone: no usable GPU; the CPU fallback composites.
	TierNone Tier = iota
	// TierLow: a software renderer (llvmpipe, softpipe, swrast) or a slow
	// GPU; offer blur rather than replacement, with a warning.
	TierLow
	// TierMedium: a GPU that composites 1280x720 in 4 to 12 ms.
	TierMedium
	// TierHigh: a GPU that composites 1280x720 in under 4 ms.
	TierHigh
)

func (t Tier) String() string {
	return [...]string{"none", "low", "medium", "high"}[max(0, min(int(t), 3))]
}

// Tier thresholds on Info.BenchMS, the median ms of a 1280x720 blur
// composite including upload and readback.
const (
	HighMaxMS   = 4.0
	MediumMaxMS = 12.0
)

// Info is what New detected.
type Info struct {
	GLVersion  string   // GL_VERSION
	Renderer   string   // GL_RENDERER
	Vendor     string   // GL_VENDOR
	Extensions []string // GL extensions
	Tier       Tier
	// BenchMS is the median wall time in ms of a 1280x720 blur composite
	// on the GPU including upload and readback (0 when not measured).
	BenchMS  float64
	Platform string // EGL platform used ("surfaceless", "device", "default")
	Backend  string // "gpu" or "cpu"
	Reason   string // why the CPU is used, when it is
	Cached   bool   // the tier came from the cache file
}

// Recommend says which effect the app should offer by default on this tier,
// and a warning to show when the user asks for more.
func (i Info) Recommend() (EffectMode, string) {
	switch i.Tier {
	case TierHigh, TierMedium:
		return EffectReplace, ""
	case TierLow:
		return EffectBlur, "This computer renders graphics in software: background replacement may lower your frame rate."
	}
	return EffectBlur, "No graphics acceleration: background effects run on the CPU and may lower your frame rate."
}

var softwareRenderers = []string{"llvmpipe", "softpipe", "swrast", "software rasterizer", "lavapipe"}

// IsSoftware reports whether a GL_RENDERER string names a software renderer.
func IsSoftware(renderer string) bool {
	r := strings.ToLower(renderer)
	return slices.ContainsFunc(softwareRenderers, func(s string) bool { return strings.Contains(r, s) })
}

// TierFor maps a renderer and benchmark to a tier: software renderers are
// TierLow whatever they measure; otherwise BenchMS <= HighMaxMS is high,
// <= MediumMaxMS medium, slower low. A zero BenchMS (not measured) on
// hardware gives TierMedium.
func TierFor(renderer string, benchMS float64) Tier {
	switch {
	case IsSoftware(renderer):
		return TierLow
	case benchMS == 0:
		return TierMedium
	case benchMS <= HighMaxMS:
		return TierHigh
	case benchMS <= MediumMaxMS:
		return TierMedium
	}
	return TierLow
}

type cacheEntry struct {
	Tier     Tier      `json:"tier"`
	BenchMS  float64   `json:"bench_ms"`
	Measured time.Time `json:"measured"`
}

func cachePath(opt string) string {
	if opt == "-" {
		return ""
	}
	if opt != "" {
		return opt
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "podium", "gpu-tier.json")
}

func detectTier(info *Info, pipe *glpipe.Pipeline, opts Options) {
	key := info.Renderer + "|" + info.GLVersion
	path := cachePath(opts.TierCache)
	entries := map[string]cacheEntry{}
	if path != "" {
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &entries)
		}
		if e, ok := entries[key]; ok {
			info.Tier, info.BenchMS, info.Cached = e.Tier, e.BenchMS, true
			return
		}
	}
	if !opts.SkipBenchmark {
		info.BenchMS = benchmark(pipe)
	}
	info.Tier = TierFor(info.Renderer, info.BenchMS)
	if path == "" || opts.SkipBenchmark {
		return
	}
	entries[key] = cacheEntry{Tier: info.Tier, BenchMS: info.BenchMS, Measured: time.Now().UTC()}
	if b, err := json.MarshalIndent(entries, "", "  "); err == nil {
		_ = os.MkdirAll(filepath.Dir(path), 0o755)
		tmp := path + ".tmp"
		if os.WriteFile(tmp, b, 0o644) == nil {
			_ = os.Rename(tmp, path)
		}
	}
}

// benchmark times 1280x720 blur composites on a synthetic frame: one warm-up
// then 5 measured; returns the median in ms (about 0.1 s on llvmpipe).
func benchmark(pipe *glpipe.Pipeline) float64 {
	frame := testimg.Gradient(1280, 720)
	mask := testimg.Ellipse(256, 144, 0.5, 0.6, 0.25, 0.45, 0.08)
	eff := Effect{Mode: EffectBlur, BlurStrength: 0.7}
	if _, err := pipe.Composite(frame, mask, eff); err != nil {
		return 0
	}
	var ms []float64
	for i := 0; i < 5; i++ {
		t := time.Now()
		if _, err := pipe.Composite(frame, mask, eff); err != nil {
			return 0
		}
		ms = append(ms, float64(time.Since(t).Microseconds())/1000)
	}
	slices.Sort(ms)
	return ms[len(ms)/2]
}
