package segmentation

import (
	"math"
	"testing"
)

// TestInferUsesLogits checks that the converted models are run up to the
// input of their final Sigmoid (see Segmenter.Infer) and that the logistic
// applied in Go matches OpenCV's Sigmoid layer.
func TestInferUsesLogits(t *testing.T) {
	for _, name := range []string{GeneralModel, LandscapeModel} {
		s, err := NewSegmenter(modelPath(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if s.logits == "" {
			s.Close()
			t.Fatalf("%s: no logits layer found", name)
		}
		rgba, _ := frame720(t)
		if err := s.Prepare(rgba); err != nil {
			t.Fatal(err)
		}
		m, err := s.Infer()
		if err != nil {
			t.Fatal(err)
		}
		full := s.net.Forward("") // the whole graph, OpenCV's Sigmoid included
		v, err := full.DataPtrFloat32()
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i := range v {
			worst = math.Max(worst, math.Abs(float64(v[i]-m.Conf[i])))
		}
		full.Close()
		s.Close()
		t.Logf("%s: logits layer %q, max |Go logistic - OpenCV Sigmoid| = %.2g", name, s.logits, worst)
		if worst > 1e-5 {
			t.Errorf("%s: max difference %.3g > 1e-5", name, worst)
		}
	}
}

func TestSigmoidTable(t *testing.T) {
	var xs []float32
	for x := -40.0; x <= 40; x += 0.001 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, -16, 16)
	got := make([]float32, len(xs))
	sigmoidInto(got, xs)
	worst := 0.0
	for i, x := range xs {
		want := 1 / (1 + math.Exp(-float64(x)))
		if math.IsNaN(float64(x)) {
			want = 0
		}
		if g := got[i]; g < 0 || g > 1 {
			t.Fatalf("sigmoid(%g) = %g outside 0..1", x, g)
		}
		worst = math.Max(worst, math.Abs(float64(got[i])-want))
	}
	if worst > 4e-6 {
		t.Fatalf("max error %.3g > 4e-6", worst)
	}
	t.Logf("max error %.2g", worst)
}

func TestHasLayer(t *testing.T) {
	s, err := NewSegmenter(modelPath(t, GeneralModel))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if hasLayer(&s.net, "no such layer") {
		t.Error("hasLayer invents a layer")
	}
	if !hasLayer(&s.net, s.logits) {
		t.Errorf("hasLayer misses %q", s.logits)
	}
}
