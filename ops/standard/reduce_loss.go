package standard

import (
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.

func reduceLossOps() []def {
	return []def{
		{name: "NegativeLogLikelihoodLoss", since: []int{12, 13}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1},
			prepare: reducePrepareLoss(false), doc: "negative log-likelihood loss with optional class weights"},
		{name: "SoftmaxCrossEntropyLoss", since: []int{12, 13}, inputs: [2]int{2, 3}, outputs: [2]int{1, 2},
			prepare: reducePrepareLoss(true), doc: "softmax cross-entropy loss with optional class weights"},
	}
}

// reduceLossSpec is a prepared loss node.
type reduceLossSpec struct {
	softmax     bool
	reduction   string
	ignore      int64
	hasIgnore   bool
	n, c, d     int // batch, classes, product of the extra dims
	targetShape tensor.Shape
}

func reducePrepareLoss(softmax bool) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		a := n.Attrs
		s := &reduceLossSpec{softmax: softmax}
		s.reduction = a.String("reduction", "mean")
		s.hasIgnore = a.Has("ignore_index")
		s.ignore = a.Int("ignore_index", 0)
		if err := a.Err(); err != nil {
			return nil, err
		}
		if s.reduction != "none" && s.reduction != "sum" && s.reduction != "mean" {
			return nil, n.Errorf("reduction %q: want none, sum or mean", s.reduction)
		}
		types := []tensor.DType{tensor.Float16, tensor.Float32, tensor.Float64}
		if n.Opset >= 13 {
			types = append(types, tensor.BFloat16)
		}
		if err := checkType(n, 0, types); err != nil {
			return nil, err
		}
		if err := checkType(n, 1, []tensor.DType{tensor.Int32, tensor.Int64}); err != nil {
			return nil, err
		}
		if n.Input(2).Present() {
			if err := checkType(n, 2, types); err != nil {
				return nil, err
			}
			if err := checkSameType(n, 0, 2); err != nil {
				return nil, err
			}
		}
		if err := reduceCheckRank(n, 0, 2, -1); err != nil {
			return nil, err
		}
		if err := reduceCheckRank(n, 1, 1, -1); err != nil {
			return nil, err
		}
		x, t := n.Inputs[0], n.Inputs[1]
		if !x.Static() || !t.Static() {
			return nil, n.Errorf("inputs need known shapes, got %s and %s", x, t)
		}
		if len(t.Shape) != len(x.Shape)-1 || t.Shape[0] != x.Shape[0] || !t.Shape[1:].Equal(x.Shape[2:]) {
			return nil, n.Errorf("target shape %v does not match input shape %v (want N, d1, ..., dk)", t.Shape, x.Shape)
		}
		if w := n.Input(2); w.Present() {
			if w.UnknownRank || len(w.Shape) != 1 || w.Shape[0] != x.Shape[1] {
				return nil, n.Errorf("weights must have shape [%d], got %s", x.Shape[1], w)
			}
		}
		s.n, s.c = x.Shape[0], x.Shape[1]
		s.d = x.Shape[2:].NumElements()
		s.targetShape = t.Shape.Clone()
		outShape := tensor.Shape{}
		if s.reduction == "none" {
			outShape = s.targetShape
		}
		outs := []ops.Type{ops.TensorType(x.DType, outShape)}
		if n.NumOutputs > 1 {
			outs = append(outs, ops.TensorType(x.DType, x.Shape.Clone()))
		}
		var k ops.Kernel
		switch x.DType {
		case tensor.Float32:
			k = reduceLossKernel[float32](s)
		case tensor.Float64:
			k = reduceLossKernel[float64](s)
		default:
			k = halfAsFloat32(x.DType, reduceLossKernel[float32](s))
		}
		return &ops.Plan{Outputs: outs, Kernel: k}, nil
	}
}

func reduceLossKernel[T float32 | float64](s *reduceLossSpec) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		target, err := intsOf(in[1])
		if err != nil {
			return err
		}
		var w []T
		if len(in) > 2 && in[2] != nil {
			if w, err = tensor.View[T](in[2]); err != nil {
				return err
			}
		}
		n, c, d := s.n, s.c, s.d
		// logp holds log-probabilities: the input itself for NLL, the log
		// softmax over the class axis for SCE.
		logp := x
		if s.softmax {
			var lp []T
			if len(out) > 1 && out[1] != nil {
				y, err := env.Output(out, 1, in[0].DType(), in[0].Shape())
				if err != nil {
					return err
				}
				if lp, err = tensor.View[T](y); err != nil {
					return err
				}
			} else {
				lp = make([]T, len(x))
			}
			env.ParallelFor(n*d, max(1, 4096/max(c, 1)), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					b, j := r/d, r%d
					base := b*c*d + j
					m := math.Inf(-1)
					for k := 0; k < c; k++ {
						m = max(m, float64(x[base+k*d]))
					}
					sum := 0.0
					for k := 0; k < c; k++ {
						sum += math.Exp(float64(x[base+k*d]) - m)
					}
					ls := m + math.Log(sum)
					for k := 0; k < c; k++ {
						lp[base+k*d] = T(float64(x[base+k*d]) - ls)
					}
				}
			})
			logp = lp
		}
		losses := make([]float64, n*d)
		weights := make([]float64, n*d)
		for r := range losses {
			b, j := r/d, r%d
			t := target[r]
			if s.hasIgnore && t == s.ignore {
				continue
			}
			if t < 0 || t >= int64(c) {
				return errorf("target %d at %d out of range [0, %d)", t, r, c)
			}
			wt := 1.0
			if w != nil {
				wt = float64(w[t])
			}
			losses[r] = -float64(logp[b*c*d+int(t)*d+j]) * wt
			weights[r] = wt
		}
		outShape := tensor.Shape{}
		if s.reduction == "none" {
			outShape = s.targetShape
		}
		y, err := env.Output(out, 0, in[0].DType(), outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		switch s.reduction {
		case "none":
			for i, v := range losses {
				o[i] = T(v)
			}
		case "sum":
			sum := 0.0
			for _, v := range losses {
				sum += v
			}
			o[0] = T(sum)
		default:
			sum, wsum := 0.0, 0.0
			for i, v := range losses {
				sum += v
				wsum += weights[i]
			}
			o[0] = T(sum / wsum)
		}
		return nil
	}
}
