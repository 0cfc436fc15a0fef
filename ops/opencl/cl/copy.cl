// Data movement on elements of any type E (uchar, ushort, uint or ulong: the
// element's size is all that matters), selected by -DE=…

// strided_copy copies the n elements of an iteration space: element
// (i_0, …, i_{r-1}) is read at soff + Σ i_d·s0[d] and written at
// doff + Σ i_d·s1[d]. Transpose, Slice, Expand, Concat and Split are all
// this kernel with different strides.
KERNEL void strided_copy(GLOBAL const E* src, i64 soff, GLOBAL E* dst, i64 doff, i64 n, shape_t sh) {
	i64 i = GLOBAL_ID(0);
	if (i >= n) return;
	i64 rem = i, si = soff, di = doff;
	for (int d = (int)sh.rank - 1; d >= 0; d--) {
		i64 q = rem / sh.dims[d];
		i64 k = rem - q * sh.dims[d];
		rem = q;
		si += k * sh.s0[d];
		di += k * sh.s1[d];
	}
	dst[di] = src[si];
}

// fill sets n elements to v.
KERNEL void fill(GLOBAL E* dst, i64 doff, i64 n, E v) {
	i64 i = GLOBAL_ID(0);
	if (i < n) dst[doff + i] = v;
}

// where_ selects x where cond is non-zero, else y, with broadcasting
// (strides s0: cond, s1: x, s2: y); the output is contiguous.
KERNEL void where_(GLOBAL const u8* c, i64 co, GLOBAL const E* x, i64 xo, GLOBAL const E* y, i64 yo,
                   GLOBAL E* out, i64 oo, i64 n, shape_t sh) {
	i64 i = GLOBAL_ID(0);
	if (i >= n) return;
	i64 rem = i, ci = co, xi = xo, yi = yo;
	for (int d = (int)sh.rank - 1; d >= 0; d--) {
		i64 q = rem / sh.dims[d];
		i64 k = rem - q * sh.dims[d];
		rem = q;
		ci += k * sh.s0[d];
		xi += k * sh.s1[d];
		yi += k * sh.s2[d];
	}
	out[oo + i] = c[ci] ? x[xi] : y[yi];
}

// trilu keeps the upper (upper != 0) or lower triangle of each rows×cols
// matrix, relative to diagonal k, and zeroes the rest.
KERNEL void trilu(GLOBAL const E* src, i64 so, GLOBAL E* dst, i64 doff, i64 n, i64 rows, i64 cols, i64 k, int upper) {
	i64 i = GLOBAL_ID(0);
	if (i >= n) return;
	i64 c = i % cols;
	i64 r = (i / cols) % rows;
	int keep = upper ? (c - r >= k) : (c - r <= k);
	dst[doff + i] = keep ? src[so + i] : (E)0;
}

// gather takes slices of data [outer, axis, inner] at the indices (of type
// IDX, negative counting from the end) into out [outer, nidx, inner]. An
// index out of range writes zeros and sets *err, which the host checks.
KERNEL void gather(GLOBAL const E* data, i64 dof, GLOBAL const IDX* idx, i64 iof, GLOBAL E* out, i64 oof,
                   i64 n, i64 axis, i64 inner, i64 nidx, GLOBAL int* err) {
	i64 i = GLOBAL_ID(0);
	if (i >= n) return;
	i64 in = i % inner;
	i64 j = (i / inner) % nidx;
	i64 o = i / (inner * nidx);
	i64 k = (i64)idx[iof + j];
	if (k < 0) k += axis;
	if (k < 0 || k >= axis) {
		out[oof + i] = (E)0;
		ATOMIC_OR(err, 1);
		return;
	}
	out[oof + i] = data[dof + (o * axis + k) * inner + in];
}
