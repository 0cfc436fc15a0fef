package standard

import (
	"github.com/gocann/gocann/kernels"
	"math"
	"sync/atomic"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Binary elementwise operators beyond arithmetic: PRelu, Pow, Mod,
// BitShift and the bitwise operators.

var unsignedTypes = []tensor.DType{tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64}

// ewStatic reports whether every shape is fully known.
func ewStatic(shapes ...tensor.Shape) bool {
	for _, s := range shapes {
		for _, d := range s {
			if d < 0 {
				return false
			}
		}
	}
	return true
}

// ewBinaryPlanKernel uses the planned shapes when they are all known (they
// may differ from the tensors' own for legacy broadcasting) and reads the
// shapes at run time otherwise.
func ewBinaryPlanKernel[A, B, O tensor.Element](as, bs, os tensor.Shape, f func(A, B) O) ops.Kernel {
	if ewStatic(as, bs, os) {
		return binaryKernel(as.Clone(), bs.Clone(), os.Clone(), f)
	}
	return ewBinaryKernel(f)
}

// preluLegacy runs k with the slope (input 1) viewed as [C, 1, ..., 1]
// when it is 1-D and does not broadcast to x as it is: PRelu's channel
// slope before opset 7. It decides on the run's shapes, which the plan may
// not have known.
func preluLegacy(k ops.Kernel) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		xs, ss := in[0].Shape(), in[1].Shape()
		if o, err := broadcastShapes(xs, ss); err == nil && o.Equal(xs) {
			return k(env, in, out)
		}
		if len(ss) != 1 || len(xs) < 2 || ss[0] != xs[1] {
			return errorf("PRelu: slope of shape %v does not apply to input shape %v", ss, xs)
		}
		shape := make(tensor.Shape, len(xs)-1)
		for i := range shape {
			shape[i] = 1
		}
		shape[0] = ss[0]
		r, err := in[1].Reshape(shape)
		if err != nil {
			return err
		}
		in2 := append([]*tensor.Tensor(nil), in...)
		in2[1] = r
		return k(env, in2, out)
	}
}

// preluSlopeShape returns the shape under which the slope broadcasts
// unidirectionally to x. Before opset 7 a 1-D slope of x's channel count
// applies per channel (axis 1), as PyTorch exported it.
func preluSlopeShape(n *ops.Node, x, s tensor.Shape) (tensor.Shape, error) {
	if out, err := broadcastShapes(x, s); err == nil && len(out) == len(x) && ewShapeFits(out, x) {
		return s, nil
	}
	if n.Opset < 7 && len(s) == 1 && len(x) >= 2 && (s[0] == x[1] || s[0] < 0 || x[1] < 0) {
		c := make(tensor.Shape, len(x)-1)
		for i := range c {
			c[i] = 1
		}
		c[0] = s[0]
		return c, nil
	}
	return nil, n.Errorf("slope of shape %v does not broadcast to input shape %v", s, x)
}

// ewShapeFits reports whether a broadcast result equals x, unknown dims
// matching anything.
func ewShapeFits(out, x tensor.Shape) bool {
	for i := range out {
		if out[i] != x[i] && out[i] >= 0 && x[i] >= 0 {
			return false
		}
	}
	return true
}

func preparePRelu(n *ops.Node) (*ops.Plan, error) {
	types := floatTypes
	if n.Opset >= 9 {
		types = ewTypes(floatTypes, tensor.Int32, tensor.Int64, tensor.Uint32, tensor.Uint64)
	}
	if err := ewTensorInput(n, 0, types); err != nil {
		return nil, err
	}
	if err := ewTensorInput(n, 1, types); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1); err != nil {
		return nil, err
	}
	x, s := n.Inputs[0].Shape, n.Inputs[1].Shape
	ss, err := preluSlopeShape(n, x, s)
	if err != nil {
		return nil, err
	}
	if n.Opset < 7 {
		x, ss = nil, tensor.Shape{-1} // shapes are settled at run time (preluLegacy)
	}
	dt := n.Inputs[0].DType
	var k ops.Kernel
	switch dt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		k = ewHalf(dt, preluKernel[float32](x, ss))
	case tensor.Float64:
		k = preluKernel[float64](x, ss)
	case tensor.Int32:
		k = preluKernel[int32](x, ss)
	case tensor.Int64:
		k = preluKernel[int64](x, ss)
	case tensor.Uint32:
		k = preluKernel[uint32](x, ss)
	case tensor.Uint64:
		k = preluKernel[uint64](x, ss)
	}
	if n.Opset < 7 {
		k = preluLegacy(k)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, n.Inputs[0].Shape.Clone())}, Kernel: k}, nil
}

func preluKernel[T number](x, s tensor.Shape) ops.Kernel {
	return ewBinaryPlanKernel(x, s, x, func(v, a T) T {
		if v < 0 {
			return a * v
		}
		return v
	})
}

// Pow.

func preparePow(n *ops.Node) (*ops.Plan, error) {
	var out tensor.Shape
	if n.Opset < 12 {
		// Base and exponent share a float type; opset 1 broadcasts only
		// when asked to (binaryShape handles the legacy rule).
		var err error
		if out, err = binaryShape(n, floatTypes); err != nil {
			return nil, err
		}
	} else {
		baseTypes := []tensor.DType{tensor.Int32, tensor.Int64, tensor.Float16, tensor.Float32, tensor.Float64, tensor.BFloat16}
		if err := ewTensorInput(n, 0, baseTypes); err != nil {
			return nil, err
		}
		if err := ewTensorInput(n, 1, numericTypes); err != nil {
			return nil, err
		}
		var err error
		if out, err = broadcastShapes(n.Inputs[0].Shape, n.Inputs[1].Shape); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	bt, et := n.Inputs[0].DType, n.Inputs[1].DType
	as, bs := n.Inputs[0].Shape, n.Inputs[1].Shape
	var k ops.Kernel
	switch bt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		k = powForBase[float32](et, as, bs, out)
	case tensor.Float64:
		k = powForBase[float64](et, as, bs, out)
	case tensor.Int32:
		k = powForBase[int32](et, as, bs, out)
	case tensor.Int64:
		k = powForBase[int64](et, as, bs, out)
	}
	if k == nil {
		return nil, n.Errorf("unsupported types %s and %s", bt, et)
	}
	if bt == tensor.Float32 && bs.NumElements() == 1 {
		k = powScalar32(k)
	}
	k = ewHalf(bt, k)
	if et != bt {
		k = ewHalf(et, k)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(bt, out)}, Kernel: k}, nil
}

// powScalar32 runs Pow on a float32 base with a one-element exponent of 2
// or 3 (the squares of normalizations and the cube of GELU's tanh form) as
// multiplications in the vector kernels: the same values as math.Pow
// rounded to float32 (x² exactly, x³ within an ulp), at memory speed.
// Other exponents go to k.
func powScalar32(k ops.Kernel) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		e, ok := scalarFloat(in[1])
		if !ok || (e != 2 && e != 3) || in[0].DType() != tensor.Float32 {
			return k(env, in, out)
		}
		x, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		shape := in[0].Shape()
		if s, err := broadcastShapes(shape, in[1].Shape()); err == nil {
			shape = s
		}
		if shape.NumElements() != len(x) {
			return k(env, in, out)
		}
		o, err := nnOut[float32](env, out, 0, shape)
		if err != nil {
			return err
		}
		env.ParallelFor(len(x), ewParallelGrain, func(lo, hi int) {
			kernels.BinaryF32(kernels.Mul, o[lo:hi], x[lo:hi], x[lo:hi])
			if e == 3 {
				kernels.BinaryF32(kernels.Mul, o[lo:hi], o[lo:hi], x[lo:hi])
			}
		})
		return nil
	}
}

// scalarFloat reads a one-element tensor of any real type as float64.
func scalarFloat(t *tensor.Tensor) (float64, bool) {
	if t == nil || t.Len() != 1 {
		return 0, false
	}
	switch t.DType() {
	case tensor.Float32:
		v, err := tensor.View[float32](t)
		return float64(v[0]), err == nil
	case tensor.Float64:
		v, err := tensor.View[float64](t)
		return v[0], err == nil
	case tensor.Int32:
		v, err := tensor.View[int32](t)
		return float64(v[0]), err == nil
	case tensor.Int64:
		v, err := tensor.View[int64](t)
		return float64(v[0]), err == nil
	}
	return 0, false
}

func powForBase[B number](et tensor.DType, as, bs, out tensor.Shape) ops.Kernel {
	switch et {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		return powKernel[B, float32](as, bs, out)
	case tensor.Float64:
		return powKernel[B, float64](as, bs, out)
	case tensor.Int8:
		return powKernel[B, int8](as, bs, out)
	case tensor.Int16:
		return powKernel[B, int16](as, bs, out)
	case tensor.Int32:
		return powKernel[B, int32](as, bs, out)
	case tensor.Int64:
		return powKernel[B, int64](as, bs, out)
	case tensor.Uint8:
		return powKernel[B, uint8](as, bs, out)
	case tensor.Uint16:
		return powKernel[B, uint16](as, bs, out)
	case tensor.Uint32:
		return powKernel[B, uint32](as, bs, out)
	case tensor.Uint64:
		return powKernel[B, uint64](as, bs, out)
	}
	return nil
}

// powKernel computes float powers in float64; an integer base with an
// integer exponent is exact (wrapping on overflow), and with a float
// exponent the float64 result is truncated toward zero.
func powKernel[B, E number](as, bs, out tensor.Shape) ops.Kernel {
	baseInt := tensor.DTypeOf[B]().IsInteger()
	expDT := tensor.DTypeOf[E]()
	if !baseInt || !expDT.IsInteger() {
		return ewBinaryPlanKernel(as, bs, out, func(b B, e E) B { return B(math.Pow(float64(b), float64(e))) })
	}
	unsignedExp := !expDT.IsSigned()
	// The flag for 0**negative lives in one run, so the function is built per run.
	return func(env *ops.Env, in, o []*tensor.Tensor) error {
		var zeroNeg atomic.Bool
		k := ewBinaryPlanKernel(as, bs, out, func(b B, e E) B {
			if unsignedExp || e >= 0 {
				return B(ewIPow(int64(b), uint64(e)))
			}
			switch b {
			case 1:
				return 1
			case 0:
				zeroNeg.Store(true)
				return 0
			}
			if int64(b) == -1 {
				return B(ewIPow(-1, uint64(-int64(e))&1))
			}
			return 0 // |b| > 1: the power's magnitude is below 1
		})
		if err := k(env, in, o); err != nil {
			return err
		}
		if zeroNeg.Load() {
			return errorf("Pow: integer zero raised to a negative power")
		}
		return nil
	}
}

// ewIPow is b**e by squaring, wrapping on overflow.
func ewIPow(b int64, e uint64) int64 {
	r := int64(1)
	for e > 0 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
		e >>= 1
	}
	return r
}

// Mod.

func prepareMod(n *ops.Node) (*ops.Plan, error) {
	types := numericTypes
	if n.Opset < 13 {
		types = ewTypes(intTypes, tensor.Float16, tensor.Float32, tensor.Float64)
	}
	out, err := binaryShape(n, types)
	if err != nil {
		return nil, err
	}
	fmod := n.Attrs.Int("fmod", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if fmod != 0 && fmod != 1 {
		return nil, n.Errorf("fmod must be 0 or 1, got %d", fmod)
	}
	dt := n.Inputs[0].DType
	if dt.IsFloat() && fmod == 0 {
		return nil, n.Errorf("fmod must be 1 for the float type %s", dt)
	}
	as, bs := n.Inputs[0].Shape, n.Inputs[1].Shape
	var k ops.Kernel
	switch dt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		k = ewHalf(dt, ewBinaryPlanKernel(as, bs, out, func(a, b float32) float32 {
			return float32(math.Mod(float64(a), float64(b)))
		}))
	case tensor.Float64:
		k = ewBinaryPlanKernel(as, bs, out, math.Mod)
	case tensor.Int8:
		k = modIntKernel[int8](fmod == 1, as, bs, out)
	case tensor.Int16:
		k = modIntKernel[int16](fmod == 1, as, bs, out)
	case tensor.Int32:
		k = modIntKernel[int32](fmod == 1, as, bs, out)
	case tensor.Int64:
		k = modIntKernel[int64](fmod == 1, as, bs, out)
	case tensor.Uint8:
		k = modIntKernel[uint8](fmod == 1, as, bs, out)
	case tensor.Uint16:
		k = modIntKernel[uint16](fmod == 1, as, bs, out)
	case tensor.Uint32:
		k = modIntKernel[uint32](fmod == 1, as, bs, out)
	case tensor.Uint64:
		k = modIntKernel[uint64](fmod == 1, as, bs, out)
	}
	if k == nil {
		return nil, n.Errorf("unsupported type %s", dt)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

// modIntKernel is the truncated remainder (fmod, the sign of the
// dividend) or Python's (the sign of the divisor); a zero divisor is an error.
func modIntKernel[T integer](fmod bool, as, bs, out tensor.Shape) ops.Kernel {
	f := func(a, b T) T { return a % b }
	if !fmod {
		f = func(a, b T) T {
			r := a % b
			if r != 0 && (r < 0) != (b < 0) {
				r += b
			}
			return r
		}
	}
	k := ewBinaryPlanKernel(as, bs, out, f)
	return func(env *ops.Env, in, o []*tensor.Tensor) error {
		d, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		for _, v := range d {
			if v == 0 {
				return errorf("Mod: integer division by zero")
			}
		}
		return k(env, in, o)
	}
}

// BitShift and bitwise logic.

func prepareBitShift(n *ops.Node) (*ops.Plan, error) {
	out, err := binaryShape(n, unsignedTypes)
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	a.Require("direction")
	dir := a.String("direction", "")
	if err := a.Err(); err != nil {
		return nil, err
	}
	if dir != "LEFT" && dir != "RIGHT" {
		return nil, n.Errorf("direction must be \"LEFT\" or \"RIGHT\", got %q", dir)
	}
	left := dir == "LEFT"
	as, bs := n.Inputs[0].Shape, n.Inputs[1].Shape
	dt := n.Inputs[0].DType
	var k ops.Kernel
	switch dt {
	case tensor.Uint8:
		k = bitShiftKernel[uint8](left, as, bs, out)
	case tensor.Uint16:
		k = bitShiftKernel[uint16](left, as, bs, out)
	case tensor.Uint32:
		k = bitShiftKernel[uint32](left, as, bs, out)
	case tensor.Uint64:
		k = bitShiftKernel[uint64](left, as, bs, out)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

// bitShiftKernel shifts; Go defines shifts by the width or more as 0.
func bitShiftKernel[T integer](left bool, as, bs, out tensor.Shape) ops.Kernel {
	if left {
		return ewBinaryPlanKernel(as, bs, out, func(a, b T) T { return a << b })
	}
	return ewBinaryPlanKernel(as, bs, out, func(a, b T) T { return a >> b })
}

func prepareBitwise(n *ops.Node) (*ops.Plan, error) {
	out, err := binaryShape(n, intTypes)
	if err != nil {
		return nil, err
	}
	as, bs := n.Inputs[0].Shape, n.Inputs[1].Shape
	dt := n.Inputs[0].DType
	var k ops.Kernel
	switch dt {
	case tensor.Int8:
		k = bitwiseKernel[int8](n.OpType, as, bs, out)
	case tensor.Int16:
		k = bitwiseKernel[int16](n.OpType, as, bs, out)
	case tensor.Int32:
		k = bitwiseKernel[int32](n.OpType, as, bs, out)
	case tensor.Int64:
		k = bitwiseKernel[int64](n.OpType, as, bs, out)
	case tensor.Uint8:
		k = bitwiseKernel[uint8](n.OpType, as, bs, out)
	case tensor.Uint16:
		k = bitwiseKernel[uint16](n.OpType, as, bs, out)
	case tensor.Uint32:
		k = bitwiseKernel[uint32](n.OpType, as, bs, out)
	case tensor.Uint64:
		k = bitwiseKernel[uint64](n.OpType, as, bs, out)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

func bitwiseKernel[T integer](op string, as, bs, out tensor.Shape) ops.Kernel {
	switch op {
	case "BitwiseAnd":
		return ewBinaryPlanKernel(as, bs, out, func(a, b T) T { return a & b })
	case "BitwiseOr":
		return ewBinaryPlanKernel(as, bs, out, func(a, b T) T { return a | b })
	}
	return ewBinaryPlanKernel(as, bs, out, func(a, b T) T { return a ^ b })
}
