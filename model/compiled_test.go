package model

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/compiled"
	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// weightEcho returns y = x + w and the weight itself as a second output
// (through Identity), with w large enough to be mapped from the file.
func weightEcho(t *testing.T, dir string) string {
	t.Helper()
	vals := make([]float32, 32)
	for i := range vals {
		vals[i] = float32(i)
	}
	w, _ := tensor.FromSlice(vals, 32)
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Name:         "echo",
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 32}), DimParams: []string{"batch", ""}}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 32})}, {Name: "w_out", Type: ops.TensorType(tensor.Float32, tensor.Shape{32})}},
		Initializers: map[string]*tensor.Tensor{"w": w},
		Nodes: []*graph.Node{
			{OpType: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"y"}},
			{OpType: "Identity", Inputs: []string{"w"}, Outputs: []string{"w_out"}},
		},
	}}
	path := filepath.Join(dir, "echo.onnx")
	if err := onnx.WriteModelFile(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConvertAndLoadCompiled(t *testing.T) {
	dir := t.TempDir()
	src := weightEcho(t, dir)
	dst := filepath.Join(dir, "echo.cann")
	var stages []string
	conv, err := Convert(src, dst, WithProgress(func(stage string, done, total int64) {
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(stages, ","); got != "hash,read,optimize,write" {
		t.Errorf("progress stages %s", got)
	}
	man := conv.Manifest
	if man.Source.File != "echo.onnx" || len(man.Source.SHA256) != 64 || man.Nodes < 1 || man.OptLevel != 3 || man.Weights.Tensors < 1 {
		t.Errorf("manifest %+v", man)
	}

	x, _ := tensor.FromSlice(make([]float32, 64), 2, 32)
	ctx := context.Background()
	ref, err := Load(src, WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := ref.Run(ctx, map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}

	m, err := Load(dst, WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	if m.Manifest() == nil || ref.Manifest() != nil {
		t.Error("Manifest: compiled models have one, ONNX ones not")
	}
	if ins := m.Inputs(); len(ins) != 1 || ins[0].DimParams[0] != "batch" {
		t.Errorf("inputs %+v", ins)
	}
	got, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		a, _ := tensor.ToSlice[float32](got[i])
		b, _ := tensor.ToSlice[float32](want[i])
		if len(a) != len(b) || a[len(a)-1] != b[len(b)-1] || a[5] != b[5] {
			t.Errorf("output %d: %v, want %v", i, a, b)
		}
	}
	// The weight comes back as a copy the caller owns, which outlives the
	// mapping and whose writes do not reach the model.
	if got[1].ReadOnly() {
		t.Error("an output shares the read-only weights")
	}
	v, _ := tensor.View[float32](got[1])
	v[3] = -100
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if v[31] != 31 {
		t.Errorf("output after Close: %v", v[31])
	}
	if _, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x}); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("run after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// From memory too.
	b, _ := os.ReadFile(dst)
	mb, err := LoadBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if out, err := mb.Run(ctx, map[string]*tensor.Tensor{"x": x}); err != nil || out[1].ReadOnly() {
		t.Errorf("LoadBytes: %v", err)
	}

	// Converting a compiled file is a mistake.
	if _, err := Convert(dst, filepath.Join(dir, "again.cann")); err == nil {
		t.Error("converted a compiled model")
	}
}

func TestConvertShapes(t *testing.T) {
	dir := t.TempDir()
	src := weightEcho(t, dir)
	dst := filepath.Join(dir, "fixed.cann")
	conv, err := Convert(src, dst, WithShapes(map[string][]int64{"x": {4, 32}}), WithCPUFeatures([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if s := conv.Manifest.Shapes["x"]; len(s) != 2 || s[0] != 4 || conv.Manifest.Inputs[0].Type != "float32[4 32]" || len(conv.Manifest.Target.CPUFeatures) != 0 {
		t.Errorf("manifest %+v", conv.Manifest)
	}
	m, err := Load(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x, _ := tensor.New(tensor.Float32, tensor.Shape{2, 32})
	if _, err := m.Run(context.Background(), map[string]*tensor.Tensor{"x": x}); !errors.Is(err, engine.ErrBadInput) {
		t.Errorf("batch 2 into a model fixed at 4: %v", err)
	}

	for _, bad := range []map[string][]int64{
		{"nope": {1, 32}},
		{"x": {4, 31}},
		{"x": {4}},
		{"x": {-2, 32}},
	} {
		if _, err := Convert(src, dst, WithShapes(bad)); err == nil || !strings.Contains(err.Error(), "shape") {
			t.Errorf("shapes %v: %v", bad, err)
		}
	}
	if _, err := Convert(src, dst, WithOptLevel(7)); !errors.Is(err, passes.ErrBadOptions) {
		t.Errorf("level 7: %v", err)
	}
}

func TestLoadIncompatibleCompiled(t *testing.T) {
	dir := t.TempDir()
	src := weightEcho(t, dir)
	dst := filepath.Join(dir, "future.cann")
	if _, err := Convert(src, dst, WithCPUFeatures([]string{"avx2", "quantum"})); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dst); !errors.Is(err, compiled.ErrIncompatible) || !strings.Contains(err.Error(), "quantum") {
		t.Errorf("got %v", err)
	}
	b, _ := os.ReadFile(dst)
	if _, err := LoadBytes(b[:len(b)/2]); !errors.Is(err, compiled.ErrCorrupt) {
		t.Errorf("truncated: %v", err)
	}
}

// TestCloseWhileRunning: Close waits for runs in flight before unmapping
// the weights; runs that start later fail cleanly.
func TestCloseWhileRunning(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "echo.cann")
	if _, err := Convert(weightEcho(t, dir), dst); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dst, WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := tensor.FromSlice(make([]float32, 32*64), 64, 32)
	ctx := context.Background()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 50; i++ {
				outs, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x})
				if err != nil {
					if errors.Is(err, runtime.ErrClosed) {
						err = nil
					}
					errs <- err
					return
				}
				if v, _ := tensor.View[float32](outs[0]); v[len(v)-1] != 31 {
					errs <- errors.New("wrong output")
					return
				}
			}
			errs <- nil
		}()
	}
	time.Sleep(time.Millisecond)
	if err := m.Close(); err != nil {
		t.Error(err)
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
