// Package convert translates a TFLite model (as read by segmentation/tflite)
// into an ONNX model (segmentation/onnx) that OpenCV 4.6's DNN importer loads.
//
// It supports exactly the operators of MediaPipe's selfie segmentation models
// (general 256x256 and landscape 144x256, see ../shared/FACTS.md):
//
//	DEQUANTIZE                  folded: float16 constants become float32 initializers
//	CONV_2D                     Conv, filters [O,H,W,I] -> [O,I,H,W], SAME/VALID -> explicit pads
//	DEPTHWISE_CONV_2D           Conv with group = C, filters [1,H,W,C] -> [C,1,H,W]
//	RELU, HARD_SWISH, LOGISTIC  Relu, HardSwish (opset 14; see Options), Sigmoid
//	ADD, MUL                    Add, Mul (broadcast [1,C,1,1] for per-channel operands)
//	AVERAGE_POOL_2D (global)    GlobalAveragePool
//	MEAN over H,W (keep_dims)   GlobalAveragePool
//	RESIZE_BILINEAR             Resize mode=linear with constant scales
//	CUSTOM Convolution2DTransposeBias  ConvTranspose with bias, filters [O,H,W,I] -> [I,O,H,W]
//
// Activations are transposed from TFLite's NHWC to ONNX's NCHW: the graph input
// becomes [1,3,H,W] and the output [1,1,H,W]. Any other operator, fused
// activation or layout is refused with an error naming it.
//
// [Convert] moves each resize that feeds a 1x1 convolution behind it, which
// OpenCV 4.6 runs faster; [StockOpenCVOptions] also rewrite HardSwish and
// the 5x5 depthwise convolutions for OpenCV without this repository's layers
// (see [Options]); [ConvertWith] with the zero Options writes the plain
// one-node-per-operator graph.
package convert

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/podiumhq/podium/segmentation/onnx"
	"github.com/podiumhq/podium/segmentation/tflite"
)

// Opset is the ai.onnx operator-set version written (HardSwish needs 14).
const Opset = 14

// IRVersion is the ONNX IR version matching Opset 14 (onnx/docs/Versioning.md).
const IRVersion = 7

// Options select how operators are lowered. Each rewrite is exact in real
// arithmetic (float32 results differ by rounding only, ~1e-8 on the mask) and
// exists because OpenCV 4.6 as Debian builds it (SSE2 baseline; only
// convolution kernels dispatched to AVX2/AVX-512) runs the plain graph slowly.
// Per-layer costs (cv::dnn::Net::getPerfProfile, 256x256 model, one thread)
// are in segmentation/PERFORMANCE.md. The zero value writes one ONNX node per
// TFLite operator.
type Options struct {
	// ClipHardSwish writes HARD_SWISH as x * Clip(x*(1/6) + 0.5, 0, 1)
	// (Mul, Add, Clip, Mul) instead of one HardSwish node, for OpenCV 4.6
	// used without this repository's segmentation package. Stock OpenCV 4.6
	// fuses HardSwish into the preceding convolution but evaluates it with a
	// scalar loop: about 2.0 ms of 7.7 ms; the Clip form costs about 0.35 ms
	// (the scale and shift become one Power layer, Clip its vectorised ReLU6).
	// HardSigmoid + Mul was no faster than HardSwish (same scalar loop), and
	// x * (Relu(x/6+0.5) - Relu(x/6-0.5)) saved only 0.7 ms.
	// segmentation.NewSegmenter registers a vectorised HardSwish layer with
	// OpenCV (segmentation/hardswish.cpp), which is faster still, so
	// [DefaultOptions] keep the single standard HardSwish node.
	//
	// Clip's min and max are written as attributes, the opset-6..10 form,
	// although the model declares opset 14: OpenCV 4.6 reads only the
	// attributes and refuses Clip with min/max inputs (opset 11+), so a strict
	// ONNX checker would flag these nodes while OpenCV computes them right.
	ClipHardSwish bool
	// SplitDepthwise5x5 writes each stride-1 5x5 depthwise convolution as
	// the Sum of four 3x3 depthwise convolutions over the kernel's corner
	// windows, shifted by asymmetric padding, for stock OpenCV 4.6: its
	// vectorised depthwise kernel handles only 3x3 (pads <= 1); 5x5 falls
	// back to im2row and a GEMM per channel (0.29-0.39 ms each at
	// 16x16x96..128; split: about half, padding layers included).
	// segmentation.NewSegmenter registers its own depthwise 5x5 layer
	// (segmentation/depthwise5.cpp), faster than the split, so
	// [DefaultOptions] keep the 5x5 convolutions whole.
	SplitDepthwise5x5 bool
	// ResizeAfterConv moves a bilinear resize whose only reader is a 1x1
	// stride-1 convolution behind it: conv(resize(x)) = resize(conv(x)) (both
	// are linear and bilinear weights sum to 1, so the bias commutes too), so
	// the convolution runs at a quarter of the pixels and the resize moves
	// fewer channels (decoder: 0.25 ms saved).
	ResizeAfterConv bool
}

// DefaultOptions are the lowerings [Convert] uses: every node stays a
// standard ONNX operator in its plain form except for the moved resizes;
// HardSwish and the 5x5 depthwise convolutions are run by the segmentation
// package's own OpenCV layers.
var DefaultOptions = Options{ResizeAfterConv: true}

// StockOpenCVOptions are the lowerings for stock OpenCV 4.6 without the
// segmentation package's layers.
var StockOpenCVOptions = Options{ClipHardSwish: true, SplitDepthwise5x5: true, ResizeAfterConv: true}

// Convert returns the ONNX equivalent of a TFLite model, written with
// [DefaultOptions].
func Convert(m *tflite.Model) (*onnx.Model, error) {
	return ConvertWith(m, DefaultOptions)
}

// ConvertWith is Convert with explicit lowering options.
func ConvertWith(m *tflite.Model, opts Options) (*onnx.Model, error) {
	c := &converter{m: m, opts: opts, consts: map[int][]float32{},
		consumer: map[int]*tflite.Operator{}, lowRes: map[int]resizeSpec{}}
	uses := map[int]int{}
	for k := range m.Operators {
		for _, i := range m.Operators[k].Inputs {
			uses[i]++
			c.consumer[i] = &m.Operators[k]
		}
	}
	for _, o := range m.Outputs {
		uses[o]++
	}
	for i, n := range uses {
		if n != 1 {
			delete(c.consumer, i)
		}
	}
	if err := c.run(); err != nil {
		return nil, err
	}
	return &onnx.Model{
		IRVersion:    IRVersion,
		ProducerName: "podium-model",
		Opsets:       map[string]int64{"": Opset},
		Graph:        c.g,
	}, nil
}

type converter struct {
	m    *tflite.Model
	opts Options
	// consumer maps a tensor read by exactly one operator to that operator.
	consumer map[int]*tflite.Operator
	// lowRes maps the output of a resize that was moved behind the 1x1
	// convolution reading it to that resize (Options.ResizeAfterConv).
	lowRes map[int]resizeSpec
	g      onnx.Graph
	consts map[int][]float32 // folded constant tensors (float), by TFLite index
	nconst int
}

func (c *converter) name(i int) string {
	t := &c.m.Tensors[i]
	for _, in := range append(append([]int{}, c.m.Inputs...), c.m.Outputs...) {
		if in == i && t.Name != "" {
			return t.Name
		}
	}
	return fmt.Sprintf("t%d", i)
}

// constant returns the float data of a constant tensor (folded DEQUANTIZE
// output or a float32 buffer), or nil.
func (c *converter) constant(i int) ([]float32, error) {
	if v, ok := c.consts[i]; ok {
		return v, nil
	}
	t := &c.m.Tensors[i]
	if t.Data == nil {
		return nil, nil
	}
	return t.Float32s()
}

func (c *converter) addInit(name string, dims []int64, data []float32) string {
	c.g.Initializers = append(c.g.Initializers, onnx.Tensor{Name: name, Dims: dims, DataType: onnx.TypeFloat, Floats: data})
	return name
}

func (c *converter) freshConst(prefix string) string {
	c.nconst++
	return fmt.Sprintf("%s_%d", prefix, c.nconst)
}

func (c *converter) node(op string, ins, outs []string, attrs ...onnx.Attribute) {
	c.g.Nodes = append(c.g.Nodes, onnx.Node{
		Name: fmt.Sprintf("%s_%d", strings.ToLower(op), len(c.g.Nodes)), OpType: op,
		Inputs: ins, Outputs: outs, Attrs: attrs,
	})
}

func ints(name string, v ...int) onnx.Attribute {
	a := onnx.Attribute{Name: name, Type: onnx.AttrInts}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func str(name, v string) onnx.Attribute {
	return onnx.Attribute{Name: name, Type: onnx.AttrString, S: v}
}

func floatAttr(name string, v float32) onnx.Attribute {
	return onnx.Attribute{Name: name, Type: onnx.AttrFloat, F: v}
}

func intAttr(name string, v int) onnx.Attribute {
	return onnx.Attribute{Name: name, Type: onnx.AttrInt, I: int64(v)}
}

// nhwc returns the 4-D NHWC shape of activation tensor i.
func (c *converter) nhwc(i int) ([4]int, error) {
	s := c.m.Tensors[i].Shape
	if len(s) != 4 || s[0] != 1 {
		return [4]int{}, fmt.Errorf("tensor %d (%s): shape %v is not [1,H,W,C]", i, c.m.Tensors[i].Name, s)
	}
	return [4]int{s[0], s[1], s[2], s[3]}, nil
}

func (c *converter) run() error {
	if len(c.m.Inputs) != 1 || len(c.m.Outputs) != 1 {
		return fmt.Errorf("convert: want 1 input and 1 output, have %d and %d", len(c.m.Inputs), len(c.m.Outputs))
	}
	for _, io := range []struct {
		idx int
		out bool
	}{{c.m.Inputs[0], false}, {c.m.Outputs[0], true}} {
		s, err := c.nhwc(io.idx)
		if err != nil {
			return fmt.Errorf("convert: graph input/output: %w", err)
		}
		if c.m.Tensors[io.idx].Type != tflite.Float32 {
			return fmt.Errorf("convert: graph input/output %q is not float32", c.m.Tensors[io.idx].Name)
		}
		vi := onnx.ValueInfo{Name: c.name(io.idx), ElemType: onnx.TypeFloat, Shape: []int64{1, int64(s[3]), int64(s[1]), int64(s[2])}}
		if io.out {
			c.g.Outputs = append(c.g.Outputs, vi)
		} else {
			c.g.Inputs = append(c.g.Inputs, vi)
		}
	}
	c.g.Name = "podium_selfie_segmentation"
	for k := range c.m.Operators {
		op := &c.m.Operators[k]
		if err := c.op(op); err != nil {
			return fmt.Errorf("convert: operator %d (%s): %w", k, op.Name(), err)
		}
	}
	return nil
}

func (c *converter) op(op *tflite.Operator) error {
	if op.Options.Activation != tflite.ActNone {
		return fmt.Errorf("fused activation %d not supported", op.Options.Activation)
	}
	if len(op.Outputs) != 1 {
		return fmt.Errorf("%d outputs, want 1", len(op.Outputs))
	}
	out := op.Outputs[0]
	in := func(k int) string { return c.name(op.Inputs[k]) }
	switch op.Code {
	case tflite.OpDequantize:
		t := &c.m.Tensors[op.Inputs[0]]
		if t.Type != tflite.Float16 || t.Data == nil {
			return fmt.Errorf("only constant float16 inputs can be folded")
		}
		v, err := t.Float32s()
		if err != nil {
			return err
		}
		c.consts[out] = v
		return nil
	case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
		return c.conv(op)
	case tflite.OpCustom:
		if op.Custom != "Convolution2DTransposeBias" {
			return fmt.Errorf("custom operator %q not supported", op.Custom)
		}
		return c.transposeConv(op)
	case tflite.OpRelu:
		c.node("Relu", []string{in(0)}, []string{c.name(out)})
	case tflite.OpHardSwish:
		c.hardSwish(in(0), c.name(out))
	case tflite.OpLogistic:
		c.node("Sigmoid", []string{in(0)}, []string{c.name(out)})
	case tflite.OpAdd, tflite.OpMul:
		names := make([]string, 2)
		for k := 0; k < 2; k++ {
			v, err := c.constant(op.Inputs[k])
			if err != nil {
				return err
			}
			if v == nil {
				names[k] = in(k)
				continue
			}
			// A constant operand: a scalar or a per-channel vector [C] / [1,1,1,C].
			s := c.m.Tensors[op.Inputs[k]].Shape
			if len(v) == 1 {
				names[k] = c.addInit(c.freshConst("scalar"), nil, v)
			} else if len(s) >= 1 && s[len(s)-1] == len(v) {
				names[k] = c.addInit(c.freshConst("chan"), []int64{1, int64(len(v)), 1, 1}, v)
			} else {
				return fmt.Errorf("constant operand shape %v not supported", s)
			}
		}
		typ := "Add"
		if op.Code == tflite.OpMul {
			typ = "Mul"
		}
		c.node(typ, names, []string{c.name(out)})
	case tflite.OpAveragePool2D:
		s, err := c.nhwc(op.Inputs[0])
		if err != nil {
			return err
		}
		o := op.Options
		if o.FilterH != s[1] || o.FilterW != s[2] {
			return fmt.Errorf("only global pooling supported (filter %dx%d, input %dx%d)", o.FilterH, o.FilterW, s[1], s[2])
		}
		c.node("GlobalAveragePool", []string{in(0)}, []string{c.name(out)})
	case tflite.OpMean:
		axes, err := c.m.Tensors[op.Inputs[1]].Int32s()
		if err != nil {
			return err
		}
		if len(axes) != 2 || axes[0] != 1 || axes[1] != 2 || !op.Options.KeepDims {
			return fmt.Errorf("only MEAN over axes [1,2] with keep_dims is supported (axes %v)", axes)
		}
		c.node("GlobalAveragePool", []string{in(0)}, []string{c.name(out)})
	case tflite.OpResizeBilinear:
		return c.resize(op)
	default:
		return fmt.Errorf("operator not supported")
	}
	return nil
}

// samePads returns TFLite's SAME padding (before, after) for one spatial axis:
// total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0), before = total/2
// (tensorflow/lite/kernels/padding.h).
func samePads(in, k, s, d int) (int, int) {
	out := (in + s - 1) / s
	total := (out-1)*s + (k-1)*d + 1 - in
	if total < 0 {
		total = 0
	}
	return total / 2, total - total/2
}

func (c *converter) conv(op *tflite.Operator) error {
	if len(op.Inputs) != 3 {
		return fmt.Errorf("want input, filter and bias")
	}
	s, err := c.nhwc(op.Inputs[0])
	if err != nil {
		return err
	}
	w, err := c.constant(op.Inputs[1])
	if err != nil || w == nil {
		return fmt.Errorf("filter is not constant (%v)", err)
	}
	b, err := c.constant(op.Inputs[2])
	if err != nil || b == nil {
		return fmt.Errorf("bias is not constant (%v)", err)
	}
	ws := c.m.Tensors[op.Inputs[1]].Shape
	if len(ws) != 4 {
		return fmt.Errorf("filter shape %v", ws)
	}
	o := op.Options
	kh, kw := ws[1], ws[2]
	var wt []float32
	var dims []int64
	group := 1
	if op.Code == tflite.OpConv2D {
		// [O,H,W,I] -> [O,I,H,W]
		oc, ic := ws[0], ws[3]
		if ic != s[3] {
			return fmt.Errorf("filter %v does not match input channels %d", ws, s[3])
		}
		wt = make([]float32, len(w))
		for a := 0; a < oc; a++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					for i := 0; i < ic; i++ {
						wt[((a*ic+i)*kh+y)*kw+x] = w[((a*kh+y)*kw+x)*ic+i]
					}
				}
			}
		}
		dims = []int64{int64(oc), int64(ic), int64(kh), int64(kw)}
	} else {
		// [1,H,W,C*m] -> [C*m,1,H,W], group = C
		if ws[0] != 1 || o.DepthMult != 1 || ws[3] != s[3] {
			return fmt.Errorf("only depth multiplier 1 is supported (filter %v, input channels %d)", ws, s[3])
		}
		ch := ws[3]
		wt = make([]float32, len(w))
		for y := 0; y < kh; y++ {
			for x := 0; x < kw; x++ {
				for i := 0; i < ch; i++ {
					wt[(i*kh+y)*kw+x] = w[(y*kw+x)*ch+i]
				}
			}
		}
		dims = []int64{int64(ch), 1, int64(kh), int64(kw)}
		group = ch
	}
	var pt, pb, pl, pr int
	if o.Padding == tflite.Same {
		pt, pb = samePads(s[1], kh, o.StrideH, o.DilationH)
		pl, pr = samePads(s[2], kw, o.StrideW, o.DilationW)
	}
	out := op.Outputs[0]
	cv := convSpec{in: c.name(op.Inputs[0]), out: c.name(out), w: wt, dims: dims, b: b,
		kh: kh, kw: kw, sh: o.StrideH, sw: o.StrideW, dh: o.DilationH, dw: o.DilationW,
		pads: [4]int{pt, pl, pb, pr}, group: group}
	if r, ok := c.lowRes[op.Inputs[0]]; ok {
		cv.in, cv.out = r.in, c.name(out)+"_lowres"
		c.emitConv(cv)
		c.resizeNode(cv.out, c.name(out), r.sh, r.sw)
		return nil
	}
	c.emitConv(cv)
	return nil
}

type convSpec struct {
	in, out        string
	w              []float32
	dims           []int64 // [O, I/group, kh, kw]
	b              []float32
	kh, kw, sh, sw int
	dh, dw         int
	pads           [4]int // top, left, bottom, right
	group          int
}

func (c *converter) emitConv(cv convSpec) {
	if c.opts.SplitDepthwise5x5 && cv.group > 1 && cv.group == int(cv.dims[0]) && cv.dims[1] == 1 &&
		cv.kh == 5 && cv.kw == 5 && cv.sh == 1 && cv.sw == 1 && cv.dh == 1 && cv.dw == 1 &&
		cv.pads == [4]int{2, 2, 2, 2} {
		c.splitDepthwise5x5(cv)
		return
	}
	wn := c.addInit(cv.out+"_w", cv.dims, cv.w)
	ins := []string{cv.in, wn}
	if cv.b != nil {
		ins = append(ins, c.addInit(cv.out+"_b", []int64{int64(len(cv.b))}, cv.b))
	}
	c.node("Conv", ins, []string{cv.out},
		ints("kernel_shape", cv.kh, cv.kw),
		ints("strides", cv.sh, cv.sw),
		ints("dilations", cv.dh, cv.dw),
		ints("pads", cv.pads[0], cv.pads[1], cv.pads[2], cv.pads[3]),
		intAttr("group", cv.group))
}

// splitDepthwise5x5 writes a stride-1 SAME 5x5 depthwise convolution as the
// sum of four 3x3 depthwise convolutions over the kernel's corner windows
// (rows and columns 0..2 and 2..4, the shared middle row/column counted once),
// each shifted by asymmetric padding. OpenCV 4.6 has a vectorised depthwise
// kernel only for 3x3 (pads <= 1 after its own padding layer); 5x5 falls
// back to a per-channel im2row + GEMM.
func (c *converter) splitDepthwise5x5(cv convSpec) {
	ch := int(cv.dims[0])
	var parts []string
	for _, oy := range []int{0, 2} {
		for _, ox := range []int{0, 2} {
			w := make([]float32, ch*9)
			for k := 0; k < ch; k++ {
				for y := 0; y < 3; y++ {
					for x := 0; x < 3; x++ {
						ky, kx := oy+y, ox+x
						// rows/cols 2 belong to the first window only
						if (oy == 2 && y == 0) || (ox == 2 && x == 0) {
							continue
						}
						w[(k*3+y)*3+x] = cv.w[(k*5+ky)*5+kx]
					}
				}
			}
			p := cv
			p.out = fmt.Sprintf("%s_dw%d%d", cv.out, oy, ox)
			p.w, p.dims = w, []int64{int64(ch), 1, 3, 3}
			p.kh, p.kw = 3, 3
			p.pads = [4]int{2 - oy, 2 - ox, oy, ox}
			if oy != 0 || ox != 0 {
				p.b = nil
			}
			c.emitConv(p)
			parts = append(parts, p.out)
		}
	}
	c.node("Sum", parts, []string{cv.out})
}

// hardSwish writes y = HardSwish(x) = x * clamp(x/6 + 0.5, 0, 1) in the form
// chosen by the options.
func (c *converter) hardSwish(x, y string) {
	if !c.opts.ClipHardSwish {
		c.node("HardSwish", []string{x}, []string{y})
		return
	}
	a, a1, s := y+"_a", y+"_a1", y+"_s"
	c.node("Mul", []string{x, c.addInit(c.freshConst("scalar"), nil, []float32{1.0 / 6})}, []string{a})
	c.node("Add", []string{a, c.addInit(c.freshConst("scalar"), nil, []float32{0.5})}, []string{a1})
	c.node("Clip", []string{a1}, []string{s}, floatAttr("min", 0), floatAttr("max", 1))
	c.node("Mul", []string{x, s}, []string{y})
}

// transposeConv converts MediaPipe's Convolution2DTransposeBias
// (mediapipe/util/tflite/operations/transpose_conv_bias.cc): inputs
// (input [1,H,W,I], filter [O,kh,kw,I], bias [O]); custom_options are
// TfLiteTransposeConvParams as three little-endian int32: padding
// (1 = SAME, 2 = VALID, TfLitePadding), stride_width, stride_height.
func (c *converter) transposeConv(op *tflite.Operator) error {
	if len(op.Inputs) != 3 || len(op.CustomOptions) < 12 {
		return fmt.Errorf("want 3 inputs and 12 bytes of options")
	}
	padding := int32(binary.LittleEndian.Uint32(op.CustomOptions[0:]))
	sw := int(binary.LittleEndian.Uint32(op.CustomOptions[4:]))
	sh := int(binary.LittleEndian.Uint32(op.CustomOptions[8:]))
	s, err := c.nhwc(op.Inputs[0])
	if err != nil {
		return err
	}
	w, err := c.constant(op.Inputs[1])
	if err != nil || w == nil {
		return fmt.Errorf("filter is not constant (%v)", err)
	}
	b, err := c.constant(op.Inputs[2])
	if err != nil || b == nil {
		return fmt.Errorf("bias is not constant (%v)", err)
	}
	ws := c.m.Tensors[op.Inputs[1]].Shape
	if len(ws) != 4 || ws[3] != s[3] || len(b) != ws[0] {
		return fmt.Errorf("filter %v / bias %d do not match input %v", ws, len(b), s)
	}
	oc, kh, kw, ic := ws[0], ws[1], ws[2], ws[3]
	os, err := c.nhwc(op.Outputs[0])
	if err != nil {
		return err
	}
	// [O,kh,kw,I] -> ONNX ConvTranspose [I,O,kh,kw]
	wt := make([]float32, len(w))
	for a := 0; a < oc; a++ {
		for y := 0; y < kh; y++ {
			for x := 0; x < kw; x++ {
				for i := 0; i < ic; i++ {
					wt[((i*oc+a)*kh+y)*kw+x] = w[((a*kh+y)*kw+x)*ic+i]
				}
			}
		}
	}
	// Output size (ONNX): s*(in-1) + k - padBefore - padAfter. Choose pads so
	// that it equals the TFLite output size (in*s for SAME, (in-1)*s+k for VALID).
	pads := func(in, k, st, want int) (int, int, error) {
		total := st*(in-1) + k - want
		if total < 0 {
			return 0, 0, fmt.Errorf("cannot reach output size %d", want)
		}
		return total / 2, total - total/2, nil
	}
	if padding != 1 && padding != 2 {
		return fmt.Errorf("padding %d not supported", padding)
	}
	pt, pb, err := pads(s[1], kh, sh, os[1])
	if err != nil {
		return err
	}
	pl, pr, err := pads(s[2], kw, sw, os[2])
	if err != nil {
		return err
	}
	out := op.Outputs[0]
	wn := c.addInit(c.name(out)+"_w", []int64{int64(ic), int64(oc), int64(kh), int64(kw)}, wt)
	bn := c.addInit(c.name(out)+"_b", []int64{int64(oc)}, b)
	c.node("ConvTranspose", []string{c.name(op.Inputs[0]), wn, bn}, []string{c.name(out)},
		ints("kernel_shape", kh, kw),
		ints("strides", sh, sw),
		ints("pads", pt, pl, pb, pr))
	return nil
}

// resize converts RESIZE_BILINEAR with a constant [newH,newW] size input.
// TFLite's half_pixel_centers maps output pixel y to input (y+0.5)*in/out-0.5,
// clamped to the edge (tensorflow/lite/kernels/internal/reference/resize_bilinear.h);
// that is ONNX's "half_pixel" for outputs longer than one pixel, which OpenCV
// 4.6 implements as "pytorch_half_pixel" (cv::resize INTER_LINEAR semantics),
// so we write the latter.
func (c *converter) resize(op *tflite.Operator) error {
	s, err := c.nhwc(op.Inputs[0])
	if err != nil {
		return err
	}
	size, err := c.m.Tensors[op.Inputs[1]].Int32s()
	if err != nil || len(size) != 2 {
		return fmt.Errorf("size input is not a constant [2] int32 (%v)", err)
	}
	if op.Options.AlignCorners || !op.Options.HalfPixel {
		return fmt.Errorf("only half_pixel_centers resizing is supported")
	}
	if size[0] < 2 || size[1] < 2 {
		return fmt.Errorf("output size %v too small", size)
	}
	r := resizeSpec{in: c.name(op.Inputs[0]), sh: float32(size[0]) / float32(s[1]), sw: float32(size[1]) / float32(s[2])}
	if c.opts.ResizeAfterConv {
		if n := c.consumer[op.Outputs[0]]; n != nil && n.Code == tflite.OpConv2D && n.Inputs[0] == op.Outputs[0] &&
			len(n.Inputs) == 3 && len(c.m.Tensors[n.Inputs[1]].Shape) == 4 &&
			c.m.Tensors[n.Inputs[1]].Shape[1] == 1 && c.m.Tensors[n.Inputs[1]].Shape[2] == 1 &&
			n.Options.StrideH == 1 && n.Options.StrideW == 1 {
			c.lowRes[op.Outputs[0]] = r
			return nil
		}
	}
	c.resizeNode(r.in, c.name(op.Outputs[0]), r.sh, r.sw)
	return nil
}

// resizeSpec is a bilinear half-pixel resize by scale factors sh, sw.
type resizeSpec struct {
	in     string
	sh, sw float32
}

func (c *converter) resizeNode(in, out string, sh, sw float32) {
	roi := c.addInit(c.freshConst("roi"), []int64{0}, []float32{})
	sc := c.addInit(c.freshConst("scales"), []int64{4}, []float32{1, 1, sh, sw})
	c.node("Resize", []string{in, roi, sc}, []string{out},
		str("mode", "linear"),
		str("coordinate_transformation_mode", "pytorch_half_pixel"))
}
