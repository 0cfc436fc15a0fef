package passes_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

// foldable is y = Identity(x + (a + a)).
func foldable(t testing.TB) *graph.Model {
	b := newBuilder()
	a := b.init("a", f32(t, []float32{1, 2}, 2))
	s := b.op("Add", "s", nil, b.input("x", 2), b.op("Add", "aa", nil, a, a))
	b.output(b.op("Identity", "y", nil, s))
	return b.model()
}

func TestOptimizeLevels(t *testing.T) {
	m := foldable(t)
	rep := optimize(t, m, 0)
	if len(m.Graph.Nodes) != 3 || len(rep.Entries) != 0 || rep.NodesBefore != 3 || rep.NodesAfter != 3 {
		t.Errorf("level 0 changed the graph: %v\n%s", opTypes(m.Graph), rep)
	}
	m = foldable(t)
	rep = optimize(t, m, 1)
	if got := opTypes(m.Graph); len(got) != 1 || got[0] != "Add" || rep.NodesAfter != 1 {
		t.Errorf("level 1: %v\n%s", got, rep)
	}
	for _, want := range []string{"optimization level 1: 3 nodes → 1", "constant-folding", "identity-elimination", "folded 1 node(s): Add×1"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}

func TestOptimizeCustomPasses(t *testing.T) {
	var ran []string
	pass := func(name string, level int) passes.Pass {
		return passes.Pass{Name: name, Level: level, Run: func(c *passes.Context) (bool, error) {
			ran = append(ran, name)
			return false, nil
		}}
	}
	extra := []passes.Pass{pass("two", 2), pass("one", 1), pass("four", 4)}
	if _, err := passes.Optimize(foldable(t), passes.Options{Level: 2, Ops: registry(t), Passes: extra}); err != nil {
		t.Fatal(err)
	}
	// Level 1 runs "one" until nothing changes (twice: the first round
	// folds); level 2 runs "one" and "two" once more.
	if got := strings.Join(ran, ","); got != "one,one,one,two" {
		t.Errorf("custom passes ran: %s", got)
	}

	boom := errors.New("boom")
	failing := passes.Pass{Name: "failing", Level: 1, Run: func(*passes.Context) (bool, error) { return false, boom }}
	if _, err := passes.Optimize(foldable(t), passes.Options{Level: 1, Passes: []passes.Pass{failing}}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "pass failing") {
		t.Errorf("failing pass: %v", err)
	}
}

// TestOptimizeBounded: a pass that always claims a change cannot make
// Optimize loop forever.
func TestOptimizeBounded(t *testing.T) {
	runs := 0
	restless := passes.Pass{Name: "restless", Level: 1, Run: func(*passes.Context) (bool, error) { runs++; return true, nil }}
	rep, err := passes.Optimize(foldable(t), passes.Options{Level: 1, Passes: []passes.Pass{restless}, MaxIterations: 5})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 5 || rep.Iterations != 5 {
		t.Errorf("%d runs, %d iterations", runs, rep.Iterations)
	}
}

func TestOptimizeBadOptions(t *testing.T) {
	for _, opts := range []passes.Options{
		{Level: -1},
		{Level: 1, Shapes: map[string][]int64{"nope": {2}}},
		{Level: 1, Shapes: map[string][]int64{"x": {3}}},
		{Level: 1, Shapes: map[string][]int64{"x": {2, 1}}},
		{Level: 1, Shapes: map[string][]int64{"x": {-2}}},
	} {
		if _, err := passes.Optimize(foldable(t), opts); !errors.Is(err, passes.ErrBadOptions) {
			t.Errorf("%+v: %v", opts, err)
		}
	}
	if _, err := passes.Optimize(nil, passes.Options{Level: 1}); !errors.Is(err, graph.ErrInvalidGraph) {
		t.Errorf("nil model: %v", err)
	}
}

// TestContextHelpers: fresh names clash with nothing (subgraphs included),
// UseDomain imports a domain once, Constant sees Constant nodes and values
// of enclosing graphs but not initializers a caller may override.
func TestContextHelpers(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 2)
	b.init("x", f32(t, []float32{0, 0}, 2)) // a default the caller may override
	k := b.op("Constant", "k", map[string]ops.Attr{"value": {Type: ops.AttrTensor, Tensor: i64(t, []int64{4, 5}, 2)}})
	body := &graph.Graph{Name: "body", Outputs: []*graph.ValueInfo{{Name: "v_1"}},
		Nodes: []*graph.Node{{OpType: "Identity", Inputs: []string{k}, Outputs: []string{"v_1"}}}}
	c := b.typedInput("c", tensor.Bool)
	b.g.Nodes = append(b.g.Nodes, &graph.Node{OpType: "If", Inputs: []string{c}, Outputs: []string{"y"},
		Graphs: map[string]*graph.Graph{"then_branch": body, "else_branch": body}})
	b.output("y", x)
	m := b.model()
	checks := 0
	probe := passes.Pass{Name: "probe", Level: 1, Run: func(ctx *passes.Context) (bool, error) {
		if ctx.Parent() == nil {
			if got := ctx.NewName("v"); got != "v" {
				t.Errorf("NewName(v) = %q", got)
			}
			if got := ctx.NewName("v"); got != "v_2" {
				t.Errorf("second NewName(v) = %q (v_1 is a value of a subgraph)", got)
			}
			if ctx.Constant("x") != nil {
				t.Error("an overridable initializer is constant")
			}
			if v := ctx.Constant("k"); v == nil || v.String() != i64(t, []int64{4, 5}, 2).String() {
				t.Errorf("Constant(k) = %v", v)
			}
			ctx.UseDomain("com.gocann", 1)
			ctx.UseDomain("com.gocann", 2)
			checks++
		} else if v := ctx.Constant("k"); v == nil {
			t.Error("a subgraph does not see the enclosing graph's constant")
		} else {
			checks++
		}
		return false, nil
	}}
	// No registry: nothing folds the Constant node away before the probe.
	if _, err := passes.Optimize(m, passes.Options{Level: 1, Passes: []passes.Pass{probe}, MaxIterations: 1}); err != nil {
		t.Fatal(err)
	}
	if checks != 3 || m.Opsets["com.gocann"] != 1 {
		t.Errorf("%d checks ran; opsets %v", checks, m.Opsets)
	}
}

// TestOptimizeLoopBody: passes run inside a Loop body without disturbing
// what the body reads from outside or carries between iterations.
func TestOptimizeLoopBody(t *testing.T) {
	runPassCases(t, []passCase{{name: "loop", build: func(t testing.TB, b *builder) {
		x := b.input("x", 2)
		a := b.init("a", f32(t, []float32{1, 2}, 2))
		trip := b.init("trip", tensor.Scalar(int64(3)))
		body := &graph.Graph{Name: "body",
			Inputs: []*graph.ValueInfo{
				{Name: "i", Type: ops.TensorType(tensor.Int64, tensor.Shape{})},
				{Name: "cond", Type: ops.TensorType(tensor.Bool, tensor.Shape{})},
				{Name: "acc", Type: ops.TensorType(tensor.Float32, tensor.Shape{2})},
			},
			Outputs: []*graph.ValueInfo{
				{Name: "cond_out", Type: ops.TensorType(tensor.Bool, tensor.Shape{})},
				{Name: "acc_out", Type: ops.TensorType(tensor.Float32, tensor.Shape{2})},
			},
			Initializers: map[string]*tensor.Tensor{},
			Nodes: []*graph.Node{
				{OpType: "Identity", Inputs: []string{"cond"}, Outputs: []string{"cond_out"}},
				{OpType: "Add", Inputs: []string{a, a}, Outputs: []string{"a2"}},         // folds
				{OpType: "Mul", Inputs: []string{"acc", "a2"}, Outputs: []string{"m"}},   // carried: stays
				{OpType: "Identity", Inputs: []string{"m"}, Outputs: []string{"m2"}},     // goes
				{OpType: "Add", Inputs: []string{"m2", x}, Outputs: []string{"acc_out"}}, // reads outer x
				{OpType: "Neg", Inputs: []string{"m"}, Outputs: []string{"dead"}},        // dead
			}}
		b.g.Nodes = append(b.g.Nodes, &graph.Node{OpType: "Loop", Inputs: []string{trip, "", x}, Outputs: []string{"y"},
			Graphs: map[string]*graph.Graph{"body": body}})
		b.output("y")
	}, wantOps: []string{"Loop"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
		body := m.Graph.Nodes[0].Graphs["body"]
		if got := opTypes(body); strings.Join(got, ",") != "Identity,Mul,Add" {
			t.Errorf("body: %v", got)
		}
	}}})
}
