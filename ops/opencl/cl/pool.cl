// Pooling over 2-D windows (1-D pools have H = KH = 1), one output element
// per work item. Global size: N·C·OH·OW.
typedef struct {
	i64 NC, H, W, OH, OW;
	i64 KH, KW, SH, SW, PH, PW, DH, DW;
	i64 PH_END, PW_END; // trailing pads, for count_include_pad
} pool_t;

KERNEL void max_pool(GLOBAL const T* X, i64 xo, GLOBAL T* Y, i64 yo, pool_t p) {
	i64 i = GLOBAL_ID(0);
	if (i >= p.NC * p.OH * p.OW) return;
	i64 ox = i % p.OW, oy = (i / p.OW) % p.OH, nc = i / (p.OW * p.OH);
	i64 xb = xo + nc * p.H * p.W;
	T m = -INFINITY;
	for (i64 ky = 0; ky < p.KH; ky++) {
		i64 iy = oy * p.SH - p.PH + ky * p.DH;
		if (iy < 0 || iy >= p.H) continue;
		for (i64 kx = 0; kx < p.KW; kx++) {
			i64 ix = ox * p.SW - p.PW + kx * p.DW;
			if (ix < 0 || ix >= p.W) continue;
			T v = X[xb + iy * p.W + ix];
			if (v > m || isnan(v)) m = v;
		}
	}
	Y[yo + i] = m;
}

// avg_pool divides by the window's elements inside the input, or, with
// count_include_pad, inside the padded input.
KERNEL void avg_pool(GLOBAL const T* X, i64 xo, GLOBAL T* Y, i64 yo, pool_t p, int count_include_pad) {
	i64 i = GLOBAL_ID(0);
	if (i >= p.NC * p.OH * p.OW) return;
	i64 ox = i % p.OW, oy = (i / p.OW) % p.OH, nc = i / (p.OW * p.OH);
	i64 xb = xo + nc * p.H * p.W;
	T s = (T)0;
	i64 cnt = 0, padded = 0;
	for (i64 ky = 0; ky < p.KH; ky++) {
		i64 iy = oy * p.SH - p.PH + ky * p.DH;
		for (i64 kx = 0; kx < p.KW; kx++) {
			i64 ix = ox * p.SW - p.PW + kx * p.DW;
			if (iy >= -p.PH && iy < p.H + p.PH_END && ix >= -p.PW && ix < p.W + p.PW_END) padded++;
			if (iy < 0 || iy >= p.H || ix < 0 || ix >= p.W) continue;
			s += X[xb + iy * p.W + ix];
			cnt++;
		}
	}
	i64 d = count_include_pad ? padded : cnt;
	Y[yo + i] = d > 0 ? s / (T)d : (T)0;
}
