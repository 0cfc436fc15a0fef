package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/internal/sample"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// Per-run overhead: models of small ops, where the engine's own work (and
// not the kernels') decides the latency. Compare with -benchmem: the
// allocations per run are the engine's plus the kernels'.

func benchRun(b *testing.B, exe *Executable, feeds map[string]ops.Value) {
	b.Helper()
	ctx := context.Background()
	if _, err := exe.Run(ctx, feeds); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := exe.Run(ctx, feeds); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSampleMLP runs the built-in digits MLP on one image.
func BenchmarkSampleMLP(b *testing.B) {
	m, err := onnx.DecodeModel(sample.Model())
	if err != nil {
		b.Fatal(err)
	}
	reg, err := standard.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	w := cpu.NewWorkers(1)
	defer w.Close()
	exe, err := Compile(m, Options{Ops: reg, Workers: w})
	if err != nil {
		b.Fatal(err)
	}
	images, _, err := sample.TestSet()
	if err != nil {
		b.Fatal(err)
	}
	px, _ := tensor.ToSlice[float32](images)
	x, _ := tensor.FromSlice(px[:64], 1, 64)
	benchRun(b, exe, map[string]ops.Value{exe.Inputs()[0].Name: x})
}

// elementwiseGraph is n elementwise nodes (Add, Mul, Relu, Sigmoid, Sub in
// turn) over float32 tensors of the given width, with constant operands.
func elementwiseGraph(n, width int) *graph.Model {
	shape := tensor.Shape{1, width}
	g := &graph.Graph{
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, shape)}},
		Outputs:      []*graph.ValueInfo{{Name: fmt.Sprintf("v%d", n), Type: ops.TensorType(tensor.Float32, shape)}},
		Initializers: map[string]*tensor.Tensor{},
	}
	c := make([]float32, width)
	for i := range c {
		c[i] = 0.5 + float32(i%7)/16
	}
	g.Initializers["c"], _ = tensor.FromSlice(c, width)
	prev := "x"
	for i := 0; i < n; i++ {
		out := fmt.Sprintf("v%d", i+1)
		node := &graph.Node{Name: fmt.Sprintf("n%d", i), Outputs: []string{out}}
		switch i % 5 {
		case 0:
			node.OpType, node.Inputs = "Add", []string{prev, "c"}
		case 1:
			node.OpType, node.Inputs = "Mul", []string{prev, "c"}
		case 2:
			node.OpType, node.Inputs = "Relu", []string{prev}
		case 3:
			node.OpType, node.Inputs = "Sigmoid", []string{prev}
		case 4:
			node.OpType, node.Inputs = "Sub", []string{prev, "c"}
		}
		g.Nodes = append(g.Nodes, node)
		prev = out
	}
	return &graph.Model{Graph: g, Opsets: map[string]int{"": 17}}
}

// BenchmarkElementwise50 runs 50 elementwise nodes on 64 floats: the
// "few dozen small ops" of issue 4, which must take tens of microseconds.
func BenchmarkElementwise50(b *testing.B) {
	reg, err := standard.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	w := cpu.NewWorkers(1)
	defer w.Close()
	exe, err := Compile(elementwiseGraph(50, 64), Options{Ops: reg, Workers: w})
	if err != nil {
		b.Fatal(err)
	}
	x, _ := tensor.FromSlice(make([]float32, 64), 1, 64)
	benchRun(b, exe, map[string]ops.Value{"x": x})
}
