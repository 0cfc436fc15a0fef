package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// FusedConv (com.gocann, 1): Y = act(Conv(X, W) + B + Z), with every
// attribute of Conv (auto_pad, dilations, group, kernel_shape, pads,
// strides), the optional bias B ([M]) and residual Z (broadcast as Add
// does, fused_residual.go; usually of Y's shape), and the activation
// attributes (fused_act.go). Bias, residual and activation are applied in
// the GEMM's epilogue tile by tile (or to each output plane of a depthwise
// convolution as it is finished), never as another pass over Y.

// fusedFloatTypes are the element types of the fused operators: float32,
// and the half types computed through float32.
var fusedFloatTypes = []tensor.DType{tensor.Float32, tensor.Float16, tensor.BFloat16}

func prepareFusedConv(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, fusedFloatTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, fusedFloatTypes); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1, 2, 3); err != nil {
		return nil, err
	}
	p, err := nnConvSetup(n, 0, 1)
	if err != nil {
		return nil, err
	}
	if b := n.Input(2); b.Present() {
		if err := nnStatic(n, 2); err != nil {
			return nil, err
		}
		if len(b.Shape) != 1 || b.Shape[0] != p.m {
			return nil, n.Errorf("bias B must have shape [%d], got %v", p.m, b.Shape)
		}
	}
	res, out, err := fusedResidualPlan(n, 3, p.out)
	if err != nil {
		return nil, err
	}
	act, err := fusedActivation(n)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	k, err := nnFloat(n, dt, fusedConvKernel(p, res, out, act), nil)
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k, Overwrites: true}, nil
}

func fusedConvKernel(p *nnConvPlan, res *fusedResidual, outShape tensor.Shape, act kernels.Activation) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		w, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		b, err := nnView[float32](nnAt(in, 2))
		if err != nil {
			return err
		}
		z, err := nnView[float32](nnAt(in, 3))
		if err != nil {
			return err
		}
		y, err := nnOut[float32](env, out, 0, outShape)
		if err != nil {
			return err
		}
		if z == nil {
			return fusedConvRun(env, p, act, x, w, b, nil, y)
		}
		if res.inEpilogue() {
			zy, release := res.asY(z)
			defer release()
			return fusedConvRun(env, p, act, x, w, b, zy, y)
		}
		prod, release := nnScratch32(p.out.NumElements())
		defer release()
		if err := fusedConvRun(env, p, kernels.Activation{}, x, w, b, nil, prod); err != nil {
			return err
		}
		res.finish(env, act, prod, z, y)
		return nil
	}
}

// fusedConvRun computes y = act(conv(x, w) + b + z); b and z may be nil.
// Float32 2-D convolutions take Conv's kernels with the epilogue folded in;
// the others an im2col and a GEMM with it.
func fusedConvRun(env *ops.Env, p *nnConvPlan, act kernels.Activation, x, w, b, z, y []float32) error {
	if p.depthwise {
		return nnDepthwise2D(env, p, x, w, b, z, y, act)
	}
	if !p.pointwise && len(p.w.k) == 2 {
		return nnConv2DPacked(env, p, x, w, b, z, y, act)
	}
	cg, mg := p.c/p.g, p.m/p.g
	kSize := nnProd(p.w.k)
	inS, outS := nnProd(p.w.in), nnProd(p.w.out)
	kk := cg * kSize
	var col []float32
	if !p.pointwise {
		var release func()
		col, release = nnScratch32(kk * outS)
		defer release()
	}
	for bi := 0; bi < p.batch; bi++ {
		for g := 0; g < p.g; g++ {
			xg := x[(bi*p.c+g*cg)*inS : (bi*p.c+(g+1)*cg)*inS]
			yOff := (bi*p.m + g*mg) * outS
			yg := y[yOff : yOff+mg*outS]
			wg := w[g*mg*kk : (g+1)*mg*kk]
			ep := &kernels.Epilogue{Act: act}
			if b != nil {
				ep.RowBias = b[g*mg : (g+1)*mg]
			}
			if z != nil {
				ep.Residual, ep.ResidualLD = z[yOff:yOff+mg*outS], outS
			}
			if p.pointwise {
				nnPointwise(env, p, mg, outS, kk, wg, xg, yg, ep)
				continue
			}
			nnIm2col(env, p.w, xg, cg, col)
			nnSgemm(env, false, false, mg, outS, kk, 1, wg, kk, col, outS, 0, yg, outS, ep)
		}
	}
	return nil
}

// fusedAddTo sets y[i] += z[i].
func fusedAddTo(y, z []float32) {
	z = z[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		yy := (*[4]float32)(y[i:])
		zz := (*[4]float32)(z[i:])
		yy[0] += zz[0]
		yy[1] += zz[1]
		yy[2] += zz[2]
		yy[3] += zz[3]
	}
	for ; i < len(y); i++ {
		y[i] += z[i]
	}
}
