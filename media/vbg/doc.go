// Package vbg is Podium's virtual-background pipeline: the part of the
// publish path (../shared/DESIGN.md, "newest frame wins") between the camera
// and the VP8 encoder.
//
//	camera frame (capture goroutine)
//	  -> Pipeline.Process
//	       -> copy to the segmentation pool's single slot (latest frame
//	          wins; every k-th frame when degraded), returns at once
//	       -> newest published mask (normally the previous frame's; the
//	          video never waits on inference, except once, bounded by
//	          Options.FirstMaskWait, when the effect is switched on)
//	       -> compositor (gpu.Compositor: refine, blur / replace, I420)
//	  -> encoder (accepts the *image.YCbCr as is)
//
// Use it as participant.Config.Process:
//
//	p, err := vbg.New(vbg.Options{CameraFPS: 30, OnChange: func(c vbg.Change) {
//		fyne.Do(func() { showToast(c.Message()) })
//	}})
//	offer := vbg.Offer(p.Info())        // what the settings screen lists
//	p.SetEffect(vbg.Light)              // any goroutine, any time
//	cfg.Process = p.Process
//
// Backgrounds: None, Light, Strong, Bundled() images (assets/backgrounds)
// and LoadBackground(path) for a user file.
//
// The degrade ladder (Ladder, a pure state machine) watches each frame's
// measured cost and the segmentation timings; when the effect cannot hold
// the target rate (24 fps, or 90 % of a slower camera) for 3 s it steps
// down: segment every other frame, the landscape model, a lighter blur or
// blur instead of replacement, then off; it steps back up after 10 s of
// headroom (longer after a bounce). Each step is reported through
// Options.OnChange.
//
// Compositor choice (NewCompositor): the GPU path unless the OpenGL renderer
// is a software one (llvmpipe): there the CPU compositor is about twice as
// fast (6-7 ms against 13-15 ms per 720p frame on the reference machine).
package vbg
