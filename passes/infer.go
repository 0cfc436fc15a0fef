package passes

import (
	"context"
	"errors"
	"slices"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// ShapeInference infers the type and shape of every value by preparing
// each node with its operator's own Prepare (the function the engine
// plans with), in topological order, from the graph inputs' declared types
// (fixed by Options.Shapes), the initializers and the constants that value
// inputs read. The results replace the graph's ValueInfo; values it cannot
// infer have none, so a pass never acts on a stale or declared-but-wrong
// shape. Symbolic dimensions stay unknown (-1).
//
// What is recorded, by what the node's inputs are:
//   - every input of known rank: the outputs Prepare plans, where a -1
//     dimension marks what it cannot know;
//   - an input of unknown rank, or a node with subgraphs (whose bodies'
//     declared types are not checked here): the element types only;
//   - an input of which nothing is known, or Prepare fails: nothing.
var ShapeInference = Pass{Name: "shape-inference", Level: 1, Run: inferShapes}

func inferShapes(c *Context) (bool, error) {
	if c.Options.Ops == nil {
		// Nothing can be inferred; declared types of intermediates are
		// not trusted either.
		c.Graph.ValueInfo = map[string]*graph.ValueInfo{}
		return false, nil
	}
	c.Graph.ValueInfo = map[string]*graph.ValueInfo{}
	for _, n := range c.Nodes() {
		c.reinfer(n)
	}
	// Inference refines what other passes see but changes no node, so it
	// never keeps the fixed-point loop going by itself.
	return false, nil
}

// reinfer records in ValueInfo what is known of n's outputs, from what
// ValueInfo and the constants say of its inputs now.
func (c *Context) reinfer(n *graph.Node) {
	outs := c.inferNode(n, c.Graph.ValueInfo)
	for i, o := range n.Outputs {
		if o == "" {
			continue
		}
		if i >= len(outs) || (!outs[i].Present() && outs[i].Kind == ops.KindTensor) {
			delete(c.Graph.ValueInfo, o)
			continue
		}
		t := outs[i]
		t.Value = nil
		c.Graph.ValueInfo[o] = &graph.ValueInfo{Name: o, Type: t}
	}
}

// inferNode returns what is known of n's outputs (zero Types where nothing is).
func (c *Context) inferNode(n *graph.Node, inferred map[string]*graph.ValueInfo) []ops.Type {
	op, err := c.Lookup(n)
	if err != nil {
		return nil
	}
	types := make([]ops.Type, len(n.Inputs))
	unknownRank := false
	for i, in := range n.Inputs {
		if in == "" {
			continue
		}
		var t ops.Type
		if vi, ok := inferred[in]; ok {
			t = vi.Type
		} else if c.producer[in] != nil {
			return nil // produced here but not inferred: nothing is known
		} else if dt, ok := c.Type(in); ok {
			t = dt
		} else {
			return nil
		}
		if t.Kind == ops.KindTensor && !t.Present() {
			return nil
		}
		t.Value = nil
		if slices.Contains(op.ValueInputs, i) {
			t.Value = c.Constant(in)
		}
		if t.Kind == ops.KindTensor && t.UnknownRank {
			unknownRank = true
		}
		types[i] = t
	}
	subs := subgraphs(n)
	node := c.opsNode(n, types)
	if len(subs) > 0 {
		attrs := make(map[string]ops.Attr, len(n.Attrs)+len(subs))
		for k, v := range n.Attrs {
			attrs[k] = v
		}
		for name, g := range n.Graphs {
			attrs[name] = ops.Attr{Type: ops.AttrGraph, Graph: declaredGraph{g}}
		}
		for name, list := range n.GraphLists {
			gs := make([]ops.Subgraph, len(list))
			for i, g := range list {
				gs[i] = declaredGraph{g}
			}
			attrs[name] = ops.Attr{Type: ops.AttrGraphs, Graphs: gs}
		}
		node.Attrs = ops.NewAttrs(attrs)
	}
	plan, err := prepareSafely(op, node)
	if err != nil {
		return nil
	}
	outs := plan.Outputs
	if unknownRank || len(subs) > 0 {
		for i, t := range outs {
			if t.Kind == ops.KindTensor && t.DType != tensor.Undefined {
				outs[i] = ops.Type{Kind: ops.KindTensor, DType: t.DType, UnknownRank: true}
			} else {
				outs[i] = ops.Type{}
			}
		}
	}
	return outs
}

// prepareSafely runs Prepare, turning a panic (a Prepare that did not
// expect unknown dimensions) into an error: inference then knows nothing.
func prepareSafely(op *ops.Op, n *ops.Node) (plan *ops.Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, errPrepare
		}
	}()
	return ops.PrepareOp(op, n)
}

var errPrepare = errors.New("prepare panicked")

// declaredGraph presents a subgraph to Prepare with the types its outputs
// declare; it cannot run.
type declaredGraph struct{ g *graph.Graph }

func (d declaredGraph) NumInputs() int  { return len(d.g.Inputs) }
func (d declaredGraph) NumOutputs() int { return len(d.g.Outputs) }
func (d declaredGraph) OutputTypes() []ops.Type {
	ts := make([]ops.Type, len(d.g.Outputs))
	for i, o := range d.g.Outputs {
		ts[i] = o.Type
	}
	return ts
}
func (d declaredGraph) Run(context.Context, []ops.Value) ([]ops.Value, error) {
	return nil, errPrepare
}
