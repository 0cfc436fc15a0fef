package opencl

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// Reduction kinds, as numbered in reduce.cl.
const (
	rSum = iota
	rMean
	rMax
	rMin
	rProd
	rSumSquare
	rL1
	rL2
	rLogSum
	rLogSumExp
)

// redWG is RED_WG of reduce.cl and softmax.cl: the work group per row.
const redWG = 64

type reduceOp struct {
	name      string
	versions  []int
	kind      int
	axesInput int // the first opset where axes is an input, not an attribute
}

func reduceOps() []reduceOp {
	return []reduceOp{
		{"ReduceSum", []int{1, 11, 13}, rSum, 13},
		{"ReduceMean", []int{1, 11, 13, 18}, rMean, 18},
		{"ReduceMax", []int{1, 11, 12, 13, 18, 20}, rMax, 18},
		{"ReduceMin", []int{1, 11, 12, 13, 18, 20}, rMin, 18},
		{"ReduceProd", []int{1, 11, 13, 18}, rProd, 18},
		{"ReduceSumSquare", []int{1, 11, 13, 18}, rSumSquare, 18},
		{"ReduceL1", []int{1, 11, 13, 18}, rL1, 18},
		{"ReduceL2", []int{1, 11, 13, 18}, rL2, 18},
		{"ReduceLogSum", []int{1, 11, 13, 18}, rLogSum, 18},
		{"ReduceLogSumExp", []int{1, 11, 13, 18}, rLogSumExp, 18},
	}
}

func (o reduceOp) deviceOp() *ops.DeviceOp {
	return &ops.DeviceOp{Backend: backendName, Name: o.name, Versions: o.versions, Prepare: func(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
		rank := len(n.Inputs[0].Shape)
		var axes []int64
		noop := false
		if n.Opset >= o.axesInput {
			noop = n.Attrs.Int("noop_with_empty_axes", 0) != 0
			if t := n.Input(1); t.Present() {
				if t.Value == nil {
					return nil, unsupported("axes not known when preparing")
				}
				v, err := int64Values(t.Value)
				if err != nil {
					return nil, err
				}
				axes = v
			}
		} else {
			axes = n.Attrs.Ints("axes", nil)
		}
		if err := n.Attrs.Err(); err != nil {
			return nil, err
		}
		reduced := make([]bool, rank)
		if len(axes) == 0 && !noop {
			for i := range reduced {
				reduced[i] = true
			}
		}
		for _, a := range axes {
			ax, err := normAxis(a, rank)
			if err != nil {
				return nil, err
			}
			reduced[ax] = true
		}
		return prepareReduce(rd, n, plan, reduced, o.kind)
	}}
}

// prepareReduce reduces the marked dimensions of input 0 (any set of them:
// the kernel walks kept and reduced dimensions through their strides).
func prepareReduce(rd runtime.Device, n *ops.Node, plan *ops.Plan, reduced []bool, kind int) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	if err := floatOnly(dev, dt); err != nil {
		return nil, err
	}
	x := n.Inputs[0].Shape
	st := contiguousStrides(x)
	var kd, ks, rdims, rs []int64
	for i, d := range x {
		if reduced[i] {
			rdims, rs = append(rdims, int64(d)), append(rs, st[i])
		} else {
			kd, ks = append(kd, int64(d)), append(ks, st[i])
		}
	}
	kept, err := newShapeT(kd, ks)
	if err != nil {
		return nil, err
	}
	red, err := newShapeT(rdims, rs)
	if err != nil {
		return nil, err
	}
	nout, r := int64(1), int64(1)
	for _, d := range kd {
		nout *= d
	}
	for _, d := range rdims {
		r *= d
	}
	if r == 0 && nout > 0 {
		return nil, unsupported("reduction over an empty dimension")
	}
	defs, err := typeDefines(dev, dt)
	if err != nil {
		return nil, err
	}
	defs += " -DACC=" + ctype(dt)
	k, err := kernelOf(dev, "reduce.cl", defs, "reduce")
	if err != nil {
		return nil, err
	}
	if err := needGroup(k, redWG); err != nil {
		return nil, err
	}
	kb, rb := kept.bytes(), red.bytes()
	scale := scalar(dt, 1/float64(max(r, 1)))
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0])
		if err != nil {
			return err
		}
		return launchGroups(s, k, nout, redWG, append(a, nout, r, kb, rb, int32(kind), scale)...)
	}, 1)}, nil
}

// prepareGlobalPool is GlobalAveragePool and GlobalMaxPool: a reduction
// over every spatial dimension.
func prepareGlobalPool(kind int) func(runtime.Device, *ops.Node, *ops.Plan) (*ops.DevicePlan, error) {
	return func(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
		rank := len(n.Inputs[0].Shape)
		if rank < 3 {
			return nil, unsupported("rank %d", rank)
		}
		reduced := make([]bool, rank)
		for i := 2; i < rank; i++ {
			reduced[i] = true
		}
		return prepareReduce(rd, n, plan, reduced, kind)
	}
}

// prepareSoftmax is Softmax and LogSoftmax: over one axis from opset 13,
// over the flattened trailing dimensions before.
func prepareSoftmax(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	if dt := n.Inputs[0].DType; dt != tensor.Float32 {
		return nil, unsupported("element type %s", dt)
	}
	x := n.Inputs[0].Shape
	def := int64(1)
	if n.Opset >= 13 {
		def = -1
	}
	axis, err := normAxis(n.Attrs.Int("axis", def), len(x))
	if err != nil {
		return nil, err
	}
	prod := func(s tensor.Shape) int64 {
		p := int64(1)
		for _, d := range s {
			p *= int64(d)
		}
		return p
	}
	var outer, l, inner int64
	if len(x) == 0 {
		outer, l, inner = 1, 1, 1
	} else if n.Opset >= 13 {
		outer, l, inner = prod(x[:axis]), int64(x[axis]), prod(x[axis+1:])
	} else {
		outer, l, inner = prod(x[:axis]), prod(x[axis:]), 1
	}
	k, err := kernelOf(dev, "softmax.cl", "", "softmax")
	if err != nil {
		return nil, err
	}
	if err := needGroup(k, redWG); err != nil {
		return nil, err
	}
	logOut := int32(0)
	if n.OpType == "LogSoftmax" {
		logOut = 1
	}
	rows := outer * inner
	if l == 0 {
		rows = 0
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0])
		if err != nil {
			return err
		}
		return launchGroups(s, k, rows, redWG, append(a, rows, l, inner, logOut)...)
	})}, nil
}

// prepareLayerNorm normalizes over the dimensions from axis on, with scale
// and bias of that trailing shape (or one element).
func prepareLayerNorm(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	if dt := n.Inputs[0].DType; dt != tensor.Float32 {
		return nil, unsupported("element type %s", dt)
	}
	x := n.Inputs[0].Shape
	axis, err := normAxis(n.Attrs.Int("axis", -1), len(x))
	if err != nil {
		return nil, err
	}
	eps := n.Attrs.Float("epsilon", 1e-5)
	if st := n.Attrs.Int("stash_type", 1); st != 1 {
		return nil, unsupported("stash_type %d", st)
	}
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	rows, l := int64(1), int64(1)
	for i, d := range x {
		if i < axis {
			rows *= int64(d)
		} else {
			l *= int64(d)
		}
	}
	step := func(i int) (int64, error) {
		t := n.Input(i)
		if !t.Present() {
			return 0, nil
		}
		switch int64(t.Shape.NumElements()) {
		case l:
			return 1, nil
		case 1:
			return 0, nil
		}
		return 0, unsupported("input %d of shape %v for normalized size %d", i, t.Shape, l)
	}
	sStep, err := step(1)
	if err != nil {
		return nil, err
	}
	bStep, err := step(2)
	if err != nil {
		return nil, err
	}
	hasBias := n.Input(2).Present()
	k, err := kernelOf(dev, "softmax.cl", "", "layer_norm")
	if err != nil {
		return nil, err
	}
	if err := needGroup(k, redWG); err != nil {
		return nil, err
	}
	if l == 0 {
		rows = 0
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0], in[1])
		if err != nil {
			return err
		}
		a = append(a, sStep)
		bias, has := in[1], int32(0)
		if hasBias {
			bias, has = in[2], 1
		}
		bb, bo, err := arg(bias)
		if err != nil {
			return err
		}
		a = append(a, bb, bo, bStep, has)
		stats := int32(0)
		for i := 1; i <= 2; i++ {
			t := out[0]
			if i < len(out) && out[i] != nil {
				t = out[i]
				stats |= 1 << (i - 1)
			}
			tb, to, err := arg(t)
			if err != nil {
				return err
			}
			a = append(a, tb, to)
		}
		a = append(a, stats, rows, l, eps)
		return launchGroups(s, k, rows, redWG, a...)
	})}, nil
}
