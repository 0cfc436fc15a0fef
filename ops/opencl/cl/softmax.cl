// Softmax, LogSoftmax and layer normalization over rows: the data is
// [outer, L, inner] and a row is the L elements at one (outer, inner),
// inner apart. One work group of RED_WG items per row, launched for exactly
// the rows: no item may leave before a barrier (PoCL, among others, cannot
// compile an early return ahead of a barrier, even a uniform one).
#define RED_WG 64

DEVICE_FN float group_max(LOCAL_MEM float* part, int l, float v) {
	part[l] = v;
	BARRIER();
	for (int s = RED_WG / 2; s > 0; s >>= 1) {
		if (l < s) part[l] = fmax(part[l], part[l + s]);
		BARRIER();
	}
	float r = part[0];
	BARRIER();
	return r;
}

DEVICE_FN float group_sum(LOCAL_MEM float* part, int l, float v) {
	part[l] = v;
	BARRIER();
	for (int s = RED_WG / 2; s > 0; s >>= 1) {
		if (l < s) part[l] += part[l + s];
		BARRIER();
	}
	float r = part[0];
	BARRIER();
	return r;
}

// softmax: log_ != 0 gives LogSoftmax. Global size: rows·RED_WG.
KERNEL void softmax(GLOBAL const float* X, i64 xo, GLOBAL float* Y, i64 yo, i64 rows, i64 L, i64 inner, int log_) {
	LOCAL_MEM float part[RED_WG];
	i64 row = GROUP_ID(0);
	int l = LOCAL_ID(0);
	i64 base = xo + (row / inner) * L * inner + row % inner;
	i64 ybase = yo + (row / inner) * L * inner + row % inner;
	float m = -INFINITY;
	for (i64 k = l; k < L; k += RED_WG) m = fmax(m, X[base + k * inner]);
	m = group_max(part, l, m);
	float s = 0.0f;
	for (i64 k = l; k < L; k += RED_WG) s += exp(X[base + k * inner] - m);
	s = group_sum(part, l, s);
	if (log_) {
		float ls = log(s);
		for (i64 k = l; k < L; k += RED_WG) Y[ybase + k * inner] = X[base + k * inner] - m - ls;
	} else {
		float r = 1.0f / s;
		for (i64 k = l; k < L; k += RED_WG) Y[ybase + k * inner] = exp(X[base + k * inner] - m) * r;
	}
}

// layer_norm normalizes each contiguous row of L elements (mean and
// variance in two passes, for accuracy), then applies scale and bias,
// which are L long, or 1 long (s_step, b_step = 0). The mean is stored
// when stats has bit 1, the inverse standard deviation when it has bit 2. Global size: rows·RED_WG.
KERNEL void layer_norm(GLOBAL const float* X, i64 xo, GLOBAL float* Y, i64 yo,
                       GLOBAL const float* S, i64 so, i64 s_step, GLOBAL const float* B, i64 bo, i64 b_step, int has_bias,
                       GLOBAL float* Mean, i64 mo, GLOBAL float* Inv, i64 io, int stats,
                       i64 rows, i64 L, float eps) {
	LOCAL_MEM float part[RED_WG];
	i64 row = GROUP_ID(0);
	int l = LOCAL_ID(0);
	i64 base = row * L;
	float s = 0.0f;
	for (i64 k = l; k < L; k += RED_WG) s += X[xo + base + k];
	float mean = group_sum(part, l, s) / (float)L;
	float v = 0.0f;
	for (i64 k = l; k < L; k += RED_WG) {
		float d = X[xo + base + k] - mean;
		v += d * d;
	}
	float inv = 1.0f / sqrt(group_sum(part, l, v) / (float)L + eps);
	for (i64 k = l; k < L; k += RED_WG) {
		float y = (X[xo + base + k] - mean) * inv * S[so + k * s_step];
		if (has_bias) y += B[bo + k * b_step];
		Y[yo + base + k] = y;
	}
	if (l == 0) {
		if (stats & 1) Mean[mo + row] = mean;
		if (stats & 2) Inv[io + row] = inv;
	}
}
