// Package gpu composites camera frames with a segmentation mask for Podium's
// publish path: background blur or replacement, output as I420 for the VP8
// encoder. New returns the OpenGL compositor (gpu/glpipe on a gpu/egl
// context) when a context can be made, and the CPU fallback (gpu/cpu, gocv)
// otherwise; a GL error later switches to the CPU for good, logged once
// through log/slog, and the failing call is answered by the CPU. Both follow
// the recipe of package effect and agree within PSNR >= 40 dB on real frames.
//
// Packages:
//   - gpu/effect: settings and the shared recipe (sizes, kernels, constants);
//   - gpu/egl: the EGL context owner (one goroutine, locked OS thread);
//   - gpu/glpipe: the shader passes;
//   - gpu/cpu: the CPU fallback;
//   - gpu/testimg: inputs for tests and benchmarks.
package gpu

import (
	"errors"
	"image"
	"log/slog"
	"sync"

	"github.com/podiumhq/podium/gpu/cpu"
	"github.com/podiumhq/podium/gpu/effect"
	"github.com/podiumhq/podium/gpu/egl"
	"github.com/podiumhq/podium/gpu/glpipe"
)

// Effect is one frame's effect settings (see effect.Effect).
type Effect = effect.Effect

// EffectMode selects the background treatment.
type EffectMode = effect.Mode

const (
	EffectNone    = effect.None    // pass the frame through
	EffectBlur    = effect.Blur    // blur the background (Effect.BlurStrength 0..1)
	EffectReplace = effect.Replace // replace it with Effect.Background, scaled to cover
)

// Compositor turns a frame and a mask into an encoder-ready I420 image.
type Compositor interface {
	// Composite composites frame (W x H RGBA) with mask (a confidence mask
	// at model resolution, any size, 0..255 meaning 0..1 "person") under
	// eff. The mask is upsampled with edge-aware refinement (a guided
	// filter guided by the frame) and feathered. The result is a new
	// W x H *image.YCbCr, YCbCrSubsampleRatio420, BT.601 limited range,
	// owned by the caller. mask may be nil for EffectNone.
	// Errors: ErrNoFrame, ErrNoMask, ErrNoBackground, ErrClosed; a GPU
	// failure is not returned but answered by the CPU fallback.
	Composite(frame *image.RGBA, mask *image.Gray, eff Effect) (*image.YCbCr, error)
	// Backend is "gpu" or "cpu": the backend the next call will use.
	Backend() string
	// Close frees the backend's resources. Further calls return ErrClosed.
	Close() error
}

// Input errors, returned without switching backends.
var (
	ErrNoFrame      = errors.New("gpu: empty frame")
	ErrNoMask       = errors.New("gpu: effect needs a mask")
	ErrNoBackground = errors.New("gpu: EffectReplace needs a Background")
	ErrClosed       = errors.New("gpu: compositor closed")
)

// Fault injects a failure, for tests of the fallback.
type Fault int

const (
	NoFault Fault = iota
	// FaultNoEGL makes context creation fail (no platform is tried).
	FaultNoEGL
	// FaultBadShader compiles a fragment shader that does not compile.
	FaultBadShader
	// FaultGLError makes every GPU frame fail with a GL error.
	FaultGLError
)

// Options configures New. The zero value is the production setting.
type Options struct {
	// ForceCPU skips the GPU entirely.
	ForceCPU bool
	// FaultInjection forces a GPU failure (tests only).
	FaultInjection Fault
	// Logger receives the one-time fallback notice; nil means slog.Default().
	Logger *slog.Logger
	// TierCache is the tier cache file; "" means
	// os.UserCacheDir()/podium/gpu-tier.json, "-" disables caching.
	TierCache string
	// SkipBenchmark decides the tier from the renderer alone (BenchMS 0)
	// when no cached result exists.
	SkipBenchmark bool
}

// New returns the GPU compositor, or the CPU fallback when no EGL context
// or shader program can be made, with what was detected. It never fails.
func New(opts Options) (Compositor, Info) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.ForceCPU {
		return newSwitch(nil, nil, log), Info{Tier: TierNone, Backend: "cpu", Reason: "forced CPU"}
	}
	eo := egl.Options{}
	if opts.FaultInjection == FaultNoEGL {
		eo.Platforms = []egl.Platform{}
	}
	ctx, err := egl.Open(eo)
	if err != nil {
		log.Warn("gpu: no EGL context, compositing on the CPU", "err", err)
		return newSwitch(nil, nil, log), Info{Tier: TierNone, Backend: "cpu", Reason: err.Error()}
	}
	ci := ctx.Info()
	info := Info{GLVersion: ci.GLVersion, Renderer: ci.Renderer, Vendor: ci.Vendor, Extensions: ci.Extensions,
		Platform: string(ci.Platform), Backend: "gpu"}
	po := glpipe.Options{}
	switch opts.FaultInjection {
	case FaultBadShader:
		po.Fault = glpipe.BadShader
	case FaultGLError:
		po.Fault = glpipe.GLError
	}
	pipe, err := glpipe.New(ctx, po)
	if err != nil {
		ctx.Close()
		log.Warn("gpu: shaders failed, compositing on the CPU", "err", err)
		info.Tier, info.Backend, info.Reason = TierNone, "cpu", err.Error()
		return newSwitch(nil, nil, log), info
	}
	detectTier(&info, pipe, opts)
	return newSwitch(ctx, pipe, log), info
}

// switcher runs the GPU pipeline until it fails, then the CPU for good.
type switcher struct {
	mu     sync.Mutex
	ctx    *egl.Context
	pipe   *glpipe.Pipeline
	cpu    *cpu.Compositor
	log    *slog.Logger
	closed bool
}

func newSwitch(ctx *egl.Context, pipe *glpipe.Pipeline, log *slog.Logger) *switcher {
	return &switcher{ctx: ctx, pipe: pipe, log: log}
}

func validate(frame *image.RGBA, mask *image.Gray, eff Effect) error {
	if frame == nil || frame.Rect.Empty() {
		return ErrNoFrame
	}
	if eff.Mode != EffectNone && (mask == nil || mask.Rect.Empty()) {
		return ErrNoMask
	}
	if eff.Mode == EffectReplace && eff.Background == nil {
		return ErrNoBackground
	}
	return nil
}

func (s *switcher) Composite(frame *image.RGBA, mask *image.Gray, eff Effect) (*image.YCbCr, error) {
	if err := validate(frame, mask, eff); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.pipe != nil {
		out, err := s.pipe.Composite(frame, mask, eff)
		if err == nil {
			return out, nil
		}
		s.log.Warn("gpu: GPU compositing failed, switching to the CPU for this session", "err", err)
		s.dropGPU()
	}
	if s.cpu == nil {
		s.cpu = cpu.New()
	}
	return s.cpu.Composite(frame, mask, eff)
}

func (s *switcher) dropGPU() {
	if s.pipe != nil {
		s.pipe.Close()
		s.pipe = nil
	}
	if s.ctx != nil {
		s.ctx.Close()
		s.ctx = nil
	}
}

func (s *switcher) Backend() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pipe != nil {
		return "gpu"
	}
	return "cpu"
}

func (s *switcher) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.dropGPU()
	if s.cpu != nil {
		return s.cpu.Close()
	}
	return nil
}
