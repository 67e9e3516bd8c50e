package glpipe

import (
	"testing"
	"time"

	"github.com/go-gl/gl/v4.1-core/gl"
	"github.com/podiumhq/podium/gpu/effect"
	"github.com/podiumhq/podium/gpu/testimg"
)

// TestPassTimes logs the time of each pass at 1280x720 (glFinish after each).
func TestPassTimes(t *testing.T) {
	p := newPipe(t, Options{})
	f := testimg.Gradient(1280, 720)
	m := testimg.Ellipse(256, 144, 0.5, 0.5, 0.3, 0.4, 0.1)
	eff := effect.Effect{Mode: effect.Blur, BlurStrength: 0.7}
	for i := 0; i < 3; i++ {
		p.Composite(f, m, eff)
	}
	var t0 time.Time
	lapHook = func(s string) {
		gl.Finish()
		t.Logf("%-10s %6.2f ms", s, float64(time.Since(t0).Microseconds())/1000)
		t0 = time.Now()
	}
	defer func() { lapHook = nil }()
	p.ctx.Do(func() error { gl.Finish(); t0 = time.Now(); return nil })
	p.Composite(f, m, eff)
}
