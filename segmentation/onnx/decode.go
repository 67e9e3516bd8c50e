package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxDims bounds the rank of any tensor or value the decoder accepts.
const maxDims = 16

// Unmarshal decodes an ONNX ModelProto. It checks every tag, wire type and
// length against the buffer and returns an error for truncated or malformed
// input. Unknown fields are skipped, as protobuf requires. Attributes of
// type GRAPH/TENSOR are noted but not expanded.
func Unmarshal(b []byte) (*Model, error) {
	m := &Model{Opsets: map[string]int64{}}
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fModelIRVersion:
			if typ != protowire.VarintType {
				return errWire("ModelProto.ir_version")
			}
			m.IRVersion = int64(x)
		case fModelProducerName:
			if typ != protowire.BytesType {
				return errWire("ModelProto.producer_name")
			}
			m.ProducerName = string(v)
		case fModelOpsetImport:
			if typ != protowire.BytesType {
				return errWire("ModelProto.opset_import")
			}
			var domain string
			var version int64
			if err := walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == fOpsetDomain && typ == protowire.BytesType:
					domain = string(v)
				case num == fOpsetVersion && typ == protowire.VarintType:
					version = int64(x)
				case num == fOpsetDomain || num == fOpsetVersion:
					return errWire("OperatorSetIdProto")
				}
				return nil
			}); err != nil {
				return err
			}
			m.Opsets[domain] = version
		case fModelGraph:
			if typ != protowire.BytesType {
				return errWire("ModelProto.graph")
			}
			return decodeGraph(v, &m.Graph)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func errWire(field string) error { return fmt.Errorf("onnx: %s has the wrong wire type", field) }

// walk iterates over the fields of one message. For varint and fixed fields x
// holds the value; for bytes fields v holds the payload.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("onnx: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			// Groups are not used by onnx.proto.
			return fmt.Errorf("onnx: field %d: unsupported wire type %d", num, typ)
		}
		if n < 0 {
			return fmt.Errorf("onnx: field %d: %w (file truncated or corrupt)", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func decodeGraph(b []byte, g *Graph) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if typ != protowire.BytesType {
			switch num {
			case fGraphNode, fGraphName, fGraphInitializer, fGraphInput, fGraphOutput:
				return errWire("GraphProto")
			}
			return nil
		}
		switch num {
		case fGraphNode:
			var n Node
			if err := decodeNode(v, &n); err != nil {
				return err
			}
			g.Nodes = append(g.Nodes, n)
		case fGraphName:
			g.Name = string(v)
		case fGraphInitializer:
			var t Tensor
			if err := decodeTensor(v, &t); err != nil {
				return err
			}
			g.Initializers = append(g.Initializers, t)
		case fGraphInput, fGraphOutput:
			var vi ValueInfo
			if err := decodeValueInfo(v, &vi); err != nil {
				return err
			}
			if num == fGraphInput {
				g.Inputs = append(g.Inputs, vi)
			} else {
				g.Outputs = append(g.Outputs, vi)
			}
		}
		return nil
	})
}

func decodeNode(b []byte, n *Node) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fNodeInput, fNodeOutput, fNodeName, fNodeOpType, fNodeDomain, fNodeAttr:
			if typ != protowire.BytesType {
				return errWire("NodeProto")
			}
		default:
			return nil
		}
		switch num {
		case fNodeInput:
			n.Inputs = append(n.Inputs, string(v))
		case fNodeOutput:
			n.Outputs = append(n.Outputs, string(v))
		case fNodeName:
			n.Name = string(v)
		case fNodeOpType:
			n.OpType = string(v)
		case fNodeDomain:
			n.Domain = string(v)
		case fNodeAttr:
			var a Attribute
			if err := decodeAttr(v, &a); err != nil {
				return err
			}
			n.Attrs = append(n.Attrs, a)
		}
		return nil
	})
}

func decodeAttr(b []byte, a *Attribute) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fAttrName:
			if typ != protowire.BytesType {
				return errWire("AttributeProto.name")
			}
			a.Name = string(v)
		case fAttrType:
			if typ != protowire.VarintType {
				return errWire("AttributeProto.type")
			}
			a.Type = int32(x)
		case fAttrF:
			if typ != protowire.Fixed32Type {
				return errWire("AttributeProto.f")
			}
			a.F = math.Float32frombits(uint32(x))
		case fAttrI:
			if typ != protowire.VarintType {
				return errWire("AttributeProto.i")
			}
			a.I = int64(x)
		case fAttrS:
			if typ != protowire.BytesType {
				return errWire("AttributeProto.s")
			}
			a.S = string(v)
		case fAttrT, fAttrTensors:
			a.HasTensor = true
		case fAttrG, fAttrGraphs:
			a.HasGraph = true
		case fAttrFloats:
			switch typ {
			case protowire.Fixed32Type:
				a.Floats = append(a.Floats, math.Float32frombits(uint32(x)))
			case protowire.BytesType: // packed
				if len(v)%4 != 0 {
					return errors.New("onnx: packed AttributeProto.floats has a partial element")
				}
				for i := 0; i < len(v); i += 4 {
					a.Floats = append(a.Floats, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
				}
			default:
				return errWire("AttributeProto.floats")
			}
		case fAttrInts:
			vals, err := varints(typ, v, x, "AttributeProto.ints")
			if err != nil {
				return err
			}
			a.Ints = append(a.Ints, vals...)
		}
		return nil
	})
}

// varints decodes a repeated int64/int32 field in packed or unpacked form.
func varints(typ protowire.Type, v []byte, x uint64, field string) ([]int64, error) {
	switch typ {
	case protowire.VarintType:
		return []int64{int64(x)}, nil
	case protowire.BytesType:
		var out []int64
		for len(v) > 0 {
			y, n := protowire.ConsumeVarint(v)
			if n < 0 {
				return nil, fmt.Errorf("onnx: packed %s: %w", field, protowire.ParseError(n))
			}
			out = append(out, int64(y))
			v = v[n:]
		}
		return out, nil
	}
	return nil, errWire(field)
}

func decodeTensor(b []byte, t *Tensor) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fTensorDims:
			d, err := varints(typ, v, x, "TensorProto.dims")
			if err != nil {
				return err
			}
			t.Dims = append(t.Dims, d...)
			if len(t.Dims) > maxDims {
				return fmt.Errorf("onnx: tensor with more than %d dimensions", maxDims)
			}
		case fTensorDataType:
			if typ != protowire.VarintType {
				return errWire("TensorProto.data_type")
			}
			t.DataType = int32(x)
		case fTensorName:
			if typ != protowire.BytesType {
				return errWire("TensorProto.name")
			}
			t.Name = string(v)
		case fTensorRawData:
			if typ != protowire.BytesType {
				return errWire("TensorProto.raw_data")
			}
			t.Raw = v
		case fTensorFloatData:
			switch typ {
			case protowire.Fixed32Type:
				t.Floats = append(t.Floats, math.Float32frombits(uint32(x)))
			case protowire.BytesType:
				if len(v)%4 != 0 {
					return errors.New("onnx: packed TensorProto.float_data has a partial element")
				}
				for i := 0; i < len(v); i += 4 {
					t.Floats = append(t.Floats, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
				}
			default:
				return errWire("TensorProto.float_data")
			}
		case fTensorInt64Data, fTensorInt32Data:
			d, err := varints(typ, v, x, "TensorProto.int_data")
			if err != nil {
				return err
			}
			if num == fTensorInt64Data {
				t.Int64s = append(t.Int64s, d...)
			} else {
				for _, y := range d {
					t.Int32s = append(t.Int32s, int32(y))
				}
			}
		case fTensorExternalData:
			t.External = true
		case fTensorDataLocation:
			if x != 0 {
				t.External = true
			}
		}
		return nil
	})
}

func decodeValueInfo(b []byte, vi *ValueInfo) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fValueInfoName:
			if typ != protowire.BytesType {
				return errWire("ValueInfoProto.name")
			}
			vi.Name = string(v)
		case fValueInfoType:
			if typ != protowire.BytesType {
				return errWire("ValueInfoProto.type")
			}
			return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				if num != fTypeTensor {
					return nil
				}
				if typ != protowire.BytesType {
					return errWire("TypeProto.tensor_type")
				}
				return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
					switch num {
					case fTTElemType:
						if typ != protowire.VarintType {
							return errWire("TypeProto.Tensor.elem_type")
						}
						vi.ElemType = int32(x)
					case fTTShape:
						if typ != protowire.BytesType {
							return errWire("TypeProto.Tensor.shape")
						}
						return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
							if num != fShapeDim {
								return nil
							}
							if typ != protowire.BytesType {
								return errWire("TensorShapeProto.dim")
							}
							d := int64(-1)
							if err := walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
								if num == fDimValue && typ == protowire.VarintType {
									d = int64(x)
								}
								return nil
							}); err != nil {
								return err
							}
							vi.Shape = append(vi.Shape, d)
							if len(vi.Shape) > maxDims {
								return fmt.Errorf("onnx: value %q has more than %d dimensions", vi.Name, maxDims)
							}
							return nil
						})
					}
					return nil
				})
			})
		}
		return nil
	})
}
