package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

func stdOps(t testing.TB) *ops.Registry {
	t.Helper()
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// referenceRun runs a graph node by node through the eager operator API,
// every value in fresh memory: what the plans must agree with.
func referenceRun(t testing.TB, reg *ops.Registry, m *graph.Model, inputs map[string]ops.Value) []ops.Value {
	t.Helper()
	vals := map[string]ops.Value{}
	for k, v := range m.Graph.Initializers {
		vals[k] = v
	}
	for k, v := range inputs {
		vals[k] = v
	}
	b, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.Device().NewStream()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Graph.Nodes {
		in := make([]ops.Value, len(n.Inputs))
		types := make([]ops.Type, len(n.Inputs))
		for i, name := range n.Inputs {
			if name != "" {
				in[i] = vals[name]
				types[i], _ = ops.TypeOfValue(in[i])
			}
		}
		ex, err := reg.Prepare(&ops.Node{Name: n.Name, Domain: n.Domain, OpType: n.OpType, Opset: m.Opset(n.Domain),
			Attrs: ops.NewAttrs(n.Attrs), Inputs: types, NumOutputs: len(n.Outputs)})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := ex.Run(context.Background(), s, nil, in...)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Synchronize(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i, name := range n.Outputs {
			vals[name] = outs[i]
		}
	}
	out := make([]ops.Value, len(m.Graph.Outputs))
	for i, o := range m.Graph.Outputs {
		out[i] = vals[o.Name]
	}
	return out
}

func sameFloats(t testing.TB, what string, got, want ops.Value) {
	t.Helper()
	g, err1 := tensor.ToSlice[float32](got.(*tensor.Tensor))
	w, err2 := tensor.ToSlice[float32](want.(*tensor.Tensor))
	if err1 != nil || err2 != nil || len(g) != len(w) {
		t.Fatalf("%s: got %v, want %v (%v, %v)", what, got, want, err1, err2)
	}
	for i := range g {
		if math.Abs(float64(g[i]-w[i])) > 1e-6+1e-5*math.Abs(float64(w[i])) {
			t.Fatalf("%s: element %d: got %v, want %v", what, i, g[i], w[i])
		}
	}
}

func randomTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	t, _ := tensor.FromSlice(v, shape...)
	return t
}

// node is shorthand for graph nodes in tests.
func node(name, op string, in []string, out ...string) *graph.Node {
	return &graph.Node{Name: name, OpType: op, Inputs: in, Outputs: out}
}

func model(inputs []*graph.ValueInfo, outputs []string, inits map[string]*tensor.Tensor, nodes ...*graph.Node) *graph.Model {
	g := &graph.Graph{Inputs: inputs, Initializers: inits, Nodes: nodes}
	for _, o := range outputs {
		g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: o})
	}
	if g.Initializers == nil {
		g.Initializers = map[string]*tensor.Tensor{}
	}
	return &graph.Model{Graph: g, Opsets: map[string]int{"": 17}}
}

func f32(name string, shape ...int) *graph.ValueInfo {
	return &graph.ValueInfo{Name: name, Type: ops.TensorType(tensor.Float32, tensor.Shape(shape))}
}

// planOf compiles m and plans it for inputs, checking the layout.
func planOf(t *testing.T, m *graph.Model, inputs map[string]ops.Value) (*Executable, *execPlan) {
	t.Helper()
	exe, err := Compile(m, Options{Ops: stdOps(t)})
	if err != nil {
		t.Fatal(err)
	}
	args, err := exe.bindInputs(inputs)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := exe.planFor(args)
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.checkArena(); err != nil {
		t.Fatal(err)
	}
	return exe, pl
}

// checkRuns runs exe several times on fresh random inputs and compares
// every output with the reference, including outputs of earlier runs
// (which must not change when the arena is reused).
func checkRuns(t *testing.T, exe *Executable, m *graph.Model, shapes map[string][]int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	type kept struct{ got, want ops.Value }
	var all []kept
	for run := 0; run < 3; run++ {
		in := map[string]ops.Value{}
		for name, s := range shapes {
			in[name] = randomTensor(r, s...)
		}
		got, err := exe.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		want := referenceRun(t, exe.opts.Ops, m, in)
		for i := range got {
			all = append(all, kept{got[i], want[i]})
		}
		for i, k := range all {
			sameFloats(t, fmt.Sprintf("run %d, output %d", run, i), k.got, k.want)
		}
	}
}

func TestAssignOffsets(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(60)
		rs := make([]region, n)
		var naive int64
		for i := range rs {
			start := r.IntN(50)
			rs[i] = region{size: alignUp(int64(1 + r.IntN(5000))), start: start, end: start + r.IntN(10)}
			naive += rs[i].size
		}
		total := assignOffsets(rs)
		// Lower bound: the most bytes live at one launch.
		var peak int64
		for at := 0; at < 60; at++ {
			var live int64
			for _, x := range rs {
				if x.start <= at && at <= x.end {
					live += x.size
				}
			}
			peak = max(peak, live)
		}
		if total < peak || total > naive {
			t.Fatalf("trial %d: arena %d, live peak %d, naive %d", trial, total, peak, naive)
		}
		for i, a := range rs {
			if a.off%arenaAlign != 0 || a.off+a.size > total {
				t.Fatalf("trial %d: region %d at %d+%d in %d", trial, i, a.off, a.size, total)
			}
			for j, b := range rs[:i] {
				if a.overlapsInTime(b) && a.off < b.off+b.size && b.off < a.off+a.size {
					t.Fatalf("trial %d: regions %d and %d overlap", trial, i, j)
				}
			}
		}
	}
}

// The checker finds a layout where two live values share memory.
func TestCheckArenaCatchesOverlap(t *testing.T) {
	m := model([]*graph.ValueInfo{f32("x", 4, 8)}, []string{"z"}, nil,
		node("a", "Relu", []string{"x"}, "a"),
		node("b", "Sigmoid", []string{"x"}, "b"),
		node("c", "Add", []string{"a", "b"}, "z"))
	x := randomTensor(rand.New(rand.NewPCG(1, 1)), 4, 8)
	_, pl := planOf(t, m, map[string]ops.Value{"x": x})
	if len(pl.views) != 2 || pl.views[0].off == pl.views[1].off {
		t.Fatalf("want a and b apart in the arena, got %+v", pl.views)
	}
	pl.views[1].off = pl.views[0].off
	if err := pl.checkArena(); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("checkArena = %v, want an overlap", err)
	}
}

// Elementwise nodes write over inputs that die there, and only those.
func TestInPlace(t *testing.T) {
	inits := map[string]*tensor.Tensor{"c": randomTensor(rand.New(rand.NewPCG(5, 5)), 8)}
	for _, c := range []struct {
		name    string
		m       *graph.Model
		inPlace int
	}{
		{"chain", model([]*graph.ValueInfo{f32("x", 4, 8)}, []string{"y"}, inits,
			node("r", "Relu", []string{"x"}, "a"), // x is the caller's: not in place
			node("s", "Sigmoid", []string{"a"}, "b"),
			node("m", "Mul", []string{"b", "c"}, "d"),  // broadcasts c: in place over b
			node("t", "Tanh", []string{"d"}, "y")), 2}, // y is an output: heap
		{"still needed", model([]*graph.ValueInfo{f32("x", 4, 8)}, []string{"y"}, inits,
			node("r", "Relu", []string{"x"}, "a"),
			node("s", "Sigmoid", []string{"a"}, "b"),  // a is read again by Add
			node("e", "Exp", []string{"b"}, "e"),      // in place over b
			node("d", "Add", []string{"a", "e"}, "f"), // in place over a or e
			node("n", "Neg", []string{"f"}, "y")), 2},
		{"same input twice", model([]*graph.ValueInfo{f32("x", 4, 8)}, []string{"y"}, inits,
			node("r", "Relu", []string{"x"}, "a"),
			node("d", "Add", []string{"a", "a"}, "b"), // in place over a, read twice
			node("n", "Neg", []string{"b"}, "y")), 1},
		{"broadcast input", model([]*graph.ValueInfo{f32("x", 4, 8), f32("v", 8)}, []string{"y"}, inits,
			node("r", "Relu", []string{"v"}, "a"),
			node("d", "Sub", []string{"x", "a"}, "b"), // a is broadcast: not in place
			node("n", "Neg", []string{"b"}, "y")), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, 9))
			in := map[string]ops.Value{"x": randomTensor(r, 4, 8), "v": randomTensor(r, 8)}
			for k := range in {
				if !hasInput(c.m, k) {
					delete(in, k)
				}
			}
			exe, pl := planOf(t, c.m, in)
			if pl.stats.InPlace != c.inPlace {
				t.Errorf("%d outputs in place, want %d (%+v)", pl.stats.InPlace, c.inPlace, pl.stats)
			}
			shapes := map[string][]int{}
			for k, v := range in {
				shapes[k] = v.(*tensor.Tensor).Shape()
			}
			checkRuns(t, exe, c.m, shapes)
		})
	}
}

func hasInput(m *graph.Model, name string) bool {
	for _, in := range m.Graph.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// Reshapes share their input's memory; a reshape that is a graph output
// is a copy, so outputs never alias the arena or the caller's inputs.
func TestViews(t *testing.T) {
	shape, _ := tensor.FromSlice([]int64{8, 4}, 2)
	inits := map[string]*tensor.Tensor{"shape": shape}
	m := model([]*graph.ValueInfo{f32("x", 4, 8)}, []string{"y", "z", "w"}, inits,
		node("r", "Relu", []string{"x"}, "a"),
		node("v", "Reshape", []string{"a", "shape"}, "b"), // view of an arena value
		node("s", "Sigmoid", []string{"b"}, "c"),
		node("f", "Flatten", []string{"c"}, "y"),          // output: a copy
		node("u", "Reshape", []string{"x", "shape"}, "z"), // output from an input: a copy
		node("q", "Reshape", []string{"x", "shape"}, "d"), // view of the caller's input
		node("n", "Neg", []string{"d"}, "w"))
	x := randomTensor(rand.New(rand.NewPCG(2, 2)), 4, 8)
	exe, pl := planOf(t, m, map[string]ops.Value{"x": x})
	if pl.stats.Views != 2 {
		t.Errorf("%d views, want 2 (%+v)", pl.stats.Views, pl.stats)
	}
	checkRuns(t, exe, m, map[string][]int{"x": {4, 8}})
	outs, err := exe.Run(context.Background(), map[string]ops.Value{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o := o.(*tensor.Tensor); inArena(o) || o.SameStorage(x) {
			t.Errorf("output %d shares memory with the arena or the input", i)
		}
	}
}

// A node whose value input comes from the caller (not fixed by the
// signature) is prepared on every run, and so is what depends on it.
func TestDynamicFallback(t *testing.T) {
	m := model([]*graph.ValueInfo{f32("x", 4, 6), {Name: "shape", Type: ops.TensorType(tensor.Int64, tensor.Shape{2})}},
		[]string{"y"}, nil,
		node("r", "Relu", []string{"x"}, "a"),
		node("v", "Reshape", []string{"a", "shape"}, "b"),
		node("s", "Sigmoid", []string{"b"}, "c"),
		node("n", "Neg", []string{"c"}, "y"))
	exe, err := Compile(m, Options{Ops: stdOps(t)})
	if err != nil {
		t.Fatal(err)
	}
	x := randomTensor(rand.New(rand.NewPCG(4, 4)), 4, 6)
	for _, dims := range [][]int64{{6, 4}, {2, 12}, {24, 1}, {6, 4}} {
		shape, _ := tensor.FromSlice(dims, 2)
		in := map[string]ops.Value{"x": x, "shape": shape}
		got, err := exe.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if s := got[0].(*tensor.Tensor).Shape(); s[0] != int(dims[0]) || s[1] != int(dims[1]) {
			t.Fatalf("shape %v, want %v", s, dims)
		}
		sameFloats(t, fmt.Sprint(dims), got[0], referenceRun(t, exe.opts.Ops, m, in)[0])
	}
	st := exe.MemoryPlans()
	if len(st) != 1 || st[0].Dynamic != 3 || st[0].Kernels != 1 {
		t.Errorf("plans %+v, want one with Relu planned and 3 dynamic nodes", st)
	}
}

// Shape arithmetic on a dynamic dimension is folded per signature.
func TestFoldShapeArithmetic(t *testing.T) {
	zero, _ := tensor.FromSlice([]int64{0}, 1)
	minus, _ := tensor.FromSlice([]int64{-1}, 1)
	m := model([]*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 6})}}, []string{"y"},
		map[string]*tensor.Tensor{"zero": zero, "minus": minus},
		node("sh", "Shape", []string{"x"}, "s"),
		node("g", "Gather", []string{"s", "zero"}, "n"),
		&graph.Node{Name: "c", OpType: "Concat", Inputs: []string{"n", "minus"}, Outputs: []string{"shape"},
			Attrs: map[string]ops.Attr{"axis": {Type: ops.AttrInt, Int: 0}}},
		node("r", "Relu", []string{"x"}, "a"),
		node("v", "Reshape", []string{"a", "shape"}, "y"))
	exe, err := Compile(m, Options{Ops: stdOps(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(6, 6))
	for _, rows := range []int{1, 3, 5, 3} {
		x := randomTensor(r, rows, 6)
		in := map[string]ops.Value{"x": x}
		got, err := exe.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		sameFloats(t, fmt.Sprint(rows), got[0], referenceRun(t, exe.opts.Ops, m, in)[0])
	}
	plans := exe.MemoryPlans()
	if len(plans) != 3 {
		t.Fatalf("%d plans, want one per batch size", len(plans))
	}
	for _, st := range plans {
		if st.Folded != 3 || st.Dynamic != 0 || st.Kernels != 2 {
			t.Errorf("plan %+v: want Shape, Gather, Concat folded, 2 kernels", st)
		}
	}
}

// Many goroutines share one plan (and its pool of arenas) under -race.
func TestConcurrentPlanRuns(t *testing.T) {
	m := elementwiseGraph(20, 48)
	w := cpu.NewWorkers(2)
	defer w.Close()
	exe, err := Compile(m, Options{Ops: stdOps(t), Workers: w})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	const G = 8
	inputs := make([]*tensor.Tensor, G)
	wants := make([]ops.Value, G)
	for g := range inputs {
		inputs[g] = randomTensor(r, 1, 48)
		wants[g] = referenceRun(t, exe.opts.Ops, m, map[string]ops.Value{"x": inputs[g]})[0]
	}
	var wg sync.WaitGroup
	errs := make(chan error, G)
	prof := NewProfiler()
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx := context.Background()
			if g%2 == 0 {
				ctx = WithProfiler(ctx, prof)
			}
			for it := 0; it < 20; it++ {
				outs, err := exe.Run(ctx, map[string]ops.Value{"x": inputs[g]})
				if err != nil {
					errs <- err
					return
				}
				got, _ := tensor.View[float32](outs[0].(*tensor.Tensor))
				want, _ := tensor.View[float32](wants[g].(*tensor.Tensor))
				for i := range got {
					if math.Abs(float64(got[i]-want[i])) > 1e-5 {
						errs <- fmt.Errorf("goroutine %d run %d: element %d = %v, want %v", g, it, i, got[i], want[i])
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, want := len(prof.Events()), G/2*20*(20+1); n != want {
		t.Errorf("%d profile events, want %d", n, want)
	}
}
