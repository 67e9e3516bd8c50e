package cpu

import (
	"image"
	"math"
	"math/rand"
	"testing"

	"github.com/podiumhq/podium/gpu/effect"
	"github.com/podiumhq/podium/gpu/internal/ref"
)

func randRGBA(rng *rand.Rand, w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	rng.Read(m.Pix)
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	return m
}

func TestMixRowExact(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	w, h := 300, 40
	fg, bg := randRGBA(rng, w, h), randRGBA(rng, w, h)
	a := image.NewGray(image.Rect(0, 0, w, h))
	rng.Read(a.Pix)
	for i := 0; i < 256; i++ {
		a.Pix[i] = uint8(i)
	}
	want := ref.Mix(fg, bg, a)
	dst := make([]uint8, 3*w)
	for y := 0; y < h; y++ {
		mixRow(dst, fg.Pix[y*fg.Stride:], bg.Pix[y*bg.Stride:], a.Pix[y*a.Stride:y*a.Stride+w], 0)
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				if g, e := dst[3*x+c], want.Pix[y*want.Stride+4*x+c]; g != e {
					t.Fatalf("(%d,%d,%d): got %d want %d", x, y, c, g, e)
				}
			}
		}
	}
}

func TestI420(t *testing.T) {
	c := New()
	defer c.Close()
	rng := rand.New(rand.NewSource(2))
	for _, sz := range []image.Point{{64, 48}, {333, 77}, {1280, 720}} {
		f := randRGBA(rng, sz.X, sz.Y)
		got, err := c.Composite(f, nil, effect.Effect{Mode: effect.None})
		if err != nil {
			t.Fatal(err)
		}
		if d := ref.MaxDiff(got, ref.I420(f)); d > 1 {
			t.Fatalf("%v: max difference %d > 1", sz, d)
		}
	}
}

func TestBlurStepEdge(t *testing.T) {
	c := New()
	defer c.Close()
	w, h := 320, 64
	f := image.NewRGBA(image.Rect(0, 0, w, h))
	row := make([]float64, w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(0)
			if x >= w/2 {
				v = 255
			}
			row[x] = float64(v)
			copy(f.Pix[y*f.Stride+4*x:], []uint8{v, v, v, 255})
		}
	}
	mask := image.NewGray(image.Rect(0, 0, 64, 64))
	for _, s := range []float64{0.25, 0.5, 1} {
		eff := effect.Effect{Mode: effect.Blur, BlurStrength: s}
		got, err := c.CompositeRGBA(f, mask, eff)
		if err != nil {
			t.Fatal(err)
		}
		want := ref.BlurRow(row, effect.NewPlan(w, h, eff).BlurSigma)
		worst := 0.0
		for y := 0; y < h; y += 7 {
			for x := 0; x < w; x++ {
				worst = math.Max(worst, math.Abs(float64(got.Pix[y*got.Stride+4*x])-want[x]))
			}
		}
		t.Logf("strength %.2f: max |cpu-ref| = %.2f", s, worst)
		if worst > 2 {
			t.Fatalf("strength %.2f: off by %.2f > 2", s, worst)
		}
	}
}

func TestErrors(t *testing.T) {
	c := New()
	f := image.NewRGBA(image.Rect(0, 0, 8, 8))
	if _, err := c.Composite(f, nil, effect.Effect{Mode: effect.Blur}); err == nil {
		t.Fatal("no mask accepted")
	}
	if _, err := c.Composite(f, image.NewGray(image.Rect(0, 0, 4, 4)), effect.Effect{Mode: effect.Replace}); err == nil {
		t.Fatal("no background accepted")
	}
	c.Close()
	if _, err := c.Composite(f, nil, effect.Effect{}); err != ErrClosed {
		t.Fatalf("after close: %v", err)
	}
}
