// Package framestamp writes a frame number into a video frame as a row of
// black and white 16x16 blocks, and reads it back after lossy coding. Test
// participants stamp what they send so a receiver can compare each decoded
// frame with exactly the frame that was sent.
//
// Layout: Bits blocks along the top-left edge, 16 x 16 px each (one VP8
// macroblock, so the encoder codes each as a flat block): 16 bits of frame
// number, most significant first, then an 8-bit check (number's two bytes
// XOR 0xA5).
package framestamp

import (
	"image"
	"image/color"
)

// Block is the side of one bit's square, in pixels.
const Block = 16

// Bits is the number of blocks in a stamp.
const Bits = 24

// Region is the stamped area (W x H = 384 x 16 px at the top left).
var Region = image.Rect(0, 0, Bits*Block, Block)

func check(n uint16) uint8 { return uint8(n>>8) ^ uint8(n) ^ 0xA5 }

func bits(n uint16) [Bits]bool {
	var b [Bits]bool
	v := uint32(n)<<8 | uint32(check(n))
	for i := 0; i < Bits; i++ {
		b[i] = v&(1<<(Bits-1-i)) != 0
	}
	return b
}

// Stamp writes n into img (which must be at least 384 x 16 px).
func Stamp(img *image.RGBA, n uint16) {
	for i, on := range bits(n) {
		c := color.RGBA{16, 16, 16, 255}
		if on {
			c = color.RGBA{235, 235, 235, 255}
		}
		for y := 0; y < Block; y++ {
			for x := i * Block; x < (i+1)*Block; x++ {
				img.SetRGBA(img.Rect.Min.X+x, img.Rect.Min.Y+y, c)
			}
		}
	}
}

// Read decodes a stamp, judging each block by the mean luma of its central
// 8 x 8 pixels. ok is false when the check byte does not match.
func Read(img image.Image) (n uint16, ok bool) {
	b := img.Bounds()
	if b.Dx() < Region.Dx() || b.Dy() < Region.Dy() {
		return 0, false
	}
	var v uint32
	for i := 0; i < Bits; i++ {
		var sum, cnt int
		for y := 4; y < 12; y++ {
			for x := i*Block + 4; x < i*Block+12; x++ {
				sum += luma(img, b.Min.X+x, b.Min.Y+y)
				cnt++
			}
		}
		v <<= 1
		if sum/cnt > 128 {
			v |= 1
		}
	}
	n = uint16(v >> 8)
	return n, uint8(v) == check(n)
}

func luma(img image.Image, x, y int) int {
	if yc, ok := img.(*image.YCbCr); ok {
		return int(yc.Y[yc.YOffset(x, y)])
	}
	r, g, bb, _ := img.At(x, y).RGBA()
	return int((299*r + 587*g + 114*bb) / 1000 >> 8)
}
