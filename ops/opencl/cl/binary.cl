// Elementwise functions of two inputs with broadcasting, on T (-DT=…).
// Each comes as name (inputs and output of one shape, contiguous) and
// name_bc (broadcast: the output is contiguous, strides s0 and s1 of the
// shape_t place the inputs; 0 repeats an element). Comparisons write u8
// (ONNX bool). Integer division by zero writes 0 and sets *err.

DEVICE_FN void bc_index(shape_t sh, i64 i, i64* ai, i64* bi) {
	i64 rem = i, a = *ai, b = *bi;
	for (int d = (int)sh.rank - 1; d >= 0; d--) {
		i64 q = rem / sh.dims[d];
		i64 k = rem - q * sh.dims[d];
		rem = q;
		a += k * sh.s0[d];
		b += k * sh.s1[d];
	}
	*ai = a;
	*bi = b;
}

#define BINARY(name, OUT, expr) \
KERNEL void name(GLOBAL const T* A, i64 ao, GLOBAL const T* B, i64 bo, GLOBAL OUT* Y, i64 yo, i64 n, GLOBAL int* err) { \
	i64 i = GLOBAL_ID(0); \
	if (i >= n) return; \
	T a = A[ao + i], b = B[bo + i]; \
	Y[yo + i] = (expr); \
} \
KERNEL void name##_bc(GLOBAL const T* A, i64 ao, GLOBAL const T* B, i64 bo, GLOBAL OUT* Y, i64 yo, i64 n, GLOBAL int* err, shape_t sh) { \
	i64 i = GLOBAL_ID(0); \
	if (i >= n) return; \
	i64 ai = ao, bi = bo; \
	bc_index(sh, i, &ai, &bi); \
	T a = A[ai], b = B[bi]; \
	Y[yo + i] = (expr); \
}

#ifdef FLOAT
DEVICE_FN T div_(T a, T b, GLOBAL int* err) { return a / b; }
DEVICE_FN T pow_(T a, T b) { return pow(a, b); }
DEVICE_FN T mod_(T a, T b, GLOBAL int* err) { return fmod(a, b); }
DEVICE_FN T max_(T a, T b) { return isnan(a) || isnan(b) ? a + b : fmax(a, b); }
DEVICE_FN T min_(T a, T b) { return isnan(a) || isnan(b) ? a + b : fmin(a, b); }
#else
DEVICE_FN T div_(T a, T b, GLOBAL int* err) {
	if (b == (T)0) {
		ATOMIC_OR(err, 1);
		return (T)0;
	}
	return a / b;
}
// mod_ is ONNX Mod with fmod=0: the result takes the divisor's sign.
DEVICE_FN T mod_(T a, T b, GLOBAL int* err) {
	if (b == (T)0) {
		ATOMIC_OR(err, 1);
		return (T)0;
	}
	T r = a % b;
	if (r != (T)0 && ((r < (T)0) != (b < (T)0))) r += b;
	return r;
}
DEVICE_FN T max_(T a, T b) { return a > b ? a : b; }
DEVICE_FN T min_(T a, T b) { return a < b ? a : b; }
#endif

#ifndef LOGIC
BINARY(add, T, a + b)
BINARY(sub, T, a - b)
BINARY(mul, T, a * b)
BINARY(div, T, div_(a, b, err))
#ifdef FLOAT
BINARY(pow, T, pow_(a, b))
#endif
BINARY(mod, T, mod_(a, b, err))
BINARY(maximum, T, max_(a, b))
BINARY(minimum, T, min_(a, b))
BINARY(prelu, T, a < (T)0 ? a * b : a)
BINARY(equal, u8, a == b)
BINARY(less, u8, a < b)
BINARY(less_equal, u8, a <= b)
BINARY(greater, u8, a > b)
BINARY(greater_equal, u8, a >= b)
#else
BINARY(equal, u8, (a != 0) == (b != 0))
BINARY(and_, u8, (a != 0) && (b != 0))
BINARY(or_, u8, (a != 0) || (b != 0))
BINARY(xor_, u8, (a != 0) != (b != 0))

KERNEL void not_(GLOBAL const u8* X, i64 xo, GLOBAL u8* Y, i64 yo, i64 n) {
	i64 i = GLOBAL_ID(0);
	if (i < n) Y[yo + i] = !X[xo + i];
}
#endif
