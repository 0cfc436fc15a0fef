package passes

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Eval runs node n of this graph on the given input tensors (nil for
// omitted optional inputs) through its operator's own kernel, on the
// calling goroutine, and returns its outputs. Every output must be a
// tensor within Options.MaxFoldBytes.
func (c *Context) Eval(n *graph.Node, in []*tensor.Tensor) (outs []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("node %v: internal error: %v\n%s", n, r, debug.Stack())
		}
	}()
	if len(in) != len(n.Inputs) {
		return nil, fmt.Errorf("node %v: %d inputs given, the node has %d", n, len(in), len(n.Inputs))
	}
	if len(subgraphs(n)) > 0 {
		return nil, fmt.Errorf("node %v: has subgraphs: %w", n, ops.ErrInvalidNode)
	}
	op, err := c.Lookup(n)
	if err != nil {
		return nil, err
	}
	types := make([]ops.Type, len(in))
	for i, t := range in {
		if t == nil {
			continue
		}
		types[i] = ops.TypeOf(t)
		// Only value inputs carry contents into Prepare, as in the engine.
		if !slices.Contains(op.ValueInputs, i) {
			types[i].Value = nil
		}
	}
	plan, err := ops.PrepareOp(op, c.opsNode(n, types))
	if err != nil {
		return nil, err
	}
	env := &ops.Env{MaxTensorBytes: c.Options.MaxFoldBytes}
	if plan.Eval != nil {
		vals := make([]ops.Value, len(in))
		for i, t := range in {
			if t != nil {
				vals[i] = t
			}
		}
		res, err := plan.Eval(context.Background(), env, vals)
		if err != nil {
			return nil, fmt.Errorf("node %v: %w", n, err)
		}
		outs = make([]*tensor.Tensor, len(res))
		for i, v := range res {
			t, ok := v.(*tensor.Tensor)
			if !ok || t == nil {
				return nil, fmt.Errorf("node %v: output %d is %T, not a tensor", n, i, v)
			}
			if err := env.CheckSize(t.DType(), t.Shape()); err != nil {
				return nil, fmt.Errorf("node %v output %d: %w", n, i, err)
			}
			outs[i] = t
		}
		return outs, nil
	}
	outs = make([]*tensor.Tensor, len(plan.Outputs))
	for i, ot := range plan.Outputs {
		if ot.Kind != ops.KindTensor {
			return nil, fmt.Errorf("node %v: output %d is %s, not a tensor", n, i, ot)
		}
		if ot.Static() && ot.DType != tensor.Undefined {
			if outs[i], err = env.NewTensor(ot.DType, ot.Shape); err != nil {
				return nil, fmt.Errorf("node %v output %d: %w", n, i, err)
			}
		}
	}
	if err := plan.Kernel(env, in, outs); err != nil {
		return nil, fmt.Errorf("node %v: %w", n, err)
	}
	for i, t := range outs {
		if t == nil {
			return nil, fmt.Errorf("node %v: kernel left output %d unset", n, i)
		}
	}
	return outs, nil
}

// opsNode is the node as an operator's Prepare sees it.
func (c *Context) opsNode(n *graph.Node, types []ops.Type) *ops.Node {
	return &ops.Node{
		Name: n.Name, Domain: n.Domain, OpType: n.OpType, Opset: c.Opset(n.Domain),
		Attrs: ops.NewAttrs(n.Attrs), Inputs: types, NumOutputs: len(n.Outputs),
	}
}
