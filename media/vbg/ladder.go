package vbg

import (
	"fmt"
	"time"
)

// Level is a rung of the degrade ladder. Higher levels cost less.
type Level int

const (
	// LevelFull: the requested effect, segmentation on every frame with the
	// general (256x256) model.
	LevelFull Level = iota
	// LevelSkipFrames: segment every other frame (the mask is reused in
	// between; a moving edge may lag one more frame).
	LevelSkipFrames
	// LevelLandscape: the smaller 256x144 landscape model (about half the
	// inference cost, and a better fit for 16:9 frames).
	LevelLandscape
	// LevelLowBlur: a narrower blur kernel (blur modes only). The
	// compositor's working resolution is fixed by the shared recipe
	// (effect.WorkDiv) for both backends, so "lower blur resolution" is
	// done as a smaller kernel: at most LowBlurStrength.
	LevelLowBlur
	// LevelBlurInstead: a light blur instead of image replacement
	// (replacement modes only).
	LevelBlurInstead
	// LevelOff: no effect; the camera frame goes out as is.
	LevelOff
)

func (l Level) String() string {
	switch l {
	case LevelFull:
		return "full"
	case LevelSkipFrames:
		return "skip-frames"
	case LevelLandscape:
		return "landscape-model"
	case LevelLowBlur:
		return "low-blur"
	case LevelBlurInstead:
		return "blur-instead"
	case LevelOff:
		return "off"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// Describe is a sentence for the user about what the level gives up.
func (l Level) Describe() string {
	switch l {
	case LevelFull:
		return "full quality"
	case LevelSkipFrames:
		return "the person outline is updated every other frame"
	case LevelLandscape:
		return "a faster, less detailed person outline"
	case LevelLowBlur:
		return "a lighter background blur"
	case LevelBlurInstead:
		return "background blur instead of your background image"
	case LevelOff:
		return "background effect turned off"
	}
	return l.String()
}

// StepsFor returns the ladder's rungs for an effect kind, best first:
// LevelLowBlur only applies to blur, LevelBlurInstead only to replacement.
func StepsFor(k Kind) []Level {
	switch k {
	case BlurLight, BlurStrong:
		return []Level{LevelFull, LevelSkipFrames, LevelLandscape, LevelLowBlur, LevelOff}
	case Image:
		return []Level{LevelFull, LevelSkipFrames, LevelLandscape, LevelBlurInstead, LevelOff}
	}
	return []Level{LevelFull}
}

// LadderConfig tunes the ladder. Zero fields take the defaults in brackets.
type LadderConfig struct {
	// TargetFPS is the frame rate the effect must hold [24].
	TargetFPS float64
	// CameraFPS is what the camera alone delivers [30]; the threshold is
	// min(TargetFPS, 0.9*CameraFPS), so a camera slower than the target
	// does not count against the effect.
	CameraFPS float64
	// Window: how long the estimate must stay below the threshold before a
	// step down [3 s], and the length of the rate window [1 s is used for
	// the rate; Window for the decision].
	Window time.Duration
	// UpAfter: how long the headroom must last before a step up [10 s].
	// Doubled (up to MaxUpAfter) each time a step up is followed by a step
	// down within BounceWindow, so a machine on the edge does not oscillate.
	UpAfter      time.Duration
	MaxUpAfter   time.Duration // [2 min]
	BounceWindow time.Duration // [30 s]
	// Headroom: a step up needs capacity >= Headroom * threshold [1.6].
	Headroom float64
}

func (c LadderConfig) withDefaults() LadderConfig {
	if c.TargetFPS <= 0 {
		c.TargetFPS = 24
	}
	if c.CameraFPS <= 0 {
		c.CameraFPS = 30
	}
	if c.Window <= 0 {
		c.Window = 3 * time.Second
	}
	if c.UpAfter <= 0 {
		c.UpAfter = 10 * time.Second
	}
	if c.MaxUpAfter <= 0 {
		c.MaxUpAfter = 2 * time.Minute
	}
	if c.BounceWindow <= 0 {
		c.BounceWindow = 30 * time.Second
	}
	if c.Headroom <= 0 {
		c.Headroom = 1.6
	}
	return c
}

// Threshold is the frame rate below which the effect steps down.
func (c LadderConfig) Threshold() float64 {
	c = c.withDefaults()
	return min(c.TargetFPS, 0.9*c.CameraFPS)
}

// Sample is one processed frame as the ladder sees it.
type Sample struct {
	// At is when the frame arrived (any monotonic clock; only differences
	// matter).
	At time.Duration
	// CostMs is the wall time the effect added to this frame on the
	// capture goroutine (copy, mask, composite).
	CostMs float64
	// SegMs is the segmentation cost of one inference (pre + inference +
	// post), SegEvery how many frames share one inference, SegWorkers the
	// number of workers. SegMs 0: no segmentation running.
	SegMs      float64
	SegEvery   int
	SegWorkers int
}

// Change is a step of the ladder.
type Change struct {
	From, To Level
	At       time.Duration
	// FPS is the estimate that triggered the change, Threshold the limit.
	FPS, Threshold float64
}

// Down reports whether the change lowers quality.
func (c Change) Down() bool { return c.To > c.From }

// Message is the notice for the user.
func (c Change) Message() string {
	if c.Down() {
		return fmt.Sprintf("Your computer cannot keep up with the background effect (%.0f fps): %s.", c.FPS, c.To.Describe())
	}
	if c.To == LevelFull {
		return "Background effect back to full quality."
	}
	return fmt.Sprintf("Background effect improved: %s.", c.To.Describe())
}

// Ladder is the degrade state machine: feed it one Sample per frame and it
// says when to step down or up. It is pure (no clock, no goroutines; time
// comes from the samples) and not safe for concurrent use.
//
// Evidence, over the last second: delivered = frames seen per second;
// capacity = min(1000/mean CostMs, segmentation throughput
// SegWorkers*SegEvery*1000/SegMs), what the effect could sustain with an
// infinitely fast camera; busy = share of wall time spent in the effect.
//
// The effect is limiting when capacity < Threshold, or when delivered <
// Threshold while busy > 50 % (the capture loop spends most of its time in
// the effect; this catches camera-read time plus effect cost). A camera that
// is slow by itself (low light: few frames, small busy share) is not blamed
// on the effect.
//
// Down: limiting for Window without a break. Up: capacity at least Headroom
// * Threshold, and not throttling (delivered >= Threshold or busy < 30 %),
// for UpAfter (with back-off after a bounce). After any change the evidence
// starts afresh.
type Ladder struct {
	cfg   LadderConfig
	steps []Level
	idx   int

	win        []Sample // the last second
	belowSince time.Duration
	below      bool
	upSince    time.Duration
	up         bool
	upAfter    time.Duration
	lastUp     time.Duration
	wentUp     bool
	started    bool
	startedAt  time.Duration
	lastFPS    float64
}

// NewLadder returns a ladder at the first of steps (see [StepsFor]).
func NewLadder(cfg LadderConfig, steps []Level) *Ladder {
	if len(steps) == 0 {
		steps = []Level{LevelFull}
	}
	cfg = cfg.withDefaults()
	return &Ladder{cfg: cfg, steps: append([]Level(nil), steps...), upAfter: cfg.UpAfter}
}

// Level is the current rung.
func (l *Ladder) Level() Level { return l.steps[l.idx] }

// FPS is the last estimate (0 before a full second of samples).
func (l *Ladder) FPS() float64 { return l.lastFPS }

// Reset returns to the first rung with new steps and forgets the history
// (the user chose a different effect).
func (l *Ladder) Reset(steps []Level) {
	*l = *NewLadder(l.cfg, steps)
}

// Observe adds a sample and returns the change it causes, if any.
func (l *Ladder) Observe(s Sample) (Change, bool) {
	if !l.started {
		l.started, l.startedAt = true, s.At
	}
	l.win = append(l.win, s)
	cut := 0
	for cut < len(l.win) && s.At-l.win[cut].At >= time.Second {
		cut++
	}
	l.win = l.win[cut:]
	if s.At-l.startedAt < time.Second {
		return Change{}, false // not a full second of evidence yet
	}
	var cost float64
	for _, w := range l.win {
		cost += w.CostMs
	}
	delivered := float64(len(l.win))
	capacity := 1e9
	if cost > 0 {
		capacity = 1000 * float64(len(l.win)) / cost
	}
	if s.SegMs > 0 {
		capacity = min(capacity, float64(max(s.SegWorkers, 1)*max(s.SegEvery, 1))*1000/s.SegMs)
	}
	fps := min(delivered, capacity)
	l.lastFPS = fps
	thr := l.cfg.Threshold()
	// busy: the share of wall time the capture goroutine spent in the
	// effect. A low delivered rate with a small busy share is the camera's
	// doing (low light, a slow device), not the effect's.
	busy := cost / 1000 / max(float64(s.At-l.win[0].At)/float64(time.Second), 1)
	limiting := capacity < thr || (delivered < thr && busy > 0.5)
	if limiting {
		if !l.below {
			// The estimate covers the last second: the slow period
			// began at the window's first frame.
			l.below, l.belowSince = true, l.win[0].At
		}
	} else {
		l.below = false
	}
	if capacity >= l.cfg.Headroom*thr && (delivered >= thr || busy < 0.3) {
		if !l.up {
			l.up, l.upSince = true, s.At
		}
	} else {
		l.up = false
	}

	switch {
	case l.below && s.At-l.belowSince >= l.cfg.Window && l.idx < len(l.steps)-1:
		if l.wentUp && s.At-l.lastUp < l.cfg.BounceWindow {
			l.upAfter = min(2*l.upAfter, l.cfg.MaxUpAfter)
		}
		return l.move(+1, s.At, fps, thr), true
	case l.up && s.At-l.upSince >= l.upAfter && l.idx > 0:
		l.wentUp, l.lastUp = true, s.At
		return l.move(-1, s.At, fps, thr), true
	}
	return Change{}, false
}

func (l *Ladder) move(d int, at time.Duration, fps, thr float64) Change {
	c := Change{From: l.steps[l.idx], To: l.steps[l.idx+d], At: at, FPS: fps, Threshold: thr}
	l.idx += d
	l.win = l.win[:0]
	l.below, l.up = false, false
	l.startedAt = at
	return c
}
