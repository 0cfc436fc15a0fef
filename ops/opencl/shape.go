package opencl

import (
	"encoding/binary"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	clrt "github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/tensor"
)

// prepareView serves the operators that only change metadata (Reshape,
// Flatten, Squeeze, Unsqueeze, Identity, inference Dropout): the output is
// a view of input 0's storage with the planned shape.
func prepareView(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	if _, err := device(rd); err != nil {
		return nil, err
	}
	if n.OpType == "Dropout" {
		if len(plan.Outputs) > 1 {
			return nil, unsupported("Dropout's mask output")
		}
		if t := n.Input(2); t.Present() {
			if t.Value == nil {
				return nil, unsupported("training_mode not known when preparing")
			}
			if v, err := scalarValue(t.Value); err != nil || v != 0 {
				return nil, unsupported("Dropout in training mode")
			}
		}
	}
	if len(plan.Outputs) != 1 || plan.Outputs[0].DType != n.Inputs[0].DType {
		return nil, unsupported("a view must keep the element type")
	}
	shape := plan.Outputs[0].Shape.Clone()
	return &ops.DevicePlan{View: true, Kernel: viewGuard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		v, err := in[0].Reshape(shape)
		if err != nil {
			return err
		}
		out[0] = v
		return nil
	})}, nil
}

// copyKernel is strided_copy of copy.cl for the element size of dt.
func copyKernel(dev *clrt.Device, dt tensor.DType, name string) (*clrt.Kernel, error) {
	et := bitsType(dt)
	if et == "" || dt == tensor.String {
		return nil, unsupported("element type %s", dt)
	}
	return kernelOf(dev, "copy.cl", "-DE="+et+" -DIDX=long", name)
}

// stridedCopy is one launch of strided_copy: the elements of dims, read at
// soff + Σ i·ss and written at doff + Σ i·ds (offsets relative to the
// tensors' own).
type stridedCopy struct {
	n          int64
	soff, doff int64
	sh         []byte
}

func newStridedCopy(dims, ss, ds []int64, soff, doff int64) (*stridedCopy, error) {
	st, err := newShapeT(dims, ss, ds)
	if err != nil {
		return nil, err
	}
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return &stridedCopy{n: n, soff: soff, doff: doff, sh: st.bytes()}, nil
}

func (c *stridedCopy) launch(s runtime.Stream, k *clrt.Kernel, src, dst *tensor.Tensor) error {
	sb, so, err := arg(src)
	if err != nil {
		return err
	}
	db, do, err := arg(dst)
	if err != nil {
		return err
	}
	return launch1D(s, k, c.n, sb, so+c.soff, db, do+c.doff, c.n, c.sh)
}

// prepareTranspose permutes dimensions by reading through permuted strides.
func prepareTranspose(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Shape
	perm := n.Attrs.Ints("perm", nil)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if perm == nil {
		perm = make([]int64, len(x))
		for i := range perm {
			perm[i] = int64(len(x) - 1 - i)
		}
	}
	in := contiguousStrides(x)
	ss := make([]int64, len(perm))
	for i, p := range perm {
		ss[i] = in[p]
	}
	out := plan.Outputs[0].Shape
	c, err := newStridedCopy(dims64(out), ss, contiguousStrides(out), 0, 0)
	if err != nil {
		return nil, err
	}
	k, err := copyKernel(dev, n.Inputs[0].DType, "strided_copy")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		return c.launch(s, k, in[0], out[0])
	})}, nil
}

// prepareConcat writes each input into its slab of the output.
func prepareConcat(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	out := plan.Outputs[0].Shape
	axis, err := normAxis(n.Attrs.Int("axis", 1), len(out))
	if err != nil {
		return nil, err
	}
	os := contiguousStrides(out)
	var copies []*stridedCopy
	at := int64(0)
	for _, t := range n.Inputs {
		c, err := newStridedCopy(dims64(t.Shape), contiguousStrides(t.Shape), os, 0, at*os[axis])
		if err != nil {
			return nil, err
		}
		copies = append(copies, c)
		at += int64(t.Shape[axis])
	}
	k, err := copyKernel(dev, plan.Outputs[0].DType, "strided_copy")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		for i, c := range copies {
			if err := c.launch(s, k, in[i], out[0]); err != nil {
				return err
			}
		}
		return nil
	})}, nil
}

// prepareSplit reads each output's slab of the input; the planned output
// shapes give the sizes, whichever way the node specified them.
func prepareSplit(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Shape
	axis, err := normAxis(n.Attrs.Int("axis", 0), len(x))
	if err != nil {
		return nil, err
	}
	xs := contiguousStrides(x)
	var copies []*stridedCopy
	at := int64(0)
	for _, o := range plan.Outputs {
		c, err := newStridedCopy(dims64(o.Shape), xs, contiguousStrides(o.Shape), at*xs[axis], 0)
		if err != nil {
			return nil, err
		}
		copies = append(copies, c)
		at += int64(o.Shape[axis])
	}
	k, err := copyKernel(dev, n.Inputs[0].DType, "strided_copy")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		for i, c := range copies {
			if err := c.launch(s, k, in[0], out[i]); err != nil {
				return err
			}
		}
		return nil
	}, 1)}, nil
}

// prepareSlice reads the planned window through offset and scaled strides;
// starts, ends, axes and steps must be known when preparing.
func prepareSlice(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Shape
	vals := make([][]int64, 5)
	for i := 1; i <= 4; i++ {
		t := n.Input(i)
		if !t.Present() {
			continue
		}
		if t.Value == nil {
			return nil, unsupported("Slice input %d not known when preparing", i)
		}
		if vals[i], err = int64Values(t.Value); err != nil {
			return nil, err
		}
	}
	starts, axes, steps := vals[1], vals[3], vals[4]
	if axes == nil {
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	xs := contiguousStrides(x)
	ss := append([]int64(nil), xs...)
	base := int64(0)
	for i, a := range axes {
		ax, err := normAxis(a, len(x))
		if err != nil {
			return nil, err
		}
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		dim := int64(x[ax])
		st := starts[i]
		if st < 0 {
			st += dim
		}
		if step > 0 {
			st = min(max(st, 0), dim)
		} else {
			st = min(max(st, 0), dim-1)
		}
		base += st * xs[ax]
		ss[ax] = xs[ax] * step
	}
	out := plan.Outputs[0].Shape
	c, err := newStridedCopy(dims64(out), ss, contiguousStrides(out), base, 0)
	if err != nil {
		return nil, err
	}
	if out.NumElements() == 0 {
		c.soff = 0
	}
	k, err := copyKernel(dev, n.Inputs[0].DType, "strided_copy")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		return c.launch(s, k, in[0], out[0])
	}, 1, 2, 3, 4)}, nil
}

// prepareExpand broadcasts the input to the planned shape (stride 0 along
// broadcast dimensions).
func prepareExpand(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	out := plan.Outputs[0].Shape
	c, err := newStridedCopy(dims64(out), broadcastStrides(n.Inputs[0].Shape, out), contiguousStrides(out), 0, 0)
	if err != nil {
		return nil, err
	}
	k, err := copyKernel(dev, n.Inputs[0].DType, "strided_copy")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		return c.launch(s, k, in[0], out[0])
	}, 1)}, nil
}

// prepareGather takes slices along an axis at int32 or int64 indices. Out
// of range indices known when preparing keep the node on the CPU (which
// reports them); others are caught by the kernel and reported by the
// stream.
func prepareGather(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	data, idx := n.Inputs[0], n.Inputs[1]
	et := bitsType(data.DType)
	if et == "" || data.DType == tensor.String {
		return nil, unsupported("element type %s", data.DType)
	}
	it := "long"
	switch idx.DType {
	case tensor.Int64:
	case tensor.Int32:
		it = "int"
	default:
		return nil, unsupported("indices of type %s", idx.DType)
	}
	axis, err := normAxis(n.Attrs.Int("axis", 0), len(data.Shape))
	if err != nil {
		return nil, err
	}
	outer, inner := int64(1), int64(1)
	for i, d := range data.Shape {
		if i < axis {
			outer *= int64(d)
		} else if i > axis {
			inner *= int64(d)
		}
	}
	axisLen := int64(data.Shape[axis])
	nidx := int64(idx.Shape.NumElements())
	live := true
	if idx.Value != nil {
		v, err := int64Values(idx.Value)
		if err != nil {
			return nil, err
		}
		for _, x := range v {
			if x < -axisLen || x >= axisLen {
				return nil, unsupported("index %d out of range for axis of %d", x, axisLen)
			}
		}
		live = false
	}
	k, err := kernelOf(dev, "copy.cl", "-DE="+et+" -DIDX="+it, "gather")
	if err != nil {
		return nil, err
	}
	total := outer * nidx * inner
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		if total == 0 {
			return nil
		}
		a, err := args(in[0], in[1], out[0])
		if err != nil {
			return err
		}
		flag, err := newErrFlag(s, live)
		if err != nil {
			return err
		}
		if err := launch1D(s, k, total, append(a, total, axisLen, inner, nidx, flag.buf)...); err != nil {
			flag.buf.Free()
			return err
		}
		return flag.check(s, "Gather: index out of range")
	})}, nil
}

// prepareTrilu keeps a triangle of each matrix of the last two dimensions.
func prepareTrilu(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Shape
	if len(x) < 2 {
		return nil, unsupported("rank %d", len(x))
	}
	kk := int64(0)
	if t := n.Input(1); t.Present() {
		if t.Value == nil {
			return nil, unsupported("k not known when preparing")
		}
		v, err := int64Values(t.Value)
		if err != nil || len(v) != 1 {
			return nil, unsupported("k of %d values", len(v))
		}
		kk = v[0]
	}
	upper := int32(n.Attrs.Int("upper", 1))
	k, err := copyKernel(dev, n.Inputs[0].DType, "trilu")
	if err != nil {
		return nil, err
	}
	rows, cols := int64(x[len(x)-2]), int64(x[len(x)-1])
	total := int64(x.NumElements())
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0])
		if err != nil {
			return err
		}
		return launch1D(s, k, total, append(a, total, rows, cols, kk, upper)...)
	}, 1)}, nil
}

// prepareShape writes the (planned) shape values with a copy to the device.
func prepareShape(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	if _, err := device(rd); err != nil {
		return nil, err
	}
	x := n.Inputs[0].Shape
	r := int64(len(x))
	start, end := n.Attrs.Int("start", 0), n.Attrs.Int("end", r)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start, end = clamp(start), clamp(end)
	var data []byte
	for i := start; i < end; i++ {
		data = binary.LittleEndian.AppendUint64(data, uint64(x[i]))
	}
	if int64(len(data)) != int64(plan.Outputs[0].Shape.NumElements())*8 {
		return nil, unsupported("shape slice [%d, %d) disagrees with the plan", start, end)
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		if len(data) == 0 {
			return nil
		}
		// data never changes, so it may be copied from asynchronously.
		return s.CopyToDevice(out[0].Buffer(), out[0].Offset(), data)
	}, 0)}, nil
}

// prepareConstantOfShape fills the output with the value attribute.
func prepareConstantOfShape(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	dt := plan.Outputs[0].DType
	var bits []byte
	if v := n.Attrs.Tensor("value"); v != nil {
		raw, ok := v.HostBytes()
		if !ok || len(raw) != dt.Size() {
			return nil, unsupported("value attribute of %d bytes", len(raw))
		}
		bits = raw
	} else {
		bits = make([]byte, dt.Size())
	}
	var val any
	switch len(bits) {
	case 1:
		val = bits[0]
	case 2:
		val = binary.LittleEndian.Uint16(bits)
	case 4:
		val = binary.LittleEndian.Uint32(bits)
	case 8:
		val = binary.LittleEndian.Uint64(bits)
	default:
		return nil, unsupported("element type %s", dt)
	}
	k, err := copyKernel(dev, dt, "fill")
	if err != nil {
		return nil, err
	}
	total := int64(plan.Outputs[0].Shape.NumElements())
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		ob, oo, err := arg(out[0])
		if err != nil {
			return err
		}
		return launch1D(s, k, total, ob, oo, total, val)
	}, 0)}, nil
}
