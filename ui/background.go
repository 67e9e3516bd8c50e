package ui

// Virtual backgrounds in the app: the controller owns one media/vbg
// pipeline for the window's lifetime. The pre-join preview and the call's
// capture goroutine both run camera frames through it (Controller.process),
// so the preview shows exactly what others receive; the chosen background
// is applied with Pipeline.SetEffect (next frame, no gap) whenever the
// setting changes, mid-call too. The effect is never critical: if the
// pipeline cannot start (model missing) or fails, frames go out raw.

import (
	"fmt"
	"image"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/podiumhq/podium/assets/backgrounds"
	"github.com/podiumhq/podium/media/vbg"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/store"
)

// Background specs (store.Settings.Background).
const (
	bgNone       = "none"
	bgBlurLight  = "blur-light"
	bgBlurStrong = "blur-strong"
	bgImagePfx   = "image:"
	bgFile       = "file"
	bgChoose     = "choose" // menu entry only: opens the file dialog
)

// normBackground maps older saved values onto today's specs.
func normBackground(spec string) string {
	switch spec {
	case "", bgNone:
		return bgNone
	case "blur":
		return bgBlurLight
	case "image":
		if n := backgrounds.Names(); len(n) > 0 {
			return bgImagePfx + n[0]
		}
		return bgNone
	}
	return spec
}

// kindOf is the vbg.Kind name of a spec (for Offering.Allowed).
func kindOf(spec string) string {
	switch {
	case spec == bgBlurLight, spec == bgBlurStrong, spec == bgNone:
		return spec
	case spec == bgFile, strings.HasPrefix(spec, bgImagePfx):
		return vbg.Image.String()
	}
	return ""
}

// backgroundOptions are the Background menu's entries for the settings
// and the offered kinds: None, the blurs, the bundled images, the user's
// file (when chosen) and "Choose image…".
func backgroundOptions(s store.Settings, allowed []string) []devices.Option {
	ok := func(spec string) bool {
		if allowed == nil {
			return true
		}
		for _, a := range allowed {
			if a == kindOf(spec) {
				return true
			}
		}
		return false
	}
	out := []devices.Option{{Spec: bgNone, Label: "None"}}
	for _, o := range []devices.Option{{Spec: bgBlurLight, Label: "Blur (light)"}, {Spec: bgBlurStrong, Label: "Blur (strong)"}} {
		if ok(o.Spec) {
			out = append(out, o)
		}
	}
	if ok(bgFile) {
		for _, n := range backgrounds.Names() {
			out = append(out, devices.Option{Spec: bgImagePfx + n, Label: "Image: " + titleCase(n)})
		}
		if s.Background == bgFile && s.BackgroundImage != "" {
			out = append(out, devices.Option{Spec: bgFile, Label: "My image: " + filepath.Base(s.BackgroundImage)})
		}
		out = append(out, devices.Option{Spec: bgChoose, Label: "Choose image…"})
	}
	return out
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// bgState is the controller's share of the virtual-background work.
type bgState struct {
	once    sync.Once
	ready   chan struct{}
	pipe    atomic.Pointer[vbg.Pipeline] // nil: unavailable or not started
	broken  atomic.Bool                  // the pipeline panicked: raw frames from now on
	mu      sync.Mutex
	bundled map[string]vbg.Background
	file    map[string]vbg.Background // loaded user files by path
	applied string                    // spec (+ path) last applied
}

// startBackgrounds creates the pipeline once, in the background (loading
// the model and probing the GPU take a moment), then applies the saved
// choice and reports the offer to the store.
func (c *Controller) startBackgrounds() {
	c.bg.once.Do(func() {
		c.bg.ready = make(chan struct{})
		go func() {
			defer close(c.bg.ready)
			p, err := vbg.New(vbg.Options{CameraFPS: devices.FPS, Logger: c.d.Log, OnChange: func(ch vbg.Change) {
				go c.st.Dispatch(store.BackgroundNote{Text: ch.Message(), Down: ch.Down()})
			}})
			if err != nil {
				c.d.Log.Warn("virtual backgrounds unavailable", "err", err)
				c.st.Dispatch(store.BackgroundReady{Unavailable: "Background effects are unavailable: " + err.Error() + ". Your camera is sent without effects."})
				return
			}
			bundled, berr := vbg.Bundled()
			c.bg.mu.Lock()
			c.bg.bundled = map[string]vbg.Background{}
			for _, b := range bundled {
				c.bg.bundled[b.Name] = b
			}
			c.bg.mu.Unlock()
			if berr != nil {
				c.d.Log.Warn("bundled backgrounds", "err", berr)
			}
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if closed {
				_ = p.Close()
				return
			}
			c.bg.pipe.Store(p)
			offer := vbg.Offer(p.Info())
			var allowed []string
			for _, k := range offer.Allowed {
				allowed = append(allowed, k.String())
			}
			c.st.Dispatch(store.BackgroundReady{Allowed: allowed, Warning: offer.Warning})
			c.applyBackground(c.st.State().Settings)
		}()
	})
}

// applyBackground sets the effect for the settings' choice (a no-op when
// it did not change). A file that cannot be used leaves no effect and a
// message.
func (c *Controller) applyBackground(s store.Settings) {
	p := c.bg.pipe.Load()
	if p == nil {
		return
	}
	spec := normBackground(s.Background)
	key := spec
	if spec == bgFile {
		key += "\x00" + s.BackgroundImage
	}
	c.bg.mu.Lock()
	if c.bg.applied == key {
		c.bg.mu.Unlock()
		return
	}
	c.bg.applied = key
	c.bg.mu.Unlock()
	bg, err := c.resolveBackground(spec, s.BackgroundImage)
	if err != nil {
		p.SetEffect(vbg.None)
		c.st.Dispatch(store.BackgroundFailed{Message: "Background not applied: " + err.Error()})
		return
	}
	p.SetEffect(bg)
}

func (c *Controller) resolveBackground(spec, path string) (vbg.Background, error) {
	switch {
	case spec == bgNone:
		return vbg.None, nil
	case spec == bgBlurLight:
		return vbg.Light, nil
	case spec == bgBlurStrong:
		return vbg.Strong, nil
	case strings.HasPrefix(spec, bgImagePfx):
		c.bg.mu.Lock()
		b, ok := c.bg.bundled[strings.TrimPrefix(spec, bgImagePfx)]
		c.bg.mu.Unlock()
		if !ok {
			return vbg.None, fmt.Errorf("the bundled image %q is missing from this build", strings.TrimPrefix(spec, bgImagePfx))
		}
		return b, nil
	case spec == bgFile:
		return c.loadBackgroundFile(path)
	}
	return vbg.None, fmt.Errorf("unknown background %q", spec)
}

func (c *Controller) loadBackgroundFile(path string) (vbg.Background, error) {
	c.bg.mu.Lock()
	b, ok := c.bg.file[path]
	c.bg.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := vbg.LoadBackground(path)
	if err != nil {
		return vbg.None, err
	}
	c.bg.mu.Lock()
	if c.bg.file == nil {
		c.bg.file = map[string]vbg.Background{}
	}
	c.bg.file[path] = b
	c.bg.mu.Unlock()
	return b, nil
}

// chooseBackgroundFile loads a user's image; only a usable one becomes
// the setting (a broken or huge file leaves the choice as it was).
func (c *Controller) chooseBackgroundFile(path string) {
	if _, err := c.loadBackgroundFile(path); err != nil {
		c.st.Dispatch(store.BackgroundFailed{Message: "Cannot use that image: " + err.Error()})
		return
	}
	st := c.st.State().Settings
	st.Background, st.BackgroundImage = bgFile, path
	c.st.Dispatch(store.UpdateSettings{Settings: st})
}

// process runs a camera frame through the background pipeline; with no
// pipeline, a camera that is off, or after a failure it returns the frame.
func (c *Controller) process(v *devices.Video, img *image.RGBA) (out image.Image) {
	p := c.bg.pipe.Load()
	if p == nil || img == nil || c.bg.broken.Load() || (v != nil && v.Off()) {
		return img
	}
	defer func() {
		if r := recover(); r != nil {
			c.bg.broken.Store(true)
			c.d.Log.Error("virtual background failed; sending the raw camera", "panic", r, "stack", string(debug.Stack()))
			go c.st.Dispatch(store.BackgroundFailed{Message: fmt.Sprintf("The background effect failed (%v): your camera is sent without it.", r)})
			out = img
		}
	}()
	if out = p.Process(img); out == nil {
		out = img
	}
	return out
}

// closeBackgrounds stops the pipeline (window closing).
func (c *Controller) closeBackgrounds() {
	if c.bg.ready == nil {
		return
	}
	<-c.bg.ready
	if p := c.bg.pipe.Swap(nil); p != nil {
		_ = p.Close()
	}
}
