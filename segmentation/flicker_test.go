package segmentation

import (
	"math"
	"testing"

	"gocv.io/x/gocv"

	"github.com/podiumhq/podium/internal/testdata"
)

// TestTemporalSmoothing measures mask flicker on real video: the mean
// frame-to-frame change of the mask on pixels where the image itself barely
// changed (mean RGB change < 1 % of full scale at that mask pixel and its 8
// neighbours, on the model-size frame). Smoothing with the defaults must cut
// it at least in half versus the raw masks.
//
// Edge lag: on pixels where a person's edge moved (raw mask changed by more
// than 0.5 where the image was not still by the measure above), the smoothed
// mask at frame t is compared with the raw masks of frames t, t-1, t-2, t-3;
// the best-matching delay must be at most one frame.
func TestTemporalSmoothing(t *testing.T) {
	for _, clip := range []struct {
		file   string
		frames int
	}{{"opencv/vtest.avi", 90}, {"opencv/Megamind.avi", 90}} {
		t.Run(clip.file, func(t *testing.T) {
			vc, err := gocv.VideoCaptureFile(testdata.Require(t, clip.file))
			if err != nil {
				t.Fatal(err)
			}
			defer vc.Close()
			seg, err := NewSegmenter(modelPath(t, GeneralModel))
			if err != nil {
				t.Fatal(err)
			}
			defer seg.Close()
			frame := gocv.NewMat()
			defer frame.Close()
			sm := Smoother{Strength: DefaultSmoothing}
			var raws, smooths []Mask
			var rgbs [][]byte
			for len(raws) < clip.frames && vc.Read(&frame) && !frame.Empty() {
				raw, err := seg.SegmentMat(frame)
				if err != nil {
					t.Fatal(err)
				}
				rgb := seg.RGB(nil)
				raws = append(raws, raw)
				rgbs = append(rgbs, rgb)
				smooths = append(smooths, sm.Apply(raw, rgb))
			}
			if len(raws) < clip.frames {
				t.Fatalf("read only %d frames", len(raws))
			}
			w, h := raws[0].W, raws[0].H
			diff := func(a, b []byte, i int) float64 {
				j := 3 * i
				d := 0
				for c := 0; c < 3; c++ {
					d += absDiff(a[j+c], b[j+c])
				}
				return float64(d) / (3 * 255)
			}
			var rawF, smF float64
			var still, moving int
			lagErr := make([]float64, 4)
			for f := 1; f < len(raws); f++ {
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						i := y*w + x
						maxd := 0.0
						for dy := -1; dy <= 1; dy++ {
							for dx := -1; dx <= 1; dx++ {
								xx, yy := x+dx, y+dy
								if xx >= 0 && yy >= 0 && xx < w && yy < h {
									maxd = math.Max(maxd, diff(rgbs[f], rgbs[f-1], yy*w+xx))
								}
							}
						}
						if maxd < 0.01 {
							still++
							rawF += math.Abs(float64(raws[f].Conf[i] - raws[f-1].Conf[i]))
							smF += math.Abs(float64(smooths[f].Conf[i] - smooths[f-1].Conf[i]))
						}
						if f >= 3 && maxd >= 0.01 && math.Abs(float64(raws[f].Conf[i]-raws[f-1].Conf[i])) > 0.5 {
							moving++
							for k := range lagErr {
								lagErr[k] += math.Abs(float64(smooths[f].Conf[i] - raws[f-k].Conf[i]))
							}
						}
					}
				}
			}
			if still == 0 || moving == 0 {
				t.Fatalf("no still (%d) or moving-edge (%d) pixels", still, moving)
			}
			rawF /= float64(still)
			smF /= float64(still)
			lag := 0
			for k := range lagErr {
				lagErr[k] /= float64(moving)
				if lagErr[k] < lagErr[lag] {
					lag = k
				}
			}
			t.Logf("%s, %d frames: flicker on still pixels (%.0f%% of pixels): raw %.5f, smoothed %.5f (%.1fx less)",
				clip.file, len(raws), 100*float64(still)/float64((len(raws)-1)*w*h), rawF, smF, rawF/smF)
			t.Logf("moving edges (%d pixel-frames): mean |smoothed_t - raw_t-k| for k=0..3: %.3f %.3f %.3f %.3f -> lag %d frame(s)",
				moving, lagErr[0], lagErr[1], lagErr[2], lagErr[3], lag)
			if smF > rawF/2 {
				t.Errorf("smoothing cut flicker only from %.5f to %.5f (want at least half)", rawF, smF)
			}
			if lag > 1 {
				t.Errorf("smoothed edges lag %d frames", lag)
			}
		})
	}
}
