package segmentation

// Smoother is motion-gated temporal smoothing of a mask sequence. Per mask
// pixel i it blends the previous output with the new raw confidence:
//
//	d     = mean |RGB_t - RGB_t-1| / 255 at pixel i      (model-size frames)
//	g     = clamp((d - Motion/3) / (Motion - Motion/3), 0, 1)
//	a     = Strength * (1 - g)
//	out_i = a * prev_i + (1 - a) * raw_i
//
// So where the image is still, the mask is an exponential moving average with
// weight Strength (OBS background-removal's "temporal smoothing", default
// 0.85, locaal-ai/obs-backgroundremoval), which damps flicker; where the image
// changed by Motion or more (a moving edge), the raw mask is taken as is, so
// moving people do not drag a trail. Changes below Motion/3 count as sensor
// noise (full smoothing). The first mask, and any mask after a
// size change or Reset, passes through unchanged.
//
// A Smoother is not safe for concurrent use.
type Smoother struct {
	// Strength in 0..1 is the weight of the previous mask on still pixels.
	// 0 disables smoothing.
	Strength float32
	// Motion is the per-pixel mean RGB change (fraction of full scale, 0..1)
	// at which smoothing is fully off. Default (0) is DefaultMotion.
	Motion float32

	prev    []float32
	prevRGB []byte
	w, h    int
}

// Defaults for Smoother.
const (
	DefaultSmoothing = 0.85
	// DefaultMotion: 6 % of full scale (about 15 of 255 levels) is above
	// sensor noise after INTER_AREA downscaling and below any real edge.
	DefaultMotion = 0.06
)

// Reset forgets the history.
func (s *Smoother) Reset() { s.prev, s.prevRGB = nil, nil }

// Apply smooths raw (W x H) given the model-size RGB frame it was computed
// from (W*H*3 bytes, as [Segmenter.RGB] returns; nil disables motion gating)
// and returns a new mask. raw is not modified.
func (s *Smoother) Apply(raw Mask, rgb []byte) Mask {
	out := Mask{W: raw.W, H: raw.H, Conf: make([]float32, len(raw.Conf))}
	motion := s.Motion
	if motion <= 0 {
		motion = DefaultMotion
	}
	k := s.Strength
	if k < 0 {
		k = 0
	}
	if k > 1 {
		k = 1
	}
	fresh := s.prev == nil || s.w != raw.W || s.h != raw.H || k == 0
	haveRGB := len(rgb) == 3*len(raw.Conf) && len(s.prevRGB) == len(rgb)
	switch {
	case fresh:
		copy(out.Conf, raw.Conf)
	case !haveRGB:
		prev := s.prev[:len(raw.Conf)]
		for i, r := range raw.Conf {
			out.Conf[i] = r + k*(prev[i]-r)
		}
	default:
		// a (the previous mask's weight) as a function of the summed
		// channel difference d = 3 * 255 * mean|RGB_t - RGB_t-1| (0..765),
		// tabulated once per mask from the formula above.
		lo := 3 * 255 * motion / 3
		inv := 1 / (3 * 255 * motion * 2 / 3)
		var wt [766]float32
		for d := range wt {
			g := (float32(d) - lo) * inv
			switch {
			case g >= 1:
				wt[d] = 0
			case g > 0:
				wt[d] = k * (1 - g)
			default:
				wt[d] = k
			}
		}
		prev := s.prev[:len(raw.Conf)]
		cur, old := rgb[:3*len(raw.Conf)], s.prevRGB[:3*len(raw.Conf)]
		for i, r := range raw.Conf {
			j := 3 * i
			d := absDiff(cur[j], old[j]) + absDiff(cur[j+1], old[j+1]) + absDiff(cur[j+2], old[j+2])
			out.Conf[i] = r + wt[d]*(prev[i]-r)
		}
	}
	s.w, s.h = raw.W, raw.H
	if cap(s.prev) < len(out.Conf) {
		s.prev = make([]float32, len(out.Conf))
	}
	s.prev = s.prev[:len(out.Conf)]
	copy(s.prev, out.Conf)
	if len(rgb) == 3*len(raw.Conf) {
		s.prevRGB = append(s.prevRGB[:0], rgb...)
	} else {
		s.prevRGB = nil
	}
	return out
}

func absDiff(a, b byte) int {
	d := int(a) - int(b)
	m := d >> 63 // branch-free |d|
	return (d ^ m) - m
}

// Refine applies a threshold with a feathered edge in place:
//
//	c' = smoothstep(threshold - feather, threshold + feather, c)
//
// (smoothstep(e0,e1,x) = t*t*(3-2t), t = clamp((x-e0)/(e1-e0)), as GLSL).
// feather = 0 gives a hard 0/1 step at threshold; threshold <= 0 leaves the
// mask unchanged.
func Refine(m Mask, threshold, feather float32) {
	if threshold <= 0 {
		return
	}
	lo, hi := threshold-feather, threshold+feather
	for i, c := range m.Conf {
		switch {
		case feather <= 0:
			if c >= threshold {
				m.Conf[i] = 1
			} else {
				m.Conf[i] = 0
			}
		case c <= lo:
			m.Conf[i] = 0
		case c >= hi:
			m.Conf[i] = 1
		default:
			t := (c - lo) / (hi - lo)
			m.Conf[i] = t * t * (3 - 2*t)
		}
	}
}
