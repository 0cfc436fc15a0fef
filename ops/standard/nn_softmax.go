package standard

import (
	"github.com/gocann/gocann/kernels"
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to
// a 2-D matrix at axis (default 1) and normalized over its rows; from 13 on
// the operator works along axis alone (default -1).

// nnAxisSplit is a tensor seen as outer x n x inner around one axis.
type nnAxisSplit struct{ outer, n, inner int }

func prepareSoftmaxFamily(kind string) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		if err := checkType(n, 0, floatTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, 0); err != nil {
			return nil, err
		}
		s := n.Inputs[0].Shape
		def := int64(-1)
		if n.Opset < 13 {
			def = 1
		}
		axis := n.Attrs.Int("axis", def)
		if err := n.Attrs.Err(); err != nil {
			return nil, err
		}
		r := len(s)
		var sp nnAxisSplit
		if r == 0 {
			if n.Opset < 13 && axis != 0 && axis != -1 {
				return nil, n.Errorf("axis %d out of range for a scalar", axis)
			}
			sp = nnAxisSplit{1, 1, 1}
		} else if n.Opset < 13 {
			if axis < -int64(r) || axis > int64(r) {
				return nil, n.Errorf("axis %d out of range for rank %d", axis, r)
			}
			if axis < 0 {
				axis += int64(r)
			}
			sp = nnAxisSplit{s[:axis].NumElements(), s[axis:].NumElements(), 1}
		} else {
			ax, err := normAxis(n, axis, r)
			if err != nil {
				return nil, err
			}
			sp = nnAxisSplit{s[:ax].NumElements(), s[ax], s[ax+1:].NumElements()}
		}
		dt := n.Inputs[0].DType
		out := s.Clone()
		k, err := nnFloat(n, dt, nnSoftmaxKernel[float32](kind, sp, out), nnSoftmaxKernel[float64](kind, sp, out))
		if err != nil {
			return nil, err
		}
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k, Overwrites: true}, nil
	}
}

func nnSoftmaxKernel[T float32 | float64](kind string, sp nnAxisSplit, out tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		lines := sp.outer * sp.inner
		env.ParallelFor(lines, max(1, 4096/max(sp.n, 1)), func(lo, hi int) {
			for l := lo; l < hi; l++ {
				o, i := l/sp.inner, l%sp.inner
				base := o*sp.n*sp.inner + i
				nnSoftmaxLine(kind, x, y, base, sp.inner, sp.n)
			}
		})
		return nil
	}
}

// nnSoftmaxLine normalizes the n values at x[base + j*stride].
func nnSoftmaxLine[T float32 | float64](kind string, x, y []T, base, stride, n int) {
	if n == 0 {
		return
	}
	mx, arg := x[base], 0
	for j := 1; j < n; j++ {
		if v := x[base+j*stride]; v > mx {
			mx, arg = v, j
		}
	}
	switch kind {
	case "Hardmax":
		for j := 0; j < n; j++ {
			y[base+j*stride] = 0
		}
		y[base+arg*stride] = 1
	case "Softmax":
		var sum float64
		if xf, ok := any(x).([]float32); ok && stride == 1 {
			nnSoftmaxRow32(xf[base:base+n], any(y).([]float32)[base:base+n], float32(mx))
			return
		}
		if stride == 1 {
			xs, ys := x[base:base+n], y[base:base+n]
			for j, v := range xs {
				e := T(math.Exp(float64(v - mx)))
				ys[j] = e
				sum += float64(e)
			}
			inv := T(1 / sum)
			for j := range ys {
				ys[j] *= inv
			}
			return
		}
		for j := 0; j < n; j++ {
			e := T(math.Exp(float64(x[base+j*stride] - mx)))
			y[base+j*stride] = e
			sum += float64(e)
		}
		inv := T(1 / sum)
		for j := 0; j < n; j++ {
			y[base+j*stride] *= inv
		}
	default: // LogSoftmax
		var sum float64
		for j := 0; j < n; j++ {
			sum += math.Exp(float64(x[base+j*stride] - mx))
		}
		ls := T(math.Log(sum))
		for j := 0; j < n; j++ {
			y[base+j*stride] = x[base+j*stride] - mx - ls
		}
	}
}

// nnSoftmaxRow32 is the contiguous float32 softmax (kernels.SoftmaxF32:
// vector exp, float64 sum).
func nnSoftmaxRow32(x, y []float32, mx float32) {
	kernels.SoftmaxF32(y[:len(x)], x)
}
