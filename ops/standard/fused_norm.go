package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// LayerNormalization and SkipLayerNormalization (com.gocann, 1).
//
// LayerNormalization has the semantics of ONNX's (opset 17): inputs X,
// Scale, B?; attributes axis (-1), epsilon (1e-5), stash_type (1); outputs
// Y, Mean?, InvStdDev?. It is what the graph engine puts in place of the
// ReduceMean/Sub/Pow/Sqrt/Div subgraph of models whose opset predates 17.
//
// SkipLayerNormalization(input, skip, gamma, beta?, bias?) normalizes
// s = input + skip + bias over the last axis: Y = (s - mean)/sqrt(var +
// epsilon)·gamma + beta. input and skip broadcast as Add does (the output
// has their broadcast shape; one is usually the other's shape or a suffix
// of it, which takes the fast path); gamma, beta and bias are vectors of
// the last dimension. Outputs: Y, Mean?, InvStdDev? (Y's shape with a last
// dimension of 1) and Sum? (s, for a following residual connection).
// Attribute epsilon (1e-5).

func prepareFusedLayerNorm(n *ops.Node) (*ops.Plan, error) {
	plan, err := prepareLayerNorm(n)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	stash := n.Attrs.Int("stash_type", 1)
	if dt == tensor.Float64 || stash != int64(tensor.Float32) {
		return plan, nil // the standard kernel handles every type
	}
	xs := n.Inputs[0].Shape
	ax, err := normAxis(n, n.Attrs.Int("axis", -1), len(xs))
	if err != nil {
		return nil, err
	}
	inner := xs[ax:].Clone()
	rows, size := xs[:ax].NumElements(), inner.NumElements()
	shapes := make([]tensor.Shape, 3)
	for i := 1; i <= 2; i++ {
		if n.Input(i).Present() {
			shapes[i] = n.Inputs[i].Shape.Clone()
		}
	}
	outs := plan.Outputs
	eps := n.Attrs.Float("epsilon", 1e-5)
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		ln := &kernels.LayerNorm{Rows: rows, N: size, Epsilon: eps}
		if ln.Gamma, err = fusedVector(nnAt(in, 1), shapes[1], inner); err != nil {
			return err
		}
		if ln.Beta, err = fusedVector(nnAt(in, 2), shapes[2], inner); err != nil {
			return err
		}
		y, err := nnOut[float32](env, out, 0, outs[0].Shape)
		if err != nil {
			return err
		}
		if len(out) > 1 {
			if ln.Mean, err = nnOut[float32](env, out, 1, outs[1].Shape); err != nil {
				return err
			}
		}
		if len(out) > 2 {
			if ln.InvStd, err = nnOut[float32](env, out, 2, outs[2].Shape); err != nil {
				return err
			}
		}
		ln.Run(nnWorkers(env), x, y)
		return nil
	}
	if plan.Kernel, err = nnFloat(n, dt, k, nil); err != nil {
		return nil, err
	}
	plan.Overwrites = true
	return plan, nil
}

// suffixBroadcast reports whether s broadcasts to out by repeating over
// leading dimensions only: its dimensions past leading 1s are out's last
// ones (so that row r of out reads row r mod rows(s) of s).
func suffixBroadcast(s, out tensor.Shape) bool {
	if len(s) == 0 || len(s) > len(out) {
		return false
	}
	lead := true
	for i, d := range s {
		want := out[len(out)-len(s)+i]
		switch {
		case d == want && (d != 1 || !lead):
			lead = false
		case d == 1 && lead:
		case d == want:
		default:
			return false
		}
	}
	return true
}

// fusedVector returns the contents of t (shape s) broadcast to target,
// nil when t is absent.
func fusedVector(t *tensor.Tensor, s, target tensor.Shape) ([]float32, error) {
	if t == nil {
		return nil, nil
	}
	return nnExpandFloats(t, s, target)
}

func prepareSkipLayerNorm(n *ops.Node) (*ops.Plan, error) {
	for i := 0; i < 5; i++ {
		if i < 3 || n.Input(i).Present() {
			if err := checkType(n, i, fusedFloatTypes); err != nil {
				return nil, err
			}
			if err := nnStatic(n, i); err != nil {
				return nil, err
			}
		}
	}
	if err := checkSameType(n, 0, 1, 2, 3, 4); err != nil {
		return nil, err
	}
	eps := n.Attrs.Float("epsilon", 1e-5)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	xs, ss := n.Inputs[0].Shape, n.Inputs[1].Shape
	out, err := broadcastShapes(xs, ss)
	if err != nil {
		return nil, n.Errorf("input %v and skip %v do not broadcast", xs, ss)
	}
	if len(out) == 0 {
		return nil, n.Errorf("input and skip must have rank >= 1")
	}
	h := out[len(out)-1]
	// Which operand is the full one and which repeats over leading rows.
	swap, general := false, false
	switch {
	case xs.Equal(out) && suffixBroadcast(ss, out):
	case ss.Equal(out) && suffixBroadcast(xs, out):
		swap = true
	default:
		general = true
	}
	for i := 2; i < 5; i++ {
		if t := n.Input(i); t.Present() && (len(t.Shape) != 1 || t.Shape[0] != h) {
			return nil, n.Errorf("input %d must have shape [%d], got %v", i, h, t.Shape)
		}
	}
	dt := n.Inputs[0].DType
	xs = out
	stat := xs.Clone()
	stat[len(stat)-1] = 1
	outs := []ops.Type{ops.TensorType(dt, xs.Clone())}
	for i := 1; i < n.NumOutputs; i++ {
		switch i {
		case 1, 2:
			outs = append(outs, ops.TensorType(tensor.Float32, stat))
		case 3:
			outs = append(outs, ops.TensorType(dt, xs.Clone()))
		}
	}
	rows := xs[:len(xs)-1].NumElements()
	xi, si, small := 0, 1, ss
	if swap {
		xi, si, small = 1, 0, n.Inputs[0].Shape
	}
	skipRows := max(small[:max(len(small)-1, 0)].NumElements(), 1)
	xShape, sShape := n.Inputs[0].Shape.Clone(), n.Inputs[1].Shape.Clone()
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[float32](in[xi])
		if err != nil {
			return err
		}
		skip, err := tensor.View[float32](in[si])
		if err != nil {
			return err
		}
		ln := &kernels.LayerNorm{Rows: rows, N: h, Epsilon: eps, SkipRows: skipRows, Skip: skip}
		if general {
			// Materialize the broadcast sum, then normalize it.
			sum, release := nnScratch32(xs.NumElements())
			defer release()
			zb, releaseZ := nnScratch32(xs.NumElements())
			defer releaseZ()
			expandInto(sum, x, xs, xShape)
			expandInto(zb, skip, xs, sShape)
			fusedAddTo(sum, zb)
			x, ln.Skip, ln.SkipRows = sum, nil, 0
		}
		if ln.Gamma, err = tensor.View[float32](in[2]); err != nil {
			return err
		}
		if ln.Beta, err = nnView[float32](nnAt(in, 3)); err != nil {
			return err
		}
		if ln.Bias, err = nnView[float32](nnAt(in, 4)); err != nil {
			return err
		}
		y, err := nnOut[float32](env, out, 0, xs)
		if err != nil {
			return err
		}
		for i, dst := range []*[]float32{&ln.Mean, &ln.InvStd, &ln.Sum} {
			if len(out) > i+1 {
				if *dst, err = nnOut[float32](env, out, i+1, outs[i+1].Shape); err != nil {
					return err
				}
			}
		}
		ln.Run(nnWorkers(env), x, y)
		return nil
	}
	kern, err := nnFloat(n, dt, k, nil)
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: outs, Kernel: kern, Overwrites: true}, nil
}
