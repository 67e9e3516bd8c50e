// Package effect defines what Podium's compositor does to a camera frame: the
// effect settings chosen by the user (Effect) and the exact recipe both
// backends follow (Plan): working sizes, filter kernels and constants. The GPU
// shaders (gpu/glpipe) and the CPU fallback (gpu/cpu) read every number from
// here, which is what lets them agree within the tolerance their tests state.
package effect

import (
	"image"
	"math"
)

// Mode selects the background treatment.
type Mode int

const (
	// None passes the frame through (converted to I420); the mask is ignored.
	None Mode = iota
	// Blur keeps the person sharp and blurs the background.
	Blur
	// Replace puts the person over Effect.Background, scaled to cover.
	Replace
)

func (m Mode) String() string {
	switch m {
	case None:
		return "none"
	case Blur:
		return "blur"
	case Replace:
		return "replace"
	}
	return "unknown"
}

// Effect is one frame's effect settings.
type Effect struct {
	Mode Mode
	// BlurStrength in 0..1 (clamped) sets the Gaussian sigma of Blur mode:
	// 0 leaves the background sharp, 1 is about 30 px of sigma at full
	// resolution (see Plan.BlurSigma).
	BlurStrength float64
	// Background is the replacement image for Replace mode, any size; it is
	// scaled to cover the frame (aspect kept, centred, overflow cropped).
	// Backends cache its conversion by identity: pass the same image value
	// across frames and do not mutate it; a new image value is re-uploaded.
	Background image.Image
	// LightWrap lets a little of the background's colour spill onto the
	// person's edge (Google Meet's "light wrapping"), which hides halos.
	LightWrap bool
}

// Recipe constants shared by both backends.
const (
	// WorkDiv is the downscale factor of the working resolution at which
	// mask refinement and background blur run: work = ceil(frame / WorkDiv).
	WorkDiv = 4
	// GuideRadius is the guided filter's box radius in working pixels
	// (a (2r+1)^2 window), i.e. about 16 px at full resolution.
	GuideRadius = 4
	// GuideEps is the guided filter's regulariser on a 0..1 luma guide
	// (He, Sun, Tang, "Guided Image Filtering", ECCV 2010 / TPAMI 2013,
	// eqs. 5-6). Smaller keeps more of the frame's edges.
	GuideEps = 1e-3
	// FeatherLo and FeatherHi remap the refined confidence q to alpha with
	// smoothstep(FeatherLo, FeatherHi, q): confidences below Lo are pure
	// background, above Hi pure person, with a smooth (C1) band between.
	// The bilinear upsample of that working-resolution alpha to full size
	// adds a further WorkDiv-pixel feather.
	FeatherLo = 0.30
	FeatherHi = 0.70
	// MaxBlurSigma is the Gaussian sigma, in working pixels, at
	// BlurStrength 1 (30 px at full resolution with WorkDiv 4).
	MaxBlurSigma = 7.5
	// LightWrapAmount is the largest share of background colour mixed into
	// the person, reached where alpha is 0.5; weight = amount*4*a*(1-a).
	LightWrapAmount = 0.35
)

// BT.601 luma weights (ITU-R BT.601-7, section 2.5.1: E'Y = 0.299 E'R +
// 0.587 E'G + 0.114 E'B) and the limited ("studio") range of its 8-bit
// quantisation (section 2.5.3: Y' = 219 E'Y + 16, C = 224 E'C + 128).
const (
	Kr = 0.299
	Kg = 0.587
	Kb = 0.114
	// YScale, YOffset, CScale, COffset are in 8-bit code values.
	YScale  = 219.0
	YOffset = 16.0
	CScale  = 224.0
	COffset = 128.0
)

// Plan is the per-size recipe: everything a backend needs besides pixels.
type Plan struct {
	W, H         int     // frame size, pixels
	WorkW, WorkH int     // working size: ceil(W/WorkDiv) x ceil(H/WorkDiv)
	BlurSigma    float64 // Gaussian sigma in working pixels; 0 means no blur
	// BlurKernel holds the one-sided normalised Gaussian weights k[0..R]
	// (k[0] the centre); the full kernel is k[R]..k[0]..k[R].
	BlurKernel []float32
	LightWrap  float32 // light-wrap amount, 0 when off
}

// NewPlan returns the recipe for a W x H frame and effect e.
func NewPlan(w, h int, e Effect) Plan {
	p := Plan{W: w, H: h, WorkW: ceilDiv(w, WorkDiv), WorkH: ceilDiv(h, WorkDiv)}
	if e.Mode == Blur {
		s := math.Max(0, math.Min(1, e.BlurStrength))
		if s > 0 {
			p.BlurSigma = 0.5 + s*(MaxBlurSigma-0.5)
			p.BlurKernel = GaussianKernel(p.BlurSigma)
		}
	}
	if e.LightWrap && e.Mode != None {
		p.LightWrap = LightWrapAmount
	}
	return p
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 1
	}
	return (a + b - 1) / b
}

// GaussianKernel returns the one-sided weights k[0..R], R = ceil(3 sigma),
// of a sampled Gaussian exp(-i^2 / (2 sigma^2)) normalised so that
// k[0] + 2*sum(k[1..R]) = 1. Both backends convolve with exactly these
// float32 weights, replicating the edge pixel outside the image.
func GaussianKernel(sigma float64) []float32 {
	r := int(math.Ceil(3 * sigma))
	if r < 1 {
		r = 1
	}
	w := make([]float64, r+1)
	sum := 0.0
	for i := range w {
		w[i] = math.Exp(-float64(i*i) / (2 * sigma * sigma))
		if i == 0 {
			sum += w[i]
		} else {
			sum += 2 * w[i]
		}
	}
	k := make([]float32, r+1)
	for i := range w {
		k[i] = float32(w[i] / sum)
	}
	return k
}

// Cover returns the mapping that scales a bw x bh background to cover a
// w x h frame, centred: frame pixel centre (x+0.5, y+0.5) samples the
// background at continuous coordinates (x+0.5)*Inv + OffX, (y+0.5)*Inv + OffY
// (pixel-centre convention: pixel i spans [i, i+1)).
// Inv = 1/scale with scale = max(w/bw, h/bh).
func Cover(bw, bh, w, h int) (inv, offX, offY float64) {
	scale := math.Max(float64(w)/float64(bw), float64(h)/float64(bh))
	inv = 1 / scale
	offX = (float64(bw) - float64(w)*inv) / 2
	offY = (float64(bh) - float64(h)*inv) / 2
	return inv, offX, offY
}

// Smoothstep is GLSL's smoothstep(e0, e1, x): the cubic 3t^2 - 2t^3 of
// t = clamp((x-e0)/(e1-e0), 0, 1).
func Smoothstep(e0, e1, x float32) float32 {
	t := (x - e0) / (e1 - e0)
	if t < 0 {
		t = 0
	} else if t > 1 {
		t = 1
	}
	return t * t * (3 - 2*t)
}
