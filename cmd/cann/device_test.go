package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// needOpenCL skips without an OpenCL device, unless GOCANN_REQUIRE_OPENCL
// is set.
func needOpenCL(t *testing.T) {
	t.Helper()
	code, out, errOut := cann(t, "devices", "--format", "json")
	if code == 0 && strings.Contains(out, `"opencl:0"`) {
		return
	}
	if os.Getenv("GOCANN_REQUIRE_OPENCL") != "" {
		t.Fatalf("no OpenCL device: %s", errOut)
	}
	t.Skipf("no OpenCL device: %s", errOut)
}

// writeAtan writes y = atan(x*2) + 1: Atan has no OpenCL kernel.
func writeAtan(t *testing.T, dir string) string {
	t.Helper()
	two, _ := tensor.FromSlice([]float32{2})
	one, _ := tensor.FromSlice([]float32{1})
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Initializers: map[string]*tensor.Tensor{"two": two, "one": one},
		Nodes: []*graph.Node{
			{Name: "mul", OpType: "Mul", Inputs: []string{"x", "two"}, Outputs: []string{"h"}},
			{Name: "atan", OpType: "Atan", Inputs: []string{"h"}, Outputs: []string{"a"}},
			{Name: "add", OpType: "Add", Inputs: []string{"a", "one"}, Outputs: []string{"y"}},
		},
	}}
	path := filepath.Join(dir, "atan.onnx")
	if err := onnx.WriteModelFile(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunDevice(t *testing.T) {
	needOpenCL(t)
	dir := t.TempDir()
	affine, input := writeAffine(t, dir)
	atan := writeAtan(t, dir)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"strict, all on the device", []string{"run", affine, "--input", "x=" + input, "--device", "opencl", "--strict", "--explain"}, 0,
			[]string{"optimization level 1", "2 on opencl:0", "fallbacks to the CPU: 0", "ran in", "on opencl:0", "[3 4 5 21 42 63]"}, ""},
		{"explain a fallback", []string{"run", atan, "--input", "x=" + input, "--device", "opencl:0", "--explain"}, 0,
			[]string{"2 on opencl:0, 1 on cpu:0", "fallbacks to the CPU: 1", "atan (Atan): ", "no opencl kernel for Atan"}, ""},
		{"strict refuses a fallback", []string{"run", atan, "--input", "x=" + input, "--device", "opencl", "--strict"}, 1,
			nil, "node atan (Atan) on opencl:0"},
		{"bench strict", []string{"bench", atan, "--device", "opencl", "--strict", "--iterations", "1", "--warmup", "0"}, 1,
			nil, "falls back to the CPU"},
		{"profile", []string{"profile", atan, "--device", "opencl", "--iterations", "1", "--warmup", "0"}, 0,
			[]string{"Atan"}, ""},
		{"no such device", []string{"run", affine, "--input", "x=" + input, "--device", "opencl:99"}, 1,
			nil, "cann devices lists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cann(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s\n%s", code, tc.code, errOut, out)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr lacks %q: %s", tc.stderr, errOut)
			}
		})
	}
}
