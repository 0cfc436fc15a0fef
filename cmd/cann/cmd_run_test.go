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

// writeAffine writes y = x*2 + b to dir/model.onnx and an input file.
func writeAffine(t *testing.T, dir string) (modelPath, inputPath string) {
	t.Helper()
	two, _ := tensor.FromSlice([]float32{2})
	b, _ := tensor.FromSlice([]float32{1, 2, 3})
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Initializers: map[string]*tensor.Tensor{"two": two, "b": b},
		Nodes: []*graph.Node{
			{OpType: "Mul", Inputs: []string{"x", "two"}, Outputs: []string{"h"}},
			{OpType: "Add", Inputs: []string{"h", "b"}, Outputs: []string{"y"}},
		},
	}}
	modelPath = filepath.Join(dir, "model.onnx")
	if err := onnx.WriteModelFile(modelPath, m); err != nil {
		t.Fatal(err)
	}
	x, _ := tensor.FromSlice([]float32{1, 1, 1, 10, 20, 30}, 2, 3)
	inputPath = filepath.Join(dir, "input_0.pb")
	if err := onnx.WriteTensorFile(inputPath, "x", x); err != nil {
		t.Fatal(err)
	}
	return modelPath, inputPath
}

func TestRunModelFiles(t *testing.T) {
	dir := t.TempDir()
	modelPath, inputPath := writeAffine(t, dir)
	outDir := filepath.Join(dir, "out")

	code, out, errOut := cann(t, "run", modelPath, "--input", "x="+inputPath, "--output-dir", outDir, "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "y: float32[2 3]") || !strings.Contains(out, "[3 4 5 21 42 63]") {
		t.Errorf("summary:\n%s", out)
	}
	_, y, err := onnx.ReadTensorFile(filepath.Join(outDir, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tensor.ToSlice[float32](y); len(got) != 6 || got[5] != 63 {
		t.Errorf("written output %v", got)
	}

	// The ONNX test layout: input_K.pb in a folder.
	code, out, errOut = cann(t, "run", modelPath, "--input-dir", dir)
	if code != 0 || !strings.Contains(out, "[3 4 5 21 42 63]") {
		t.Errorf("--input-dir: exit %d\n%s%s", code, out, errOut)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	modelPath, inputPath := writeAffine(t, dir)
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	wrongShape := filepath.Join(dir, "wrong.pb")
	x, _ := tensor.FromSlice([]float32{1, 2}, 1, 2)
	onnx.WriteTensorFile(wrongShape, "x", x)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing model file", []string{"run", filepath.Join(dir, "nope.onnx")}, 1, "no such file"},
		{"corrupt model", []string{"run", garbage}, 1, "not a valid ONNX model"},
		{"missing input", []string{"run", modelPath}, 1, `input "x" missing`},
		{"wrong shape", []string{"run", modelPath, "--input", "x=" + wrongShape}, 1, "got shape [1 2]"},
		{"unknown input", []string{"run", modelPath, "--input", "x=" + inputPath, "--input", "z=" + inputPath}, 1, `"z": the model has no such input`},
		{"bad --input syntax", []string{"run", modelPath, "--input", "x"}, 2, "NAME=FILE.pb"},
		{"missing input file", []string{"run", modelPath, "--input", "x=" + filepath.Join(dir, "none.pb")}, 1, "no such file"},
		{"corrupt input file", []string{"run", modelPath, "--input", "x=" + garbage}, 1, "onnx:"},
		{"two models", []string{"run", modelPath, modelPath}, 2, "one MODEL"},
		{"flags without model", []string{"run", "--input-dir", dir}, 2, "need a MODEL"},
		{"unknown device", []string{"run", modelPath, "--device", "quantum"}, 1, "not found"},
		{"negative opt level", []string{"run", modelPath, "--opt-level", "-1"}, 2, "--opt-level -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := cann(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errOut, tt.want)
			}
		})
	}
}

// The README's main command: the built-in sample reads the held-out digits
// and reports its accuracy (98% when it was trained; the model is fixed, so
// the count is exact).
func TestRunBuiltInSample(t *testing.T) {
	code, out, errOut := cann(t, "run", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"digits", "image 0: predicted", "accuracy: 294 / 300 correct (98.0%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestRunExplain: --explain prints what the passes did and the plan for
// the inputs (launches, memory), and every level computes the same result. The model is y = Identity(x * (two + two)).
func TestRunExplain(t *testing.T) {
	dir := t.TempDir()
	two, _ := tensor.FromSlice([]float32{2})
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3})}},
		Initializers: map[string]*tensor.Tensor{"two": two},
		Nodes: []*graph.Node{
			{OpType: "Add", Inputs: []string{"two", "two"}, Outputs: []string{"four"}},
			{OpType: "Mul", Inputs: []string{"x", "four"}, Outputs: []string{"h"}},
			{OpType: "Identity", Inputs: []string{"h"}, Outputs: []string{"y"}},
		},
	}}
	modelPath := filepath.Join(dir, "model.onnx")
	if err := onnx.WriteModelFile(modelPath, m); err != nil {
		t.Fatal(err)
	}
	x, _ := tensor.FromSlice([]float32{1, 2, 3}, 1, 3)
	inputPath := filepath.Join(dir, "input_0.pb")
	if err := onnx.WriteTensorFile(inputPath, "x", x); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cann(t, "run", modelPath, "--input-dir", dir, "--explain")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"optimization level 3: 3 nodes → 1", "constant-folding", "folded 1 node(s): Add×1", "identity-elimination", "y: float32[1 3] [4 8 12]",
		"plan for x: float32[1 3]", "launches: 1 (1 kernels", "heap per run: 12 B"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = cann(t, "run", modelPath, "--input-dir", dir, "--explain", "--opt-level", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "optimization level 0: 3 nodes → 3") || strings.Contains(out, "constant-folding") || !strings.Contains(out, "[4 8 12]") {
		t.Errorf("--opt-level 0:\n%s", out)
	}
}
