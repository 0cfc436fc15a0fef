package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Gelu, FastGelu and BiasGelu (com.gocann, 1), the GELU forms the graph
// engine recognizes in models of any opset:
//
//	Gelu(X)            = X/2·(1 + erf(X/√2))
//	FastGelu(X, bias?) = GeluTanh(X + bias), GeluTanh(x) = x/2·(1 + tanh(√(2/π)(x + 0.044715x³)))
//	BiasGelu(X, bias)  = Gelu(X + bias)
//
// bias is a vector of X's last dimension. One pass: each block of X gets
// its bias and activation while in L1 (accuracy: kernels.Activation).

func prepareGeluFamily(kind kernels.ActKind, biasInput int) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		if err := checkType(n, 0, fusedFloatTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, 0); err != nil {
			return nil, err
		}
		if err := checkSameType(n, 0, 1); err != nil {
			return nil, err
		}
		xs := n.Inputs[0].Shape.Clone()
		hasBias := biasInput > 0 && n.Input(biasInput).Present()
		if hasBias {
			b := n.Inputs[biasInput]
			if err := nnStatic(n, biasInput); err != nil {
				return nil, err
			}
			if len(xs) == 0 || len(b.Shape) != 1 || b.Shape[0] != xs[len(xs)-1] {
				return nil, n.Errorf("bias must be a vector of X's last dimension (X %v), got %v", xs, b.Shape)
			}
		}
		act := kernels.Activation{Kind: kind}
		dt := n.Inputs[0].DType
		k := func(env *ops.Env, in, out []*tensor.Tensor) error {
			x, err := tensor.View[float32](in[0])
			if err != nil {
				return err
			}
			var bias []float32
			if hasBias {
				if bias, err = tensor.View[float32](in[biasInput]); err != nil {
					return err
				}
			}
			y, err := nnOut[float32](env, out, 0, xs)
			if err != nil {
				return err
			}
			fusedBiasAct(env, act, x, bias, y)
			return nil
		}
		kern, err := nnFloat(n, dt, k, nil)
		if err != nil {
			return nil, err
		}
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, xs)}, Kernel: kern, Overwrites: true}, nil
	}
}

// fusedBiasAct sets y = act(x + bias), bias repeating along y (nil for
// none), in blocks of whole bias periods.
func fusedBiasAct(env *ops.Env, act kernels.Activation, x, bias, y []float32) {
	period := max(len(bias), 1)
	rows := len(y) / period
	env.ParallelFor(rows, max(1, 4096/period), func(lo, hi int) {
		if bias == nil {
			act.ApplyTo(y[lo:hi], x[lo:hi])
			return
		}
		for r := lo; r < hi; r++ {
			yr, xr := y[r*period:(r+1)*period], x[r*period:(r+1)*period]
			for i, b := range bias {
				yr[i] = xr[i] + b
			}
			act.Apply(yr)
		}
	})
}
