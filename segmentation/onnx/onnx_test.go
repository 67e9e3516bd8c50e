package onnx

import (
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	m := &Model{
		IRVersion: 7, ProducerName: "test", Opsets: map[string]int64{"": 14},
		Graph: Graph{
			Name: "g",
			Nodes: []Node{{
				Name: "n0", OpType: "Conv", Inputs: []string{"x", "w", ""}, Outputs: []string{"y"},
				Attrs: []Attribute{
					{Name: "pads", Type: AttrInts, Ints: []int64{0, 1, 0, 1}},
					{Name: "alpha", Type: AttrFloat, F: 0.5},
					{Name: "group", Type: AttrInt, I: 3},
					{Name: "mode", Type: AttrString, S: "linear"},
					{Name: "scales", Type: AttrFloats, Floats: []float32{1, 2}},
				},
			}},
			Initializers: []Tensor{
				{Name: "w", Dims: []int64{1, 1, 1, 2}, DataType: TypeFloat, Floats: []float32{1.5, -2}},
				{Name: "s", Dims: []int64{2}, DataType: TypeInt64, Int64s: []int64{-1, 7}},
			},
			Inputs:  []ValueInfo{{Name: "x", ElemType: TypeFloat, Shape: []int64{1, 1, 4, 4}}},
			Outputs: []ValueInfo{{Name: "y", ElemType: TypeFloat, Shape: []int64{1, 1, 4, 3}}},
		},
	}
	b := Marshal(m)
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.IRVersion != 7 || got.ProducerName != "test" || got.Opsets[""] != 14 {
		t.Fatalf("header: %+v", got)
	}
	if !reflect.DeepEqual(got.Graph.Nodes, m.Graph.Nodes) {
		t.Fatalf("nodes:\n got %+v\nwant %+v", got.Graph.Nodes, m.Graph.Nodes)
	}
	if !reflect.DeepEqual(got.Graph.Inputs, m.Graph.Inputs) || !reflect.DeepEqual(got.Graph.Outputs, m.Graph.Outputs) {
		t.Fatalf("io: %+v %+v", got.Graph.Inputs, got.Graph.Outputs)
	}
	for i, in := range got.Graph.Initializers {
		if in.Name != m.Graph.Initializers[i].Name || in.DataElements() != in.Elements() || !reflect.DeepEqual(in.Dims, m.Graph.Initializers[i].Dims) {
			t.Fatalf("initializer %d: %+v", i, in)
		}
	}
	// Every strict prefix is either an error or a model missing data; it
	// must never panic.
	for n := 0; n < len(b); n++ {
		_, _ = Unmarshal(b[:n])
	}
}
