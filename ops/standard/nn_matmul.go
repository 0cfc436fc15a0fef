package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// MatMul, Gemm and their integer and quantized forms. float32 products go
// through kernels.Sgemm; other element types use nnGemmGeneric.

var nnMatMulTypes = []tensor.DType{tensor.Float16, tensor.BFloat16, tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64, tensor.Uint32, tensor.Uint64}

// nnMatMulPlan is the batched product of numpy matmul: out[b] = A[b] x B[b]
// with A[b] m x k and B[b] k x n, the batch dims broadcast.
type nnMatMulPlan struct {
	m, n, k  int
	batch    int   // number of output matrices
	aOff     []int // per output matrix, element offset of its A and B
	bOff     []int
	out      tensor.Shape
	foldRows bool // B is shared and A contiguous: one product of (batch*m) x k
}

// nnMatMulShape infers numpy matmul's output shape and batch layout.
func nnMatMulShape(n *ops.Node, a, b tensor.Shape) (*nnMatMulPlan, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, n.Errorf("MatMul operands must have rank >= 1, got %v and %v", a, b)
	}
	aa, bb := a.Clone(), b.Clone()
	if len(aa) == 1 {
		aa = tensor.Shape{1, aa[0]}
	}
	if len(bb) == 1 {
		bb = tensor.Shape{bb[0], 1}
	}
	m, k := aa[len(aa)-2], aa[len(aa)-1]
	k2, nn := bb[len(bb)-2], bb[len(bb)-1]
	if k != k2 {
		return nil, n.Errorf("MatMul inner dimensions differ: %v x %v", a, b)
	}
	ab, bbat := aa[:len(aa)-2], bb[:len(bb)-2]
	batchShape, err := broadcastShapes(ab, bbat)
	if err != nil {
		return nil, n.Errorf("MatMul batch dims: %v", err)
	}
	p := &nnMatMulPlan{m: m, n: nn, k: k}
	out := batchShape.Clone()
	if len(a) > 1 {
		out = append(out, m)
	}
	if len(b) > 1 {
		out = append(out, nn)
	}
	p.out = out
	p.batch = batchShape.NumElements()
	bShared := bbat.NumElements() == 1
	if bShared && ab.NumElements() == p.batch {
		p.foldRows = true
		return p, nil
	}
	// Offsets per output matrix, from broadcast strides.
	r := len(batchShape)
	strideOf := func(s tensor.Shape, mat int) []int {
		st := make([]int, r)
		acc := mat
		for i := len(s) - 1; i >= 0; i-- {
			o := r - len(s) + i
			if s[i] != 1 {
				st[o] = acc
			}
			acc *= s[i]
		}
		return st
	}
	sa, sb := strideOf(ab, m*k), strideOf(bbat, k*nn)
	p.aOff = make([]int, p.batch)
	p.bOff = make([]int, p.batch)
	idx := make([]int, r)
	for t := 0; t < p.batch; t++ {
		oa, ob := 0, 0
		for d := 0; d < r; d++ {
			oa += idx[d] * sa[d]
			ob += idx[d] * sb[d]
		}
		p.aOff[t], p.bOff[t] = oa, ob
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < batchShape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return p, nil
}

func prepareMatMul(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, nnMatMulTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, nnMatMulTypes); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 0); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 1); err != nil {
		return nil, err
	}
	p, err := nnMatMulShape(n, n.Inputs[0].Shape, n.Inputs[1].Shape)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	var k ops.Kernel
	switch dt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		k, err = nnFloat(n, dt, nnMatMulKernel32(p), nil)
	case tensor.Float64:
		k = nnMatMulKernelGeneric[float64](p)
	case tensor.Int32:
		k = nnMatMulKernelGeneric[int32](p)
	case tensor.Int64:
		k = nnMatMulKernelGeneric[int64](p)
	case tensor.Uint32:
		k = nnMatMulKernelGeneric[uint32](p)
	case tensor.Uint64:
		k = nnMatMulKernelGeneric[uint64](p)
	}
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, p.out)}, Kernel: k, Overwrites: true}, nil
}

func nnMatMulKernel32(p *nnMatMulPlan) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		a, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		c, err := nnOut[float32](env, out, 0, p.out)
		if err != nil {
			return err
		}
		nnRunMatMul(env, p, a, b, c)
		return nil
	}
}

// nnRunMatMul runs the batched float32 product: one big GEMM when B is
// shared, else one batched GEMM that spreads matrices and tiles together
// over the workers.
func nnRunMatMul(env *ops.Env, p *nnMatMulPlan, a, b, c []float32) {
	m, n, k := p.m, p.n, p.k
	if p.foldRows {
		nnSgemm(env, false, false, p.batch*m, n, k, 1, a, k, b, n, 0, c, n, nil)
		return
	}
	bt := kernels.Batch{Count: p.batch, AOffsets: p.aOff, BOffsets: p.bOff, CStride: m * n}
	kernels.SgemmBatched(nnWorkers(env), bt, false, false, m, n, k, 1, a, max(k, 1), b, max(n, 1), 0, c, max(n, 1), nil)
}

func nnMatMulKernelGeneric[T number](p *nnMatMulPlan) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		a, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		c, err := nnOut[T](env, out, 0, p.out)
		if err != nil {
			return err
		}
		m, n, k := p.m, p.n, p.k
		for t := 0; t < p.batch; t++ {
			ao, bo := t*m*k, 0
			if !p.foldRows {
				ao, bo = p.aOff[t], p.bOff[t]
			}
			nnGemmGeneric(env, false, false, m, n, k, 1, a[ao:], k, b[bo:], n, 0, c[t*m*n:], n)
		}
		return nil
	}
}

// nnGemmGeneric is the straightforward C = alpha*op(A)*op(B) + beta*C for
// any numeric type, parallel over rows, i-p-j ordered for contiguous B rows.
func nnGemmGeneric[T number](env *ops.Env, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	env.ParallelFor(m, max(1, 65536/max(1, n*k)), func(lo, hi int) {
		acc := make([]T, n)
		for i := lo; i < hi; i++ {
			clear(acc)
			for p := 0; p < k; p++ {
				av := a[i*lda+p]
				if transA {
					av = a[p*lda+i]
				}
				if transB {
					for j := range acc {
						acc[j] += av * b[j*ldb+p]
					}
				} else {
					row := b[p*ldb : p*ldb+n]
					for j, bv := range row {
						acc[j] += av * bv
					}
				}
			}
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = alpha * acc[j]
				} else {
					row[j] = alpha*acc[j] + beta*row[j]
				}
			}
		}
	})
}

var nnGemmTypes = nnMatMulTypes

func prepareGemm(n *ops.Node) (*ops.Plan, error) {
	for i := 0; i < 2; i++ {
		if err := checkType(n, i, nnGemmTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, i); err != nil {
			return nil, err
		}
		if len(n.Inputs[i].Shape) != 2 {
			return nil, n.Errorf("input %d must be a matrix, got shape %v", i, n.Inputs[i].Shape)
		}
	}
	hasC := n.Input(2).Present()
	if n.Opset < 11 && !hasC {
		return nil, n.Errorf("input C is required before opset 11")
	}
	if err := checkSameType(n, 0, 1, 2); err != nil {
		return nil, err
	}
	at := n.Attrs
	transA := at.Int("transA", 0) != 0
	transB := at.Int("transB", 0) != 0
	alpha := at.Float("alpha", 1)
	beta := at.Float("beta", 1)
	if err := at.Err(); err != nil {
		return nil, err
	}
	m, nn, k, out, cShape, err := nnGemmShapes(n, transA, transB)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	var kern ops.Kernel
	switch dt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		kern, err = nnFloat(n, dt, nnGemmKernel32(transA, transB, m, nn, k, alpha, beta, cShape, hasC, out), nil)
	case tensor.Float64:
		kern = nnGemmKernelGeneric[float64](transA, transB, m, nn, k, alpha, beta, cShape, hasC, out)
	case tensor.Int32:
		kern = nnGemmKernelGeneric[int32](transA, transB, m, nn, k, alpha, beta, cShape, hasC, out)
	case tensor.Int64:
		kern = nnGemmKernelGeneric[int64](transA, transB, m, nn, k, alpha, beta, cShape, hasC, out)
	case tensor.Uint32:
		kern = nnGemmKernelGeneric[uint32](transA, transB, m, nn, k, alpha, beta, cShape, hasC, out)
	case tensor.Uint64:
		kern = nnGemmKernelGeneric[uint64](transA, transB, m, nn, k, alpha, beta, cShape, hasC, out)
	}
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: kern, Overwrites: true}, nil
}

func nnGemmKernel32(transA, transB bool, m, n, k int, alpha, beta float32, cShape tensor.Shape, hasC bool, out tensor.Shape) ops.Kernel {
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		a, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		y, err := nnOut[float32](env, outs, 0, out)
		if err != nil {
			return err
		}
		bt := beta
		var ep *kernels.Epilogue
		if hasC && in[2] != nil && beta != 0 {
			c, err := tensor.View[float32](in[2])
			if err != nil {
				return err
			}
			// A bias vector along N (or M) goes into the GEMM's epilogue
			// instead of a pass that fills Y first.
			switch nc := cShape.NumElements(); {
			case m > 0 && n > 0 && nc == n && (len(cShape) == 1 || cShape[0] == 1):
				ep = &kernels.Epilogue{ColBias: nnScaled(c, beta)}
				bt = 0
			case m > 0 && n > 0 && nc == m && len(cShape) == 2 && cShape[1] == 1 && m > 1:
				ep = &kernels.Epilogue{RowBias: nnScaled(c, beta)}
				bt = 0
			default:
				expandInto(y, c, out, cShape)
			}
		} else {
			bt = 0
		}
		nnSgemm(env, transA, transB, m, n, k, alpha, a, lda, b, ldb, bt, y, n, ep)
		return nil
	}
}

func nnGemmKernelGeneric[T number](transA, transB bool, m, n, k int, alpha, beta float32, cShape tensor.Shape, hasC bool, out tensor.Shape) ops.Kernel {
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		a, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		bt := T(beta)
		if hasC && in[2] != nil && beta != 0 {
			c, err := tensor.View[T](in[2])
			if err != nil {
				return err
			}
			expandInto(y, c, out, cShape)
		} else {
			bt = 0
		}
		nnGemmGeneric(env, transA, transB, m, n, k, T(alpha), a, lda, b, ldb, bt, y, n)
		return nil
	}
}

// nnScaled returns beta*v (v itself when beta is 1).
func nnScaled(v []float32, beta float32) []float32 {
	if beta == 1 {
		return v
	}
	s := make([]float32, len(v))
	for i, x := range v {
		s[i] = beta * x
	}
	return s
}

// nnGemmShapes checks Gemm's (and FusedGemm's) operands for transA and
// transB, both matrices of static shape: A' is m x k, B' is k x n, and C,
// when present, broadcasts to out = [m, n] (cShape is its shape; nil
// without C).
func nnGemmShapes(n *ops.Node, transA, transB bool) (m, nn, k int, out, cShape tensor.Shape, err error) {
	as, bs := n.Inputs[0].Shape, n.Inputs[1].Shape
	m, k = as[0], as[1]
	if transA {
		m, k = k, m
	}
	k2 := bs[0]
	nn = bs[1]
	if transB {
		k2, nn = nn, k2
	}
	if k != k2 {
		return 0, 0, 0, nil, nil, n.Errorf("Gemm inner dimensions differ: A %v, B %v (transA=%v, transB=%v)", as, bs, transA, transB)
	}
	out = tensor.Shape{m, nn}
	if n.Input(2).Present() {
		if err := nnStatic(n, 2); err != nil {
			return 0, 0, 0, nil, nil, err
		}
		cShape = n.Inputs[2].Shape.Clone()
		if len(cShape) > 2 {
			return 0, 0, 0, nil, nil, n.Errorf("C of shape %v does not broadcast to %v", cShape, out)
		}
		for i, d := range cShape {
			if d != 1 && d != out[2-len(cShape)+i] {
				return 0, 0, 0, nil, nil, n.Errorf("C of shape %v does not broadcast to %v", cShape, out)
			}
		}
	}
	return m, nn, k, out, cShape, nil
}
