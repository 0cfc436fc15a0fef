package kernels

import "math"

// Row reductions and normalizations over contiguous float32 slices.

// sumBlock is how many values SumF32 adds in float32 before it moves the
// partial sum to float64.
const sumBlock = 512

// SumF32 returns the sum of x, accumulated in float64: with the vector
// kernels, blocks of sumBlock values are summed in float32 lanes (each lane
// adding sumBlock/32 values or fewer, then the lanes in five steps, so a
// block's rounding stays within about 2**-20 of the sum of its magnitudes)
// and the blocks in float64, ten times faster than the scalar loop; else
// eight float64 partial sums, so the additions overlap.
func SumF32(x []float32) float64 {
	if f := simd.rowSum; f != nil {
		var s float64
		for len(x) > 0 {
			n := min(len(x), sumBlock)
			s += float64(f(&x[0], n))
			x = x[n:]
		}
		return s
	}
	var s [8]float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := (*[8]float32)(x[i:])
		s[0] += float64(v[0])
		s[1] += float64(v[1])
		s[2] += float64(v[2])
		s[3] += float64(v[3])
		s[4] += float64(v[4])
		s[5] += float64(v[5])
		s[6] += float64(v[6])
		s[7] += float64(v[7])
	}
	for ; i < len(x); i++ {
		s[0] += float64(x[i])
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// MaxF32 returns the largest element of x (NaN if any is NaN; -Inf for an
// empty x).
func MaxF32(x []float32) float32 {
	m := [4]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := (*[4]float32)(x[i:])
		m[0] = max(m[0], v[0])
		m[1] = max(m[1], v[1])
		m[2] = max(m[2], v[2])
		m[3] = max(m[3], v[3])
	}
	for ; i < len(x); i++ {
		m[0] = max(m[0], x[i])
	}
	return max(max(m[0], m[1]), max(m[2], m[3]))
}

// SoftmaxF32 sets dst = exp(src - max(src)) / Σ exp(src - max(src)): the
// exponentials by ExpSlice (vector kernels), the sum in float64. dst may be
// src. An empty row is left alone; a row holding NaN or +Inf gives NaN.
func SoftmaxF32(dst, src []float32) {
	src = src[:len(dst)]
	if len(dst) == 0 {
		return
	}
	m := MaxF32(src)
	BinaryScalarF32(Sub, dst, src, m)
	ExpSlice(dst, dst)
	BinaryScalarF32(Mul, dst, dst, float32(1/SumF32(dst)))
}

// SumSquaresF32 returns Σ x[i]², accumulated in float64 (eight partial
// sums).
func SumSquaresF32(x []float32) float64 {
	var s [8]float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := (*[8]float32)(x[i:])
		for j, e := range v {
			s[j] += float64(e) * float64(e)
		}
	}
	for ; i < len(x); i++ {
		s[0] += float64(x[i]) * float64(x[i])
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// LayerNormF32 normalizes one row: dst = (src - mean) / sqrt(var + eps) ·
// scale + bias (scale and bias may be nil, else of the row's length), the
// mean and variance over the row in float64 (the variance from the
// deviations, two passes), the rest in the vector kernels. It returns the
// mean and 1/sqrt(var + eps). dst may be src.
func LayerNormF32(dst, src, scale, bias []float32, eps float64) (mean, invStd float64) {
	src = src[:len(dst)]
	n := float64(max(len(dst), 1))
	mean = SumF32(src) / n
	BinaryScalarF32(Sub, dst, src, float32(mean))
	invStd = 1 / math.Sqrt(SumSquaresF32(dst)/n+eps)
	BinaryScalarF32(Mul, dst, dst, float32(invStd))
	if scale != nil {
		BinaryF32(Mul, dst, dst, scale)
	}
	if bias != nil {
		BinaryF32(Add, dst, dst, bias)
	}
	return mean, invStd
}
