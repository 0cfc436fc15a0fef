package passes

import (
	"fmt"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Context is what a pass sees of one graph: the graph itself, the model
// around it, and an index of which node produces and which nodes read each
// value, kept current by the helpers. Passes change the graph through the
// helpers (AddNode, RemoveNode, SetInput, ReplaceValue, Fold,
// AddInitializer); a pass that edits nodes directly calls Reindex after.
type Context struct {
	Model   *graph.Model
	Graph   *graph.Graph
	Options Options

	parent *Context        // the enclosing graph's context; nil for the main graph
	outer  map[string]bool // values visible from enclosing graphs
	st     *state
	entry  *Entry

	producer  map[string]*graph.Node
	consumers map[string][]*graph.Node
	outputs   map[string]bool
	inputs    map[string]bool
	removed   map[*graph.Node]bool
	added     bool
	consts    map[string]*tensor.Tensor // evaluated Constant nodes
}

func newContext(st *state, g *graph.Graph, parent *Context, outer map[string]bool, entry *Entry) *Context {
	c := &Context{Model: st.model, Graph: g, Options: st.opts, parent: parent, outer: outer, st: st, entry: entry}
	if g.Initializers == nil {
		g.Initializers = map[string]*tensor.Tensor{}
	}
	if g.ValueInfo == nil {
		g.ValueInfo = map[string]*graph.ValueInfo{}
	}
	c.Reindex()
	return c
}

// Reindex rebuilds the producer and consumer index from the graph.
func (c *Context) Reindex() {
	c.compact()
	// Sized for the graph: growing these maps node by node was most of
	// what a round of passes allocates.
	n := len(c.Graph.Nodes)
	c.producer = make(map[string]*graph.Node, n)
	c.consumers = make(map[string][]*graph.Node, n+len(c.Graph.Initializers))
	c.outputs = make(map[string]bool, len(c.Graph.Outputs))
	c.inputs = make(map[string]bool, len(c.Graph.Inputs))
	c.consts = map[string]*tensor.Tensor{}
	for _, o := range c.Graph.Outputs {
		c.outputs[o.Name] = true
	}
	for _, in := range c.Graph.Inputs {
		c.inputs[in.Name] = true
	}
	for _, n := range c.Graph.Nodes {
		c.index(n)
	}
}

func (c *Context) index(n *graph.Node) {
	for _, o := range n.Outputs {
		if o != "" {
			c.producer[o] = n
		}
	}
	for _, r := range reads(n) {
		c.addConsumer(r, n)
	}
}

func (c *Context) addConsumer(v string, n *graph.Node) {
	list := c.consumers[v]
	for _, x := range list {
		if x == n {
			return
		}
	}
	c.consumers[v] = append(list, n)
}

func (c *Context) dropConsumer(v string, n *graph.Node) {
	list := c.consumers[v]
	for i, x := range list {
		if x == n {
			c.consumers[v] = append(list[:i:i], list[i+1:]...)
			if len(c.consumers[v]) == 0 {
				delete(c.consumers, v)
			}
			return
		}
	}
}

// reads lists the values a node reads: its inputs and the values of
// enclosing graphs its subgraphs read.
func reads(n *graph.Node) []string {
	var rs []string
	for _, in := range n.Inputs {
		if in != "" {
			rs = append(rs, in)
		}
	}
	for _, sub := range subgraphs(n) {
		rs = append(rs, sub.FreeValues()...)
	}
	return rs
}

// Parent is the context of the enclosing graph, nil for the main graph.
func (c *Context) Parent() *Context { return c.parent }

// Nodes returns the live nodes of the graph. Nodes added during the pass
// are at the end until the pass returns (the graph is sorted then).
func (c *Context) Nodes() []*graph.Node {
	c.compact()
	return c.Graph.Nodes
}

// Removed reports whether n was removed during this pass.
func (c *Context) Removed(n *graph.Node) bool { return c.removed[n] }

// Producer returns the node of this graph that produces v, or nil (graph
// inputs, initializers, values of enclosing graphs).
func (c *Context) Producer(v string) *graph.Node { return c.producer[v] }

// Consumers returns the nodes of this graph that read v, directly or
// through their subgraphs. The slice is the index's: do not modify it.
func (c *Context) Consumers(v string) []*graph.Node { return c.consumers[v] }

// IsGraphOutput reports whether v is an output of this graph.
func (c *Context) IsGraphOutput(v string) bool { return c.outputs[v] }

// IsGraphInput reports whether v is an input of this graph (a value the
// caller may feed, even if it also has an initializer).
func (c *Context) IsGraphInput(v string) bool { return c.inputs[v] }

// Used reports whether anything reads v: a node, a subgraph, or the
// caller (graph outputs).
func (c *Context) Used(v string) bool { return len(c.consumers[v]) > 0 || c.outputs[v] }

// definedHere reports whether v is a value of this graph rather than of an
// enclosing one.
func (c *Context) definedHere(v string) bool {
	if c.inputs[v] || c.producer[v] != nil {
		return true
	}
	_, ok := c.Graph.Initializers[v]
	return ok
}

// Constant returns v's contents when they are fixed: an initializer that is
// not also a graph input, the output of a Constant node, or such a value of
// an enclosing graph. It returns nil otherwise. Callers must not modify
// the tensor.
func (c *Context) Constant(v string) *tensor.Tensor {
	if v == "" {
		return nil
	}
	if t, ok := c.Graph.Initializers[v]; ok {
		if c.inputs[v] {
			return nil
		}
		return t
	}
	if p := c.producer[v]; p != nil {
		if p.OpType != "Constant" || ops.NormalizeDomain(p.Domain) != "" || len(p.Outputs) != 1 {
			return nil
		}
		if t, ok := c.consts[v]; ok {
			return t
		}
		t := c.evalConstant(p)
		c.consts[v] = t
		return t
	}
	if c.inputs[v] || c.parent == nil {
		return nil
	}
	return c.parent.Constant(v)
}

// evalConstant runs a Constant node through its operator, which knows
// every form of its attribute (value, value_float, value_ints, …).
func (c *Context) evalConstant(n *graph.Node) *tensor.Tensor {
	if a, ok := n.Attrs["value"]; ok && a.Type == ops.AttrTensor && len(n.Attrs) == 1 {
		return a.Tensor
	}
	outs, err := c.Eval(n, nil)
	if err != nil || len(outs) != 1 {
		return nil
	}
	return outs[0]
}

// Type returns what is known of v's type: inferred (by the
// shape-inference pass, which runs first in every round), declared for
// graph inputs, or taken from an initializer. Declared types of other
// values are not trusted. ok is false when nothing is known.
func (c *Context) Type(v string) (t ops.Type, ok bool) {
	if v == "" {
		return ops.Type{}, false
	}
	if c.inputs[v] {
		return c.inputType(v), true
	}
	if init, ok := c.Graph.Initializers[v]; ok {
		return ops.TensorType(init.DType(), init.Shape()), true
	}
	if vi, ok := c.Graph.ValueInfo[v]; ok {
		return vi.Type, true
	}
	if !c.definedHere(v) && c.parent != nil {
		return c.parent.Type(v)
	}
	return ops.Type{}, false
}

// inputType is what can be trusted of a graph input's declared type. The
// engine checks the main graph's inputs against their declared types, but
// not the inputs of subgraphs (a loop-carried value may change shape from
// one iteration to the next), nor the initializer that stands in for an
// omitted input: of those only the kind and element type are kept, and,
// for an initializer, the dims it shares with the declaration.
func (c *Context) inputType(v string) ops.Type {
	var t ops.Type
	for _, in := range c.Graph.Inputs {
		if in.Name == v {
			t = in.Type
		}
	}
	if t.Kind != ops.KindTensor {
		return t
	}
	// The engine checks no shape against a nil declaration either.
	if c.parent != nil || (t.Shape == nil && !t.UnknownRank) {
		return ops.Type{Kind: ops.KindTensor, DType: t.DType, UnknownRank: true}
	}
	init, ok := c.Graph.Initializers[v]
	if !ok || t.UnknownRank {
		return t
	}
	if init.DType() != t.DType || init.Rank() != len(t.Shape) {
		return ops.Type{Kind: ops.KindTensor, DType: t.DType, UnknownRank: true}
	}
	shape := t.Shape.Clone()
	for i, d := range init.Shape() {
		if shape[i] != d {
			shape[i] = -1
		}
	}
	return ops.TensorType(t.DType, shape)
}

// StaticShape returns v's shape when every dimension is known.
func (c *Context) StaticShape(v string) (tensor.Shape, bool) {
	t, ok := c.Type(v)
	if !ok || t.Kind != ops.KindTensor || !t.Present() || !t.Static() || t.Shape == nil && !isScalarType(t) {
		return nil, false
	}
	return t.Shape, true
}

// isScalarType: a static tensor type with a nil shape is a scalar only when
// its rank is known, which Static already checked.
func isScalarType(t ops.Type) bool { return !t.UnknownRank }

// Opset is the model's imported version of domain ("" for ONNX).
func (c *Context) Opset(domain string) int { return c.Model.Opset(domain) }

// UseDomain imports domain at version into the model unless it already is
// (passes that introduce com.gocann operators call it).
func (c *Context) UseDomain(domain string, version int) {
	d := ops.NormalizeDomain(domain)
	if c.Model.Opsets == nil {
		c.Model.Opsets = map[string]int{}
	}
	if _, ok := c.Model.Opsets[d]; !ok {
		c.Model.Opsets[d] = version
	}
}

// Lookup returns the operator version a node of this model runs.
func (c *Context) Lookup(n *graph.Node) (*ops.Op, error) {
	if c.Options.Ops == nil {
		return nil, fmt.Errorf("no operator registry: %w", ops.ErrUnknownOp)
	}
	opset := c.Opset(n.Domain)
	if opset == 0 {
		return nil, fmt.Errorf("node %v: domain %q is not imported: %w", n, n.Domain, ops.ErrUnknownOp)
	}
	return c.Options.Ops.Lookup(n.Domain, n.OpType, opset)
}

// NewName returns a value or node name used nowhere in the model, based on hint.
func (c *Context) NewName(hint string) string { return c.st.fresh(hint) }

// AddInitializer stores t as a new initializer of this graph under a fresh
// name based on hint and returns the name.
func (c *Context) AddInitializer(hint string, t *tensor.Tensor) string {
	name := c.NewName(hint)
	c.Graph.Initializers[name] = t
	return name
}

// AddNode appends n to the graph; the graph is put back in topological
// order when the pass returns. Give new nodes and values fresh names
// (NewName).
func (c *Context) AddNode(n *graph.Node) {
	if n.Name != "" {
		c.st.names[n.Name] = true
	}
	for _, o := range n.Outputs {
		c.st.names[o] = true
	}
	c.Graph.Nodes = append(c.Graph.Nodes, n)
	c.index(n)
	c.added = true
}

// RemoveNode takes n out of the graph. Its outputs must be unused by then,
// or replaced (ReplaceValue, Fold).
func (c *Context) RemoveNode(n *graph.Node) {
	if c.removed[n] {
		return
	}
	if c.removed == nil {
		c.removed = map[*graph.Node]bool{}
	}
	c.removed[n] = true
	for _, o := range n.Outputs {
		if o != "" && c.producer[o] == n {
			delete(c.producer, o)
			delete(c.consts, o)
		}
	}
	for _, r := range reads(n) {
		c.dropConsumer(r, n)
	}
}

// SetInput makes input i of n read v.
func (c *Context) SetInput(n *graph.Node, i int, v string) {
	old := n.Inputs[i]
	if old == v {
		return
	}
	n.Inputs[i] = v
	if old != "" && !readsValue(n, old) {
		c.dropConsumer(old, n)
	}
	if v != "" {
		c.addConsumer(v, n)
	}
}

func readsValue(n *graph.Node, v string) bool {
	for _, r := range reads(n) {
		if r == v {
			return true
		}
	}
	return false
}

// ReplaceValue makes every reader of old (nodes, subgraphs) read new
// instead, so that old's producer can be removed. When old is an output of
// this graph its name must survive: new is renamed to old instead, which
// is possible only when new is produced by a node of this graph and is
// not itself a graph input, output or initializer. ReplaceValue reports
// false, and changes nothing, when neither is possible.
func (c *Context) ReplaceValue(old, new string) bool {
	if old == new {
		return true
	}
	if old == "" || new == "" {
		return false
	}
	if c.outputs[old] {
		p := c.producer[new]
		if p == nil || c.outputs[new] || c.inputs[new] {
			return false
		}
		if _, ok := c.Graph.Initializers[new]; ok {
			return false
		}
		// Rename new to old. old's current producer (the node being
		// bypassed) still lists old; the caller removes it.
		prev := c.producer[old]
		for i, o := range p.Outputs {
			if o == new {
				p.Outputs[i] = old
			}
		}
		c.renameReaders(new, old)
		delete(c.producer, new)
		if prev != nil && !c.removed[prev] {
			// The bypassed node must not be taken for old's producer.
			c.dropOutput(prev, old)
		}
		c.producer[old] = p
		if vi, ok := c.Graph.ValueInfo[new]; ok {
			delete(c.Graph.ValueInfo, new)
			vi.Name = old
			c.Graph.ValueInfo[old] = vi
		}
		delete(c.consts, old)
		delete(c.consts, new)
		return true
	}
	c.renameReaders(old, new)
	return true
}

// dropOutput clears n's output v (n is about to be removed), so the graph
// never lists two producers of v.
func (c *Context) dropOutput(n *graph.Node, v string) {
	for i, o := range n.Outputs {
		if o == v {
			n.Outputs[i] = ""
		}
	}
}

// renameReaders makes every reader of old in this graph (and in the
// subgraphs that see it) read new.
func (c *Context) renameReaders(old, new string) {
	users := append([]*graph.Node(nil), c.consumers[old]...)
	for _, n := range users {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		for _, sub := range subgraphs(n) {
			renameFree(sub, old, new)
		}
		c.dropConsumer(old, n)
		c.addConsumer(new, n)
	}
}

// renameFree renames a value of an enclosing graph that g (or its
// subgraphs) reads, unless g defines a value of that name itself.
func renameFree(g *graph.Graph, old, new string) {
	for _, in := range g.Inputs {
		if in.Name == old {
			return
		}
	}
	if _, ok := g.Initializers[old]; ok {
		return
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == old {
				return
			}
		}
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		for _, sub := range subgraphs(n) {
			renameFree(sub, old, new)
		}
	}
	for _, o := range g.Outputs {
		if o.Name == old {
			o.Name = new
		}
	}
}

// Fold replaces node n by constants: each output of n becomes an
// initializer holding the matching tensor of values, and n is removed.
func (c *Context) Fold(n *graph.Node, values []*tensor.Tensor) error {
	if len(values) != len(n.Outputs) {
		return fmt.Errorf("fold %v: %d values for %d outputs", n, len(values), len(n.Outputs))
	}
	for i, o := range n.Outputs {
		if o != "" && values[i] == nil {
			return fmt.Errorf("fold %v: no value for output %q", n, o)
		}
	}
	c.RemoveNode(n)
	for i, o := range n.Outputs {
		if o == "" {
			continue
		}
		c.Graph.Initializers[o] = values[i]
		delete(c.Graph.ValueInfo, o)
	}
	return nil
}

// Notef records what the pass did, for the report (and --explain).
func (c *Context) Notef(format string, args ...any) {
	if c.entry != nil {
		c.entry.Notes = append(c.entry.Notes, fmt.Sprintf(format, args...))
	}
}

// compact drops removed nodes from the graph's node list.
func (c *Context) compact() {
	if len(c.removed) == 0 {
		return
	}
	kept := c.Graph.Nodes[:0]
	for _, n := range c.Graph.Nodes {
		if !c.removed[n] {
			kept = append(kept, n)
		}
	}
	clear(c.Graph.Nodes[len(kept):])
	c.Graph.Nodes = kept
	c.removed = nil
}

// flush finishes the pass on this graph: removed nodes go, added ones are
// put in order, and unused initializers are left to dead-code elimination.
func (c *Context) flush() error {
	c.compact()
	if c.added {
		c.added = false
		if err := c.Graph.Sort(c.outer); err != nil {
			return err
		}
	}
	return nil
}

// scope lists the values visible to this graph's subgraphs.
func (c *Context) scope() map[string]bool {
	s := map[string]bool{}
	for k := range c.outer {
		s[k] = true
	}
	for _, in := range c.Graph.Inputs {
		s[in.Name] = true
	}
	for k := range c.Graph.Initializers {
		s[k] = true
	}
	for _, n := range c.Graph.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				s[o] = true
			}
		}
	}
	return s
}
