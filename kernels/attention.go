package kernels

import (
	"fmt"
	"math"

	"github.com/gocann/gocann/runtime/cpu"
)

// Attention is multi-head scaled dot-product attention over projected
// queries, keys and values, for one batch of sequences:
//
//	Y[b,i,h,:] = Σ_j softmax_j(Scale·Q[b,i,h,:]·K[b,j,h,:] + Mask[b,h,i,j]) · V[b,j,h,:]
//
// with key positions j > i left out when Causal (the top-left aligned
// lower triangle, as torch.tril builds it). A row whose every score is -Inf
// gives NaN, as the unfused softmax does.
//
// Tensors are addressed through strides, so the usual layouts need no
// copies: element (b, s, h, d) of Q is at
// Q[b·QStride[0] + s·QStride[1] + h·HeadDim + d] ([batch, seq, hidden] has
// strides {seq·hidden, hidden}; [seq, batch, hidden] {hidden, batch·hidden}),
// and likewise K (HeadDim), V and Y (HeadDimV).
type Attention struct {
	Batch, Heads      int
	SeqQ, SeqK        int
	HeadDim, HeadDimV int
	Scale             float32
	Causal            bool
	QStride, KStride  [2]int
	VStride, YStride  [2]int
	// Mask, when not nil, is added to the scores: element (b, h, i, j) at
	// Mask[b·MaskStride[0] + h·MaskStride[1] + i·MaskStride[2] + j] (strides
	// may be 0 to broadcast).
	Mask       []float32
	MaskStride [3]int
}

// rowKernels are the vector row operations of the softmax, where the
// processor has them (filled by the architecture's init).
type rowKernels struct {
	max         func(x []float32) float32                       // len a positive multiple of 8
	expShiftSum func(dst, src []float32, shift float32) float32 // len a multiple of 8, src <= shift
	scale       func(x []float32, s float32)                    // len a multiple of 8
}

var rowBulk *rowKernels

// rowMax returns the largest element of x (len >= 1), ignoring NaNs where it
// can (a NaN still reaches the result through the exponentials).
func rowMax(x []float32) float32 {
	m := x[0]
	if n := len(x) &^ 7; rowBulk != nil && n > 0 {
		m = rowBulk.max(x[:n])
		x = x[n:]
	}
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

// softmaxRow replaces x by its softmax: exp(x - max) / Σ exp(x - max).
func softmaxRow(x []float32) {
	if len(x) == 0 {
		return
	}
	m := rowMax(x)
	var sum float32
	rest := x
	if n := len(x) &^ 7; rowBulk != nil && n > 0 {
		sum = rowBulk.expShiftSum(x[:n], x[:n], m)
		rest = x[n:]
	}
	for i, v := range rest {
		e := Exp32(v - m)
		rest[i] = e
		sum += e
	}
	inv := 1 / sum
	rest = x
	if n := len(x) &^ 7; rowBulk != nil && n > 0 {
		rowBulk.scale(x[:n], inv)
		rest = x[n:]
	}
	for i := range rest {
		rest[i] *= inv
	}
}

// SoftmaxRows applies softmax to each of the rows of x (rows x n,
// row stride ld), in place.
func SoftmaxRows(x []float32, rows, n, ld int) {
	for r := 0; r < rows; r++ {
		softmaxRow(x[r*ld : r*ld+n])
	}
}

// check panics unless every slice holds what the strides address.
func (at *Attention) check(q, k, v, y []float32) {
	if at.Batch < 0 || at.Heads < 0 || at.SeqQ < 0 || at.SeqK < 0 || at.HeadDim < 0 || at.HeadDimV < 0 {
		panic(fmt.Sprintf("kernels: attention: negative dimension in %+v", *at))
	}
	span := func(name string, s []float32, st [2]int, seq, width int) {
		if at.Batch == 0 || seq == 0 || at.Heads == 0 || width == 0 {
			return
		}
		last := (at.Batch-1)*st[0] + (seq-1)*st[1] + at.Heads*width
		if st[0] < 0 || st[1] < 0 || last > len(s) {
			panic(fmt.Sprintf("kernels: attention: %s of %d elements, strides %v, needs %d", name, len(s), st, last))
		}
	}
	span("Q", q, at.QStride, at.SeqQ, at.HeadDim)
	span("K", k, at.KStride, at.SeqK, at.HeadDim)
	span("V", v, at.VStride, at.SeqK, at.HeadDimV)
	span("Y", y, at.YStride, at.SeqQ, at.HeadDimV)
	if at.Mask != nil && at.Batch > 0 && at.Heads > 0 && at.SeqQ > 0 && at.SeqK > 0 {
		ms := at.MaskStride
		last := (at.Batch-1)*ms[0] + (at.Heads-1)*ms[1] + (at.SeqQ-1)*ms[2] + at.SeqK
		if ms[0] < 0 || ms[1] < 0 || ms[2] < 0 || last > len(at.Mask) {
			panic(fmt.Sprintf("kernels: attention: mask of %d elements, strides %v, needs %d", len(at.Mask), ms, last))
		}
	}
}

// Run computes Y from Q, K and V on the worker pool (w may be nil). Work
// is split over batch × heads × blocks of query rows; each task computes
// its block of scores with one GEMM (scale and mask in the epilogue),
// the softmax row by row while the block is in cache, and its block of Y
// with a second GEMM, so the score matrix never leaves L2. It panics if a
// slice is too short for its strides.
func (at *Attention) Run(w *cpu.Workers, q, k, v, y []float32) {
	at.check(q, k, v, y)
	B, H, Sq, Sk := at.Batch, at.Heads, at.SeqQ, at.SeqK
	if B == 0 || H == 0 || Sq == 0 || at.HeadDimV == 0 {
		return
	}
	threads := 1
	if w != nil {
		threads = w.Threads()
	}
	// Rows per block: the scores of a block (rows x Sk) stay within
	// ~128 KiB, and there are enough tasks for every thread.
	rows := max(8, min(Sq, (128<<10)/4/max(Sk, 1)))
	if want := 2 * threads; B*H*((Sq+rows-1)/rows) < want {
		blocks := (want + B*H - 1) / (B * H)
		rows = max(8, (Sq+blocks-1)/blocks)
	}
	blocks := (Sq + rows - 1) / rows
	tasks := B * H * blocks
	if 2*B*H*Sq*Sk*(at.HeadDim+at.HeadDimV) < 1<<18 {
		w = nil // too small to share
	}
	parallelFor(w, tasks, 1, func(lo, hi int) {
		sbuf := getBuf(rows * max(Sk, 1))
		defer putBuf(sbuf)
		for t := lo; t < hi; t++ {
			bh, blk := t/blocks, t%blocks
			b, h := bh/H, bh%H
			i0 := blk * rows
			i1 := min(i0+rows, Sq)
			at.block(b, h, i0, i1, q, k, v, y, *sbuf)
		}
	})
}

// block computes rows [i0, i1) of Y for batch b and head h, with s as
// scratch for the scores.
func (at *Attention) block(b, h, i0, i1 int, q, k, v, y, s []float32) {
	Sk := at.SeqK
	d, dv := at.HeadDim, at.HeadDimV
	m := i1 - i0
	// Keys that any row of the block may see.
	nk := Sk
	if at.Causal {
		nk = min(Sk, i1)
	}
	yOff := b*at.YStride[0] + i0*at.YStride[1] + h*dv
	if nk == 0 {
		// Every key is masked out of every row: softmax of nothing.
		for i := 0; i < m; i++ {
			row := y[yOff+i*at.YStride[1]:][:dv]
			for j := range row {
				row[j] = nan32
			}
		}
		return
	}
	ld := nk
	scores := s[:m*ld]
	var ep *Epilogue
	if at.Mask != nil {
		ms := at.MaskStride
		base := b*ms[0] + h*ms[1] + i0*ms[2]
		if ms[2] == 0 {
			ep = &Epilogue{ColBias: at.Mask[base : base+nk]}
		} else {
			ep = &Epilogue{Residual: at.Mask[base:], ResidualLD: ms[2]}
		}
	}
	qOff := b*at.QStride[0] + i0*at.QStride[1] + h*d
	kOff := b*at.KStride[0] + h*d
	if d == 0 {
		clear(scores)
		if ep != nil {
			for i := 0; i < m; i++ {
				epilogueRow(scores[i*ld:(i+1)*ld], 0, i, 0, nil, 0, ep)
			}
		}
	} else {
		Sgemm(nil, false, true, m, nk, d, at.Scale, q[qOff:], at.QStride[1], k[kOff:], at.KStride[1], 0, scores, ld, ep)
	}
	for i := 0; i < m; i++ {
		row := scores[i*ld : (i+1)*ld]
		if at.Causal {
			valid := min(i0+i+1, nk)
			softmaxRow(row[:valid])
			clear(row[valid:])
			continue
		}
		softmaxRow(row)
	}
	vOff := b*at.VStride[0] + h*dv
	Sgemm(nil, false, false, m, dv, nk, 1, scores, ld, v[vOff:], at.VStride[1], 0, y[yOff:], at.YStride[1], nil)
}

var nan32 = float32(math.NaN())
