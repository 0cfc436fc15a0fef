package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// The residual Z of FusedConv, FusedMatMul and FusedGemm broadcasts with
// the product Y as Add does (numpy rules, both ways), so that fusing
// act(Add(Y, Z)) is exact whatever the shapes: the output has the
// broadcast shape. When Z has Y's shape (residual connections) it is added
// in the GEMM's epilogue; a Z that broadcasts to Y is first expanded to
// Y's shape; otherwise Y is computed, then broadcast and added.

// fusedResidual is a planned residual.
type fusedResidual struct {
	y, z, out tensor.Shape
}

// fusedResidualPlan checks input i (Z, if present and static) against the
// product's shape y and returns the plan, nil when Z is absent, and the
// output shape.
func fusedResidualPlan(n *ops.Node, i int, y tensor.Shape) (*fusedResidual, tensor.Shape, error) {
	z := n.Input(i)
	if !z.Present() {
		return nil, y, nil
	}
	if err := nnStatic(n, i); err != nil {
		return nil, nil, err
	}
	out, err := broadcastShapes(y, z.Shape)
	if err != nil {
		return nil, nil, n.Errorf("residual Z of shape %v does not broadcast with the product %v", z.Shape, y)
	}
	if err := nnCheckSize(n, out); err != nil {
		return nil, nil, err
	}
	return &fusedResidual{y: y.Clone(), z: z.Shape.Clone(), out: out}, out, nil
}

// inEpilogue reports whether Z can be added in the product's epilogue
// (the output is Y's shape).
func (r *fusedResidual) inEpilogue() bool { return r == nil || r.out.Equal(r.y) }

// asY returns Z laid out as Y (expanded when it broadcasts) and its
// release function.
func (r *fusedResidual) asY(z []float32) ([]float32, func()) {
	if r.z.Equal(r.y) {
		return z, func() {}
	}
	buf, release := nnScratch32(r.y.NumElements())
	expandInto(buf, z, r.y, r.z)
	return buf, release
}

// finish computes out = act(broadcast(y) + broadcast(z)) for a product y
// computed without residual or activation.
func (r *fusedResidual) finish(env *ops.Env, act kernels.Activation, y, z, out []float32) {
	expandInto(out, y, r.out, r.y)
	zb, release := nnScratch32(len(out))
	defer release()
	expandInto(zb, z, r.out, r.z)
	env.ParallelFor(len(out), 1<<14, func(lo, hi int) {
		fusedAddTo(out[lo:hi], zb[lo:hi])
		act.Apply(out[lo:hi])
	})
}
