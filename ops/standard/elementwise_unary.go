package standard

import (
	"math"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Unary math and activation functions. Float types compute in float64 (the
// one rounding to the element type is at the end), except the float32
// activations of ew32Fast, computed in float32 by package kernels within a
// few ulp; integer types, where the
// operator allows them, use exact integer code or, for functions such as Erf
// and Shrink, float64 and a conversion back.

var signedIntTypes = []tensor.DType{tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64}

// unaryTypes returns the element types the operator takes at this opset.
func unaryTypes(name string, opset int) []tensor.DType {
	switch name {
	case "Abs":
		if opset < 6 {
			return floatTypes
		}
		return numericTypes
	case "Neg":
		if opset < 6 {
			return floatTypes
		}
		return ewTypes(floatTypes, signedIntTypes...)
	case "Relu":
		if opset < 14 {
			return floatTypes
		}
		return ewTypes(floatTypes, signedIntTypes...)
	case "Sign", "Erf", "Shrink":
		return numericTypes
	case "Not":
		return []tensor.DType{tensor.Bool}
	case "BitwiseNot":
		return intTypes
	}
	return floatTypes
}

func prepareUnary(n *ops.Node) (*ops.Plan, error) {
	if err := ewTensorInput(n, 0, unaryTypes(n.OpType, n.Opset)); err != nil {
		return nil, err
	}
	x := n.Inputs[0]
	dt := x.DType
	outDT := dt
	var k ops.Kernel
	switch {
	case n.OpType == "Not":
		k = ewUnaryKernel(func(b bool) bool { return !b })
	case n.OpType == "IsNaN":
		outDT = tensor.Bool
		k = ewFloatPred(dt, math.IsNaN)
	case n.OpType == "IsInf":
		a := n.Attrs
		neg, pos := a.Int("detect_negative", 1) != 0, a.Int("detect_positive", 1) != 0
		if err := a.Err(); err != nil {
			return nil, err
		}
		outDT = tensor.Bool
		k = ewFloatPred(dt, func(v float64) bool { return neg && math.IsInf(v, -1) || pos && math.IsInf(v, 1) })
	case dt == tensor.Float32 && ew32Fast[n.OpType] != nil:
		k = ew32SliceKernel(ew32Fast[n.OpType])
	default:
		f, err := unaryFloatFunc(n)
		if err != nil {
			return nil, err
		}
		if dt.IsFloat() {
			k = ewFloatKernel(dt, f)
		} else {
			k = unaryIntKernel(dt, n.OpType, f)
		}
	}
	if k == nil {
		return nil, n.Errorf("unsupported type %s", dt)
	}
	plan := &ops.Plan{Outputs: []ops.Type{ops.TensorType(outDT, x.Shape.Clone())}, Kernel: k, Overwrites: dt.IsFloat()}
	if outDT == dt && dt.IsFloat() {
		plan.InPlace = inPlace0 // every kernel above maps element i to element i
	}
	return plan, nil
}

// unaryFloatFunc returns the operator's function on float64, reading and
// checking its attributes. Integer kernels of operators without exact
// integer code use it too.
func unaryFloatFunc(n *ops.Node) (func(float64) float64, error) {
	a := n.Attrs
	attr := func(name string, def float32) float64 { return float64(a.Float(name, def)) }
	var f func(float64) float64
	switch n.OpType {
	case "Abs":
		f = math.Abs
	case "Neg":
		f = func(x float64) float64 { return -x }
	case "Exp":
		f = math.Exp
	case "Log":
		f = math.Log
	case "Sqrt":
		f = math.Sqrt
	case "Reciprocal":
		f = func(x float64) float64 { return 1 / x }
	case "Floor":
		f = math.Floor
	case "Ceil":
		f = math.Ceil
	case "Round":
		f = math.RoundToEven
	case "Sign":
		f = func(x float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return x // 0, -0 or NaN
		}
	case "Sin":
		f = math.Sin
	case "Cos":
		f = math.Cos
	case "Tan":
		f = math.Tan
	case "Asin":
		f = math.Asin
	case "Acos":
		f = math.Acos
	case "Atan":
		f = math.Atan
	case "Sinh":
		f = math.Sinh
	case "Cosh":
		f = math.Cosh
	case "Asinh":
		f = math.Asinh
	case "Acosh":
		f = math.Acosh
	case "Atanh":
		f = math.Atanh
	case "Erf":
		f = math.Erf
	case "BitwiseNot":
		f = nil // integers only, exact code in unaryIntFunc
	case "Sigmoid":
		f = ewSigmoid
	case "Tanh":
		f = math.Tanh
	case "Relu":
		f = func(x float64) float64 {
			if x < 0 {
				return 0
			}
			return x // NaN stays NaN
		}
	case "LeakyRelu":
		alpha := attr("alpha", 0.01)
		f = func(x float64) float64 {
			if x < 0 {
				return alpha * x
			}
			return x
		}
	case "Elu":
		alpha := attr("alpha", 1)
		f = func(x float64) float64 {
			if x < 0 {
				return alpha * math.Expm1(x)
			}
			return x
		}
	case "Selu":
		alpha := attr("alpha", 1.67326319217681884765625)
		gamma := attr("gamma", 1.05070102214813232421875)
		f = func(x float64) float64 {
			if x <= 0 {
				return gamma * alpha * math.Expm1(x)
			}
			return gamma * x
		}
	case "Celu":
		alpha := attr("alpha", 1)
		if alpha == 0 {
			a.Fail("Celu: alpha must not be 0")
		}
		f = func(x float64) float64 {
			return max(0, x) + min(0, alpha*math.Expm1(x/alpha))
		}
	case "HardSigmoid":
		alpha, beta := attr("alpha", 0.2), attr("beta", 0.5)
		f = func(x float64) float64 { return ewClamp01(alpha*x + beta) }
	case "HardSwish":
		f = func(x float64) float64 { return x * ewClamp01(x/6+0.5) }
	case "Softplus":
		f = ewSoftplus
	case "Softsign":
		f = func(x float64) float64 { return x / (1 + math.Abs(x)) }
	case "ThresholdedRelu":
		alpha := attr("alpha", 1)
		f = func(x float64) float64 {
			if x > alpha {
				return x
			}
			return 0
		}
	case "Mish":
		f = func(x float64) float64 { return x * math.Tanh(ewSoftplus(x)) }
	case "Shrink":
		bias, lambd := attr("bias", 0), attr("lambd", 0.5)
		f = func(x float64) float64 {
			switch {
			case x < -lambd:
				return x + bias
			case x > lambd:
				return x - bias
			}
			return 0
		}
	case "Gelu":
		switch approx := a.String("approximate", "none"); approx {
		case "none":
			f = func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
		case "tanh":
			c := math.Sqrt(2 / math.Pi)
			f = func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x))) }
		default:
			a.Fail("Gelu: approximate must be \"none\" or \"tanh\", got %q", approx)
		}
	default:
		return nil, n.Errorf("no unary function %s", n.OpType)
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// ewSigmoid is 1/(1+exp(-x)), written to avoid overflow for either sign.
func ewSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// ewSoftplus is log(1+exp(x)) without overflow for large x.
func ewSoftplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func ewClamp01(x float64) float64 { return max(0, min(1, x)) }

// unaryIntKernel instantiates the integer kernel for dt.
func unaryIntKernel(dt tensor.DType, op string, f func(float64) float64) ops.Kernel {
	switch dt {
	case tensor.Int8:
		return ewUnaryKernel(unaryIntFunc[int8](op, f))
	case tensor.Int16:
		return ewUnaryKernel(unaryIntFunc[int16](op, f))
	case tensor.Int32:
		return ewUnaryKernel(unaryIntFunc[int32](op, f))
	case tensor.Int64:
		return ewUnaryKernel(unaryIntFunc[int64](op, f))
	case tensor.Uint8:
		return ewUnaryKernel(unaryIntFunc[uint8](op, f))
	case tensor.Uint16:
		return ewUnaryKernel(unaryIntFunc[uint16](op, f))
	case tensor.Uint32:
		return ewUnaryKernel(unaryIntFunc[uint32](op, f))
	case tensor.Uint64:
		return ewUnaryKernel(unaryIntFunc[uint64](op, f))
	}
	return nil
}

// unaryIntFunc is the exact integer version of op where there is one
// (wrapping like two's complement: Abs and Neg of the minimum stay the
// minimum), and f through float64 otherwise.
func unaryIntFunc[T integer](op string, f func(float64) float64) func(T) T {
	switch op {
	case "Abs":
		return func(x T) T {
			if x < 0 {
				return -x
			}
			return x
		}
	case "Neg":
		return func(x T) T { return -x }
	case "Sign":
		return func(x T) T {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return ^T(0) // -1 for the signed types that reach here
			}
			return 0
		}
	case "Relu":
		return func(x T) T { return max(x, 0) }
	case "BitwiseNot":
		return func(x T) T { return ^x }
	}
	return func(x T) T { return T(f(float64(x))) }
}

// ew32Fast are the float32 activations computed in float32 by package
// kernels (accuracy documented there) instead of through float64 math.
var ew32Fast = map[string]func(dst, src []float32){
	"Relu":    kernels.ReluF32,
	"Sqrt":    kernels.SqrtF32,
	"Sigmoid": kernels.SigmoidSlice,
	"Tanh":    kernels.TanhSlice,
	"Erf":     kernels.ErfSlice,
	"Exp":     kernels.ExpSlice,
}

// ew32SliceKernel runs a slice function over a float32 tensor in parallel
// chunks.
func ew32SliceKernel(f func(dst, src []float32)) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		var o []float32
		if out[0] != nil && out[0].Len() == len(x) { // the usual case: no shape copy
			o, err = tensor.View[float32](out[0])
		} else {
			o, err = nnOut[float32](env, out, 0, in[0].Shape())
		}
		if err != nil {
			return err
		}
		if len(x) <= ewParallelGrain { // one chunk: no closure to allocate
			f(o, x)
			return nil
		}
		env.ParallelFor(len(x), ewParallelGrain, func(lo, hi int) {
			f(o[lo:hi], x[lo:hi])
		})
		return nil
	}
}
