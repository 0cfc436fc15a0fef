package kernels

import (
	"fmt"

	"github.com/gocann/gocann/runtime/cpu"
)

// SgemmRowsB is Sgemm (no transposes) with B given as rows of one slice:
// row p of the k x n matrix B is src[offs[p] : offs[p]+n]. The micro-kernels
// read those rows in place, so B is never packed: a convolution over
// zero-padded planes (Im2col2D.PaddedGrid) passes its input with one offset
// per (channel, kernel row, kernel column), and a 1x1 convolution its input
// with offsets p·H·W. Rows may overlap (neighbouring windows share most of
// their data, which is why this beats packing: the rows of a panel take a
// third of the cache a packed panel would).
//
// Reading rows in place is fastest when they do not fall into the same
// cache sets: a row stride that is a multiple of 2 KiB with many rows is
// better packed (Sgemm). Variants without a rows kernel (the plain Go one)
// pack the rows as SgemmPackedB would; the results are identical either way.
// SgemmRowsB panics if an offset puts a row outside src.
func SgemmRowsB(w *cpu.Workers, m, n, k int, alpha float32, a []float32, lda int, src []float32, offs []int, beta float32, c []float32, ldc int, ep *Epilogue) {
	if len(offs) < k {
		panic(fmt.Sprintf("kernels: %d row offsets for depth %d", len(offs), k))
	}
	if n > 0 {
		for p, o := range offs[:k] {
			if o < 0 || o+n > len(src) {
				panic(fmt.Sprintf("kernels: row %d of B at offset %d with %d columns does not fit in %d elements", p, o, n, len(src)))
			}
		}
	}
	active.gemm(w, &problem{Batch{Count: 1}, false, false, m, n, k, alpha, a, lda, nil, 0, beta, c, ldc, ep, RowsPacker(src, offs, n), nil, &rowsB{src, offs}})
}
