package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// tinyModel is y = Relu(x + w) at opset 17.
func tinyModel(t *testing.T) *graph.Model {
	t.Helper()
	w, err := tensor.FromSlice([]float32{1, -1})
	if err != nil {
		t.Fatal(err)
	}
	return &graph.Model{
		Opsets: map[string]int{"": 17},
		Graph: &graph.Graph{
			Name:         "tiny",
			Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 2}), DimParams: []string{"n", ""}}},
			Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 2})}},
			Initializers: map[string]*tensor.Tensor{"w": w},
			Nodes: []*graph.Node{
				{Name: "add", OpType: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
				{Name: "relu", OpType: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}},
			},
		},
	}
}

func TestEncodeDecodeModel(t *testing.T) {
	b, err := EncodeModel(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	if m.Opset("") != 17 || len(g.Nodes) != 2 || g.Nodes[0].OpType != "Add" || g.Inputs[0].DimParams[0] != "n" {
		t.Fatalf("round trip lost something: %+v", m)
	}
	if got := g.Inputs[0].Type.String(); got != "float32[? 2]" {
		t.Errorf("input type %s", got)
	}
	w, _ := tensor.ToSlice[float32](g.Initializers["w"])
	if len(w) != 2 || w[1] != -1 {
		t.Errorf("initializer %v", w)
	}
}

func encodeProto(t *testing.T, mp *onnxpb.ModelProto) []byte {
	t.Helper()
	b, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tinyProto(t *testing.T) *onnxpb.ModelProto {
	t.Helper()
	mp, err := modelToProto(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	return mp
}

// Bad files give errors wrapping ErrInvalidModel (broken content) or
// runtime.ErrUnsupported (valid but beyond GoCANN), never a panic.
func TestDecodeModelRejects(t *testing.T) {
	good := encodeProto(t, tinyProto(t))
	tests := []struct {
		name     string
		bytes    func() []byte
		sentinel error
		want     string
	}{
		{"empty", func() []byte { return nil }, ErrInvalidModel, "no graph"},
		{"garbage", func() []byte { return []byte("this is not a model at all") }, ErrInvalidModel, "not a valid ONNX model"},
		{"truncated", func() []byte { return good[:len(good)-7] }, ErrInvalidModel, ""},
		{"opset too new", func() []byte {
			mp := tinyProto(t)
			mp.OpsetImport[0].Version = proto.Int64(99)
			return encodeProto(t, mp)
		}, runtime.ErrUnsupported, "opset 99"},
		{"negative opset", func() []byte {
			mp := tinyProto(t)
			mp.OpsetImport[0].Version = proto.Int64(-1)
			return encodeProto(t, mp)
		}, ErrInvalidModel, "version -1"},
		{"cycle", func() []byte {
			mp := tinyProto(t)
			mp.Graph.Node[0].Input[0] = "y"
			return encodeProto(t, mp)
		}, graph.ErrInvalidGraph, "cycle"},
		{"dangling edge", func() []byte {
			mp := tinyProto(t)
			mp.Graph.Node[1].Input[0] = "nowhere"
			return encodeProto(t, mp)
		}, graph.ErrInvalidGraph, "nothing produces"},
		{"node without op type", func() []byte {
			mp := tinyProto(t)
			mp.Graph.Node[0].OpType = proto.String("")
			return encodeProto(t, mp)
		}, ErrInvalidModel, "op_type"},
		{"duplicate attribute", func() []byte {
			mp := tinyProto(t)
			a := &onnxpb.AttributeProto{Name: proto.String("k"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}
			mp.Graph.Node[0].Attribute = []*onnxpb.AttributeProto{a, a}
			return encodeProto(t, mp)
		}, ErrInvalidModel, "given twice"},
		{"initializer with bad data", func() []byte {
			mp := tinyProto(t)
			mp.Graph.Initializer[0].RawData = mp.Graph.Initializer[0].RawData[:5]
			return encodeProto(t, mp)
		}, ErrInvalidModel, `initializer "w"`},
		{"absurd initializer dims", func() []byte {
			mp := tinyProto(t)
			mp.Graph.Initializer[0].Dims = []int64{1 << 40, 1 << 40}
			return encodeProto(t, mp)
		}, nil, `initializer "w"`},
		{"external data without a folder", func() []byte {
			mp := tinyProto(t)
			in := mp.Graph.Initializer[0]
			in.RawData = nil
			in.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			in.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
			return encodeProto(t, mp)
		}, nil, "external"},
		{"deep nesting", func() []byte {
			mp := tinyProto(t)
			g := &onnxpb.GraphProto{Name: proto.String("leaf")}
			for i := 0; i < maxGraphDepth+2; i++ {
				g = &onnxpb.GraphProto{Name: proto.String("level"), Node: []*onnxpb.NodeProto{{OpType: proto.String("If"),
					Attribute: []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g}}}}}
			}
			mp.Graph.Node = append(mp.Graph.Node, g.Node[0])
			return encodeProto(t, mp)
		}, ErrInvalidModel, "nested deeper"},
		{"function without a name", func() []byte {
			mp := tinyProto(t)
			mp.Functions = []*onnxpb.FunctionProto{{Name: proto.String("")}}
			return encodeProto(t, mp)
		}, ErrInvalidModel, "function without a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeModel(tt.bytes())
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.sentinel)
			}
			if !errors.Is(err, ErrInvalidModel) && !errors.Is(err, runtime.ErrUnsupported) && !errors.Is(err, graph.ErrInvalidGraph) {
				t.Errorf("err = %v wraps no sentinel callers can test", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// External data resolves inside the model's folder and nowhere else.
func TestLoadModelExternalData(t *testing.T) {
	dir := t.TempDir()
	mp := tinyProto(t)
	in := mp.Graph.Initializer[0]
	raw := in.RawData
	in.RawData = nil
	in.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	in.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("weights.bin")}}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, encodeProto(t, mp), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := tensor.ToSlice[float32](m.Graph.Initializers["w"]); len(w) != 2 || w[0] != 1 {
		t.Errorf("external weights %v", w)
	}
	in.ExternalData[0].Value = proto.String("../outside.bin")
	if err := os.WriteFile(path, encodeProto(t, mp), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(path); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("path escaping the folder: err = %v", err)
	}
}

// Every model of the ONNX backend test data imports, or is refused with a
// sentinel error (features not supported yet); none panics.
func TestLoadBackendTestModels(t *testing.T) {
	root := "/usr/share/libonnx-testdata/data"
	paths, _ := filepath.Glob(filepath.Join(root, "*", "*", "model.onnx"))
	if len(paths) == 0 {
		t.Skip("libonnx-testdata not installed")
	}
	refused := 0
	for _, p := range paths {
		if _, err := LoadModel(p); err != nil {
			if !errors.Is(err, runtime.ErrUnsupported) {
				t.Errorf("%s: %v", p, err)
			}
			refused++
		}
	}
	t.Logf("%d models imported, %d refused as unsupported", len(paths)-refused, refused)
}

func FuzzDecodeModel(f *testing.F) {
	for _, p := range []string{"node/test_abs", "node/test_if", "node/test_loop11", "simple/test_sequence_model1", "node/test_constant"} {
		if b, err := os.ReadFile(filepath.Join("/usr/share/libonnx-testdata/data", p, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{Name: "g",
		Inputs:  []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{2})}},
		Outputs: []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{2})}},
		Nodes:   []*graph.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}}}
	if b, err := EncodeModel(m); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeModel(b, WithMaxTensorBytes(1<<20))
		if err != nil {
			if !errors.Is(err, ErrInvalidModel) && !errors.Is(err, runtime.ErrUnsupported) && !errors.Is(err, graph.ErrInvalidGraph) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		// A model that decodes must encode again.
		if _, err := EncodeModel(m); err != nil && !errors.Is(err, runtime.ErrUnsupported) {
			t.Fatalf("decoded model does not encode: %v", err)
		}
	})
}
