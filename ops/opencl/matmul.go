package opencl

import (
	"slices"
	"strconv"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	clrt "github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/tensor"
)

// tiling is the GEMM tile configuration for a device: TS×TS tiles computed
// by work groups of rts×rts items.
type tiling struct {
	ts, wpt int
}

func (t tiling) rts() int { return t.ts / t.wpt }

func (t tiling) defines() string {
	return "-DTS=" + strconv.Itoa(t.ts) + " -DWPT=" + strconv.Itoa(t.wpt)
}

// gemmKernel builds a kernel of gemm.cl with the largest tiling the device
// runs: 64×64 tiles by 16×16 items where work groups of 256 are allowed,
// else 32×32 by 8×8.
func gemmKernel(dev *clrt.Device, dt tensor.DType, name string) (*clrt.Kernel, tiling, error) {
	defs, err := typeDefines(dev, dt)
	if err != nil {
		return nil, tiling{}, err
	}
	var lastErr error
	for _, t := range []tiling{{64, 4}, {32, 4}} {
		if dev.Info().MaxWorkGroupSize < t.rts()*t.rts() {
			continue
		}
		k, err := kernelOf(dev, "gemm.cl", defs+" "+t.defines(), name)
		if err != nil {
			return nil, t, err
		}
		if lastErr = needGroup(k, t.rts()*t.rts()); lastErr == nil {
			return k, t, nil
		}
	}
	if lastErr == nil {
		lastErr = unsupported("work groups of %d items are too small for the GEMM tiles", dev.Info().MaxWorkGroupSize)
	}
	return nil, tiling{}, lastErr
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// gemmCall is one launch of the gemm kernel.
type gemmCall struct {
	ars, acs, brs, bcs int64
	crs, ccs           int64
	m, n, k            int64
	alpha, beta        float64
	hasBias            bool
	batch              *shapeT
	batches            int64
	small              *clrt.Kernel // untiled kernel for few rows, or nil
}

func (c *gemmCall) launch(s runtime.Stream, k *clrt.Kernel, t tiling, dt tensor.DType, a, b, bias, y *tensor.Tensor) error {
	if c.m == 0 || c.n == 0 || c.batches == 0 {
		return nil
	}
	ab, ao, err := arg(a)
	if err != nil {
		return err
	}
	bb, bo, err := arg(b)
	if err != nil {
		return err
	}
	yb, yo, err := arg(y)
	if err != nil {
		return err
	}
	biasBuf, biasOff := yb, yo // any buffer of the device: unread without a bias
	has := int32(0)
	if bias != nil && c.hasBias {
		if biasBuf, biasOff, err = arg(bias); err != nil {
			return err
		}
		has = 1
	}
	kargs := []any{ab, ao, c.ars, c.acs, bb, bo, c.brs, c.bcs, yb, yo, biasBuf, biasOff, c.crs, c.ccs,
		c.m, c.n, c.k, scalar(dt, c.alpha), scalar(dt, c.beta), has, int32(0), c.batch.bytes()}
	if c.small != nil {
		return s.Launch(clrt.Launch{Kernel: c.small, Global: []int{int(c.n), int(c.m), int(c.batches)}, Args: kargs})
	}
	rts := t.rts()
	return s.Launch(clrt.Launch{
		Kernel: k,
		Global: []int{int(ceilDiv(c.n, int64(t.ts))) * rts, int(ceilDiv(c.m, int64(t.ts))) * rts, int(c.batches)},
		Local:  []int{rts, rts, 1},
		Args:   kargs,
	})
}

// smallRows is the row count below which a product runs without tiles.
const smallRows = 8

// pickSmall sets the untiled kernel for products of few rows.
func (c *gemmCall) pickSmall(dev *clrt.Device, dt tensor.DType) error {
	if c.m >= smallRows {
		return nil
	}
	defs, err := typeDefines(dev, dt)
	if err != nil {
		return err
	}
	c.small, err = kernelOf(dev, "gemm.cl", defs, "gemm_small")
	return err
}

// prepareMatMul multiplies matrices with NumPy's rules: 1-D operands gain
// and lose a dimension, batch dimensions broadcast (through strides, so no
// operand is copied).
func prepareMatMul(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	if err := floatOnly(dev, dt); err != nil {
		return nil, err
	}
	a, b := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(a) == 0 || len(b) == 0 {
		return nil, unsupported("scalar operand")
	}
	am, bm := a, b
	if len(a) == 1 {
		am = tensor.Shape{1, a[0]}
	}
	if len(b) == 1 {
		bm = tensor.Shape{b[0], 1}
	}
	m, kk, nn := int64(am[len(am)-2]), int64(am[len(am)-1]), int64(bm[len(bm)-1])
	ab, bb := am[:len(am)-2], bm[:len(bm)-2]
	rank := max(len(ab), len(bb))
	batch := make(tensor.Shape, rank)
	for i := range rank {
		da, db := 1, 1
		if j := i - (rank - len(ab)); j >= 0 {
			da = ab[j]
		}
		if j := i - (rank - len(bb)); j >= 0 {
			db = bb[j]
		}
		batch[i] = max(da, db)
		if da == 0 || db == 0 {
			batch[i] = 0
		}
	}
	sa, sb := broadcastStrides(ab, batch), broadcastStrides(bb, batch)
	for i := range sa {
		sa[i] *= m * kk
		sb[i] *= kk * nn
	}
	if len(bb) == 0 || batch.NumElements() == 0 || slices.Equal(sb, make([]int64, len(sb))) && slices.Equal(ab, batch) {
		// B is one matrix for every batch and A's batches are contiguous
		// (so is the output): one product of batches·M rows, not many of M.
		m *= int64(batch.NumElements())
		batch, sa, sb = nil, nil, nil
	}
	st, err := newShapeT(dims64(batch), sa, sb, make([]int64, len(batch)))
	if err != nil {
		return nil, err
	}
	k, t, err := gemmKernel(dev, dt, "gemm")
	if err != nil {
		return nil, err
	}
	call := &gemmCall{ars: kk, acs: 1, brs: nn, bcs: 1, m: m, n: nn, k: kk, alpha: 1, batch: st, batches: int64(batch.NumElements())}
	if err := call.pickSmall(dev, dt); err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		return call.launch(s, k, t, dt, in[0], in[1], nil, out[0])
	})}, nil
}

// prepareGemm is alpha·op(A)·op(B) + beta·C with C broadcast to M×N.
func prepareGemm(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	if err := floatOnly(dev, dt); err != nil {
		return nil, err
	}
	at := n.Attrs
	transA, transB := at.Int("transA", 0) != 0, at.Int("transB", 0) != 0
	alpha, beta := float64(at.Float("alpha", 1)), float64(at.Float("beta", 1))
	if err := at.Err(); err != nil {
		return nil, err
	}
	a, b := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(a) != 2 || len(b) != 2 {
		return nil, unsupported("Gemm of ranks %d and %d", len(a), len(b))
	}
	m, kk := int64(a[0]), int64(a[1])
	ars, acs := kk, int64(1)
	if transA {
		m, kk = kk, m
		ars, acs = 1, m
	}
	nn := int64(b[1])
	brs, bcs := nn, int64(1)
	if transB {
		nn = int64(b[0])
		brs, bcs = 1, kk
	}
	call := &gemmCall{ars: ars, acs: acs, brs: brs, bcs: bcs, m: m, n: nn, k: kk, alpha: alpha, beta: beta, batches: 1, batch: &shapeT{}}
	if c := n.Input(2); c.Present() && beta != 0 {
		st := broadcastStrides(c.Shape, tensor.Shape{int(m), int(nn)})
		call.crs, call.ccs, call.hasBias = st[0], st[1], true
	}
	k, t, err := gemmKernel(dev, dt, "gemm")
	if err != nil {
		return nil, err
	}
	if err := call.pickSmall(dev, dt); err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		var c *tensor.Tensor
		if len(in) > 2 {
			c = in[2]
		}
		return call.launch(s, k, t, dt, in[0], in[1], c, out[0])
	})}, nil
}
