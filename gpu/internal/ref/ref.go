// Package ref holds plain-Go reference implementations of the compositor's
// formulas, written for clarity rather than speed, against which tests check
// both backends. Formulas and constants come from package effect.
package ref

import (
	"image"
	"math"

	"github.com/podiumhq/podium/gpu/effect"
)

// Mix returns bg*(1-a) + fg*a per channel with a = alpha/255, rounded to the
// nearest integer (exact: (fg*a + bg*(255-a)) / 255 is never a tie).
// Alpha of the output is 255. All three inputs are W x H.
func Mix(fg, bg *image.RGBA, alpha *image.Gray) *image.RGBA {
	r := fg.Rect
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			a := int(alpha.Pix[y*alpha.Stride+x])
			fo, bo, oo := y*fg.Stride+4*x, y*bg.Stride+4*x, y*out.Stride+4*x
			for c := 0; c < 3; c++ {
				n := int(fg.Pix[fo+c])*a + int(bg.Pix[bo+c])*(255-a)
				out.Pix[oo+c] = uint8((n + 127) / 255)
			}
			out.Pix[oo+3] = 255
		}
	}
	return out
}

// I420 converts an RGBA image (W x H) to I420 with BT.601 limited range
// (ITU-R BT.601-7 2.5: Y' = 16 + 219 E'Y, Cb/Cr = 128 + 224 E'C), chroma
// from the 2x2 mean of RGB with the last row/column replicated, in float64
// and rounded to nearest.
func I420(m *image.RGBA) *image.YCbCr {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	px := func(x, y, c int) float64 {
		x = min(x, w-1)
		y = min(y, h-1)
		return float64(m.Pix[y*m.Stride+4*x+c]) / 255
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			yy := effect.Kr*px(x, y, 0) + effect.Kg*px(x, y, 1) + effect.Kb*px(x, y, 2)
			out.Y[y*out.YStride+x] = clamp8(effect.YOffset + effect.YScale*yy)
		}
	}
	for y := 0; y < (h+1)/2; y++ {
		for x := 0; x < (w+1)/2; x++ {
			var c [3]float64
			for i := 0; i < 3; i++ {
				c[i] = (px(2*x, 2*y, i) + px(2*x+1, 2*y, i) + px(2*x, 2*y+1, i) + px(2*x+1, 2*y+1, i)) / 4
			}
			yy := effect.Kr*c[0] + effect.Kg*c[1] + effect.Kb*c[2]
			out.Cb[y*out.CStride+x] = clamp8(effect.COffset + effect.CScale*(c[2]-yy)/(2*(1-effect.Kb)))
			out.Cr[y*out.CStride+x] = clamp8(effect.COffset + effect.CScale*(c[0]-yy)/(2*(1-effect.Kr)))
		}
	}
	return out
}

func clamp8(v float64) uint8 {
	v = math.Round(v)
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// BlurRow models Blur mode on one image row whose pixels are all equal down
// each column (a vertical step edge, for instance): box average by
// effect.WorkDiv (W must be a multiple of it), Gaussian with the plan's
// kernel (edge replicated), bilinear upsample with pixel-centre alignment
// (edge clamped). Values are in the input's units.
func BlurRow(row []float64, sigma float64) []float64 {
	w := len(row)
	d := effect.WorkDiv
	ww := w / d
	small := make([]float64, ww)
	for i := range small {
		for j := 0; j < d; j++ {
			small[i] += row[i*d+j]
		}
		small[i] /= float64(d)
	}
	k := effect.GaussianKernel(sigma)
	bl := make([]float64, ww)
	at := func(i int) float64 { return small[max(0, min(ww-1, i))] }
	for i := range bl {
		s := float64(k[0]) * at(i)
		for j := 1; j < len(k); j++ {
			s += float64(k[j]) * (at(i-j) + at(i+j))
		}
		bl[i] = s
	}
	out := make([]float64, w)
	for x := range out {
		sx := (float64(x)+0.5)/float64(d) - 0.5
		x0 := math.Floor(sx)
		f := sx - x0
		i0 := max(0, min(ww-1, int(x0)))
		i1 := max(0, min(ww-1, int(x0)+1))
		out[x] = bl[i0]*(1-f) + bl[i1]*f
	}
	return out
}

// PSNR returns the peak signal-to-noise ratio in dB between two I420 images
// of equal size over all three planes (peak 255); +Inf when identical.
func PSNR(a, b *image.YCbCr) float64 {
	var se float64
	var n int
	w, h := a.Rect.Dx(), a.Rect.Dy()
	acc := func(pa, pb []uint8, sa, sb, pw, ph int) {
		for y := 0; y < ph; y++ {
			for x := 0; x < pw; x++ {
				d := float64(pa[y*sa+x]) - float64(pb[y*sb+x])
				se += d * d
				n++
			}
		}
	}
	acc(a.Y, b.Y, a.YStride, b.YStride, w, h)
	acc(a.Cb, b.Cb, a.CStride, b.CStride, (w+1)/2, (h+1)/2)
	acc(a.Cr, b.Cr, a.CStride, b.CStride, (w+1)/2, (h+1)/2)
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(n)))
}

// MaxDiff returns the largest absolute difference between two I420 images
// over all planes.
func MaxDiff(a, b *image.YCbCr) int {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	m := 0
	cmp := func(pa, pb []uint8, sa, sb, pw, ph int) {
		for y := 0; y < ph; y++ {
			for x := 0; x < pw; x++ {
				d := int(pa[y*sa+x]) - int(pb[y*sb+x])
				m = max(m, d, -d)
			}
		}
	}
	cmp(a.Y, b.Y, a.YStride, b.YStride, w, h)
	cmp(a.Cb, b.Cb, a.CStride, b.CStride, (w+1)/2, (h+1)/2)
	cmp(a.Cr, b.Cr, a.CStride, b.CStride, (w+1)/2, (h+1)/2)
	return m
}
