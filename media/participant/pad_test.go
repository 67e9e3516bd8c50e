package participant

import (
	"image"
	"testing"
	"time"

	"github.com/podiumhq/podium/media/adapt"
)

// TestPadderRate: frames at 15 fps with a 100 kbit/s padding rate send
// 100 kbit/s of padding packets over a second (within one packet), none
// when the rate is 0, and a pause owes nothing.
func TestPadderRate(t *testing.T) {
	var p padder
	now := time.Unix(0, 0)
	n := p.step(100_000, now)
	for i := 0; i < 15; i++ {
		now = now.Add(time.Second / 15)
		n += p.step(100_000, now)
	}
	if bits := n * padPacketBytes * 8; bits < 100_000-padPacketBytes*8 || bits > 100_000 {
		t.Fatalf("%d packets (%d bit) for 100 kbit/s over 1 s", n, bits)
	}
	if got := p.step(0, now.Add(time.Second/15)); got != 0 {
		t.Fatalf("rate 0: %d packets", got)
	}
	p.step(100_000, now.Add(time.Second))
	if got := p.step(100_000, now.Add(5*time.Second)); got*padPacketBytes*8 > 20_000+padPacketBytes*8 {
		t.Fatalf("after a 4 s pause: %d packets (at most 200 ms owed)", got)
	}
}

// TestFrameDropperBoundsOvershoot: an encoder that makes three times its
// target has frames dropped before encoding, so that over 3 s it sends
// about its target (plus at most a second of it ahead); a key frame of
// 40 kB at 500 kbit/s drops nothing.
func TestFrameDropperBoundsOvershoot(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	run := func(bitrate int, size func(i int) int) (kept, bits int) {
		a := &adapter{ctl: adapt.New(adapt.Config{})}
		a.state.Decision = adapt.Decision{Rung: adapt.DefaultLadder[1], FPS: 30, Bitrate: bitrate}
		now := time.Unix(0, 0)
		for i := 0; i < 90; i++ {
			now = now.Add(time.Second / 30)
			if _, ok := a.filter(img, now); ok {
				kept++
				bits += size(i) * 8
				a.encodeDone(size(i), now)
			}
		}
		return kept, bits
	}
	kept, bits := run(100_000, func(int) int { return 1250 }) // 300 kbit/s if all were kept
	if max := 3*100_000 + 100_000 + 10_000; bits > max || kept < 20 {
		t.Fatalf("overshooting encoder: %d frames, %d bit in 3 s at a 100 kbit/s target (max %d)", kept, bits, max)
	}
	kept, _ = run(500_000, func(i int) int {
		if i == 30 {
			return 40_000
		}
		return 1500
	})
	if kept != 90 {
		t.Fatalf("a key frame at 500 kbit/s dropped %d frames", 90-kept)
	}
}

// TestFrameDropperAfterTargetFalls: after a second at 1.2 Mbit/s the
// target falls to 60 kbit/s: frames go on at about the new target, not
// after the old surplus is paid off at the new rate (20 s).
func TestFrameDropperAfterTargetFalls(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	a := &adapter{ctl: adapt.New(adapt.Config{})}
	a.state.Decision = adapt.Decision{Rung: adapt.DefaultLadder[1], FPS: 30, Bitrate: 1_200_000}
	now := time.Unix(0, 0)
	for i := 0; i < 30; i++ {
		now = now.Add(time.Second / 30)
		if _, ok := a.filter(img, now); ok {
			a.encodeDone(6000, now) // 1.44 Mbit/s
		}
	}
	a.state.Decision.Bitrate = 60_000
	kept := 0
	for i := 0; i < 60; i++ {
		now = now.Add(time.Second / 30)
		if _, ok := a.filter(img, now); ok {
			kept++
			a.encodeDone(250, now) // 2 kbit a frame: 30 a second would be 60 kbit/s
		}
	}
	if kept < 30 {
		t.Fatalf("%d of 60 frames kept in the 2 s after the target fell", kept)
	}
}

// TestGradeReasons: loss, the participant's own round trip and the frame
// rate each give their reason; the round trip is told as this side's.
func TestGradeReasons(t *testing.T) {
	for _, c := range []struct {
		tq           TrackQuality
		level, cause string
	}{
		{TrackQuality{TrackStats: TrackStats{Kind: "video", FramesDecoded: 10, FPS: 30}, LossPct: 12}, QualityPoor, "loss 12%"},
		{TrackQuality{TrackStats: TrackStats{Kind: "audio"}, RTTMs: 450}, QualityPoor, "your delay 450 ms"},
		{TrackQuality{TrackStats: TrackStats{Kind: "audio"}, RTTMs: 250}, QualityFair, "your delay 250 ms"},
		{TrackQuality{TrackStats: TrackStats{Kind: "video", FramesDecoded: 10, FPS: 12}}, QualityFair, "12 fps"},
		{TrackQuality{TrackStats: TrackStats{Kind: "video", FramesDecoded: 10, FPS: 30}}, QualityGood, ""},
	} {
		if level, cause := grade(c.tq, false); level != c.level || cause != c.cause {
			t.Errorf("grade(%+v) = %s %q, want %s %q", c.tq, level, cause, c.level, c.cause)
		}
	}
}
