package main

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

func TestCustomOperatorModel(t *testing.T) {
	vals := []float32{-2, -1, 0, 1, 2, 3, 4, 5}
	x, _ := tensor.FromSlice(vals, 2, 4)
	y, err := run(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tensor.ToSlice[float32](y)
	bias := []float32{0.5, -0.5, 1, -1}
	for i, v := range vals {
		h := float64(v + bias[i%4])
		want := h / (1 + math.Exp(-1.5*h))
		if math.Abs(float64(got[i])-want) > 1e-6 {
			t.Errorf("y[%d] = %v, want %v", i, got[i], want)
		}
	}
}

// Without the custom operator registered, loading fails with a clear error.
func TestUnregisteredDomainFails(t *testing.T) {
	b, err := buildModel()
	if err != nil {
		t.Fatal(err)
	}
	_, err = model.LoadBytes(b)
	if !errors.Is(err, ops.ErrUnknownOp) {
		t.Errorf("err = %v, want ErrUnknownOp", err)
	}
}

func TestSwishRejectsBadNodes(t *testing.T) {
	reg := ops.NewRegistry()
	if err := reg.Register(Swish); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]*ops.Node{
		"int input": {Domain: Domain, OpType: "Swish", Opset: 1, NumOutputs: 1, Inputs: []ops.Type{ops.TensorType(tensor.Int32, tensor.Shape{2})}},
		"inf beta": {Domain: Domain, OpType: "Swish", Opset: 1, NumOutputs: 1, Inputs: []ops.Type{ops.TensorType(tensor.Float32, tensor.Shape{2})},
			Attrs: ops.NewAttrs(map[string]ops.Attr{"beta": {Type: ops.AttrFloat, Float: float32(math.Inf(1))}})},
		"beta as int": {Domain: Domain, OpType: "Swish", Opset: 1, NumOutputs: 1, Inputs: []ops.Type{ops.TensorType(tensor.Float32, tensor.Shape{2})},
			Attrs: ops.NewAttrs(map[string]ops.Attr{"beta": {Type: ops.AttrInt, Int: 2}})},
		"two inputs": {Domain: Domain, OpType: "Swish", Opset: 1, NumOutputs: 1, Inputs: []ops.Type{ops.TensorType(tensor.Float32, tensor.Shape{2}), ops.TensorType(tensor.Float32, tensor.Shape{2})}},
	} {
		if _, err := reg.Prepare(n); !errors.Is(err, ops.ErrInvalidNode) {
			t.Errorf("%s: err = %v, want ErrInvalidNode", name, err)
		}
	}
}
