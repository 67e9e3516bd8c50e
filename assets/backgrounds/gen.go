//go:build ignore

// gen draws Podium's bundled backgrounds (1280x720 JPEG): run with
// `go generate ./assets/backgrounds`. Deterministic: the same files every run.
package main

import (
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"math"
	"math/rand"
	"os"
)

const w, h = 1280, 720

func main() {
	save("office", office())
	save("bookshelf", bookshelf())
	save("studio", studio())
}

func save(name string, img image.Image) {
	f, err := os.Create(name + ".jpg")
	if err != nil {
		log.Fatal(err)
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 82}); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v+0.5))) }

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

type rgb struct{ r, g, b float64 }

func mix(a, b rgb, t float64) rgb {
	return rgb{lerp(a.r, b.r, t), lerp(a.g, b.g, t), lerp(a.b, b.b, t)}
}

func set(img *image.RGBA, x, y int, c rgb) {
	img.SetRGBA(x, y, color.RGBA{clamp(c.r), clamp(c.g), clamp(c.b), 255})
}

// office: a warm wall lit from a window on the left, a darker skirting
// board, a desk edge and a soft plant shape.
func office() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	top, bottom := rgb{226, 214, 196}, rgb{186, 170, 150}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fy, fx := float64(y)/h, float64(x)/w
			c := mix(top, bottom, fy)
			// Window light: a soft radial glow upper left.
			d := math.Hypot(fx-0.18, (fy-0.3)*0.8)
			glow := math.Exp(-d * d / 0.06)
			c = mix(c, rgb{250, 244, 230}, 0.55*glow)
			// Vignette.
			v := 1 - 0.18*math.Pow(math.Hypot(fx-0.5, fy-0.5)*1.4, 2)
			c = rgb{c.r * v, c.g * v, c.b * v}
			switch {
			case y > h*82/100: // desk
				t := float64(y-h*82/100) / float64(h*18/100)
				c = mix(rgb{120, 84, 56}, rgb{92, 62, 40}, t)
				c.r += 6 * math.Sin(float64(x)/37+float64(y)/5)
			case y > h*78/100: // skirting board
				c = rgb{236, 232, 224}
			}
			set(img, x, y, c)
		}
	}
	// A plant: leaves as soft ellipses on the right.
	r := rand.New(rand.NewSource(6))
	for i := 0; i < 40; i++ {
		cx := 1060 + r.Float64()*140 - 70
		cy := 380 + r.Float64()*160 - 60
		rx, ry := 18+r.Float64()*16, 50+r.Float64()*30
		ang := (r.Float64() - 0.5) * 1.6
		col := rgb{50 + r.Float64()*30, 110 + r.Float64()*40, 60 + r.Float64()*20}
		ellipse(img, cx, cy, rx, ry, ang, col)
	}
	// Pot.
	for y := 540; y < 590; y++ {
		for x := 1020 + (y-540)/4; x < 1100-(y-540)/4; x++ {
			set(img, x, y, rgb{170, 90, 60})
		}
	}
	return img
}

func ellipse(img *image.RGBA, cx, cy, rx, ry, ang float64, c rgb) {
	s, co := math.Sin(ang), math.Cos(ang)
	R := int(math.Max(rx, ry)) + 2
	for y := int(cy) - R; y <= int(cy)+R; y++ {
		for x := int(cx) - R; x <= int(cx)+R; x++ {
			if x < 0 || y < 0 || x >= w || y >= h {
				continue
			}
			dx, dy := float64(x)-cx, float64(y)-cy
			u, v := (dx*co+dy*s)/rx, (-dx*s+dy*co)/ry
			d := u*u + v*v
			if d < 1 {
				a := math.Min(1, (1-d)*4) // soft edge
				o := img.RGBAAt(x, y)
				set(img, x, y, mix(rgb{float64(o.R), float64(o.G), float64(o.B)}, c, a))
			}
		}
	}
}

// bookshelf: a wooden case with five shelves of books of random widths,
// heights and colours, softly lit from above.
func bookshelf() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	wood := rgb{104, 70, 44}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := wood
			c.r += 8 * math.Sin(float64(y)/3+math.Sin(float64(x)/60)*4)
			set(img, x, y, c)
		}
	}
	r := rand.New(rand.NewSource(42))
	palette := []rgb{{140, 40, 40}, {40, 70, 120}, {200, 170, 90}, {50, 100, 70}, {180, 120, 60}, {90, 60, 110}, {220, 210, 190}, {30, 30, 40}, {160, 80, 50}}
	const shelves = 5
	sh := h / shelves
	for s := 0; s < shelves; s++ {
		y0, y1 := s*sh+14, (s+1)*sh-4 // board at the bottom of each shelf
		// Back panel, darker.
		for y := y0; y < y1; y++ {
			for x := 30; x < w-30; x++ {
				set(img, x, y, rgb{60, 40, 26})
			}
		}
		x := 36
		for x < w-40 {
			bw := 14 + r.Intn(26)
			if x+bw > w-36 {
				break
			}
			bh := (y1 - y0) * (60 + r.Intn(35)) / 100
			col := palette[r.Intn(len(palette))]
			lean := r.Intn(12) == 0
			for y := y1 - bh; y < y1; y++ {
				for xx := x; xx < x+bw; xx++ {
					if lean && xx-x < (y-(y1-bh))/8 {
						continue
					}
					c := col
					// Spine shading and a title band.
					f := float64(xx-x) / float64(bw)
					k := 0.75 + 0.35*math.Sin(f*math.Pi)
					c = rgb{c.r * k, c.g * k, c.b * k}
					if y-(y1-bh) > bh/5 && y-(y1-bh) < bh/5+6 {
						c = mix(c, rgb{230, 200, 120}, 0.6)
					}
					set(img, xx, y, c)
				}
			}
			x += bw + r.Intn(3)
			if r.Intn(9) == 0 {
				x += 30 + r.Intn(40) // a gap
			}
		}
	}
	// Light from above: darken towards the bottom.
	for y := 0; y < h; y++ {
		k := 1.05 - 0.3*float64(y)/h
		for x := 0; x < w; x++ {
			o := img.RGBAAt(x, y)
			set(img, x, y, rgb{float64(o.R) * k, float64(o.G) * k, float64(o.B) * k})
		}
	}
	return img
}

// studio: a calm blue-teal backdrop with a soft spotlight.
func studio() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/w, float64(y)/h
			c := mix(rgb{44, 86, 112}, rgb{28, 52, 72}, fy)
			d := math.Hypot(fx-0.55, (fy-0.4)*1.2)
			c = mix(c, rgb{120, 170, 180}, 0.7*math.Exp(-d*d/0.08))
			set(img, x, y, c)
		}
	}
	return img
}
