// Matrix products tiled in local memory. A work group of RTS×RTS work
// items computes a TS×TS tile of C, each item a WPT×WPT block held in
// registers; A and B pass through local memory TK columns (rows) at a time.
// Operands are addressed through row and column strides, so transposed
// inputs need no copy, and through per-batch strides (shape_t: s0 for A,
// s1 for B, s2 for the bias), so MatMul's broadcast batch dimensions need
// none either. Defaults suit GPUs and PoCL; the host may override them.
#ifndef TS
#define TS 64
#endif
#ifndef WPT
#define WPT 4
#endif
#ifndef TK
#define TK 16
#endif
#define RTS (TS / WPT)

// batch_offsets turns the batch index into offsets of A, B and the bias.
DEVICE_FN void batch_offsets(shape_t sh, i64 b, i64* ao, i64* bo, i64* co) {
	for (int d = (int)sh.rank - 1; d >= 0; d--) {
		i64 q = b / sh.dims[d];
		i64 k = b - q * sh.dims[d];
		b = q;
		*ao += k * sh.s0[d];
		*bo += k * sh.s1[d];
		*co += k * sh.s2[d];
	}
}

// mm_tile accumulates the product of the tiles in local memory.
DEVICE_FN void mm_tile(LOCAL_MEM T As[TK][TS], LOCAL_MEM T Bs[TK][TS], T acc[WPT][WPT], int tr, int tc) {
	for (int k = 0; k < TK; k++) {
		T a[WPT], b[WPT];
		for (int w = 0; w < WPT; w++) {
			a[w] = As[k][tr + w * RTS];
			b[w] = Bs[k][tc + w * RTS];
		}
		for (int wi = 0; wi < WPT; wi++)
			for (int wj = 0; wj < WPT; wj++)
				acc[wi][wj] = ((a[wi]) * (b[wj]) + (acc[wi][wj]));
	}
}

// gemm: C[b] = alpha·A[b]·B[b] + beta·bias[b], then ReLU if relu != 0.
// A(i, k) is A[ao + i·ars + k·acs], B(k, j) is B[bo + k·brs + j·bcs];
// bias(i, j) is bias[co + i·crs + j·ccs] (strides 0 broadcast), used when
// has_bias. C is contiguous M×N per batch. Global size:
// (ceil(N/TS)·RTS, ceil(M/TS)·RTS, batches), local (RTS, RTS, 1).
KERNEL void gemm(GLOBAL const T* A, i64 ao, i64 ars, i64 acs,
                 GLOBAL const T* B, i64 bo, i64 brs, i64 bcs,
                 GLOBAL T* C, i64 yo,
                 GLOBAL const T* bias, i64 co, i64 crs, i64 ccs,
                 i64 M, i64 N, i64 K, T alpha, T beta, int has_bias, int relu, shape_t batch) {
	LOCAL_MEM T As[TK][TS];
	LOCAL_MEM T Bs[TK][TS];
	int tc = LOCAL_ID(0), tr = LOCAL_ID(1);
	int tid = tr * RTS + tc;
	i64 bz = GROUP_ID(2);
	batch_offsets(batch, bz, &ao, &bo, &co);
	yo += bz * M * N;
	i64 row0 = GROUP_ID(1) * TS, col0 = GROUP_ID(0) * TS;
	T acc[WPT][WPT];
	for (int wi = 0; wi < WPT; wi++)
		for (int wj = 0; wj < WPT; wj++)
			acc[wi][wj] = (T)0;
	for (i64 k0 = 0; k0 < K; k0 += TK) {
		for (int l = tid; l < TS * TK; l += RTS * RTS) {
			int r = l / TK, kk = l % TK;
			i64 gi = row0 + r, gk = k0 + kk;
			As[kk][r] = (gi < M && gk < K) ? A[ao + gi * ars + gk * acs] : (T)0;
		}
		for (int l = tid; l < TS * TK; l += RTS * RTS) {
			int kk = l / TS, c = l % TS;
			i64 gk = k0 + kk, gj = col0 + c;
			Bs[kk][c] = (gk < K && gj < N) ? B[bo + gk * brs + gj * bcs] : (T)0;
		}
		BARRIER();
		mm_tile(As, Bs, acc, tr, tc);
		BARRIER();
	}
	for (int wi = 0; wi < WPT; wi++) {
		i64 i = row0 + tr + wi * RTS;
		if (i >= M) continue;
		for (int wj = 0; wj < WPT; wj++) {
			i64 j = col0 + tc + wj * RTS;
			if (j >= N) continue;
			T v = alpha * acc[wi][wj];
			if (has_bias) v += beta * bias[co + i * crs + j * ccs];
			if (relu && v < (T)0) v = (T)0;
			C[yo + i * N + j] = v;
		}
	}
}

// conv_t describes a 2-D convolution (1-D convolutions have H = KH = 1).
typedef struct {
	i64 N, C, H, W;       // input
	i64 CO, OH, OW;       // output
	i64 KH, KW;           // kernel
	i64 SH, SW, PH, PW, DH, DW; // strides, leading pads, dilations
	i64 G, CG, COG;       // groups, input and output channels per group
} conv_t;

// conv is a convolution as an implicit GEMM per (image, group): rows are
// output channels of the group, columns output pixels, and the reduction
// runs over input channels × kernel positions; B's tiles are gathered
// from the image (im2col) as they are loaded, with zeros for the padding.
// Global size: (ceil(OH·OW/TS)·RTS, ceil(COG/TS)·RTS, N·G).
KERNEL void conv(GLOBAL const T* X, i64 xo, GLOBAL const T* Wt, i64 wo, GLOBAL T* Y, i64 yo,
                 GLOBAL const T* bias, i64 bo, int has_bias, int relu, conv_t p) {
	LOCAL_MEM T As[TK][TS];
	LOCAL_MEM T Bs[TK][TS];
	int tc = LOCAL_ID(0), tr = LOCAL_ID(1);
	int tid = tr * RTS + tc;
	i64 ng = GROUP_ID(2);
	i64 n = ng / p.G, g = ng % p.G;
	i64 M = p.COG, Npix = p.OH * p.OW, KHW = p.KH * p.KW, K = p.CG * KHW;
	i64 xb = xo + (n * p.C + g * p.CG) * p.H * p.W;
	i64 wb = wo + g * p.COG * K;
	i64 row0 = GROUP_ID(1) * TS, col0 = GROUP_ID(0) * TS;
	T acc[WPT][WPT];
	for (int wi = 0; wi < WPT; wi++)
		for (int wj = 0; wj < WPT; wj++)
			acc[wi][wj] = (T)0;
	for (i64 k0 = 0; k0 < K; k0 += TK) {
		for (int l = tid; l < TS * TK; l += RTS * RTS) {
			int r = l / TK, kk = l % TK;
			i64 gi = row0 + r, gk = k0 + kk;
			As[kk][r] = (gi < M && gk < K) ? Wt[wb + gi * K + gk] : (T)0;
		}
		for (int l = tid; l < TS * TK; l += RTS * RTS) {
			int kk = l / TS, c = l % TS;
			i64 gk = k0 + kk, gj = col0 + c;
			T v = (T)0;
			if (gk < K && gj < Npix) {
				i64 ci = gk / KHW, kr = gk % KHW;
				i64 ky = kr / p.KW, kx = kr % p.KW;
				i64 oy = gj / p.OW, ox = gj % p.OW;
				i64 iy = oy * p.SH - p.PH + ky * p.DH;
				i64 ix = ox * p.SW - p.PW + kx * p.DW;
				if (iy >= 0 && iy < p.H && ix >= 0 && ix < p.W) v = X[xb + (ci * p.H + iy) * p.W + ix];
			}
			Bs[kk][c] = v;
		}
		BARRIER();
		mm_tile(As, Bs, acc, tr, tc);
		BARRIER();
	}
	i64 yb = yo + (n * p.CO + g * p.COG) * Npix;
	for (int wi = 0; wi < WPT; wi++) {
		i64 i = row0 + tr + wi * RTS;
		if (i >= M) continue;
		T b = has_bias ? bias[bo + g * p.COG + i] : (T)0;
		for (int wj = 0; wj < WPT; wj++) {
			i64 j = col0 + tc + wj * RTS;
			if (j >= Npix) continue;
			T v = acc[wi][wj] + b;
			if (relu && v < (T)0) v = (T)0;
			Y[yb + i * Npix + j] = v;
		}
	}
}

// conv_direct computes one output element per work item: for convolutions
// with little reduction per output (depthwise: one input channel per
// group), where tiles would be mostly empty. Global size: N·CO·OH·OW.
KERNEL void conv_direct(GLOBAL const T* X, i64 xo, GLOBAL const T* Wt, i64 wo, GLOBAL T* Y, i64 yo,
                        GLOBAL const T* bias, i64 bo, int has_bias, int relu, conv_t p) {
	i64 i = GLOBAL_ID(0);
	i64 total = p.N * p.CO * p.OH * p.OW;
	if (i >= total) return;
	i64 ox = i % p.OW, oy = (i / p.OW) % p.OH, co = (i / (p.OW * p.OH)) % p.CO, n = i / (p.OW * p.OH * p.CO);
	i64 g = co / p.COG;
	T acc = has_bias ? bias[bo + co] : (T)0;
	for (i64 ci = 0; ci < p.CG; ci++) {
		i64 xc = xo + (n * p.C + g * p.CG + ci) * p.H * p.W;
		i64 wc = wo + (co * p.CG + ci) * p.KH * p.KW;
		for (i64 ky = 0; ky < p.KH; ky++) {
			i64 iy = oy * p.SH - p.PH + ky * p.DH;
			if (iy < 0 || iy >= p.H) continue;
			for (i64 kx = 0; kx < p.KW; kx++) {
				i64 ix = ox * p.SW - p.PW + kx * p.DW;
				if (ix < 0 || ix >= p.W) continue;
				acc = ((X[xc + iy * p.W + ix]) * (Wt[wc + ky * p.KW + kx]) + (acc));
			}
		}
	}
	if (relu && acc < (T)0) acc = (T)0;
	Y[yo + i] = acc;
}

// gemm_small is gemm for products with few rows (a classifier's single
// row, a decoder's one token), where tiles would be mostly empty: one work
// item per element of C, reading A and B straight from global memory.
// Global size: (N, M, batches), any local size.
KERNEL void gemm_small(GLOBAL const T* A, i64 ao, i64 ars, i64 acs,
                       GLOBAL const T* B, i64 bo, i64 brs, i64 bcs,
                       GLOBAL T* C, i64 yo,
                       GLOBAL const T* bias, i64 co, i64 crs, i64 ccs,
                       i64 M, i64 N, i64 K, T alpha, T beta, int has_bias, int relu, shape_t batch) {
	i64 j = GLOBAL_ID(0), i = GLOBAL_ID(1), bz = GLOBAL_ID(2);
	if (i >= M || j >= N) return;
	batch_offsets(batch, bz, &ao, &bo, &co);
	T acc = (T)0;
	for (i64 k = 0; k < K; k++) acc += A[ao + i * ars + k * acs] * B[bo + k * brs + j * bcs];
	T v = alpha * acc;
	if (has_bias) v += beta * bias[co + i * crs + j * ccs];
	if (relu && v < (T)0) v = (T)0;
	C[yo + bz * M * N + i * N + j] = v;
}
