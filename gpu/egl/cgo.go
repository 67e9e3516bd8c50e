package egl

/*
#cgo pkg-config: egl
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <stdlib.h>
#include <string.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

typedef struct {
	EGLDisplay dpy;
	EGLContext ctx;
	EGLint major, minor;
} podium_egl;

static EGLDisplay podium_platform_display(EGLenum platform, void *native) {
	PFNEGLGETPLATFORMDISPLAYEXTPROC f =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (!f) return EGL_NO_DISPLAY;
	return f(platform, native, NULL);
}

// podium_display: which = 0 surfaceless (Mesa), 1 device (first EGLDevice),
// 2 default display.
static EGLDisplay podium_display(int which) {
	if (which == 0) {
		return podium_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY);
	}
	if (which == 1) {
		PFNEGLQUERYDEVICESEXTPROC q =
			(PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
		EGLDeviceEXT devs[8];
		EGLint n = 0;
		if (!q || !q(8, devs, &n) || n == 0) return EGL_NO_DISPLAY;
		return podium_platform_display(EGL_PLATFORM_DEVICE_EXT, devs[0]);
	}
	return eglGetDisplay(EGL_DEFAULT_DISPLAY);
}

// podium_open makes a core-profile OpenGL >= major.minor context current on
// the calling thread with no surface. Returns 0 on success or the failing
// step (1 display, 2 initialise, 3 bind API, 4 config, 5 context,
// 6 make current) with *eglErr set to eglGetError().
static int podium_open(int which, int major, int minor, podium_egl *out, EGLint *eglErr) {
	memset(out, 0, sizeof(*out));
	EGLDisplay dpy = podium_display(which);
	if (dpy == EGL_NO_DISPLAY) { *eglErr = eglGetError(); return 1; }
	if (!eglInitialize(dpy, &out->major, &out->minor)) { *eglErr = eglGetError(); return 2; }
	if (!eglBindAPI(EGL_OPENGL_API)) { *eglErr = eglGetError(); return 3; }
	EGLint cfgAttr[] = {
		EGL_SURFACE_TYPE, EGL_PBUFFER_BIT,
		EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
		EGL_NONE
	};
	EGLint cfgAttrAny[] = {
		EGL_SURFACE_TYPE, EGL_DONT_CARE,
		EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
		EGL_NONE
	};
	EGLConfig cfg;
	EGLint n = 0;
	if (!eglChooseConfig(dpy, cfgAttr, &cfg, 1, &n) || n == 0) {
		if (!eglChooseConfig(dpy, cfgAttrAny, &cfg, 1, &n) || n == 0) {
			*eglErr = eglGetError(); return 4;
		}
	}
	EGLint ctxAttr[] = {
		EGL_CONTEXT_MAJOR_VERSION, major,
		EGL_CONTEXT_MINOR_VERSION, minor,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE
	};
	EGLContext ctx = eglCreateContext(dpy, cfg, EGL_NO_CONTEXT, ctxAttr);
	if (ctx == EGL_NO_CONTEXT) { *eglErr = eglGetError(); return 5; }
	if (!eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
		*eglErr = eglGetError();
		eglDestroyContext(dpy, ctx);
		return 6;
	}
	out->dpy = dpy;
	out->ctx = ctx;
	return 0;
}

static void podium_close(podium_egl *e) {
	if (e->ctx != EGL_NO_CONTEXT) {
		eglMakeCurrent(e->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
		eglDestroyContext(e->dpy, e->ctx);
		e->ctx = EGL_NO_CONTEXT;
	}
	// The display is shared by every context of this process on the same
	// platform: it is deliberately not terminated.
	eglReleaseThread();
}

static void *podium_proc(const char *name) { return (void *)eglGetProcAddress(name); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

type handle struct{ c C.podium_egl }

var stepNames = [...]string{"", "no display", "eglInitialize", "eglBindAPI(OpenGL)", "eglChooseConfig", "eglCreateContext", "eglMakeCurrent"}

// openOn must run on the locked thread.
func openOn(p Platform, major, minor int) (*handle, string, error) {
	var which C.int
	switch p {
	case Surfaceless:
		which = 0
	case Device:
		which = 1
	case Default:
		which = 2
	default:
		return nil, "", fmt.Errorf("egl: unknown platform %q", p)
	}
	h := &handle{}
	var eerr C.EGLint
	if step := C.podium_open(which, C.int(major), C.int(minor), &h.c, &eerr); step != 0 {
		return nil, "", fmt.Errorf("egl: %s platform: %s failed (EGL error 0x%04x)", p, stepNames[step], int(eerr))
	}
	return h, fmt.Sprintf("%d.%d", int(h.c.major), int(h.c.minor)), nil
}

func (h *handle) close() { C.podium_close(&h.c) }

func procAddress(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.podium_proc(cs)
}
