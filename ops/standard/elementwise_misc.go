package standard

import (
	"context"
	"math/rand/v2"
	"sync"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Identity and Dropout.

func prepareIdentity(n *ops.Node) (*ops.Plan, error) {
	x := n.Input(0)
	if !x.Present() {
		return nil, n.Errorf("input 0 is required")
	}
	switch x.Kind {
	case ops.KindSequence, ops.KindOptional:
		if x.Kind == ops.KindSequence && n.Opset < 14 || x.Kind == ops.KindOptional && n.Opset < 16 {
			return nil, n.Errorf("input is %s, which Identity takes only from opset 14 (sequences) or 16 (optionals)", x)
		}
		// Sequences and optionals are immutable values: pass them on.
		return &ops.Plan{Outputs: []ops.Type{x}, Eval: func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
			return []ops.Value{in[0]}, nil
		}}, nil
	}
	if err := checkType(n, 0, allTypes); err != nil {
		return nil, err
	}
	out := x
	out.Value = nil
	out.Shape = x.Shape.Clone()
	return &ops.Plan{Outputs: []ops.Type{out}, Kernel: identityKernel, Overwrites: true, View: true}, nil
}

func identityKernel(env *ops.Env, in, out []*tensor.Tensor) error {
	y, err := env.Output(out, 0, in[0].DType(), in[0].Shape())
	if err != nil {
		return err
	}
	return castInto(env, y, in[0])
}

// dropoutRNG draws training-mode masks. With a seed attribute every run
// starts afresh from the seed with numpy's legacy generator (MT19937 and
// random_sample), as the ONNX reference implementation does, so masks are
// reproducible and match the backend test data; without one the draws come
// from a stream seeded at random.
type dropoutRNG struct {
	seeded bool
	seed   uint32
	mu     sync.Mutex
	r      *rand.Rand
}

// uniforms fills u with draws from [0, 1).
func (g *dropoutRNG) uniforms(u []float64) {
	if g.seeded {
		var mt dropoutMT
		mt.init(g.seed)
		for i := range u {
			u[i] = mt.float64()
		}
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range u {
		u[i] = g.r.Float64()
	}
}

// dropoutMT is the 32-bit Mersenne Twister as numpy's RandomState seeds it
// from an integer.
type dropoutMT struct {
	mt  [624]uint32
	idx int
}

func (m *dropoutMT) init(seed uint32) {
	m.mt[0] = seed
	for i := 1; i < len(m.mt); i++ {
		p := m.mt[i-1]
		m.mt[i] = 1812433253*(p^(p>>30)) + uint32(i)
	}
	m.idx = len(m.mt)
}

func (m *dropoutMT) uint32() uint32 {
	const n, mid = 624, 397
	if m.idx >= n {
		for i := 0; i < n; i++ {
			y := m.mt[i]&0x80000000 | m.mt[(i+1)%n]&0x7fffffff
			v := m.mt[(i+mid)%n] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.mt[i] = v
		}
		m.idx = 0
	}
	y := m.mt[m.idx]
	m.idx++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 is numpy's random_sample: 53 random bits from two draws.
func (m *dropoutMT) float64() float64 {
	a, b := m.uint32()>>5, m.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

func prepareDropout(n *ops.Node) (*ops.Plan, error) {
	if err := ewTensorInput(n, 0, floatTypes); err != nil {
		return nil, err
	}
	a := n.Attrs
	ratio := float64(a.Float("ratio", 0.5))
	if n.Opset < 7 {
		// is_test=0 asks for training, which inference ignores as ONNX
		// Runtime does; the attribute is read to check its type.
		a.Int("is_test", 0)
	}
	seed, hasSeed := a.Int("seed", 0), a.Has("seed")
	if err := a.Err(); err != nil {
		return nil, err
	}
	if n.Opset < 12 && len(n.Inputs) > 1 {
		return nil, n.Errorf("before opset 12 Dropout takes one input, got %d", len(n.Inputs))
	}
	if t := n.Input(1); t.Present() {
		if err := checkType(n, 1, floatTypes); err != nil {
			return nil, err
		}
	}
	if t := n.Input(2); t.Present() {
		if err := checkType(n, 2, []tensor.DType{tensor.Bool}); err != nil {
			return nil, err
		}
	}
	dt := n.Inputs[0].DType
	maskDT := tensor.Bool
	if n.Opset < 10 {
		maskDT = dt
	}
	rng := &dropoutRNG{seeded: hasSeed, seed: uint32(seed)}
	if !hasSeed {
		rng.r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	var k ops.Kernel
	switch dt {
	case tensor.Float64:
		k = dropoutKernel[float64](n.Opset, ratio, rng, maskDT)
	default:
		k = ewHalf(dt, dropoutKernel[float32](n.Opset, ratio, rng, ewHalfWidened(maskDT)))
	}
	shape := n.Inputs[0].Shape
	outs := []ops.Type{ops.TensorType(dt, shape.Clone())}
	if n.NumOutputs > 1 {
		outs = append(outs, ops.TensorType(maskDT, shape.Clone()))
	}
	return &ops.Plan{Outputs: outs, Kernel: k}, nil
}

// ewHalfWidened is the type a half kernel computes a half output in.
func ewHalfWidened(dt tensor.DType) tensor.DType {
	if dt == tensor.Float16 || dt == tensor.BFloat16 {
		return tensor.Float32
	}
	return dt
}

// ewScalarFloat reads a one-element float tensor.
func ewScalarFloat(t *tensor.Tensor) (float64, error) {
	if t.Len() != 1 {
		return 0, errorf("want a scalar, got shape %v", t.Shape())
	}
	switch t.DType() {
	case tensor.Float32:
		v, err := tensor.View[float32](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0]), nil
	case tensor.Float64:
		v, err := tensor.View[float64](t)
		if err != nil {
			return 0, err
		}
		return v[0], nil
	case tensor.Float16:
		v, err := tensor.View[tensor.F16](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0].Float32()), nil
	case tensor.BFloat16:
		v, err := tensor.View[tensor.BF16](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0].Float32()), nil
	}
	return 0, errorf("want a float scalar, got %s", t.DType())
}

// dropoutKernel copies the input and sets the mask true (or one, before
// opset 10) unless opset 12's training_mode input is true with a nonzero
// ratio: then each element is kept with probability 1-ratio and scaled by
// 1/(1-ratio).
func dropoutKernel[T float32 | float64](opset int, attrRatio float64, rng *dropoutRNG, maskDT tensor.DType) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		ratio, training := attrRatio, false
		if opset >= 12 {
			ratio = 0.5
			if len(in) > 1 && in[1] != nil {
				if ratio, err = ewScalarFloat(in[1]); err != nil {
					return errorf("Dropout: ratio: %v", err)
				}
			}
			if len(in) > 2 && in[2] != nil {
				m, err := tensor.View[bool](in[2])
				if err != nil {
					return err
				}
				if len(m) != 1 {
					return errorf("Dropout: training_mode must be a scalar, has shape %v", in[2].Shape())
				}
				training = m[0]
			}
		}
		shape := in[0].Shape()
		y, err := env.Output(out, 0, tensor.DTypeOf[T](), shape)
		if err != nil {
			return err
		}
		o, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		keep := make([]bool, len(x))
		if training && ratio != 0 {
			if !(ratio > 0 && ratio < 1) {
				return errorf("Dropout: ratio must be in [0, 1), got %v", ratio)
			}
			scale := T(1 / (1 - ratio))
			u := make([]float64, len(x))
			rng.uniforms(u)
			for i := range keep {
				keep[i] = u[i] >= ratio
			}
			for i, v := range x {
				if keep[i] {
					o[i] = v * scale
				} else {
					o[i] = 0
				}
			}
		} else {
			copy(o, x)
			for i := range keep {
				keep[i] = true
			}
		}
		if len(out) < 2 {
			return nil
		}
		m, err := env.Output(out, 1, maskDT, shape)
		if err != nil {
			return err
		}
		switch maskDT {
		case tensor.Bool:
			mv, err := tensor.View[bool](m)
			if err != nil {
				return err
			}
			copy(mv, keep)
		default:
			mv, err := tensor.View[T](m)
			if err != nil {
				return err
			}
			for i, k := range keep {
				if k {
					mv[i] = 1
				} else {
					mv[i] = 0
				}
			}
		}
		return nil
	}
}
