package kernels

import (
	"fmt"

	"github.com/gocann/gocann/runtime/cpu"
)

// A model's weights are constant, yet a plain Sgemm packs its B operand
// into panels on every call (a tenth or more of a transformer's time). A
// prepacked B is that packing done once, for the whole depth: panel q
// holds, for each of the k rows, the nr values of columns q·nr … q·nr+nr-1
// (zero past n), so every block the blocked product needs is a contiguous
// run of the panel, read in place. The layout depends only on nr, the
// micro-kernel's width (PackedNR); a product on a machine whose kernel
// has another width repacks blocks from it as it goes (correct, slower).

// PackedNR is the panel width that SgemmPrepacked reads in place on this
// machine.
func PackedNR() int { return active.nr }

// PackedLen is the length of op(B) (k x n) packed in panels of nr.
func PackedLen(k, n, nr int) int { return (n + nr - 1) / nr * k * nr }

// PackB packs op(B), k x n (stored n x k when trans, row stride ldb), in
// panels of nr columns for SgemmPrepacked.
func PackB(b []float32, ldb int, trans bool, k, n, nr int) ([]float32, error) {
	if k < 0 || n < 0 || nr < 1 {
		return nil, fmt.Errorf("kernels: pack B: bad size k=%d n=%d nr=%d", k, n, nr)
	}
	out := make([]float32, PackedLen(k, n, nr))
	if err := PackBInto(out, b, ldb, trans, k, n, nr); err != nil {
		return nil, err
	}
	return out, nil
}

// PackBInto is PackB writing into dst, which must hold PackedLen(k, n, nr)
// elements and must not overlap b.
func PackBInto(dst, b []float32, ldb int, trans bool, k, n, nr int) error {
	if k < 0 || n < 0 || nr < 1 {
		return fmt.Errorf("kernels: pack B: bad size k=%d n=%d nr=%d", k, n, nr)
	}
	rows, cols := k, n
	if trans {
		rows, cols = n, k
	}
	if rows > 0 && cols > 0 && (ldb < cols || (rows-1)*ldb+cols > len(b)) {
		return fmt.Errorf("kernels: pack B: %dx%d matrix with stride %d does not fit in %d elements", rows, cols, ldb, len(b))
	}
	if len(dst) < PackedLen(k, n, nr) {
		return fmt.Errorf("kernels: pack B: %d elements for %d", len(dst), PackedLen(k, n, nr))
	}
	if k > 0 && n > 0 {
		packB(dst, b, ldb, trans, 0, k, 0, n, nr)
	}
	return nil
}

// SgemmPrepacked is SgemmBatched with B given packed by PackB (panel width
// nr) and shared by every product of the batch (bt's B offsets and stride
// are ignored): C = act(alpha·op(A)·B + beta·C + bias). The products take
// the blocked path whatever their size. It panics, as Sgemm does, when a
// slice is too short.
func SgemmPrepacked(w *cpu.Workers, bt Batch, transA bool, m, n, k int, alpha float32, a []float32, lda int, packed []float32, nr int, beta float32, c []float32, ldc int, ep *Epilogue) {
	if nr < 1 || len(packed) < PackedLen(k, n, nr) {
		panic(fmt.Sprintf("kernels: prepacked B of %d elements for k=%d n=%d nr=%d", len(packed), k, n, nr))
	}
	bt.BOffsets, bt.BStride = nil, 0
	g := &problem{bt, transA, false, m, n, k, alpha, a, lda, nil, 0, beta, c, ldc, ep, prepackedPacker(packed, k, nr), nil, nil}
	if nr == active.nr {
		g.pre = packed
	}
	active.gemm(w, g)
}

// prepackedPacker copies blocks out of B packed with panel width pnr into
// the layout of another width.
func prepackedPacker(pre []float32, k, pnr int) BPacker {
	return func(dst []float32, k0, kc, j0, j1, nr int) {
		for jp := j0; jp < j1; jp += nr {
			pan := dst[(jp-j0)/nr*kc*nr:][:kc*nr]
			cols := min(nr, j1-jp)
			for p := 0; p < kc; p++ {
				row := pan[p*nr : (p+1)*nr]
				for q := range cols {
					j := jp + q
					row[q] = pre[j/pnr*k*pnr+(k0+p)*pnr+j%pnr]
				}
				clear(row[cols:])
			}
		}
	}
}
