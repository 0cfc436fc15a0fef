package compiled

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/tensor"
)

func f32(t *testing.T, v []float32, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(v, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func ramp(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)*scale - 1
	}
	return v
}

// branchModel is y = If(cond, (x·w + b) * s, -(x·w + b) - c): weights
// in the main graph, an initializer in one branch and a Constant's tensor
// attribute in the other, large enough to go to the weights section
// except the bias.
func branchModel(t *testing.T) *graph.Model {
	t.Helper()
	sq := ops.TensorType(tensor.Float32, tensor.Shape{4, 4})
	then := &graph.Graph{
		Name:         "then",
		Outputs:      []*graph.ValueInfo{{Name: "t_out", Type: sq}},
		Initializers: map[string]*tensor.Tensor{"s": f32(t, ramp(16, 0.5), 4, 4)},
		Nodes:        []*graph.Node{{Name: "scale", OpType: "Mul", Inputs: []string{"h2", "s"}, Outputs: []string{"t_out"}}},
	}
	els := &graph.Graph{
		Name:    "else",
		Outputs: []*graph.ValueInfo{{Name: "e_out", Type: sq}},
		Nodes: []*graph.Node{
			{OpType: "Constant", Outputs: []string{"c"}, Attrs: map[string]ops.Attr{"value": {Type: ops.AttrTensor, Tensor: f32(t, ramp(16, -0.25), 4, 4)}}},
			{OpType: "Neg", Inputs: []string{"h2"}, Outputs: []string{"n"}},
			{OpType: "Sub", Inputs: []string{"n", "c"}, Outputs: []string{"e_out"}},
		},
	}
	return &graph.Model{
		Opsets:       map[string]int{"": 17},
		ProducerName: "test", ProducerVersion: "1",
		Graph: &graph.Graph{
			Name: "branches",
			Inputs: []*graph.ValueInfo{
				{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 4}), DimParams: []string{"batch", ""}},
				{Name: "cond", Type: ops.TensorType(tensor.Bool, tensor.Shape{})},
			},
			Outputs: []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 4})}},
			Initializers: map[string]*tensor.Tensor{
				"w": f32(t, ramp(16, 0.125), 4, 4),
				"b": f32(t, []float32{1, 2, 3, 4}),
			},
			Nodes: []*graph.Node{
				{Name: "mm", OpType: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
				{Name: "bias", OpType: "Add", Inputs: []string{"h", "b"}, Outputs: []string{"h2"}},
				{Name: "if", OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"y"},
					Graphs: map[string]*graph.Graph{"then_branch": then, "else_branch": els}},
			},
		},
	}
}

func runGraph(t *testing.T, m *graph.Model, cond bool) []float32 {
	t.Helper()
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := engine.Compile(m, engine.Options{Ops: reg})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exe.Run(context.Background(), map[string]ops.Value{
		"x":    f32(t, ramp(16, 0.3), 4, 4),
		"cond": tensor.Scalar(cond),
	})
	if err != nil {
		t.Fatal(err)
	}
	y, err := tensor.ToSlice[float32](outs[0].(*tensor.Tensor))
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func writeBytes(t *testing.T, m *graph.Model, b Build) ([]byte, *Manifest) {
	t.Helper()
	var buf bytes.Buffer
	man, err := Write(&buf, m, b)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), man
}

func TestRoundTripSubgraphs(t *testing.T) {
	src := branchModel(t)
	want := [2][]float32{runGraph(t, src, true), runGraph(t, src, false)}
	path := filepath.Join(t.TempDir(), "m.cann")
	man, err := WriteFile(path, src, Build{Source: Source{File: "m.onnx"}, OptLevel: 2})
	if err != nil {
		t.Fatal(err)
	}
	// w, s and the constant are in the section; the 16-byte bias inline.
	if man.Weights.Tensors != 3 || man.Weights.Bytes != 3*64 || man.Weights.Inline != 1 {
		t.Errorf("weights %+v", man.Weights)
	}
	if man.Nodes != 7 || man.OpCounts["If"] != 1 || man.OpCounts["Constant"] != 1 {
		t.Errorf("op counts %d %v", man.Nodes, man.OpCounts)
	}
	if man.Inputs[0].Type != "float32[? 4]" || man.Inputs[0].DimParams[0] != "batch" || man.Source.Producer != "test 1" {
		t.Errorf("manifest %+v", man)
	}

	for _, mode := range []struct {
		name string
		opts []Option
	}{{"mmap", nil}, {"memory", []Option{WithoutMmap()}}, {"verified", []Option{WithVerifyWeights(true)}}} {
		t.Run(mode.name, func(t *testing.T) {
			m, err := Open(path, mode.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if wantMapped := mode.name != "memory" && goruntime.GOOS != "windows"; m.Mapped() != wantMapped {
				t.Errorf("mapped %v", m.Mapped())
			}
			w := m.Graph.Graph.Initializers["w"]
			if !w.ReadOnly() {
				t.Error("weight is not a read-only view")
			}
			b, _ := w.HostBytes()
			if uintptr(unsafe.Pointer(&b[0]))%Alignment != 0 {
				t.Errorf("weight at %p is not %d-byte aligned", &b[0], Alignment)
			}
			if m.Manifest.OptLevel != 2 || m.Manifest.Source.File != "m.onnx" {
				t.Errorf("manifest %+v", m.Manifest)
			}
			for i, cond := range []bool{true, false} {
				got := runGraph(t, m.Graph, cond)
				if !equalFloats(got, want[i]) {
					t.Errorf("cond %v: got %v, want %v", cond, got, want[i])
				}
			}
		})
	}
	// Read and Decode from memory give the same.
	data, _ := os.ReadFile(path)
	m, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := runGraph(t, m.Graph, true); !equalFloats(got, want[0]) {
		t.Errorf("Read: got %v", got)
	}
	// Files are deterministic for a fixed creation time.
	a, _ := writeBytes(t, src, Build{Created: man.Created})
	b, _ := writeBytes(t, src, Build{Created: man.Created})
	if !bytes.Equal(a, b) {
		t.Error("two writes of one model differ")
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// everyDType returns an initializer of each element type, small (inline)
// and large (in the weights section).
func everyDType(t *testing.T) map[string]*tensor.Tensor {
	t.Helper()
	out := map[string]*tensor.Tensor{}
	for dt := tensor.DType(1); dt.Valid(); dt++ {
		for _, n := range []int{3, 100} {
			x, err := tensor.New(dt, tensor.Shape{n})
			if err != nil {
				t.Fatal(err)
			}
			if dt == tensor.String {
				strs := make([]string, n)
				for i := range strs {
					strs[i] = strings.Repeat("x", i%5)
				}
				x, _ = tensor.FromSlice(strs)
			} else {
				b, _ := x.HostBytes()
				for i := range b {
					b[i] = byte(i*7 + int(dt))
				}
				if dt == tensor.Bool {
					for i := range b {
						b[i] &= 1
					}
				}
			}
			out[dt.String()+"_"+string(rune('0'+n%10))] = x
		}
	}
	return out
}

func TestRoundTripEveryDType(t *testing.T) {
	inits := everyDType(t)
	src := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Name:         "dtypes",
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{1})}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{1})}},
		Initializers: inits,
		Nodes:        []*graph.Node{{OpType: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}}
	path := filepath.Join(t.TempDir(), "d.cann")
	if _, err := WriteFile(path, src, Build{}); err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]Option{nil, {WithoutMmap()}} {
		m, err := Open(path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range inits {
			got := m.Graph.Graph.Initializers[name]
			if got == nil || got.DType() != want.DType() || !got.Shape().Equal(want.Shape()) {
				t.Errorf("%s: got %v, want %v", name, got, want)
				continue
			}
			if want.DType() == tensor.String {
				g, _ := got.Strings()
				w, _ := want.Strings()
				if strings.Join(g, ",") != strings.Join(w, ",") {
					t.Errorf("%s: %q, want %q", name, g, w)
				}
				continue
			}
			g, _ := got.HostBytes()
			w, _ := want.HostBytes()
			if !bytes.Equal(g, w) {
				t.Errorf("%s: bytes differ", name)
			}
			external := want.NumBytes() >= InlineBytes
			if ro := external && want.DType() != tensor.Bool; got.ReadOnly() != ro {
				t.Errorf("%s: read-only %v, want %v", name, got.ReadOnly(), ro)
			}
		}
		m.Close()
	}
}

func TestFusedNodesRoundTrip(t *testing.T) {
	// Nodes of GoCANN's own domain are ordinary nodes to the container.
	src := &graph.Model{Opsets: map[string]int{"": 17, "com.gocann": 1}, Graph: &graph.Graph{
		Name:         "fused",
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{1, 16})}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{1, 16})}},
		Initializers: map[string]*tensor.Tensor{"w": f32(t, ramp(256, 1), 16, 16)},
		Nodes: []*graph.Node{{Name: "f", Domain: "com.gocann", OpType: "FusedMatMul", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
			Attrs: map[string]ops.Attr{"activation": {Type: ops.AttrString, String: "Relu"}, "alpha": {Type: ops.AttrFloat, Float: 0.5}}}},
	}}
	b, man := writeBytes(t, src, Build{OptLevel: 3})
	if man.OpCounts["com.gocann.FusedMatMul"] != 1 || man.Opsets["com.gocann"] != 1 {
		t.Errorf("manifest %v %v", man.OpCounts, man.Opsets)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	n := m.Graph.Graph.Nodes[0]
	if n.Domain != "com.gocann" || n.OpType != "FusedMatMul" || n.Attrs["activation"].String != "Relu" || n.Attrs["alpha"].Float != 0.5 || m.Graph.Opset("com.gocann") != 1 {
		t.Errorf("node %+v, opsets %v", n, m.Graph.Opsets)
	}
}

func TestExternalDataSource(t *testing.T) {
	// A model whose weights are ONNX external data converts like any
	// other: they end up in the weights section.
	dir := t.TempDir()
	src := branchModel(t)
	want := runGraph(t, src, true)
	var data []byte
	onnxPath := filepath.Join(dir, "m.onnx")
	err := onnx.WriteModelFile(onnxPath, src, onnx.WithExternalWriter(func(_ string, x *tensor.Tensor) (onnx.ExternalRef, bool, error) {
		b, _ := x.HostBytes()
		ref := onnx.ExternalRef{Location: "m.data", Offset: int64(len(data)), Length: int64(len(b))}
		data = append(data, b...)
		return ref, true, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "m.data"), data, 0o644)
	g, err := onnx.LoadModel(onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.cann")
	if _, err := WriteFile(path, g, Build{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "m.data")) // the compiled file stands alone
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := runGraph(t, m.Graph, true); !equalFloats(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestIsCompiled(t *testing.T) {
	b, _ := writeBytes(t, branchModel(t), Build{})
	onnxBytes, _ := onnx.EncodeModel(branchModel(t))
	if !IsCompiled(b) || IsCompiled(onnxBytes) || IsCompiled(nil) {
		t.Error("IsCompiled")
	}
	if _, err := Decode(onnxBytes); !errors.Is(err, ErrNotCompiled) {
		t.Errorf("ONNX bytes: %v", err)
	}
}

func TestDuplicateWeightsStoredOnce(t *testing.T) {
	// Equal bytes under two names (a folded Identity copies them) and a
	// view of one: one copy in the file, both names read it back.
	a := f32(t, ramp(64, 1), 8, 8)
	b := f32(t, ramp(64, 1), 8, 8)
	view, _ := a.Reshape(tensor.Shape{64})
	other := f32(t, ramp(64, 2), 8, 8)
	src := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Name:         "dups",
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{1})}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{1})}},
		Initializers: map[string]*tensor.Tensor{"a": a, "b": b, "view": view, "other": other},
		Nodes:        []*graph.Node{{OpType: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}}
	file, man := writeBytes(t, src, Build{})
	if man.Weights.Tensors != 2 || man.Weights.Bytes != 2*256 {
		t.Errorf("weights %+v", man.Weights)
	}
	m, err := Decode(file)
	if err != nil {
		t.Fatal(err)
	}
	inits := m.Graph.Graph.Initializers
	for _, name := range []string{"b", "view"} {
		got, _ := tensor.ToSlice[float32](inits[name])
		if len(got) != 64 || got[63] != 62 {
			t.Errorf("%s: %v", name, got)
		}
	}
	if got, _ := tensor.ToSlice[float32](inits["other"]); got[63] != 125 {
		t.Errorf("other: %v", got)
	}
}
