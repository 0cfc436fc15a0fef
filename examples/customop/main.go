// Command customop shows GoCANN's kernel level end to end: it defines an
// operator of its own domain in Go — schema, validation, shape inference and
// a CPU kernel that runs tiles in parallel on the worker pool — registers it
// next to the standard ONNX operators, and runs a model that uses it.
//
//	go run ./examples/customop
package main

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/tensor"
)

// Domain is where our operators live; a model imports it in opset_import.
const Domain = "com.example"

// Swish is y = x * sigmoid(beta * x), with beta an attribute (default 1).
var Swish = &ops.Op{
	Domain: Domain, Name: "Swish", Since: 1,
	MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
	Doc:     "x * sigmoid(beta * x)",
	Prepare: prepareSwish,
}

// prepareSwish validates the node and infers its output, once per input
// shape; the kernel it returns runs on every call.
func prepareSwish(n *ops.Node) (*ops.Plan, error) {
	beta := n.Attrs.Float("beta", 1)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if math.IsNaN(float64(beta)) || math.IsInf(float64(beta), 0) {
		return nil, n.Errorf("beta must be finite, got %v", beta)
	}
	x := n.Inputs[0]
	if x.DType != tensor.Float32 {
		return nil, n.Errorf("input must be float32, got %s", x.DType)
	}
	out := ops.TensorType(tensor.Float32, x.Shape) // same shape as the input
	return &ops.Plan{Outputs: []ops.Type{out}, Kernel: func(env *ops.Env, in, outs []*tensor.Tensor) error {
		src, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		dst, err := tensor.View[float32](outs[0])
		if err != nil {
			return err
		}
		// Tiles of at least 4096 elements, spread over the worker pool.
		env.ParallelFor(len(src), 4096, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				v := src[i]
				dst[i] = v / (1 + float32(math.Exp(float64(-beta*v))))
			}
		})
		return nil
	}}, nil
}

// buildModel makes a two-node model: y = Swish(x + bias, beta=1.5).
func buildModel() ([]byte, error) {
	bias, err := tensor.FromSlice([]float32{0.5, -0.5, 1, -1})
	if err != nil {
		return nil, err
	}
	g := &graph.Graph{
		Name:         "swish_demo",
		Inputs:       []*graph.ValueInfo{{Name: "x", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 4}), DimParams: []string{"batch", ""}}},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 4})}},
		Initializers: map[string]*tensor.Tensor{"bias": bias},
		Nodes: []*graph.Node{
			{Name: "add_bias", OpType: "Add", Inputs: []string{"x", "bias"}, Outputs: []string{"h"}},
			{Name: "swish", Domain: Domain, OpType: "Swish", Inputs: []string{"h"}, Outputs: []string{"y"},
				Attrs: map[string]ops.Attr{"beta": {Type: ops.AttrFloat, Float: 1.5}}},
		},
	}
	return onnx.EncodeModel(&graph.Model{Graph: g, Opsets: map[string]int{"": 17, Domain: 1}})
}

// run registers Swish beside the standard set, loads the model and runs it.
func run(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	reg, err := standard.NewRegistry()
	if err != nil {
		return nil, err
	}
	if err := reg.Register(Swish); err != nil {
		return nil, err
	}
	b, err := buildModel()
	if err != nil {
		return nil, err
	}
	m, err := model.LoadBytes(b, model.WithOps(reg))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	outs, err := m.Run(ctx, map[string]*tensor.Tensor{"x": x})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func main() {
	x, err := tensor.FromSlice([]float32{-2, -1, 0, 1, 2, 3, 4, 5}, 2, 4)
	if err != nil {
		log.Fatal(err)
	}
	y, err := run(context.Background(), x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("x:", x)
	fmt.Println("y = Swish(x + bias, beta=1.5):", y)
}
