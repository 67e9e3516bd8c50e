package vbg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/gpu"
)

func TestBundledImages(t *testing.T) {
	bgs, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	if len(bgs) < 2 {
		t.Fatalf("%d bundled backgrounds", len(bgs))
	}
	for _, b := range bgs {
		if b.Kind != Image || b.Image == nil || b.Image.Bounds().Dx() != 1280 || b.Image.Bounds().Dy() != 720 {
			t.Errorf("%s: %+v", b.Name, b.Image.Bounds())
		}
	}
}

// pngHeader is a PNG signature and IHDR chunk claiming w x h: enough for
// image.DecodeConfig, with no pixel data behind it.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	data := make([]byte, 13)
	binary.BigEndian.PutUint32(data[0:], w)
	binary.BigEndian.PutUint32(data[4:], h)
	data[8], data[9] = 8, 0 // 8-bit grey
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	chunk := append([]byte("IHDR"), data...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestLoadUserImageRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var good bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	if err := jpeg.Encode(&good, img, nil); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.jpg")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(good.Bytes()[:200])
	f.Truncate(31 << 20) // sparse: 31 MiB on paper
	f.Close()
	cases := []struct {
		path string
		want error
		text string
	}{
		{write("text.png", []byte("hello, I am not a picture")), ErrNotImage, "not an image"},
		{write("random.jpg", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1000)), ErrNotImage, "not an image"},
		{write("truncated.jpg", good.Bytes()[:len(good.Bytes())/2]), ErrNotImage, "truncated.jpg"},
		{write("empty.png", nil), ErrNotImage, "empty.png"},
		{write("zero.png", pngHeader(0, 10)), ErrNotImage, "zero.png"},
		{write("giant.png", pngHeader(10000, 6000)), ErrTooLarge, "60 megapixels"},
		{write("bomb.png", pngHeader(40000, 40000)), ErrTooLarge, "megapixels"},
		{huge, ErrTooLarge, "31 MB"},
		{dir, ErrNotImage, "folder"},
		{filepath.Join(dir, "missing.jpg"), os.ErrNotExist, "missing.jpg"},
	}
	for _, c := range cases {
		_, err := LoadBackground(c.path)
		if err == nil {
			t.Errorf("%s: loaded", c.path)
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: error %q, want %v mentioning %q", filepath.Base(c.path), err, c.want, c.text)
		}
		t.Logf("%s: %v", filepath.Base(c.path), err)
	}
	ok := write("ok.jpg", good.Bytes())
	bg, err := LoadBackground(ok)
	if err != nil || bg.Kind != Image || bg.Image.Bounds().Dx() != 64 {
		t.Fatalf("good file: %+v %v", bg, err)
	}
}

func TestLoadUserImageScalesDown(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 3000, 2400))
	for y := 0; y < 2400; y++ {
		for x := 0; x < 3000; x++ {
			img.SetGray(x, y, color.Gray{uint8(x ^ y)})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 50}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "big.jpg")
	os.WriteFile(p, b.Bytes(), 0o644)
	bg, err := LoadBackground(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := bg.Image.Bounds(); got.Dx() != 1800 || got.Dy() != 1440 {
		t.Fatalf("scaled to %v, want 1800x1440", got)
	}
}

func TestOffer(t *testing.T) {
	hi := offerFor(gpu.Info{Tier: gpu.TierHigh}, 8)
	if hi.Warning != "" || !hi.Allows(Image) || hi.Suggested != Image {
		t.Errorf("high tier: %+v", hi)
	}
	low := offerFor(gpu.Info{Tier: gpu.TierLow, Renderer: "llvmpipe (LLVM 15.0.6, 256 bits)"}, 2)
	if low.Warning == "" || low.Suggested != BlurLight || !strings.Contains(low.Warning, "blur") {
		t.Errorf("low tier: %+v", low)
	}
	none := offerFor(gpu.Info{Tier: gpu.TierNone}, 4)
	if none.Warning == "" || none.Suggested != BlurLight {
		t.Errorf("no GPU: %+v", none)
	}
	one := offerFor(gpu.Info{Tier: gpu.TierHigh}, 1)
	if one.Allows(Image) || one.Allows(BlurStrong) || !one.Allows(BlurLight) || one.Warning == "" {
		t.Errorf("one core: %+v", one)
	}
	t.Logf("low tier: %+v", low)
}

func TestEffectFor(t *testing.T) {
	bgs, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	img := bgs[0]
	for _, c := range []struct {
		bg   Background
		lvl  Level
		mode gpu.EffectMode
		str  float64
	}{
		{None, LevelFull, gpu.EffectNone, 0},
		{Light, LevelFull, gpu.EffectBlur, LightBlurStrength},
		{Strong, LevelLandscape, gpu.EffectBlur, StrongBlurStrength},
		{Strong, LevelLowBlur, gpu.EffectBlur, LowBlurStrength},
		{img, LevelLandscape, gpu.EffectReplace, 0},
		{img, LevelBlurInstead, gpu.EffectBlur, LowBlurStrength},
		{img, LevelOff, gpu.EffectNone, 0},
		{Background{Kind: Image}, LevelFull, gpu.EffectNone, 0},
	} {
		e, on := effectFor(c.bg, c.lvl)
		if e.Mode != c.mode || e.BlurStrength != c.str || on != (c.mode != gpu.EffectNone) {
			t.Errorf("%v at %v: %+v", c.bg.Kind, c.lvl, e)
		}
	}
}
