package opencl_test

import (
	"errors"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

func TestUnary(t *testing.T) {
	r := rng(t)
	x := randF(r, -4, 4, 3, 5, 67)
	pos := randF(r, 0.05, 5, 2, 131)
	var cases []kcase
	for _, c := range []struct {
		op    string
		opset int
		at    attrs
		in    *tensor.Tensor
	}{
		{"Relu", 14, nil, x}, {"LeakyRelu", 16, attrs{"alpha": aF(0.2)}, x}, {"Elu", 6, attrs{"alpha": aF(0.7)}, x},
		{"Selu", 6, nil, x}, {"Celu", 12, attrs{"alpha": aF(1.5)}, x}, {"Sigmoid", 13, nil, x},
		{"HardSigmoid", 6, attrs{"alpha": aF(0.3), "beta": aF(0.4)}, x}, {"HardSwish", 14, nil, x},
		{"Tanh", 13, nil, x}, {"Erf", 13, nil, x}, {"Exp", 13, nil, x}, {"Log", 13, nil, pos},
		{"Sqrt", 13, nil, pos}, {"Reciprocal", 13, nil, pos}, {"Neg", 13, nil, x}, {"Abs", 13, nil, x},
		{"Floor", 13, nil, x}, {"Ceil", 13, nil, x}, {"Round", 11, nil, x}, {"Sin", 7, nil, x},
		{"Cos", 7, nil, x}, {"Tan", 7, nil, randF(r, -1.2, 1.2, 40)}, {"Softplus", 1, nil, x}, {"Softsign", 1, nil, x},
		{"Mish", 18, nil, x}, {"Sign", 13, nil, x}, {"ThresholdedRelu", 10, attrs{"alpha": aF(0.5)}, x},
		{"Gelu", 20, nil, x}, {"Gelu", 20, attrs{"approximate": aS("tanh")}, x},
		{"Relu", 14, nil, randI[int32](r, -9, 9, 50)}, {"Neg", 13, nil, randI[int64](r, -9, 9, 50)},
		{"Abs", 13, nil, randI[int64](r, -9, 9, 7, 3)}, {"Sign", 13, nil, randI[int32](r, -3, 3, 33)},
		{"Sigmoid", 13, nil, randF(r, -100, 100, 1000)}, // saturation
	} {
		cases = append(cases, kcase{name: c.op + "/" + c.in.DType().String(), op: c.op, opset: c.opset, attrs: c.at, in: []*tensor.Tensor{c.in}})
	}
	cases = append(cases,
		kcase{name: "Clip/attrs", op: "Clip", opset: 6, attrs: attrs{"min": aF(-0.5), "max": aF(2)}, in: []*tensor.Tensor{x}},
		kcase{name: "Clip/inputs", op: "Clip", opset: 13, in: []*tensor.Tensor{x, scalarF(0), scalarF(6)}, consts: []int{1, 2}},
		kcase{name: "Clip/max only", op: "Clip", opset: 13, in: []*tensor.Tensor{x, nil, scalarF(1)}, consts: []int{2}},
		kcase{name: "Clip/int64", op: "Clip", opset: 13, in: []*tensor.Tensor{randI[int64](r, -20, 20, 40), tensor.Scalar(int64(-3)), tensor.Scalar(int64(5))}, consts: []int{1, 2}},
		kcase{name: "Empty", op: "Relu", opset: 14, in: []*tensor.Tensor{randF(r, 0, 1, 0, 3)}},
		kcase{name: "Scalar", op: "Exp", opset: 13, in: []*tensor.Tensor{scalarF(0.5)}},
	)
	run(t, cases)
}

func TestBinary(t *testing.T) {
	r := rng(t)
	a := randF(r, -3, 3, 2, 3, 4, 5)
	pos := randF(r, 0.5, 2, 2, 3, 4, 5)
	var cases []kcase
	shapes := [][2][]int{
		{{2, 3, 4, 5}, {2, 3, 4, 5}}, // same shape: the contiguous kernels
		{{2, 3, 4, 5}, {5}},
		{{2, 3, 4, 5}, {3, 1, 5}},
		{{1, 3, 1, 5}, {2, 1, 4, 1}},
		{{4, 1}, {1, 7}},
		{{}, {3, 2}},
		{{2, 1, 1, 1, 1, 1, 1, 1, 3}, {1, 2, 1, 1, 1, 1, 1, 2, 1}}, // rank 9: fits once size-1 dims go
		{{0, 3}, {1, 3}},
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"} {
		opset := 14
		switch op {
		case "Max", "Min", "Sum", "Equal", "Less", "Greater":
			opset = 13
		case "LessOrEqual", "GreaterOrEqual":
			opset = 16
		}
		for _, sh := range shapes {
			x, y := randF(r, -3, 3, sh[0]...), randF(r, -3, 3, sh[1]...)
			if op == "Equal" { // make some equal
				x, y = randI[int64](r, 0, 3, sh[0]...), randI[int64](r, 0, 3, sh[1]...)
			}
			cases = append(cases, kcase{name: op + "/" + tensor.Shape(sh[0]).String() + "x" + tensor.Shape(sh[1]).String(), op: op, opset: opset, in: []*tensor.Tensor{x, y}})
		}
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Max", "Min", "Less", "Equal"} {
		opset := 13
		if op == "Less" {
			opset = 13
		}
		cases = append(cases,
			kcase{name: op + "/int32", op: op, opset: opset, in: []*tensor.Tensor{randI[int32](r, -50, 50, 4, 6), randI[int32](r, 1, 9, 6)}},
			kcase{name: op + "/int64", op: op, opset: opset, in: []*tensor.Tensor{randI[int64](r, -50, 50, 4, 6), randI[int64](r, -9, -1, 4, 1)}})
	}
	cases = append(cases,
		kcase{name: "Pow", op: "Pow", opset: 15, in: []*tensor.Tensor{pos, randF(r, -2, 2, 5)}},
		kcase{name: "Pow/square", op: "Pow", opset: 15, in: []*tensor.Tensor{a, tensor.Scalar(float32(2))}},
		kcase{name: "Mod/fmod", op: "Mod", opset: 13, attrs: attrs{"fmod": aI(1)}, in: []*tensor.Tensor{a, pos}},
		kcase{name: "Mod/int", op: "Mod", opset: 13, in: []*tensor.Tensor{randI[int64](r, -50, 50, 30), randI[int64](r, -7, -1, 30)}},
		kcase{name: "PRelu", op: "PRelu", opset: 16, in: []*tensor.Tensor{a, randF(r, 0, 1, 3, 1, 1)}},
		kcase{name: "And", op: "And", opset: 7, in: []*tensor.Tensor{randB(r, 3, 4), randB(r, 4)}},
		kcase{name: "Or", op: "Or", opset: 7, in: []*tensor.Tensor{randB(r, 3, 4), randB(r, 3, 4)}},
		kcase{name: "Xor", op: "Xor", opset: 7, in: []*tensor.Tensor{randB(r, 3, 1), randB(r, 4)}},
		kcase{name: "Equal/bool", op: "Equal", opset: 13, in: []*tensor.Tensor{randB(r, 3, 4), randB(r, 4)}},
		kcase{name: "Not", op: "Not", opset: 1, in: []*tensor.Tensor{randB(r, 5, 7)}},
		kcase{name: "Where", op: "Where", opset: 16, in: []*tensor.Tensor{randB(r, 4, 1), randF(r, -3, 3, 2, 3, 4, 5), randF(r, 0, 1, 5)}},
		kcase{name: "Where/int64", op: "Where", opset: 16, in: []*tensor.Tensor{randB(r, 3, 4), randI[int64](r, 0, 9, 4), randI[int64](r, 0, 9, 3, 1)}},
		kcase{name: "Cast/f32-i64", op: "Cast", opset: 13, attrs: attrs{"to": aI(int64(tensor.Int64))}, in: []*tensor.Tensor{randI[int32](r, -90, 90, 20)}},
		kcase{name: "Cast/i64-f32", op: "Cast", opset: 13, attrs: attrs{"to": aI(int64(tensor.Float32))}, in: []*tensor.Tensor{randI[int64](r, -90, 90, 20)}},
		kcase{name: "Cast/bool-f32", op: "Cast", opset: 13, attrs: attrs{"to": aI(int64(tensor.Float32))}, in: []*tensor.Tensor{randB(r, 20)}},
		kcase{name: "Cast/f32-bool", op: "Cast", opset: 13, attrs: attrs{"to": aI(int64(tensor.Bool))}, in: []*tensor.Tensor{randI[int32](r, -1, 1, 20)}},
	)
	run(t, cases)
}

func TestIntegerDivisionByZero(t *testing.T) {
	e := setup(t)
	r := rng(t)
	c := kcase{name: "div0", op: "Div", opset: 14, in: []*tensor.Tensor{randI[int64](r, 1, 9, 8), ints(1, 2, 0, 4, 5, 6, 7, 8)}}
	if _, err := e.devRun(t, c); !errors.Is(err, ops.ErrInvalidNode) {
		t.Errorf("integer division by zero on the device = %v, want ErrInvalidNode", err)
	}
	// The stream recovers.
	c.in[1] = ints(1, 2, 3, 4, 5, 6, 7, 8)
	e.check(t, c)
}

func TestUnsupportedReasons(t *testing.T) {
	// Nodes a device kernel cannot take are refused at prepare time with
	// ErrUnsupported and a reason, never run wrongly.
	e := setup(t)
	r := rng(t)
	for _, c := range []kcase{
		{name: "float16", op: "Relu", opset: 14, in: []*tensor.Tensor{must(tensor.New(tensor.Float16, tensor.Shape{4}))}},
		{name: "Clip bound unknown", op: "Clip", opset: 13, in: []*tensor.Tensor{randF(r, 0, 1, 4), scalarF(0)}},
		{name: "no kernel", op: "Hardmax", opset: 13, in: []*tensor.Tensor{randF(r, 0, 1, 4)}},
		{name: "old version", op: "Add", opset: 6, attrs: attrs{"broadcast": aI(1)}, in: []*tensor.Tensor{randF(r, 0, 1, 4), randF(r, 0, 1, 4)}},
		{name: "3-D conv", op: "Conv", opset: 11, in: []*tensor.Tensor{randF(r, 0, 1, 1, 1, 3, 3, 3), randF(r, 0, 1, 1, 1, 2, 2, 2)}},
		{name: "float to int cast", op: "Cast", opset: 13, attrs: attrs{"to": aI(int64(tensor.Int32))}, in: []*tensor.Tensor{randF(r, 0, 1, 4)}},
		{name: "data-dependent shape", op: "NonZero", opset: 13, in: []*tensor.Tensor{randF(r, 0, 1, 4)}},
	} {
		_, err := e.devRun(t, c)
		if !errors.Is(err, runtime.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}

func must(t *tensor.Tensor, err error) *tensor.Tensor {
	if err != nil {
		panic(err)
	}
	return t
}
