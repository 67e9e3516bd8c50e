package segmentation

import "image"

// Mask is a person-confidence mask at the model's resolution: W x H values
// (256 x 256 or 256 x 144), row-major, each in 0..1 (1 = person). Masks
// returned by this package are never modified after they are handed out;
// treat Conf as read-only.
type Mask struct {
	W, H int
	Conf []float32
}

// At returns the confidence at (x, y), 0 outside the mask.
func (m Mask) At(x, y int) float32 {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return 0
	}
	return m.Conf[y*m.W+x]
}

// Gray returns the mask as an 8-bit image, W x H, value round(255 * conf).
func (m Mask) Gray() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, m.W, m.H))
	for i, c := range m.Conf {
		g.Pix[i] = uint8(clamp01(c)*255 + 0.5)
	}
	return g
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}
