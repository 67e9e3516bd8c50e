package vbg

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif" // LoadBackground formats
	_ "image/jpeg"
	_ "image/png"
	"os"

	xdraw "golang.org/x/image/draw"

	"github.com/podiumhq/podium/assets/backgrounds"
	"github.com/podiumhq/podium/gpu"
)

// Kind is a background option offered to the user.
type Kind int

const (
	// Off: no effect.
	Off Kind = iota
	// BlurLight: a light background blur.
	BlurLight
	// BlurStrong: a strong background blur.
	BlurStrong
	// Image: the background replaced by Background.Image.
	Image
)

func (k Kind) String() string {
	switch k {
	case Off:
		return "none"
	case BlurLight:
		return "blur-light"
	case BlurStrong:
		return "blur-strong"
	case Image:
		return "image"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Blur strengths (gpu.Effect.BlurStrength, 0..1) of the two blur options
// and of the ladder's reduced blur. Sigma at full resolution is about
// 2 + 28*strength px (see gpu/effect.NewPlan).
const (
	LightBlurStrength  = 0.3
	StrongBlurStrength = 0.8
	LowBlurStrength    = 0.2
)

// Background is what the user chose.
type Background struct {
	Kind Kind
	// Image is the replacement for Kind Image: a bundled one (Bundled) or a
	// user file (LoadBackground). Do not modify it after SetEffect: the
	// compositor caches its conversion by identity.
	Image image.Image
	// Name labels the choice in the UI ("office", a file name ...).
	Name string
	// LightWrap spills a little background colour over the person's edge.
	LightWrap bool
}

// None, Light, Strong are the non-image choices.
var (
	None   = Background{Kind: Off, Name: "None"}
	Light  = Background{Kind: BlurLight, Name: "Blur (light)"}
	Strong = Background{Kind: BlurStrong, Name: "Blur (strong)"}
)

// Bundled returns the backgrounds shipped in assets/backgrounds, decoded.
func Bundled() ([]Background, error) {
	var out []Background
	for _, n := range backgrounds.Names() {
		img, err := backgrounds.Open(n)
		if err != nil {
			return nil, fmt.Errorf("bundled background %s: %w", n, err)
		}
		out = append(out, Background{Kind: Image, Image: img, Name: n})
	}
	return out, nil
}

// Limits on user-chosen background files.
const (
	MaxFileBytes  = 30 << 20   // 30 MiB
	MaxPixels     = 50_000_000 // 50 MP
	MaxKeepWidth  = 2560       // larger images are scaled down on load
	MaxKeepHeight = 1440
)

// Errors of LoadBackground, for errors.Is; the returned error's message is
// written for the user.
var (
	ErrNotImage = errors.New("not an image Podium can read (use a JPEG, PNG or GIF)")
	ErrTooLarge = errors.New("image too large")
)

// LoadBackground reads a user-chosen background image (JPEG, PNG or GIF).
// It refuses files over MaxFileBytes or MaxPixels before decoding them,
// never panics on a broken file, and scales images larger than
// MaxKeepWidth x MaxKeepHeight down (aspect kept) so the compositor does
// not hold a huge image. Errors wrap ErrNotImage or ErrTooLarge, or the
// file system's error, and name the file.
func LoadBackground(path string) (bg Background, err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not take the call down
			bg, err = Background{}, fmt.Errorf("%s: %w (decoder failed: %v)", path, ErrNotImage, r)
		}
	}()
	st, err := os.Stat(path)
	if err != nil {
		return Background{}, fmt.Errorf("background image: %w", err)
	}
	if st.IsDir() {
		return Background{}, fmt.Errorf("%s: %w (it is a folder)", path, ErrNotImage)
	}
	if st.Size() > MaxFileBytes {
		return Background{}, fmt.Errorf("%s: %w: %.0f MB, the limit is %d MB", path, ErrTooLarge, float64(st.Size())/(1<<20), MaxFileBytes>>20)
	}
	f, err := os.Open(path)
	if err != nil {
		return Background{}, fmt.Errorf("background image: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return Background{}, fmt.Errorf("%s: %w", path, ErrNotImage)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Background{}, fmt.Errorf("%s: %w (empty image)", path, ErrNotImage)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return Background{}, fmt.Errorf("%s: %w: %dx%d is %.0f megapixels, the limit is %d", path, ErrTooLarge,
			cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e6, MaxPixels/1_000_000)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return Background{}, fmt.Errorf("background image: %w", err)
	}
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return Background{}, fmt.Errorf("%s: %w (%v)", path, ErrNotImage, err)
	}
	return Background{Kind: Image, Image: fit(img), Name: st.Name()}, nil
}

// fit scales img down to within MaxKeepWidth x MaxKeepHeight, as RGBA.
func fit(img image.Image) image.Image {
	b := img.Bounds()
	s := min(1, float64(MaxKeepWidth)/float64(b.Dx()), float64(MaxKeepHeight)/float64(b.Dy()))
	w, h := max(1, int(float64(b.Dx())*s+0.5)), max(1, int(float64(b.Dy())*s+0.5))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if s == 1 {
		draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	} else {
		xdraw.BiLinear.Scale(dst, dst.Rect, img, b, draw.Src, nil)
	}
	return dst
}

// effectFor maps a choice and a ladder level to the compositor's settings.
// It reports false when the result is no effect.
func effectFor(bg Background, lvl Level) (gpu.Effect, bool) {
	if lvl == LevelOff {
		return gpu.Effect{Mode: gpu.EffectNone}, false
	}
	e := gpu.Effect{LightWrap: bg.LightWrap}
	switch bg.Kind {
	case BlurLight:
		e.Mode, e.BlurStrength = gpu.EffectBlur, LightBlurStrength
	case BlurStrong:
		e.Mode, e.BlurStrength = gpu.EffectBlur, StrongBlurStrength
	case Image:
		if bg.Image == nil {
			return gpu.Effect{Mode: gpu.EffectNone}, false
		}
		e.Mode, e.Background = gpu.EffectReplace, bg.Image
	default:
		return gpu.Effect{Mode: gpu.EffectNone}, false
	}
	if lvl >= LevelLowBlur && e.Mode == gpu.EffectBlur {
		e.BlurStrength = min(e.BlurStrength, LowBlurStrength)
	}
	if lvl >= LevelBlurInstead && e.Mode == gpu.EffectReplace {
		e.Mode, e.Background, e.BlurStrength = gpu.EffectBlur, nil, LowBlurStrength
	}
	return e, true
}
