package standard

import (
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

// nnSoftmaxRow32 is the contiguous float32 softmax with a fast exp; sums
// are kept in float64.
func nnSoftmaxRow32(x, y []float32, mx float32) {
	y = y[:len(x)]
	var sum float64
	for j, v := range x {
		e := nnExp32(v - mx)
		y[j] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for j := range y {
		y[j] *= inv
	}
}

// nnExp32 is exp for float32 to within a few ulp: x = k*ln2 + r with
// |r| <= ln2/2, e^r by its degree-6 Taylor polynomial, times 2^k.
func nnExp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < -87.33654:
		return 0 // below the normal range (and -Inf)
	case x > 88.72283:
		return float32(math.Inf(1))
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	kf := x * log2e
	var k int32
	if kf >= 0 {
		k = int32(kf + 0.5)
	} else {
		k = int32(kf - 0.5)
	}
	fk := float32(k)
	r := x - fk*ln2hi - fk*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	if k < -126 { // e^x still normal, 2^k is not: scale in two steps
		return p * math.Float32frombits(uint32(k+126+127)<<23) * math.Float32frombits(1<<23)
	}
	if k > 127 {
		return p * math.Float32frombits(uint32(k-1+127)<<23) * 2
	}
	return p * math.Float32frombits(uint32(k+127)<<23)
}
