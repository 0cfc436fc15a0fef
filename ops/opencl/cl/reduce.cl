// Reductions. One work group of RED_WG items per output element (launched
// for exactly the outputs: no item may leave before a barrier): the items
// stride over the reduced elements, then combine through local memory.
// kept describes the output's index space with the input strides of the
// kept axes (dims, s0); red the reduced axes (dims, s0). op selects the
// reduction; the result is then scaled (Mean) or transformed (L2, LogSum…).
#define RED_WG 64

#define R_SUM 0
#define R_MEAN 1
#define R_MAX 2
#define R_MIN 3
#define R_PROD 4
#define R_SUMSQ 5
#define R_L1 6
#define R_L2 7
#define R_LOGSUM 8
#define R_LOGSUMEXP 9

DEVICE_FN i64 offset_of(shape_t sh, i64 i) {
	i64 off = 0;
	for (int d = (int)sh.rank - 1; d >= 0; d--) {
		i64 q = i / sh.dims[d];
		off += (i - q * sh.dims[d]) * sh.s0[d];
		i = q;
	}
	return off;
}

DEVICE_FN ACC combine(int op, ACC a, ACC b) {
	switch (op) {
	case R_MAX: return a > b || isnan(a) ? a : b;
	case R_MIN: return a < b || isnan(a) ? a : b;
	case R_PROD: return a * b;
	}
	return a + b;
}

// group_reduce combines the work group's values; every item gets the result.
DEVICE_FN ACC group_reduce(LOCAL_MEM ACC* part, int l, int op, ACC v) {
	part[l] = v;
	BARRIER();
	for (int s = RED_WG / 2; s > 0; s >>= 1) {
		if (l < s) part[l] = combine(op, part[l], part[l + s]);
		BARRIER();
	}
	ACC r = part[0];
	BARRIER();
	return r;
}

KERNEL void reduce(GLOBAL const T* X, i64 xo, GLOBAL T* Y, i64 yo, i64 nout, i64 R,
                   shape_t kept, shape_t red, int op, ACC scale) {
	LOCAL_MEM ACC part[RED_WG];
	i64 o = GROUP_ID(0);
	int l = LOCAL_ID(0);
	i64 base = xo + offset_of(kept, o);
	ACC shift = (ACC)0;
	if (op == R_LOGSUMEXP) {
		ACC m = -INFINITY;
		for (i64 r = l; r < R; r += RED_WG) m = combine(R_MAX, m, (ACC)X[base + offset_of(red, r)]);
		shift = group_reduce(part, l, R_MAX, m);
		if (isinf(shift)) shift = (ACC)0;
	}
	int cop = op == R_MAX || op == R_MIN || op == R_PROD ? op : R_SUM;
	ACC acc = (ACC)0;
	if (op == R_MAX) acc = -INFINITY;
	if (op == R_MIN) acc = INFINITY;
	if (op == R_PROD) acc = (ACC)1;
	for (i64 r = l; r < R; r += RED_WG) {
		ACC v = (ACC)X[base + offset_of(red, r)];
		switch (op) {
		case R_SUMSQ: case R_L2: v = v * v; break;
		case R_L1: v = fabs(v); break;
		case R_LOGSUMEXP: v = exp(v - shift); break;
		}
		acc = combine(cop, acc, v);
	}
	ACC v = group_reduce(part, l, cop, acc);
	if (l == 0) {
		switch (op) {
		case R_MEAN: v = v * scale; break;
		case R_L2: v = sqrt(v); break;
		case R_LOGSUM: v = log(v); break;
		case R_LOGSUMEXP: v = log(v) + shift; break;
		}
		Y[yo + o] = (T)v;
	}
}
