package standard

import (
	"math/bits"
	"sync"

	"github.com/gocann/gocann/ops"
)

// A cache-blocked, parallel float32 GEMM in plain Go, in the style of
// BLIS: B is packed into column panels nnNR wide and A into row panels nnMR
// high, for one block of nnKC along k at a time; a register-blocked
// micro-kernel then computes each nnMR x nnNR tile of C. The micro-kernel
// is 2x4 because the Go compiler keeps its 8 accumulators, 2 values of A
// and 4 of B in registers (a 4x4 or 2x8 tile spills to the stack and runs
// at a third of the speed). A later assembly kernel replaces nnKernel.

const (
	nnMR = 2   // rows of C per micro-tile
	nnNR = 4   // columns of C per micro-tile
	nnKC = 256 // depth of one packed block: an A row panel plus a B column panel stay in L1
	nnMB = 64  // rows of C per parallel task: the packed A block (nnMB x nnKC) stays in L2
	nnNB = 256 // columns of C per parallel task
)

// nnBufPools recycle scratch buffers (packed panels, im2col matrices)
// between calls, one pool per power-of-two size class so that small and
// large requests do not evict each other.
var nnBufPools [48]sync.Pool

// nnGetBuf returns a scratch slice of n floats; its contents are undefined.
func nnGetBuf(n int) *[]float32 {
	c := bits.Len(uint(max(n, 1) - 1))
	if c < len(nnBufPools) {
		if p, ok := nnBufPools[c].Get().(*[]float32); ok && cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	b := make([]float32, n, 1<<c)
	return &b
}

func nnPutBuf(p *[]float32) {
	if c := bits.Len(uint(cap(*p)) - 1); c < len(nnBufPools) && cap(*p) == 1<<c {
		nnBufPools[c].Put(p)
	}
}

// nnSgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices:
// op(A) is m x k (A is k x m with leading dimension lda when transA), op(B)
// is k x n, C is m x n with leading dimension ldc. beta == 0 overwrites C
// without reading it (so NaNs there do not propagate).
func nnSgemm(env *ops.Env, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	nnSgemmBias(env, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}

// nnSgemmBias is nnSgemm with an optional per-row bias: when bias is not
// nil, C = alpha*op(A)*op(B) + bias[i] on row i and beta is ignored. Adding
// it in the tile store saves a pass over C (convolution biases).
func nnSgemmBias(env *ops.Env, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 || (m == 1 && bias != nil) {
		if bias == nil {
			nnScaleC(m, n, beta, c, ldc)
			return
		}
		// Rare shapes: fill the bias and accumulate on top of it.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] = bias[i]
			}
		}
		nnSgemmBias(env, transA, transB, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc, nil)
		return
	}
	if m == 1 {
		nnGemv(env, transB, n, k, alpha, a, transA, lda, b, ldb, beta, c)
		return
	}
	if n == 1 && !transA {
		// A matrix-vector product: one dot product per row of A.
		bv := b[:k]
		if !transB && ldb != 1 {
			buf := nnGetBuf(k)
			defer nnPutBuf(buf)
			bv = *buf
			for p := range bv {
				bv[p] = b[p*ldb]
			}
		}
		env.ParallelFor(m, max(16, 32768/k), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				s := alpha * nnDot(bv, a[i*lda:i*lda+k])
				switch {
				case bias != nil:
					c[i*ldc] = s + bias[i]
				case beta == 0:
					c[i*ldc] = s
				default:
					c[i*ldc] = s + beta*c[i*ldc]
				}
			}
		})
		return
	}
	nb := (n + nnNR - 1) / nnNR * nnNR
	bbuf := nnGetBuf(min(k, nnKC) * nb)
	defer nnPutBuf(bbuf)
	bp := *bbuf
	mTasks := (m + nnMB - 1) / nnMB
	// Narrow column tasks when there are few row tasks, so both threads work.
	colW := nnNB
	for colW > 2*nnNR && mTasks*((n+colW-1)/colW) < 8 {
		colW /= 2
	}
	nTasks := (n + colW - 1) / colW
	panels := nb / nnNR
	for pc := 0; pc < k; pc += nnKC {
		kc := min(nnKC, k-pc)
		b1 := beta
		if pc > 0 {
			b1 = 1
		}
		env.ParallelFor(panels, max(1, 16384/(kc*nnNR)), func(lo, hi int) {
			for jp := lo; jp < hi; jp++ {
				nnPackB(bp[jp*kc*nnNR:(jp+1)*kc*nnNR], transB, b, ldb, pc, kc, jp*nnNR, n)
			}
		})
		env.ParallelFor(mTasks*nTasks, 1, func(lo, hi int) {
			abuf := nnGetBuf(nnMB * kc)
			ap := *abuf
			var tile [nnMR * nnNR]float32
			for t := lo; t < hi; t++ {
				i0 := (t / nTasks) * nnMB
				j0 := (t % nTasks) * colW
				mb := min(nnMB, m-i0)
				jEnd := min(j0+colW, n)
				nnPackA(ap, transA, a, lda, i0, mb, pc, kc)
				for j := j0; j < jEnd; j += nnNR {
					bpan := bp[(j/nnNR)*kc*nnNR : (j/nnNR+1)*kc*nnNR]
					nr := min(nnNR, jEnd-j)
					for i := 0; i < mb; i += nnMR {
						apan := ap[(i/nnMR)*kc*nnMR : (i/nnMR+1)*kc*nnMR]
						mr := min(nnMR, mb-i)
						nnKernel(kc, apan, bpan, &tile)
						if bias != nil && pc == 0 {
							nnStoreTileBias(&tile, c[(i0+i)*ldc+j:], ldc, mr, nr, alpha, bias[i0+i:])
							continue
						}
						nnStoreTile(&tile, c[(i0+i)*ldc+j:], ldc, mr, nr, alpha, b1)
					}
				}
			}
			nnPutBuf(abuf)
		})
	}
}

// nnScaleC sets C = beta*C (C = 0 when beta is 0).
func nnScaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// nnGemv handles a single row of C: c = alpha*a*op(B) + beta*c, parallel
// over columns. Packing would waste half the micro-kernel on one row.
func nnGemv(env *ops.Env, transB bool, n, k int, alpha float32, a []float32, transA bool, lda int, b []float32, ldb int, beta float32, c []float32) {
	av := a
	if transA && lda != 1 { // A is k x 1 with stride lda: gather it
		buf := nnGetBuf(k)
		defer nnPutBuf(buf)
		av = *buf
		for p := 0; p < k; p++ {
			av[p] = a[p*lda]
		}
	}
	av = av[:k]
	env.ParallelFor(n, max(16, 32768/k), func(lo, hi int) {
		if transB {
			for j := lo; j < hi; j++ {
				s := nnDot(av, b[j*ldb:j*ldb+k])
				if beta == 0 {
					c[j] = alpha * s
				} else {
					c[j] = alpha*s + beta*c[j]
				}
			}
			return
		}
		acc := make([]float32, hi-lo)
		for p := 0; p < k; p++ {
			nnAxpy(av[p], b[p*ldb+lo:p*ldb+hi], acc)
		}
		for j := lo; j < hi; j++ {
			if beta == 0 {
				c[j] = alpha * acc[j-lo]
			} else {
				c[j] = alpha*acc[j-lo] + beta*c[j]
			}
		}
	})
}

// nnDot returns the dot product of x and y (len(y) >= len(x)), with four
// partial sums to break the dependency chain.
func nnDot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xx := (*[4]float32)(x[i:])
		yy := (*[4]float32)(y[i:])
		s0 += xx[0] * yy[0]
		s1 += xx[1] * yy[1]
		s2 += xx[2] * yy[2]
		s3 += xx[3] * yy[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// nnAxpy computes y += a*x (len(x) >= len(y)).
func nnAxpy(a float32, x, y []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		xx := (*[4]float32)(x[i:])
		yy := (*[4]float32)(y[i:])
		yy[0] += a * xx[0]
		yy[1] += a * xx[1]
		yy[2] += a * xx[2]
		yy[3] += a * xx[3]
	}
	for ; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// nnPackA packs rows [i0, i0+mb) and depth [p0, p0+kc) of op(A) into
// row panels of nnMR: panel r holds, for each p, the nnMR values of its
// rows (zero past the last row).
func nnPackA(ap []float32, trans bool, a []float32, lda, i0, mb, p0, kc int) {
	for i := 0; i < mb; i += nnMR {
		pan := ap[(i/nnMR)*kc*nnMR : (i/nnMR+1)*kc*nnMR]
		mr := min(nnMR, mb-i)
		for r := 0; r < nnMR; r++ {
			if r >= mr {
				for p := 0; p < kc; p++ {
					pan[p*nnMR+r] = 0
				}
				continue
			}
			row := i0 + i + r
			if trans {
				for p := 0; p < kc; p++ {
					pan[p*nnMR+r] = a[(p0+p)*lda+row]
				}
			} else {
				src := a[row*lda+p0 : row*lda+p0+kc]
				for p, v := range src {
					pan[p*nnMR+r] = v
				}
			}
		}
	}
}

// nnPackB packs columns [j0, j0+nnNR) and depth [p0, p0+kc) of op(B) into
// one column panel: for each p, nnNR values (zero past column n).
func nnPackB(bp []float32, trans bool, b []float32, ldb, p0, kc, j0, n int) {
	nr := min(nnNR, n-j0)
	if !trans && nr == nnNR {
		for p := 0; p < kc; p++ {
			src := (*[nnNR]float32)(b[(p0+p)*ldb+j0:])
			dst := (*[nnNR]float32)(bp[p*nnNR:])
			*dst = *src
		}
		return
	}
	for q := 0; q < nnNR; q++ {
		if q >= nr {
			for p := 0; p < kc; p++ {
				bp[p*nnNR+q] = 0
			}
			continue
		}
		if trans {
			src := b[(j0+q)*ldb+p0 : (j0+q)*ldb+p0+kc]
			for p, v := range src {
				bp[p*nnNR+q] = v
			}
		} else {
			for p := 0; p < kc; p++ {
				bp[p*nnNR+q] = b[(p0+p)*ldb+j0+q]
			}
		}
	}
}

// nnKernel computes the 2x4 product of kc steps of the packed panels a (2
// per step) and b (4 per step) into t, row-major. It is unrolled four times
// along k and takes no other arguments, so that the 8 accumulators and the
// 6 operands stay in registers (the Go compiler spills otherwise).
func nnKernel(kc int, a, b []float32, t *[nnMR * nnNR]float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var a0, a1, b0, b1, b2, b3 float32
	a = a[:kc*nnMR]
	b = b[:kc*nnNR]
	p, q := 0, 0
	for ; p+8 <= len(a) && q+16 <= len(b); p, q = p+8, q+16 {
		aa := (*[8]float32)(a[p:])
		bb := (*[16]float32)(b[q:])
		a0, a1 = aa[0], aa[1]
		b0, b1, b2, b3 = bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = aa[2], aa[3]
		b0, b1, b2, b3 = bb[4], bb[5], bb[6], bb[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = aa[4], aa[5]
		b0, b1, b2, b3 = bb[8], bb[9], bb[10], bb[11]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = aa[6], aa[7]
		b0, b1, b2, b3 = bb[12], bb[13], bb[14], bb[15]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	for ; p+2 <= len(a) && q+4 <= len(b); p, q = p+2, q+4 {
		aa := (*[2]float32)(a[p:])
		bb := (*[4]float32)(b[q:])
		a0, a1 = aa[0], aa[1]
		b0, b1, b2, b3 = bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	*t = [nnMR * nnNR]float32{c00, c01, c02, c03, c10, c11, c12, c13}
}

// nnStoreTile writes C = alpha*t + beta*C for the top-left mr x nr of a
// tile; beta == 0 does not read C.
func nnStoreTile(t *[nnMR * nnNR]float32, c []float32, ldc, mr, nr int, alpha, beta float32) {
	if mr == nnMR && nr == nnNR {
		r0 := (*[nnNR]float32)(c[0:])
		r1 := (*[nnNR]float32)(c[ldc:])
		if beta == 0 {
			r0[0], r0[1], r0[2], r0[3] = alpha*t[0], alpha*t[1], alpha*t[2], alpha*t[3]
			r1[0], r1[1], r1[2], r1[3] = alpha*t[4], alpha*t[5], alpha*t[6], alpha*t[7]
			return
		}
		r0[0], r0[1], r0[2], r0[3] = alpha*t[0]+beta*r0[0], alpha*t[1]+beta*r0[1], alpha*t[2]+beta*r0[2], alpha*t[3]+beta*r0[3]
		r1[0], r1[1], r1[2], r1[3] = alpha*t[4]+beta*r1[0], alpha*t[5]+beta*r1[1], alpha*t[6]+beta*r1[2], alpha*t[7]+beta*r1[3]
		return
	}
	for r := 0; r < mr; r++ {
		row := c[r*ldc : r*ldc+nr]
		for q := range row {
			if beta == 0 {
				row[q] = alpha * t[r*nnNR+q]
			} else {
				row[q] = alpha*t[r*nnNR+q] + beta*row[q]
			}
		}
	}
}

// nnStoreTileBias writes C = alpha*t + bias[row] for the top-left mr x nr
// of a tile.
func nnStoreTileBias(t *[nnMR * nnNR]float32, c []float32, ldc, mr, nr int, alpha float32, bias []float32) {
	for r := 0; r < mr; r++ {
		row := c[r*ldc : r*ldc+nr]
		bv := bias[r]
		for q := range row {
			row[q] = alpha*t[r*nnNR+q] + bv
		}
	}
}
