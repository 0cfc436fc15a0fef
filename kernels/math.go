package kernels

import "math"

// Float32 elementary functions for activations, in plain Go float32
// arithmetic (no float64 round trip, no function values in the loops).
// Error bounds against math's float64 results, checked by the tests over
// every 251st float32 bit pattern plus the special values (relative error
// where the result is a normal float32, absolute error below that):
//
//	Exp32      1 ulp (Cephes expf polynomial, exact scaling into denormals)
//	Sigmoid32  2 ulp
//	Tanh32     2 ulp (Cephes tanhf polynomial below 0.625)
//	Erf32      relative 4e-7 (Cephes polynomial below 1, Abramowitz–Stegun
//	           7.1.26 with absolute error 1.5e-7 above)
//
// The slice forms (ExpSlice, SigmoidSlice, TanhSlice, ErfSlice) run the
// same algorithms on AVX2 or AVX-512 lanes (simd.go), both branches of the
// piecewise ones blended, within the same bounds (TestMathSlices; measured
// worst: exp 0.8, sigmoid 1.6, tanh 1.2 ulp). The vector exp scales by
// 2**(n/2)·2**(n-n/2), so denormal results round once, as Exp32's do.
// NaN gives NaN; ±Inf give the limits. All far inside the conformance
// tolerance (1e-5 + 1e-3·|want|).

const (
	expHi  = 88.72283935546875   // above: +Inf
	expLo  = -103.97208404541016 // below: 0 (less than half the smallest denormal)
	log2e  = 1.44269504088896341
	ln2Hi  = 0.693359375
	ln2Lo  = -2.12194440e-4
	expP0  = 1.9875691500e-4
	expP1  = 1.3981999507e-3
	expP2  = 8.3334519073e-3
	expP3  = 4.1665795894e-2
	expP4  = 1.6666665459e-1
	expP5  = 5.0000001201e-1
	tanhLo = 0.625
)

// Exp32 returns e**x.
func Exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expHi:
		return float32(math.Inf(1))
	case x < expLo:
		return 0
	}
	n := float32(int32(x*log2e + 0.5*sign32(x)))
	r := x - n*ln2Hi - n*ln2Lo
	z := r * r
	y := ((((expP0*r+expP1)*r+expP2)*r+expP3)*r+expP4)*r + expP5
	y = y*z + r + 1
	return ldexp32(y, int32(n))
}

func sign32(x float32) float32 {
	if x < 0 {
		return -1
	}
	return 1
}

// ldexp32 returns y·2**n for y in [0.5, 2] and n in [-151, 128].
func ldexp32(y float32, n int32) float32 {
	if n >= -126 && n <= 127 {
		return y * math.Float32frombits(uint32(n+127)<<23)
	}
	if n > 127 {
		return y * 2 * math.Float32frombits(uint32(n-1+127)<<23)
	}
	// Into the denormals: scale in two steps so only the last rounds.
	return y * math.Float32frombits(uint32(n+64+127)<<23) * math.Float32frombits(uint32(-64+127)<<23)
}

// Sigmoid32 returns 1/(1+e**-x), without overflow for either sign.
func Sigmoid32(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + Exp32(-x))
	}
	e := Exp32(x)
	return e / (1 + e)
}

// Tanh32 returns the hyperbolic tangent of x.
func Tanh32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	switch {
	case x != x:
		return x
	case a < tanhLo:
		z := x * x
		return ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
	case a > 9.1: // tanh rounds to ±1
		return sign32(x)
	}
	y := 1 - 2/(Exp32(2*a)+1)
	if x < 0 {
		return -y
	}
	return y
}

// Erf32 returns the error function of x.
func Erf32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	switch {
	case x != x:
		return x
	case a < 1:
		z := x * x
		return x * ((((((7.853861353153693e-5*z-8.010193625184903e-4)*z+5.188327685732524e-3)*z-2.685381193529856e-2)*z+1.128358514861418e-1)*z-3.761262582423300e-1)*z + 1.128379165726710)
	case a >= 4: // erf rounds to ±1
		return sign32(x)
	}
	t := 1 / (1 + 0.3275911*a)
	p := ((((1.061405429*t-1.453152027)*t+1.421413741)*t-0.284496736)*t + 0.254829592) * t
	y := 1 - p*Exp32(-a*a)
	if x < 0 {
		return -y
	}
	return y
}

// SigmoidSlice sets dst[i] = Sigmoid32(src[i]) (within the same bounds);
// the slices have one length.
func SigmoidSlice(dst, src []float32) {
	src = src[:len(dst)]
	if vecMath(simd.sigmoid, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = Sigmoid32(x)
	}
}

// vecMath runs the vector kernel f (when there is one) over the slices and
// reports whether it did.
func vecMath(f mapFunc, dst, src []float32) bool {
	if f == nil {
		return false
	}
	if len(dst) > 0 {
		f(&dst[0], &src[0], len(dst))
	}
	return true
}

// SiLU32 returns x·Sigmoid32(x), the SiLU (swish) activation.
func SiLU32(x float32) float32 { return x * Sigmoid32(x) }

// SiLUSlice sets dst[i] = SiLU32(src[i]) in one pass: within 3 ulp, or
// 2**-126 absolute where the result is below the normal range.
func SiLUSlice(dst, src []float32) {
	src = src[:len(dst)]
	if vecMath(simd.silu, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = SiLU32(x)
	}
}

// TanhSlice sets dst[i] = Tanh32(src[i]) (within the same bounds).
func TanhSlice(dst, src []float32) {
	src = src[:len(dst)]
	if vecMath(simd.tanh, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = Tanh32(x)
	}
}

// ErfSlice sets dst[i] = Erf32(src[i]) (within the same bounds).
func ErfSlice(dst, src []float32) {
	src = src[:len(dst)]
	if vecMath(simd.erf, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = Erf32(x)
	}
}

// ExpSlice sets dst[i] = Exp32(src[i]) (within the same bounds).
func ExpSlice(dst, src []float32) {
	src = src[:len(dst)]
	if vecMath(simd.exp, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = Exp32(x)
	}
}
