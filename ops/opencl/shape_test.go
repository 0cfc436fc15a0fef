package opencl_test

import (
	"errors"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

func TestDataMovement(t *testing.T) {
	r := rng(t)
	x := randF(r, -1, 1, 2, 3, 4, 5)
	xi := randI[int64](r, -100, 100, 2, 3, 4, 5)
	run(t, []kcase{
		{name: "Reshape", op: "Reshape", opset: 14, in: []*tensor.Tensor{x, ints(6, -1)}, consts: []int{1}},
		{name: "Flatten", op: "Flatten", opset: 13, attrs: attrs{"axis": aI(2)}, in: []*tensor.Tensor{x}},
		{name: "Squeeze", op: "Squeeze", opset: 13, in: []*tensor.Tensor{randF(r, 0, 1, 1, 3, 1, 2), ints(0, 2)}, consts: []int{1}},
		{name: "Unsqueeze", op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{x, ints(0, -1)}, consts: []int{1}},
		{name: "Identity", op: "Identity", opset: 16, in: []*tensor.Tensor{xi}},
		{name: "Dropout", op: "Dropout", opset: 13, in: []*tensor.Tensor{x}},
		{name: "Transpose default", op: "Transpose", opset: 13, in: []*tensor.Tensor{x}},
		{name: "Transpose 0213", op: "Transpose", opset: 13, attrs: attrs{"perm": aIs(0, 2, 1, 3)}, in: []*tensor.Tensor{x}},
		{name: "Transpose int64", op: "Transpose", opset: 13, attrs: attrs{"perm": aIs(3, 1, 0, 2)}, in: []*tensor.Tensor{xi}},
		{name: "Transpose bool", op: "Transpose", opset: 13, attrs: attrs{"perm": aIs(1, 0)}, in: []*tensor.Tensor{randB(r, 7, 3)}},
		{name: "Concat axis 1", op: "Concat", opset: 13, attrs: attrs{"axis": aI(1)}, in: []*tensor.Tensor{x, randF(r, 0, 1, 2, 1, 4, 5), randF(r, 0, 1, 2, 7, 4, 5)}},
		{name: "Concat last axis", op: "Concat", opset: 13, attrs: attrs{"axis": aI(-1)}, in: []*tensor.Tensor{x, randF(r, 0, 1, 2, 3, 4, 2)}},
		{name: "Concat int64 1-D", op: "Concat", opset: 13, attrs: attrs{"axis": aI(0)}, in: []*tensor.Tensor{ints(1, 2), ints(), ints(3, 4, 5)}},
		{name: "Split equal", op: "Split", opset: 18, nout: 2, attrs: attrs{"axis": aI(2), "num_outputs": aI(2)}, in: []*tensor.Tensor{randF(r, 0, 1, 2, 3, 8)}},
		{name: "Split sizes", op: "Split", opset: 13, nout: 3, attrs: attrs{"axis": aI(1)}, in: []*tensor.Tensor{x, ints(1, 0, 2)}, consts: []int{1}},
		{name: "Slice", op: "Slice", opset: 13, in: []*tensor.Tensor{x, ints(1, -4), ints(3, 100), ints(1, 3)}, consts: []int{1, 2, 3}},
		{name: "Slice steps", op: "Slice", opset: 13, in: []*tensor.Tensor{x, ints(0, 4, 1), ints(2, 0, 100), ints(1, 3, 2), ints(2, -2, 1)}, consts: []int{1, 2, 3, 4}},
		{name: "Slice reverse", op: "Slice", opset: 13, in: []*tensor.Tensor{xi, ints(-1), ints(-100), ints(0), ints(-1)}, consts: []int{1, 2, 3, 4}},
		{name: "Slice empty", op: "Slice", opset: 13, in: []*tensor.Tensor{x, ints(3), ints(1), ints(2)}, consts: []int{1, 2, 3}},
		{name: "Expand", op: "Expand", opset: 13, in: []*tensor.Tensor{randF(r, 0, 1, 3, 1, 5), ints(2, 1, 4, 1)}, consts: []int{1}},
		{name: "Gather axis 0", op: "Gather", opset: 13, in: []*tensor.Tensor{randF(r, 0, 1, 50, 16), randI[int64](r, -50, 49, 3, 7)}},
		{name: "Gather axis 1 int32", op: "Gather", opset: 13, attrs: attrs{"axis": aI(1)}, in: []*tensor.Tensor{x, randI[int32](r, -3, 2, 4)}},
		{name: "Gather const scalar", op: "Gather", opset: 13, attrs: attrs{"axis": aI(-1)}, in: []*tensor.Tensor{xi, tensor.Scalar(int64(-2))}, consts: []int{1}},
		{name: "Trilu upper", op: "Trilu", opset: 14, in: []*tensor.Tensor{randF(r, 0, 1, 2, 5, 7)}},
		{name: "Trilu lower k", op: "Trilu", opset: 14, attrs: attrs{"upper": aI(0)}, in: []*tensor.Tensor{randF(r, 0, 1, 6, 4), tensor.Scalar(int64(-1))}, consts: []int{1}},
		{name: "Shape", op: "Shape", opset: 15, in: []*tensor.Tensor{x}},
		{name: "Shape start end", op: "Shape", opset: 15, attrs: attrs{"start": aI(1), "end": aI(-1)}, in: []*tensor.Tensor{x}},
		{name: "ConstantOfShape", op: "ConstantOfShape", opset: 20, attrs: attrs{"value": aT(must(tensor.FromSlice([]float32{2.5}, 1)))}, in: []*tensor.Tensor{ints(3, 4)}, consts: []int{0}},
		{name: "ConstantOfShape default", op: "ConstantOfShape", opset: 20, in: []*tensor.Tensor{ints(5)}, consts: []int{0}},
		{name: "ConstantOfShape int64", op: "ConstantOfShape", opset: 20, attrs: attrs{"value": aT(must(tensor.FromSlice([]int64{-7}, 1)))}, in: []*tensor.Tensor{ints(2, 2)}, consts: []int{0}},
	})
}

func TestGatherOutOfRange(t *testing.T) {
	e := setup(t)
	r := rng(t)
	c := kcase{name: "oob", op: "Gather", opset: 13, in: []*tensor.Tensor{randF(r, 0, 1, 5, 3), ints(0, 5, 1)}}
	if _, err := e.devRun(t, c); !errors.Is(err, ops.ErrInvalidNode) {
		t.Errorf("Gather with an index out of range = %v, want ErrInvalidNode", err)
	}
	c.consts = []int{1} // known when preparing: refused there, the CPU reports it
	if _, err := e.devRun(t, c); err == nil {
		t.Errorf("Gather with a known index out of range prepared for the device")
	}
	c.in[1], c.consts = ints(0, -5, 4), nil
	e.check(t, c)
}
