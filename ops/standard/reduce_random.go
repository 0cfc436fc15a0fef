package standard

import (
	crand "crypto/rand"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Random generators: RandomNormal, RandomUniform, their -Like forms,
// Bernoulli and Multinomial. With a seed attribute every run draws the same
// values; without one each node owns a generator seeded from crypto/rand,
// so runs differ and nodes share no state.

func reduceRandomOps() []def {
	gen := func(name string, inputs int, doc string) def {
		return def{name: name, since: []int{1}, inputs: [2]int{inputs, inputs}, outputs: [2]int{1, 1},
			prepare: reducePrepareRandom(name), doc: doc}
	}
	return []def{
		gen("RandomNormal", 0, "samples a normal distribution into a tensor of the given shape"),
		gen("RandomUniform", 0, "samples a uniform distribution into a tensor of the given shape"),
		gen("RandomNormalLike", 1, "samples a normal distribution into a tensor shaped like the input"),
		gen("RandomUniformLike", 1, "samples a uniform distribution into a tensor shaped like the input"),
		{name: "Bernoulli", since: []int{15}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: reducePrepareBernoulli, doc: "draws 0 or 1 with the probabilities given"},
		{name: "Multinomial", since: []int{7}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: reducePrepareMultinomial, doc: "samples class indices from unnormalized log-probabilities"},
	}
}

// reduceRandSource hands each run its generator: the same one for a seeded
// node, a fresh one drawn from the node's own generator otherwise.
type reduceRandSource struct {
	seeded bool
	seed   uint64
	mu     sync.Mutex
	node   *rand.PCG
}

func reduceNewRandSource(n *ops.Node) (*reduceRandSource, error) {
	s := &reduceRandSource{}
	if n.Attrs.Has("seed") {
		f := n.Attrs.Float("seed", 0)
		if err := n.Attrs.Err(); err != nil {
			return nil, err
		}
		s.seeded = true
		s.seed = uint64(math.Float32bits(f))
		return s, nil
	}
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		return nil, n.Errorf("seeding the random generator: %v", err)
	}
	s.node = rand.NewPCG(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:]))
	return s, nil
}

func (s *reduceRandSource) rng() *rand.Rand {
	if s.seeded {
		return rand.New(rand.NewPCG(s.seed, 0x9e3779b97f4a7c15))
	}
	s.mu.Lock()
	a, b := s.node.Uint64(), s.node.Uint64()
	s.mu.Unlock()
	return rand.New(rand.NewPCG(a, b))
}

var reduceRandTypes = []tensor.DType{tensor.Float16, tensor.Float32, tensor.Float64}

func reducePrepareRandom(name string) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		a := n.Attrs
		like := name == "RandomNormalLike" || name == "RandomUniformLike"
		normal := name == "RandomNormal" || name == "RandomNormalLike"
		var p1, p2 float64
		if normal {
			p1, p2 = float64(a.Float("mean", 0)), float64(a.Float("scale", 1))
		} else {
			p1, p2 = float64(a.Float("low", 0)), float64(a.Float("high", 1))
		}
		var shape tensor.Shape
		dt := tensor.Float32
		if like {
			x := n.Input(0)
			if !x.Present() || x.Kind != ops.KindTensor {
				return nil, n.Errorf("input 0 must be a tensor")
			}
			if x.UnknownRank {
				return nil, n.Errorf("input of unknown rank")
			}
			shape = x.Shape.Clone()
			dt = x.DType
		} else {
			a.Require("shape")
			for _, d := range a.Ints("shape", nil) {
				if d < 0 || d > math.MaxInt32 {
					a.Fail("shape dimension %d out of range", d)
				}
				shape = append(shape, int(d))
			}
		}
		if a.Has("dtype") {
			dt = tensor.DType(a.Int("dtype", 1))
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		if !slices.Contains(reduceRandTypes, dt) {
			return nil, n.Errorf("output type %s: want float16, float32 or float64", dt)
		}
		if !normal && !(p1 <= p2) {
			return nil, n.Errorf("low %v must not exceed high %v", p1, p2)
		}
		src, err := reduceNewRandSource(n)
		if err != nil {
			return nil, err
		}
		k := func(env *ops.Env, in, out []*tensor.Tensor) error {
			s := shape
			if like {
				s = in[0].Shape()
			}
			y, err := env.Output(out, 0, dt, s)
			if err != nil {
				return err
			}
			r := src.rng()
			vals := make([]float64, s.NumElements())
			for i := range vals {
				if normal {
					vals[i] = p1 + p2*r.NormFloat64()
				} else {
					vals[i] = p1 + (p2-p1)*r.Float64()
				}
			}
			return storeFloat64s(y, vals)
		}
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, shape)}, Kernel: k}, nil
	}
}

// reduceFloats reads a float tensor of any float type as float64.
func reduceFloats(t *tensor.Tensor) ([]float64, error) {
	out := make([]float64, t.Len())
	switch t.DType() {
	case tensor.Float32:
		v, err := tensor.View[float32](t)
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			out[i] = float64(x)
		}
	case tensor.Float64:
		v, err := tensor.View[float64](t)
		if err != nil {
			return nil, err
		}
		copy(out, v)
	case tensor.Float16:
		v, err := tensor.View[tensor.F16](t)
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			out[i] = float64(x.Float32())
		}
	case tensor.BFloat16:
		v, err := tensor.View[tensor.BF16](t)
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			out[i] = float64(x.Float32())
		}
	default:
		return nil, errorf("want a float tensor, got %s", t.DType())
	}
	return out, nil
}

func reducePrepareBernoulli(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, reduceRandTypes); err != nil {
		return nil, err
	}
	x := n.Inputs[0]
	if x.UnknownRank {
		return nil, n.Errorf("input of unknown rank")
	}
	dt := x.DType
	if n.Attrs.Has("dtype") {
		dt = tensor.DType(n.Attrs.Int("dtype", 1))
	}
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if dt != tensor.Bool && !slices.Contains(reduceOutputTypes, dt) {
		return nil, n.Errorf("output type %s: want a numeric type or bool", dt)
	}
	src, err := reduceNewRandSource(n)
	if err != nil {
		return nil, err
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		p, err := reduceFloats(in[0])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, dt, in[0].Shape())
		if err != nil {
			return err
		}
		r := src.rng()
		vals := make([]float64, len(p))
		for i, pi := range p {
			if !(pi >= 0 && pi <= 1) {
				return errorf("probability %v at %d outside [0, 1]", pi, i)
			}
			if r.Float64() < pi {
				vals[i] = 1
			}
		}
		if dt == tensor.Bool {
			o, err := tensor.View[bool](y)
			if err != nil {
				return err
			}
			for i, v := range vals {
				o[i] = v != 0
			}
			return nil
		}
		return storeFloat64s(y, vals)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, x.Shape.Clone())}, Kernel: k}, nil
}

func reducePrepareMultinomial(n *ops.Node) (*ops.Plan, error) {
	samples := n.Attrs.Int("sample_size", 1)
	dt := tensor.DType(n.Attrs.Int("dtype", int64(tensor.Int32)))
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if dt != tensor.Int32 && dt != tensor.Int64 {
		return nil, n.Errorf("dtype %s: want int32 or int64", dt)
	}
	if samples < 1 || samples > math.MaxInt32 {
		return nil, n.Errorf("sample_size %d must be positive", samples)
	}
	if err := checkType(n, 0, reduceRandTypes); err != nil {
		return nil, err
	}
	x := n.Inputs[0]
	if x.UnknownRank || len(x.Shape) != 2 {
		return nil, n.Errorf("input must be [batch, classes], got %s", x)
	}
	src, err := reduceNewRandSource(n)
	if err != nil {
		return nil, err
	}
	outShape := tensor.Shape{x.Shape[0], int(samples)}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		logits, err := reduceFloats(in[0])
		if err != nil {
			return err
		}
		batch, classes := in[0].Shape()[0], in[0].Shape()[1]
		shape := tensor.Shape{batch, int(samples)}
		y, err := env.Output(out, 0, dt, shape)
		if err != nil {
			return err
		}
		if classes == 0 && batch > 0 {
			return errorf("cannot sample from zero classes")
		}
		r := src.rng()
		idx := make([]float64, shape.NumElements())
		cdf := make([]float64, classes)
		for b := range batch {
			row := logits[b*classes : (b+1)*classes]
			m := math.Inf(-1)
			for _, v := range row {
				m = max(m, v)
			}
			if math.IsInf(m, 0) || math.IsNaN(m) {
				return errorf("row %d has no finite log-probability", b)
			}
			acc := 0.0
			for c, v := range row {
				acc += math.Exp(v - m)
				cdf[c] = acc
			}
			for s := range int(samples) {
				u := r.Float64() * acc
				c := sort.SearchFloat64s(cdf, u)
				// SearchFloat64s finds the first cdf >= u; u equal to a
				// bound belongs to the next class.
				for c < classes-1 && cdf[c] <= u {
					c++
				}
				idx[b*int(samples)+s] = float64(min(c, classes-1))
			}
		}
		return storeFloat64s(y, idx)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, outShape)}, Kernel: k}, nil
}
