package passes_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

// builder makes small graphs for the pass tests.
type builder struct {
	g *graph.Graph
	n int
}

func newBuilder() *builder {
	return &builder{g: &graph.Graph{Name: "test", Initializers: map[string]*tensor.Tensor{}, ValueInfo: map[string]*graph.ValueInfo{}}}
}

// input declares a float32 graph input; -1 dims are symbolic.
func (b *builder) input(name string, dims ...int) string {
	return b.typedInput(name, tensor.Float32, dims...)
}

func (b *builder) typedInput(name string, dt tensor.DType, dims ...int) string {
	b.g.Inputs = append(b.g.Inputs, &graph.ValueInfo{Name: name, Type: ops.TensorType(dt, tensor.Shape(dims))})
	return name
}

func (b *builder) init(name string, t *tensor.Tensor) string {
	b.g.Initializers[name] = t
	return name
}

// op adds a node with one output named out and returns out.
func (b *builder) op(opType, out string, attrs map[string]ops.Attr, inputs ...string) string {
	b.n++
	b.g.Nodes = append(b.g.Nodes, &graph.Node{Name: opType + "_" + out, OpType: opType, Inputs: inputs, Outputs: []string{out}, Attrs: attrs})
	return out
}

func (b *builder) output(names ...string) {
	for _, n := range names {
		b.g.Outputs = append(b.g.Outputs, &graph.ValueInfo{Name: n, Type: ops.Type{Kind: ops.KindTensor, UnknownRank: true}})
	}
}

func (b *builder) model() *graph.Model {
	return &graph.Model{Graph: b.g, Opsets: map[string]int{"": 18}, IRVersion: 8}
}

func ints(v ...int64) ops.Attr { return ops.Attr{Type: ops.AttrInts, Ints: v} }
func attrInt(v int64) ops.Attr { return ops.Attr{Type: ops.AttrInt, Int: v} }
func attrF(v float32) ops.Attr { return ops.Attr{Type: ops.AttrFloat, Float: v} }
func attrs(kv ...any) map[string]ops.Attr {
	m := map[string]ops.Attr{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(ops.Attr)
	}
	return m
}

func f32(t testing.TB, data []float32, dims ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(data, dims...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func i64(t testing.TB, data []int64, dims ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(data, dims...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func randF32(t testing.TB, r *rand.Rand, dims ...int) *tensor.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	return f32(t, data, dims...)
}

func registry(t testing.TB) *ops.Registry {
	t.Helper()
	r, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func optimize(t testing.TB, m *graph.Model, level int) *passes.Report {
	t.Helper()
	rep, err := passes.Optimize(m, passes.Options{Level: level, Ops: registry(t)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// runModel runs m on feeds through the engine.
func runModel(t testing.TB, m *graph.Model, feeds map[string]*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	exe, err := engine.Compile(m, engine.Options{Ops: registry(t)})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]ops.Value{}
	for k, v := range feeds {
		in[k] = v
	}
	outs, err := exe.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]*tensor.Tensor, len(outs))
	for i, v := range outs {
		ts[i] = v.(*tensor.Tensor)
	}
	return ts
}

// checkSame compares the outputs of two runs: same types and shapes, and
// float values within 1e-5 + 1e-4·|want| (folding reorders some float sums).
func checkSame(t testing.TB, got, want []*tensor.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.DType() != w.DType() || !g.Shape().Equal(w.Shape()) {
			t.Fatalf("output %d: %s%v, want %s%v", i, g.DType(), g.Shape(), w.DType(), w.Shape())
		}
		if w.DType() == tensor.Float32 {
			gv, _ := tensor.ToSlice[float32](g)
			wv, _ := tensor.ToSlice[float32](w)
			for j := range wv {
				d := float64(gv[j] - wv[j])
				if d < 0 {
					d = -d
				}
				tol := 1e-5 + 1e-4*abs(float64(wv[j]))
				if d > tol {
					t.Fatalf("output %d element %d: %g, want %g", i, j, gv[j], wv[j])
				}
			}
			continue
		}
		gb, _ := g.HostBytes()
		wb, _ := w.HostBytes()
		if string(gb) != string(wb) {
			t.Fatalf("output %d: %v, want %v", i, g, w)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// opTypes lists the op types of a graph's nodes, in order.
func opTypes(g *graph.Graph) []string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.OpType)
	}
	return s
}
