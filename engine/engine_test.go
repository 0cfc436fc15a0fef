package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// testOps is a registry of tiny operators in a test domain, so the engine
// is tested apart from the standard operator set.
func testOps(t *testing.T, hook func()) *ops.Registry {
	t.Helper()
	r := ops.NewRegistry()
	unary := func(name string, f func(float32) float32) *ops.Op {
		return &ops.Op{Domain: "test", Name: name, Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
			Prepare: func(n *ops.Node) (*ops.Plan, error) {
				in := n.Inputs[0]
				if in.DType != tensor.Float32 {
					return nil, n.Errorf("want float32, got %s", in.DType)
				}
				return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Float32, in.Shape)}, Kernel: func(env *ops.Env, in, out []*tensor.Tensor) error {
					if hook != nil {
						hook()
					}
					x, _ := tensor.View[float32](in[0])
					y, _ := tensor.View[float32](out[0])
					env.ParallelFor(len(x), 64, func(lo, hi int) {
						for i := lo; i < hi; i++ {
							y[i] = f(x[i])
						}
					})
					return nil
				}}, nil
			}}
	}
	panicky := &ops.Op{Domain: "test", Name: "Panic", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
		Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return &ops.Plan{Outputs: []ops.Type{n.Inputs[0]}, Kernel: func(*ops.Env, []*tensor.Tensor, []*tensor.Tensor) error {
				var m map[string]int
				m["boom"]++ // a nil-map write: a bug in a kernel must not crash the process
				return nil
			}}, nil
		}}
	// Call runs its "body" subgraph on its input and returns the body's output.
	call := &ops.Op{Domain: "test", Name: "Call", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
		Prepare: func(n *ops.Node) (*ops.Plan, error) {
			body := n.Attrs.Graph("body")
			if err := n.Attrs.Err(); err != nil || body == nil {
				return nil, n.Errorf("needs a body")
			}
			return &ops.Plan{Outputs: []ops.Type{n.Inputs[0]}, Eval: func(ctx context.Context, env *ops.Env, in []ops.Value) ([]ops.Value, error) {
				return body.Run(ctx, in)
			}}, nil
		}}
	// Pooled variants promise to overwrite their outputs (recycled memory);
	// Alias returns its input's storage as its output.
	pooled := func(name string, f func(float32) float32) *ops.Op {
		op := unary(name, f)
		prep := op.Prepare
		op.Prepare = func(n *ops.Node) (*ops.Plan, error) {
			p, err := prep(n)
			if p != nil {
				p.Overwrites = true
			}
			return p, err
		}
		return op
	}
	alias := &ops.Op{Domain: "test", Name: "Alias", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
		Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return &ops.Plan{Outputs: []ops.Type{n.Inputs[0]}, Kernel: func(_ *ops.Env, in, out []*tensor.Tensor) error {
				r, err := in[0].Reshape(in[0].Shape())
				out[0] = r
				return err
			}}, nil
		}}
	for _, op := range []*ops.Op{
		unary("Double", func(x float32) float32 { return 2 * x }),
		unary("Inc", func(x float32) float32 { return x + 1 }),
		pooled("PDouble", func(x float32) float32 { return 2 * x }),
		pooled("PInc", func(x float32) float32 { return x + 1 }),
		alias, panicky, call,
		{Domain: "test", Name: "PRev", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
			Prepare: func(n *ops.Node) (*ops.Plan, error) {
				return &ops.Plan{Outputs: []ops.Type{n.Inputs[0]}, Overwrites: true, Kernel: func(_ *ops.Env, in, out []*tensor.Tensor) error {
					x, _ := tensor.View[float32](in[0])
					y, _ := tensor.View[float32](out[0])
					for i := range y {
						y[i] = x[len(x)-1-i]
					}
					return nil
				}}, nil
			}},
	} {
		if err := r.Register(op); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func chain(ops_ ...string) *graph.Model {
	g := &graph.Graph{
		Inputs:  []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Outputs: []*graph.ValueInfo{{Name: fmt.Sprintf("v%d", len(ops_)), Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
	}
	prev := "x"
	for i, op := range ops_ {
		out := fmt.Sprintf("v%d", i+1)
		g.Nodes = append(g.Nodes, &graph.Node{Name: fmt.Sprintf("n%d", i), Domain: "test", OpType: op, Inputs: []string{prev}, Outputs: []string{out}})
		prev = out
	}
	return &graph.Model{Graph: g, Opsets: map[string]int{"test": 1, "": 13}}
}

func input(t *testing.T, vals ...float32) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(vals, len(vals)/3, 3)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestRunChain(t *testing.T) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	exe, err := Compile(chain("Double", "Inc", "Double"), Options{Ops: testOps(t, nil), Workers: w})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exe.Run(context.Background(), map[string]ops.Value{"x": input(t, 0, 1, 2, 3, 4, 5)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tensor.ToSlice[float32](outs[0].(*tensor.Tensor))
	want := []float32{2, 6, 10, 14, 18, 22}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// One compiled model serves many goroutines at once, with inputs of
// different batch sizes (and so different cached plans).
func TestConcurrentRuns(t *testing.T) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	exe, err := Compile(chain("Double", "Inc"), Options{Ops: testOps(t, nil), Workers: w})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rows := 1 + g%5
			vals := make([]float32, rows*3)
			for i := range vals {
				vals[i] = float32(g*100 + i)
			}
			for it := 0; it < 20; it++ {
				outs, err := exe.Run(context.Background(), map[string]ops.Value{"x": input(t, vals...)})
				if err != nil {
					errs <- err
					return
				}
				got, _ := tensor.View[float32](outs[0].(*tensor.Tensor))
				for i, v := range vals {
					if got[i] != 2*v+1 {
						errs <- fmt.Errorf("goroutine %d: out[%d] = %v, want %v", g, i, got[i], 2*v+1)
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
}

func TestCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exe, err := Compile(chain("Double", "Inc", "Double", "Inc"), Options{Ops: testOps(t, cancel)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exe.Run(ctx, map[string]ops.Value{"x": input(t, 1, 2, 3)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestBadInputs(t *testing.T) {
	exe, err := Compile(chain("Double"), Options{Ops: testOps(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	i64, _ := tensor.FromSlice([]int64{1, 2, 3}, 1, 3)
	tests := []struct {
		name   string
		inputs map[string]ops.Value
		want   string
	}{
		{"missing", map[string]ops.Value{}, `input "x" missing`},
		{"unknown", map[string]ops.Value{"x": input(t, 1, 2, 3), "y": input(t, 1, 2, 3)}, `"y": the model has no such input`},
		{"dtype", map[string]ops.Value{"x": i64}, "got int64, want float32"},
		{"rank", map[string]ops.Value{"x": tensor.Scalar[float32](1)}, "want rank 2"},
		{"fixed dim", map[string]ops.Value{"x": mustTensor(t, []float32{1, 2}, 1, 2)}, "got shape [1 2]"},
		{"kind", map[string]ops.Value{"x": &ops.Sequence{DType: tensor.Float32}}, "got a sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := exe.Run(context.Background(), tt.inputs)
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadInput containing %q", err, tt.want)
			}
		})
	}
}

func mustTensor(t *testing.T, v []float32, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(v, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestCompileErrors(t *testing.T) {
	unknown := chain("Nope")
	if _, err := Compile(unknown, Options{Ops: testOps(t, nil)}); !errors.Is(err, ops.ErrUnknownOp) {
		t.Errorf("unknown operator: err = %v", err)
	}
	noDomain := chain("Double")
	delete(noDomain.Opsets, "test")
	if _, err := Compile(noDomain, Options{Ops: testOps(t, nil)}); err == nil || !strings.Contains(err.Error(), "not imported") {
		t.Errorf("unimported domain: err = %v", err)
	}
	if _, err := Compile(chain("Double"), Options{}); err == nil {
		t.Error("no registry: no error")
	}
}

func TestKernelPanicIsAnError(t *testing.T) {
	exe, err := Compile(chain("Double", "Panic"), Options{Ops: testOps(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exe.Run(context.Background(), map[string]ops.Value{"x": input(t, 1, 2, 3)})
	if err == nil || !strings.Contains(err.Error(), "internal error") || !strings.Contains(err.Error(), `"n1"`) {
		t.Errorf("err = %v, want an internal error naming node n1", err)
	}
}

// A subgraph reads a value of the enclosing graph by name.
func TestSubgraphReadsOuterScope(t *testing.T) {
	body := &graph.Graph{
		Name:    "body",
		Inputs:  []*graph.ValueInfo{{Name: "b_in", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Outputs: []*graph.ValueInfo{{Name: "b_out"}},
		Nodes: []*graph.Node{
			// Reads "doubled" from the outer graph, ignoring its own input.
			{Name: "inner", Domain: "test", OpType: "Inc", Inputs: []string{"doubled"}, Outputs: []string{"b_out"}},
		},
	}
	g := &graph.Graph{
		Inputs:  []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Outputs: []*graph.ValueInfo{{Name: "y"}},
		Nodes: []*graph.Node{
			{Name: "call", Domain: "test", OpType: "Call", Inputs: []string{"x"}, Outputs: []string{"y"}, Graphs: map[string]*graph.Graph{"body": body}},
			{Name: "dbl", Domain: "test", OpType: "Double", Inputs: []string{"x"}, Outputs: []string{"doubled"}},
		},
	}
	exe, err := Compile(&graph.Model{Graph: g, Opsets: map[string]int{"test": 1}}, Options{Ops: testOps(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exe.Run(context.Background(), map[string]ops.Value{"x": input(t, 1, 2, 3)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tensor.ToSlice[float32](outs[0].(*tensor.Tensor))
	if fmt.Sprint(got) != "[3 5 7]" {
		t.Errorf("got %v, want [3 5 7]", got)
	}
}

// TestRunRecyclesIntermediates runs chains whose nodes get recycled
// memory, with an aliasing node among them, several times: every result
// must be right, and outputs of earlier runs must not change.
func TestRunRecyclesIntermediates(t *testing.T) {
	for _, c := range []struct {
		chain []string
		want  []float32 // for x = 0..5
	}{
		{[]string{"PDouble", "PInc", "PDouble", "PInc"}, []float32{3, 7, 11, 15, 19, 23}},
		{[]string{"PDouble", "Alias", "PInc", "Alias", "PDouble", "PInc"}, []float32{3, 7, 11, 15, 19, 23}},
		{[]string{"PInc", "Alias", "Alias", "PDouble", "Double", "PInc"}, []float32{5, 9, 13, 17, 21, 25}},
		{[]string{"PDouble", "Alias", "PRev", "PRev", "PRev"}, []float32{10, 8, 6, 4, 2, 0}},
	} {
		exe, err := Compile(chain(c.chain...), Options{Ops: testOps(t, nil)})
		if err != nil {
			t.Fatal(err)
		}
		var firsts []*tensor.Tensor
		for run := 0; run < 4; run++ {
			outs, err := exe.Run(context.Background(), map[string]ops.Value{"x": input(t, 0, 1, 2, 3, 4, 5)})
			if err != nil {
				t.Fatal(err)
			}
			firsts = append(firsts, outs[0].(*tensor.Tensor))
			for i, o := range firsts {
				got, _ := tensor.ToSlice[float32](o)
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Fatalf("%v run %d, output of run %d: got %v, want %v", c.chain, run, i, got, c.want)
				}
			}
		}
	}
}
