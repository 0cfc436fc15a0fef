package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// externalModel has a weight initializer, a string initializer (which
// stays inline) and a tensor attribute inside an If branch.
func externalModel(t *testing.T) *graph.Model {
	t.Helper()
	w, _ := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	labels, _ := tensor.FromSlice([]string{"a", "b"})
	c, _ := tensor.FromSlice([]int64{7, 8, 9})
	branch := &graph.Graph{
		Name:    "then",
		Outputs: []*graph.ValueInfo{{Name: "c", Type: ops.TensorType(tensor.Int64, tensor.Shape{3})}},
		Nodes:   []*graph.Node{{OpType: "Constant", Outputs: []string{"c"}, Attrs: map[string]ops.Attr{"value": {Type: ops.AttrTensor, Tensor: c}}}},
	}
	return &graph.Model{
		Opsets: map[string]int{"": 17},
		Graph: &graph.Graph{
			Name:         "ext",
			Inputs:       []*graph.ValueInfo{{Name: "cond", Type: ops.TensorType(tensor.Bool, tensor.Shape{})}},
			Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Int64, tensor.Shape{3})}},
			Initializers: map[string]*tensor.Tensor{"w": w, "labels": labels},
			Nodes: []*graph.Node{{OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"y"},
				Graphs: map[string]*graph.Graph{"then_branch": branch, "else_branch": branch}}},
		},
	}
}

func TestExternalWriterAndFiles(t *testing.T) {
	dir := t.TempDir()
	var data []byte
	var names []string
	place := func(name string, x *tensor.Tensor) (ExternalRef, bool, error) {
		b, _ := x.HostBytes()
		ref := ExternalRef{Location: "weights.bin", Offset: int64(len(data)), Length: int64(len(b))}
		data = append(data, b...)
		names = append(names, name)
		return ref, true, nil
	}
	path := filepath.Join(dir, "model.onnx")
	if err := WriteModelFile(path, externalModel(t), WithExternalWriter(place)); err != nil {
		t.Fatal(err)
	}
	// w, and the If's constant once per branch; never the strings.
	if len(names) != 3 || len(data) != 16+2*24 {
		t.Fatalf("placed %q, %d bytes", names, len(data))
	}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tensor.ToSlice[float32](m.Graph.Initializers["w"])
	s, _ := m.Graph.Initializers["labels"].Strings()
	c, _ := tensor.ToSlice[int64](m.Graph.Nodes[0].Graphs["else_branch"].Nodes[0].Attrs["value"].Tensor)
	if len(w) != 4 || w[3] != 4 || len(s) != 2 || s[1] != "b" || len(c) != 3 || c[2] != 9 {
		t.Errorf("read back w %v, labels %v, constant %v", w, s, c)
	}
}

func TestExternalReader(t *testing.T) {
	var data []byte
	b, err := EncodeModel(externalModel(t), WithExternalWriter(func(name string, x *tensor.Tensor) (ExternalRef, bool, error) {
		if x.NumBytes() < 20 {
			return ExternalRef{}, false, nil // the 16-byte w stays inline
		}
		hb, _ := x.HostBytes()
		ref := ExternalRef{Location: "@section", Offset: int64(len(data)), Length: int64(len(hb))}
		data = append(data, hb...)
		return ref, true, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	var refs []ExternalRef
	m, err := DecodeModel(b, WithExternalReader(func(ref ExternalRef, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error) {
		refs = append(refs, ref)
		return tensor.FromBytes(dt, shape, data[ref.Offset:ref.Offset+ref.Length])
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 || refs[1].Offset != 24 || refs[1].Location != "@section" {
		t.Errorf("reader saw %+v", refs)
	}
	c, _ := tensor.ToSlice[int64](m.Graph.Nodes[0].Graphs["then_branch"].Nodes[0].Attrs["value"].Tensor)
	if len(c) != 3 || c[0] != 7 {
		t.Errorf("constant %v", c)
	}

	// A reader's error is reported with the tensor it concerns; one that
	// returns the wrong tensor is caught.
	boom := errors.New("boom")
	if _, err := DecodeModel(b, WithExternalReader(func(ExternalRef, tensor.DType, tensor.Shape) (*tensor.Tensor, error) { return nil, boom })); !errors.Is(err, boom) {
		t.Errorf("reader error: %v", err)
	}
	if _, err := DecodeModel(b, WithExternalReader(func(ExternalRef, tensor.DType, tensor.Shape) (*tensor.Tensor, error) {
		return tensor.Scalar[int64](1), nil
	})); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("wrong tensor from reader: %v", err)
	}
	// Without a reader or a directory, external data is refused.
	if _, err := DecodeModel(b); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("no reader: %v", err)
	}
}

func TestExternalWriterErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := EncodeModel(externalModel(t), WithExternalWriter(func(string, *tensor.Tensor) (ExternalRef, bool, error) {
		return ExternalRef{}, false, boom
	})); !errors.Is(err, boom) {
		t.Errorf("writer error: %v", err)
	}
	if _, err := EncodeModel(externalModel(t), WithExternalWriter(func(string, *tensor.Tensor) (ExternalRef, bool, error) {
		return ExternalRef{Location: "x", Length: 1}, true, nil
	})); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("wrong length: %v", err)
	}
}
