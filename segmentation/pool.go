package segmentation

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"time"
)

// ModelKind selects one of the two converted models.
type ModelKind int

const (
	// General is the 256 x 256 model ([GeneralModel]).
	General ModelKind = iota
	// Landscape is the 256 x 144 model ([LandscapeModel]), about half the cost.
	Landscape
)

// PoolOptions configures a [Pool]. The zero value is valid: general model,
// one worker per CPU, every frame, no smoothing, soft mask.
type PoolOptions struct {
	// Model picks the model file searched for by [FindModel]; ModelPath, when
	// set, is used instead (an explicit flag).
	Model     ModelKind
	ModelPath string
	// Workers is the number of Segmenters (each with its own gocv.Net);
	// 0 means runtime.NumCPU(). At least 1.
	Workers int
	// Every runs inference on every Every-th submitted frame only (1 or 0:
	// all); the last mask is reused for the frames in between.
	Every int
	// Smoothing is [Smoother.Strength] (0 off; [DefaultSmoothing] = 0.85 is
	// a good value) and Motion its [Smoother.Motion].
	Smoothing float32
	Motion    float32
	// Threshold and Feather are applied by [Refine] after smoothing
	// (Threshold 0: soft confidence).
	Threshold float32
	Feather   float32
	// OpenCVThreads is passed to [SetOpenCVThreads] when the pool starts:
	// 0 means 1 (parallelism comes from Workers), < 0 leaves OpenCV alone.
	OpenCVThreads int
}

// Stats are a pool's counters and per-stage timings. Timings are exponential
// moving averages (weight 0.1 per sample) in milliseconds of wall time per
// processed frame: Preprocess (resize + RGB conversion + blob), Inference
// (OpenCV forward pass), Postprocess (output copy, smoothing, refine).
type Stats struct {
	Workers                                int
	Submitted, Processed, Dropped, Skipped uint64
	// Stale counts results discarded because a newer frame finished first.
	Stale                                    uint64
	PreprocessMs, InferenceMs, PostprocessMs float64
	// Busy is the fraction of total worker time spent working (0..1) since
	// the pool started.
	Busy float64
}

// Pool segments the newest submitted frame with N workers. Submission never
// blocks and never queues: there is one pending slot, and a frame submitted
// while the slot is full replaces (drops) the older one. Each finished mask
// is published only if it belongs to a newer frame than the current one, so
// the mask sequence is monotonic in seq. Temporal smoothing and refinement
// run in publication order.
type Pool struct {
	opts    PoolOptions
	workers []*Segmenter
	start   time.Time

	mu        sync.Mutex
	cond      *sync.Cond // signals workers: pending frame or close
	pending   image.Image
	pendSeq   uint64
	hasPend   bool
	closed    bool
	submitted uint64
	latest    Mask
	latestSeq uint64
	hasLatest bool
	changed   chan struct{} // closed and replaced on every publish
	smoother  Smoother
	stats     Stats
	busy      time.Duration

	wg sync.WaitGroup
}

// NewPool loads the model once per worker (validating it first) and starts
// the workers. Errors: the model cannot be found ([ErrModelNotFound], naming
// `make model`) or is invalid ([ErrInvalidModel]).
func NewPool(opts PoolOptions) (*Pool, error) {
	path := opts.ModelPath
	if path == "" {
		name := GeneralModel
		if opts.Model == Landscape {
			name = LandscapeModel
		}
		var err error
		if path, err = FindModel(name); err != nil {
			return nil, err
		}
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.Every < 1 {
		opts.Every = 1
	}
	switch {
	case opts.OpenCVThreads == 0:
		SetOpenCVThreads(1)
	case opts.OpenCVThreads > 0:
		SetOpenCVThreads(opts.OpenCVThreads)
	}
	p := &Pool{opts: opts, start: time.Now(), changed: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	p.smoother = Smoother{Strength: opts.Smoothing, Motion: opts.Motion}
	p.stats.Workers = opts.Workers
	for i := 0; i < opts.Workers; i++ {
		s, err := NewSegmenter(path)
		if err != nil {
			for _, w := range p.workers {
				w.Close()
			}
			return nil, err
		}
		p.workers = append(p.workers, s)
	}
	for _, s := range p.workers {
		p.wg.Add(1)
		go p.work(s)
	}
	return p, nil
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("segmentation: pool closed")

// Submit offers frame number seq (caller-chosen, increasing) to the pool and
// returns at once. It reports whether the frame was taken for inference;
// false means it was skipped by the Every option (the last mask stays valid
// for it) or the pool is closed. A taken frame may still be dropped in favour
// of a newer one before a worker picks it up. The pool reads frame until it
// is processed or dropped: do not modify it after Submit.
func (p *Pool) Submit(frame image.Image, seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.submitted++
	p.stats.Submitted++
	if (p.submitted-1)%uint64(p.opts.Every) != 0 {
		p.stats.Skipped++
		return false
	}
	if p.hasPend {
		p.stats.Dropped++
	}
	p.pending, p.pendSeq, p.hasPend = frame, seq, true
	p.cond.Signal()
	return true
}

// Latest returns the newest published mask, the seq of the frame it was
// computed from, and false if no mask has been published yet. The mask is
// shared and read-only.
func (p *Pool) Latest() (Mask, uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.latestSeq, p.hasLatest
}

// Next waits until a mask for a frame with seq > after is published and
// returns it, or returns ctx's error or [ErrClosed].
func (p *Pool) Next(ctx context.Context, after uint64) (Mask, uint64, error) {
	for {
		p.mu.Lock()
		if p.hasLatest && p.latestSeq > after {
			m, s := p.latest, p.latestSeq
			p.mu.Unlock()
			return m, s, nil
		}
		if p.closed {
			p.mu.Unlock()
			return Mask{}, 0, ErrClosed
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Mask{}, 0, ctx.Err()
		}
	}
}

// Stats returns a snapshot of the counters and timings.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	if el := time.Since(p.start); el > 0 {
		s.Busy = p.busy.Seconds() / (el.Seconds() * float64(len(p.workers)))
	}
	return s
}

// Close stops the workers after their current frame, frees their networks
// and wakes any Next callers. It is safe to call more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.pending, p.hasPend = nil, false
	p.cond.Broadcast()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	p.wg.Wait()
	var errs []error
	for _, s := range p.workers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

const ewma = 0.1

func avg(old, sample float64, first bool) float64 {
	if first {
		return sample
	}
	return old + ewma*(sample-old)
}

func (p *Pool) work(s *Segmenter) {
	defer p.wg.Done()
	var rgb []byte
	// With smoothing, the raw mask is only read by publish (the Smoother
	// returns a new mask), so each worker reuses one buffer for it.
	var scratch []float32
	if p.opts.Smoothing > 0 {
		w, h := s.Size()
		scratch = make([]float32, w*h)
	}
	for {
		p.mu.Lock()
		for !p.hasPend && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		frame, seq := p.pending, p.pendSeq
		p.pending, p.hasPend = nil, false
		p.mu.Unlock()

		t0 := time.Now()
		err := s.Prepare(frame)
		frame = nil
		var raw Mask
		var t1, t2 time.Time
		if err == nil {
			rgb = s.RGB(rgb)
			t1 = time.Now()
			if scratch != nil {
				raw = Mask{W: s.w, H: s.h, Conf: scratch}
				err = s.InferInto(scratch)
			} else {
				raw, err = s.Infer()
			}
			t2 = time.Now()
		}
		if err != nil {
			// A frame that cannot be processed (empty, bad buffer) is
			// dropped; the previous mask stays valid.
			p.mu.Lock()
			p.stats.Dropped++
			p.mu.Unlock()
			continue
		}
		p.publish(raw, rgb, seq, t0, t1, t2)
	}
}

// publish smooths, refines and installs a mask, in seq order.
func (p *Pool) publish(raw Mask, rgb []byte, seq uint64, t0, t1, t2 time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hasLatest && seq <= p.latestSeq {
		p.stats.Stale++
		p.busy += time.Since(t0)
		return
	}
	m := raw
	if p.opts.Smoothing > 0 {
		m = p.smoother.Apply(raw, rgb)
	}
	Refine(m, p.opts.Threshold, p.opts.Feather)
	t3 := time.Now()
	first := p.stats.Processed == 0
	p.stats.Processed++
	p.stats.PreprocessMs = avg(p.stats.PreprocessMs, ms(t1.Sub(t0)), first)
	p.stats.InferenceMs = avg(p.stats.InferenceMs, ms(t2.Sub(t1)), first)
	p.stats.PostprocessMs = avg(p.stats.PostprocessMs, ms(t3.Sub(t2)), first)
	p.busy += t3.Sub(t0)
	p.latest, p.latestSeq, p.hasLatest = m, seq, true
	close(p.changed)
	p.changed = make(chan struct{})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String formats the stats for logs.
func (s Stats) String() string {
	return fmt.Sprintf("workers=%d submitted=%d processed=%d dropped=%d skipped=%d stale=%d pre=%.2fms infer=%.2fms post=%.2fms busy=%.0f%%",
		s.Workers, s.Submitted, s.Processed, s.Dropped, s.Skipped, s.Stale, s.PreprocessMs, s.InferenceMs, s.PostprocessMs, 100*s.Busy)
}
