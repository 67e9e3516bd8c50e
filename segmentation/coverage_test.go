package segmentation

import (
	"image"
	_ "image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/testdata"
)

// box is a rectangle in fractions of the image's width and height.
type box struct{ x0, y0, x1, y1 float64 }

func (b box) contains(fx, fy float64) bool {
	return fx >= b.x0 && fx < b.x1 && fy >= b.y0 && fy < b.y1
}

// person is one person in a test photo: the bounding box (read off the image
// by eye, generous by a few percent) and a core region well inside the body
// (torso) that must be segmented as person.
type person struct{ bbox, core box }

// photos lists the people in each test image.
var photos = map[string][]person{
	"opencv/messi5.jpg": { // one player kicking; a blurred crowd behind
		{box{0.11, 0.16, 0.85, 1.0}, box{0.38, 0.36, 0.52, 0.62}},
	},
	"faceapi/sample1.jpg": { // three women, waist up
		{box{0.09, 0.15, 0.41, 1.0}, box{0.18, 0.45, 0.32, 0.75}},
		{box{0.37, 0.23, 0.67, 1.0}, box{0.43, 0.50, 0.60, 0.80}},
		{box{0.63, 0.12, 0.98, 1.0}, box{0.68, 0.35, 0.82, 0.70}},
	},
	"faceapi/sample4.jpg": { // four women standing, thighs up
		{box{0.02, 0.04, 0.34, 1.0}, box{0.14, 0.45, 0.27, 0.70}},
		{box{0.27, 0.0, 0.53, 1.0}, box{0.32, 0.30, 0.44, 0.60}},
		{box{0.46, 0.04, 0.73, 1.0}, box{0.50, 0.35, 0.66, 0.80}},
		{box{0.62, 0.04, 0.99, 1.0}, box{0.68, 0.35, 0.82, 0.75}},
	},
	// Not used: opencv/basketball1.png (grey, two full-length men several
	// metres away) is outside the selfie models' domain: the landscape model
	// returns an all-zero mask and the general one finds only the near man.
}

func decode(tb testing.TB, rel string) image.Image {
	tb.Helper()
	f, err := os.Open(testdata.Require(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return img
}

// TestMaskCoversPeople checks, for both models, that at least 85 % of the
// mask's mass (sum of confidences) lies inside the people's boxes and that at
// least 80 % of each core region has confidence > 0.5.
func TestMaskCoversPeople(t *testing.T) {
	art := os.Getenv("PODIUM_ARTIFACTS")
	for _, model := range []string{GeneralModel, LandscapeModel} {
		s, err := NewSegmenter(modelPath(t, model))
		if err != nil {
			t.Fatal(err)
		}
		for rel, people := range photos {
			m, err := s.Segment(decode(t, rel))
			if err != nil {
				t.Fatal(err)
			}
			var in, total float64
			coreHit := make([]int, len(people))
			coreN := make([]int, len(people))
			for y := 0; y < m.H; y++ {
				fy := (float64(y) + 0.5) / float64(m.H)
				for x := 0; x < m.W; x++ {
					fx := (float64(x) + 0.5) / float64(m.W)
					c := float64(m.Conf[y*m.W+x])
					total += c
					inside := false
					for i, p := range people {
						if p.bbox.contains(fx, fy) {
							inside = true
						}
						if p.core.contains(fx, fy) {
							coreN[i]++
							if c > 0.5 {
								coreHit[i]++
							}
						}
					}
					if inside {
						in += c
					}
				}
			}
			frac := in / total
			t.Logf("%s %s: %.1f%% of mask mass inside the boxes (mean conf %.3f)", model, rel, 100*frac, total/float64(m.W*m.H))
			if frac < 0.85 {
				t.Errorf("%s %s: only %.1f%% of the mask inside the people's boxes", model, rel, 100*frac)
			}
			for i := range people {
				f := float64(coreHit[i]) / float64(coreN[i])
				t.Logf("  person %d: %.1f%% of core > 0.5", i, 100*f)
				if f < 0.8 {
					t.Errorf("%s %s person %d: only %.1f%% of the core region > 0.5", model, rel, i, 100*f)
				}
			}
			if art != "" {
				name := strings.TrimSuffix(model, ".onnx") + "_" + strings.ReplaceAll(rel, "/", "_") + ".png"
				if f, err := os.Create(filepath.Join(art, name)); err == nil {
					_ = png.Encode(f, m.Gray())
					f.Close()
				}
			}
		}
		s.Close()
	}
}
