package model

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// affine is y = x * scale + shift, with a symbolic batch dimension.
func affine(t *testing.T) []byte {
	t.Helper()
	b, err := affineBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func affineBytes() ([]byte, error) {
	scale, _ := tensor.FromSlice([]float32{2, 3})
	shift, _ := tensor.FromSlice([]float32{1, -1})
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Name:         "affine",
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 2}), DimParams: []string{"batch", ""}}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 2}), DimParams: []string{"batch", ""}}},
		Initializers: map[string]*tensor.Tensor{"scale": scale, "shift": shift},
		Nodes: []*graph.Node{
			{Name: "mul", OpType: "Mul", Inputs: []string{"x", "scale"}, Outputs: []string{"h"}},
			{Name: "add", OpType: "Add", Inputs: []string{"h", "shift"}, Outputs: []string{"y"}},
		},
	}}
	return onnx.EncodeModel(m)
}

func TestLoadAndRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "affine.onnx")
	if err := os.WriteFile(path, affine(t), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ins, outs := m.Inputs(), m.Outputs()
	if len(ins) != 1 || ins[0].Name != "x" || ins[0].DimParams[0] != "batch" || ins[0].Type.String() != "float32[? 2]" {
		t.Errorf("inputs %+v", ins)
	}
	if len(outs) != 1 || outs[0].Name != "y" {
		t.Errorf("outputs %+v", outs)
	}
	if id := m.Device().Properties().ID(); id != "cpu:0" {
		t.Errorf("device %s", id)
	}
	for _, batch := range []int{1, 3, 0} {
		vals := make([]float32, 2*batch)
		for i := range vals {
			vals[i] = float32(i)
		}
		x, _ := tensor.FromSlice(vals, batch, 2)
		res, err := m.Run(context.Background(), map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		y, _ := tensor.ToSlice[float32](res[0])
		for i, v := range vals {
			want := v*[]float32{2, 3}[i%2] + []float32{1, -1}[i%2]
			if y[i] != want {
				t.Errorf("batch %d: y[%d] = %v, want %v", batch, i, y[i], want)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.onnx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadBytes([]byte("\x08\x07garbage")); !errors.Is(err, onnx.ErrInvalidModel) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := LoadBytes(affine(t), WithDevice("tpu:3")); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("unknown device: %v", err)
	}
	if _, err := LoadBytes(affine(t), WithThreads(-1)); err == nil {
		t.Error("negative threads accepted")
	}
}

func TestRunErrors(t *testing.T) {
	m, err := LoadBytes(affine(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	wrong, _ := tensor.FromSlice([]float32{1, 2, 3}, 1, 3)
	if _, err := m.Run(ctx, map[string]*tensor.Tensor{"x": wrong}); !errors.Is(err, engine.ErrBadInput) {
		t.Errorf("wrong shape: %v", err)
	}
	if _, err := m.Run(ctx, nil); !errors.Is(err, engine.ErrBadInput) || !strings.Contains(err.Error(), `"x" missing`) {
		t.Errorf("missing input: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	x, _ := tensor.FromSlice([]float32{1, 2}, 1, 2)
	if _, err := m.Run(done, map[string]*tensor.Tensor{"x": x}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestConcurrentRun(t *testing.T) {
	m, err := LoadBytes(affine(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			x, _ := tensor.FromSlice([]float32{float32(g), float32(g)}, 1, 2)
			for i := 0; i < 50; i++ {
				res, err := m.Run(context.Background(), map[string]*tensor.Tensor{"x": x})
				if err != nil {
					t.Error(err)
					return
				}
				y, _ := tensor.View[float32](res[0])
				if y[0] != 2*float32(g)+1 || y[1] != 3*float32(g)-1 {
					t.Errorf("goroutine %d: %v", g, y)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// FuzzRunModel loads arbitrary bytes as a model and, when they load, runs
// the model on zero inputs: every failure must be an error, never a crash,
// a hang or an internal error (a recovered panic).
func FuzzRunModel(f *testing.F) {
	if b, err := affineBytes(); err == nil {
		f.Add(b)
	}
	for _, p := range []string{"node/test_add_bcast", "node/test_mul", "node/test_equal", "node/test_div"} {
		if b, err := os.ReadFile(filepath.Join("/usr/share/libonnx-testdata/data", p, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadBytes(b, WithThreads(1), WithMaxTensorBytes(1<<20))
		if err != nil {
			return
		}
		defer m.Close()
		feeds := map[string]ops.Value{}
		for _, in := range m.Inputs() {
			if in.Type.Kind != ops.KindTensor || in.Type.UnknownRank || !in.Type.DType.Valid() || in.Type.DType == tensor.Undefined {
				return
			}
			shape := in.Type.Shape.Clone()
			for i, d := range shape {
				if d < 0 {
					shape[i] = 1
				}
			}
			if shape.Validate() != nil || shape.NumElements() > 1<<16 {
				return
			}
			x, err := tensor.New(in.Type.DType, shape)
			if err != nil {
				return
			}
			feeds[in.Name] = x
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := m.RunValues(ctx, feeds); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("run: %v", err)
		}
	})
}

// A profiler on the context sees the model's kernel launches, and the
// memory plan of the run's signature is there to read.
func TestProfileAndMemoryPlan(t *testing.T) {
	m, err := LoadBytes(affine(t), WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x, _ := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	st, err := m.MemoryPlan(map[string]ops.Value{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	if st.Kernels != 2 || st.ArenaBytes != 64 || !strings.Contains(st.String(), "x: float32[2 2]") {
		t.Errorf("memory plan %+v", st)
	}
	p := engine.NewProfiler()
	if _, err := m.Run(engine.WithProfiler(context.Background(), p), map[string]*tensor.Tensor{"x": x}); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, ev := range p.Events() {
		if ev.Kind == "kernel" {
			ops = append(ops, ev.OpType+" on "+ev.Device)
		}
	}
	if strings.Join(ops, ", ") != "Mul on cpu:0, Add on cpu:0" {
		t.Errorf("profiled %v", ops)
	}
}

// TestOptimization: the model is optimized on load (a report is kept),
// WithShapes fixes symbolic dimensions and then refuses other shapes, and
// bad options fail the load.
func TestOptimization(t *testing.T) {
	ctx := context.Background()
	x, _ := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	for _, level := range []int{0, 1, 3} {
		m, err := LoadBytes(affine(t), WithThreads(1), WithOptLevel(level))
		if err != nil {
			t.Fatal(err)
		}
		rep := m.Report()
		if rep == nil || rep.Level != level || rep.NodesAfter != 2 {
			t.Errorf("level %d: report %+v", level, rep)
		}
		outs, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := tensor.ToSlice[float32](outs[0]); len(got) != 4 || got[3] != 11 {
			t.Errorf("level %d: %v", level, got)
		}
		m.Close()
	}

	m, err := LoadBytes(affine(t), WithThreads(1), WithShapes(map[string][]int64{"x": {2, 2}}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if in := m.Inputs()[0]; in.Type.String() != "float32[2 2]" {
		t.Errorf("input with fixed shape: %v", in.Type)
	}
	if _, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x}); err != nil {
		t.Error(err)
	}
	x3, _ := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	if _, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x3}); !errors.Is(err, engine.ErrBadInput) {
		t.Errorf("a batch of 3 after fixing 2: %v", err)
	}

	for _, opts := range [][]Option{
		{WithOptLevel(-1)},
		{WithShapes(map[string][]int64{"nope": {1, 2}})},
		{WithShapes(map[string][]int64{"x": {2, 3}})},
		{WithShapes(map[string][]int64{"x": {2}})},
	} {
		m, err := LoadBytes(affine(t), opts...)
		if err == nil {
			m.Close()
		}
		if !errors.Is(err, passes.ErrBadOptions) {
			t.Errorf("bad options: %v", err)
		}
	}
}
