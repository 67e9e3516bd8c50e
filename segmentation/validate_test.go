package segmentation

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/segmentation/onnx"
)

// modelPath finds a converted model, failing the test (with the `make model`
// hint) when it is missing.
func modelPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := FindModel(name)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestValidateModelAcceptsConverted(t *testing.T) {
	for _, name := range []string{GeneralModel, LandscapeModel} {
		if err := ValidateModel(modelPath(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestValidateModelRefuses feeds files that would make gocv abort the process
// (OpenCV throws inside ReadNet, gocv has no try/catch) to ValidateModel and
// NewSegmenter. Both must return errors; the test process must survive, which
// it does only if OpenCV never sees these files.
func TestValidateModelRefuses(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(modelPath(t, GeneralModel))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	garbage := make([]byte, 64<<10)
	rng.Read(garbage)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"random":      {garbage, "not a readable ONNX model"},
		"empty":       {nil, "empty"},
		"text":        {[]byte("this is not a model\n"), ""},
		"header-only": {good[:40], ""},
	}
	// Truncated copies at many cut points, including inside the header, the
	// node list and the weights.
	for _, frac := range []float64{0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999} {
		n := int(float64(len(good)) * frac)
		cases["truncated-"+strings.TrimPrefix(fmtFloat(frac), "0.")] = struct {
			data []byte
			want string
		}{good[:n], ""}
	}
	// A well-formed protobuf whose graph lost its second half (a truncation
	// at a message boundary) and one with an operator OpenCV lacks.
	m, err := onnx.Unmarshal(good)
	if err != nil {
		t.Fatal(err)
	}
	half := *m
	half.Graph.Nodes = m.Graph.Nodes[:len(m.Graph.Nodes)/2]
	cases["graph-cut"] = struct {
		data []byte
		want string
	}{onnx.Marshal(&half), "never computed"}
	odd := *m
	odd.Graph.Nodes = append([]onnx.Node{}, m.Graph.Nodes...)
	odd.Graph.Nodes[3].OpType = "Einsum"
	cases["unsupported-op"] = struct {
		data []byte
		want string
	}{onnx.Marshal(&odd), "Einsum"}

	for name, c := range cases {
		p := filepath.Join(dir, name+".onnx")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		err := ValidateModel(p)
		if err == nil || !errors.Is(err, ErrInvalidModel) {
			t.Errorf("%s: ValidateModel = %v, want ErrInvalidModel", name, err)
			continue
		}
		if c.want != "" && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
		if s, err := NewSegmenter(p); err == nil {
			s.Close()
			t.Errorf("%s: NewSegmenter accepted it", name)
		}
		t.Logf("%s (%d bytes): %v", name, len(c.data), err)
	}

	// tf2onnx's export of the same model: OpenCV 4.6 rejects its 3-input Clip.
	ref := testdata.Shared(t, "reference/selfie_segmentation.tf2onnx-opset13.onnx")
	err = ValidateModel(ref)
	if err == nil || !strings.Contains(err.Error(), "Clip with min/max inputs") {
		t.Fatalf("tf2onnx model: %v, want a Clip error", err)
	}
	t.Logf("tf2onnx reference: %v", err)
	if s, err := NewSegmenter(ref); err == nil {
		s.Close()
		t.Fatal("NewSegmenter accepted the tf2onnx model")
	}
	// And a truncated copy of it.
	rb, _ := os.ReadFile(ref)
	tp := filepath.Join(dir, "tf2onnx-truncated.onnx")
	os.WriteFile(tp, rb[:len(rb)/3], 0o644)
	if err := ValidateModel(tp); err == nil {
		t.Fatal("truncated tf2onnx model accepted")
	}

	// The process is still alive and OpenCV still works.
	s, err := NewSegmenter(modelPath(t, GeneralModel))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestFindModel(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, GeneralModel)
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvModelDir, dir)
	if got, err := FindModel(GeneralModel); err != nil || got != p {
		t.Fatalf("FindModel via env = %q, %v; want %q", got, err, p)
	}
	if got, err := FindModel(p); err != nil || got != p {
		t.Fatalf("FindModel(path) = %q, %v", got, err)
	}
	_, err := FindModel("no_such_model.onnx")
	if !errors.Is(err, ErrModelNotFound) || !strings.Contains(err.Error(), "make model") {
		t.Fatalf("missing model error %v does not name `make model`", err)
	}
	_, err = FindModel(filepath.Join(dir, "missing.onnx"))
	if !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("missing explicit path: %v", err)
	}
	if _, err := NewSegmenter(filepath.Join(dir, "missing.onnx")); !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("NewSegmenter on a missing file: %v", err)
	}
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
