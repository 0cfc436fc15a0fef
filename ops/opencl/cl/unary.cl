// Elementwise functions of one input, on T (float or double: -DT=…). Every
// kernel has the same signature; p0 and p1 carry the attributes of those
// that have some (alpha, beta, min, max).

#define UNARY(name, expr) \
KERNEL void name(GLOBAL const T* x, i64 xo, GLOBAL T* y, i64 yo, i64 n, T p0, T p1) { \
	i64 i = GLOBAL_ID(0); \
	if (i >= n) return; \
	T v = x[xo + i]; \
	y[yo + i] = (expr); \
}

#ifdef FLOAT
DEVICE_FN T sigmoid_(T v) {
	// Split by sign so that exp never overflows.
	if (v >= (T)0) return (T)1 / ((T)1 + exp(-v));
	T e = exp(v);
	return e / ((T)1 + e);
}
DEVICE_FN T softplus_(T v) { return v > (T)20 ? v : log1p(exp(v)); }

UNARY(relu, v > (T)0 ? v : (T)0)
UNARY(leaky_relu, v >= (T)0 ? v : p0 * v)
UNARY(elu, v >= (T)0 ? v : p0 * (exp(v) - (T)1))
UNARY(selu, v > (T)0 ? p1 * v : p1 * (p0 * exp(v) - p0))
UNARY(celu, fmax((T)0, v) + fmin((T)0, p0 * (exp(v / p0) - (T)1)))
UNARY(sigmoid, sigmoid_(v))
UNARY(hard_sigmoid, fmax((T)0, fmin((T)1, p0 * v + p1)))
UNARY(hard_swish, v * fmax((T)0, fmin((T)1, v / (T)6 + (T)0.5)))
UNARY(tanh_, tanh(v))
UNARY(erf_, erf(v))
UNARY(gelu, (T)0.5 * v * ((T)1 + erf(v * (T)0.70710678118654752440)))
UNARY(gelu_tanh, (T)0.5 * v * ((T)1 + tanh((T)0.79788456080286535588 * (v + (T)0.044715 * v * v * v))))
UNARY(exp_, exp(v))
UNARY(log_, log(v))
UNARY(sqrt_, sqrt(v))
UNARY(reciprocal, (T)1 / v)
UNARY(neg, -v)
UNARY(abs_, fabs(v))
UNARY(floor_, floor(v))
UNARY(ceil_, ceil(v))
UNARY(round_, rint(v))
UNARY(sin_, sin(v))
UNARY(cos_, cos(v))
UNARY(tan_, tan(v))
UNARY(softplus, softplus_(v))
UNARY(softsign, v / ((T)1 + fabs(v)))
UNARY(mish, v * tanh(softplus_(v)))
UNARY(sign_, v > (T)0 ? (T)1 : (v < (T)0 ? (T)-1 : (T)0))
UNARY(clip, fmin(fmax(v, p0), p1))
UNARY(thresholded_relu, v > p0 ? v : (T)0)
#else
UNARY(relu, v > (T)0 ? v : (T)0)
UNARY(neg, -v)
UNARY(abs_, v < (T)0 ? -v : v)
UNARY(sign_, v > (T)0 ? (T)1 : (v < (T)0 ? (T)-1 : (T)0))
UNARY(clip, v < p0 ? p0 : (v > p1 ? p1 : v))
#endif
