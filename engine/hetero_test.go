package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	clops "github.com/gocann/gocann/ops/opencl"
	"github.com/gocann/gocann/runtime"
	clrt "github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/tensor"
)

// The engine's placement on a real accelerator: the OpenCL device, PoCL in
// CI. Without a device the tests skip, unless GOCANN_REQUIRE_OPENCL is set.

type clEnv struct {
	dev  runtime.Device
	s    runtime.Stream
	pool *runtime.Pool
	reg  *ops.Registry
}

func openCL(t *testing.T) *clEnv {
	t.Helper()
	b, err := clrt.New(clrt.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	dev, err := b.Device(0)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) && os.Getenv("GOCANN_REQUIRE_OPENCL") == "" {
			t.Skipf("no OpenCL device: %v", err)
		}
		t.Fatal(err)
	}
	s, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pool, err := runtime.NewPool(dev, runtime.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	reg := stdOps(t)
	if err := clops.Register(reg); err != nil {
		t.Fatal(err)
	}
	return &clEnv{dev: dev, s: s, pool: pool, reg: reg}
}

func (c *clEnv) options(strict bool) Options {
	return Options{Ops: c.reg, Accelerator: c.dev, Stream: c.s, Pool: c.pool, Strict: strict}
}

// mixedModel is MatMul → Relu → Atan (no OpenCL kernel) → Add →
// Softmax, with an output read on both sides of the fallback.
func mixedModel(r *rand.Rand) *graph.Model {
	return model([]*graph.ValueInfo{f32("x", 3, 8)}, []string{"y", "r"},
		map[string]*tensor.Tensor{"w": randomTensor(r, 8, 5), "b": randomTensor(r, 5)},
		node("mm", "MatMul", []string{"x", "w"}, "m"),
		node("relu", "Relu", []string{"m"}, "r"),
		node("hs", "Atan", []string{"r"}, "h"),
		node("add", "Add", []string{"h", "b"}, "a"),
		node("sm", "Softmax", []string{"a"}, "y"),
	)
}

func TestHeteroPlacement(t *testing.T) {
	c := openCL(t)
	r := rand.New(rand.NewPCG(3, 4))
	devName := c.dev.Properties().ID()
	tests := []struct {
		name     string
		m        *graph.Model
		strict   bool
		onDevice int
		fallback map[string]string // node → part of the reason
		err      error             // at Compile or planning
	}{
		{name: "mixed", m: mixedModel(r), onDevice: 4,
			fallback: map[string]string{"hs": "no opencl kernel for Atan"}},
		{name: "mixed strict", m: mixedModel(r), strict: true, err: ErrFallback},
		{name: "all on device strict", strict: true, onDevice: 3,
			m: model([]*graph.ValueInfo{f32("x", 3, 8)}, []string{"y"},
				map[string]*tensor.Tensor{"w": randomTensor(r, 8, 5)},
				node("mm", "MatMul", []string{"x", "w"}, "m"),
				node("relu", "Relu", []string{"m"}, "r"),
				node("flat", "Flatten", []string{"r"}, "y"))},
		{name: "unsupported attribute", onDevice: 1,
			m: model([]*graph.ValueInfo{f32("x", 3, 8)}, []string{"y"}, nil,
				node("relu", "Relu", []string{"x"}, "r"),
				&graph.Node{Name: "drop", OpType: "Dropout", Inputs: []string{"r"}, Outputs: []string{"y", "mask"}}),
			fallback: map[string]string{"drop": "mask"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exe, err := Compile(tc.m, c.options(tc.strict))
			in := map[string]ops.Value{"x": randomTensor(r, 3, 8)}
			var pm Placement
			if err == nil {
				defer exe.Close()
				pm, err = exe.Placement(in)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), "hs") {
					t.Errorf("error %q does not name the node", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := pm.Counts()[devName]; got != tc.onDevice {
				t.Errorf("%d nodes on %s, want %d:\n%s", got, devName, tc.onDevice, pm)
			}
			if len(pm.Fallbacks) != len(tc.fallback) {
				t.Errorf("fallbacks %+v, want %v", pm.Fallbacks, tc.fallback)
			}
			for _, f := range pm.Fallbacks {
				if want, ok := tc.fallback[f.Node]; !ok || !strings.Contains(f.Reason, want) || f.Device != "cpu:0" {
					t.Errorf("fallback %+v, want reason containing %q", f, want)
				}
			}
			if !strings.Contains(pm.String(), devName) {
				t.Errorf("placement string lacks the device:\n%s", pm)
			}
			// Outputs equal the CPU's, run after run (constants stay on the
			// device, intermediates are freed).
			for run := 0; run < 3; run++ {
				in := map[string]ops.Value{"x": randomTensor(r, 3, 8)}
				ctx := context.Background()
				p := NewProfiler()
				got, err := exe.Run(WithProfiler(ctx, p), in)
				if err != nil {
					t.Fatal(err)
				}
				want := referenceRun(t, c.reg, tc.m, in)
				for i := range want {
					if tc.name == "unsupported attribute" && i > 0 {
						break
					}
					closeFloats(t, tc.m.Graph.Outputs[i].Name, got[i], want[i])
					if d := got[i].(*tensor.Tensor).Device(); d != nil {
						t.Errorf("output %d on %s, want the host", i, d.Properties().ID())
					}
				}
				devices := map[string]bool{}
				for _, ev := range p.Events() {
					devices[ev.Kind+" "+ev.Device] = true
				}
				if tc.onDevice > 0 && (!devices["kernel "+devName] || !devices["copy "+devName]) {
					t.Errorf("profile events: %v, want kernels and copies on %s", devices, devName)
				}
			}
			if inUseConsts(exe) == 0 && tc.onDevice > 1 {
				t.Errorf("no constants kept on the device")
			}
			exe.Close()
			if st := c.pool.Stats(); st.InUse != 0 {
				t.Errorf("pool: %d bytes in use after Close", st.InUse)
			}
		})
	}
}

// inUseConsts is the pool memory the plans keep for constants.
func inUseConsts(e *Executable) int64 {
	var n int64
	for _, pl := range e.plans.all() {
		for _, t := range pl.devConst {
			if t != nil {
				n += t.Buffer().Size()
			}
		}
	}
	return n
}

func closeFloats(t *testing.T, what string, got, want ops.Value) {
	t.Helper()
	g, err1 := tensor.ToSlice[float32](got.(*tensor.Tensor))
	w, err2 := tensor.ToSlice[float32](want.(*tensor.Tensor))
	if err1 != nil || err2 != nil || len(g) != len(w) {
		t.Fatalf("%s: got %v, want %v (%v, %v)", what, got, want, err1, err2)
	}
	for i := range g {
		if math.Abs(float64(g[i]-w[i])) > 1e-5+1e-3*math.Abs(float64(w[i])) {
			t.Fatalf("%s: element %d: got %v, want %v", what, i, g[i], w[i])
		}
	}
}

func TestHeteroStrictControlFlowAtCompile(t *testing.T) {
	c := openCL(t)
	body := &graph.Graph{Name: "then", Outputs: []*graph.ValueInfo{{Name: "t"}},
		Nodes: []*graph.Node{node("id", "Identity", []string{"x"}, "t")}}
	els := &graph.Graph{Name: "else", Outputs: []*graph.ValueInfo{{Name: "e"}},
		Nodes: []*graph.Node{node("neg", "Neg", []string{"x"}, "e")}}
	m := model([]*graph.ValueInfo{f32("x", 2), {Name: "c", Type: ops.TensorType(tensor.Bool, nil)}}, []string{"y"}, nil,
		&graph.Node{Name: "if", OpType: "If", Inputs: []string{"c"}, Outputs: []string{"y"},
			Graphs: map[string]*graph.Graph{"then_branch": body, "else_branch": els}})
	_, err := Compile(m, c.options(true))
	if !errors.Is(err, ErrFallback) || !strings.Contains(err.Error(), "control flow") {
		t.Fatalf("strict compile of an If: got %v, want ErrFallback (control flow)", err)
	}
	exe, err := Compile(m, c.options(false))
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	x, _ := tensor.FromSlice([]float32{1, -2}, 2)
	cond := tensor.Scalar(false)
	out, err := exe.Run(context.Background(), map[string]ops.Value{"x": x, "c": cond})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tensor.ToSlice[float32](out[0].(*tensor.Tensor)); got[0] != -1 || got[1] != 2 {
		t.Errorf("got %v, want [-1 2]", got)
	}
	pm, err := exe.Placement(map[string]ops.Value{"x": x, "c": cond})
	if err != nil {
		t.Fatal(err)
	}
	if len(pm.Fallbacks) != 1 || pm.Fallbacks[0].Reason != reasonControlFlow {
		t.Errorf("fallbacks %+v, want the If (control flow)", pm.Fallbacks)
	}
}

func TestHeteroOptions(t *testing.T) {
	c := openCL(t)
	m := mixedModel(rand.New(rand.NewPCG(1, 1)))
	for _, o := range []Options{
		{Ops: c.reg, Accelerator: c.dev},               // no stream, no pool
		{Ops: c.reg, Accelerator: c.dev, Stream: c.s},  // no pool
		{Ops: c.reg, Accelerator: c.dev, Pool: c.pool}, // no stream
	} {
		if _, err := Compile(m, o); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("%+v: got %v, want ErrInvalidArgument", o, err)
		}
	}
}

// TestHeteroFreesAtLastReader: a chain of device kernels keeps no more
// than a few of its intermediates in device memory at once.
func TestHeteroFreesAtLastReader(t *testing.T) {
	c := openCL(t)
	const n = 8
	var nodes []*graph.Node
	prev := "x"
	for i := 0; i < n; i++ {
		out := "v" + string(rune('a'+i))
		if i == n-1 {
			out = "y"
		}
		nodes = append(nodes, node("relu"+out, "Relu", []string{prev}, out))
		prev = out
	}
	m := model([]*graph.ValueInfo{f32("x", 256, 256)}, []string{"y"}, nil, nodes...)
	exe, err := Compile(m, c.options(true))
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	c.pool.ResetPeak()
	r := rand.New(rand.NewPCG(5, 6))
	if _, err := exe.Run(context.Background(), map[string]ops.Value{"x": randomTensor(r, 256, 256)}); err != nil {
		t.Fatal(err)
	}
	const value = 256 * 256 * 4
	if peak := c.pool.Stats().Peak; peak > 3*value {
		t.Errorf("peak device memory %d bytes: more than 3 values of %d alive at once", peak, value)
	}
}

// TestHeteroConcurrentRuns: runs of several signatures from many
// goroutines share the device (serialized on its stream) and each gets
// its own answers.
func TestHeteroConcurrentRuns(t *testing.T) {
	c := openCL(t)
	m := mixedModel(rand.New(rand.NewPCG(7, 8)))
	m.Graph.Inputs[0] = f32("x", -1, 8)
	exe, err := Compile(m, c.options(false))
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	// Inputs and references first: t.Fatal belongs to this goroutine.
	type job struct{ in, want []map[string]ops.Value }
	var jobs [4]job
	for g := range jobs {
		r := rand.New(rand.NewPCG(uint64(g), 9))
		for run := 0; run < 3; run++ {
			in := map[string]ops.Value{"x": randomTensor(r, 1+g, 8)}
			want := map[string]ops.Value{}
			for i, v := range referenceRun(t, c.reg, m, in) {
				want[m.Graph.Outputs[i].Name] = v
			}
			jobs[g].in = append(jobs[g].in, in)
			jobs[g].want = append(jobs[g].want, want)
		}
	}
	errs := make(chan error, len(jobs))
	for g := range jobs {
		go func() {
			for run, in := range jobs[g].in {
				got, err := exe.Run(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				for i, o := range m.Graph.Outputs {
					y, _ := tensor.ToSlice[float32](got[i].(*tensor.Tensor))
					w, _ := tensor.ToSlice[float32](jobs[g].want[run][o.Name].(*tensor.Tensor))
					for k := range w {
						if math.Abs(float64(y[k]-w[k])) > 1e-5+1e-3*math.Abs(float64(w[k])) {
							errs <- fmt.Errorf("output %s element %d: got %v, want %v", o.Name, k, y[k], w[k])
							return
						}
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(exe.plans.all()); n != 4 {
		t.Errorf("%d plans, want one per batch size (4)", n)
	}
}

// TestHeteroErrorThenRun: a run that fails on the device (a Gather index
// out of range, which only the device sees) reports it, and the next run,
// which reuses the constants uploaded by the failed one or uploads them
// again, is right.
func TestHeteroErrorThenRun(t *testing.T) {
	c := openCL(t)
	r := rand.New(rand.NewPCG(11, 12))
	// The constant w is uploaded after the failing Gather was enqueued.
	m := model([]*graph.ValueInfo{f32("x", 4, 3), {Name: "idx", Type: ops.TensorType(tensor.Int64, tensor.Shape{2})}}, []string{"y"},
		map[string]*tensor.Tensor{"w": randomTensor(r, 2, 3)},
		node("gather", "Gather", []string{"x", "idx"}, "g"),
		node("mul", "Mul", []string{"g", "w"}, "y"))
	exe, err := Compile(m, c.options(true))
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	x := randomTensor(r, 4, 3)
	bad, _ := tensor.FromSlice([]int64{1, 7}, 2)
	if _, err := exe.Run(context.Background(), map[string]ops.Value{"x": x, "idx": bad}); err == nil {
		t.Fatal("index 7 of 4 accepted")
	}
	good, _ := tensor.FromSlice([]int64{3, -4}, 2)
	in := map[string]ops.Value{"x": x, "idx": good}
	got, err := exe.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	closeFloats(t, "y", got[0], referenceRun(t, c.reg, m, in)[0])
}

// TestHeteroCopyStream: with a copy stream, the inputs and the CPU
// fallback's result go to the device on it (the kernels that read them
// waiting on an event); results equal the CPU's run after run, and the
// copy pool's memory is all back when each run ends.
func TestHeteroCopyStream(t *testing.T) {
	c := openCL(t)
	cs, err := c.dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	cpool, err := runtime.NewPool(c.dev, runtime.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cpool.Close() })
	for _, bad := range []Options{
		{Ops: c.reg, Accelerator: c.dev, Stream: c.s, Pool: c.pool, CopyStream: cs},
		{Ops: c.reg, Accelerator: c.dev, Stream: c.s, Pool: c.pool, CopyPool: cpool},
		{Ops: c.reg, Accelerator: c.dev, Stream: c.s, Pool: c.pool, CopyStream: c.s, CopyPool: cpool},
	} {
		if _, err := Compile(mixedModel(rand.New(rand.NewPCG(1, 1))), bad); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("copy options %+v: %v", bad, err)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	m := mixedModel(r)
	o := c.options(false)
	o.CopyStream, o.CopyPool = cs, cpool
	exe, err := Compile(m, o)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	for run := 0; run < 20; run++ {
		in := map[string]ops.Value{"x": randomTensor(r, 3, 8)}
		ctx := context.Background()
		if run%5 == 4 {
			ctx = WithProfiler(ctx, NewProfiler())
		}
		got, err := exe.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want := referenceRun(t, c.reg, m, in)
		for i := range want {
			closeFloats(t, m.Graph.Outputs[i].Name, got[i], want[i])
		}
		if st := cpool.Stats(); st.InUse != 0 || st.Allocs == 0 {
			t.Fatalf("run %d: copy pool %+v: want allocations, none in use after the run", run, st)
		}
	}
}
