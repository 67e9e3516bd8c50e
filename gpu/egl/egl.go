// Package egl owns an OpenGL context made through EGL with no window and no
// display server: one goroutine locked to its OS thread holds the context
// current, and every GL call runs there through Context.Do.
//
// Platforms are tried in order: Mesa surfaceless (EGL_MESA_platform_surfaceless),
// the first EGL device (EGL_EXT_platform_device, headless NVIDIA), then the
// default display. The context is OpenGL core profile, 4.1 or later, as
// required by github.com/go-gl/gl/v4.1-core/gl. It is independent of any
// other context in the process (Fyne's included).
package egl

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/go-gl/gl/v4.1-core/gl"
)

// Platform names an EGL platform.
type Platform string

const (
	Surfaceless Platform = "surfaceless"
	Device      Platform = "device"
	Default     Platform = "default"
)

// DefaultPlatforms is the order Open tries when Options.Platforms is empty.
var DefaultPlatforms = []Platform{Surfaceless, Device, Default}

// Options configures Open.
type Options struct {
	// Platforms to try in order; nil means DefaultPlatforms. An empty
	// non-nil slice makes Open fail, which tests use to force "no EGL".
	Platforms []Platform
}

// Info describes the context Open made.
type Info struct {
	Platform    Platform // the platform that worked
	EGLVersion  string   // e.g. "1.5"
	GLVersion   string   // GL_VERSION, e.g. "4.5 (Core Profile) Mesa 22.3.6"
	GLSLVersion string   // GL_SHADING_LANGUAGE_VERSION
	Renderer    string   // GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
	Vendor      string   // GL_VENDOR
	Extensions  []string // GL_EXTENSIONS via glGetStringi
}

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("egl: context closed")

// Context is a GL context owned by one locked goroutine.
type Context struct {
	info  Info
	calls chan func()
	mu    sync.Mutex
	done  bool
	wg    sync.WaitGroup
}

// Open starts the owner goroutine, makes a context current on its thread
// and initialises go-gl's function pointers from eglGetProcAddress. It
// returns an error naming each platform's failure when none works.
func Open(opts Options) (*Context, error) {
	plats := opts.Platforms
	if plats == nil {
		plats = DefaultPlatforms
	}
	c := &Context{calls: make(chan func())}
	ready := make(chan error, 1)
	c.wg.Add(1)
	go c.loop(plats, ready)
	if err := <-ready; err != nil {
		c.wg.Wait()
		return nil, err
	}
	return c, nil
}

func (c *Context) loop(plats []Platform, ready chan<- error) {
	defer c.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var errs []string
	var h *handle
	for _, p := range plats {
		hh, ver, err := openOn(p, 4, 1)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if err := gl.InitWithProcAddrFunc(procAddress); err != nil {
			hh.close()
			errs = append(errs, fmt.Sprintf("egl: %s platform: loading GL functions: %v", p, err))
			continue
		}
		h = hh
		c.info = Info{Platform: p, EGLVersion: ver}
		break
	}
	if h == nil {
		if len(errs) == 0 {
			errs = append(errs, "egl: no platform to try")
		}
		ready <- errors.New(strings.Join(errs, "; "))
		return
	}
	defer h.close()
	c.info.GLVersion = gl.GoStr(gl.GetString(gl.VERSION))
	c.info.GLSLVersion = gl.GoStr(gl.GetString(gl.SHADING_LANGUAGE_VERSION))
	c.info.Renderer = gl.GoStr(gl.GetString(gl.RENDERER))
	c.info.Vendor = gl.GoStr(gl.GetString(gl.VENDOR))
	var n int32
	gl.GetIntegerv(gl.NUM_EXTENSIONS, &n)
	for i := int32(0); i < n; i++ {
		c.info.Extensions = append(c.info.Extensions, gl.GoStr(gl.GetStringi(gl.EXTENSIONS, uint32(i))))
	}
	ready <- nil
	for f := range c.calls {
		f()
	}
}

// Info returns what the context is.
func (c *Context) Info() Info { return c.info }

// Do runs f on the context's thread and returns its error. A panic in f is
// recovered and returned as an error, so a GL fault cannot crash the
// process. Calls from many goroutines are serialised. After Close, Do
// returns ErrClosed.
func (c *Context) Do(f func() error) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return ErrClosed
	}
	res := make(chan error, 1)
	c.calls <- func() {
		defer func() {
			if r := recover(); r != nil {
				res <- fmt.Errorf("egl: panic on GL thread: %v", r)
			}
		}()
		res <- f()
	}
	return <-res
}

// Close destroys the context and ends the owner goroutine. Close is
// idempotent and always returns nil.
func (c *Context) Close() error {
	c.mu.Lock()
	if !c.done {
		c.done = true
		close(c.calls)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}
