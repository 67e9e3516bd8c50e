// Package onnx is a minimal, dependency-light encoder and decoder for the ONNX
// protobuf format (onnx/onnx.proto, IR version 7+), covering exactly what
// Podium's converted models use: one graph of nodes with attributes, float32
// and int64 initializers, and typed graph inputs and outputs.
//
// Both directions use google.golang.org/protobuf/encoding/protowire directly
// with the field numbers from onnx.proto, so no generated code is needed. The
// decoder never panics on hostile input: truncated messages, bad wire types and
// out-of-range lengths are reported as errors.
package onnx

// ONNX TensorProto.DataType values (onnx.proto).
const (
	TypeFloat   = 1
	TypeUint8   = 2
	TypeInt8    = 3
	TypeUint16  = 4
	TypeInt16   = 5
	TypeInt32   = 6
	TypeInt64   = 7
	TypeString  = 8
	TypeBool    = 9
	TypeFloat16 = 10
	TypeDouble  = 11
	TypeUint32  = 12
	TypeUint64  = 13
)

// ElemSize returns the byte size of one element of a fixed-size data type, or
// 0 for strings and unknown types.
func ElemSize(dataType int32) int {
	switch dataType {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16, TypeFloat16:
		return 2
	case TypeFloat, TypeInt32, TypeUint32:
		return 4
	case TypeInt64, TypeDouble, TypeUint64:
		return 8
	}
	return 0
}

// AttributeProto.AttributeType values.
const (
	AttrFloat   = 1
	AttrInt     = 2
	AttrString  = 3
	AttrTensor  = 4
	AttrGraph   = 5
	AttrFloats  = 6
	AttrInts    = 7
	AttrStrings = 8
)

// Model is an ONNX ModelProto reduced to what Podium needs.
type Model struct {
	IRVersion    int64
	ProducerName string
	// Opsets maps an operator-set domain ("" is the default ai.onnx domain)
	// to its version.
	Opsets map[string]int64
	Graph  Graph
}

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is a NodeProto. An empty input name means an omitted optional input.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   []Attribute
}

// Attr returns the attribute with the given name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for i := range n.Attrs {
		if n.Attrs[i].Name == name {
			return &n.Attrs[i]
		}
	}
	return nil
}

// Attribute is an AttributeProto of one of the scalar/list kinds.
type Attribute struct {
	Name   string
	Type   int32
	F      float32
	I      int64
	S      string
	Floats []float32
	Ints   []int64
	// HasGraph/HasTensor record sub-graph or tensor payloads, which the
	// encoder never writes and the decoder does not expand.
	HasGraph  bool
	HasTensor bool
}

// Tensor is a TensorProto. Exactly one of Floats, Int64s or Raw carries the
// data when encoding; the decoder fills Raw (raw_data) or the typed fields it
// found, and DataLen with the number of elements present.
type Tensor struct {
	Name     string
	Dims     []int64
	DataType int32
	Floats   []float32
	Int64s   []int64
	Int32s   []int32
	Raw      []byte
	// External is set when the decoder saw external_data / data_location.
	External bool
}

// Elements returns the product of Dims (1 for a scalar).
func (t *Tensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// DataElements returns how many elements the tensor's payload holds.
func (t *Tensor) DataElements() int64 {
	switch {
	case t.Raw != nil:
		if s := ElemSize(t.DataType); s > 0 {
			if len(t.Raw)%s != 0 {
				return -1
			}
			return int64(len(t.Raw) / s)
		}
		return -1
	case t.Floats != nil:
		return int64(len(t.Floats))
	case t.Int64s != nil:
		return int64(len(t.Int64s))
	case t.Int32s != nil:
		return int64(len(t.Int32s))
	}
	return 0
}

// ValueInfo is a ValueInfoProto for a tensor: name, element type and shape.
// A dimension < 0 is symbolic (dim_param) or unknown.
type ValueInfo struct {
	Name     string
	ElemType int32
	Shape    []int64
}
