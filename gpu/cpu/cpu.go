// Package cpu is the CPU fallback of Podium's compositor, built on OpenCV
// (gocv) for the filters and plain Go for the per-pixel mix and the I420
// conversion. It follows the same recipe as the GPU path (package effect)
// step for step, so the two agree within the tolerance the tests state
// (PSNR >= 40 dB on real frames; in practice about 50 dB):
//
//   - down: cv::resize INTER_AREA to ceil(W/4) x ceil(H/4)
//     (the GPU's 4-tap bilinear box is exactly INTER_AREA when W, H are
//     multiples of 4);
//   - mask: converted to float and cv::resize INTER_LINEAR (pixel-centre
//     aligned, edge clamped, as GL's linear sampler);
//   - guided filter: cv::sepFilter2D box means, BORDER_REPLICATE (GL's
//     CLAMP_TO_EDGE), then smoothstep feather, rounded to 8 bits;
//   - blur: cv::sepFilter2D with effect.GaussianKernel, BORDER_REPLICATE;
//   - cover: cv::warpAffine INTER_LINEAR | WARP_INVERSE_MAP with the
//     mapping of effect.Cover (cached per background);
//   - alpha and blurred background upsampled with cv::resize INTER_LINEAR;
//   - mix, light wrap and I420 in Go, fixed point.
//
// Where the GPU interpolates the 8-bit alpha and blurred background in float
// during the mix, this path resizes them to full size in 8 bits first; that
// and OpenCV's fixed-point resize weights are the main sources of the
// (small) difference. Measured worst case on real frames: 52.7 dB.
//
// Performance: set OPENCV_FOR_THREADS_NUM=1 (the Makefile does). OpenCV's
// worker pool spins after each call and, on a 2-core machine, slowed the
// llvmpipe GPU path beside it by 2-3x.
package cpu

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"gocv.io/x/gocv"

	"github.com/podiumhq/podium/gpu/effect"
)

// Compositor is the CPU compositor. It is safe for concurrent use (calls
// are serialised) and must be closed to free OpenCV memory.
type Compositor struct {
	mu     sync.Mutex
	closed bool
	w, h   int

	frame, small, maskU8, maskF, maskW gocv.Mat
	gp, means, ab, mab, alpha, alphaF  gocv.Mat
	blurS, bgFull, bgCover             gocv.Mat
	boxK                               gocv.Mat

	bgKey  image.Image
	bgSize image.Point
	scr    []uint8 // two mixed RGB rows
}

// New returns a CPU compositor.
func New() *Compositor {
	c := &Compositor{}
	for _, m := range c.mats() {
		*m = gocv.NewMat()
	}
	n := 2*effect.GuideRadius + 1
	c.boxK = gocv.NewMatWithSize(1, n, gocv.MatTypeCV32F)
	for i := 0; i < n; i++ {
		c.boxK.SetFloatAt(0, i, 1/float32(n))
	}
	return c
}

func (c *Compositor) mats() []*gocv.Mat {
	return []*gocv.Mat{&c.frame, &c.small, &c.maskU8, &c.maskF, &c.maskW, &c.gp, &c.means, &c.ab, &c.mab,
		&c.alpha, &c.alphaF, &c.blurS, &c.bgFull, &c.bgCover}
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("cpu: compositor closed")

// Close frees the OpenCV buffers; later calls return ErrClosed.
func (c *Compositor) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, m := range c.mats() {
		m.Close()
	}
	c.boxK.Close()
	return nil
}

// Composite returns frame (W x H) composited with mask as I420 (W x H,
// YCbCrSubsampleRatio420, BT.601 limited range), newly allocated. Errors:
// empty frame, missing mask or background, closed compositor.
func (c *Compositor) Composite(frame *image.RGBA, mask *image.Gray, eff effect.Effect) (*image.YCbCr, error) {
	var out *image.YCbCr
	err := c.run(frame, mask, eff, func(w, h int, row func(y int, dst []uint8)) {
		out = toI420(w, h, row, c.scratch(w))
	})
	return out, err
}

// CompositeRGBA returns the mixed RGBA image (W x H) before I420 conversion.
func (c *Compositor) CompositeRGBA(frame *image.RGBA, mask *image.Gray, eff effect.Effect) (*image.RGBA, error) {
	var out *image.RGBA
	err := c.run(frame, mask, eff, func(w, h int, row func(y int, dst []uint8)) {
		out = image.NewRGBA(image.Rect(0, 0, w, h))
		rgb := c.scratch(w)[:3*w]
		for y := 0; y < h; y++ {
			row(y, rgb)
			o := out.Pix[y*out.Stride:]
			for x := 0; x < w; x++ {
				o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = rgb[3*x], rgb[3*x+1], rgb[3*x+2], 255
			}
		}
	})
	return out, err
}

func (c *Compositor) scratch(w int) []uint8 {
	if len(c.scr) < 6*w {
		c.scr = make([]uint8, 6*w)
	}
	return c.scr
}

func (c *Compositor) run(frame *image.RGBA, mask *image.Gray, eff effect.Effect, emit func(w, h int, row func(y int, dst []uint8))) error {
	if frame == nil || frame.Rect.Dx() <= 0 || frame.Rect.Dy() <= 0 {
		return errors.New("cpu: empty frame")
	}
	if eff.Mode != effect.None && (mask == nil || mask.Rect.Dx() <= 0 || mask.Rect.Dy() <= 0) {
		return errors.New("cpu: effect needs a mask")
	}
	if eff.Mode == effect.Replace && eff.Background == nil {
		return errors.New("cpu: Replace needs a Background")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	w, h := frame.Rect.Dx(), frame.Rect.Dy()
	pl := effect.NewPlan(w, h, eff)
	fpix := func(y int) []uint8 {
		o := frame.PixOffset(frame.Rect.Min.X, frame.Rect.Min.Y+y)
		return frame.Pix[o : o+4*w]
	}
	if eff.Mode == effect.None {
		emit(w, h, func(y int, dst []uint8) {
			src := fpix(y)
			for x := 0; x < w; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
		})
		return nil
	}
	if c.w != w || c.h != h {
		c.frame.Close()
		c.frame = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC4)
		c.w, c.h = w, h
		c.bgKey = nil
	}
	fd, err := c.frame.DataPtrUint8()
	if err != nil {
		return err
	}
	for y := 0; y < h; y++ {
		copy(fd[y*4*w:], fpix(y))
	}
	ww, wh := pl.WorkW, pl.WorkH
	gocv.Resize(c.frame, &c.small, image.Pt(ww, wh), 0, 0, gocv.InterpolationArea)

	// Mask to float, bilinear to working size.
	mw, mh := mask.Rect.Dx(), mask.Rect.Dy()
	if c.maskU8.Cols() != mw || c.maskU8.Rows() != mh {
		c.maskU8.Close()
		c.maskU8 = gocv.NewMatWithSize(mh, mw, gocv.MatTypeCV8U)
	}
	md, err := c.maskU8.DataPtrUint8()
	if err != nil {
		return err
	}
	for y := 0; y < mh; y++ {
		o := mask.PixOffset(mask.Rect.Min.X, mask.Rect.Min.Y+y)
		copy(md[y*mw:], mask.Pix[o:o+mw])
	}
	c.maskU8.ConvertToWithParams(&c.maskF, gocv.MatTypeCV32F, 1.0/255, 0)
	gocv.Resize(c.maskF, &c.maskW, image.Pt(ww, wh), 0, 0, gocv.InterpolationLinear)

	// Guided filter (He et al. 2010) with the working luma as guide.
	if err := c.refine(ww, wh); err != nil {
		return err
	}
	gocv.Resize(c.alpha, &c.alphaF, image.Pt(w, h), 0, 0, gocv.InterpolationLinear)

	// Background.
	bg := c.frame
	switch eff.Mode {
	case effect.Blur:
		if len(pl.BlurKernel) > 0 {
			k := fullKernel(pl.BlurKernel)
			gocv.SepFilter2D(c.small, &c.blurS, -1, k, k, image.Pt(-1, -1), 0, gocv.BorderReplicate)
			k.Close()
			gocv.Resize(c.blurS, &c.bgFull, image.Pt(w, h), 0, 0, gocv.InterpolationLinear)
			bg = c.bgFull
		}
	case effect.Replace:
		if err := c.cover(eff.Background, w, h); err != nil {
			return err
		}
		bg = c.bgCover
	}
	ad, err := c.alphaF.DataPtrUint8()
	if err != nil {
		return err
	}
	bd, err := bg.DataPtrUint8()
	if err != nil {
		return err
	}
	wrap := pl.LightWrap
	emit(w, h, func(y int, dst []uint8) {
		mixRow(dst, fd[y*4*w:(y+1)*4*w], bd[y*4*w:(y+1)*4*w], ad[y*w:(y+1)*w], wrap)
	})
	return nil
}

func fullKernel(k []float32) gocv.Mat {
	r := len(k) - 1
	m := gocv.NewMatWithSize(1, 2*r+1, gocv.MatTypeCV32F)
	for i := -r; i <= r; i++ {
		m.SetFloatAt(0, i+r, k[max(i, -i)])
	}
	return m
}

// refine runs the guided filter at working size into c.alpha (8-bit).
func (c *Compositor) refine(ww, wh int) error {
	n := ww * wh
	if c.gp.Cols() != ww || c.gp.Rows() != wh {
		for _, m := range []*gocv.Mat{&c.gp, &c.ab, &c.alpha} {
			m.Close()
		}
		c.gp = gocv.NewMatWithSize(wh, ww, gocv.MatTypeCV32FC4)
		c.ab = gocv.NewMatWithSize(wh, ww, gocv.MatTypeCV32FC2)
		c.alpha = gocv.NewMatWithSize(wh, ww, gocv.MatTypeCV8U)
	}
	sd, err := c.small.DataPtrUint8()
	if err != nil {
		return err
	}
	pd, err := c.maskW.DataPtrFloat32()
	if err != nil {
		return err
	}
	gd, err := c.gp.DataPtrFloat32()
	if err != nil {
		return err
	}
	const kr, kg, kb = float32(effect.Kr / 255), float32(effect.Kg / 255), float32(effect.Kb / 255)
	for i := 0; i < n; i++ {
		I := kr*float32(sd[4*i]) + kg*float32(sd[4*i+1]) + kb*float32(sd[4*i+2])
		p := pd[i]
		gd[4*i], gd[4*i+1], gd[4*i+2], gd[4*i+3] = I, p, I*p, I*I
	}
	gocv.SepFilter2D(c.gp, &c.means, -1, c.boxK, c.boxK, image.Pt(-1, -1), 0, gocv.BorderReplicate)
	md, err := c.means.DataPtrFloat32()
	if err != nil {
		return err
	}
	abd, err := c.ab.DataPtrFloat32()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		mI, mp, mIp, mII := md[4*i], md[4*i+1], md[4*i+2], md[4*i+3]
		a := (mIp - mI*mp) / (mII - mI*mI + effect.GuideEps)
		abd[2*i], abd[2*i+1] = a, mp-a*mI
	}
	gocv.SepFilter2D(c.ab, &c.mab, -1, c.boxK, c.boxK, image.Pt(-1, -1), 0, gocv.BorderReplicate)
	mabd, err := c.mab.DataPtrFloat32()
	if err != nil {
		return err
	}
	al, err := c.alpha.DataPtrUint8()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		q := mabd[2*i]*gd[4*i] + mabd[2*i+1]
		al[i] = uint8(effect.Smoothstep(effect.FeatherLo, effect.FeatherHi, q)*255 + 0.5)
	}
	return nil
}

// cover warps bg to cover w x h (cached by image identity and size).
func (c *Compositor) cover(bg image.Image, w, h int) error {
	if c.bgKey == bg && c.bgSize == image.Pt(w, h) {
		return nil
	}
	b := bg.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Rect, bg, b.Min, draw.Src)
	src, err := gocv.NewMatFromBytes(b.Dy(), b.Dx(), gocv.MatTypeCV8UC4, rgba.Pix)
	if err != nil {
		return err
	}
	defer src.Close()
	inv, ox, oy := effect.Cover(b.Dx(), b.Dy(), w, h)
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	m.SetDoubleAt(0, 0, inv)
	m.SetDoubleAt(0, 1, 0)
	m.SetDoubleAt(0, 2, 0.5*inv+ox-0.5)
	m.SetDoubleAt(1, 0, 0)
	m.SetDoubleAt(1, 1, inv)
	m.SetDoubleAt(1, 2, 0.5*inv+oy-0.5)
	gocv.WarpAffineWithParams(src, &c.bgCover, m, image.Pt(w, h),
		gocv.InterpolationLinear|gocv.WarpInverseMap, gocv.BorderReplicate, color.RGBA{})
	c.bgKey, c.bgSize = bg, image.Pt(w, h)
	return nil
}

// mixRow writes one row of bg*(1-a) + fg*a (RGB, 3 bytes per pixel) into
// dst; fg and bg are RGBA rows, a the 8-bit alpha row. Without light wrap the
// result is exactly round((fg*a + bg*(255-a))/255).
func mixRow(dst, fg, bg, a []uint8, wrap float32) {
	w := len(a)
	if wrap == 0 {
		for x := 0; x < w; x++ {
			al := uint32(a[x])
			ia := 255 - al
			f, b := fg[4*x:4*x+3:4*x+3], bg[4*x:4*x+3:4*x+3]
			d := dst[3*x : 3*x+3 : 3*x+3]
			d[0] = uint8((uint32(f[0])*al + uint32(b[0])*ia + 127) / 255)
			d[1] = uint8((uint32(f[1])*al + uint32(b[1])*ia + 127) / 255)
			d[2] = uint8((uint32(f[2])*al + uint32(b[2])*ia + 127) / 255)
		}
		return
	}
	for x := 0; x < w; x++ {
		al := float32(a[x]) / 255
		lw := wrap * 4 * al * (1 - al)
		for ch := 0; ch < 3; ch++ {
			f, b := float32(fg[4*x+ch]), float32(bg[4*x+ch])
			f += (b - f) * lw
			dst[3*x+ch] = uint8(b + (f-b)*al + 0.5)
		}
	}
}

// Fixed-point BT.601 limited-range coefficients (ITU-R BT.601-7 2.5),
// scaled by 2^16 and including the 8-bit code-value scale (219/255, 224/255).
const (
	fy = 65536 * effect.YScale / 255
	fc = 65536 * effect.CScale / 255
)

var (
	yR  = fix(fy * effect.Kr)
	yG  = fix(fy * effect.Kg)
	yB  = fix(fy * effect.Kb)
	cbR = -fix(fc * effect.Kr / (2 * (1 - effect.Kb)))
	cbG = -fix(fc * effect.Kg / (2 * (1 - effect.Kb)))
	cbB = fix(fc * 0.5)
	crR = fix(fc * 0.5)
	crG = -fix(fc * effect.Kg / (2 * (1 - effect.Kr)))
	crB = -fix(fc * effect.Kb / (2 * (1 - effect.Kr)))
)

func fix(v float64) int32 { return int32(math.Round(v)) }

// toI420 converts rows of RGB produced by row(y, dst) to a new I420 image.
// Chroma is the 2x2 mean (last row/column replicated), as in the shader.
func toI420(w, h int, row func(y int, dst []uint8), scr []uint8) *image.YCbCr {
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r0, r1 := scr[:3*w], scr[3*w:6*w]
	cw := (w + 1) / 2
	for y := 0; y < h; y += 2 {
		row(y, r0)
		yrow := out.Y[y*out.YStride:]
		lumaRow(yrow, r0, w)
		if y+1 < h {
			row(y+1, r1)
			lumaRow(out.Y[(y+1)*out.YStride:], r1, w)
		} else {
			copy(r1, r0)
		}
		cb, cr := out.Cb[(y/2)*out.CStride:], out.Cr[(y/2)*out.CStride:]
		for cx := 0; cx < cw; cx++ {
			x0, x1 := 3*2*cx, 3*min(2*cx+1, w-1)
			sr := int32(r0[x0]) + int32(r0[x1]) + int32(r1[x0]) + int32(r1[x1])
			sg := int32(r0[x0+1]) + int32(r0[x1+1]) + int32(r1[x0+1]) + int32(r1[x1+1])
			sb := int32(r0[x0+2]) + int32(r0[x1+2]) + int32(r1[x0+2]) + int32(r1[x1+2])
			cb[cx] = uint8((cbR*sr + cbG*sg + cbB*sb + 128<<18 + 1<<17) >> 18)
			cr[cx] = uint8((crR*sr + crG*sg + crB*sb + 128<<18 + 1<<17) >> 18)
		}
	}
	return out
}

func lumaRow(dst, rgb []uint8, w int) {
	for x := 0; x < w; x++ {
		p := rgb[3*x : 3*x+3 : 3*x+3]
		dst[x] = uint8((yR*int32(p[0]) + yG*int32(p[1]) + yB*int32(p[2]) + 16<<16 + 1<<15) >> 16)
	}
}
