package kernels

import (
	"fmt"
)

// ActKind names an activation that a fused kernel applies to its output
// while the output is still in registers or cache (see Epilogue and
// Activation.Apply).
type ActKind uint8

// The activations. A and B are Activation's parameters.
const (
	ActNone        ActKind = iota
	ActReLU                // max(x, 0)
	ActClip                // min(max(x, A), B)
	ActLeakyReLU           // x if x >= 0, else A·x
	ActSigmoid             // 1/(1+e^-x)
	ActTanh                // tanh x
	ActHardSigmoid         // max(0, min(1, A·x + B))
	ActHardSwish           // x·max(0, min(1, x/6 + 1/2))
	ActSiLU                // x·sigmoid(x) (swish)
	ActGelu                // x/2·(1 + erf(x/√2))
	ActGeluTanh            // x/2·(1 + tanh(√(2/π)·(x + 0.044715x³)))
	numActKinds
)

var actNames = [numActKinds]string{"", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "SiLU", "Gelu", "GeluTanh"}

// String returns the kind's name as the fused operators spell it ("" for
// none).
func (k ActKind) String() string {
	if k < numActKinds {
		return actNames[k]
	}
	return fmt.Sprintf("ActKind(%d)", int(k))
}

// ActKindNamed returns the kind called name (as String spells it).
func ActKindNamed(name string) (ActKind, bool) {
	for k, s := range actNames {
		if s == name {
			return ActKind(k), true
		}
	}
	return ActNone, false
}

// Activation is an activation with its parameters: Clip's bounds (A, B),
// LeakyReLU's slope (A), HardSigmoid's alpha and beta (A, B). The zero
// value is the identity.
type Activation struct {
	Kind ActKind
	A, B float32
}

// Accuracy against float64 math (checked by the tests over a sweep of
// float32 values): ReLU, Clip and LeakyReLU are exact; HardSigmoid and
// HardSwish are float32 arithmetic (2 ulp, plus 2⁻²⁴·|x| for HardSwish's
// rounding of x/6). Sigmoid and SiLU are within 2.5 ulp, Tanh within 3 ulp;
// below x = -87.3, where e^x leaves the normal floats, they may be off by
// 1.2e-38·|x| absolute. Gelu is x/2·(1+erf(x/√2)) with Erf32's algorithm:
// relative error 1e-6 for x > -1, absolute 1e-7·|x| below. GeluTanh is
// computed as x·sigmoid(2·√(2/π)·(x + 0.044715x³)), the same function,
// within 2e-6 relative or 1e-7·|x| absolute. NaN stays NaN.

// Scalar returns the activation of x, computed one element at a time; it is
// the reference the vector kernels are tested against and what they use
// for the elements past a multiple of the vector width.
func (a Activation) Scalar(x float32) float32 {
	switch a.Kind {
	case ActReLU:
		if x < 0 {
			return 0
		}
	case ActClip:
		if x < a.A {
			x = a.A
		}
		if x > a.B {
			x = a.B
		}
	case ActLeakyReLU:
		if x < 0 {
			return a.A * x
		}
	case ActSigmoid:
		return Sigmoid32(x)
	case ActTanh:
		return Tanh32(x)
	case ActHardSigmoid:
		return clamp01(a.A*x + a.B)
	case ActHardSwish:
		return x * clamp01(x*(1.0/6)+0.5)
	case ActSiLU:
		return x * Sigmoid32(x)
	case ActGelu:
		return 0.5 * x * (1 + Erf32(x*0.70710678118654752))
	case ActGeluTanh:
		return x * Sigmoid32(geluTanhArg(x))
	}
	return x
}

// geluTanhArg is 2·√(2/π)·(x + 0.044715x³): tanh(u) = 2·sigmoid(2u) - 1, so
// x/2·(1 + tanh(u)) = x·sigmoid(2u).
func geluTanhArg(x float32) float32 {
	const c = 2 * 0.7978845608028654
	return x * (c + c*0.044715*x*x)
}

// clamp01 is max(0, min(1, x)), NaN kept.
func clamp01(x float32) float32 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// actBulk, per kind, is the vector kernel where the processor has one: it
// computes the activation (parameters a and b) of a prefix of src into dst
// and returns the prefix's length (a multiple of its vector width). Filled
// by the architecture's init.
var actBulk [numActKinds]func(dst, src []float32, a, b float32) int

// Apply sets x[i] to the activation of x[i].
func (a Activation) Apply(x []float32) { a.ApplyTo(x, x) }

// ApplyTo sets dst[i] to the activation of src[i]; the slices have one
// length and may be the same slice.
func (a Activation) ApplyTo(dst, src []float32) {
	src = src[:len(dst)]
	if a.Kind == ActNone {
		copy(dst, src)
		return
	}
	switch a.Kind {
	case ActReLU:
		ReluF32(dst, src)
		return
	case ActClip:
		ClipF32(dst, src, a.A, a.B)
		return
	case ActSigmoid:
		SigmoidSlice(dst, src)
		return
	case ActSiLU:
		SiLUSlice(dst, src)
		return
	case ActTanh:
		TanhSlice(dst, src)
		return
	case ActGelu:
		if vecMath(simd.gelu, dst, src) {
			return
		}
	case ActGeluTanh:
		if vecMath(simd.geluTanh, dst, src) {
			return
		}
	}
	if a.Kind < numActKinds {
		if f := actBulk[a.Kind]; f != nil {
			pa, pb := a.A, a.B
			if a.Kind == ActHardSwish {
				pa, pb = 1.0/6, 0.5
			}
			n := f(dst, src, pa, pb)
			dst, src = dst[n:], src[n:]
		}
	}
	for i, x := range src {
		dst[i] = a.Scalar(x)
	}
}

// max32 and min32 return x when it is NaN (like the assembly's operand
// order), so NaN propagates through Clip.
func max32(x, lo float32) float32 {
	if x < lo {
		return lo
	}
	return x
}

func min32(x, hi float32) float32 {
	if x > hi {
		return hi
	}
	return x
}
