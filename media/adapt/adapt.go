// Package adapt chooses what a Podium sender publishes from what its link
// and its computer can take: a ladder of video resolutions and frame rates
// ending in audio only, driven by the send-side bandwidth estimate (GCC over
// transport-wide congestion control feedback) and by the encoder's busy
// share (CPU pressure).
//
// Two rules hold: bandwidth pressure lowers the resolution (a rung lower on
// the ladder), CPU pressure lowers the frame rate (at the same resolution).
// When even the lowest video rung cannot be sustained the sender goes audio
// only, and probes the lowest rung again after a back-off so video comes
// back by itself when the link recovers.
//
// The Controller is pure: it is fed the time, the estimate and the encoder
// load, and says what to do. It has no goroutines and no clock.
package adapt

import (
	"fmt"
	"time"
)

// Rung is one step of the ladder. A rung with Width 0 is audio only.
type Rung struct {
	Name          string
	Width, Height int
	FPS           int
	// MinBitrate is the video bitrate (bit/s) below which this rung looks
	// bad enough that a lower one is better; MaxBitrate is the most it is
	// given.
	MinBitrate, MaxBitrate int
}

// AudioOnly reports whether the rung sends no video.
func (r Rung) AudioOnly() bool { return r.Width == 0 }

func (r Rung) String() string {
	if r.AudioOnly() {
		return "audio-only"
	}
	return fmt.Sprintf("%dx%d@%d", r.Width, r.Height, r.FPS)
}

// DefaultLadder is Podium's camera ladder, best first.
var DefaultLadder = []Rung{
	{Name: "720p30", Width: 1280, Height: 720, FPS: 30, MinBitrate: 1_000_000, MaxBitrate: 2_500_000},
	{Name: "480p30", Width: 640, Height: 480, FPS: 30, MinBitrate: 450_000, MaxBitrate: 1_200_000},
	{Name: "480p15", Width: 640, Height: 480, FPS: 15, MinBitrate: 250_000, MaxBitrate: 700_000},
	{Name: "240p15", Width: 320, Height: 240, FPS: 15, MinBitrate: 60_000, MaxBitrate: 350_000},
	{Name: "audio", MinBitrate: 0, MaxBitrate: 0},
}

// Config tunes a Controller. Zero fields take the defaults.
type Config struct {
	Ladder []Rung
	// SourceWidth/Height, when set, drop rungs larger than the source (the
	// first remaining video rung is the source's own size).
	SourceWidth, SourceHeight int
	// AudioReserve is taken off the estimate before video (default 40 kbit/s:
	// Opus at 32 kbit/s and packet overhead).
	AudioReserve int
	// DownHold: how long the budget must stay under a rung's minimum before
	// stepping down (default 1 s). Under half the minimum steps at once.
	DownHold time.Duration
	// UpHold: how long the budget must stay above the next rung's minimum
	// (with 15 % headroom) before stepping up (default 3 s).
	UpHold time.Duration
	// ProbeAfter: audio only for this long, then the lowest video rung is
	// tried again; each failed probe doubles it up to ProbeMax (defaults
	// 4 s, 32 s). ProbeHold: a probe is not judged for this long (8 s:
	// GCC's estimate grows about 8 % a second).
	ProbeAfter, ProbeMax, ProbeHold time.Duration
	// CPUHigh: encoder busy share (encode time per second of wall time)
	// above which the frame rate is halved after CPUHold; CPULow: below
	// which it is doubled back after CPURecover (defaults 0.8, 0.3, 2 s, 8 s).
	CPUHigh, CPULow     float64
	CPUHold, CPURecover time.Duration
	// UpProbeAfter: with no congestion for this long, and the estimate
	// short of the next rung up, the sender probes for headroom (GCC over
	// pion has no probing of its own: its estimate only follows what is
	// actually sent, by about 8 % a second). A probe keeps the rung and
	// fills the gap to the next rung's rate with RTP padding
	// (Decision.Probe), as libwebrtc's bandwidth probes do, so a probe
	// that a capped link cannot carry costs a little padding and loss for
	// a moment, not a bigger picture's key frame. It is judged after
	// UpProbeHold: congestion (GCC decreasing, or loss over 10 %) ends it
	// and doubles the wait up to UpProbeMax; a clean probe makes its rate
	// the validated estimate (until the next congestion, which takes it
	// down to 85 %) and steps up to the rung it probed for (defaults 4 s,
	// 3 s, 32 s).
	UpProbeAfter, UpProbeHold, UpProbeMax time.Duration
	// CeilingHold: congestion seen while sending a rung (congestion that
	// pushed the sender off it) is a ceiling: for this long no probe goes
	// to that rung or to any better one (they all need at least its rate),
	// then it is forgotten (default 8 s). Congestion on the lowest video
	// rung sets no ceiling: below it is audio only, which has its own
	// back-off. A rung that a probe took and congestion took away within
	// FlapWindow (default 10 s) makes the next probe wait at least twice
	// UpProbeAfter: a link just under a rung's rate does not flip the
	// picture size every few seconds.
	CeilingHold, FlapWindow time.Duration
	// PressureMemory: a step down to a lower video rung needs congestion
	// seen within this long (default 5 s). GCC only lowers its estimate on
	// congestion, with one exception that is no sign of the link: pion
	// clamps it to 1.5 x the acknowledged rate of the last 500 ms once
	// that rate is near the rate of its last decrease, so an encoder that
	// sends less than its target (simple content) pulls the estimate under
	// the rung's minimum on a link with room to spare.
	PressureMemory time.Duration
	// CalmReset: calm for this long puts the up-probe wait back to
	// UpProbeAfter however often probes failed before (default 10 s).
	// After a clean probe the next one, a rung further up, waits only a
	// quarter of UpProbeAfter: a link that was just released climbs
	// quickly, one rung per probe.
	CalmReset time.Duration
	// RungGrace: congestion in this long after a change of rung (the new
	// encoder's key frame, a burst) sets no ceiling; lasting congestion
	// does (default 1.5 s).
	RungGrace       time.Duration
	MinFPS          int // frame-rate floor under CPU pressure (default 5)
	MinVideoBitrate int // floor for the encoder (default 60 kbit/s)
}

func (c *Config) defaults() {
	if len(c.Ladder) == 0 {
		c.Ladder = DefaultLadder
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DownHold, time.Second)
	def(&c.UpHold, 3*time.Second)
	def(&c.ProbeAfter, 4*time.Second)
	def(&c.ProbeMax, 32*time.Second)
	def(&c.ProbeHold, 8*time.Second)
	def(&c.CPUHold, 2*time.Second)
	def(&c.CPURecover, 8*time.Second)
	def(&c.UpProbeAfter, 4*time.Second)
	def(&c.UpProbeHold, 3*time.Second)
	def(&c.UpProbeMax, 32*time.Second)
	def(&c.CeilingHold, 8*time.Second)
	def(&c.FlapWindow, 10*time.Second)
	def(&c.PressureMemory, 5*time.Second)
	def(&c.CalmReset, 10*time.Second)
	def(&c.RungGrace, 1500*time.Millisecond)
	if c.AudioReserve == 0 {
		c.AudioReserve = 40_000
	}
	if c.CPUHigh == 0 {
		c.CPUHigh = 0.8
	}
	if c.CPULow == 0 {
		c.CPULow = 0.3
	}
	if c.MinFPS == 0 {
		c.MinFPS = 5
	}
	if c.MinVideoBitrate == 0 {
		c.MinVideoBitrate = 60_000
	}
}

// Input is one observation.
type Input struct {
	Now time.Time
	// Estimate is the send-side bandwidth estimate for the whole
	// connection (bit/s).
	Estimate int
	// EncodeBusy is the share of wall time the encoder pipeline was busy
	// over the last second (0..1+).
	EncodeBusy float64
	// Congested: the estimator saw congestion since the last input (GCC
	// in its decrease state, loss over 10 %, or the estimate falling).
	// Calm: no sign of congestion at all (no delay overuse either).
	Congested, Calm bool
	// Throughput is what the sender actually sent over the last second,
	// video and audio (bit/s; 0: unknown). A rung is only stepped up to on
	// an estimate that traffic backs: at most 1.5 times the throughput
	// plus 10 kbit/s, the bound libwebrtc's AIMD rate control puts on its
	// delay-based estimate (pion's GCC keeps raising its estimate while
	// the sender sends far less, e.g. a small rung's encoder undershooting
	// its target). Without that backing only a probe goes up.
	Throughput int
}

// Decision is what the sender should publish now.
type Decision struct {
	Rung    Rung
	Index   int // in the controller's ladder
	FPS     int // the rung's frame rate, lowered under CPU pressure
	Bitrate int // video encoder target, bit/s (0: audio only)
	// Target is the whole connection's rate the decision stands on: the
	// estimate, or more while probing or after a probe proved headroom
	// (the pacer is given at least this).
	Target int
	// Probe, when not 0, is the whole connection's rate (bit/s) a
	// bandwidth probe is testing: the sender adds RTP padding to what
	// it sends until it reaches it (see Config.UpProbeAfter).
	Probe int
	// Reason the sender is below its best: "", "bandwidth", "cpu", or
	// "probe" while trying video again after audio only.
	Reason string
}

// AudioOnly reports whether no video should be sent.
func (d Decision) AudioOnly() bool { return d.Rung.AudioOnly() }

// Controller is the ladder state machine.
type Controller struct {
	cfg    Config
	ladder []Rung
	idx    int

	belowSince, aboveSince time.Time
	audioSince             time.Time
	probeWait              time.Duration
	probing                bool
	probeStart             time.Time
	rungSince              time.Time

	// Probing up with padding: validated is the connection rate a clean
	// probe proved (0: none), kept until the next congestion.
	upProbe bool
	upStart time.Time
	upTo    int // the rung a probe up is for
	upRate  int // the connection rate it tests
	upWait  time.Duration
	// congestedLast: the last congestion seen (Config.PressureMemory);
	// upAt: when a clean probe last took a rung (Config.FlapWindow).
	congestedLast, upAt time.Time
	calmSince           time.Time
	validated           int
	// congestedAt[i]: when congestion was last seen while sending rung i
	// (the ceiling; see Config.CeilingHold).
	congestedAt []time.Time

	cpuFPS                    int
	cpuHighSince, cpuLowSince time.Time
	started                   bool
}

// New returns a controller starting at the best rung the initial estimate
// allows.
func New(cfg Config) *Controller {
	cfg.defaults()
	var ladder []Rung
	for _, r := range cfg.Ladder {
		if !r.AudioOnly() && cfg.SourceWidth > 0 && (r.Width > cfg.SourceWidth || r.Height > cfg.SourceHeight) {
			continue
		}
		ladder = append(ladder, r)
	}
	if len(ladder) == 0 || !ladder[len(ladder)-1].AudioOnly() {
		ladder = append(ladder, Rung{Name: "audio"})
	}
	maxFPS := 0
	for _, r := range ladder {
		maxFPS = max(maxFPS, r.FPS)
	}
	return &Controller{cfg: cfg, ladder: ladder, cpuFPS: maxFPS, probeWait: cfg.ProbeAfter, upWait: cfg.UpProbeAfter,
		congestedAt: make([]time.Time, len(ladder))}
}

// Ladder returns the rungs the controller uses.
func (c *Controller) Ladder() []Rung { return append([]Rung(nil), c.ladder...) }

// best returns the highest rung whose minimum fits budget.
func (c *Controller) best(budget int) int {
	for i, r := range c.ladder {
		if r.AudioOnly() || budget >= r.MinBitrate {
			return i
		}
	}
	return len(c.ladder) - 1
}

func (c *Controller) move(i int, now time.Time) {
	if i == c.idx {
		return
	}
	if c.ladder[i].AudioOnly() && !c.ladder[c.idx].AudioOnly() {
		c.audioSince = now
		if c.probing {
			c.probeWait = min(c.probeWait*2, c.cfg.ProbeMax)
		}
	}
	c.probing, c.upProbe = false, false
	c.idx = i
	c.rungSince = now
	c.belowSince, c.aboveSince = time.Time{}, time.Time{}
}

// blocked reports whether a probe up to rung j is under a live ceiling:
// congestion was seen within CeilingHold on j or on a rung between j and
// the lowest video rung (which all send less than j).
func (c *Controller) blocked(j int, now time.Time) bool {
	for i := j; i < len(c.ladder)-2; i++ {
		if t := c.congestedAt[i]; !t.IsZero() && now.Sub(t) < c.cfg.CeilingHold {
			return true
		}
	}
	return false
}

// Ceiling returns the best rung a probe may go to now (an index into
// Ladder(); the lowest video rung, which no ceiling blocks, when every
// better one is under a ceiling).
func (c *Controller) Ceiling(now time.Time) int {
	j := 0
	for j < len(c.ladder)-2 && c.blocked(j, now) {
		j++
	}
	return j
}

// Update feeds one observation and returns the decision.
func (c *Controller) Update(in Input) Decision {
	now := in.Now
	if in.Congested {
		// As GCC does on overuse: back off to 85 %, not to nothing.
		c.validated = c.validated * 85 / 100
		c.congestedLast = now
	}
	if !in.Calm || in.Congested {
		c.calmSince = time.Time{}
	} else if c.calmSince.IsZero() {
		c.calmSince = now
	}
	target := max(in.Estimate, c.validated)
	budget := target - c.cfg.AudioReserve
	// upBudget: the part of the budget that traffic backs (Input.Throughput),
	// or a clean probe proved; only it may take the sender up a rung.
	upBudget := budget
	if in.Throughput > 0 {
		upBudget = max(min(budget, in.Throughput*3/2+10_000-c.cfg.AudioReserve), c.validated-c.cfg.AudioReserve)
	}
	if !c.started {
		c.started = true
		c.idx = c.best(budget)
		c.rungSince = now
		if c.ladder[c.idx].AudioOnly() {
			c.audioSince = now
		}
	}
	cur := c.ladder[c.idx]
	last := len(c.ladder) - 1
	graced := now.Sub(c.rungSince) < c.cfg.RungGrace
	if in.Congested && !cur.AudioOnly() && !graced {
		c.congestedAt[c.idx] = now
	}
	if !c.calmSince.IsZero() && now.Sub(c.calmSince) >= c.cfg.CalmReset {
		c.upWait = c.cfg.UpProbeAfter
	}
	switch {
	case cur.AudioOnly():
		if b := c.best(upBudget); b < c.idx {
			c.move(b, now) // the estimate alone says video fits
		} else if now.Sub(c.audioSince) >= c.probeWait && last > 0 {
			c.move(last-1, now)
			c.probing, c.probeStart = true, now
		}
	case c.probing && now.Sub(c.probeStart) < c.cfg.ProbeHold:
		// A probe is given time for the estimate to follow.
	case c.upProbe:
		if in.Congested {
			// The link did not carry the probe: stop padding, wait longer.
			c.upProbe = false
			c.upWait = min(c.upWait*2, c.cfg.UpProbeMax)
		} else if now.Sub(c.upStart) >= c.cfg.UpProbeHold {
			// It did: its rate is proved, and the rung it was for is
			// taken.
			c.validated = max(c.validated, c.upRate)
			target = max(target, c.validated)
			budget = target - c.cfg.AudioReserve
			upBudget = max(upBudget, c.validated-c.cfg.AudioReserve)
			c.move(c.upTo, now)
			c.upWait = c.cfg.UpProbeAfter / 4
			c.upAt = now
		}
	default:
		if c.probing {
			c.probing = false
			if budget >= cur.MinBitrate {
				c.probeWait = c.cfg.ProbeAfter // video is back
			} else {
				c.probeWait = min(c.probeWait*2, c.cfg.ProbeMax)
			}
		}
		// The lowest video rung is left for audio only only when the whole
		// estimate is no more than its minimum: a little video over the
		// audio reserve beats none.
		have, floor := budget, c.idx == last-1
		if floor {
			have = target
		}
		pressed := !c.congestedLast.IsZero() && now.Sub(c.congestedLast) <= c.cfg.PressureMemory
		if (have < cur.MinBitrate || (floor && have == cur.MinBitrate)) && (floor || pressed) {
			c.aboveSince = time.Time{}
			if c.belowSince.IsZero() {
				c.belowSince = now
			}
			if have < cur.MinBitrate/2 || now.Sub(c.belowSince) >= c.cfg.DownHold {
				if !c.upAt.IsZero() && now.Sub(c.upAt) < c.cfg.FlapWindow {
					c.upWait = min(max(c.upWait*2, c.cfg.UpProbeAfter*2), c.cfg.UpProbeMax)
					c.upAt = time.Time{}
				}
				b := max(c.best(budget), c.idx+1)
				if b == last && target > c.ladder[last-1].MinBitrate {
					b = last - 1
				}
				c.move(b, now)
			}
		} else if c.idx > 0 && upBudget >= c.ladder[c.idx-1].MinBitrate*115/100 {
			c.belowSince = time.Time{}
			if c.aboveSince.IsZero() {
				c.aboveSince = now
			}
			if now.Sub(c.aboveSince) >= c.cfg.UpHold {
				c.move(c.idx-1, now)
			}
		} else {
			c.belowSince, c.aboveSince = time.Time{}, time.Time{}
		}
		if !c.ladder[c.idx].AudioOnly() && now.Sub(c.rungSince) > 10*time.Second {
			c.probeWait = c.cfg.ProbeAfter
		}
		// Probe up: calm for a while, steady on a rung, and the estimate
		// alone would not take the next rung. It tests the next rung's
		// rate, unless a ceiling blocks that rung.
		if r := c.ladder[c.idx]; c.idx > 0 && !r.AudioOnly() && (budget >= r.MinBitrate || c.idx == last-1) &&
			!c.calmSince.IsZero() && now.Sub(c.calmSince) >= c.upWait && now.Sub(c.rungSince) >= c.upWait &&
			upBudget < c.ladder[c.idx-1].MinBitrate*115/100 {
			if j := c.idx - 1; !c.blocked(j, now) {
				c.upProbe, c.upStart, c.upTo = true, now, j
				c.upRate = c.ladder[j].MinBitrate*115/100 + c.cfg.AudioReserve
			}
		}
	}
	c.updateCPU(in)
	// The encoder gets what traffic backs too (libwebrtc's target is also
	// bounded by 1.5 x the acknowledged rate): an estimate inflated while
	// the encoder undershot must not let the next complex scene burst
	// over the link.
	d := c.decision(min(budget, upBudget))
	d.Target = max(target, d.Bitrate+c.cfg.AudioReserve)
	if c.upProbe {
		d.Probe = c.upRate
		d.Target = max(d.Target, c.upRate)
	}
	return d
}

func (c *Controller) updateCPU(in Input) {
	maxFPS := 0
	for _, r := range c.ladder {
		maxFPS = max(maxFPS, r.FPS)
	}
	switch {
	case in.EncodeBusy > c.cfg.CPUHigh:
		c.cpuLowSince = time.Time{}
		if c.cpuHighSince.IsZero() {
			c.cpuHighSince = in.Now
		}
		if in.Now.Sub(c.cpuHighSince) >= c.cfg.CPUHold && c.cpuFPS > c.cfg.MinFPS {
			c.cpuFPS = max(c.cfg.MinFPS, min(c.cpuFPS, c.ladder[c.idx].FPS)/2)
			c.cpuHighSince = time.Time{}
		}
	case in.EncodeBusy < c.cfg.CPULow && c.cpuFPS < maxFPS:
		c.cpuHighSince = time.Time{}
		if c.cpuLowSince.IsZero() {
			c.cpuLowSince = in.Now
		}
		if in.Now.Sub(c.cpuLowSince) >= c.cfg.CPURecover {
			c.cpuFPS = min(maxFPS, c.cpuFPS*2)
			if c.cpuFPS*10 >= maxFPS*9 {
				c.cpuFPS = maxFPS
			}
			c.cpuLowSince = time.Time{}
		}
	default:
		c.cpuHighSince, c.cpuLowSince = time.Time{}, time.Time{}
	}
}

func (c *Controller) decision(budget int) Decision {
	r := c.ladder[c.idx]
	d := Decision{Rung: r, Index: c.idx}
	if c.idx > 0 {
		d.Reason = "bandwidth"
	}
	if r.AudioOnly() {
		return d
	}
	d.FPS = r.FPS
	if c.cpuFPS < r.FPS {
		d.FPS = c.cpuFPS
		if d.Reason == "" {
			d.Reason = "cpu"
		}
	}
	d.Bitrate = min(max(budget, c.cfg.MinVideoBitrate), r.MaxBitrate)
	if c.probing {
		d.Reason = "probe"
		d.Bitrate = max(d.Bitrate, r.MinBitrate)
	}
	return d
}
