package standard

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Elementwise operators: unary math and activations
// (elementwise_unary.go), binary operators beyond arithmetic such as Pow,
// Mod, BitShift and PRelu (elementwise_binary.go), variadic Min/Max/Sum/Mean,
// Clip and Where (elementwise_variadic.go), Cast and CastLike
// (elementwise_cast.go), Identity and Dropout (elementwise_misc.go).

// elementwiseOps lists this family's operators.
func elementwiseOps() []def {
	u := func(name string, since []int, doc string) def {
		return def{name: name, since: since, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: prepareUnary, doc: doc}
	}
	b := func(name string, since []int, prep func(*ops.Node) (*ops.Plan, error), doc string) def {
		return def{name: name, since: since, inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
			prepare: prep, doc: doc}
	}
	variadic := func(name string, since []int, doc string) def {
		return def{name: name, since: since, inputs: [2]int{1, -1}, outputs: [2]int{1, 1},
			prepare: prepareVariadic, doc: doc}
	}
	return []def{
		// Unary math.
		u("Abs", []int{1, 6, 13}, "absolute value"),
		u("Neg", []int{1, 6, 13}, "negation"),
		u("Exp", []int{1, 6, 13}, "exponential"),
		u("Log", []int{1, 6, 13}, "natural logarithm"),
		u("Sqrt", []int{1, 6, 13}, "square root"),
		u("Reciprocal", []int{1, 6, 13}, "1/x"),
		u("Floor", []int{1, 6, 13}, "round down"),
		u("Ceil", []int{1, 6, 13}, "round up"),
		u("Round", []int{11}, "round half to even"),
		u("Sign", []int{9, 13}, "sign: -1, 0 or 1"),
		u("Sin", []int{7}, "sine"),
		u("Cos", []int{7}, "cosine"),
		u("Tan", []int{7}, "tangent"),
		u("Asin", []int{7}, "arcsine"),
		u("Acos", []int{7}, "arccosine"),
		u("Atan", []int{7}, "arctangent"),
		u("Sinh", []int{9}, "hyperbolic sine"),
		u("Cosh", []int{9}, "hyperbolic cosine"),
		u("Asinh", []int{9}, "inverse hyperbolic sine"),
		u("Acosh", []int{9}, "inverse hyperbolic cosine"),
		u("Atanh", []int{9}, "inverse hyperbolic tangent"),
		u("Erf", []int{9, 13}, "error function"),
		u("IsNaN", []int{9, 13, 20}, "x is NaN, to bool"),
		u("IsInf", []int{10, 20}, "x is infinite, to bool"),
		u("Not", []int{1}, "logical not"),
		u("BitwiseNot", []int{18}, "bitwise complement"),
		// Activations.
		u("Sigmoid", []int{1, 6, 13}, "logistic sigmoid"),
		u("Tanh", []int{1, 6, 13}, "hyperbolic tangent"),
		u("Relu", []int{1, 6, 13, 14}, "max(x, 0)"),
		u("LeakyRelu", []int{1, 6, 16}, "x or alpha*x below zero"),
		u("Elu", []int{1, 6}, "exponential linear unit"),
		u("Selu", []int{1, 6}, "scaled exponential linear unit"),
		u("Celu", []int{12}, "continuously differentiable ELU"),
		u("HardSigmoid", []int{1, 6}, "max(0, min(1, alpha*x+beta))"),
		u("HardSwish", []int{14}, "x*HardSigmoid(x) with alpha 1/6, beta 1/2"),
		u("Softplus", []int{1}, "log(1+exp(x))"),
		u("Softsign", []int{1}, "x/(1+|x|)"),
		u("ThresholdedRelu", []int{10}, "x above alpha, else 0"),
		u("Mish", []int{18}, "x*tanh(softplus(x))"),
		u("Shrink", []int{9}, "soft/hard shrinkage"),
		u("Gelu", []int{20}, "Gaussian error linear unit, exact or tanh approximation"),
		b("PRelu", []int{1, 6, 7, 9, 16}, preparePRelu, "leaky ReLU with a broadcast slope tensor"),
		// Binary.
		b("Pow", []int{1, 7, 12, 13, 15}, preparePow, "base to the power exponent, with broadcasting"),
		b("Mod", []int{10, 13}, prepareMod, "remainder (Python sign rules, or C fmod)"),
		b("BitShift", []int{11}, prepareBitShift, "shift unsigned integers left or right"),
		b("BitwiseAnd", []int{18}, prepareBitwise, "bitwise and with broadcasting"),
		b("BitwiseOr", []int{18}, prepareBitwise, "bitwise or with broadcasting"),
		b("BitwiseXor", []int{18}, prepareBitwise, "bitwise xor with broadcasting"),
		// Variadic.
		variadic("Min", []int{1, 6, 8, 12, 13}, "elementwise minimum of the inputs"),
		variadic("Max", []int{1, 6, 8, 12, 13}, "elementwise maximum of the inputs"),
		variadic("Sum", []int{1, 6, 8, 13}, "elementwise sum of the inputs"),
		variadic("Mean", []int{1, 6, 8, 13}, "elementwise mean of the inputs"),
		{name: "Clip", since: []int{1, 6, 11, 12, 13}, inputs: [2]int{1, 3}, outputs: [2]int{1, 1},
			prepare: prepareClip, doc: "limit values to [min, max]"},
		{name: "Where", since: []int{9, 16}, inputs: [2]int{3, 3}, outputs: [2]int{1, 1},
			prepare: prepareWhere, doc: "choose X where condition holds, else Y, with broadcasting"},
		// Conversions and pass-through.
		{name: "Cast", since: []int{1, 6, 9, 13, 19, 21}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: prepareCast, doc: "convert to the element type given by 'to'"},
		{name: "CastLike", since: []int{15, 19, 21}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
			prepare: prepareCast, doc: "convert to the element type of the second input"},
		{name: "Identity", since: []int{1, 13, 14, 16, 19, 21}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: prepareIdentity, doc: "copy of the input (tensor, sequence or optional)"},
		{name: "Dropout", since: []int{1, 6, 7, 10, 12, 13}, inputs: [2]int{1, 3}, outputs: [2]int{1, 2},
			prepare: prepareDropout, doc: "identity at inference; random zeroing in training mode"},
	}
}

// ewParallelGrain is the least number of elements a worker takes.
const ewParallelGrain = 16384

// ewUnaryKernel returns a kernel computing out = f(in0) elementwise, the
// output taking the input's shape.
func ewUnaryKernel[I, O tensor.Element](f func(I) O) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[I](in[0])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, tensor.DTypeOf[O](), in[0].Shape())
		if err != nil {
			return err
		}
		o, err := tensor.View[O](y)
		if err != nil {
			return err
		}
		env.ParallelFor(len(x), ewParallelGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = f(x[i])
			}
		})
		return nil
	}
}

// ewBinaryKernel is binaryKernel with the shapes read from the tensors at
// run time, so that a plan never depends on shapes it was not given.
func ewBinaryKernel[A, B, O tensor.Element](f func(A, B) O) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		as, bs := in[0].Shape(), in[1].Shape()
		os, err := broadcastShapes(as, bs)
		if err != nil {
			return err
		}
		return binaryKernel(as, bs, os, f)(env, in, out)
	}
}

// ewFloatKernel runs a float64 function on a tensor of any float type:
// float32 and the half types compute in float64 and round once at the end.
func ewFloatKernel(dt tensor.DType, f func(float64) float64) ops.Kernel {
	switch dt {
	case tensor.Float32:
		return ewUnaryKernel(func(x float32) float32 { return float32(f(float64(x))) })
	case tensor.Float64:
		return ewUnaryKernel(f)
	case tensor.Float16:
		return ewUnaryKernel(func(x tensor.F16) tensor.F16 {
			return tensor.Float16FromFloat32(float32(f(float64(x.Float32()))))
		})
	case tensor.BFloat16:
		return ewUnaryKernel(func(x tensor.BF16) tensor.BF16 {
			return tensor.BFloat16FromFloat32(float32(f(float64(x.Float32()))))
		})
	}
	return nil
}

// ewFloatPred runs a float64 predicate on a tensor of any float type.
func ewFloatPred(dt tensor.DType, f func(float64) bool) ops.Kernel {
	switch dt {
	case tensor.Float32:
		return ewUnaryKernel(func(x float32) bool { return f(float64(x)) })
	case tensor.Float64:
		return ewUnaryKernel(f)
	case tensor.Float16:
		return ewUnaryKernel(func(x tensor.F16) bool { return f(float64(x.Float32())) })
	case tensor.BFloat16:
		return ewUnaryKernel(func(x tensor.BF16) bool { return f(float64(x.Float32())) })
	}
	return nil
}

// ewHalf wraps a float32 kernel for half types (see halfAsFloat32) and
// leaves kernels of other types alone.
func ewHalf(dt tensor.DType, k ops.Kernel) ops.Kernel {
	if dt == tensor.Float16 || dt == tensor.BFloat16 {
		return halfAsFloat32(dt, k)
	}
	return k
}

// ewTensorInput fails unless input i is a present tensor of a known rank.
func ewTensorInput(n *ops.Node, i int, allowed []tensor.DType) error {
	if err := checkType(n, i, allowed); err != nil {
		return err
	}
	if n.Inputs[i].UnknownRank {
		return n.Errorf("input %d has an unknown rank", i)
	}
	return nil
}

// ewTypes returns the type set plus extra types.
func ewTypes(base []tensor.DType, extra ...tensor.DType) []tensor.DType {
	return append(append([]tensor.DType{}, base...), extra...)
}
