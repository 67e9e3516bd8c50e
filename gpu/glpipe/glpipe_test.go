package glpipe

import (
	"image"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/podiumhq/podium/gpu/effect"
	"github.com/podiumhq/podium/gpu/egl"
	"github.com/podiumhq/podium/gpu/internal/ref"
)

func newPipe(t testing.TB, opts Options) *Pipeline {
	t.Helper()
	ctx, err := egl.Open(egl.Options{})
	if err != nil {
		t.Fatalf("EGL: %v", err)
	}
	t.Cleanup(func() { ctx.Close() })
	p, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

func randRGBA(rng *rand.Rand, w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	rng.Read(m.Pix)
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	return m
}

// The mix pass is exact: every channel equals round((fg*a + bg*(255-a))/255).
func TestMixExact(t *testing.T) {
	p := newPipe(t, Options{})
	rng := rand.New(rand.NewSource(1))
	for _, sz := range []image.Point{{256, 256}, {333, 77}, {1280, 720}} {
		fg, bg := randRGBA(rng, sz.X, sz.Y), randRGBA(rng, sz.X, sz.Y)
		a := image.NewGray(image.Rect(0, 0, sz.X, sz.Y))
		rng.Read(a.Pix)
		// Include every alpha value and the extremes explicitly.
		for i := 0; i < 256 && i < len(a.Pix); i++ {
			a.Pix[i] = uint8(i)
		}
		got, err := p.Mix(fg, bg, a)
		if err != nil {
			t.Fatal(err)
		}
		want := ref.Mix(fg, bg, a)
		bad := 0
		for i := range want.Pix {
			if got.Pix[i] != want.Pix[i] {
				if bad < 5 {
					t.Errorf("%v: byte %d: got %d want %d", sz, i, got.Pix[i], want.Pix[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Fatalf("%v: %d bytes differ", sz, bad)
		}
	}
}

// I420 conversion is within +-1 of the float64 BT.601 reference, odd sizes included.
func TestI420(t *testing.T) {
	p := newPipe(t, Options{})
	rng := rand.New(rand.NewSource(2))
	for _, sz := range []image.Point{{64, 48}, {333, 77}, {1280, 720}} {
		f := randRGBA(rng, sz.X, sz.Y)
		got, err := p.Composite(f, nil, effect.Effect{Mode: effect.None})
		if err != nil {
			t.Fatal(err)
		}
		want := ref.I420(f)
		if d := ref.MaxDiff(got, want); d > 1 {
			t.Fatalf("%v: max difference %d > 1", sz, d)
		}
	}
}

// A vertical step edge (0 | 255) with an all-background mask comes out as
// the Gaussian-blurred edge: within 2 levels (of 255) of ref.BlurRow, which
// models box-down by 4, the Gaussian and bilinear upsampling in float64.
func TestBlurStepEdge(t *testing.T) {
	p := newPipe(t, Options{})
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
	mask := image.NewGray(image.Rect(0, 0, 64, 64)) // all background
	for _, s := range []float64{0.25, 0.5, 1} {
		eff := effect.Effect{Mode: effect.Blur, BlurStrength: s}
		got, err := p.CompositeRGBA(f, mask, eff)
		if err != nil {
			t.Fatal(err)
		}
		pl := effect.NewPlan(w, h, eff)
		want := ref.BlurRow(row, pl.BlurSigma)
		worst := 0.0
		for y := 0; y < h; y += 7 {
			for x := 0; x < w; x++ {
				d := math.Abs(float64(got.Pix[y*got.Stride+4*x]) - want[x])
				worst = math.Max(worst, d)
			}
		}
		t.Logf("strength %.2f sigma %.2f (work px): max |gpu-ref| = %.2f", s, pl.BlurSigma, worst)
		if worst > 2 {
			t.Fatalf("strength %.2f: blurred edge off by %.2f > 2", s, worst)
		}
		// And the profile really is blurred: 50 % at the edge, 10-90 % width
		// about 2.56 sigma at full resolution.
		mid := (float64(got.Pix[4*(w/2-1)]) + float64(got.Pix[4*(w/2)])) / 2
		if math.Abs(mid-127.5) > 3 {
			t.Fatalf("edge midpoint %.1f", mid)
		}
	}
}

func TestBadShaderFails(t *testing.T) {
	ctx, err := egl.Open(egl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	_, err = New(ctx, Options{Fault: BadShader})
	if err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Fatalf("want compile error, got %v", err)
	}
}

func TestGLErrorReported(t *testing.T) {
	p := newPipe(t, Options{Fault: GLError})
	_, err := p.Composite(randRGBA(rand.New(rand.NewSource(3)), 64, 64), image.NewGray(image.Rect(0, 0, 16, 16)), effect.Effect{Mode: effect.Blur, BlurStrength: 1})
	if err == nil || !strings.Contains(err.Error(), "GL error") {
		t.Fatalf("want GL error, got %v", err)
	}
}
