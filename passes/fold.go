package passes

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// ConstantFolding evaluates, with the operators' own kernels, every node
// whose inputs are all constant and replaces its outputs by initializers.
// Shape and Size fold when the input's shape is statically known, and a
// Shape whose input has unknown dimensions still folds where the values
// read from it (through Gather, Slice, Concat, Squeeze, Unsqueeze,
// Reshape) are only the known ones: this collapses the shape arithmetic
// that exporters emit. Random operators, Dropout (left to
// IdentityElimination) and nodes with subgraphs are never folded, nor
// anything whose result would exceed Options.MaxFoldBytes.
var ConstantFolding = Pass{Name: "constant-folding", Level: 1, Run: foldConstants}

// nondeterministic operators: their outputs differ from run to run.
var nondeterministic = map[string]bool{
	"RandomNormal": true, "RandomUniform": true, "RandomNormalLike": true,
	"RandomUniformLike": true, "Multinomial": true, "Bernoulli": true,
	"Dropout": true,
}

// maxPartial bounds the partial values tracked: shapes are short.
const maxPartial = 64

// partialShape is a 1-D int64 value of which only some elements are known
// (mask 1): what a Shape of a tensor with symbolic dimensions gives.
type partialShape struct{ value, mask *tensor.Tensor }

func foldConstants(c *Context) (bool, error) {
	if c.Options.Ops == nil {
		return false, nil
	}
	folded := map[string]int{}
	partial := map[string]partialShape{}
	for _, n := range c.Nodes() {
		// Operators of other domains may keep state or be random: only
		// the standard set and GoCANN's fused operators are folded.
		if d := ops.NormalizeDomain(n.Domain); c.Removed(n) || (d != "" && d != "com.gocann") {
			continue
		}
		if len(subgraphs(n)) > 0 || (ops.NormalizeDomain(n.Domain) == "" && nondeterministic[n.OpType]) {
			continue
		}
		values, p, err := c.tryFold(n, partial)
		if err != nil {
			return false, err
		}
		if p != nil {
			partial[n.Outputs[0]] = *p
		}
		if values == nil {
			// Inputs folded earlier in this sweep may tell more of n's
			// outputs (a Reshape whose shape just became constant), so
			// that Shapes further on fold in the same sweep.
			c.reinfer(n)
			continue
		}
		if err := c.Fold(n, values); err != nil {
			return false, err
		}
		folded[n.OpType]++
	}
	if len(folded) == 0 {
		return false, nil
	}
	c.Notef("folded %s", countList(folded))
	return true, nil
}

// tryFold returns the constant outputs of n, or a partially known shape
// value for its single output, or neither.
func (c *Context) tryFold(n *graph.Node, partial map[string]partialShape) ([]*tensor.Tensor, *partialShape, error) {
	std := ops.NormalizeDomain(n.Domain) == ""
	if std && (n.OpType == "Shape" || n.OpType == "Size") && len(n.Inputs) == 1 && len(n.Outputs) == 1 {
		return c.foldShape(n)
	}
	in := make([]*tensor.Tensor, len(n.Inputs))
	allConst := true
	anyPartial := false
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		if in[i] = c.Constant(name); in[i] == nil {
			allConst = false
			if _, ok := partial[name]; ok {
				anyPartial = true
			}
		}
	}
	if allConst {
		outs, err := c.Eval(n, in)
		if err != nil {
			// Not foldable (too large, or the node is invalid): the
			// engine reports invalid nodes when it runs them.
			return nil, nil, nil
		}
		return outs, nil, nil
	}
	if anyPartial && std && selectionOps[n.OpType] && len(n.Outputs) == 1 {
		return c.foldPartial(n, in, partial)
	}
	return nil, nil, nil
}

// selectionOps move elements without computing on them, so they carry a
// mask of known elements alongside the values.
var selectionOps = map[string]bool{
	"Gather": true, "Slice": true, "Concat": true, "Squeeze": true,
	"Unsqueeze": true, "Reshape": true, "Identity": true,
}

// foldShape folds Shape and Size of a tensor of known shape, and turns
// Shape of a tensor of known rank into a partial value.
func (c *Context) foldShape(n *graph.Node) ([]*tensor.Tensor, *partialShape, error) {
	t, ok := c.Type(n.Inputs[0])
	if !ok || t.Kind != ops.KindTensor || !t.Present() || t.UnknownRank {
		return nil, nil, nil
	}
	dims := t.Shape
	if n.OpType == "Size" {
		if !t.Static() {
			return nil, nil, nil
		}
		return []*tensor.Tensor{tensor.Scalar(int64(dims.NumElements()))}, nil, nil
	}
	lo, hi := 0, len(dims)
	if c.Opset(n.Domain) >= 15 {
		a := ops.NewAttrs(n.Attrs)
		start, end := a.Int("start", 0), a.Int("end", math.MaxInt64)
		if a.Err() != nil {
			return nil, nil, nil
		}
		clamp := func(v int64) int {
			if v < 0 {
				v += int64(len(dims))
			}
			return int(min(max(v, 0), int64(len(dims))))
		}
		lo, hi = clamp(start), clamp(end)
		hi = max(hi, lo)
	}
	vals := make([]int64, hi-lo)
	mask := make([]int64, hi-lo)
	known := true
	for i := range vals {
		d := dims[lo+i]
		if d >= 0 {
			vals[i], mask[i] = int64(d), 1
		} else {
			vals[i], known = -1, false
		}
	}
	v, err := tensor.FromSlice(vals, len(vals))
	if err != nil {
		return nil, nil, err
	}
	if known {
		return []*tensor.Tensor{v}, nil, nil
	}
	m, err := tensor.FromSlice(mask, len(mask))
	if err != nil {
		return nil, nil, err
	}
	return nil, &partialShape{value: v, mask: m}, nil
}

// foldPartial runs a selection op on the values and on the masks of its
// partially known inputs (constants are fully known): if the result is
// fully known it folds, otherwise it is a partial value itself.
func (c *Context) foldPartial(n *graph.Node, in []*tensor.Tensor, partial map[string]partialShape) ([]*tensor.Tensor, *partialShape, error) {
	vals := make([]*tensor.Tensor, len(in))
	masks := make([]*tensor.Tensor, len(in))
	// Inputs that are data (Concat: all; others: input 0) carry masks;
	// the rest (indices, axes, starts…) must be constants.
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		isData := i == 0 || n.OpType == "Concat"
		if p, ok := partial[name]; ok && isData {
			vals[i], masks[i] = p.value, p.mask
			continue
		}
		if in[i] == nil {
			return nil, nil, nil
		}
		vals[i], masks[i] = in[i], in[i]
		if isData {
			if in[i].DType() != tensor.Int64 {
				return nil, nil, nil
			}
			ones := make([]int64, in[i].Len())
			for j := range ones {
				ones[j] = 1
			}
			m, err := tensor.FromSlice(ones, in[i].Shape()...)
			if err != nil {
				return nil, nil, err
			}
			masks[i] = m
		}
	}
	v, err := c.Eval(n, vals)
	if err != nil || len(v) != 1 {
		return nil, nil, nil
	}
	m, err := c.Eval(n, masks)
	if err != nil || len(m) != 1 {
		return nil, nil, nil
	}
	ms, err := tensor.ToSlice[int64](m[0])
	if err != nil {
		return nil, nil, nil
	}
	for _, x := range ms {
		if x != 1 {
			if m[0].Len() > maxPartial {
				return nil, nil, nil
			}
			return nil, &partialShape{value: v[0], mask: m[0]}, nil
		}
	}
	return v, nil, nil
}

// countList formats counts by name: "Shape×3, Gather×2".
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	total := 0
	for k, n := range m {
		keys = append(keys, k)
		total += n
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return fmt.Sprintf("%d node(s): %s", total, strings.Join(parts, ", "))
}
