package standard

import (
	"math"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Variadic Min, Max, Sum and Mean; Clip; Where.

func prepareVariadic(n *ops.Node) (*ops.Plan, error) {
	types := floatTypes
	if (n.OpType == "Min" || n.OpType == "Max") && n.Opset >= 12 {
		types = numericTypes
	}
	shapes := make([]tensor.Shape, len(n.Inputs))
	for i := range n.Inputs {
		if err := ewTensorInput(n, i, types); err != nil {
			return nil, err
		}
		shapes[i] = n.Inputs[i].Shape
	}
	others := make([]int, len(n.Inputs)-1)
	for i := range others {
		others[i] = i + 1
	}
	if err := checkSameType(n, 0, others...); err != nil {
		return nil, err
	}
	if n.Opset < 8 { // broadcasting came with opset 8
		for i, s := range shapes {
			if !ewShapeFits(s, shapes[0]) || len(s) != len(shapes[0]) {
				return nil, n.Errorf("input %d has shape %v, input 0 has %v: before opset 8 they must match", i, s, shapes[0])
			}
		}
	}
	out, err := broadcastShapes(shapes...)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	dt := n.Inputs[0].DType
	var k ops.Kernel
	switch dt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		k = ewHalf(dt, variadicKernel[float32](n.OpType))
	case tensor.Float64:
		k = variadicKernel[float64](n.OpType)
	case tensor.Int8:
		k = variadicKernel[int8](n.OpType)
	case tensor.Int16:
		k = variadicKernel[int16](n.OpType)
	case tensor.Int32:
		k = variadicKernel[int32](n.OpType)
	case tensor.Int64:
		k = variadicKernel[int64](n.OpType)
	case tensor.Uint8:
		k = variadicKernel[uint8](n.OpType)
	case tensor.Uint16:
		k = variadicKernel[uint16](n.OpType)
	case tensor.Uint32:
		k = variadicKernel[uint32](n.OpType)
	case tensor.Uint64:
		k = variadicKernel[uint64](n.OpType)
	}
	if k == nil {
		return nil, n.Errorf("unsupported type %s", dt)
	}
	// The kernel broadcasts input 0 into the output, then combines the
	// others into it: only input 0 may share the output's memory.
	plan := &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k, Overwrites: dt.IsFloat()}
	if dt.IsFloat() {
		plan.InPlace = sameShapeInputs(n, out, 0)
	}
	return plan, nil
}

// variadicKernel folds the inputs into the output: the first is broadcast
// into it, then each other is combined in place. Min and Max propagate NaN
// (Go's min and max do), as numpy's minimum and maximum do.
func variadicKernel[T number](op string) ops.Kernel {
	var f func(a, b T) T
	switch op {
	case "Min":
		f = func(a, b T) T { return min(a, b) }
	case "Max":
		f = func(a, b T) T { return max(a, b) }
	default: // Sum, Mean
		f = func(a, b T) T { return a + b }
	}
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		shapes := make([]tensor.Shape, len(in))
		for i, t := range in {
			shapes[i] = t.Shape()
		}
		os, err := broadcastShapes(shapes...)
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, tensor.DTypeOf[T](), os)
		if err != nil {
			return err
		}
		o, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		x0, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		expandInto(o, x0, os, shapes[0])
		for i := 1; i < len(in); i++ {
			x, err := tensor.View[T](in[i])
			if err != nil {
				return err
			}
			// o is read and written at the same index: in place is safe.
			binaryMap(env, o, o, x, os, os, shapes[i], f)
		}
		if op == "Mean" && len(in) > 1 {
			d := T(len(in))
			env.ParallelFor(len(o), ewParallelGrain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					o[i] /= d
				}
			})
		}
		return nil
	}
}

// Clip.

func prepareClip(n *ops.Node) (*ops.Plan, error) {
	types := floatTypes
	if n.Opset >= 12 {
		types = numericTypes
	}
	if err := ewTensorInput(n, 0, types); err != nil {
		return nil, err
	}
	x := n.Inputs[0]
	dt := x.DType
	var lo, hi float64 // attribute bounds before opset 11
	if n.Opset < 11 {
		if len(n.Inputs) > 1 {
			return nil, n.Errorf("before opset 11 Clip takes one input, got %d", len(n.Inputs))
		}
		a := n.Attrs
		lo = float64(a.Float("min", -math.MaxFloat32))
		hi = float64(a.Float("max", math.MaxFloat32))
		if err := a.Err(); err != nil {
			return nil, err
		}
	} else {
		for i := 1; i < len(n.Inputs); i++ {
			t := n.Inputs[i]
			if !t.Present() {
				continue
			}
			if err := checkType(n, i, types); err != nil {
				return nil, err
			}
			if err := checkSameType(n, 0, i); err != nil {
				return nil, err
			}
			if !t.UnknownRank && ewStatic(t.Shape) && t.Shape.NumElements() != 1 {
				return nil, n.Errorf("input %d (bound) must be a scalar, has shape %v", i, t.Shape)
			}
		}
	}
	legacy := n.Opset < 11
	var k ops.Kernel
	switch dt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		k = ewHalf(dt, clipKernel[float32](legacy, lo, hi))
	case tensor.Float64:
		k = clipKernel[float64](legacy, lo, hi)
	case tensor.Int8:
		k = clipKernel[int8](legacy, 0, 0)
	case tensor.Int16:
		k = clipKernel[int16](legacy, 0, 0)
	case tensor.Int32:
		k = clipKernel[int32](legacy, 0, 0)
	case tensor.Int64:
		k = clipKernel[int64](legacy, 0, 0)
	case tensor.Uint8:
		k = clipKernel[uint8](legacy, 0, 0)
	case tensor.Uint16:
		k = clipKernel[uint16](legacy, 0, 0)
	case tensor.Uint32:
		k = clipKernel[uint32](legacy, 0, 0)
	case tensor.Uint64:
		k = clipKernel[uint64](legacy, 0, 0)
	}
	if k == nil {
		return nil, n.Errorf("unsupported type %s", dt)
	}
	plan := &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, x.Shape.Clone())}, Kernel: k, Overwrites: dt.IsFloat()}
	if dt.IsFloat() {
		plan.InPlace = inPlace0
	}
	return plan, nil
}

// clipKernel computes min(max(x, lo), hi), so that lo > hi gives hi as
// ONNX Runtime does, and NaN stays NaN. Bounds are the attributes (legacy)
// or the optional scalar inputs 1 and 2.
func clipKernel[T number](legacy bool, alo, ahi float64) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		var lo, hi T
		hasLo, hasHi := legacy, legacy
		if legacy {
			lo, hi = T(alo), T(ahi)
		}
		for i := 1; i < len(in) && i < 3; i++ {
			if in[i] == nil {
				continue
			}
			v, err := tensor.View[T](in[i])
			if err != nil {
				return err
			}
			if len(v) != 1 {
				return errorf("Clip: bound %d must be a scalar, has shape %v", i, in[i].Shape())
			}
			if i == 1 {
				lo, hasLo = v[0], true
			} else {
				hi, hasHi = v[0], true
			}
		}
		y, err := env.Output(out, 0, tensor.DTypeOf[T](), in[0].Shape())
		if err != nil {
			return err
		}
		o, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		// Branch-free min/max: Clip sits after most convolutions, and on
		// activations of random sign a compare-and-branch loop mispredicts
		// about half the time (5x slower). NaN stays NaN either way.
		if x32, ok := any(x).([]float32); ok {
			// The vector kernel: an absent bound is the infinity.
			l, h := float32(math.Inf(-1)), float32(math.Inf(1))
			if hasLo {
				l = any(lo).(float32)
			}
			if hasHi {
				h = any(hi).(float32)
			}
			o32 := any(o).([]float32)
			env.ParallelFor(len(x), ewParallelGrain, func(a, b int) {
				kernels.ClipF32(o32[a:b], x32[a:b], l, h)
			})
			return nil
		}
		env.ParallelFor(len(x), ewParallelGrain, func(a, b int) {
			xs, ys := x[a:b], o[a:b]
			switch {
			case hasLo && hasHi:
				for i, v := range xs {
					ys[i] = min(max(v, lo), hi)
				}
			case hasLo:
				for i, v := range xs {
					ys[i] = max(v, lo)
				}
			case hasHi:
				for i, v := range xs {
					ys[i] = min(v, hi)
				}
			default:
				copy(ys, xs)
			}
		})
		return nil
	}
}

// Where.

func prepareWhere(n *ops.Node) (*ops.Plan, error) {
	types := allTypes
	if err := ewTensorInput(n, 0, []tensor.DType{tensor.Bool}); err != nil {
		return nil, err
	}
	if err := ewTensorInput(n, 1, types); err != nil {
		return nil, err
	}
	if err := ewTensorInput(n, 2, types); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 1, 2); err != nil {
		return nil, err
	}
	out, err := broadcastShapes(n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	dt := n.Inputs[1].DType
	var k ops.Kernel
	switch dt {
	case tensor.Float32:
		k = whereKernel[float32]()
	case tensor.Float64:
		k = whereKernel[float64]()
	case tensor.Float16:
		k = whereKernel[tensor.F16]()
	case tensor.BFloat16:
		k = whereKernel[tensor.BF16]()
	case tensor.Int8:
		k = whereKernel[int8]()
	case tensor.Int16:
		k = whereKernel[int16]()
	case tensor.Int32:
		k = whereKernel[int32]()
	case tensor.Int64:
		k = whereKernel[int64]()
	case tensor.Uint8:
		k = whereKernel[uint8]()
	case tensor.Uint16:
		k = whereKernel[uint16]()
	case tensor.Uint32:
		k = whereKernel[uint32]()
	case tensor.Uint64:
		k = whereKernel[uint64]()
	case tensor.Bool:
		k = whereKernel[bool]()
	case tensor.String:
		k = whereKernel[string]()
	case tensor.Complex64:
		k = whereKernel[complex64]()
	case tensor.Complex128:
		k = whereKernel[complex128]()
	default:
		return nil, n.Errorf("unsupported type %s", dt)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

func whereKernel[T tensor.Element]() ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		cs, xs, ys := in[0].Shape(), in[1].Shape(), in[2].Shape()
		os, err := broadcastShapes(cs, xs, ys)
		if err != nil {
			return err
		}
		c, err := tensor.View[bool](in[0])
		if err != nil {
			return err
		}
		x, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		y, err := tensor.View[T](in[2])
		if err != nil {
			return err
		}
		t, err := env.Output(out, 0, tensor.DTypeOf[T](), os)
		if err != nil {
			return err
		}
		o, err := tensor.View[T](t)
		if err != nil {
			return err
		}
		ternaryMap(env, o, c, x, y, os, cs, xs, ys, func(c bool, a, b T) T {
			if c {
				return a
			}
			return b
		})
		return nil
	}
}
