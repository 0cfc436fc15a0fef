package passes_test

import (
	"strings"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

func TestConstantFolding(t *testing.T) {
	runPassCases(t, []passCase{
		{name: "arithmetic on initializers", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3)
			a := b.init("a", f32(t, []float32{1, 2, 3}, 3))
			c := b.op("Mul", "c", nil, a, b.init("two", f32(t, []float32{2}, 1)))
			b.output(b.op("Add", "y", nil, x, b.op("Exp", "e", nil, c)))
		}, wantOps: []string{"Add"}, check: func(t *testing.T, m *graph.Model, rep *passes.Report) {
			if !strings.Contains(rep.String(), "folded 2 node(s): Exp×1, Mul×1") {
				t.Errorf("report:\n%s", rep)
			}
		}},
		{name: "Constant nodes become initializers", build: func(t testing.TB, b *builder) {
			k := b.op("Constant", "k", map[string]ops.Attr{"value_floats": {Type: ops.AttrFloats, Floats: []float32{1, 2}}})
			b.output(b.op("Sub", "y", nil, b.input("x", 2), k))
		}, wantOps: []string{"Sub"}},
		{name: "shape arithmetic of a static input", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3, 4)
			s := b.op("Shape", "s", nil, x)
			d0 := b.op("Gather", "d0", attrs("axis", attrInt(0)), s, b.init("i0", i64(t, []int64{0}, 1)))
			d12 := b.op("Slice", "d12", nil, s, b.init("st", i64(t, []int64{1}, 1)), b.init("en", i64(t, []int64{3}, 1)))
			p := b.op("ReduceProd", "p", attrs("keepdims", attrInt(1)), d12)
			shape := b.op("Concat", "shape", attrs("axis", attrInt(0)), d0, p)
			b.output(b.op("Reshape", "y", nil, x, shape))
		}, wantOps: []string{"Reshape"}},
		{name: "Shape of a symbolic input folds only the known dims", build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 4, 5)
			s := b.op("Shape", "s", nil, x)
			last := b.op("Gather", "last", attrs("axis", attrInt(0)), s, b.init("i2", i64(t, []int64{2}, 1)))
			first := b.op("Gather", "first", attrs("axis", attrInt(0)), s, b.init("i0", i64(t, []int64{0}, 1)))
			shape := b.op("Concat", "shape", attrs("axis", attrInt(0)), first, b.init("m1", i64(t, []int64{-1}, 1)), last)
			b.output(b.op("Reshape", "y", nil, x, shape))
		}, wantOps: []string{"Shape", "Gather", "Concat", "Reshape"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			concat := m.Graph.Nodes[2]
			if v := m.Graph.Initializers[concat.Inputs[2]]; v == nil || v.String() != tensorOf(t, []int64{5}, 1).String() {
				t.Errorf("Gather of the known dim not folded: Concat reads %v", concat.Inputs)
			}
		}},
		{name: "Shape with fixed input shapes", shapes: map[string][]int64{"x": {2, 6}}, build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 6)
			s := b.op("Shape", "s", nil, x)
			n := b.op("Size", "n", nil, x)
			cols := b.op("Gather", "cols", attrs("axis", attrInt(0)), s, b.init("one", tensor.Scalar(int64(1))))
			rows := b.op("Unsqueeze", "rows", nil, b.op("Div", "r", nil, n, cols), b.init("ax", i64(t, []int64{0}, 1)))
			shape := b.op("Concat", "shape", attrs("axis", attrInt(0)), rows, b.op("Unsqueeze", "c", nil, cols, "ax"))
			b.output(b.op("Reshape", "y", nil, x, shape))
		}, wantOps: []string{"Reshape"}},
		{name: "random operators are not folded", build: func(t testing.TB, b *builder) {
			r := b.op("RandomUniform", "r", attrs("shape", ints(2), "seed", attrF(1)))
			b.output(b.op("Mul", "y", nil, b.input("x", 2), b.op("Sub", "z", nil, r, r)))
		}, wantOps: []string{"RandomUniform", "Sub", "Mul"}},
		{name: "a value read by a subgraph folds under its name", build: func(t testing.TB, b *builder) {
			v := b.op("Add", "v", nil, b.init("a", f32(t, []float32{1, 2}, 2)), b.init("c", f32(t, []float32{3, 4}, 2)))
			x := b.input("x", 2)
			cond := b.op("ReduceSum", "s", attrs("keepdims", attrInt(0)), x)
			gt := b.op("Greater", "gt", nil, cond, b.init("zero", f32(t, []float32{0}, 1)))
			then := &graph.Graph{Name: "then", Outputs: []*graph.ValueInfo{{Name: "t", Type: ops.TensorType(tensor.Float32, tensor.Shape{2})}},
				Nodes: []*graph.Node{{OpType: "Mul", Inputs: []string{v, x}, Outputs: []string{"t"}}}}
			els := &graph.Graph{Name: "else", Outputs: []*graph.ValueInfo{{Name: "e", Type: ops.TensorType(tensor.Float32, tensor.Shape{2})}},
				Nodes: []*graph.Node{{OpType: "Sub", Inputs: []string{x, v}, Outputs: []string{"e"}}}}
			b.g.Nodes = append(b.g.Nodes, &graph.Node{OpType: "If", Inputs: []string{b.op("Squeeze", "c0", nil, gt)}, Outputs: []string{"y"},
				Graphs: map[string]*graph.Graph{"then_branch": then, "else_branch": els}})
			b.output("y")
		}, wantOps: []string{"ReduceSum", "Greater", "Squeeze", "If"}},
	})
}

// TestConstantFoldingLimit: results over MaxFoldBytes stay computed.
func TestConstantFoldingLimit(t *testing.T) {
	b := newBuilder()
	big := b.op("ConstantOfShape", "big", nil, b.init("dims", i64(t, []int64{1024, 1024}, 2)))
	b.output(b.op("Add", "y", nil, b.input("x", 1024, 1024), big))
	m := b.model()
	if _, err := passes.Optimize(m, passes.Options{Level: 1, Ops: registry(t), MaxFoldBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if got := opTypes(m.Graph); len(got) != 2 {
		t.Errorf("4 MiB folded under a 1 MiB cap: %v", got)
	}
	m = b.model()
	if _, err := passes.Optimize(m, passes.Options{Level: 1, Ops: registry(t)}); err != nil {
		t.Fatal(err)
	}
	if got := opTypes(m.Graph); len(got) != 1 {
		t.Errorf("4 MiB not folded under the default cap: %v", got)
	}
}

func tensorOf(t testing.TB, v []int64, dims ...int) *tensor.Tensor { return i64(t, v, dims...) }
