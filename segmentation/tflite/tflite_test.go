package tflite

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/podiumhq/podium/internal/testdata"
)

func TestParseSelfieModels(t *testing.T) {
	for name, want := range map[string]struct {
		in      []int
		tensors int
	}{
		"selfie_segmentation.tflite":           {[]int{1, 256, 256, 3}, 360},
		"selfie_segmentation_landscape.tflite": {[]int{1, 144, 256, 3}, 370}, // + MEAN axes
	} {
		wantIn := want.in
		p := filepath.Join(testdata.Root(), "build", "tflite", name)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v: run `make model`", err)
		}
		m, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Operators) != 246 || len(m.Tensors) != want.tensors {
			t.Errorf("%s: %d operators, %d tensors; want 246, %d", name, len(m.Operators), len(m.Tensors), want.tensors)
		}
		if got := m.Tensors[m.Inputs[0]].Shape; !equal(got, wantIn) {
			t.Errorf("%s: input shape %v want %v", name, got, wantIn)
		}
		counts := map[string]int{}
		for _, op := range m.Operators {
			counts[op.Name()]++
		}
		if counts["DEQUANTIZE"] != 110 || counts["CONV_2D"] != 43 || counts["Convolution2DTransposeBias"] != 1 {
			t.Errorf("%s: operator counts %v", name, counts)
		}

		// Corrupted copies must give errors, never panics.
		rng := rand.New(rand.NewSource(2))
		for i := 0; i < 200; i++ {
			c := append([]byte{}, data...)
			for k := 0; k < 8; k++ {
				c[8+rng.Intn(len(c)-8)] = byte(rng.Intn(256))
			}
			_, _ = Parse(c)
			_, _ = Parse(c[:rng.Intn(len(c))])
		}
	}
	if _, err := Parse([]byte("garbage that is not a flatbuffer")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
