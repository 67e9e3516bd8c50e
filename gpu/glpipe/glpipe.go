// Package glpipe is Podium's GPU compositor: OpenGL 4.1 core shader passes
// run on a gpu/egl context. Per frame (W x H RGBA, mask at model resolution):
//
//  1. upload frame (RGBA8) and mask (R8) with glTexSubImage2D;
//  2. down: frame -> working size (ceil(W/4) x ceil(H/4)), box average;
//  3. guide, box H, box V, coefH, alpha: mask upsampled bilinearly to the
//     working size and refined by a guided filter whose guide is the frame's
//     luma (He, Sun, Tang 2010), feathered by smoothstep (effect.Feather*);
//  4. blur: separable Gaussian at working size (Blur mode), or the background
//     image scaled to cover (Replace mode), sampled in the mix;
//  5. mix: bg*(1-a) + fg*a at full size with alpha upsampled bilinearly,
//     optional light wrap;
//  6. i420: RGB -> BT.601 limited-range I420 planes in one R8 texture;
//  7. readback: glReadPixels into a pixel buffer object, a fence, then map.
//
// Readback is synchronous: the PBO is mapped as soon as the fence signals,
// so Composite returns the frame it was given (no added latency). The PBO
// still lets the driver do the copy asynchronously with the GPU's queue.
//
// Every numeric choice comes from package effect, which gpu/cpu follows too.
package glpipe

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"strings"
	"unsafe"

	"github.com/go-gl/gl/v4.1-core/gl"

	"github.com/podiumhq/podium/gpu/effect"
	"github.com/podiumhq/podium/gpu/egl"
)

// Fault selects an injected failure, for tests of the CPU fallback.
type Fault int

const (
	NoFault Fault = iota
	// BadShader makes New compile a fragment shader that does not compile.
	BadShader
	// GLError makes every Composite issue an invalid GL call, so the frame
	// fails with a GL error.
	GLError
)

// Options configures New.
type Options struct {
	Fault Fault
}

// Pipeline holds the programs and textures on one context. Methods may be
// called from any goroutine; the context serialises them.
type Pipeline struct {
	ctx   *egl.Context
	fault Fault
	vao   uint32
	progs map[string]*program

	w, h, ww, wh int
	frame        target // RGBA8 W x H (input, linear)
	rgb          target // RGBA8 W x H (mix output)
	yuv          target // R8 texW x (H+ch)
	small        target // RGBA8 work
	blurTmp      target // RGBA8 work
	blurOut      target // RGBA8 work
	guide        target // RGBA32F work
	boxTmp       target // RGBA32F work
	means        target // RGBA32F work
	abH          target // RGBA32F work
	alpha        target // R8 work
	mask         target // R8 mask size
	bg           target // RGBA8 background size
	bgKey        image.Image
	pbo          uint32
	pboSize      int
}

type program struct {
	id   uint32
	locs map[string]int32
}

type target struct {
	tex, fbo uint32
	w, h     int
}

var passes = map[string]string{
	"down": downSrc, "guide": guideSrc, "box": boxSrc, "coefH": coefHSrc,
	"alpha": alphaSrc, "gauss": gaussSrc, "i420y": i420ySrc, "i420c": i420cSrc,
}

// mixName names the mix variant for a background mode and light wrap.
func mixName(bgMode int, wrap bool) string {
	if wrap {
		return fmt.Sprintf("mix%dw", bgMode)
	}
	return fmt.Sprintf("mix%d", bgMode)
}

// New compiles the passes on ctx. It returns an error (and leaves nothing
// allocated) when a shader fails to compile or link.
func New(ctx *egl.Context, opts Options) (*Pipeline, error) {
	p := &Pipeline{ctx: ctx, fault: opts.Fault, progs: map[string]*program{}}
	err := ctx.Do(func() error {
		gl.GenVertexArrays(1, &p.vao)
		srcs := map[string][2]string{}
		for name, src := range passes {
			srcs[name] = [2]string{"", src}
		}
		for mode := 0; mode < 3; mode++ {
			for w := 0; w < 2; w++ {
				defs := fmt.Sprintf("#define BGMODE %d\n#define WRAP %d\n", mode, w)
				src := mixSrc
				if opts.Fault == BadShader {
					src = badSrc
				}
				srcs[mixName(mode, w == 1)] = [2]string{defs, src}
			}
		}
		for name, ds := range srcs {
			pr, err := compile(name, vertexSrc, fragment(ds[0], ds[1]))
			if err != nil {
				return err
			}
			p.progs[name] = pr
		}
		return glErr("init")
	})
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func compile(name, vs, fs string) (*program, error) {
	sh := func(kind uint32, src string) (uint32, error) {
		s := gl.CreateShader(kind)
		cs, free := gl.Strs(src + "\x00")
		gl.ShaderSource(s, 1, cs, nil)
		free()
		gl.CompileShader(s)
		var ok int32
		gl.GetShaderiv(s, gl.COMPILE_STATUS, &ok)
		if ok == gl.FALSE {
			var n int32
			gl.GetShaderiv(s, gl.INFO_LOG_LENGTH, &n)
			log := strings.Repeat("\x00", int(n)+1)
			gl.GetShaderInfoLog(s, n, nil, gl.Str(log))
			gl.DeleteShader(s)
			return 0, fmt.Errorf("glpipe: %s shader does not compile: %s", name, strings.TrimRight(log, "\x00\n"))
		}
		return s, nil
	}
	v, err := sh(gl.VERTEX_SHADER, vs)
	if err != nil {
		return nil, err
	}
	defer gl.DeleteShader(v)
	f, err := sh(gl.FRAGMENT_SHADER, fs)
	if err != nil {
		return nil, err
	}
	defer gl.DeleteShader(f)
	id := gl.CreateProgram()
	gl.AttachShader(id, v)
	gl.AttachShader(id, f)
	gl.LinkProgram(id)
	var ok int32
	gl.GetProgramiv(id, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		gl.DeleteProgram(id)
		return nil, fmt.Errorf("glpipe: %s program does not link", name)
	}
	return &program{id: id, locs: map[string]int32{}}, nil
}

func (pr *program) loc(name string) int32 {
	l, ok := pr.locs[name]
	if !ok {
		l = gl.GetUniformLocation(pr.id, gl.Str(name+"\x00"))
		pr.locs[name] = l
	}
	return l
}

func glErr(where string) error {
	if e := gl.GetError(); e != gl.NO_ERROR {
		for gl.GetError() != gl.NO_ERROR {
		}
		return fmt.Errorf("glpipe: GL error 0x%04x in %s", e, where)
	}
	return nil
}

// ensure (re)allocates t as a w x h texture of the given format, with an
// FBO when render is set.
func (t *target) ensure(w, h int, internal int32, format, typ uint32, linear, render bool) error {
	if t.tex != 0 && t.w == w && t.h == h {
		return nil
	}
	t.free()
	t.w, t.h = w, h
	gl.GenTextures(1, &t.tex)
	gl.BindTexture(gl.TEXTURE_2D, t.tex)
	filter := int32(gl.NEAREST)
	if linear {
		filter = gl.LINEAR
	}
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	gl.TexImage2D(gl.TEXTURE_2D, 0, internal, int32(w), int32(h), 0, format, typ, nil)
	if render {
		gl.GenFramebuffers(1, &t.fbo)
		gl.BindFramebuffer(gl.FRAMEBUFFER, t.fbo)
		gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.tex, 0)
		if s := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); s != gl.FRAMEBUFFER_COMPLETE {
			return fmt.Errorf("glpipe: framebuffer %dx%d incomplete (0x%04x)", w, h, s)
		}
		gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	}
	return glErr("allocate texture")
}

func (t *target) free() {
	if t.fbo != 0 {
		gl.DeleteFramebuffers(1, &t.fbo)
	}
	if t.tex != 0 {
		gl.DeleteTextures(1, &t.tex)
	}
	*t = target{}
}

func (p *Pipeline) alloc(w, h int) error {
	if p.w == w && p.h == h {
		return nil
	}
	pl := effect.NewPlan(w, h, effect.Effect{})
	p.w, p.h, p.ww, p.wh = w, h, pl.WorkW, pl.WorkH
	ww, wh := p.ww, p.wh
	cw, ch := (w+1)/2, (h+1)/2
	texW := max(w, 2*cw)
	for _, e := range []error{
		p.frame.ensure(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, true, false),
		p.rgb.ensure(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, false, true),
		p.yuv.ensure(texW, h+ch, gl.R8, gl.RED, gl.UNSIGNED_BYTE, false, true),
		p.small.ensure(ww, wh, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, false, true),
		p.blurTmp.ensure(ww, wh, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, false, true),
		p.blurOut.ensure(ww, wh, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, true, true),
		p.guide.ensure(ww, wh, gl.RGBA32F, gl.RGBA, gl.FLOAT, false, true),
		p.boxTmp.ensure(ww, wh, gl.RGBA32F, gl.RGBA, gl.FLOAT, false, true),
		p.means.ensure(ww, wh, gl.RGBA32F, gl.RGBA, gl.FLOAT, false, true),
		p.abH.ensure(ww, wh, gl.RGBA32F, gl.RGBA, gl.FLOAT, false, true),
		p.alpha.ensure(ww, wh, gl.R8, gl.RED, gl.UNSIGNED_BYTE, true, true),
	} {
		if e != nil {
			p.w, p.h = 0, 0
			return e
		}
	}
	size := texW * (h + ch)
	if p.pbo == 0 {
		gl.GenBuffers(1, &p.pbo)
	}
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, p.pbo)
	gl.BufferData(gl.PIXEL_PACK_BUFFER, size, nil, gl.STREAM_READ)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
	p.pboSize = size
	return glErr("allocate")
}

// upload copies an 8-bit image (bytesPerPixel 1 or 4) into t.
func upload(t *target, pix []byte, stride, bpp, w, h int) {
	gl.BindTexture(gl.TEXTURE_2D, t.tex)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, int32(stride/bpp))
	format := uint32(gl.RGBA)
	if bpp == 1 {
		format = gl.RED
	}
	gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, int32(w), int32(h), format, gl.UNSIGNED_BYTE, gl.Ptr(&pix[0]))
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, 0)
}

// draw runs program name into dst with the given textures bound to units
// 0.. in order, named by the sampler uniforms in samplers.
var lapHook func(string)

func (p *Pipeline) draw(name string, dst *target, samplers []string, texs []uint32, set func(pr *program)) {
	p.drawIn(name, dst, 0, 0, dst.w, dst.h, samplers, texs, set)
}

// drawIn is draw restricted to the viewport (x, y, w, h) of dst.
func (p *Pipeline) drawIn(name string, dst *target, x, y, w, h int, samplers []string, texs []uint32, set func(pr *program)) {
	if lapHook != nil {
		defer lapHook(name)
	}
	pr := p.progs[name]
	gl.UseProgram(pr.id)
	for i, s := range samplers {
		gl.ActiveTexture(gl.TEXTURE0 + uint32(i))
		gl.BindTexture(gl.TEXTURE_2D, texs[i])
		gl.Uniform1i(pr.loc(s), int32(i))
	}
	if set != nil {
		set(pr)
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, dst.fbo)
	gl.Viewport(int32(x), int32(y), int32(w), int32(h))
	gl.BindVertexArray(p.vao)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
}

func checkInputs(frame *image.RGBA, mask *image.Gray, eff effect.Effect) error {
	if frame == nil || frame.Rect.Dx() <= 0 || frame.Rect.Dy() <= 0 {
		return errors.New("glpipe: empty frame")
	}
	if eff.Mode != effect.None && (mask == nil || mask.Rect.Dx() <= 0 || mask.Rect.Dy() <= 0) {
		return errors.New("glpipe: effect needs a mask")
	}
	if eff.Mode == effect.Replace && eff.Background == nil {
		return errors.New("glpipe: Replace needs a Background")
	}
	return nil
}

// Composite runs every pass and returns the I420 image (W x H,
// YCbCrSubsampleRatio420, BT.601 limited range). The returned image is newly
// allocated and owned by the caller. Errors: invalid inputs, or a GL error /
// incomplete framebuffer (the caller should then switch to the CPU).
func (p *Pipeline) Composite(frame *image.RGBA, mask *image.Gray, eff effect.Effect) (*image.YCbCr, error) {
	if err := checkInputs(frame, mask, eff); err != nil {
		return nil, err
	}
	var out *image.YCbCr
	err := p.ctx.Do(func() error {
		src, err := p.render(frame, mask, eff)
		if err != nil {
			return err
		}
		p.i420(src)
		out, err = p.readI420()
		return err
	})
	return out, err
}

// CompositeRGBA runs the passes up to the mix and returns its RGBA output
// (W x H), for tests and previews.
func (p *Pipeline) CompositeRGBA(frame *image.RGBA, mask *image.Gray, eff effect.Effect) (*image.RGBA, error) {
	if err := checkInputs(frame, mask, eff); err != nil {
		return nil, err
	}
	var out *image.RGBA
	err := p.ctx.Do(func() error {
		src, err := p.render(frame, mask, eff)
		if err != nil {
			return err
		}
		out = image.NewRGBA(image.Rect(0, 0, p.w, p.h))
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, src.fbo)
		if src.fbo == 0 { // EffectNone: the frame texture has no FBO
			p.mix(0, false, p.alpha.tex, p.frame.tex, 0, 0, 0, 0)
			gl.BindFramebuffer(gl.READ_FRAMEBUFFER, p.rgb.fbo)
		}
		gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
		gl.ReadPixels(0, 0, int32(p.w), int32(p.h), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&out.Pix[0]))
		return glErr("read RGBA")
	})
	return out, err
}

// Mix runs only the mix pass on fg, bg (both W x H) and a W x H alpha, and
// returns bg*(1-a) + fg*a rounded to 8 bits. It exists so tests can check
// the pass exactly against a Go reference.
func (p *Pipeline) Mix(fg, bg *image.RGBA, alpha *image.Gray) (*image.RGBA, error) {
	r := fg.Rect
	if bg.Rect.Size() != r.Size() || alpha.Rect.Size() != r.Size() {
		return nil, errors.New("glpipe: Mix needs equal sizes")
	}
	var out *image.RGBA
	err := p.ctx.Do(func() error {
		w, h := r.Dx(), r.Dy()
		if err := p.alloc(w, h); err != nil {
			return err
		}
		var a, b target
		defer a.free()
		defer b.free()
		if err := a.ensure(w, h, gl.R8, gl.RED, gl.UNSIGNED_BYTE, true, false); err != nil {
			return err
		}
		if err := b.ensure(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, true, false); err != nil {
			return err
		}
		upload(&p.frame, fg.Pix, fg.Stride, 4, w, h)
		upload(&a, alpha.Pix, alpha.Stride, 1, w, h)
		upload(&b, bg.Pix, bg.Stride, 4, w, h)
		p.mix(2, false, a.tex, b.tex, 1, 0, 0, 0)
		out = image.NewRGBA(image.Rect(0, 0, w, h))
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, p.rgb.fbo)
		gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
		gl.ReadPixels(0, 0, int32(w), int32(h), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&out.Pix[0]))
		return glErr("mix")
	})
	return out, err
}

// render uploads and runs passes 1-5; it returns the texture to convert
// (the frame itself for effect.None).
func (p *Pipeline) render(frame *image.RGBA, mask *image.Gray, eff effect.Effect) (*target, error) {
	w, h := frame.Rect.Dx(), frame.Rect.Dy()
	if err := p.alloc(w, h); err != nil {
		return nil, err
	}
	if p.fault == GLError {
		gl.BindTexture(0xFFFF, 0) // GL_INVALID_ENUM
		return nil, glErr("injected fault")
	}
	pl := effect.NewPlan(w, h, eff)
	upload(&p.frame, frame.Pix[frame.PixOffset(frame.Rect.Min.X, frame.Rect.Min.Y):], frame.Stride, 4, w, h)
	if eff.Mode == effect.None {
		return &p.frame, glErr("upload")
	}
	mw, mh := mask.Rect.Dx(), mask.Rect.Dy()
	if err := p.mask.ensure(mw, mh, gl.R8, gl.RED, gl.UNSIGNED_BYTE, true, false); err != nil {
		return nil, err
	}
	upload(&p.mask, mask.Pix[mask.PixOffset(mask.Rect.Min.X, mask.Rect.Min.Y):], mask.Stride, 1, mw, mh)

	// 2. down
	p.draw("down", &p.small, []string{"src"}, []uint32{p.frame.tex}, func(pr *program) {
		gl.Uniform2f(pr.loc("srcSize"), float32(w), float32(h))
		gl.Uniform2f(pr.loc("dstSize"), float32(p.ww), float32(p.wh))
	})
	// 3. guided filter
	r := int32(effect.GuideRadius)
	p.draw("guide", &p.guide, []string{"small", "mask"}, []uint32{p.small.tex, p.mask.tex}, nil)
	p.draw("box", &p.boxTmp, []string{"src"}, []uint32{p.guide.tex}, func(pr *program) {
		gl.Uniform2i(pr.loc("dir"), 1, 0)
		gl.Uniform1i(pr.loc("r"), r)
	})
	p.draw("box", &p.means, []string{"src"}, []uint32{p.boxTmp.tex}, func(pr *program) {
		gl.Uniform2i(pr.loc("dir"), 0, 1)
		gl.Uniform1i(pr.loc("r"), r)
	})
	p.draw("coefH", &p.abH, []string{"means"}, []uint32{p.means.tex}, func(pr *program) {
		gl.Uniform1f(pr.loc("eps"), effect.GuideEps)
		gl.Uniform1i(pr.loc("r"), r)
	})
	p.draw("alpha", &p.alpha, []string{"abH", "guide"}, []uint32{p.abH.tex, p.guide.tex}, func(pr *program) {
		gl.Uniform1i(pr.loc("r"), r)
		gl.Uniform1f(pr.loc("lo"), effect.FeatherLo)
		gl.Uniform1f(pr.loc("hi"), effect.FeatherHi)
	})
	// 4. background
	bgMode, bgTex := 0, p.frame.tex
	var inv, ox, oy float64
	switch eff.Mode {
	case effect.Blur:
		if len(pl.BlurKernel) > 0 {
			k := pl.BlurKernel
			if len(k) > 32 {
				return nil, fmt.Errorf("glpipe: blur kernel radius %d > 31", len(k)-1)
			}
			set := func(dx, dy int32) func(pr *program) {
				return func(pr *program) {
					gl.Uniform2i(pr.loc("dir"), dx, dy)
					gl.Uniform1i(pr.loc("R"), int32(len(k)-1))
					gl.Uniform1fv(pr.loc("k"), int32(len(k)), &k[0])
				}
			}
			p.draw("gauss", &p.blurTmp, []string{"src"}, []uint32{p.small.tex}, set(1, 0))
			p.draw("gauss", &p.blurOut, []string{"src"}, []uint32{p.blurTmp.tex}, set(0, 1))
			bgMode, bgTex = 1, p.blurOut.tex
		}
	case effect.Replace:
		if err := p.background(eff.Background); err != nil {
			return nil, err
		}
		bgMode, bgTex = 2, p.bg.tex
		inv, ox, oy = effect.Cover(p.bg.w, p.bg.h, w, h)
	}
	// 5. mix
	p.mix(bgMode, pl.LightWrap > 0, p.alpha.tex, bgTex, inv, ox, oy, pl.LightWrap)
	return &p.rgb, glErr("render")
}

// mix draws the mix variant into p.rgb. The background texture's size is
// read back from the targets (p.bg for mode 2).
func (p *Pipeline) mix(bgMode int, wrap bool, alphaTex, bgTex uint32, inv, ox, oy float64, amount float32) {
	bw, bh := p.bg.w, p.bg.h
	if bgMode != 2 || bgTex != p.bg.tex {
		bw, bh = p.w, p.h
	}
	p.draw(mixName(bgMode, wrap), &p.rgb, []string{"frame", "alpha", "bg"}, []uint32{p.frame.tex, alphaTex, bgTex}, func(pr *program) {
		gl.Uniform2f(pr.loc("invSize"), 1/float32(p.w), 1/float32(p.h))
		gl.Uniform2f(pr.loc("invBgSize"), 1/float32(bw), 1/float32(bh))
		gl.Uniform3f(pr.loc("cover"), float32(inv), float32(ox), float32(oy))
		gl.Uniform1f(pr.loc("wrap"), amount)
	})
}

// background uploads img once per image value (cached by identity).
func (p *Pipeline) background(img image.Image) error {
	if p.bgKey == img && p.bg.tex != 0 {
		return nil
	}
	rgba, ok := img.(*image.RGBA)
	if !ok || rgba.Rect.Min != (image.Point{}) {
		b := img.Bounds()
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
	}
	w, h := rgba.Rect.Dx(), rgba.Rect.Dy()
	if err := p.bg.ensure(w, h, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, true, false); err != nil {
		return err
	}
	upload(&p.bg, rgba.Pix, rgba.Stride, 4, w, h)
	p.bgKey = img
	return glErr("background")
}

func (p *Pipeline) i420(src *target) {
	cw, ch := (p.w+1)/2, (p.h+1)/2
	p.drawIn("i420y", &p.yuv, 0, 0, p.w, p.h, []string{"rgb"}, []uint32{src.tex}, nil)
	p.drawIn("i420c", &p.yuv, 0, p.h, 2*cw, ch, []string{"rgb"}, []uint32{src.tex}, func(pr *program) {
		gl.Uniform1i(pr.loc("cw"), int32(cw))
		gl.Uniform1i(pr.loc("H"), int32(p.h))
	})
}

// readI420 reads the yuv texture through the PBO: glReadPixels into the
// buffer, a fence, wait, map, copy into a fresh image.YCbCr.
func (p *Pipeline) readI420() (*image.YCbCr, error) {
	w, h := p.w, p.h
	cw, ch := (w+1)/2, (h+1)/2
	texW := p.yuv.w
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, p.yuv.fbo)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, p.pbo)
	defer gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.ReadPixels(0, 0, int32(texW), int32(h+ch), gl.RED, gl.UNSIGNED_BYTE, nil)
	fence := gl.FenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0)
	res := gl.ClientWaitSync(fence, gl.SYNC_FLUSH_COMMANDS_BIT, 5e9)
	gl.DeleteSync(fence)
	if res == gl.TIMEOUT_EXPIRED || res == gl.WAIT_FAILED {
		return nil, fmt.Errorf("glpipe: readback fence wait failed (0x%04x)", res)
	}
	ptr := gl.MapBufferRange(gl.PIXEL_PACK_BUFFER, 0, p.pboSize, gl.MAP_READ_BIT)
	if ptr == nil {
		return nil, glErr("map PBO")
	}
	buf := unsafe.Slice((*byte)(ptr), p.pboSize)
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		copy(out.Y[y*out.YStride:y*out.YStride+w], buf[y*texW:])
	}
	for y := 0; y < ch; y++ {
		row := buf[(h+y)*texW:]
		copy(out.Cb[y*out.CStride:y*out.CStride+cw], row[:cw])
		copy(out.Cr[y*out.CStride:y*out.CStride+cw], row[cw:2*cw])
	}
	gl.UnmapBuffer(gl.PIXEL_PACK_BUFFER)
	return out, glErr("readback")
}

// Close frees every GL object. It is safe to call more than once.
func (p *Pipeline) Close() {
	_ = p.ctx.Do(func() error {
		for _, t := range []*target{&p.frame, &p.rgb, &p.yuv, &p.small, &p.blurTmp, &p.blurOut, &p.guide,
			&p.boxTmp, &p.means, &p.abH, &p.alpha, &p.mask, &p.bg} {
			t.free()
		}
		for _, pr := range p.progs {
			gl.DeleteProgram(pr.id)
		}
		p.progs = map[string]*program{}
		if p.pbo != 0 {
			gl.DeleteBuffers(1, &p.pbo)
			p.pbo = 0
		}
		if p.vao != 0 {
			gl.DeleteVertexArrays(1, &p.vao)
			p.vao = 0
		}
		p.w, p.h = 0, 0
		return nil
	})
}
