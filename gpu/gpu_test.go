package gpu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/podiumhq/podium/gpu/cpu"
	"github.com/podiumhq/podium/gpu/internal/ref"
	"github.com/podiumhq/podium/gpu/testimg"
	"github.com/podiumhq/podium/internal/testdata"
)

func opts(t testing.TB, o Options) Options {
	if o.TierCache == "" {
		o.TierCache = filepath.Join(t.TempDir(), "gpu-tier.json")
	}
	return o
}

func newGPU(t testing.TB) (Compositor, Info) {
	t.Helper()
	c, info := New(opts(t, Options{}))
	t.Cleanup(func() { c.Close() })
	if c.Backend() != "gpu" {
		t.Fatalf("no GPU compositor: %s", info.Reason)
	}
	return c, info
}

func TestNewDetects(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "tier.json")
	c, info := New(Options{TierCache: cache})
	defer c.Close()
	t.Logf("backend=%s platform=%s gl=%q renderer=%q vendor=%q exts=%d tier=%s bench=%.2f ms",
		c.Backend(), info.Platform, info.GLVersion, info.Renderer, info.Vendor, len(info.Extensions), info.Tier, info.BenchMS)
	if c.Backend() != "gpu" || info.GLVersion == "" || info.Renderer == "" || len(info.Extensions) == 0 {
		t.Fatalf("detection incomplete: %+v", info)
	}
	if info.BenchMS <= 0 || info.Cached {
		t.Fatalf("benchmark not measured: %+v", info)
	}
	if IsSoftware(info.Renderer) && info.Tier != TierLow {
		t.Fatalf("software renderer %q got tier %s", info.Renderer, info.Tier)
	}
	b, err := os.ReadFile(cache)
	if err != nil {
		t.Fatalf("tier not cached: %v", err)
	}
	var m map[string]cacheEntry
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 1 {
		t.Fatalf("cache %s: %v %v", b, err, m)
	}
	c2, info2 := New(Options{TierCache: cache})
	defer c2.Close()
	if !info2.Cached || info2.Tier != info.Tier || info2.BenchMS != info.BenchMS {
		t.Fatalf("second New did not use the cache: %+v", info2)
	}
}

func TestTierFor(t *testing.T) {
	for _, c := range []struct {
		r    string
		ms   float64
		want Tier
	}{
		{"llvmpipe (LLVM 15.0.6, 256 bits)", 1, TierLow},
		{"softpipe", 0, TierLow},
		{"Mesa Software Rasterizer (swrast)", 0, TierLow},
		{"NVIDIA H200/PCIe/SSE2", 0.8, TierHigh},
		{"AMD Radeon Vega 8", 7, TierMedium},
		{"Intel(R) HD Graphics 3000", 30, TierLow},
	} {
		if got := TierFor(c.r, c.ms); got != c.want {
			t.Errorf("TierFor(%q, %v) = %s, want %s", c.r, c.ms, got, c.want)
		}
	}
	if m, w := (Info{Tier: TierLow}).Recommend(); m != EffectBlur || w == "" {
		t.Error("low tier should recommend blur with a warning")
	}
}

func frame720(t testing.TB) *image.RGBA {
	f, err := testimg.Load(testdata.Require(t, "opencv/messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	f, err = testimg.Resize(f, 1280, 720)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mask() *image.Gray { return testimg.Ellipse(256, 144, 0.5, 0.55, 0.22, 0.5, 0.1) }

// logBuf captures slog output.
func logBuf() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

func TestForcedFailuresFallBack(t *testing.T) {
	f := frame720(t)
	bg, err := testimg.Load(testdata.Require(t, "faceapi/sample1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		o     Options
		first string // backend right after New
	}{
		{"ForceCPU", Options{ForceCPU: true}, "cpu"},
		{"NoEGL", Options{FaultInjection: FaultNoEGL}, "cpu"},
		{"BadShader", Options{FaultInjection: FaultBadShader}, "cpu"},
		{"GLErrorAtRuntime", Options{FaultInjection: FaultGLError}, "gpu"},
	}
	ref := cpu.New()
	defer ref.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lg, buf := logBuf()
			c.o.Logger = lg
			comp, info := New(opts(t, c.o))
			defer comp.Close()
			if comp.Backend() != c.first {
				t.Fatalf("backend %s after New, want %s (%+v)", comp.Backend(), c.first, info)
			}
			if c.first == "cpu" && (info.Tier != TierNone || info.Reason == "") {
				t.Fatalf("info for CPU fallback: %+v", info)
			}
			for i, eff := range []Effect{{Mode: EffectBlur, BlurStrength: 0.6}, {Mode: EffectReplace, Background: bg}, {Mode: EffectNone}} {
				out, err := comp.Composite(f, mask(), eff)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				want, _ := ref.Composite(f, mask(), eff)
				if out.Rect != f.Rect || out.SubsampleRatio != image.YCbCrSubsampleRatio420 {
					t.Fatalf("bad output %v %v", out.Rect, out.SubsampleRatio)
				}
				if d := refMaxDiff(out, want); d != 0 {
					t.Fatalf("frame %d: fallback output differs from the CPU compositor by %d", i, d)
				}
			}
			if comp.Backend() != "cpu" {
				t.Fatalf("backend %s after a failure", comp.Backend())
			}
			if c.name != "ForceCPU" {
				if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
					t.Fatalf("want exactly one fallback log line, got %d:\n%s", n, buf.String())
				}
			}
			t.Logf("log: %s", strings.TrimSpace(buf.String()))
		})
	}
}

func refMaxDiff(a, b *image.YCbCr) int { return ref.MaxDiff(a, b) }

func TestInputErrors(t *testing.T) {
	c, _ := New(opts(t, Options{ForceCPU: true}))
	f := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for _, tc := range []struct {
		f    *image.RGBA
		m    *image.Gray
		e    Effect
		want error
	}{
		{nil, nil, Effect{}, ErrNoFrame},
		{f, nil, Effect{Mode: EffectBlur}, ErrNoMask},
		{f, mask(), Effect{Mode: EffectReplace}, ErrNoBackground},
	} {
		if _, err := c.Composite(tc.f, tc.m, tc.e); err != tc.want {
			t.Errorf("got %v want %v", err, tc.want)
		}
	}
	c.Close()
	if _, err := c.Composite(f, nil, Effect{}); err != ErrClosed {
		t.Errorf("after Close: %v", err)
	}
}

// The CPU fallback matches the GPU path on real frames: PSNR >= 40 dB over
// Y, Cb and Cr, for every effect, at the frames' own sizes and at 1280x720.
func TestCPUMatchesGPU(t *testing.T) {
	g, _ := newGPU(t)
	c, _ := New(opts(t, Options{ForceCPU: true}))
	defer c.Close()
	messi, err := testimg.Load(testdata.Require(t, "opencv/messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	video, err := testimg.VideoFrames(testdata.Require(t, "opencv/vtest.avi"), 3, 100, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	bg, err := testimg.Load(testdata.Require(t, "faceapi/sample3.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	frames := map[string]*image.RGBA{"messi5 548x342": messi, "messi5 1280x720": frame720(t)}
	for i, v := range video {
		frames[fmt.Sprintf("vtest#%d 768x576", i)] = v
	}
	masks := map[string]*image.Gray{"256x256": testimg.Ellipse(256, 256, 0.5, 0.55, 0.22, 0.5, 0.1), "256x144": mask()}
	effects := map[string]Effect{
		"none":           {Mode: EffectNone},
		"blur0.3":        {Mode: EffectBlur, BlurStrength: 0.3},
		"blur1":          {Mode: EffectBlur, BlurStrength: 1},
		"blur1+wrap":     {Mode: EffectBlur, BlurStrength: 1, LightWrap: true},
		"replace":        {Mode: EffectReplace, Background: bg},
		"replace+wrap":   {Mode: EffectReplace, Background: bg, LightWrap: true},
		"blur0 (sharp)":  {Mode: EffectBlur, BlurStrength: 0},
		"replace-square": {Mode: EffectReplace, Background: testimg.Gradient(300, 300)},
	}
	worst := 1e9
	for fn, f := range frames {
		for mn, m := range masks {
			for en, e := range effects {
				a, err := g.Composite(f, m, e)
				if err != nil {
					t.Fatal(err)
				}
				b, err := c.Composite(f, m, e)
				if err != nil {
					t.Fatal(err)
				}
				p := ref.PSNR(a, b)
				worst = min(worst, p)
				if p < 40 {
					t.Errorf("%s / mask %s / %s: PSNR %.1f dB < 40 (max diff %d)", fn, mn, en, p, ref.MaxDiff(a, b))
				}
			}
		}
	}
	t.Logf("worst PSNR GPU vs CPU over %d cases: %.1f dB", len(frames)*len(masks)*len(effects), worst)
	if g.Backend() != "gpu" {
		t.Fatal("GPU compositor fell back during the comparison")
	}
}

// Concurrent callers are serialised safely (run under -race).
func TestConcurrentUse(t *testing.T) {
	g, _ := newGPU(t)
	f := testimg.Gradient(320, 180)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, err := g.Composite(f, mask(), Effect{Mode: EffectBlur, BlurStrength: float64(i) / 4}); err != nil {
					t.Error(err)
				}
			}
		}(i)
	}
	wg.Wait()
}

func benchComposite(b *testing.B, c Compositor, eff Effect) {
	f := frame720(b)
	m := mask()
	if _, err := c.Composite(f, m, eff); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(f.Pix)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Composite(f, m, eff); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComposite measures one 1280x720 frame, upload and readback
// included, on each backend.
func BenchmarkComposite(b *testing.B) {
	bg, err := testimg.Load(testdata.Require(b, "faceapi/sample1.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	effs := []struct {
		name string
		e    Effect
	}{
		{"blur", Effect{Mode: EffectBlur, BlurStrength: 0.7}},
		{"replace", Effect{Mode: EffectReplace, Background: bg}},
	}
	for _, backend := range []string{"gpu", "cpu"} {
		c, info := New(opts(b, Options{ForceCPU: backend == "cpu", SkipBenchmark: true}))
		if c.Backend() != backend {
			b.Fatalf("wanted %s: %s", backend, info.Reason)
		}
		for _, e := range effs {
			b.Run(backend+"/"+e.name+"/1280x720", func(b *testing.B) { benchComposite(b, c, e.e) })
		}
		c.Close()
	}
}
