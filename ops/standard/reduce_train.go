package standard

import (
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Optimizers of the ai.onnx.preview.training domain: Adagrad, Adam and
// Momentum. Each takes a learning rate R, an update count T and groups of
// equally many tensors (X..., G..., then one or two state groups), and
// returns the updated X and states, group by group.
//
// Gradient, the domain's fourth operator, is not here: it differentiates
// the enclosing graph with respect to some of its values, which needs an
// autodiff pass over the graph rather than a kernel.

// reduceTrainingDomain is the domain of the training operators.
const reduceTrainingDomain = "ai.onnx.preview.training"

// trainingOps lists the training operators, in their own domain.
func trainingOps() []def {
	return []def{
		{domain: reduceTrainingDomain, name: "Adagrad", since: []int{1}, inputs: [2]int{5, -1}, outputs: [2]int{2, -1},
			prepare: reducePrepareOptimizer("Adagrad"), doc: "ADAGRAD optimizer step"},
		{domain: reduceTrainingDomain, name: "Adam", since: []int{1}, inputs: [2]int{6, -1}, outputs: [2]int{3, -1},
			prepare: reducePrepareOptimizer("Adam"), doc: "Adam optimizer step"},
		{domain: reduceTrainingDomain, name: "Momentum", since: []int{1}, inputs: [2]int{5, -1}, outputs: [2]int{2, -1},
			prepare: reducePrepareOptimizer("Momentum"), doc: "SGD with standard or Nesterov momentum step"},
	}
}

// reduceTrainSpec is a prepared optimizer node.
type reduceTrainSpec struct {
	name                  string
	groups                int // tensors per group (the number of X's)
	states                int // state groups: 1 (Adagrad H, Momentum V) or 2 (Adam V, H)
	decay, eps, norm      float64
	alpha, beta, normPost float64
	nesterov              bool
}

func reducePrepareOptimizer(name string) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		a := n.Attrs
		s := &reduceTrainSpec{name: name, states: 1}
		switch name {
		case "Adagrad":
			s.decay = float64(a.Float("decay_factor", 0))
			s.eps = float64(a.Float("epsilon", 1e-6))
			s.norm = float64(a.Float("norm_coefficient", 0))
		case "Adam":
			s.states = 2
			s.alpha = float64(a.Float("alpha", 0.9))
			s.beta = float64(a.Float("beta", 0.999))
			s.eps = float64(a.Float("epsilon", 1e-6))
			s.norm = float64(a.Float("norm_coefficient", 0))
			s.normPost = float64(a.Float("norm_coefficient_post", 0))
		case "Momentum":
			a.Require("alpha", "beta", "mode", "norm_coefficient")
			s.alpha = float64(a.Float("alpha", 0))
			s.beta = float64(a.Float("beta", 0))
			s.norm = float64(a.Float("norm_coefficient", 0))
			switch mode := a.String("mode", "standard"); mode {
			case "standard":
			case "nesterov":
				s.nesterov = true
			default:
				a.Fail("mode %q: want standard or nesterov", mode)
			}
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		per := 2 + s.states // X, G and the states
		if (len(n.Inputs)-2)%per != 0 || len(n.Inputs) <= 2 {
			return nil, n.Errorf("%d inputs: want R, T and %d equally long groups", len(n.Inputs), per)
		}
		s.groups = (len(n.Inputs) - 2) / per
		if n.NumOutputs != (1+s.states)*s.groups {
			return nil, n.Errorf("%d outputs: want %d (X and %d state groups of %d)", n.NumOutputs, (1+s.states)*s.groups, s.states, s.groups)
		}
		floats := []tensor.DType{tensor.Float32, tensor.Float64}
		if err := checkType(n, 0, floats); err != nil {
			return nil, err
		}
		if err := checkType(n, 1, []tensor.DType{tensor.Int64}); err != nil {
			return nil, err
		}
		for i := range 2 {
			if t := n.Inputs[i]; t.Static() && t.Shape.NumElements() != 1 {
				return nil, n.Errorf("input %d must be a scalar, got %s", i, t)
			}
		}
		outs := make([]ops.Type, n.NumOutputs)
		for g := range s.groups {
			x := n.Inputs[2+g]
			for k := range per {
				i := 2 + k*s.groups + g
				if err := checkType(n, i, floats); err != nil {
					return nil, err
				}
				t := n.Inputs[i]
				if t.DType != x.DType || t.UnknownRank || x.UnknownRank || !t.Shape.Equal(x.Shape) {
					return nil, n.Errorf("input %d is %s, want %s like X", i, t, x)
				}
			}
			for k := range 1 + s.states {
				outs[k*s.groups+g] = ops.TensorType(x.DType, x.Shape.Clone())
			}
		}
		return &ops.Plan{Outputs: outs, Kernel: s.kernel}, nil
	}
}

func (s *reduceTrainSpec) kernel(env *ops.Env, in, out []*tensor.Tensor) error {
	rs, err := reduceFloats(in[0])
	if err != nil {
		return err
	}
	if len(rs) != 1 {
		return errorf("R must hold one value, got %d", len(rs))
	}
	ts, err := tensor.View[int64](in[1])
	if err != nil {
		return err
	}
	if len(ts) != 1 {
		return errorf("T must hold one value, got %d", len(ts))
	}
	r, t := rs[0], ts[0]
	for g := range s.groups {
		per := 2 + s.states
		vals := make([][]float64, per)
		for k := range per {
			if vals[k], err = reduceFloats(in[2+k*s.groups+g]); err != nil {
				return err
			}
		}
		x, grad := vals[0], vals[1]
		newX := make([]float64, len(x))
		newS := make([][]float64, s.states)
		for k := range newS {
			newS[k] = make([]float64, len(x))
		}
		switch s.name {
		case "Adagrad":
			h := vals[2]
			rate := r / (1 + float64(t)*s.decay)
			for i := range x {
				gr := s.norm*x[i] + grad[i]
				hn := h[i] + gr*gr
				newS[0][i] = hn
				newX[i] = x[i] - rate*gr/(math.Sqrt(hn)+s.eps)
			}
		case "Adam":
			v, h := vals[2], vals[3]
			rate := r
			if t > 0 {
				rate = r * math.Sqrt(1-math.Pow(s.beta, float64(t))) / (1 - math.Pow(s.alpha, float64(t)))
			}
			for i := range x {
				gr := s.norm*x[i] + grad[i]
				vn := s.alpha*v[i] + (1-s.alpha)*gr
				hn := s.beta*h[i] + (1-s.beta)*gr*gr
				newS[0][i], newS[1][i] = vn, hn
				xn := x[i] - rate*vn/(math.Sqrt(hn)+s.eps)
				newX[i] = (1 - s.normPost) * xn
			}
		case "Momentum":
			v := vals[2]
			beta := s.beta
			if t <= 0 {
				beta = 1 // the first step takes the whole gradient
			}
			for i := range x {
				gr := s.norm*x[i] + grad[i]
				vn := s.alpha*v[i] + beta*gr
				newS[0][i] = vn
				if s.nesterov {
					newX[i] = x[i] - r*(gr+s.alpha*vn)
				} else {
					newX[i] = x[i] - r*vn
				}
			}
		}
		shape := in[2+g].Shape()
		dt := in[2+g].DType()
		for k, vals := range append([][]float64{newX}, newS...) {
			y, err := env.Output(out, k*s.groups+g, dt, shape)
			if err != nil {
				return err
			}
			if err := storeFloat64s(y, vals); err != nil {
				return err
			}
		}
	}
	return nil
}
