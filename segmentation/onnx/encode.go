package onnx

import (
	"encoding/binary"
	"math"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from onnx.proto.
const (
	fModelIRVersion    = 1
	fModelProducerName = 2
	fModelProducerVer  = 3
	fModelGraph        = 7
	fModelOpsetImport  = 8

	fOpsetDomain  = 1
	fOpsetVersion = 2

	fGraphNode        = 1
	fGraphName        = 2
	fGraphInitializer = 5
	fGraphInput       = 11
	fGraphOutput      = 12

	fNodeInput  = 1
	fNodeOutput = 2
	fNodeName   = 3
	fNodeOpType = 4
	fNodeAttr   = 5
	fNodeDomain = 7

	fAttrName    = 1
	fAttrF       = 2
	fAttrI       = 3
	fAttrS       = 4
	fAttrT       = 5
	fAttrG       = 6
	fAttrFloats  = 7
	fAttrInts    = 8
	fAttrStrings = 9
	fAttrTensors = 10
	fAttrGraphs  = 11
	fAttrType    = 20

	fTensorDims         = 1
	fTensorDataType     = 2
	fTensorFloatData    = 4
	fTensorInt32Data    = 5
	fTensorInt64Data    = 7
	fTensorName         = 8
	fTensorRawData      = 9
	fTensorExternalData = 13
	fTensorDataLocation = 14

	fValueInfoName = 1
	fValueInfoType = 2
	fTypeTensor    = 1
	fTTElemType    = 1
	fTTShape       = 2
	fShapeDim      = 1
	fDimValue      = 1
	fDimParam      = 2
)

// Marshal encodes m as an ONNX ModelProto. Float tensors are written as
// little-endian raw_data, as the ONNX reference exporters do.
func Marshal(m *Model) []byte {
	var b []byte
	b = protowire.AppendTag(b, fModelIRVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.IRVersion))
	if m.ProducerName != "" {
		b = appendString(b, fModelProducerName, m.ProducerName)
	}
	domains := make([]string, 0, len(m.Opsets))
	for d := range m.Opsets {
		domains = append(domains, d)
	}
	sort.Strings(domains) // deterministic output
	for _, domain := range domains {
		v := m.Opsets[domain]
		var o []byte
		if domain != "" {
			o = appendString(o, fOpsetDomain, domain)
		}
		o = protowire.AppendTag(o, fOpsetVersion, protowire.VarintType)
		o = protowire.AppendVarint(o, uint64(v))
		b = appendMessage(b, fModelOpsetImport, o)
	}
	b = appendMessage(b, fModelGraph, marshalGraph(&m.Graph))
	return b
}

func marshalGraph(g *Graph) []byte {
	var b []byte
	for i := range g.Nodes {
		b = appendMessage(b, fGraphNode, marshalNode(&g.Nodes[i]))
	}
	if g.Name != "" {
		b = appendString(b, fGraphName, g.Name)
	}
	for i := range g.Initializers {
		b = appendMessage(b, fGraphInitializer, marshalTensor(&g.Initializers[i]))
	}
	for i := range g.Inputs {
		b = appendMessage(b, fGraphInput, marshalValueInfo(&g.Inputs[i]))
	}
	for i := range g.Outputs {
		b = appendMessage(b, fGraphOutput, marshalValueInfo(&g.Outputs[i]))
	}
	return b
}

func marshalNode(n *Node) []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendString(b, fNodeInput, in)
	}
	for _, out := range n.Outputs {
		b = appendString(b, fNodeOutput, out)
	}
	if n.Name != "" {
		b = appendString(b, fNodeName, n.Name)
	}
	b = appendString(b, fNodeOpType, n.OpType)
	for i := range n.Attrs {
		b = appendMessage(b, fNodeAttr, marshalAttr(&n.Attrs[i]))
	}
	if n.Domain != "" {
		b = appendString(b, fNodeDomain, n.Domain)
	}
	return b
}

func marshalAttr(a *Attribute) []byte {
	b := appendString(nil, fAttrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, fAttrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, fAttrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = appendString(b, fAttrS, a.S)
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, fAttrFloats, p)
	case AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMessage(b, fAttrInts, p)
	}
	b = protowire.AppendTag(b, fAttrType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Type))
	return b
}

func marshalTensor(t *Tensor) []byte {
	var b []byte
	if len(t.Dims) > 0 {
		var p []byte
		for _, d := range t.Dims {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendMessage(b, fTensorDims, p)
	}
	b = protowire.AppendTag(b, fTensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.DataType))
	b = appendString(b, fTensorName, t.Name)
	raw := t.Raw
	switch {
	case t.Floats != nil:
		raw = make([]byte, 4*len(t.Floats))
		for i, f := range t.Floats {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
	case t.Int64s != nil:
		raw = make([]byte, 8*len(t.Int64s))
		for i, v := range t.Int64s {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	}
	b = protowire.AppendTag(b, fTensorRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	return b
}

func marshalValueInfo(v *ValueInfo) []byte {
	var shape []byte
	for _, d := range v.Shape {
		var dim []byte
		dim = protowire.AppendTag(dim, fDimValue, protowire.VarintType)
		dim = protowire.AppendVarint(dim, uint64(d))
		shape = appendMessage(shape, fShapeDim, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, fTTElemType, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.ElemType))
	tt = appendMessage(tt, fTTShape, shape)
	typ := appendMessage(nil, fTypeTensor, tt)
	b := appendString(nil, fValueInfoName, v.Name)
	return appendMessage(b, fValueInfoType, typ)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
