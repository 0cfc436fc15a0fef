package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// FusedMatMul and FusedGemm (com.gocann, 1): a matrix product with its
// bias, residual and activation applied in the GEMM's epilogue.
//
// FusedMatMul(A, B, Bias?, Z?): Y = act(alpha·MatMul(A', B') + Bias + Z),
// numpy matmul with batch broadcasting; A' and B' are A and B with their
// last two dimensions swapped when transA / transB is 1 (rank >= 2 only);
// Bias has shape [N] (the last dimension of the product). Attributes alpha
// (1), transA (0), transB (0) and the activation ones.
//
// FusedGemm(A, B, C?, Z?): Y = act(alpha·A'·B' + beta·C + Z), Gemm's
// semantics (alpha, beta, transA, transB; C broadcast to [M, N]) plus a
// residual Z and the activation attributes.
//
// In both, the residual Z broadcasts with the product as Add does
// (fused_residual.go); of the product's shape it costs nothing extra.
//
// FusedMatMul's B may be a constant prepacked for the CPU GEMM (the level-3
// pass passes.PackWeights): attribute packed_b = NR, the panel width, and
// packed_n = N; B is then the [ceil(N/NR), K, NR] tensor kernels.PackB
// makes of the K x N matrix (transB already applied), shared by every
// product of the batch.

func prepareFusedMatMul(n *ops.Node) (*ops.Plan, error) {
	for i := 0; i < 2; i++ {
		if err := checkType(n, i, fusedFloatTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, i); err != nil {
			return nil, err
		}
	}
	if err := checkSameType(n, 0, 1, 2, 3); err != nil {
		return nil, err
	}
	at := n.Attrs
	alpha := at.Float("alpha", 1)
	transA := at.Int("transA", 0)
	transB := at.Int("transB", 0)
	packedNR := at.Int("packed_b", 0)
	packedN := at.Int("packed_n", 0)
	if err := at.Err(); err != nil {
		return nil, err
	}
	if transA != 0 && transA != 1 || transB != 0 && transB != 1 {
		return nil, n.Errorf("transA and transB must be 0 or 1, got %d and %d", transA, transB)
	}
	as, bs := n.Inputs[0].Shape.Clone(), n.Inputs[1].Shape.Clone()
	swap := func(s tensor.Shape, name string) error {
		if len(s) < 2 {
			return n.Errorf("trans%s needs %s of rank >= 2, got %v", name, name, s)
		}
		s[len(s)-1], s[len(s)-2] = s[len(s)-2], s[len(s)-1]
		return nil
	}
	if transA == 1 {
		if err := swap(as, "A"); err != nil {
			return nil, err
		}
	}
	if transB == 1 {
		if err := swap(bs, "B"); err != nil {
			return nil, err
		}
	}
	if packedNR != 0 {
		var err error
		if bs, err = fusedPackedShape(n, int(packedNR), int(packedN), transB); err != nil {
			return nil, err
		}
	}
	p, err := nnMatMulShape(n, as, bs)
	if err != nil {
		return nil, err
	}
	if transA == 1 && p.foldRows {
		// A' is not a contiguous stack of rows: one product per matrix.
		p.foldRows = false
		p.aOff = make([]int, p.batch)
		p.bOff = make([]int, p.batch)
		for t := range p.aOff {
			p.aOff[t] = t * p.m * p.k
		}
	}
	if b := n.Input(2); b.Present() {
		if err := nnStatic(n, 2); err != nil {
			return nil, err
		}
		if len(b.Shape) != 1 || b.Shape[0] != p.n {
			return nil, n.Errorf("Bias must have shape [%d], got %v", p.n, b.Shape)
		}
	}
	res, outShape, err := fusedResidualPlan(n, 3, p.out)
	if err != nil {
		return nil, err
	}
	act, err := fusedActivation(n)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	prod := fusedMatMulKernel(p, alpha, transA == 1, transB == 1, int(packedNR))
	k, err := nnFloat(n, dt, fusedResidualKernel(res, outShape, act, prod), nil)
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, outShape)}, Kernel: k, Overwrites: true}, nil
}

// fusedProduct computes a product into y with the epilogue given (bias
// and activation set by the caller's kernel; residual and activation added
// by fusedResidualKernel).
type fusedProduct func(env *ops.Env, in []*tensor.Tensor, y []float32, z []float32, act kernels.Activation) error

// fusedResidualKernel is the kernel of a product with residual input 3:
// the residual and activation in the product's epilogue where Z allows,
// else a broadcast add after the product.
func fusedResidualKernel(res *fusedResidual, outShape tensor.Shape, act kernels.Activation, prod fusedProduct) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		z, err := nnView[float32](nnAt(in, 3))
		if err != nil {
			return err
		}
		y, err := nnOut[float32](env, out, 0, outShape)
		if err != nil {
			return err
		}
		if z == nil {
			return prod(env, in, y, nil, act)
		}
		if res.inEpilogue() {
			zy, release := res.asY(z)
			defer release()
			return prod(env, in, y, zy, act)
		}
		p, release := nnScratch32(res.y.NumElements())
		defer release()
		if err := prod(env, in, p, nil, kernels.Activation{}); err != nil {
			return err
		}
		res.finish(env, act, p, z, y)
		return nil
	}
}

// fusedMatMulKernel computes the product of plan p; with packedNR > 0, B
// is prepacked in panels of that width (kernels.PackB) and read in place
// by kernels.SgemmPrepacked.
func fusedMatMulKernel(p *nnMatMulPlan, alpha float32, transA, transB bool, packedNR int) fusedProduct {
	m, n, k := p.m, p.n, p.k
	lda, ldb := max(k, 1), max(n, 1)
	if transA {
		lda = max(m, 1)
	}
	if transB {
		ldb = max(k, 1)
	}
	return func(env *ops.Env, in []*tensor.Tensor, c, z []float32, act kernels.Activation) error {
		a, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		bias, err := nnView[float32](nnAt(in, 2))
		if err != nil {
			return err
		}
		ep := &kernels.Epilogue{ColBias: bias, Act: act}
		if z != nil {
			ep.Residual, ep.ResidualLD = z, max(n, 1)
		}
		bt, rows, ta := kernels.Batch{Count: p.batch, AOffsets: p.aOff, BOffsets: p.bOff, CStride: m * n}, m, transA
		if p.foldRows {
			bt, rows, ta = kernels.Batch{Count: 1}, p.batch*m, false
		}
		if packedNR > 0 {
			kernels.SgemmPrepacked(nnWorkers(env), bt, ta, rows, n, k, alpha, a, lda, b, packedNR, 0, c, max(n, 1), ep)
		} else {
			kernels.SgemmBatched(nnWorkers(env), bt, ta, transB, rows, n, k, alpha, a, lda, b, ldb, 0, c, max(n, 1), ep)
		}
		return nil
	}
}

// fusedPackedShape checks a prepacked B ([ceil(N/NR), K, NR]) and returns
// the shape of the matrix it holds, [K, N].
func fusedPackedShape(n *ops.Node, nr, cols int, transB int64) (tensor.Shape, error) {
	bs := n.Inputs[1].Shape
	switch {
	case transB != 0:
		return nil, n.Errorf("a prepacked B (packed_b) cannot be transposed")
	case nr < 1 || cols < 1:
		return nil, n.Errorf("packed_b %d and packed_n %d must be positive", nr, cols)
	case len(bs) != 3 || bs[2] != nr || bs[0] != (cols+nr-1)/nr:
		return nil, n.Errorf("prepacked B must have shape [%d, K, %d] for packed_n %d, got %v", (cols+nr-1)/nr, nr, cols, bs)
	case n.Inputs[1].DType != tensor.Float32:
		return nil, n.Errorf("prepacked B must be float32, got %s", n.Inputs[1].DType)
	}
	return tensor.Shape{bs[1], cols}, nil
}

func prepareFusedGemm(n *ops.Node) (*ops.Plan, error) {
	for i := 0; i < 2; i++ {
		if err := checkType(n, i, fusedFloatTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, i); err != nil {
			return nil, err
		}
		if len(n.Inputs[i].Shape) != 2 {
			return nil, n.Errorf("input %d must be a matrix, got shape %v", i, n.Inputs[i].Shape)
		}
	}
	if err := checkSameType(n, 0, 1, 2, 3); err != nil {
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
	res, outShape, err := fusedResidualPlan(n, 3, out)
	if err != nil {
		return nil, err
	}
	act, err := fusedActivation(n)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	kern, err := nnFloat(n, dt, fusedResidualKernel(res, outShape, act, fusedGemmKernel(transA, transB, m, nn, k, alpha, beta, cShape, out)), nil)
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, outShape)}, Kernel: kern, Overwrites: true}, nil
}

func fusedGemmKernel(transA, transB bool, m, n, k int, alpha, beta float32, cShape, out tensor.Shape) fusedProduct {
	lda, ldb := max(k, 1), max(n, 1)
	if transA {
		lda = max(m, 1)
	}
	if transB {
		ldb = max(k, 1)
	}
	return func(env *ops.Env, in []*tensor.Tensor, y, z []float32, act kernels.Activation) error {
		a, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		c, err := nnView[float32](nnAt(in, 2))
		if err != nil {
			return err
		}
		ep := &kernels.Epilogue{Act: act}
		if z != nil {
			ep.Residual, ep.ResidualLD = z, max(n, 1)
		}
		bt := float32(0)
		if c != nil && beta != 0 && m > 0 && n > 0 {
			// Bias vectors go to the epilogue; a full C is the residual when
			// it can be, else copied into Y and accumulated.
			switch nc := cShape.NumElements(); {
			case nc == n && (len(cShape) == 1 || cShape[0] == 1):
				ep.ColBias = nnScaled(c, beta)
			case nc == m && len(cShape) == 2 && cShape[1] == 1:
				ep.RowBias = nnScaled(c, beta)
			case nc == 1:
				ep.ColBias = make([]float32, n)
				for j := range ep.ColBias {
					ep.ColBias[j] = beta * c[0]
				}
			case z == nil && beta == 1:
				ep.Residual, ep.ResidualLD = c, n
			default:
				expandInto(y, c, out, cShape)
				bt = beta
			}
		}
		nnSgemm(env, transA, transB, m, n, k, alpha, a, lda, b, ldb, bt, y, max(n, 1), ep)
		return nil
	}
}
