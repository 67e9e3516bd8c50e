package convert_test

import (
	"encoding/binary"
	"image"
	_ "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/segmentation"
	"github.com/podiumhq/podium/segmentation/convert"
	"github.com/podiumhq/podium/segmentation/onnx"
	"github.com/podiumhq/podium/segmentation/tflite"
)

// tfliteModel returns the path of a TFLite file extracted by `make model`.
func tfliteModel(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(testdata.Root(), "build", "tflite", name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("%s missing (%v): run `make model`", p, err)
	}
	return p
}

func loadImage(tb testing.TB, rel string) image.Image {
	tb.Helper()
	f, err := os.Open(testdata.Require(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// TestConverterMatchesReference converts both models, runs them in OpenCV on
// real photos, and compares with refEval, an independent NHWC evaluation of
// the TFLite graph written with plain loops below. The default graph (with
// the speed rewrites of convert.Options), the plain one and the one for stock
// OpenCV are checked; NewSegmenter runs HardSwish and 5x5 depthwise
// convolutions with its own layers.
func TestConverterMatchesReference(t *testing.T) {
	images := []string{"opencv/messi5.jpg", "faceapi/sample1.jpg"}
	for _, tc := range []struct {
		name string
		opts convert.Options
	}{
		{"selfie_segmentation", convert.DefaultOptions},
		{"selfie_segmentation_landscape", convert.DefaultOptions},
		{"selfie_segmentation/plain", convert.Options{}},
		{"selfie_segmentation_landscape/plain", convert.Options{}},
		{"selfie_segmentation/stock", convert.StockOpenCVOptions},
		{"selfie_segmentation_landscape/stock", convert.StockOpenCVOptions},
	} {
		name, _, _ := strings.Cut(tc.name, "/")
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tfliteModel(t, name+".tflite"))
			if err != nil {
				t.Fatal(err)
			}
			tm, err := tflite.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			om, err := convert.ConvertWith(tm, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			buf := onnx.Marshal(om)
			if err := segmentation.ValidateModelBytes(buf); err != nil {
				t.Fatal(err)
			}
			// The segmenter's preprocessing gives the model-size RGB frame.
			dir := t.TempDir()
			path := filepath.Join(dir, name+".onnx")
			if err := os.WriteFile(path, buf, 0o644); err != nil {
				t.Fatal(err)
			}
			seg, err := segmentation.NewSegmenter(path)
			if err != nil {
				t.Fatal(err)
			}
			defer seg.Close()
			w, h := seg.Size()
			in := tm.Tensors[tm.Inputs[0]].Shape
			if in[1] != h || in[2] != w || in[3] != 3 {
				t.Fatalf("TFLite input %v, segmenter %dx%d", in, w, h)
			}
			worst := 0.0
			for _, rel := range images {
				if err := seg.Prepare(loadImage(t, rel)); err != nil {
					t.Fatal(err)
				}
				rgb := seg.RGB(nil)
				x := make([]float32, len(rgb)) // NHWC, 0..1
				for i, v := range rgb {
					x[i] = float32(v) / 255
				}
				mask, err := seg.Infer()
				if err != nil {
					t.Fatal(err)
				}
				ref := refEval(t, tm, x)
				if len(ref) != len(mask.Conf) {
					t.Fatalf("reference has %d values, OpenCV %d", len(ref), len(mask.Conf))
				}
				maxd, sum := 0.0, 0.0
				for i := range ref {
					d := math.Abs(float64(ref[i]) - float64(mask.Conf[i]))
					maxd = math.Max(maxd, d)
					sum += float64(ref[i])
				}
				t.Logf("%s on %s: max |OpenCV - reference| = %.2g (mean confidence %.3f)", name, rel, maxd, sum/float64(len(ref)))
				worst = math.Max(worst, maxd)
			}
			if worst > 1e-3 {
				t.Fatalf("max abs difference %.3g > 1e-3", worst)
			}
		})
	}
}

// ---- Independent reference evaluation of the TFLite graph (NHWC, float64
// accumulation, formulas from tensorflow/lite/kernels/internal/reference). ----

type tensor struct {
	shape []int
	v     []float32
}

func f16(h uint16) float32 {
	// binary16: sign, 5-bit exponent (bias 15), 10-bit mantissa.
	e := int(h>>10) & 31
	m := float64(h & 0x3ff)
	var f float64
	switch e {
	case 0:
		f = math.Ldexp(m, -24)
	case 31:
		f = math.Inf(1)
	default:
		f = math.Ldexp(1+m/1024, e-15)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return float32(f)
}

func refEval(tb testing.TB, m *tflite.Model, input []float32) []float32 {
	tb.Helper()
	vals := map[int]*tensor{}
	get := func(i int) *tensor {
		if t, ok := vals[i]; ok {
			return t
		}
		tt := &m.Tensors[i]
		if tt.Data == nil {
			tb.Fatalf("tensor %d (%s) used before it is computed", i, tt.Name)
		}
		t := &tensor{shape: tt.Shape}
		switch tt.Type {
		case tflite.Float32:
			for k := 0; k < len(tt.Data); k += 4 {
				t.v = append(t.v, math.Float32frombits(binary.LittleEndian.Uint32(tt.Data[k:])))
			}
		case tflite.Float16:
			for k := 0; k < len(tt.Data); k += 2 {
				t.v = append(t.v, f16(binary.LittleEndian.Uint16(tt.Data[k:])))
			}
		case tflite.Int32:
			for k := 0; k < len(tt.Data); k += 4 {
				t.v = append(t.v, float32(int32(binary.LittleEndian.Uint32(tt.Data[k:]))))
			}
		}
		vals[i] = t
		return t
	}
	vals[m.Inputs[0]] = &tensor{shape: m.Tensors[m.Inputs[0]].Shape, v: input}
	for k := range m.Operators {
		op := &m.Operators[k]
		outShape := m.Tensors[op.Outputs[0]].Shape
		out := &tensor{shape: outShape, v: make([]float32, prod(outShape))}
		in := get(op.Inputs[0])
		switch op.Code {
		case tflite.OpDequantize:
			copy(out.v, in.v)
		case tflite.OpConv2D:
			conv(in, get(op.Inputs[1]), get(op.Inputs[2]), out, op.Options.StrideH, op.Options.StrideW, op.Options.Padding == tflite.Same, false)
		case tflite.OpDepthwiseConv2D:
			conv(in, get(op.Inputs[1]), get(op.Inputs[2]), out, op.Options.StrideH, op.Options.StrideW, op.Options.Padding == tflite.Same, true)
		case tflite.OpRelu:
			for i, x := range in.v {
				out.v[i] = float32(math.Max(0, float64(x)))
			}
		case tflite.OpHardSwish: // x * relu6(x+3) / 6
			for i, x := range in.v {
				r := math.Min(6, math.Max(0, float64(x)+3))
				out.v[i] = float32(float64(x) * r / 6)
			}
		case tflite.OpLogistic:
			for i, x := range in.v {
				out.v[i] = float32(1 / (1 + math.Exp(-float64(x))))
			}
		case tflite.OpAdd, tflite.OpMul:
			b := get(op.Inputs[1])
			for i := range out.v {
				x := float64(in.v[bcast(i, outShape, in.shape)])
				y := float64(b.v[bcast(i, outShape, b.shape)])
				if op.Code == tflite.OpAdd {
					out.v[i] = float32(x + y)
				} else {
					out.v[i] = float32(x * y)
				}
			}
		case tflite.OpAveragePool2D, tflite.OpMean: // global average over H, W
			H, W, C := in.shape[1], in.shape[2], in.shape[3]
			for c := 0; c < C; c++ {
				s := 0.0
				for p := 0; p < H*W; p++ {
					s += float64(in.v[p*C+c])
				}
				out.v[c] = float32(s / float64(H*W))
			}
		case tflite.OpResizeBilinear:
			resizeHalfPixel(in, out)
		case tflite.OpCustom: // Convolution2DTransposeBias, SAME, stride from options
			sw := int(binary.LittleEndian.Uint32(op.CustomOptions[4:]))
			sh := int(binary.LittleEndian.Uint32(op.CustomOptions[8:]))
			transposeConv(in, get(op.Inputs[1]), get(op.Inputs[2]), out, sh, sw)
		default:
			tb.Fatalf("reference: operator %s not implemented", op.Name())
		}
		vals[op.Outputs[0]] = out
	}
	return vals[m.Outputs[0]].v
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// bcast maps flat index i of shape out to the index of a 4-D operand whose
// dimensions are 1 or equal to out's (numpy broadcasting).
func bcast(i int, out, s []int) int {
	if len(s) < 4 {
		return i % prod(s)
	}
	idx := 0
	rem := i
	coords := make([]int, 4)
	for d := 3; d >= 0; d-- {
		coords[d] = rem % out[d]
		rem /= out[d]
	}
	for d := 0; d < 4; d++ {
		c := coords[d]
		if s[d] == 1 {
			c = 0
		}
		idx = idx*s[d] + c
	}
	return idx
}

// conv is CONV_2D (filter [O,kh,kw,I]) or DEPTHWISE_CONV_2D (filter
// [1,kh,kw,C], multiplier 1) with TFLite SAME/VALID padding.
func conv(in, w, b, out *tensor, sh, sw int, same, depthwise bool) {
	H, W, C := in.shape[1], in.shape[2], in.shape[3]
	OH, OW, OC := out.shape[1], out.shape[2], out.shape[3]
	kh, kw := w.shape[1], w.shape[2]
	pt, pl := 0, 0
	if same {
		pt = max(0, ((OH-1)*sh+kh-H)) / 2
		pl = max(0, ((OW-1)*sw+kw-W)) / 2
	}
	for oy := 0; oy < OH; oy++ {
		for ox := 0; ox < OW; ox++ {
			for oc := 0; oc < OC; oc++ {
				s := float64(b.v[oc])
				for ky := 0; ky < kh; ky++ {
					y := oy*sh - pt + ky
					if y < 0 || y >= H {
						continue
					}
					for kx := 0; kx < kw; kx++ {
						x := ox*sw - pl + kx
						if x < 0 || x >= W {
							continue
						}
						if depthwise {
							s += float64(in.v[(y*W+x)*C+oc]) * float64(w.v[(ky*kw+kx)*OC+oc])
							continue
						}
						for ic := 0; ic < C; ic++ {
							s += float64(in.v[(y*W+x)*C+ic]) * float64(w.v[((oc*kh+ky)*kw+kx)*C+ic])
						}
					}
				}
				out.v[(oy*OW+ox)*OC+oc] = float32(s)
			}
		}
	}
}

// resizeHalfPixel is RESIZE_BILINEAR with half_pixel_centers: source
// coordinate (d+0.5)*in/out-0.5, lower index clamped at 0, upper at in-1.
func resizeHalfPixel(in, out *tensor) {
	H, W, C := in.shape[1], in.shape[2], in.shape[3]
	OH, OW := out.shape[1], out.shape[2]
	src := func(d, n, on int) (int, int, float64) {
		f := (float64(d)+0.5)*float64(n)/float64(on) - 0.5
		lo := math.Floor(f)
		a := f - lo
		i0 := max(int(lo), 0)
		i1 := min(int(math.Ceil(f)), n-1)
		return i0, i1, a
	}
	for oy := 0; oy < OH; oy++ {
		y0, y1, ay := src(oy, H, OH)
		for ox := 0; ox < OW; ox++ {
			x0, x1, ax := src(ox, W, OW)
			for c := 0; c < C; c++ {
				at := func(y, x int) float64 { return float64(in.v[(y*W+x)*C+c]) }
				v := at(y0, x0)*(1-ay)*(1-ax) + at(y0, x1)*(1-ay)*ax + at(y1, x0)*ay*(1-ax) + at(y1, x1)*ay*ax
				out.v[(oy*OW+ox)*C+c] = float32(v)
			}
		}
	}
}

// transposeConv scatters each input pixel through filter [O,kh,kw,I] with the
// given strides (SAME padding; pad = max(0, ((H-1)*s + k - OH)/2)), then adds
// the bias.
func transposeConv(in, w, b, out *tensor, sh, sw int) {
	H, W, C := in.shape[1], in.shape[2], in.shape[3]
	OH, OW, OC := out.shape[1], out.shape[2], out.shape[3]
	kh, kw := w.shape[1], w.shape[2]
	pt := max(0, (H-1)*sh+kh-OH) / 2
	pl := max(0, (W-1)*sw+kw-OW) / 2
	acc := make([]float64, len(out.v))
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			for ky := 0; ky < kh; ky++ {
				oy := y*sh - pt + ky
				if oy < 0 || oy >= OH {
					continue
				}
				for kx := 0; kx < kw; kx++ {
					ox := x*sw - pl + kx
					if ox < 0 || ox >= OW {
						continue
					}
					for oc := 0; oc < OC; oc++ {
						s := 0.0
						for ic := 0; ic < C; ic++ {
							s += float64(in.v[(y*W+x)*C+ic]) * float64(w.v[((oc*kh+ky)*kw+kx)*C+ic])
						}
						acc[(oy*OW+ox)*OC+oc] += s
					}
				}
			}
		}
	}
	for i := range acc {
		out.v[i] = float32(acc[i] + float64(b.v[i%OC]))
	}
}

// TestFloat16 checks the reader's float16 widening against f16 above for
// every finite binary16 value.
func TestFloat16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 {
			continue // Inf/NaN
		}
		if got, want := tflite.Float16ToFloat32(uint16(h)), f16(uint16(h)); got != want {
			t.Fatalf("%#04x: got %g want %g", h, got, want)
		}
	}
}
