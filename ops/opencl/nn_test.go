package opencl_test

import (
	"fmt"
	"testing"

	"github.com/gocann/gocann/tensor"
)

func TestMatMul(t *testing.T) {
	r := rng(t)
	var cases []kcase
	for _, sh := range [][2][]int{
		{{1, 1}, {1, 1}},
		{{3, 5}, {5, 7}},
		{{64, 64}, {64, 64}},               // exactly one tile
		{{65, 17}, {17, 130}},              // ragged tiles in every direction
		{{1, 256}, {256, 1000}},            // a classifier row
		{{128, 33}, {33, 1}},               // a column
		{{2, 3, 37, 20}, {20, 9}},          // batch on A only
		{{20}, {4, 20, 6}},                 // 1-D A
		{{4, 7, 20}, {20}},                 // 1-D B
		{{5}, {5}},                         // dot product
		{{2, 1, 9, 8}, {3, 8, 10}},         // broadcast batches both ways
		{{1, 4, 128, 64}, {1, 4, 64, 128}}, // attention scores
		{{0, 8}, {8, 3}},
		{{3, 0}, {0, 4}}, // empty reduction: zeros
	} {
		cases = append(cases, kcase{name: fmt.Sprint(sh[0], "x", sh[1]), op: "MatMul", opset: 13,
			in: []*tensor.Tensor{randF(r, -1, 1, sh[0]...), randF(r, -1, 1, sh[1]...)}})
	}
	gemm := func(name string, m, k, n int, transA, transB bool, alpha, beta float32, c []int) kcase {
		as, bs := []int{m, k}, []int{k, n}
		if transA {
			as = []int{k, m}
		}
		if transB {
			bs = []int{n, k}
		}
		in := []*tensor.Tensor{randF(r, -1, 1, as...), randF(r, -1, 1, bs...)}
		if c != nil {
			in = append(in, randF(r, -1, 1, c...))
		}
		ta, tb := int64(0), int64(0)
		if transA {
			ta = 1
		}
		if transB {
			tb = 1
		}
		return kcase{name: name, op: "Gemm", opset: 13, in: in,
			attrs: attrs{"transA": aI(ta), "transB": aI(tb), "alpha": aF(alpha), "beta": aF(beta)}}
	}
	cases = append(cases,
		gemm("Gemm/plain", 33, 70, 45, false, false, 1, 1, nil),
		gemm("Gemm/transB bias row", 1, 512, 1000, false, true, 1, 1, []int{1000}),
		gemm("Gemm/transA transB", 40, 30, 20, true, true, 0.5, 2, []int{40, 20}),
		gemm("Gemm/transA column bias", 70, 9, 66, true, false, 1, -1, []int{70, 1}),
		gemm("Gemm/scalar bias", 8, 8, 8, false, false, 2, 0.5, []int{}),
		gemm("Gemm/beta 0", 8, 8, 8, false, false, 1, 0, []int{8, 8}),
	)
	run(t, cases)
}

func TestConv(t *testing.T) {
	r := rng(t)
	conv := func(name string, x, w []int, bias bool, at attrs) kcase {
		in := []*tensor.Tensor{randF(r, -1, 1, x...), randF(r, -1, 1, w...)}
		if bias {
			in = append(in, randF(r, -1, 1, w[0]))
		}
		if at == nil {
			at = attrs{}
		}
		if _, ok := at["group"]; !ok {
			at["group"] = aI(int64(x[1] / w[1]))
		}
		return kcase{name: name, op: "Conv", opset: 11, in: in, attrs: at}
	}
	run(t, []kcase{
		conv("1x1", []int{1, 32, 7, 7}, []int{64, 32, 1, 1}, true, nil),
		conv("3x3 pad", []int{2, 8, 13, 11}, []int{20, 8, 3, 3}, true, attrs{"pads": aIs(1, 1, 1, 1)}),
		conv("7x7 stride 2 (resnet stem)", []int{1, 3, 32, 32}, []int{64, 3, 7, 7}, false, attrs{"pads": aIs(3, 3, 3, 3), "strides": aIs(2, 2)}),
		conv("asymmetric pads and strides", []int{1, 5, 10, 9}, []int{17, 5, 3, 2}, true, attrs{"pads": aIs(0, 1, 2, 0), "strides": aIs(2, 1)}),
		conv("dilation", []int{1, 4, 12, 12}, []int{16, 4, 3, 3}, true, attrs{"dilations": aIs(2, 3), "pads": aIs(2, 3, 2, 3)}),
		conv("grouped", []int{2, 12, 8, 8}, []int{48, 3, 3, 3}, true, attrs{"group": aI(4), "pads": aIs(1, 1, 1, 1)}),
		conv("depthwise (mobilenet)", []int{1, 32, 14, 14}, []int{32, 1, 3, 3}, true, attrs{"pads": aIs(1, 1, 1, 1), "strides": aIs(2, 2)}),
		conv("depthwise multiplier 2", []int{1, 8, 9, 9}, []int{16, 1, 5, 5}, false, attrs{"pads": aIs(2, 2, 2, 2)}),
		conv("SAME_UPPER", []int{1, 3, 10, 7}, []int{8, 3, 4, 3}, false, attrs{"auto_pad": aS("SAME_UPPER"), "strides": aIs(3, 2)}),
		conv("SAME_LOWER", []int{1, 3, 10, 7}, []int{8, 3, 4, 4}, false, attrs{"auto_pad": aS("SAME_LOWER")}),
		conv("VALID", []int{1, 3, 10, 7}, []int{20, 3, 4, 3}, true, attrs{"auto_pad": aS("VALID")}),
		conv("1-D", []int{2, 6, 50}, []int{24, 6, 5}, true, attrs{"pads": aIs(2, 1), "strides": aIs(2)}),
		conv("many channels", []int{1, 128, 7, 7}, []int{96, 128, 3, 3}, true, attrs{"pads": aIs(1, 1, 1, 1)}),
	})
}

func TestPool(t *testing.T) {
	r := rng(t)
	x := randF(r, -2, 2, 2, 3, 13, 11)
	pool := func(name, op string, opset int, in *tensor.Tensor, at attrs) kcase {
		return kcase{name: name, op: op, opset: opset, in: []*tensor.Tensor{in}, attrs: at}
	}
	run(t, []kcase{
		pool("MaxPool 3x3 s2 p1 (resnet)", "MaxPool", 12, x, attrs{"kernel_shape": aIs(3, 3), "strides": aIs(2, 2), "pads": aIs(1, 1, 1, 1)}),
		pool("MaxPool ceil", "MaxPool", 12, x, attrs{"kernel_shape": aIs(2, 3), "strides": aIs(2, 2), "ceil_mode": aI(1)}),
		pool("MaxPool dilation", "MaxPool", 12, x, attrs{"kernel_shape": aIs(2, 2), "dilations": aIs(2, 2)}),
		pool("MaxPool SAME_UPPER", "MaxPool", 12, x, attrs{"kernel_shape": aIs(3, 2), "auto_pad": aS("SAME_UPPER"), "strides": aIs(2, 3)}),
		pool("MaxPool 1-D", "MaxPool", 12, randF(r, -1, 1, 2, 4, 30), attrs{"kernel_shape": aIs(4), "strides": aIs(3), "pads": aIs(1, 2)}),
		pool("AveragePool", "AveragePool", 19, x, attrs{"kernel_shape": aIs(3, 3), "strides": aIs(2, 2), "pads": aIs(1, 1, 1, 1)}),
		pool("AveragePool count_include_pad", "AveragePool", 19, x, attrs{"kernel_shape": aIs(3, 3), "strides": aIs(2, 2), "pads": aIs(1, 0, 1, 2), "count_include_pad": aI(1)}),
		pool("AveragePool ceil", "AveragePool", 19, x, attrs{"kernel_shape": aIs(3, 3), "strides": aIs(2, 2), "ceil_mode": aI(1)}),
		pool("AveragePool SAME_LOWER", "AveragePool", 11, x, attrs{"kernel_shape": aIs(3, 2), "auto_pad": aS("SAME_LOWER")}),
		pool("GlobalAveragePool", "GlobalAveragePool", 1, randF(r, -1, 1, 2, 96, 7, 7), nil),
		pool("GlobalAveragePool large", "GlobalAveragePool", 1, randF(r, -1, 1, 1, 3, 112, 112), nil),
		pool("GlobalMaxPool", "GlobalMaxPool", 1, x, nil),
	})
}

func TestNormalization(t *testing.T) {
	r := rng(t)
	x := randF(r, -3, 3, 2, 5, 300)
	run(t, []kcase{
		{name: "Softmax last axis", op: "Softmax", opset: 13, in: []*tensor.Tensor{x}},
		{name: "Softmax middle axis", op: "Softmax", opset: 13, attrs: attrs{"axis": aI(1)}, in: []*tensor.Tensor{x}},
		{name: "Softmax first axis", op: "Softmax", opset: 13, attrs: attrs{"axis": aI(0)}, in: []*tensor.Tensor{x}},
		{name: "Softmax opset 11 flattens", op: "Softmax", opset: 11, attrs: attrs{"axis": aI(1)}, in: []*tensor.Tensor{x}},
		{name: "Softmax large values", op: "Softmax", opset: 13, in: []*tensor.Tensor{randF(r, -80, 80, 4, 1000)}},
		{name: "LogSoftmax", op: "LogSoftmax", opset: 13, in: []*tensor.Tensor{x}},
		{name: "LayerNormalization", op: "LayerNormalization", opset: 17, in: []*tensor.Tensor{x, randF(r, 0.5, 1.5, 300), randF(r, -1, 1, 300)}},
		{name: "LayerNormalization no bias, stats", op: "LayerNormalization", opset: 17, nout: 3,
			attrs: attrs{"axis": aI(1), "epsilon": aF(1e-3)}, in: []*tensor.Tensor{x, randF(r, 0.5, 1.5, 5, 300)}},
		{name: "LayerNormalization mean only", op: "LayerNormalization", opset: 17, nout: 2,
			in: []*tensor.Tensor{randF(r, 2, 3, 6, 64), randF(r, 0.5, 1.5, 64), randF(r, -1, 1, 64)}},
	})
}

func TestReduce(t *testing.T) {
	r := rng(t)
	x := randF(r, 0.1, 2, 3, 4, 5, 6)
	var cases []kcase
	for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp"} {
		for _, ax := range [][]int64{{-1}, {1}, {0, 2}, {1, 2, 3}, nil} {
			for _, keep := range []int64{0, 1} {
				c := kcase{name: fmt.Sprintf("%s/%v/keep%d", op, ax, keep), op: op, opset: 18, attrs: attrs{"keepdims": aI(keep)}, in: []*tensor.Tensor{x}}
				if ax != nil {
					c.in = append(c.in, ints(ax...))
					c.consts = []int{1}
				}
				cases = append(cases, c)
			}
		}
		cases = append(cases, kcase{name: op + "/opset 11 attr", op: op, opset: 11, attrs: attrs{"axes": aIs(1, 3)}, in: []*tensor.Tensor{x}})
	}
	cases = append(cases,
		kcase{name: "ReduceSum/opset 13 input", op: "ReduceSum", opset: 13, in: []*tensor.Tensor{x, ints(2)}, consts: []int{1}},
		kcase{name: "ReduceMean/long rows", op: "ReduceMean", opset: 13, attrs: attrs{"axes": aIs(-1)}, in: []*tensor.Tensor{randF(r, -1, 1, 3, 5000)}},
		kcase{name: "ReduceSum/noop", op: "ReduceSum", opset: 13, attrs: attrs{"noop_with_empty_axes": aI(1)}, in: []*tensor.Tensor{x}},
	)
	run(t, cases)
}
