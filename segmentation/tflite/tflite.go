// Package tflite reads the subset of the TensorFlow Lite flatbuffer format
// (schema: tensorflow/lite/schema/schema.fbs, file identifier "TFL3") that
// Podium's segmentation models use: one subgraph of float32/float16 tensors and
// the builtin operators listed in [OpName], plus custom operators by name.
//
// It decodes the flatbuffer with github.com/google/flatbuffers' Table accessors
// and hand-written field slots (no generated code is shipped for TFLite in Go).
// Any malformed buffer is reported as an error, never a panic.
package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"
)

// TensorType is TFLite's TensorType enum (schema.fbs).
type TensorType int8

// TensorType values used here.
const (
	Float32 TensorType = 0
	Float16 TensorType = 1
	Int32   TensorType = 2
	UInt8   TensorType = 3
	Int64   TensorType = 4
)

// Builtin operator codes (BuiltinOperator in schema.fbs).
const (
	OpAdd               = 0
	OpAveragePool2D     = 1
	OpConcatenation     = 2
	OpConv2D            = 3
	OpDepthwiseConv2D   = 4
	OpDequantize        = 6
	OpLogistic          = 14
	OpMul               = 18
	OpRelu              = 19
	OpRelu6             = 21
	OpReshape           = 22
	OpResizeBilinear    = 23
	OpCustom            = 32
	OpMean              = 40
	OpHardSwish         = 117
	deprecatedPlaceHold = 127 // builtin codes >= 127 live in OperatorCode.builtin_code
)

// OpName returns a readable name for a builtin code.
func OpName(code int32) string {
	switch code {
	case OpAdd:
		return "ADD"
	case OpAveragePool2D:
		return "AVERAGE_POOL_2D"
	case OpConcatenation:
		return "CONCATENATION"
	case OpConv2D:
		return "CONV_2D"
	case OpDepthwiseConv2D:
		return "DEPTHWISE_CONV_2D"
	case OpDequantize:
		return "DEQUANTIZE"
	case OpLogistic:
		return "LOGISTIC"
	case OpMul:
		return "MUL"
	case OpRelu:
		return "RELU"
	case OpRelu6:
		return "RELU6"
	case OpReshape:
		return "RESHAPE"
	case OpResizeBilinear:
		return "RESIZE_BILINEAR"
	case OpCustom:
		return "CUSTOM"
	case OpMean:
		return "MEAN"
	case OpHardSwish:
		return "HARD_SWISH"
	}
	return fmt.Sprintf("BUILTIN_%d", code)
}

// Padding is TFLite's Padding enum.
type Padding int8

// Padding values.
const (
	Same  Padding = 0
	Valid Padding = 1
)

// Activation is TFLite's ActivationFunctionType enum (fused activations).
type Activation int8

// Activation values.
const (
	ActNone  Activation = 0
	ActRelu  Activation = 1
	ActRelu6 Activation = 3
)

// Tensor is one entry of the subgraph's tensor table. Shapes are TFLite's
// NHWC order for activations; weights keep TFLite's layouts (CONV_2D filters
// are [O,H,W,I], DEPTHWISE_CONV_2D filters [1,H,W,C]).
type Tensor struct {
	Name  string
	Shape []int
	Type  TensorType
	// Data holds the constant contents of the tensor's buffer, or nil for
	// activations. Use [Tensor.Float32s] to decode it.
	Data []byte
}

// Float32s decodes the constant data of a float32 or float16 tensor to
// float32 (float16 -> float32 is exact: IEEE 754 binary16 widening).
func (t *Tensor) Float32s() ([]float32, error) {
	switch t.Type {
	case Float32:
		if len(t.Data)%4 != 0 {
			return nil, fmt.Errorf("tflite: tensor %q: %d bytes is not a float32 array", t.Name, len(t.Data))
		}
		out := make([]float32, len(t.Data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, nil
	case Float16:
		if len(t.Data)%2 != 0 {
			return nil, fmt.Errorf("tflite: tensor %q: %d bytes is not a float16 array", t.Name, len(t.Data))
		}
		out := make([]float32, len(t.Data)/2)
		for i := range out {
			out[i] = Float16ToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("tflite: tensor %q: type %d is not float", t.Name, t.Type)
}

// Int32s decodes the constant data of an int32 tensor.
func (t *Tensor) Int32s() ([]int32, error) {
	if t.Type != Int32 || len(t.Data)%4 != 0 {
		return nil, fmt.Errorf("tflite: tensor %q is not a constant int32 array", t.Name)
	}
	out := make([]int32, len(t.Data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Elements returns the product of the shape's dimensions.
func (t *Tensor) Elements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float16ToFloat32 widens an IEEE 754 binary16 value (including subnormals,
// infinities and NaN) to float32.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant * 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Options holds the builtin options of the operators Podium understands. Zero
// values mean "not present"; defaults follow schema.fbs (dilations 1).
type Options struct {
	Padding        Padding
	StrideW        int
	StrideH        int
	FilterW        int // AVERAGE_POOL_2D
	FilterH        int
	DepthMult      int // DEPTHWISE_CONV_2D
	DilationW      int
	DilationH      int
	Activation     Activation
	AlignCorners   bool // RESIZE_BILINEAR
	HalfPixel      bool // RESIZE_BILINEAR half_pixel_centers
	KeepDims       bool // MEAN
	OptionsPresent bool
}

// Operator is one node of the subgraph.
type Operator struct {
	Code    int32  // builtin code (OpCustom for custom operators)
	Custom  string // custom_code for OpCustom
	Inputs  []int  // tensor indices; -1 means an omitted optional input
	Outputs []int
	Options Options
	// CustomOptions is the raw custom_options bytes of a custom operator.
	CustomOptions []byte
}

// Name returns the operator's builtin name or, for custom ops, its custom code.
func (o *Operator) Name() string {
	if o.Code == OpCustom {
		return o.Custom
	}
	return OpName(o.Code)
}

// Model is the first (and here only) subgraph of a TFLite model.
type Model struct {
	Version   uint32
	Tensors   []Tensor
	Inputs    []int
	Outputs   []int
	Operators []Operator
}

// Parse decodes a TFLite flatbuffer. It accepts only models with exactly one
// subgraph and buffers stored inline (models under 2 GB).
func Parse(buf []byte) (m *Model, err error) {
	if len(buf) < 8 {
		return nil, errors.New("tflite: file too short")
	}
	if !flatbuffers.BufferHasIdentifier(buf, "TFL3") {
		return nil, errors.New("tflite: missing TFL3 file identifier")
	}
	defer func() {
		// flatbuffers' accessors index the slice directly; a corrupt offset
		// shows up as a runtime panic, which we turn into an error.
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("tflite: corrupt flatbuffer: %v", r)
		}
	}()
	root := table(buf, flatbuffers.GetUOffsetT(buf))
	m = &Model{Version: root.GetUint32Slot(4, 0)}

	// Model.operator_codes (slot 1)
	type opcode struct {
		code   int32
		custom string
	}
	var codes []opcode
	for _, oc := range tables(root, 1) {
		dep := int32(oc.GetInt8Slot(4, 0))
		code := oc.GetInt32Slot(10, 0)
		if dep < deprecatedPlaceHold && code < deprecatedPlaceHold {
			// Old writers only set deprecated_builtin_code.
			if dep > code {
				code = dep
			}
		}
		var custom string
		if o := flatbuffers.UOffsetT(oc.Offset(6)); o != 0 {
			custom = oc.String(o + oc.Pos)
		}
		codes = append(codes, opcode{code, custom})
	}

	// Model.buffers (slot 4)
	var buffers [][]byte
	for _, b := range tables(root, 4) {
		var data []byte
		if o := flatbuffers.UOffsetT(b.Offset(4)); o != 0 {
			data = b.ByteVector(o + b.Pos)
		}
		if b.GetUint64Slot(6, 0) != 0 {
			return nil, errors.New("tflite: buffers stored outside the flatbuffer are not supported")
		}
		buffers = append(buffers, data)
	}

	subgraphs := tables(root, 2)
	if len(subgraphs) != 1 {
		return nil, fmt.Errorf("tflite: %d subgraphs, want 1", len(subgraphs))
	}
	sg := subgraphs[0]
	for i, tt := range tables(sg, 0) {
		t := Tensor{
			Shape: intsAsInt(ints(tt, 0)),
			Type:  TensorType(tt.GetInt8Slot(6, 0)),
		}
		if o := flatbuffers.UOffsetT(tt.Offset(10)); o != 0 {
			t.Name = tt.String(o + tt.Pos)
		}
		bi := int(tt.GetUint32Slot(8, 0))
		if bi >= len(buffers) {
			return nil, fmt.Errorf("tflite: tensor %d refers to buffer %d of %d", i, bi, len(buffers))
		}
		if bi > 0 && len(buffers[bi]) > 0 {
			t.Data = buffers[bi]
		}
		m.Tensors = append(m.Tensors, t)
	}
	m.Inputs = intsAsInt(ints(sg, 1))
	m.Outputs = intsAsInt(ints(sg, 2))
	for i, ot := range tables(sg, 3) {
		idx := int(ot.GetUint32Slot(4, 0))
		if idx >= len(codes) {
			return nil, fmt.Errorf("tflite: operator %d has opcode index %d of %d", i, idx, len(codes))
		}
		op := Operator{
			Code:    codes[idx].code,
			Custom:  codes[idx].custom,
			Inputs:  intsAsInt(ints(ot, 1)),
			Outputs: intsAsInt(ints(ot, 2)),
		}
		if o := flatbuffers.UOffsetT(ot.Offset(14)); o != 0 {
			op.CustomOptions = ot.ByteVector(o + ot.Pos)
		}
		if o := flatbuffers.UOffsetT(ot.Offset(12)); o != 0 {
			opt := &flatbuffers.Table{Bytes: buf}
			ot.Union(opt, o)
			op.Options = decodeOptions(op.Code, opt)
		}
		for _, t := range append(append([]int{}, op.Inputs...), op.Outputs...) {
			if t >= len(m.Tensors) {
				return nil, fmt.Errorf("tflite: operator %d refers to tensor %d of %d", i, t, len(m.Tensors))
			}
		}
		m.Operators = append(m.Operators, op)
	}
	for _, t := range append(append([]int{}, m.Inputs...), m.Outputs...) {
		if t < 0 || t >= len(m.Tensors) {
			return nil, fmt.Errorf("tflite: graph input/output tensor %d of %d", t, len(m.Tensors))
		}
	}
	return m, nil
}

func decodeOptions(code int32, t *flatbuffers.Table) Options {
	o := Options{OptionsPresent: true, DilationW: 1, DilationH: 1}
	switch code {
	case OpConv2D: // Conv2DOptions
		o.Padding = Padding(t.GetInt8Slot(4, 0))
		o.StrideW = int(t.GetInt32Slot(6, 0))
		o.StrideH = int(t.GetInt32Slot(8, 0))
		o.Activation = Activation(t.GetInt8Slot(10, 0))
		o.DilationW = int(t.GetInt32Slot(12, 1))
		o.DilationH = int(t.GetInt32Slot(14, 1))
	case OpDepthwiseConv2D: // DepthwiseConv2DOptions
		o.Padding = Padding(t.GetInt8Slot(4, 0))
		o.StrideW = int(t.GetInt32Slot(6, 0))
		o.StrideH = int(t.GetInt32Slot(8, 0))
		o.DepthMult = int(t.GetInt32Slot(10, 0))
		o.Activation = Activation(t.GetInt8Slot(12, 0))
		o.DilationW = int(t.GetInt32Slot(14, 1))
		o.DilationH = int(t.GetInt32Slot(16, 1))
	case OpAveragePool2D: // Pool2DOptions
		o.Padding = Padding(t.GetInt8Slot(4, 0))
		o.StrideW = int(t.GetInt32Slot(6, 0))
		o.StrideH = int(t.GetInt32Slot(8, 0))
		o.FilterW = int(t.GetInt32Slot(10, 0))
		o.FilterH = int(t.GetInt32Slot(12, 0))
		o.Activation = Activation(t.GetInt8Slot(14, 0))
	case OpAdd, OpMul: // AddOptions, MulOptions
		o.Activation = Activation(t.GetInt8Slot(4, 0))
	case OpResizeBilinear: // ResizeBilinearOptions
		o.AlignCorners = t.GetBoolSlot(8, false)
		o.HalfPixel = t.GetBoolSlot(10, false)
	case OpMean: // ReducerOptions
		o.KeepDims = t.GetBoolSlot(4, false)
	}
	return o
}

func table(buf []byte, pos flatbuffers.UOffsetT) *flatbuffers.Table {
	if int(pos) >= len(buf) {
		panic(fmt.Sprintf("table offset %d outside %d bytes", pos, len(buf)))
	}
	return &flatbuffers.Table{Bytes: buf, Pos: pos}
}

// tables returns the tables of the vector of tables at field slot `slot`.
func tables(t *flatbuffers.Table, slot int) []*flatbuffers.Table {
	o := flatbuffers.UOffsetT(t.Offset(flatbuffers.VOffsetT(4 + 2*slot)))
	if o == 0 {
		return nil
	}
	n := t.VectorLen(o)
	if n < 0 || n > len(t.Bytes)/4 {
		panic(fmt.Sprintf("vector length %d", n))
	}
	start := t.Vector(o)
	out := make([]*flatbuffers.Table, n)
	for i := range out {
		elem := start + flatbuffers.UOffsetT(4*i)
		out[i] = table(t.Bytes, t.Indirect(elem))
	}
	return out
}

// ints returns the int32 vector at field slot `slot`.
func ints(t *flatbuffers.Table, slot int) []int32 {
	o := flatbuffers.UOffsetT(t.Offset(flatbuffers.VOffsetT(4 + 2*slot)))
	if o == 0 {
		return nil
	}
	n := t.VectorLen(o)
	if n < 0 || n > len(t.Bytes)/4 {
		panic(fmt.Sprintf("vector length %d", n))
	}
	start := t.Vector(o)
	out := make([]int32, n)
	for i := range out {
		out[i] = t.GetInt32(start + flatbuffers.UOffsetT(4*i))
	}
	return out
}

func intsAsInt(v []int32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}
