package adapt

import (
	"testing"
	"time"
)

type sim struct {
	c    *Controller
	now  time.Time
	last int
}

// run feeds est and busy every 250 ms for d. A falling estimate comes with
// congestion, as GCC lowers its estimate on overuse or loss.
func (s *sim) run(d time.Duration, est int, busy float64) Decision {
	var dec Decision
	for end := s.now.Add(d); !s.now.After(end); s.now = s.now.Add(250 * time.Millisecond) {
		dec = s.c.Update(Input{Now: s.now, Estimate: est, EncodeBusy: busy, Congested: est < s.last})
		s.last = est
	}
	return dec
}

func TestLadderSourceCap(t *testing.T) {
	c := New(Config{SourceWidth: 640, SourceHeight: 480})
	l := c.Ladder()
	if l[0].Name != "480p30" || !l[len(l)-1].AudioOnly() {
		t.Fatalf("ladder %v", l)
	}
}

func TestBandwidthLowersResolution(t *testing.T) {
	s := &sim{c: New(Config{}), now: time.Unix(0, 0)}
	if d := s.run(time.Second, 3_000_000, 0.1); d.Rung.Name != "720p30" || d.Reason != "" {
		t.Fatalf("start: %+v", d)
	}
	// 300 kbit/s: 240p15 at most (budget 260k < 480p15's 250k? no: fits 480p15).
	if d := s.run(2*time.Second, 300_000, 0.1); d.Rung.Name != "480p15" || d.Reason != "bandwidth" || d.Bitrate > 260_000 {
		t.Fatalf("300k: %+v", d)
	}
	if d := s.run(2*time.Second, 200_000, 0.1); d.Rung.Name != "240p15" || d.FPS != 15 {
		t.Fatalf("200k: %+v", d)
	}
	// Recovery steps up one rung per UpHold.
	d := s.run(3500*time.Millisecond, 3_000_000, 0.1)
	if d.Rung.Name != "480p15" {
		t.Fatalf("recover 1: %+v", d)
	}
	if d = s.run(10*time.Second, 3_000_000, 0.1); d.Rung.Name != "720p30" || d.Bitrate != 2_500_000 {
		t.Fatalf("recover: %+v", d)
	}
}

func TestShortDipIgnored(t *testing.T) {
	s := &sim{c: New(Config{}), now: time.Unix(0, 0)}
	s.run(time.Second, 3_000_000, 0)
	// 700k is under 720p's minimum but above half of it: one dip of 500 ms
	// does not move.
	if d := s.run(500*time.Millisecond, 800_000, 0); d.Rung.Name != "720p30" {
		t.Fatalf("dip: %+v", d)
	}
	if d := s.run(time.Second, 3_000_000, 0); d.Rung.Name != "720p30" {
		t.Fatalf("after dip: %+v", d)
	}
}

func TestAudioOnlyAndProbe(t *testing.T) {
	s := &sim{c: New(Config{}), now: time.Unix(0, 0)}
	s.run(time.Second, 1_500_000, 0)
	d := s.run(time.Second, 60_000, 0)
	if !d.AudioOnly() || d.Bitrate != 0 {
		t.Fatalf("want audio only: %+v", d)
	}
	// After ProbeAfter the lowest video rung is tried at its minimum.
	d = s.run(4*time.Second, 60_000, 0)
	if d.Rung.Name != "240p15" || d.Reason != "probe" || d.Bitrate < 60_000 {
		t.Fatalf("probe: %+v", d)
	}
	// The probe fails: audio again, and the next probe waits twice as long.
	for d = s.run(time.Second, 60_000, 0); !d.AudioOnly(); d = s.run(250*time.Millisecond, 60_000, 0) {
	}
	if d = s.run(4500*time.Millisecond, 60_000, 0); !d.AudioOnly() {
		t.Fatalf("second probe too early: %+v", d)
	}
	if d = s.run(4*time.Second, 60_000, 0); d.Reason != "probe" {
		t.Fatalf("second probe: %+v", d)
	}
	// The link recovers during the probe: video stays and climbs.
	if d = s.run(20*time.Second, 1_000_000, 0); d.Rung.Name != "480p30" {
		t.Fatalf("restored: %+v", d)
	}
}

func TestCPULowersFrameRate(t *testing.T) {
	s := &sim{c: New(Config{}), now: time.Unix(0, 0)}
	d := s.run(3*time.Second, 3_000_000, 0.95)
	if d.Rung.Name != "720p30" || d.FPS != 15 || d.Reason != "cpu" {
		t.Fatalf("cpu: %+v", d)
	}
	d = s.run(2500*time.Millisecond, 3_000_000, 0.95)
	if d.Rung.Width != 1280 || d.FPS != 7 {
		t.Fatalf("cpu 2: %+v", d)
	}
	d = s.run(20*time.Second, 3_000_000, 0.1)
	if d.FPS != 30 || d.Reason != "" {
		t.Fatalf("cpu recovered: %+v", d)
	}
}

// With a calm link and an estimate stuck below the next rung (GCC follows
// what is sent), the controller probes up with padding on its rung; a clean
// probe takes the rung it tested, congestion during a probe ends it on the
// same rung.
func TestProbeUp(t *testing.T) {
	c := New(Config{SourceWidth: 640, SourceHeight: 480})
	t0 := time.Unix(0, 0)
	in := func(s float64, est int, congested bool) Decision {
		return c.Update(Input{Now: t0.Add(time.Duration(s * float64(time.Second))), Estimate: est, Calm: !congested, Congested: congested})
	}
	d := in(0, 200_000, false)
	if d.Rung.Name != "240p15" || d.Probe != 0 {
		t.Fatalf("start %+v", d)
	}
	for s := 0.25; s < 4.2; s += 0.25 {
		d = in(s, 200_000, false)
	}
	// 480p15's minimum with 15 % headroom, plus the audio reserve.
	if d.Rung.Name != "240p15" || d.Probe != 250_000*115/100+40_000 || d.Target != d.Probe || d.Bitrate != 160_000 {
		t.Fatalf("no padding probe after 4 s calm: %+v", d)
	}
	for s := 4.5; s < 7.1; s += 0.25 {
		if d = in(s, 200_000, false); d.Probe == 0 {
			break
		}
	}
	if d.Rung.Name != "480p15" || d.Probe != 0 || d.Target < 327_500 || d.Bitrate < 250_000 {
		t.Fatalf("clean probe did not take 480p15: %+v", d)
	}
	// After a clean probe the next one comes sooner (a quarter of the
	// wait) and fails on congestion: it stops, the rung stays.
	for s := 7.25; s < 8.6 && d.Probe == 0; s += 0.25 {
		d = in(s, 200_000, false)
	}
	if d.Rung.Name != "480p15" || d.Probe != 450_000*115/100+40_000 {
		t.Fatalf("second probe: %+v", d)
	}
	if d = in(9, 200_000, true); d.Rung.Name != "480p15" || d.Probe != 0 {
		t.Fatalf("failed probe: %+v", d)
	}
}

// step feeds observations every 250 ms for d and returns the last decision
// and every rung name seen.
func step(c *Controller, now *time.Time, d time.Duration, est int, congested bool) (Decision, map[string]bool) {
	var dec Decision
	seen := map[string]bool{}
	for end := now.Add(d); now.Before(end); *now = now.Add(250 * time.Millisecond) {
		dec = c.Update(Input{Now: *now, Estimate: est, Calm: !congested, Congested: congested})
		seen[dec.Rung.Name] = true
	}
	return dec, seen
}

// Congestion on a rung is a ceiling: no probe goes to it or above for
// CeilingHold (under a 300 kbit/s cap the sender stays under the cap instead
// of probing 480p15 over it every few seconds).
func TestCeilingBlocksProbe(t *testing.T) {
	c := New(Config{SourceWidth: 640, SourceHeight: 480})
	now := time.Unix(0, 0)
	if d, _ := step(c, &now, 6*time.Second, 1_000_000, false); d.Rung.Name != "480p30" {
		t.Fatalf("start: %+v", d)
	}
	// A 300 kbit/s cap: congestion at 480p30, then at 480p15 (past its
	// RungGrace).
	step(c, &now, 1500*time.Millisecond, 300_000, true)
	step(c, &now, 1500*time.Millisecond, 300_000, true)
	d, _ := step(c, &now, 250*time.Millisecond, 120_000, true)
	if d.Rung.Name != "240p15" {
		t.Fatalf("capped: %+v", d)
	}
	congested := now.Add(-250 * time.Millisecond)
	if got := c.Ceiling(now); got != len(c.Ladder())-2 {
		t.Fatalf("ceiling index %d, want every rung above 240p15 blocked", got)
	}
	// Calm at 120 kbit/s (GCC pinned low): without the ceiling this probes
	// 480p15's rate after 4 s; with it nothing is tried until CeilingHold
	// (8 s) has passed.
	for end := congested.Add(7750 * time.Millisecond); now.Before(end); now = now.Add(250 * time.Millisecond) {
		if d = c.Update(Input{Now: now, Estimate: 120_000, Calm: true}); d.Probe != 0 || d.Rung.Name != "240p15" {
			t.Fatalf("probed under the ceiling at %v: %+v", now.Sub(congested), d)
		}
	}
	// The ceiling is forgotten: a padding probe tests 480p15's rate.
	d, _ = step(c, &now, 750*time.Millisecond, 120_000, false)
	if d.Rung.Name != "240p15" || d.Probe != 250_000*115/100+40_000 {
		t.Fatalf("probe after the ceiling: %+v", d)
	}
	// It fails: padding stops, the rung stays, and the next probe waits
	// twice as long (8 s of calm).
	if d, _ = step(c, &now, 500*time.Millisecond, 120_000, true); d.Rung.Name != "240p15" || d.Probe != 0 {
		t.Fatalf("failed probe: %+v", d)
	}
	if d, _ = step(c, &now, 7500*time.Millisecond, 120_000, false); d.Probe != 0 {
		t.Fatalf("probed again too soon: %+v", d)
	}
	if d, _ = step(c, &now, 1*time.Second, 120_000, false); d.Probe == 0 || d.Rung.Name != "240p15" {
		t.Fatalf("second probe: %+v", d)
	}
}

// A rung a probe took and congestion took away within FlapWindow makes the
// next probe wait at least 8 s of calm instead of 1 s (the ceiling is cut
// to 2 s here so that it is the flap that holds the probe back).
func TestFlappingRungBacksOff(t *testing.T) {
	c := New(Config{SourceWidth: 640, SourceHeight: 480, CeilingHold: 2 * time.Second})
	now := time.Unix(0, 0)
	step(c, &now, 2*time.Second, 300_000, false) // 480p15
	d, _ := step(c, &now, 8*time.Second, 300_000, false)
	if d.Rung.Name != "480p30" {
		t.Fatalf("a clean probe should have taken 480p30: %+v", d)
	}
	// 480p30 does not hold: congestion 3 s later takes the sender down.
	step(c, &now, 2*time.Second, 300_000, false)
	if d, _ = step(c, &now, 2*time.Second, 300_000, true); d.Rung.Name != "480p15" {
		t.Fatalf("congestion on the probed rung: %+v", d)
	}
	for end := now.Add(7500 * time.Millisecond); now.Before(end); now = now.Add(250 * time.Millisecond) {
		if d = c.Update(Input{Now: now, Estimate: 300_000, Calm: true}); d.Probe != 0 {
			t.Fatalf("probed again %v after a flap", 7500*time.Millisecond-end.Sub(now))
		}
	}
}

// The lowest video rung is kept while the estimate is above its minimum,
// even when that leaves less than the audio reserve.
func TestFloorRungBeforeAudioOnly(t *testing.T) {
	c := New(Config{SourceWidth: 640, SourceHeight: 480})
	now := time.Unix(0, 0)
	step(c, &now, 2*time.Second, 1_000_000, false)
	d, _ := step(c, &now, 3*time.Second, 90_000, true)
	if d.Rung.Name != "240p15" || d.Bitrate != 60_000 {
		t.Fatalf("90k: %+v", d)
	}
	if d, _ = step(c, &now, 1500*time.Millisecond, 55_000, true); !d.AudioOnly() {
		t.Fatalf("55k: %+v", d)
	}
}

// TestUnbackedEstimateDoesNotStepUp: on 240p15, GCC's estimate climbs to
// 600 kbit/s while the sender sends only 100 kbit/s (its encoder
// undershoots). That estimate is not backed by traffic (more than 1.5 x
// throughput + 10 kbit/s), so the sender stays on 240p15 instead of
// jumping to 480p15 and overshooting a 300 kbit/s link. When traffic backs
// the estimate, it steps up.
func TestUnbackedEstimateDoesNotStepUp(t *testing.T) {
	c := New(Config{})
	now := time.Unix(0, 0)
	var d Decision
	feed := func(dur time.Duration, est, thr int) {
		for end := now.Add(dur); !now.After(end); now = now.Add(250 * time.Millisecond) {
			d = c.Update(Input{Now: now, Estimate: est, Throughput: thr})
		}
	}
	feed(2*time.Second, 200_000, 200_000)
	if d.Rung.Name != "240p15" {
		t.Fatalf("start at 200k: %+v", d)
	}
	feed(8*time.Second, 600_000, 100_000)
	if d.Rung.Name != "240p15" {
		t.Fatalf("unbacked 600k estimate moved the sender to %s", d.Rung.Name)
	}
	// The encoder gets 1.5 x 100k + 10k, less the audio reserve.
	if d.Bitrate != 120_000 {
		t.Fatalf("encoder bitrate %d on an unbacked estimate, want 120000", d.Bitrate)
	}
	feed(4*time.Second, 600_000, 380_000) // 1.5 x 380k + 10k - 40k = 540k
	if d.Rung.Name != "480p15" {
		t.Fatalf("backed 600k estimate: %+v, want 480p15", d)
	}
}

// TestClampedEstimateHoldsRung: pion clamps its estimate to 1.5 x the
// acknowledged rate when an encoder sends less than its target, with no
// congestion at all; that fall under 480p30's minimum keeps the rung.
// Congestion with the same estimate steps down.
func TestClampedEstimateHoldsRung(t *testing.T) {
	c := New(Config{SourceWidth: 640, SourceHeight: 480})
	now := time.Unix(0, 0)
	if d, _ := step(c, &now, 3*time.Second, 2_000_000, false); d.Rung.Name != "480p30" {
		t.Fatalf("start: %+v", d)
	}
	d, seen := step(c, &now, 10*time.Second, 400_000, false)
	if len(seen) != 1 || d.Rung.Name != "480p30" {
		t.Fatalf("a calm clamp moved the sender: %v, %+v", seen, d)
	}
	if d, _ = step(c, &now, 1500*time.Millisecond, 400_000, true); d.Rung.Name != "480p15" {
		t.Fatalf("congestion at 400k: %+v", d)
	}
}
