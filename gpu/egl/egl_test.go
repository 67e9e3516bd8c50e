package egl

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-gl/gl/v4.1-core/gl"
)

func TestOpenReportsContext(t *testing.T) {
	c, err := Open(Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	in := c.Info()
	t.Logf("platform=%s egl=%s gl=%q glsl=%q renderer=%q vendor=%q exts=%d",
		in.Platform, in.EGLVersion, in.GLVersion, in.GLSLVersion, in.Renderer, in.Vendor, len(in.Extensions))
	if in.GLVersion == "" || in.Renderer == "" || len(in.Extensions) == 0 {
		t.Fatalf("incomplete info: %+v", in)
	}
	var maxTex int32
	if err := c.Do(func() error { gl.GetIntegerv(gl.MAX_TEXTURE_SIZE, &maxTex); return nil }); err != nil {
		t.Fatal(err)
	}
	if maxTex < 2048 {
		t.Fatalf("MAX_TEXTURE_SIZE %d", maxTex)
	}
	if err := c.Do(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic not returned: %v", err)
	}
	c.Close()
	if err := c.Do(func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestOpenNoPlatformFails(t *testing.T) {
	if _, err := Open(Options{Platforms: []Platform{}}); err == nil {
		t.Fatal("expected failure with no platforms")
	}
	if _, err := Open(Options{Platforms: []Platform{"bogus"}}); err == nil {
		t.Fatal("expected failure with a bogus platform")
	}
}

func TestTwoContexts(t *testing.T) {
	a, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, c := range []*Context{a, b} {
		if err := c.Do(func() error {
			if e := gl.GetError(); e != gl.NO_ERROR {
				return errors.New("gl error")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
