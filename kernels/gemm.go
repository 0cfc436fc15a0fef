// Package kernels holds GoCANN's CPU compute kernels at the level below the
// operators: dense float32 matrix products (SGEMM) with fused epilogues, and
// the building blocks operators call in their inner loops. Everything here
// works on plain slices and a *cpu.Workers pool; nothing knows about tensors
// or graphs.
//
// # SGEMM
//
// Sgemm and SgemmBatched compute
//
//	C = act(alpha·op(A)·op(B) + beta·C + rowBias[i] + colBias[j] + R[i][j])
//
// for row-major matrices, op(X) being X or its transpose. The design follows
// BLIS and MLAS:
//
//   - A micro-kernel computes one MR x NR tile of C in vector registers from
//     k steps of A and of a packed panel of B (NR values per step). A is read
//     in place through two strides, so neither orientation of A is copied; B
//     is packed per task into NR-wide column panels, zero-padded, one block of
//     KC steps at a time. The epilogue (alpha, accumulation into C, row and
//     column bias, a residual matrix R, ReLU or Clip) is applied to the tile
//     in registers before the one store, so they cost no extra pass over C.
//     Other activations (Activation) are applied by vector kernels to each
//     stripe of MR rows just after its tiles are stored, while it is in L1.
//   - Kernel variants: plain Go (2x4, the fallback on every platform and with
//     the purego build tag), AVX2+FMA (6x16) and AVX-512 (8x32; a 12x32 tile measured
//     slower). The
//     assembly is generated with avo by internal/gen (go generate) and the
//     instruction set is picked once at start-up from golang.org/x/sys/cpu;
//     GOCANN_SGEMM=go|avx2|avx512 forces one for comparisons.
//   - Blocking: KC is sized so that an MR x KC slice of A stays in L1, and a
//     task's packed B block (KC x NC) in half of L2; cache sizes come from
//     runtime/cpu, with 32 KiB L1 and 1 MiB L2 where the system does not say.
//   - Threads: the product is cut into tasks (matrix of the batch x row block
//     x column block), each computing its tile of C over the whole depth, and
//     the tasks are spread with Workers.ParallelFor. Every element of C is
//     computed by one task in the same order whatever the thread count, so
//     results are reproducible.
//   - Edges: tiles cut by the end of M or N go through a small scratch tile
//     (C copied in and out, bias padded), so the kernels only ever see full
//     tiles.
//
// Rounding: each element is a float32 sum over k in blocks of KC (FMA in the
// assembly kernels), so results differ from a float64 reference by at most a
// few ulp times k times the magnitude of the terms; the tests check every
// variant against SgemmReference within 4·2⁻²⁴·(k+4)·Σ|terms|.
package kernels

//go:generate go run ./internal/gen -out gemm_amd64.s -stubs gemm_stubs_amd64.go -pkg kernels

import (
	"fmt"
	"math/bits"
	"os"
	"sync"

	"github.com/gocann/gocann/runtime/cpu"
)

// Epilogue is what Sgemm applies to each element of C after the product:
//
//	C[i][j] = act(alpha·(AB)[i][j] + beta·C[i][j] + RowBias[i] + ColBias[j] + R[i][j])
//
// A nil field is skipped. The zero Epilogue (or a nil *Epilogue) is the plain
// product.
type Epilogue struct {
	RowBias []float32 // one value per row of C (len >= m), e.g. convolution bias
	ColBias []float32 // one value per column of C (len >= n), e.g. Gemm's C vector
	// Residual is R, a matrix added before the activation (a skip
	// connection, an attention mask): R[i][j] of matrix t of a batch is
	// Residual[t·CStride + i·ResidualLD + j]. ResidualLD may be 0 (one row
	// for every row).
	Residual   []float32
	ResidualLD int
	ReLU       bool // max(x, 0), NaN stays NaN; the same as Act.Kind == ActReLU
	Act        Activation
}

// act returns the epilogue's activation, ReLU folded in.
func (ep *Epilogue) act() Activation {
	if ep.ReLU && ep.Act.Kind == ActNone {
		return Activation{Kind: ActReLU}
	}
	return ep.Act
}

// Batch describes SgemmBatched's matrices: product t reads A at
// a[AOffsets[t]:] (or a[t*AStride:] when AOffsets is nil), B likewise, and
// writes C at c[t*CStride:].
type Batch struct {
	Count                     int
	AStride, BStride, CStride int
	AOffsets, BOffsets        []int
}

func (bt *Batch) aOff(t int) int {
	if bt.AOffsets != nil {
		return bt.AOffsets[t]
	}
	return t * bt.AStride
}

func (bt *Batch) bOff(t int) int {
	if bt.BOffsets != nil {
		return bt.BOffsets[t]
	}
	return t * bt.BStride
}

// Sgemm computes C = act(alpha·op(A)·op(B) + beta·C + bias) for row-major
// matrices: op(A) is m x k (A is stored k x m when transA), op(B) is k x n
// (stored n x k when transB), C is m x n; lda, ldb and ldc are the row
// strides of the stored matrices. beta == 0 overwrites C without reading it,
// so NaNs there do not propagate. ep may be nil. w may be nil (one thread).
// Sgemm panics if a slice is too short for its matrix.
func Sgemm(w *cpu.Workers, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *Epilogue) {
	SgemmBatched(w, Batch{Count: 1}, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep)
}

// SgemmBatched computes bt.Count independent products of the same shape
// (see Sgemm and Batch), in parallel over matrices and tiles together. The
// epilogue's biases are the same for every matrix.
func SgemmBatched(w *cpu.Workers, bt Batch, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *Epilogue) {
	active.gemm(w, &problem{bt, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep, nil, nil, nil})
}

// Variant names the SGEMM micro-kernel in use: "avx512", "avx2" or "go".
func Variant() string { return active.name }

// problem is one SgemmBatched call.
type problem struct {
	bt             Batch
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	ep             *Epilogue
	pack           BPacker // packs B instead of packB from b (SgemmPackedB)
	// pre is B prepacked in panels of the variant's nr (SgemmPrepacked),
	// read in place by the blocked product; pack is then set as well, so
	// that the paths that need B in memory are not taken.
	pre []float32
	// rows is B as rows at offsets of one slice (SgemmRowsB), read in place
	// by a variant with a rows kernel; pack is then its RowsPacker, used by
	// the other variants and for the last partial panel.
	rows *rowsB
}

// rowsB is a k x n matrix B whose row p is src[offs[p] : offs[p]+n].
type rowsB struct {
	src  []float32
	offs []int
}

// Micro-kernel flags (mirrored in internal/gen).
const (
	flagAccumulate = 1  // T += C
	flagRowBias    = 2  // T += rowBias[r]
	flagColBias    = 4  // T += colBias[j]
	flagReLU       = 8  // T = max(T, 0)
	flagResidual   = 16 // T += res[r*ldr+j]
	flagClip       = 32 // T = min(max(T, clip[0]), clip[1])
)

// kernelFunc is a micro-kernel: the MR x NR tile T of k steps, element (r,
// p) of A at a[r*rs+p*ks], B a packed panel of NR values per step; then
// T *= alpha, the flagged epilogue steps in the order accumulate, row bias,
// column bias, residual, ReLU, clip, and C = T with row r at c[r*ldc].
// Strides are in elements. The caller guarantees every address it touches
// is valid (full tiles only).
type kernelFunc func(k int, a *float32, rs, ks int, b, c *float32, ldc int, alpha float32, flags uint64, rowBias, colBias, res *float32, ldr int, clip *float32)

// rowsKernelFunc is a kernelFunc reading B in place: step p of the panel is
// the NR values from b + offs[p] (in elements).
type rowsKernelFunc func(k int, a *float32, rs, ks int, b *float32, offs *int, c *float32, ldc int, alpha float32, flags uint64, rowBias, colBias, res *float32, ldr int, clip *float32)

// maskedKernelFunc and rowsMaskedKernelFunc are kernels for a tile cut by
// the end of N: they read and write only the columns whose bit is set in
// mask (B in place included), so the tile needs no scratch copy.
type (
	maskedKernelFunc     func(k int, a *float32, rs, ks int, b, c *float32, ldc int, alpha float32, flags uint64, rowBias, colBias, res *float32, ldr int, clip *float32, mask uint64)
	rowsMaskedKernelFunc func(k int, a *float32, rs, ks int, b *float32, offs *int, c *float32, ldc int, alpha float32, flags uint64, rowBias, colBias, res *float32, ldr int, clip *float32, mask uint64)
)

// variant is one micro-kernel with its tile shape.
type variant struct {
	name   string
	mr, nr int
	kernel kernelFunc
	// rows, when not nil, is the same kernel reading B through row
	// offsets (identical arithmetic, so identical results).
	rows rowsKernelFunc
	// masked and rowsMasked, when not nil, are kernel and rows for tiles
	// cut by the end of N (same arithmetic again).
	masked     maskedKernelFunc
	rowsMasked rowsMaskedKernelFunc
}

// variants lists every kernel this build and processor can run, the
// preferred last; goVariant always.
var variants = []*variant{goVariant}

var goVariant = &variant{name: "go", mr: 2, nr: 4, kernel: kernelGo2x4}

var active = pickVariant()

func pickVariant() *variant {
	if want := os.Getenv("GOCANN_SGEMM"); want != "" {
		for _, v := range variants {
			if v.name == want {
				return v
			}
		}
	}
	return variants[len(variants)-1]
}

// Blocking parameters, from the cache sizes.
var l1Bytes, l2Bytes = func() (int, int) {
	l1, l2, _ := cpu.CacheSizes()
	if l1 <= 0 {
		l1 = 32 << 10
	}
	if l2 <= 0 {
		l2 = 1 << 20
	}
	return int(l1), int(l2)
}()

// kcMax is the depth of one block: an MR x KC slice of A takes a quarter of
// L1, leaving room for the B panel streaming through.
func (v *variant) kcMax() int {
	kc := l1Bytes / (4 * v.mr * 4)
	return min(max(kc/16*16, 128), 512)
}

// ncMax is the widest column block of one task: its packed B (KC x NC)
// takes half of L2.
func (v *variant) ncMax(kc int) int {
	nc := l2Bytes / 2 / (kc * 4)
	return max(nc/v.nr*v.nr, v.nr)
}

// checkLen panics unless s holds a rows x cols matrix with row stride ld
// from off.
func checkLen(name string, s []float32, off, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols || off < 0 || off+(rows-1)*ld+cols > len(s) {
		panic(fmt.Sprintf("kernels: %s: %dx%d matrix with stride %d at offset %d does not fit in %d elements", name, rows, cols, ld, off, len(s)))
	}
}

func (g *problem) check() {
	if g.m < 0 || g.n < 0 || g.k < 0 || g.bt.Count < 0 {
		panic(fmt.Sprintf("kernels: negative dimension m=%d n=%d k=%d batch=%d", g.m, g.n, g.k, g.bt.Count))
	}
	if g.bt.AOffsets != nil && len(g.bt.AOffsets) < g.bt.Count || g.bt.BOffsets != nil && len(g.bt.BOffsets) < g.bt.Count {
		panic("kernels: fewer batch offsets than matrices")
	}
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = ac, ar
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = bc, br
	}
	for t := 0; t < g.bt.Count; t++ {
		checkLen("A", g.a, g.bt.aOff(t), ar, ac, g.lda)
		if g.pack == nil {
			checkLen("B", g.b, g.bt.bOff(t), br, bc, g.ldb)
		}
		checkLen("C", g.c, t*g.bt.CStride, g.m, g.n, g.ldc)
	}
	if ep := g.ep; ep != nil {
		if ep.RowBias != nil && len(ep.RowBias) < g.m {
			panic(fmt.Sprintf("kernels: row bias of %d for %d rows", len(ep.RowBias), g.m))
		}
		if ep.ColBias != nil && len(ep.ColBias) < g.n {
			panic(fmt.Sprintf("kernels: column bias of %d for %d columns", len(ep.ColBias), g.n))
		}
		if ep.Residual != nil {
			if ep.ResidualLD < 0 {
				panic(fmt.Sprintf("kernels: negative residual stride %d", ep.ResidualLD))
			}
			for t := 0; t < g.bt.Count; t++ {
				if ep.ResidualLD == 0 {
					checkLen("residual", ep.Residual, t*g.bt.CStride, 1, g.n, g.n)
				} else {
					checkLen("residual", ep.Residual, t*g.bt.CStride, g.m, g.n, ep.ResidualLD)
				}
			}
		}
		if k := ep.Act.Kind; k >= numActKinds {
			panic(fmt.Sprintf("kernels: unknown activation %d", k))
		}
	}
}

// gemm runs the problem with this variant's micro-kernel.
func (v *variant) gemm(w *cpu.Workers, g *problem) {
	g.check()
	if g.m == 0 || g.n == 0 || g.bt.Count == 0 {
		return
	}
	ep := g.ep
	if ep == nil {
		ep = &Epilogue{}
	}
	if g.k == 0 || g.alpha == 0 {
		// No product: C = act(beta·C + bias).
		parallelFor(w, g.bt.Count*g.m, max(1, 16384/g.n), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				t, i := r/g.m, r%g.m
				row := g.c[t*g.bt.CStride+i*g.ldc:][:g.n]
				epilogueRow(row, t*g.bt.CStride, i, 0, nil, g.beta, ep)
			}
		})
		return
	}
	if g.beta != 0 && g.beta != 1 {
		parallelFor(w, g.bt.Count*g.m, max(1, 16384/g.n), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				t, i := r/g.m, r%g.m
				row := g.c[t*g.bt.CStride+i*g.ldc:][:g.n]
				for j := range row {
					row[j] *= g.beta
				}
			}
		})
		g.beta = 1
	}
	if dotGemv(w, g, ep) || skinnyGemm(w, g, ep) {
		return // few rows, or a matrix-vector product (skinny.go)
	}
	if (g.m == 1 || g.n == 1) && g.pack == nil {
		gemv(w, g, ep)
		return
	}
	v.blocked(w, g, ep)
}

// parallelFor is w.ParallelFor, inline when w is nil.
func parallelFor(w *cpu.Workers, n, grain int, body func(lo, hi int)) {
	if w == nil {
		if n > 0 {
			body(0, n)
		}
		return
	}
	w.ParallelFor(n, grain, body)
}

// epilogueRow finishes one row i of C (matrix at cOff) from columns j0 on:
// given the row's products acc (alpha applied; nil when there is none),
// row = act(acc + beta·row + bias + residual).
func epilogueRow(row []float32, cOff, i, j0 int, acc []float32, beta float32, ep *Epilogue) {
	var rb float32
	if ep.RowBias != nil {
		rb = ep.RowBias[i]
	}
	var res []float32
	if ep.Residual != nil {
		res = ep.Residual[cOff+i*ep.ResidualLD+j0:][:len(row)]
	}
	act := ep.act()
	for j := range row {
		var s float32
		if acc != nil {
			s = acc[j]
		}
		if beta != 0 {
			s += beta * row[j]
		}
		if ep.RowBias != nil {
			s += rb
		}
		if ep.ColBias != nil {
			s += ep.ColBias[j0+j]
		}
		if res != nil {
			s += res[j]
		}
		row[j] = s
	}
	act.Apply(row)
}

// blocked is the packed, cache-blocked, parallel path.
func (v *variant) blocked(w *cpu.Workers, g *problem, ep *Epilogue) {
	mr, nr := v.mr, v.nr
	m, n, k := g.m, g.n, g.k
	// Depth blocks of equal size.
	kc := v.kcMax()
	kBlocks := (k + kc - 1) / kc
	kc = (k + kBlocks - 1) / kBlocks
	// Tasks: column blocks of at most ncMax. Workers.ParallelFor hands
	// each thread one contiguous run of tasks, so the task count should be
	// a multiple of the threads. Splitting columns re-reads A in every
	// task, splitting rows packs the B block again in every task: threads
	// get columns of their own when B is the larger and its panels divide
	// evenly, rows otherwise (few columns: late convolution layers).
	threads := 1
	if w != nil {
		threads = w.Threads()
	}
	const minTaskFlops = 1 << 18
	if 2*m*n*k*g.bt.Count < 2*minTaskFlops {
		threads = 1
	}
	per := 1 // parts per matrix
	if g.bt.Count < threads {
		per = (threads + g.bt.Count - 1) / g.bt.Count
	}
	panels := (n + nr - 1) / nr
	colBlocks := (n + v.ncMax(kc) - 1) / v.ncMax(kc)
	splitRows := per > 1 && m >= per*mr && (2*n <= m || panels%per != 0 && panels < 8*per)
	if per > 1 && !splitRows {
		colBlocks = min(roundUp(colBlocks, per), panels)
	}
	nc := roundUp((n+colBlocks-1)/colBlocks, nr)
	colBlocks = (n + nc - 1) / nc
	rowBlocks := 1
	if colBlocks < per {
		rowBlocks = min((per+colBlocks-1)/colBlocks, (m+mr-1)/mr)
	}
	mc := roundUp((m+rowBlocks-1)/rowBlocks, mr)
	rowBlocks = (m + mc - 1) / mc
	tasks := g.bt.Count * rowBlocks * colBlocks
	if threads == 1 {
		w = nil // one thread, or too small to share
	}
	rs, ks := g.lda, 1
	if g.transA {
		rs, ks = 1, g.lda
	}
	// The activation: ReLU and Clip in the micro-kernel, others by vector
	// kernels on each stripe of rows once its tiles are stored.
	act := ep.act()
	var actFlags uint64
	var clip [2]float32
	switch act.Kind {
	case ActNone:
	case ActReLU:
		actFlags = flagReLU
	case ActClip:
		actFlags, clip = flagClip, [2]float32{act.A, act.B}
	default:
		actFlags = 0
	}
	stripeAct := act.Kind != ActNone && actFlags == 0
	parallelFor(w, tasks, 1, func(lo, hi int) {
		var bbuf *[]float32
		if g.pre == nil {
			bbuf = getBuf(kc * nc)
			defer putBuf(bbuf)
		}
		var abuf, edge *[]float32
		for t := lo; t < hi; t++ {
			bi := t / (rowBlocks * colBlocks)
			ib := t / colBlocks % rowBlocks
			jb := t % colBlocks
			i0, j0 := ib*mc, jb*nc
			i1, j1 := min(i0+mc, m), min(j0+nc, n)
			aOff, bOff, cOff := g.bt.aOff(bi), g.bt.bOff(bi), bi*g.bt.CStride
			for pc := 0; pc < k; pc += kc {
				kcur := min(kc, k-pc)
				var bp []float32
				inRows := g.rows != nil && v.rows != nil
				switch {
				case g.pre != nil:
					// Panels in place: see panel below.
				case inRows:
					// Full panels read in place; a last partial panel
					// too when the variant has a masked rows kernel,
					// else it is packed (the rows may end at the
					// slice's end), at the start of bp.
					if jp := j0 + (j1-j0)/nr*nr; jp < j1 && v.rowsMasked == nil {
						bp = (*bbuf)[:kcur*nr]
						g.pack(bp, pc, kcur, jp, j1, nr)
					}
				case g.pack != nil:
					bp = (*bbuf)[:kcur*roundUp(j1-j0, nr)]
					g.pack(bp, pc, kcur, j0, j1, nr)
				default:
					bp = (*bbuf)[:kcur*roundUp(j1-j0, nr)]
					packB(bp, g.b[bOff:], g.ldb, g.transB, pc, kcur, j0, j1, nr)
				}
				var flags uint64
				if pc > 0 || g.beta != 0 {
					flags |= flagAccumulate
				}
				last := pc+kcur == k
				if last {
					if ep.RowBias != nil {
						flags |= flagRowBias
					}
					if ep.ColBias != nil {
						flags |= flagColBias
					}
					if ep.Residual != nil {
						flags |= flagResidual
					}
					flags |= actFlags
				}
				for i := i0; i < i1; i += mr {
					var ap *float32
					ars, aks := rs, ks
					if i+mr <= m {
						ap = &g.a[aOff+i*rs+pc*ks]
					} else {
						// The last rows: a zero-padded MR x kcur copy.
						if abuf == nil {
							abuf = getBuf(mr * kc)
							defer putBuf(abuf)
						}
						ab := (*abuf)[:mr*kcur]
						clear(ab)
						for r := 0; r < m-i; r++ {
							for p := 0; p < kcur; p++ {
								ab[r*kcur+p] = g.a[aOff+(i+r)*rs+(pc+p)*ks]
							}
						}
						ap, ars, aks = &ab[0], kcur, 1
					}
					var rb *float32
					if flags&flagRowBias != 0 {
						rb = &ep.RowBias[i]
					}
					for j := j0; j < j1; j += nr {
						var panel, rowsAt *float32
						switch {
						case inRows && (j+nr <= n || v.rowsMasked != nil):
							rowsAt = &g.rows.src[j]
						case inRows:
							panel = &bp[0]
						case g.pre != nil:
							panel = &g.pre[j/nr*k*nr+pc*nr]
						default:
							panel = &bp[(j-j0)/nr*kcur*nr]
						}
						var cb, res *float32
						if flags&flagColBias != 0 {
							cb = &ep.ColBias[j]
						}
						if flags&flagResidual != 0 {
							res = &ep.Residual[cOff+i*ep.ResidualLD+j]
						}
						if i+mr <= m && j+nr <= n {
							if rowsAt != nil {
								v.rows(kcur, ap, ars, aks, rowsAt, &g.rows.offs[pc], &g.c[cOff+i*g.ldc+j], g.ldc, g.alpha, flags, rb, cb, res, ep.ResidualLD, &clip[0])
							} else {
								v.kernel(kcur, ap, ars, aks, panel, &g.c[cOff+i*g.ldc+j], g.ldc, g.alpha, flags, rb, cb, res, ep.ResidualLD, &clip[0])
							}
							continue
						}
						if i+mr <= m && (rowsAt != nil && v.rowsMasked != nil || rowsAt == nil && v.masked != nil) {
							// Only columns cut: the masked kernels.
							mask := uint64(1)<<(n-j) - 1
							if rowsAt != nil {
								v.rowsMasked(kcur, ap, ars, aks, rowsAt, &g.rows.offs[pc], &g.c[cOff+i*g.ldc+j], g.ldc, g.alpha, flags, rb, cb, res, ep.ResidualLD, &clip[0], mask)
							} else {
								v.masked(kcur, ap, ars, aks, panel, &g.c[cOff+i*g.ldc+j], g.ldc, g.alpha, flags, rb, cb, res, ep.ResidualLD, &clip[0], mask)
							}
							continue
						}
						if edge == nil {
							edge = getBuf(edgeScratch)
							clear(*edge)
							defer putBuf(edge)
						}
						var offs *int
						if rowsAt != nil {
							offs = &g.rows.offs[pc]
						}
						v.edgeTile(*edge, kcur, ap, ars, aks, panel, rowsAt, offs, g.c[cOff:], g.ldc, i, j, min(mr, m-i), min(nr, n-j), g.alpha, flags, ep, cOff, &clip)
					}
					if last && stripeAct {
						for r := i; r < min(i+mr, m); r++ {
							act.Apply(g.c[cOff+r*g.ldc+j0 : cOff+r*g.ldc+j1])
						}
					}
				}
			}
		}
	})
}

// edgeScratch is the scratch of edgeTile: a tile of C, one of the
// residual, a row and a column bias.
const edgeScratch = 2*maxMR*maxNR + maxMR + maxNR

// edgeTile runs the kernel on a tile cut by the end of M or N through a
// scratch tile: the rows x cols corner of C at (i, j) is copied in when
// accumulating, the biases and residual are padded, and the corner copied
// back. cOff is the matrix's offset in the residual. scratch (edgeScratch
// floats, reused across calls: the kernel reaches it through a function
// value, so arrays of its own would be allocated on every call) holds
// finite values; what the tile's padding lanes compute is discarded. B is
// the packed panel, or when that is nil the rows at rowsAt + offs[p].
func (v *variant) edgeTile(scratch []float32, k int, a *float32, rs, ks int, panel, rowsAt *float32, offs *int, c []float32, ldc, i, j, rows, cols int, alpha float32, flags uint64, ep *Epilogue, cOff int, clip *[2]float32) {
	tile := scratch[:maxMR*maxNR]
	rtile := scratch[maxMR*maxNR : 2*maxMR*maxNR]
	rbias := scratch[2*maxMR*maxNR : 2*maxMR*maxNR+maxMR]
	cbias := scratch[2*maxMR*maxNR+maxMR : edgeScratch]
	nr := v.nr
	if flags&flagAccumulate != 0 {
		for r := 0; r < rows; r++ {
			copy(tile[r*nr:r*nr+cols], c[(i+r)*ldc+j:])
		}
	}
	var rb, cb *float32
	if flags&flagRowBias != 0 {
		copy(rbias[:rows], ep.RowBias[i:])
		rb = &rbias[0]
	}
	if flags&flagColBias != 0 {
		copy(cbias[:cols], ep.ColBias[j:])
		cb = &cbias[0]
	}
	var res *float32
	if flags&flagResidual != 0 {
		for r := 0; r < rows; r++ {
			copy(rtile[r*nr:r*nr+cols], ep.Residual[cOff+(i+r)*ep.ResidualLD+j:])
		}
		res = &rtile[0]
	}
	switch {
	case panel == nil && cols < nr:
		// B in place, cut: only the masked kernel may read it.
		v.rowsMasked(k, a, rs, ks, rowsAt, offs, &tile[0], nr, alpha, flags, rb, cb, res, nr, &clip[0], uint64(1)<<cols-1)
	case panel == nil:
		v.rows(k, a, rs, ks, rowsAt, offs, &tile[0], nr, alpha, flags, rb, cb, res, nr, &clip[0])
	default:
		v.kernel(k, a, rs, ks, panel, &tile[0], nr, alpha, flags, rb, cb, res, nr, &clip[0])
	}
	for r := 0; r < rows; r++ {
		copy(c[(i+r)*ldc+j:(i+r)*ldc+j+cols], tile[r*nr:])
	}
}

// Largest tile of any variant.
const maxMR, maxNR = 16, 32

// packB packs depth [p0, p0+kc) and columns [j0, j1) of op(B) into panels
// of nr columns: panel q holds, for each step p, the nr values of columns
// j0+q*nr...; columns past j1 are zero.
func packB(bp, b []float32, ldb int, trans bool, p0, kc, j0, j1, nr int) {
	for jp := j0; jp < j1; jp += nr {
		pan := bp[(jp-j0)/nr*kc*nr:][:kc*nr]
		cols := min(nr, j1-jp)
		if !trans {
			if cols == nr {
				for p := 0; p < kc; p++ {
					copy(pan[p*nr:p*nr+nr], b[(p0+p)*ldb+jp:])
				}
				continue
			}
			for p := 0; p < kc; p++ {
				dst := pan[p*nr : p*nr+nr]
				copy(dst, b[(p0+p)*ldb+jp:(p0+p)*ldb+jp+cols])
				clear(dst[cols:])
			}
			continue
		}
		if cols < nr {
			clear(pan)
		}
		for q := 0; q < cols; q++ {
			src := b[(jp+q)*ldb+p0:][:kc]
			for p, x := range src {
				pan[p*nr+q] = x
			}
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// gemv handles m == 1 or n == 1: one dot product or one row update per
// output, without packing.
func gemv(w *cpu.Workers, g *problem, ep *Epilogue) {
	m, n, k := g.m, g.n, g.k
	if m == 1 {
		// c (1 x n) = a (1 x k) · op(B)
		parallelFor(w, g.bt.Count*n, max(16, 32768/k), func(lo, hi int) {
			acc := getBuf(hi - lo)
			defer putBuf(acc)
			av := getBuf(k)
			defer putBuf(av)
			for lo < hi {
				t := lo / n
				j0, j1 := lo%n, min(n, lo%n+hi-lo)
				aOff, bOff := g.bt.aOff(t), g.bt.bOff(t)
				x := (*av)[:k]
				for p := range x {
					if g.transA {
						x[p] = g.a[aOff+p*g.lda]
					} else {
						x[p] = g.a[aOff+p]
					}
				}
				s := (*acc)[:j1-j0]
				if g.transB {
					for j := j0; j < j1; j++ {
						s[j-j0] = g.alpha * dot(x, g.b[bOff+j*g.ldb:])
					}
				} else {
					clear(s)
					for p, xp := range x {
						axpy(xp, g.b[bOff+p*g.ldb+j0:], s)
					}
					for j := range s {
						s[j] *= g.alpha
					}
				}
				row := g.c[t*g.bt.CStride+j0 : t*g.bt.CStride+j1]
				epilogueRow(row, t*g.bt.CStride, 0, j0, s, g.beta, ep)
				lo += j1 - j0
			}
		})
		return
	}
	// n == 1: c (m x 1) = op(A) · b (k x 1)
	parallelFor(w, g.bt.Count*m, max(16, 32768/k), func(lo, hi int) {
		bv := getBuf(k)
		defer putBuf(bv)
		av := getBuf(k)
		defer putBuf(av)
		lastT := -1
		x := (*bv)[:k]
		for r := lo; r < hi; r++ {
			t, i := r/m, r%m
			if t != lastT {
				bOff := g.bt.bOff(t)
				for p := range x {
					if g.transB {
						x[p] = g.b[bOff+p]
					} else {
						x[p] = g.b[bOff+p*g.ldb]
					}
				}
				lastT = t
			}
			aOff := g.bt.aOff(t)
			var ar []float32
			if g.transA {
				ar = (*av)[:k]
				for p := range ar {
					ar[p] = g.a[aOff+p*g.lda+i]
				}
			} else {
				ar = g.a[aOff+i*g.lda:][:k]
			}
			s := [1]float32{g.alpha * dot(x, ar)}
			ci := t*g.bt.CStride + i*g.ldc
			epilogueRow(g.c[ci:ci+1], t*g.bt.CStride, i, 0, s[:], g.beta, ep)
		}
	})
}

// dot returns the dot product of x and y[:len(x)].
func dot(x, y []float32) float32 {
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

// axpy computes y += a*x[:len(y)].
func axpy(a float32, x, y []float32) {
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

// Scratch buffers, one pool per power-of-two size class.
var bufPools [48]sync.Pool

// getBuf returns a scratch slice of n floats; its contents are undefined.
func getBuf(n int) *[]float32 {
	c := bits.Len(uint(max(n, 1) - 1))
	if c < len(bufPools) {
		if p, ok := bufPools[c].Get().(*[]float32); ok && cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	b := make([]float32, n, 1<<c)
	return &b
}

func putBuf(p *[]float32) {
	if c := bits.Len(uint(cap(*p)) - 1); c < len(bufPools) && cap(*p) == 1<<c {
		bufPools[c].Put(p)
	}
}

// GetScratch returns a pooled scratch slice of n floats with undefined
// contents, for kernels' temporary matrices (im2col); give it back with
// PutScratch.
func GetScratch(n int) *[]float32 { return getBuf(n) }

// PutScratch returns a slice from GetScratch to the pool.
func PutScratch(p *[]float32) { putBuf(p) }
