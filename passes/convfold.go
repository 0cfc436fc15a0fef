package passes

import (
	"math"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// ConvFolding folds into a Conv's constant weights and bias what follows
// it per output channel: an inference BatchNormalization with constant
// parameters, and a Mul or Add by a constant that broadcasts along the
// channel axis only. The Conv's output must have no other reader; weights
// shared with other nodes are copied, not changed.
var ConvFolding = Pass{Name: "conv-folding", Level: 1, Run: foldIntoConvs}

func foldIntoConvs(c *Context) (bool, error) {
	folded := 0
	for _, n := range c.Nodes() {
		if c.Removed(n) || n.OpType != "Conv" || ops.NormalizeDomain(n.Domain) != "" || len(n.Outputs) != 1 {
			continue
		}
		// Fold as long as something follows: Conv→BN→Mul→Add all go.
		for c.foldConvSuccessor(n) {
			folded++
		}
	}
	return folded > 0, nil
}

// foldConvSuccessor folds the single reader of conv's output into it, if it
// can, and reports whether it did.
func (c *Context) foldConvSuccessor(conv *graph.Node) bool {
	y := conv.Outputs[0]
	users := c.Consumers(y)
	if len(users) != 1 || c.IsGraphOutput(y) || len(conv.Inputs) < 2 {
		return false
	}
	next := users[0]
	if ops.NormalizeDomain(next.Domain) != "" || len(subgraphs(next)) > 0 {
		return false
	}
	w := c.Constant(conv.Inputs[1])
	if w == nil || (w.DType() != tensor.Float32 && w.DType() != tensor.Float64) || w.Rank() < 3 {
		return false
	}
	m := w.Shape()[0]
	if m == 0 || w.Len() == 0 {
		return false
	}
	var bias *tensor.Tensor
	if len(conv.Inputs) > 2 && conv.Inputs[2] != "" {
		if bias = c.Constant(conv.Inputs[2]); bias == nil || bias.DType() != w.DType() || bias.Len() != m {
			return false
		}
	}
	var scale, shift []float64 // y' = y*scale + shift, per channel
	switch next.OpType {
	case "BatchNormalization":
		scale, shift = c.batchNormAffine(next, w.DType(), m)
	case "Mul", "Add":
		if len(next.Inputs) != 2 || len(next.Outputs) != 1 {
			return false
		}
		other := next.Inputs[1]
		if other == y {
			other = next.Inputs[0]
		}
		if other == y {
			return false // y*y
		}
		k := channelVector(c.Constant(other), w.DType(), w.Rank(), m)
		if k == nil {
			return false
		}
		scale, shift = make([]float64, m), make([]float64, m)
		for i := range scale {
			if next.OpType == "Mul" {
				scale[i] = k[i]
			} else {
				scale[i], shift[i] = 1, k[i]
			}
		}
	}
	if scale == nil || next.Outputs[0] == "" {
		return false
	}
	for _, o := range next.Outputs[1:] {
		if o != "" && c.Used(o) {
			return false
		}
	}
	// Opset 1 Conv and opset <7 Mul/Add with broadcast attributes are
	// not worth the cases; opset 1 BatchNormalization has consumed_inputs.
	if c.Opset("") < 7 {
		return false
	}
	wv := floats(w)
	per := len(wv) / m
	for i := range wv {
		wv[i] *= scale[i/per]
	}
	bv := make([]float64, m)
	if bias != nil {
		bv = floats(bias)
	}
	for i := range bv {
		bv[i] = bv[i]*scale[i] + shift[i]
	}
	newW, err1 := fromFloats(w.DType(), wv, w.Shape())
	newB, err2 := fromFloats(w.DType(), bv, tensor.Shape{m})
	if err1 != nil || err2 != nil {
		return false
	}
	out := next.Outputs[0]
	if !c.ReplaceValue(out, y) {
		return false
	}
	c.RemoveNode(next)
	c.SetInput(conv, 1, c.AddInitializer(conv.Inputs[1]+"_folded", newW))
	bname := c.AddInitializer(conv.Outputs[0]+"_bias", newB)
	if len(conv.Inputs) > 2 {
		c.SetInput(conv, 2, bname)
	} else {
		conv.Inputs = append(conv.Inputs, bname)
		c.addConsumer(bname, conv)
	}
	c.Notef("folded %v into %v", next, conv)
	return true
}

// batchNormAffine returns BatchNormalization's per-channel scale and shift
// when it runs in inference mode on constant parameters of m channels.
func (c *Context) batchNormAffine(bn *graph.Node, dt tensor.DType, m int) (scale, shift []float64) {
	if len(bn.Inputs) != 5 {
		return nil, nil
	}
	a := ops.NewAttrs(bn.Attrs)
	eps := float64(a.Float("epsilon", 1e-5))
	training := a.Int("training_mode", 0)
	spatial := a.Int("spatial", 1)
	if a.Err() != nil || training != 0 || spatial != 1 || a.Has("is_test") && a.Int("is_test", 1) == 0 {
		return nil, nil
	}
	var p [4][]float64
	for i := range p {
		t := c.Constant(bn.Inputs[i+1])
		if t == nil || t.DType() != dt || t.Len() != m || t.Rank() != 1 {
			return nil, nil
		}
		p[i] = floats(t)
	}
	gamma, beta, mean, variance := p[0], p[1], p[2], p[3]
	scale, shift = make([]float64, m), make([]float64, m)
	for i := range scale {
		scale[i] = gamma[i] / math.Sqrt(variance[i]+eps)
		shift[i] = beta[i] - mean[i]*scale[i]
	}
	return scale, shift
}

// channelVector returns k's values per output channel when k, broadcast
// against a Conv output of the given rank and m channels, varies along
// the channel axis only (and does not widen the output); nil otherwise.
func channelVector(k *tensor.Tensor, dt tensor.DType, rank, m int) []float64 {
	if k == nil || k.DType() != dt || k.Rank() > rank {
		return nil
	}
	s := k.Shape()
	perChannel := false
	for j, d := range s {
		axis := rank - len(s) + j
		switch {
		case d == 1:
		case axis == 1 && d == m:
			perChannel = true
		default:
			return nil
		}
	}
	v := floats(k)
	out := make([]float64, m)
	for i := range out {
		if perChannel {
			out[i] = v[i]
		} else {
			out[i] = v[0]
		}
	}
	return out
}

// floats reads a float32 or float64 tensor as float64s.
func floats(t *tensor.Tensor) []float64 {
	switch t.DType() {
	case tensor.Float32:
		v, _ := tensor.ToSlice[float32](t)
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case tensor.Float64:
		v, _ := tensor.ToSlice[float64](t)
		return v
	}
	return nil
}

func fromFloats(dt tensor.DType, v []float64, shape tensor.Shape) (*tensor.Tensor, error) {
	if dt == tensor.Float64 {
		return tensor.FromSlice(v, shape...)
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return tensor.FromSlice(f, shape...)
}
