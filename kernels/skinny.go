package kernels

import "github.com/gocann/gocann/runtime/cpu"

// Products with few rows (m <= 8: a decoder's tokens, small batches) and
// matrix-vector products are limited by reading B, not by arithmetic, so
// they skip the packed path: the skinny kernels stream B once, row by row,
// into m x NR register tiles, and dotRows takes dot products four rows at
// a time. Sgemm sends them here (see gemm).

// skinnyFunc computes the m x nr block T = A·B (see internal/gen skinny).
type skinnyFunc func(k int, a *float32, rs, ks int, b *float32, ldb int, t *float32)

// skinnyKernel is one row count's kernel with its column width.
type skinnyKernel struct {
	f  skinnyFunc
	nr int
}

// skinnyGemm runs g on the skinny kernels when it has at most 8 rows, B is
// not transposed and the level has them; it reports whether it did.
func skinnyGemm(w *cpu.Workers, g *problem, ep *Epilogue) bool {
	if g.m > 8 || g.transB || g.pack != nil || simd.skinny[g.m].f == nil {
		return false
	}
	if g.m == 1 && simd.axpyRows != nil {
		rowTimesMatrix(w, g, ep)
		return true
	}
	sk := simd.skinny[g.m]
	m, n, k, nr := g.m, g.n, g.k, sk.nr
	rs, ks := g.lda, 1
	if g.transA {
		rs, ks = 1, g.lda
	}
	blocks := (n + nr - 1) / nr
	// A chunk of at least ~256K multiply-adds per thread: waking a worker
	// costs more than a smaller product.
	grain := max(1, 262144/max(1, m*k*nr))
	parallelFor(w, g.bt.Count*blocks, grain, func(lo, hi int) {
		tile := getBuf(m * nr)
		defer putBuf(tile)
		var pad *[]float32
		for t := lo; t < hi; t++ {
			bi, jb := t/blocks, t%blocks
			j := jb * nr
			cols := min(nr, n-j)
			aOff, bOff, cOff := g.bt.aOff(bi), g.bt.bOff(bi), bi*g.bt.CStride
			bp, ldb := &g.b[bOff+j], g.ldb
			if cols < nr {
				// The last columns: a zero-padded k x nr copy of B.
				if pad == nil {
					pad = getBuf(k * nr)
					defer putBuf(pad)
				}
				pb := (*pad)[:max(k, 1)*nr]
				for p := 0; p < k; p++ {
					row := pb[p*nr : (p+1)*nr]
					copy(row, g.b[bOff+p*g.ldb+j:bOff+p*g.ldb+j+cols])
					clear(row[cols:])
				}
				bp, ldb = &pb[0], nr
			}
			var ap *float32
			if k > 0 {
				ap = &g.a[aOff]
			} else {
				ap = &(*tile)[0] // not read
			}
			sk.f(k, ap, rs, ks, bp, ldb, &(*tile)[0])
			for r := 0; r < m; r++ {
				acc := (*tile)[r*nr : r*nr+cols]
				if g.alpha != 1 {
					for i := range acc {
						acc[i] *= g.alpha
					}
				}
				epilogueRow(g.c[cOff+r*g.ldc+j:cOff+r*g.ldc+j+cols], cOff, r, j, acc, g.beta, ep)
			}
		}
	})
	return true
}

// axpyChunk is how many columns of C one task of rowTimesMatrix keeps:
// 8 KiB, in L1 while B streams through it.
const axpyChunk = 2048

// rowTimesMatrix runs g, one row of A times a stored B, with axpyRows:
// B is read row after row in chunks of columns, which the threads split.
func rowTimesMatrix(w *cpu.Workers, g *problem, ep *Epilogue) {
	n, k := g.n, g.k
	chunks := (n + axpyChunk - 1) / axpyChunk
	// Columns of their own for each thread when the product is big
	// enough to be worth a worker (~256K multiply-adds each).
	per := max(1, min((k*n)/262144, 8))
	parts := chunks * per
	width := (n + parts - 1) / parts
	width = (width + 15) / 16 * 16
	parts = (n + width - 1) / width
	parallelFor(w, g.bt.Count*parts, 1, func(lo, hi int) {
		ybuf := getBuf(width)
		defer putBuf(ybuf)
		var xbuf *[]float32
		for t := lo; t < hi; t++ {
			bi, q := t/parts, t%parts
			j := q * width
			cols := min(width, n-j)
			aOff, bOff, cOff := g.bt.aOff(bi), g.bt.bOff(bi), bi*g.bt.CStride
			x := g.a[aOff:]
			if g.transA && g.lda != 1 {
				// A's one row is a column of the stored matrix.
				if xbuf == nil {
					xbuf = getBuf(k)
					defer putBuf(xbuf)
				}
				xs := (*xbuf)[:k]
				for p := range xs {
					xs[p] = g.a[aOff+p*g.lda]
				}
				x = xs
			}
			y := (*ybuf)[:cols]
			clear(y)
			simd.axpyRows(&y[0], cols, &x[0], k, &g.b[bOff+j], g.ldb)
			if g.alpha != 1 {
				for i := range y {
					y[i] *= g.alpha
				}
			}
			epilogueRow(g.c[cOff+j:cOff+j+cols], cOff, 0, j, y, g.beta, ep)
		}
	})
}

// dotGemv runs g as dot products when it is a matrix times a vector (n ==
// 1, A not transposed) or a vector times a transposed matrix (m == 1, B
// transposed), on a level with dotRows; it reports whether it did.
func dotGemv(w *cpu.Workers, g *problem, ep *Epilogue) bool {
	if simd.dotRows == nil || g.pack != nil || g.k == 0 {
		return false
	}
	var rows, ldr int
	matVec := g.n == 1 && !g.transA // else vector times transposed matrix
	switch {
	case matVec:
		rows, ldr = g.m, g.lda
	case g.m == 1 && g.transB:
		rows, ldr = g.n, g.ldb
	default:
		return false
	}
	k := g.k
	grain := max(4, 262144/k)
	parallelFor(w, g.bt.Count*rows, grain, func(lo, hi int) {
		buf := getBuf(hi - lo)
		defer putBuf(buf)
		xbuf := getBuf(k)
		defer putBuf(xbuf)
		for lo < hi {
			t, r0 := lo/rows, lo%rows
			r1 := min(rows, r0+hi-lo)
			aOff, bOff, cOff := g.bt.aOff(t), g.bt.bOff(t), t*g.bt.CStride
			y := (*buf)[:r1-r0]
			if matVec {
				// y = A[r0:r1] · b, b a column of stored B (stride ldb).
				x := g.b[bOff:]
				if !g.transB && g.ldb != 1 {
					xs := (*xbuf)[:k]
					for p := range xs {
						xs[p] = g.b[bOff+p*g.ldb]
					}
					x = xs
				}
				simd.dotRows(&y[0], &g.a[aOff+r0*ldr], ldr, r1-r0, &x[0], k)
				for i, v := range y {
					ci := cOff + (r0+i)*g.ldc
					s := [1]float32{g.alpha * v}
					epilogueRow(g.c[ci:ci+1], cOff, r0+i, 0, s[:], g.beta, ep)
				}
			} else {
				// y = a · Bt[r0:r1]^T, a a row of stored A (or a column
				// when transposed).
				x := g.a[aOff:]
				if g.transA && g.lda != 1 {
					xs := (*xbuf)[:k]
					for p := range xs {
						xs[p] = g.a[aOff+p*g.lda]
					}
					x = xs
				}
				simd.dotRows(&y[0], &g.b[bOff+r0*ldr], ldr, r1-r0, &x[0], k)
				for i := range y {
					y[i] *= g.alpha
				}
				epilogueRow(g.c[cOff+r0:cOff+r1], cOff, 0, r0, y, g.beta, ep)
			}
			lo += r1 - r0
		}
	})
	return true
}
