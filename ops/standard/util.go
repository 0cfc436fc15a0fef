package standard

import (
	"fmt"
	"slices"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// def describes an operator whose versions share one Prepare function;
// Prepare reads n.Opset for what changed between versions.
type def struct {
	domain      string // "" for ai.onnx
	name        string
	since       []int
	inputs      [2]int // min, max (-1: variadic)
	outputs     [2]int
	valueInputs []int
	prepare     func(n *ops.Node) (*ops.Plan, error)
	doc         string
}

func (d def) ops() []*ops.Op {
	list := make([]*ops.Op, len(d.since))
	for i, v := range d.since {
		list[i] = &ops.Op{
			Domain: d.domain, Name: d.name, Since: v,
			MinInputs: d.inputs[0], MaxInputs: d.inputs[1],
			MinOutputs: d.outputs[0], MaxOutputs: d.outputs[1],
			ValueInputs: d.valueInputs, Prepare: d.prepare, Doc: d.doc,
		}
	}
	return list
}

// Type sets, for checking inputs.
var (
	floatTypes   = []tensor.DType{tensor.Float16, tensor.BFloat16, tensor.Float32, tensor.Float64}
	intTypes     = []tensor.DType{tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64}
	signedTypes  = []tensor.DType{tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.Float16, tensor.BFloat16, tensor.Float32, tensor.Float64}
	numericTypes = append(slices.Clone(floatTypes), intTypes...)
	allTypes     = append(slices.Clone(numericTypes), tensor.Bool, tensor.String, tensor.Complex64, tensor.Complex128)
)

// checkType fails unless input i is a present tensor of one of the types.
func checkType(n *ops.Node, i int, allowed []tensor.DType) error {
	t := n.Input(i)
	if !t.Present() {
		return n.Errorf("input %d is required", i)
	}
	if t.Kind != ops.KindTensor {
		return n.Errorf("input %d must be a tensor, got %s", i, t)
	}
	if !slices.Contains(allowed, t.DType) {
		return n.Errorf("input %d has type %s, want one of %v", i, t.DType, allowed)
	}
	return nil
}

// checkSameType fails unless the present inputs listed share input first's type.
func checkSameType(n *ops.Node, first int, others ...int) error {
	want := n.Input(first).DType
	for _, i := range others {
		if t := n.Input(i); t.Present() && t.DType != want {
			return n.Errorf("input %d has type %s, input %d has %s: they must match", i, t.DType, first, want)
		}
	}
	return nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(n *ops.Node, axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, n.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// intsOf reads an int32 or int64 tensor's values (shapes, axes, pads).
func intsOf(t *tensor.Tensor) ([]int64, error) {
	switch t.DType() {
	case tensor.Int64:
		return tensor.ToSlice[int64](t)
	case tensor.Int32:
		v, err := tensor.View[int32](t)
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want an int32 or int64 tensor, got %s: %w", t.DType(), ops.ErrInvalidNode)
}

// halfAsFloat32 runs a float32 kernel on float16 and bfloat16 tensors: the
// half-precision inputs are widened, the kernel computes in float32, and the
// outputs of half type are rounded back. Other inputs pass through. This is
// how ONNX Runtime's CPU provider treats half types too: exact to within the
// final rounding.
func halfAsFloat32(half tensor.DType, k ops.Kernel) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		win := make([]*tensor.Tensor, len(in))
		for i, t := range in {
			if t != nil && t.DType() == half {
				w, err := widen(t)
				if err != nil {
					return err
				}
				t = w
			}
			win[i] = t
		}
		wout := make([]*tensor.Tensor, len(out))
		for i, t := range out {
			if t != nil && t.DType() == half {
				w, err := tensor.New(tensor.Float32, t.Shape())
				if err != nil {
					return err
				}
				t = w
			}
			wout[i] = t
		}
		if err := k(env, win, wout); err != nil {
			return err
		}
		for i, w := range wout {
			if w == nil || w.DType() != tensor.Float32 || (out[i] != nil && out[i].DType() != half) {
				if out[i] == nil {
					out[i] = w
				}
				continue
			}
			if out[i] == nil {
				t, err := tensor.New(half, w.Shape())
				if err != nil {
					return err
				}
				out[i] = t
			}
			if err := narrow(out[i], w); err != nil {
				return err
			}
		}
		return nil
	}
}

func widen(t *tensor.Tensor) (*tensor.Tensor, error) {
	w, err := tensor.New(tensor.Float32, t.Shape())
	if err != nil {
		return nil, err
	}
	dst, _ := tensor.View[float32](w)
	switch t.DType() {
	case tensor.Float16:
		src, err := tensor.View[tensor.F16](t)
		if err != nil {
			return nil, err
		}
		for i, h := range src {
			dst[i] = h.Float32()
		}
	case tensor.BFloat16:
		src, err := tensor.View[tensor.BF16](t)
		if err != nil {
			return nil, err
		}
		for i, h := range src {
			dst[i] = h.Float32()
		}
	}
	return w, nil
}

func narrow(dst, src *tensor.Tensor) error {
	s, err := tensor.View[float32](src)
	if err != nil {
		return err
	}
	switch dst.DType() {
	case tensor.Float16:
		d, err := tensor.View[tensor.F16](dst)
		if err != nil {
			return err
		}
		for i, f := range s {
			d[i] = tensor.Float16FromFloat32(f)
		}
	case tensor.BFloat16:
		d, err := tensor.View[tensor.BF16](dst)
		if err != nil {
			return err
		}
		for i, f := range s {
			d[i] = tensor.BFloat16FromFloat32(f)
		}
	}
	return nil
}

// storeFloat64s writes float64 values into a tensor of any numeric type;
// integers truncate toward zero as in a C cast.
func storeFloat64s(y *tensor.Tensor, vals []float64) error {
	switch y.DType() {
	case tensor.Float32:
		return storeFloat64sAs[float32](y, vals)
	case tensor.Float64:
		return storeFloat64sAs[float64](y, vals)
	case tensor.Int8:
		return storeFloat64sAs[int8](y, vals)
	case tensor.Int16:
		return storeFloat64sAs[int16](y, vals)
	case tensor.Int32:
		return storeFloat64sAs[int32](y, vals)
	case tensor.Int64:
		return storeFloat64sAs[int64](y, vals)
	case tensor.Uint8:
		return storeFloat64sAs[uint8](y, vals)
	case tensor.Uint16:
		return storeFloat64sAs[uint16](y, vals)
	case tensor.Uint32:
		return storeFloat64sAs[uint32](y, vals)
	case tensor.Uint64:
		return storeFloat64sAs[uint64](y, vals)
	case tensor.Float16:
		o, err := tensor.View[tensor.F16](y)
		if err != nil {
			return err
		}
		for i, v := range vals {
			o[i] = tensor.Float16FromFloat32(float32(v))
		}
		return nil
	case tensor.BFloat16:
		o, err := tensor.View[tensor.BF16](y)
		if err != nil {
			return err
		}
		for i, v := range vals {
			o[i] = tensor.BFloat16FromFloat32(float32(v))
		}
		return nil
	}
	return errorf("unsupported output type %s", y.DType())
}

func storeFloat64sAs[T number](y *tensor.Tensor, vals []float64) error {
	o, err := tensor.View[T](y)
	if err != nil {
		return err
	}
	for i, v := range vals {
		o[i] = T(v)
	}
	return nil
}
