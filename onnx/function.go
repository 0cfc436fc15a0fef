package onnx

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/ops"
)

// Model-local functions (ModelProto.functions, which PyTorch's dynamo
// exporter emits for every module) are inlined on import: each call is
// replaced by the function's body with its values renamed apart, its formal
// inputs and outputs bound to the call's, and attribute references
// (ref_attr_name) resolved against the call's attributes. The graph engine
// then sees plain operators, and optimizes across function boundaries.

// maxInlineDepth bounds nested function calls; a recursive function would
// otherwise expand forever.
const maxInlineDepth = 32

type funcKey struct{ domain, name string }

type inliner struct {
	funcs map[funcKey]*onnxpb.FunctionProto
	next  int // counter for unique value names
}

// inlineFunctions rewrites mp's graph in place, and merges the functions'
// opset imports into the model's.
func inlineFunctions(mp *onnxpb.ModelProto, opsets map[string]int) error {
	in := &inliner{funcs: map[funcKey]*onnxpb.FunctionProto{}}
	for _, f := range mp.GetFunctions() {
		k := funcKey{ops.NormalizeDomain(f.GetDomain()), f.GetName()}
		if f.GetName() == "" {
			return fmt.Errorf("function without a name: %w", ErrInvalidModel)
		}
		if _, dup := in.funcs[k]; dup {
			return fmt.Errorf("function %s defined twice: %w", f.GetName(), ErrInvalidModel)
		}
		in.funcs[k] = f
		for _, imp := range f.GetOpsetImport() {
			d := ops.NormalizeDomain(imp.GetDomain())
			v := int(imp.GetVersion())
			if old, ok := opsets[d]; ok && old != v {
				return fmt.Errorf("function %s imports %q version %d, the model version %d: %w", f.GetName(), imp.GetDomain(), v, old, ErrInvalidModel)
			}
			if v < 1 {
				return fmt.Errorf("function %s imports %q version %d: %w", f.GetName(), imp.GetDomain(), v, ErrInvalidModel)
			}
			opsets[d] = v
		}
	}
	return in.graph(mp.GetGraph(), 0)
}

func (in *inliner) graph(g *onnxpb.GraphProto, depth int) error {
	if g == nil {
		return nil
	}
	var out []*onnxpb.NodeProto
	for _, n := range g.GetNode() {
		nodes, err := in.node(n, depth)
		if err != nil {
			return err
		}
		out = append(out, nodes...)
	}
	g.Node = out
	return nil
}

// node returns the nodes that replace n: n itself (with its subgraphs
// inlined) or the inlined body of the function it calls.
func (in *inliner) node(n *onnxpb.NodeProto, depth int) ([]*onnxpb.NodeProto, error) {
	if depth > maxInlineDepth {
		return nil, fmt.Errorf("functions nested deeper than %d (recursive?): %w", maxInlineDepth, ErrInvalidModel)
	}
	for _, a := range n.GetAttribute() {
		if err := in.graph(a.GetG(), depth); err != nil {
			return nil, err
		}
		for _, g := range a.GetGraphs() {
			if err := in.graph(g, depth); err != nil {
				return nil, err
			}
		}
	}
	f, ok := in.funcs[funcKey{ops.NormalizeDomain(n.GetDomain()), n.GetOpType()}]
	if !ok {
		return []*onnxpb.NodeProto{n}, nil
	}
	if len(n.GetInput()) > len(f.GetInput()) || len(n.GetOutput()) > len(f.GetOutput()) {
		return nil, fmt.Errorf("call of function %s with %d inputs and %d outputs (it has %d and %d): %w",
			f.GetName(), len(n.GetInput()), len(n.GetOutput()), len(f.GetInput()), len(f.GetOutput()), ErrInvalidModel)
	}
	in.next++
	prefix := "__" + f.GetName() + "_" + strconv.Itoa(in.next) + "__"
	rename := map[string]string{}
	for i, formal := range f.GetInput() {
		actual := ""
		if i < len(n.GetInput()) {
			actual = n.GetInput()[i]
		}
		rename[formal] = actual
	}
	for i, formal := range f.GetOutput() {
		if i < len(n.GetOutput()) {
			rename[formal] = n.GetOutput()[i]
		} else {
			rename[formal] = prefix + formal // an output the caller ignores
		}
	}
	attrs := map[string]*onnxpb.AttributeProto{}
	for _, a := range n.GetAttribute() {
		attrs[a.GetName()] = a
	}
	var body []*onnxpb.NodeProto
	for _, bn := range f.GetNode() {
		c := proto.Clone(bn).(*onnxpb.NodeProto)
		if c.Name != nil && c.GetName() != "" {
			c.Name = proto.String(prefix + c.GetName())
		}
		renameValues(c, rename, prefix)
		var kept []*onnxpb.AttributeProto
		for _, a := range c.GetAttribute() {
			if ref := a.GetRefAttrName(); ref != "" {
				actual, ok := attrs[ref]
				if !ok {
					continue // not given by the caller: the operator's default applies
				}
				orig := a.GetName()
				a = proto.Clone(actual).(*onnxpb.AttributeProto)
				a.Name = proto.String(orig)
			}
			kept = append(kept, a)
		}
		c.Attribute = kept
		nodes, err := in.node(c, depth+1)
		if err != nil {
			return nil, fmt.Errorf("in function %s: %w", f.GetName(), err)
		}
		body = append(body, nodes...)
	}
	return body, nil
}

// renameValues maps a body node's value names into the caller's scope:
// formals to actuals, everything else to a prefixed private name. Subgraphs
// of the node see the same mapping for the names they take from outside.
func renameValues(n *onnxpb.NodeProto, rename map[string]string, prefix string) {
	name := func(v string) string {
		if v == "" {
			return ""
		}
		if r, ok := rename[v]; ok {
			return r
		}
		rename[v] = prefix + v
		return prefix + v
	}
	for i, v := range n.Input {
		n.Input[i] = name(v)
	}
	for i, v := range n.Output {
		n.Output[i] = name(v)
	}
	for _, a := range n.GetAttribute() {
		renameGraph(a.GetG(), rename)
		for _, g := range a.GetGraphs() {
			renameGraph(g, rename)
		}
	}
}

// renameGraph renames, inside a subgraph, the outer names it reads.
func renameGraph(g *onnxpb.GraphProto, rename map[string]string) {
	if g == nil {
		return
	}
	local := map[string]bool{}
	for _, vi := range g.GetInput() {
		local[vi.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		local[t.GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			local[o] = true
		}
	}
	for _, n := range g.GetNode() {
		for i, v := range n.Input {
			if r, ok := rename[v]; ok && !local[v] {
				n.Input[i] = r
			}
		}
		for _, a := range n.GetAttribute() {
			renameGraph(a.GetG(), rename)
			for _, sg := range a.GetGraphs() {
				renameGraph(sg, rename)
			}
		}
	}
	for _, o := range g.GetOutput() {
		if r, ok := rename[o.GetName()]; ok && !local[o.GetName()] {
			o.Name = proto.String(r)
		}
	}
}
