package vbg

import (
	"testing"
	"time"

	"github.com/podiumhq/podium/gpu"
	"github.com/podiumhq/podium/segmentation"
)

// fakeClock answers a Process call's two readings (start, end): the end is
// cost after the start, and the next frame starts max(cost, interval) later.
type fakeClock struct {
	t        time.Time
	cost     time.Duration
	interval time.Duration
	end      bool
}

func (c *fakeClock) now() time.Time {
	if !c.end {
		c.end = true
		return c.t
	}
	c.end = false
	e := c.t.Add(c.cost)
	c.t = c.t.Add(max(c.cost, c.interval))
	return e
}

// TestPipelineDegradesAndRecovers wires the ladder to the pipeline with a
// synthetic clock (each frame "costs" what the test says; the pixels are
// real): replacement at 60 ms per frame must step down one rung per 3 s to
// off, report each step through OnChange, apply it on the next frame (the
// landscape model, blur instead of the image, then the raw frame), and step
// back up once frames are cheap again.
func TestPipelineDegradesAndRecovers(t *testing.T) {
	if _, err := segmentation.FindModel(segmentation.LandscapeModel); err != nil {
		t.Fatal(err)
	}
	bgs, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	var changes []Change
	var last FrameInfo
	p, err := New(Options{Compositor: cpuCompositor(t), FirstMaskWait: 30 * time.Second,
		OnChange: func(c Change) { changes = append(changes, c) },
		OnFrame:  func(f FrameInfo) { last = f },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	clk := &fakeClock{t: time.Unix(1e9, 0), cost: 60 * time.Millisecond, interval: time.Second / 30}
	p.now, p.start = clk.now, clk.t
	p.SetEffect(bgs[0])
	frame := photo(t, "opencv/messi5.jpg", 160, 90, 0)
	seen := map[Level]FrameInfo{}
	for i := 0; i < 260; i++ { // 15.6 s at 60 ms
		p.Process(cloneFrame(frame))
		if _, ok := seen[last.Level]; !ok {
			seen[last.Level] = last
		}
	}
	var got []Level
	for _, c := range changes {
		got = append(got, c.To)
		t.Logf("%v: %v -> %v (%.1f fps < %.1f): %s", c.At.Round(time.Millisecond), c.From, c.To, c.FPS, c.Threshold, c.Message())
	}
	want := []Level{LevelSkipFrames, LevelLandscape, LevelBlurInstead, LevelOff}
	if len(got) != len(want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("steps %v, want %v", got, want)
		}
	}
	if f := seen[LevelLandscape]; f.Mask == nil || f.Effect.Mode != gpu.EffectReplace {
		t.Errorf("landscape level frame: %+v", f)
	}
	if p.pools[segmentation.Landscape] == nil {
		t.Error("landscape model never loaded")
	}
	if f := seen[LevelBlurInstead]; f.Effect.Mode != gpu.EffectBlur || f.Effect.BlurStrength != LowBlurStrength {
		t.Errorf("blur-instead level used %+v", f.Effect)
	}
	if f := seen[LevelOff]; f.Effect.Mode != gpu.EffectNone || f.Out == nil {
		t.Errorf("off level: %+v", f)
	}
	// Headroom returns: 2 ms per frame at 30 fps.
	clk.cost = 2 * time.Millisecond
	n := len(changes)
	for i := 0; i < 30*12; i++ {
		p.Process(cloneFrame(frame))
	}
	if len(changes) != n+1 || changes[n].Down() || changes[n].To != LevelBlurInstead {
		t.Fatalf("after 12 s of headroom: %+v", changes[n:])
	}
	t.Logf("up: %s", changes[n].Message())
	if st := p.Stats(); st.Level != LevelBlurInstead {
		t.Errorf("stats level %v", st.Level)
	}
}
