package vbg

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium/gpu"
	"github.com/podiumhq/podium/segmentation"
)

// Options configures New. The zero value is the production setting.
type Options struct {
	// Compositor, when set, is used (and not closed by the pipeline);
	// Info then describes it. Otherwise NewCompositor(GPU) picks one.
	Compositor gpu.Compositor
	Info       gpu.Info
	GPU        gpu.Options

	// Workers is the number of segmentation workers [1]. One
	// single-threaded OpenCV worker infers a 256x256 mask in about 4 ms,
	// far inside a frame interval; more only add CPU contention on small
	// machines.
	Workers int
	// Smoothing is the temporal smoothing strength of the masks
	// [segmentation.DefaultSmoothing]; negative disables it.
	Smoothing float32
	// FirstMaskWait bounds how long Process waits for the first mask after
	// the effect is switched on (there is no earlier mask to reuse)
	// [one frame interval at CameraFPS]. If it runs out the frame is
	// composited as all background (fully blurred or replaced): never the
	// raw background, never a blank frame. Later frames never wait.
	FirstMaskWait time.Duration

	// CameraFPS is the camera's frame rate [30] and TargetFPS the rate
	// the effect must hold [24] (see LadderConfig).
	CameraFPS float64
	TargetFPS float64
	// Ladder tunes the degrade ladder; NoDegrade turns it off (tests).
	Ladder    LadderConfig
	NoDegrade bool
	// OnChange is called on the capture goroutine when the ladder steps
	// down or up; it must return quickly (hand it to the UI thread).
	OnChange func(Change)
	// OnFrame is called on the capture goroutine after each composited
	// frame (diagnostics, tests, previews). It must not keep f.Mask.
	OnFrame func(f FrameInfo)

	Logger *slog.Logger
}

// FrameInfo describes one processed frame.
type FrameInfo struct {
	Seq     uint64      // frame number in this pipeline, from 1
	MaskSeq uint64      // the frame the mask was computed from (0: none)
	Mask    *image.Gray // the mask used (model resolution); nil: no effect
	Effect  gpu.Effect  // what was applied
	Level   Level
	Out     image.Image
	CostMs  float64 // wall time Process added
}

// Stats are the pipeline's counters and per-stage timings (ms; EWMA with
// weight 0.1 unless noted).
type Stats struct {
	Frames, Composited, Passed uint64
	// NoMask counts frames composited as all background because no mask
	// came within FirstMaskWait.
	NoMask  uint64
	Backend string // "gpu" or "cpu" compositor
	Level   Level
	Effect  Kind
	// Per frame on the capture goroutine: copy of the frame for the
	// segmentation pool, waiting for a first mask, composite (+ I420),
	// and the total Process time; TotalP50/P95 over the last 256 frames.
	CopyMs, WaitMs, CompositeMs, TotalMs float64
	TotalP50Ms, TotalP95Ms               float64
	// MaskLag is the mean number of frames between a frame and the frame
	// its mask came from (1 when inference keeps up with every frame).
	MaskLag float64
	// FPS is the ladder's estimate of what the effect sustains.
	FPS float64
	// Seg is the current segmentation pool's stats (pre/inference/post).
	Seg segmentation.Stats
}

// Pipeline is the publish path's virtual-background stage: it takes camera
// frames (Process, on the capture goroutine), runs segmentation on the newest
// frame in the background, and composites each frame with the newest mask
// available, returning I420 for the encoder. See the package doc.
type Pipeline struct {
	opts     Options
	log      *slog.Logger
	comp     gpu.Compositor
	ownsComp bool
	info     gpu.Info
	why      string

	want atomic.Pointer[choice] // set by SetEffect, read by Process

	mu        sync.Mutex // held by Process: everything below
	closed    bool
	start     time.Time
	gen       uint64 // generation of the choice in effect
	cur       Background
	ladder    *Ladder
	pools     map[segmentation.ModelKind]*segmentation.Pool
	seq       uint64
	active    bool   // segmentation running for the current effect
	segStart  uint64 // first frame of the current segmentation run
	since     int    // frames since the last submission
	mask      *image.Gray
	maskSeq   uint64
	empty     *image.Gray
	lastEvery int
	lastKind  segmentation.ModelKind

	now func() time.Time // time.Now; tests inject a clock

	smu    sync.Mutex
	stats  Stats
	totals []float64 // ring of the last 256 totals
}

type choice struct {
	bg  Background
	gen uint64
}

// NewCompositor returns the compositor for the publish path and what was
// detected. It prefers the CPU fallback over a software OpenGL renderer:
// measured on this project's 2-core reference machine, llvmpipe took 13-15 ms
// per 1280x720 composite against 6-7 ms for the CPU path (gocv), and its
// threads compete with the encoder and segmentation for the same cores. So on
// a software renderer (gpu.IsSoftware, i.e. Info.Tier == TierLow by renderer)
// the GL context is closed again and the CPU path is used; Info keeps what
// was detected, with Backend "cpu" and Reason saying why.
func NewCompositor(o gpu.Options) (gpu.Compositor, gpu.Info) {
	c, info := gpu.New(o)
	if info.Backend == "gpu" && gpu.IsSoftware(info.Renderer) {
		c.Close()
		c, _ = gpu.New(gpu.Options{ForceCPU: true, Logger: o.Logger})
		info.Backend = "cpu"
		info.Reason = "software OpenGL renderer (" + info.Renderer + ") is slower than the CPU compositor"
	}
	return c, info
}

// New starts a pipeline with no effect (call SetEffect). It loads the
// general segmentation model now, so a missing model is reported here
// (segmentation.ErrModelNotFound, naming `make model`).
func New(opts Options) (*Pipeline, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Smoothing == 0 {
		opts.Smoothing = segmentation.DefaultSmoothing
	}
	if opts.CameraFPS <= 0 {
		opts.CameraFPS = 30
	}
	if opts.TargetFPS <= 0 {
		opts.TargetFPS = 24
	}
	if opts.FirstMaskWait <= 0 {
		opts.FirstMaskWait = time.Duration(float64(time.Second) / opts.CameraFPS)
	}
	opts.Ladder.CameraFPS, opts.Ladder.TargetFPS = opts.CameraFPS, opts.TargetFPS
	p := &Pipeline{opts: opts, log: opts.Logger, start: time.Now(), now: time.Now,
		pools: map[segmentation.ModelKind]*segmentation.Pool{}, totals: make([]float64, 0, 256)}
	if _, err := p.pool(segmentation.General); err != nil {
		return nil, err
	}
	if opts.Compositor != nil {
		p.comp, p.info = opts.Compositor, opts.Info
	} else {
		p.comp, p.info = NewCompositor(opts.GPU)
		p.ownsComp = true
	}
	p.ladder = NewLadder(opts.Ladder, StepsFor(Off))
	p.want.Store(&choice{bg: None})
	p.stats.Backend = p.comp.Backend()
	return p, nil
}

// Info is what the compositor detected (for Offer).
func (p *Pipeline) Info() gpu.Info { return p.info }

// SetEffect switches the background; safe from any goroutine, at any time.
// The next frame Process handles uses it (a switch on from no effect reuses
// nothing and may wait up to FirstMaskWait once; switching between effects
// keeps the running mask, so there is no gap). It resets the degrade ladder.
func (p *Pipeline) SetEffect(bg Background) {
	for {
		old := p.want.Load()
		if p.want.CompareAndSwap(old, &choice{bg: bg, gen: old.gen + 1}) {
			return
		}
	}
}

// Effect returns the current choice.
func (p *Pipeline) Effect() Background { return p.want.Load().bg }

// Process is participant.Config.Process: it returns the frame composited
// under the current effect as I420 (*image.YCbCr, frame size), or frame
// itself when there is no effect (nil for nil). It never blocks on
// inference except once after the effect is switched on (FirstMaskWait).
// frame is not modified and not kept (the segmentation pool gets a copy).
func (p *Pipeline) Process(frame *image.RGBA) image.Image {
	if frame == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t0 := p.now()
	if p.closed || frame.Rect.Empty() {
		return frame
	}
	p.seq++
	seq := p.seq
	if c := p.want.Load(); c.gen != p.gen {
		p.gen, p.cur = c.gen, c.bg
		if !p.opts.NoDegrade {
			p.ladder.Reset(StepsFor(c.bg.Kind))
		}
	}
	lvl := p.ladder.Level()
	eff, on := effectFor(p.cur, lvl)
	if !on {
		p.active, p.mask = false, nil
		cost := p.since0(t0)
		p.record(cost, 0, 0, 0, 0, false, false)
		p.observe(t0, cost, nil, 1)
		if p.opts.OnFrame != nil {
			p.opts.OnFrame(FrameInfo{Seq: seq, Effect: eff, Level: lvl, Out: frame, CostMs: cost})
		}
		return frame
	}

	kind, every := segmentation.General, 1
	if lvl >= LevelSkipFrames {
		every = 2
	}
	if lvl >= LevelLandscape {
		kind = segmentation.Landscape
	}
	pool, err := p.pool(kind)
	if err != nil {
		p.log.Warn("vbg: landscape model unavailable, keeping the general model", "err", err)
		kind = segmentation.General
		pool, _ = p.pool(kind)
	}
	p.lastEvery, p.lastKind = every, kind
	if !p.active {
		p.active, p.segStart, p.since, p.mask, p.maskSeq = true, seq, 0, nil, 0
	}
	var copyMs float64
	if p.since%every == 0 {
		tc := time.Now()
		pool.Submit(cloneRGBA(frame), seq)
		copyMs = msSince(tc)
	}
	p.since++

	p.refreshMask()
	var waitMs float64
	if p.mask == nil {
		tw := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.FirstMaskWait)
		if m, s, err := pool.Next(ctx, p.segStart-1); err == nil {
			p.mask, p.maskSeq = m.Gray(), s
		}
		cancel()
		waitMs = msSince(tw)
	}
	mask, noMask := p.mask, false
	if mask == nil {
		// No mask in time: everything is background (hidden), never the
		// raw frame.
		if p.empty == nil {
			p.empty = image.NewGray(image.Rect(0, 0, 16, 16))
		}
		mask, noMask = p.empty, true
	}
	tc := time.Now()
	out, err := p.comp.Composite(frame, mask, eff)
	compMs := msSince(tc)
	if err != nil {
		// Only input errors reach here (GPU failures are answered by the
		// CPU inside gpu): the frame goes out as is rather than freezing.
		p.log.Warn("vbg: composite failed, sending the camera frame", "err", err)
		return frame
	}
	cost := p.since0(t0)
	lag := 0.0
	if !noMask {
		lag = float64(seq - p.maskSeq)
	}
	p.record(cost, copyMs, waitMs, compMs, lag, true, noMask)
	st := pool.Stats()
	p.observe(t0, cost, &st, every)
	if p.opts.OnFrame != nil {
		fi := FrameInfo{Seq: seq, Effect: eff, Level: lvl, Out: out, CostMs: cost}
		if !noMask {
			fi.Mask, fi.MaskSeq = mask, p.maskSeq
		}
		p.opts.OnFrame(fi)
	}
	return out
}

// refreshMask takes the newest mask of this segmentation run from any pool
// (the previous model's pool still answers while a new one starts).
func (p *Pipeline) refreshMask() {
	for _, pl := range p.pools {
		if m, s, ok := pl.Latest(); ok && s >= p.segStart && s > p.maskSeq {
			p.mask, p.maskSeq = m.Gray(), s
		}
	}
}

func (p *Pipeline) pool(k segmentation.ModelKind) (*segmentation.Pool, error) {
	if pl := p.pools[k]; pl != nil {
		return pl, nil
	}
	sm := p.opts.Smoothing
	if sm < 0 {
		sm = 0
	}
	pl, err := segmentation.NewPool(segmentation.PoolOptions{Model: k, Workers: p.opts.Workers, Smoothing: sm})
	if err != nil {
		return nil, err
	}
	p.pools[k] = pl
	return pl, nil
}

func (p *Pipeline) observe(t0 time.Time, cost float64, seg *segmentation.Stats, every int) {
	if p.opts.NoDegrade || p.cur.Kind == Off {
		return
	}
	s := Sample{At: t0.Sub(p.start), CostMs: cost, SegEvery: every}
	if seg != nil {
		s.SegMs = seg.PreprocessMs + seg.InferenceMs + seg.PostprocessMs
		s.SegWorkers = seg.Workers
	}
	c, ok := p.ladder.Observe(s)
	if !ok {
		return
	}
	p.log.Info("vbg: degrade ladder", "from", c.From, "to", c.To, "fps", c.FPS, "threshold", c.Threshold)
	if p.opts.OnChange != nil {
		p.opts.OnChange(c)
	}
}

const ewma = 0.1

func (p *Pipeline) record(total, copyMs, waitMs, compMs, lag float64, composited, noMask bool) {
	p.smu.Lock()
	defer p.smu.Unlock()
	s := &p.stats
	first := s.Frames == 0
	s.Frames++
	upd := func(v *float64, x float64) {
		if first {
			*v = x
		} else {
			*v += ewma * (x - *v)
		}
	}
	upd(&s.TotalMs, total)
	if composited {
		cf := s.Composited == 0
		s.Composited++
		for _, f := range []struct {
			v *float64
			x float64
		}{{&s.CopyMs, copyMs}, {&s.WaitMs, waitMs}, {&s.CompositeMs, compMs}, {&s.MaskLag, lag}} {
			if cf {
				*f.v = f.x
			} else {
				*f.v += ewma * (f.x - *f.v)
			}
		}
	} else {
		s.Passed++
	}
	if noMask {
		s.NoMask++
	}
	if len(p.totals) == cap(p.totals) {
		copy(p.totals, p.totals[1:])
		p.totals = p.totals[:len(p.totals)-1]
	}
	p.totals = append(p.totals, total)
}

// Stats returns a snapshot.
func (p *Pipeline) Stats() Stats {
	p.smu.Lock()
	s := p.stats
	t := slices.Clone(p.totals)
	p.smu.Unlock()
	slices.Sort(t)
	if n := len(t); n > 0 {
		s.TotalP50Ms = t[n/2]
		s.TotalP95Ms = t[min(n-1, n*95/100)]
	}
	s.Backend = p.comp.Backend()
	p.mu.Lock()
	s.Level, s.Effect, s.FPS = p.ladder.Level(), p.cur.Kind, p.ladder.FPS()
	if pl := p.pools[p.lastKind]; pl != nil {
		s.Seg = pl.Stats()
	}
	p.mu.Unlock()
	return s
}

// Close stops segmentation and frees the compositor it created. Process
// returns frames unchanged afterwards.
func (p *Pipeline) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for _, pl := range p.pools {
		errs = append(errs, pl.Close())
	}
	if p.ownsComp {
		errs = append(errs, p.comp.Close())
	}
	return errors.Join(errs...)
}

func cloneRGBA(f *image.RGBA) *image.RGBA {
	b := f.Rect
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if f.Stride == out.Stride && b.Min == (image.Point{}) {
		copy(out.Pix, f.Pix[:len(out.Pix)])
		return out
	}
	for y := 0; y < b.Dy(); y++ {
		copy(out.Pix[y*out.Stride:(y+1)*out.Stride], f.Pix[f.PixOffset(b.Min.X, b.Min.Y+y):])
	}
	return out
}

func (p *Pipeline) since0(t time.Time) float64 {
	return float64(p.now().Sub(t)) / float64(time.Millisecond)
}

func msSince(t time.Time) float64 { return float64(time.Since(t)) / float64(time.Millisecond) }
