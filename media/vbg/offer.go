package vbg

import (
	"runtime"

	"github.com/podiumhq/podium/gpu"
)

// Offering is what the settings screen shows.
type Offering struct {
	// Allowed are the options to list, in display order.
	Allowed []Kind
	// Suggested is the option to pre-select or recommend.
	Suggested Kind
	// Warning, when not empty, is shown beside the options (the machine
	// is weak: blur is suggested).
	Warning string
}

// Allows reports whether k is offered.
func (o Offering) Allows(k Kind) bool {
	for _, a := range o.Allowed {
		if a == k {
			return true
		}
	}
	return false
}

// Offer decides what the app offers on this machine from the compositor's
// quality tier (gpu.Info from gpu.New / NewCompositor) and the CPU count.
func Offer(info gpu.Info) Offering { return offerFor(info, runtime.NumCPU()) }

func offerFor(info gpu.Info, cpus int) Offering {
	all := []Kind{Off, BlurLight, BlurStrong, Image}
	if cpus < 2 {
		// One core runs capture, segmentation, compositing and the VP8
		// encoder: only the cheapest effect has a chance.
		return Offering{Allowed: []Kind{Off, BlurLight}, Suggested: Off,
			Warning: "This computer has a single processor core: only a light background blur is available, and it may lower your frame rate."}
	}
	switch info.Tier {
	case gpu.TierHigh, gpu.TierMedium:
		return Offering{Allowed: all, Suggested: Image}
	}
	// TierLow (software renderer) or TierNone (no GL): everything is
	// composited on the CPU. Replacement costs about the same as blur on
	// the CPU path, but blur hides segmentation mistakes far better (a
	// blurred wrong pixel looks like background, a replaced one is a hole
	// or a halo), so blur is what we suggest; the degrade ladder steps
	// down if the machine cannot keep up.
	_, why := info.Recommend()
	return Offering{Allowed: all, Suggested: BlurLight,
		Warning: why + " Background blur is recommended on this computer."}
}
