package segmentation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/podiumhq/podium/segmentation/onnx"
)

// MaxModelBytes bounds the size of a model file ValidateModel reads. The
// selfie models are about 0.5 MB as ONNX.
const MaxModelBytes = 64 << 20

// supportedOps lists the ONNX operators that OpenCV 4.6's importer was seen
// to accept for these models (../shared/FACTS.md, "The segmentation model").
// Everything else is refused before OpenCV is called.
var supportedOps = map[string]bool{
	"Conv": true, "ConvTranspose": true, "HardSwish": true, "HardSigmoid": true,
	"Relu": true, "Sigmoid": true, "Add": true, "Mul": true,
	"GlobalAveragePool": true, "AveragePool": true, "ReduceMean": true,
	"Resize": true, "Concat": true, "Reshape": true, "Clip": true,
	"Sum": true,
}

// ErrInvalidModel wraps every validation failure; test with errors.Is.
var ErrInvalidModel = errors.New("invalid segmentation model")

// ValidateModel reads the ONNX file at path and checks, with its own protobuf
// decoder, that OpenCV 4.6's DNN importer can load it, so that gocv (which
// aborts the whole process on a model it cannot parse) never sees a bad file.
//
// It refuses, with an error wrapping [ErrInvalidModel]: files over
// [MaxModelBytes]; bytes that are not a well-formed ModelProto (garbage,
// truncation); opsets other than ai.onnx 7..17; operators outside the set
// OpenCV 4.6 accepts, including Clip with min/max given as inputs (opset >= 11
// form, rejected by OpenCV 4.6); nodes whose inputs are not defined earlier in
// the graph; initializers whose payload does not match their shape or that
// live in external files; Conv/ConvTranspose/Resize/Reshape whose weights,
// scales or shapes are not constants; and graphs whose single input is not
// float [1,3,H,W] and single output not float [1,1,H,W] (the segmentation
// contract).
func ValidateModel(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidModel, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxModelBytes+1))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	if err := ValidateModelBytes(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ValidateModelBytes is [ValidateModel] for a model already in memory.
func ValidateModelBytes(data []byte) error {
	_, err := checkModel(data)
	return err
}

// modelInfo is what validation learns about a model.
type modelInfo struct {
	input, output string
	h, w          int
	// logitsNodes lists the names OpenCV may give the layer that computes
	// the input of the graph's final Sigmoid, when the output is computed by
	// one (the converted selfie models); empty otherwise.
	logitsNodes []string
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidModel}, args...)...)
}

func checkModel(data []byte) (*modelInfo, error) {
	if len(data) > MaxModelBytes {
		return nil, invalid("larger than %d bytes", MaxModelBytes)
	}
	if len(data) == 0 {
		return nil, invalid("empty file")
	}
	m, err := onnx.Unmarshal(data)
	if err != nil {
		return nil, invalid("not a readable ONNX model: %v", err)
	}
	v, ok := m.Opsets[""]
	if !ok {
		v, ok = m.Opsets["ai.onnx"]
	}
	if !ok || v < 7 || v > 17 {
		return nil, invalid("ai.onnx opset %d (present %v) not in 7..17", v, ok)
	}
	for d := range m.Opsets {
		if d != "" && d != "ai.onnx" {
			return nil, invalid("operator set domain %q not supported", d)
		}
	}
	g := &m.Graph
	if len(g.Nodes) == 0 {
		return nil, invalid("graph has no nodes (truncated file?)")
	}
	consts := map[string]*onnx.Tensor{}
	for i := range g.Initializers {
		t := &g.Initializers[i]
		if t.Name == "" {
			return nil, invalid("initializer without a name")
		}
		if t.External {
			return nil, invalid("initializer %q stored in an external file", t.Name)
		}
		switch t.DataType {
		case onnx.TypeFloat, onnx.TypeInt64, onnx.TypeInt32:
		default:
			return nil, invalid("initializer %q has data type %d", t.Name, t.DataType)
		}
		for _, d := range t.Dims {
			if d < 0 || d > 1<<24 {
				return nil, invalid("initializer %q has dimension %d", t.Name, d)
			}
		}
		if n := t.DataElements(); n != t.Elements() {
			return nil, invalid("initializer %q holds %d elements, its shape %v needs %d (truncated?)", t.Name, n, t.Dims, t.Elements())
		}
		consts[t.Name] = t
	}
	defined := map[string]bool{}
	for n := range consts {
		defined[n] = true
	}
	var info modelInfo
	var realInputs []onnx.ValueInfo
	for _, in := range g.Inputs {
		if consts[in.Name] == nil {
			realInputs = append(realInputs, in)
		}
		defined[in.Name] = true
	}
	// First pass: operator support, so the error names every offender.
	unsupported := map[string]int{}
	for k := range g.Nodes {
		n := &g.Nodes[k]
		switch {
		case n.Domain != "" && n.Domain != "ai.onnx":
			unsupported[n.Domain+"."+n.OpType]++
		case !supportedOps[n.OpType]:
			unsupported[n.OpType]++
		case n.OpType == "Clip" && nonEmpty(n.Inputs) > 1:
			// OpenCV 4.6 reads only the min/max attributes (opset < 11).
			unsupported["Clip with min/max inputs"]++
		}
	}
	if len(unsupported) > 0 {
		ops := make([]string, 0, len(unsupported))
		for op, c := range unsupported {
			ops = append(ops, fmt.Sprintf("%s (%d)", op, c))
		}
		sort.Strings(ops)
		return nil, invalid("operators not supported by OpenCV 4.6: %s", strings.Join(ops, ", "))
	}
	for k := range g.Nodes {
		n := &g.Nodes[k]
		if err := checkNode(n, consts); err != nil {
			return nil, invalid("node %d (%s %q): %v", k, n.OpType, n.Name, err)
		}
		for _, a := range n.Attrs {
			if a.HasGraph {
				return nil, invalid("node %q has a sub-graph attribute", n.Name)
			}
		}
		for _, x := range n.Inputs {
			if x != "" && !defined[x] {
				return nil, invalid("node %d (%s) reads %q before anything defines it (truncated or unsorted graph)", k, n.OpType, x)
			}
		}
		if len(n.Outputs) == 0 {
			return nil, invalid("node %d (%s) has no outputs", k, n.OpType)
		}
		for _, x := range n.Outputs {
			if defined[x] {
				return nil, invalid("value %q defined twice", x)
			}
			defined[x] = true
		}
	}
	if len(realInputs) != 1 || len(g.Outputs) != 1 {
		return nil, invalid("want 1 graph input and 1 output, have %d and %d", len(realInputs), len(g.Outputs))
	}
	in, out := realInputs[0], g.Outputs[0]
	if in.ElemType != onnx.TypeFloat || len(in.Shape) != 4 || in.Shape[0] != 1 || in.Shape[1] != 3 ||
		in.Shape[2] < 16 || in.Shape[3] < 16 || in.Shape[2] > 4096 || in.Shape[3] > 4096 {
		return nil, invalid("input %q is %v of type %d, want float [1,3,H,W]", in.Name, in.Shape, in.ElemType)
	}
	if out.ElemType != onnx.TypeFloat || len(out.Shape) != 4 || out.Shape[0] != 1 || out.Shape[1] != 1 ||
		out.Shape[2] != in.Shape[2] || out.Shape[3] != in.Shape[3] {
		return nil, invalid("output %q is %v of type %d, want float [1,1,%d,%d]", out.Name, out.Shape, out.ElemType, in.Shape[2], in.Shape[3])
	}
	info.input, info.output = in.Name, out.Name
	info.h, info.w = int(in.Shape[2]), int(in.Shape[3])

	if !defined[out.Name] || consts[out.Name] != nil {
		return nil, invalid("graph output %q is never computed (truncated file?)", out.Name)
	}
	var logits string
	for k := range g.Nodes {
		n := &g.Nodes[k]
		if len(n.Outputs) == 1 && n.Outputs[0] == out.Name && n.OpType == "Sigmoid" &&
			len(n.Inputs) == 1 && consts[n.Inputs[0]] == nil && n.Inputs[0] != in.Name {
			logits = n.Inputs[0]
		}
	}
	for k := range g.Nodes {
		n := &g.Nodes[k]
		if logits != "" && len(n.Outputs) == 1 && n.Outputs[0] == logits {
			// OpenCV 4.6's ONNX importer names a layer "onnx_node!" + the
			// node name, or after its first output when it has none.
			name := n.Name
			if name == "" {
				name = n.Outputs[0]
			}
			info.logitsNodes = []string{"onnx_node!" + name, name}
		}
	}
	return &info, nil
}

// nonEmpty returns the node's inputs with omitted optional ones removed.
func nonEmpty(in []string) int {
	n := 0
	for _, x := range in {
		if x != "" {
			n++
		}
	}
	return n
}

func checkNode(n *onnx.Node, consts map[string]*onnx.Tensor) error {
	needConst := func(i int, what string) (*onnx.Tensor, error) {
		if i >= len(n.Inputs) || consts[n.Inputs[i]] == nil {
			return nil, fmt.Errorf("%s must be a constant initializer", what)
		}
		return consts[n.Inputs[i]], nil
	}
	switch n.OpType {
	case "Conv", "ConvTranspose":
		if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
			return fmt.Errorf("%d inputs", len(n.Inputs))
		}
		w, err := needConst(1, "weight")
		if err != nil {
			return err
		}
		if len(w.Dims) != 4 {
			return fmt.Errorf("weight shape %v is not 4-D", w.Dims)
		}
		if len(n.Inputs) == 3 && n.Inputs[2] != "" {
			if _, err := needConst(2, "bias"); err != nil {
				return err
			}
		}
	case "Resize":
		if len(n.Inputs) < 2 {
			return errors.New("no scales or sizes input")
		}
		for i := 1; i < len(n.Inputs); i++ {
			if n.Inputs[i] != "" {
				if _, err := needConst(i, "roi/scales/sizes"); err != nil {
					return err
				}
			}
		}
		if a := n.Attr("coordinate_transformation_mode"); a != nil && (a.S == "tf_crop_and_resize" || a.S == "tf_half_pixel_for_nn") {
			return fmt.Errorf("coordinate_transformation_mode %q", a.S)
		}
		if a := n.Attr("mode"); a != nil && a.S != "linear" && a.S != "nearest" {
			return fmt.Errorf("mode %q", a.S)
		}
	case "Reshape":
		if _, err := needConst(1, "shape"); err != nil {
			return err
		}
	case "Add", "Mul", "Sum", "Concat":
		if nonEmpty(n.Inputs) < 2 {
			return errors.New("needs at least 2 inputs")
		}
	default:
		if nonEmpty(n.Inputs) < 1 {
			return errors.New("no input")
		}
	}
	return nil
}
