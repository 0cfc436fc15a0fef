package model

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// needOpenCL skips the test without an OpenCL device, unless
// GOCANN_REQUIRE_OPENCL is set.
func needOpenCL(t *testing.T) {
	t.Helper()
	m, err := LoadBytes(affine(t), WithDevice("opencl"))
	if err == nil {
		m.Close()
		return
	}
	if errors.Is(err, runtime.ErrNotFound) && os.Getenv("GOCANN_REQUIRE_OPENCL") == "" {
		t.Skipf("no OpenCL device: %v", err)
	}
	t.Fatal(err)
}

// atanBytes is y = atan(x * scale): Atan has no OpenCL kernel.
func atanBytes(t *testing.T) []byte {
	scale, _ := tensor.FromSlice([]float32{2, 3})
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Name:         "atan",
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 2})}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 2})}},
		Initializers: map[string]*tensor.Tensor{"scale": scale},
		Nodes: []*graph.Node{
			{Name: "mul", OpType: "Mul", Inputs: []string{"x", "scale"}, Outputs: []string{"h"}},
			{Name: "atan", OpType: "Atan", Inputs: []string{"h"}, Outputs: []string{"y"}},
		},
	}}
	b, err := onnx.EncodeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDevice(t *testing.T) {
	needOpenCL(t)
	ctx := context.Background()
	x, _ := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	feeds := map[string]ops.Value{"x": x}
	tests := []struct {
		name      string
		model     []byte
		opts      []Option
		level     int
		onDevice  int
		fallbacks []string // nodes
		planErr   error
	}{
		{name: "affine", model: affine(t), opts: []Option{WithDevice("opencl"), WithStrict(true)}, level: DefaultDeviceOptLevel, onDevice: 2},
		{name: "affine opencl:0 level 3", model: affine(t), opts: []Option{WithDevice("opencl:0"), WithOptLevel(3)}, level: 3, onDevice: 2},
		{name: "atan", model: atanBytes(t), opts: []Option{WithDevice("opencl")}, level: 1, onDevice: 1, fallbacks: []string{"atan"}},
		{name: "atan strict", model: atanBytes(t), opts: []Option{WithDevice("opencl"), WithStrict(true)}, level: 1, planErr: engine.ErrFallback},
		{name: "cpu strict", model: atanBytes(t), opts: []Option{WithStrict(true)}, level: DefaultOptLevel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadBytes(tc.model, append(tc.opts, WithThreads(1))...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Report().Level != tc.level {
				t.Errorf("optimization level %d, want %d", m.Report().Level, tc.level)
			}
			pm, err := m.Placement(feeds)
			if tc.planErr != nil {
				if !errors.Is(err, tc.planErr) || !strings.Contains(err.Error(), "atan") {
					t.Fatalf("placement: got %v, want %v naming the node", err, tc.planErr)
				}
				if _, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x}); !errors.Is(err, tc.planErr) {
					t.Fatalf("run: got %v, want %v", err, tc.planErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			dev := m.Device().Properties().ID()
			if tc.onDevice > 0 && pm.Counts()[dev] != tc.onDevice {
				t.Errorf("%d nodes on %s, want %d:\n%s", pm.Counts()[dev], dev, tc.onDevice, pm)
			}
			var got []string
			for _, f := range pm.Fallbacks {
				got = append(got, f.Node)
			}
			if strings.Join(got, ",") != strings.Join(tc.fallbacks, ",") {
				t.Errorf("fallbacks %v, want %v:\n%s", got, tc.fallbacks, pm)
			}
			// The same answers as on the CPU.
			cm, err := LoadBytes(tc.model, WithThreads(1))
			if err != nil {
				t.Fatal(err)
			}
			defer cm.Close()
			want, err := cm.Run(ctx, map[string]*tensor.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			for run := 0; run < 2; run++ {
				outs, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x})
				if err != nil {
					t.Fatal(err)
				}
				g, _ := tensor.ToSlice[float32](outs[0])
				w, _ := tensor.ToSlice[float32](want[0])
				for i := range w {
					if d := g[i] - w[i]; d > 1e-5 || d < -1e-5 {
						t.Fatalf("run %d: got %v, want %v", run, g, w)
					}
				}
			}
		})
	}
}

func TestDeviceCompiledRefused(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "affine.onnx")
	if err := os.WriteFile(src, affine(t), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "affine.cann")
	if _, err := Convert(src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dst, WithDevice("opencl")); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("compiled model on opencl: %v, want ErrUnsupported", err)
	}
}
