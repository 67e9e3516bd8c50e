package segmentation

import (
	"context"
	"errors"
	"image"
	"image/draw"
	"math"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

func toRGBA(img image.Image) *image.RGBA {
	r := image.NewRGBA(img.Bounds())
	draw.Draw(r, r.Bounds(), img, img.Bounds().Min, draw.Src)
	return r
}

func TestPoolLatestFrameWins(t *testing.T) {
	img := toRGBA(decode(t, "opencv/messi5.jpg"))
	p, err := NewPool(PoolOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// One frame: the pool's mask equals a direct Segmenter's.
	p.Submit(img, 1)
	m, seq, err := p.Next(ctx, 0)
	if err != nil || seq != 1 {
		t.Fatalf("Next = seq %d, %v", seq, err)
	}
	s, err := NewSegmenter(modelPath(t, GeneralModel))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.Segment(img)
	s.Close()
	for i := range want.Conf {
		if d := math.Abs(float64(want.Conf[i] - m.Conf[i])); d > 1e-5 {
			t.Fatalf("pool mask differs from Segmenter at %d by %g", i, d)
		}
	}

	// A burst far faster than inference: old frames are dropped, never
	// queued, and the newest frame is always processed.
	const n = 200
	for i := uint64(2); i <= n; i++ {
		if !p.Submit(img, i) {
			t.Fatalf("Submit(%d) refused", i)
		}
	}
	if _, seq, err = p.Next(ctx, n-1); err != nil || seq != n {
		t.Fatalf("after burst: seq %d, %v; want %d", seq, err, n)
	}
	// The other worker may still hold an older frame: it ends as
	// processed or stale. Wait (bounded) for every frame to be accounted.
	st := p.Stats()
	for deadline := time.Now().Add(10 * time.Second); st.Processed+st.Dropped+st.Stale != n && time.Now().Before(deadline); st = p.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("burst: %v", st)
	if st.Dropped == 0 || st.Processed >= n/2 {
		t.Fatalf("pool queued instead of dropping: %v", st)
	}
	if st.Submitted != n || st.Processed+st.Dropped+st.Stale != n {
		t.Fatalf("frames unaccounted for: %v", st)
	}
	if st.InferenceMs <= 0 || st.PreprocessMs <= 0 || st.PostprocessMs <= 0 {
		t.Fatalf("stage timings missing: %v", st)
	}
	if m2, s2, ok := p.Latest(); !ok || s2 != n || m2.W != 256 || m2.H != 256 {
		t.Fatalf("Latest = %d %v", s2, ok)
	}
}

func TestPoolEveryKthSmoothingAndClose(t *testing.T) {
	img := toRGBA(decode(t, "faceapi/sample1.jpg"))
	p, err := NewPool(PoolOptions{Model: Landscape, Workers: 1, Every: 3, Smoothing: DefaultSmoothing, Threshold: 0.5, Feather: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last uint64
	for i := uint64(1); i <= 9; i++ {
		took := p.Submit(img, i)
		if took != ((i-1)%3 == 0) {
			t.Fatalf("frame %d: taken=%v", i, took)
		}
		if took {
			m, seq, err := p.Next(ctx, last)
			if err != nil || seq != i {
				t.Fatalf("Next after %d = %d, %v", i, seq, err)
			}
			last = seq
			if m.W != 256 || m.H != 144 {
				t.Fatalf("landscape mask %dx%d", m.W, m.H)
			}
			for _, c := range m.Conf {
				if c < 0 || c > 1 {
					t.Fatalf("refined value %g outside 0..1", c)
				}
			}
		}
	}
	if st := p.Stats(); st.Skipped != 6 || st.Processed != 3 {
		t.Fatalf("every-3rd: %v", st)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if p.Submit(img, 100) {
		t.Fatal("Submit after Close accepted")
	}
	if _, _, err := p.Next(ctx, last); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	_ = p.Close()
}

func TestPoolMissingModel(t *testing.T) {
	_, err := NewPool(PoolOptions{ModelPath: filepath.Join(t.TempDir(), "nope.onnx")})
	if !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("NewPool with a missing model: %v", err)
	}
}

func TestRefine(t *testing.T) {
	m := Mask{W: 5, H: 1, Conf: []float32{0, 0.4, 0.5, 0.6, 1}}
	Refine(m, 0.5, 0.1)
	want := []float32{0, 0, 0.5, 1, 1}
	for i := range want {
		if math.Abs(float64(m.Conf[i]-want[i])) > 1e-6 {
			t.Fatalf("Refine = %v want %v", m.Conf, want)
		}
	}
	h := Mask{W: 2, H: 1, Conf: []float32{0.49, 0.51}}
	Refine(h, 0.5, 0)
	if h.Conf[0] != 0 || h.Conf[1] != 1 {
		t.Fatalf("hard threshold: %v", h.Conf)
	}
	g := Mask{W: 2, H: 1, Conf: []float32{0, 1}}.Gray()
	if g.Pix[0] != 0 || g.Pix[1] != 255 || g.Bounds().Dx() != 2 {
		t.Fatalf("Gray: %v", g.Pix)
	}
}

// TestInputFormatsAgree segments the same photo given as *image.YCbCr (the
// JPEG decoder's output), *image.RGBA, *image.NRGBA, a sub-image, and a BGR
// gocv.Mat: the masks must agree (mean |diff| < 0.01; conversions round
// differently by a level or two).
func TestInputFormatsAgree(t *testing.T) {
	s, err := NewSegmenter(modelPath(t, GeneralModel))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ycc := decode(t, "faceapi/sample1.jpg")
	if _, ok := ycc.(*image.YCbCr); !ok {
		t.Fatalf("decoded %T, want *image.YCbCr", ycc)
	}
	rgba := toRGBA(ycc)
	nrgba := image.NewNRGBA(rgba.Bounds())
	draw.Draw(nrgba, nrgba.Bounds(), rgba, image.Point{}, draw.Src)
	// A sub-image with a non-zero origin and a stride wider than its rows.
	big := image.NewRGBA(image.Rect(-7, -3, rgba.Bounds().Dx()+9, rgba.Bounds().Dy()+5))
	draw.Draw(big, rgba.Bounds(), rgba, image.Point{}, draw.Src)
	sub := big.SubImage(rgba.Bounds())
	bgr, err := gocv.ImageToMatRGB(rgba)
	if err != nil {
		t.Fatal(err)
	}
	defer bgr.Close()

	ref, err := s.Segment(rgba)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, m Mask, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := 0.0
		for i := range ref.Conf {
			sum += math.Abs(float64(ref.Conf[i] - m.Conf[i]))
		}
		mean := sum / float64(len(ref.Conf))
		t.Logf("%s: mean |diff| vs RGBA %.4f", name, mean)
		if mean > 0.01 {
			t.Errorf("%s: mask differs from RGBA's by %.4f on average", name, mean)
		}
	}
	m, err := s.Segment(ycc)
	check("YCbCr 4:2:0", m, err)
	m, err = s.Segment(nrgba)
	check("NRGBA", m, err)
	m, err = s.Segment(sub)
	check("RGBA sub-image", m, err)
	m, err = s.SegmentMat(bgr)
	check("BGR Mat", m, err)
	if _, err := s.Segment(image.NewRGBA(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("empty image accepted")
	}
}
