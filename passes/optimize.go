package passes

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// MaxLevel is the highest optimization level (layout selection).
const MaxLevel = 3

// ErrBadOptions marks Options that cannot apply: a level outside 0 to
// MaxLevel, or Shapes that do not fit the model's inputs.
var ErrBadOptions = errors.New("bad optimization options")

// Pass is one rewrite. Run changes ctx.Graph through the Context's helpers
// and reports whether it changed anything; it must leave the graph
// computing the same outputs. It runs once per graph (the main graph, then
// every subgraph) each time Optimize calls it.
type Pass struct {
	Name  string
	Level int // the lowest optimization level that runs it (1–3)
	Run   func(c *Context) (changed bool, err error)
}

// Options configure Optimize.
type Options struct {
	// Level is the optimization level (0: none, 1: basic, 2: extended,
	// 3: layout). Passes with 1 ≤ Pass.Level ≤ Level run.
	Level int
	// Ops resolves operators: the standard set plus any custom operators
	// the model uses. Without it, passes that evaluate or infer through
	// the operators (inference, constant folding) do nothing.
	Ops *ops.Registry
	// Shapes fixes the dimensions of graph inputs (symbolic ones become
	// known), by input name. Each must have the input's rank and agree with
	// its fixed dimensions; the inputs' declared types change accordingly,
	// so the optimized model accepts only these shapes.
	Shapes map[string][]int64
	// Passes are extra passes (custom rewrites), run after the built-in
	// ones of the same level.
	Passes []Pass
	// MaxIterations bounds the rounds over all passes per level (0: 8).
	MaxIterations int
	// MaxFoldBytes caps the size of every tensor constant folding creates
	// (0: 64 MiB), so that folding cannot blow up the model.
	MaxFoldBytes int64
	// OwnsConstants says that the caller owns the memory of the model's
	// initializers and will not read them again: passes that rewrite a
	// constant into another layout of the same size (PackWeights) then
	// reuse its memory instead of holding both. Leave it false when the
	// tensors are shared with anything else.
	OwnsConstants bool
}

const (
	defaultMaxIterations = 8
	defaultMaxFoldBytes  = 64 << 20
)

// Optimize rewrites m in place with the passes of opts.Level and below and
// reports what they did. On error m may be partly rewritten.
func Optimize(m *graph.Model, opts Options) (*Report, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("optimize: no graph: %w", graph.ErrInvalidGraph)
	}
	if opts.Level < 0 || opts.Level > MaxLevel {
		return nil, fmt.Errorf("optimization level %d: want 0 to %d: %w", opts.Level, MaxLevel, ErrBadOptions)
	}
	if opts.MaxIterations <= 0 {
		opts.MaxIterations = defaultMaxIterations
	}
	if opts.MaxFoldBytes <= 0 {
		opts.MaxFoldBytes = defaultMaxFoldBytes
	}
	start := time.Now()
	if err := fixShapes(m.Graph, opts.Shapes); err != nil {
		return nil, err
	}
	if err := m.Graph.Sort(nil); err != nil {
		return nil, err
	}
	st := &state{model: m, opts: opts}
	st.collectNames()
	rep := &Report{Level: opts.Level, NodesBefore: countNodes(m.Graph)}
	all := append(Default(), opts.Passes...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Level < all[j].Level })
	// Each level runs its passes and those below to a fixed point, so that
	// the basic clean-ups also follow the rewrites of higher levels.
	for level := 1; level <= opts.Level; level++ {
		var list []Pass
		hasLevel := false
		for _, p := range all {
			if p.Level >= 1 && p.Level <= level {
				list = append(list, p)
				hasLevel = hasLevel || p.Level == level
			}
		}
		if !hasLevel {
			continue
		}
		for iter := 1; iter <= opts.MaxIterations; iter++ {
			rep.Iterations++
			changed := false
			for _, p := range list {
				c, err := st.run(p, rep)
				if err != nil {
					return rep, err
				}
				changed = changed || c
			}
			if !changed {
				break
			}
		}
	}
	if err := m.Graph.Sort(nil); err != nil {
		return rep, fmt.Errorf("optimize: the rewritten graph is invalid: %w", err)
	}
	rep.NodesAfter = countNodes(m.Graph)
	rep.Time = time.Since(start)
	return rep, nil
}

// state is what one Optimize call shares between its contexts.
type state struct {
	model *graph.Model
	opts  Options
	names map[string]bool // every value and node name in the model
}

// run applies p to the main graph and every subgraph, and records an
// entry in rep when it changed something.
func (st *state) run(p Pass, rep *Report) (bool, error) {
	start := time.Now()
	before := countNodes(st.model.Graph)
	entry := Entry{Pass: p.Name, Level: p.Level, Iteration: rep.Iterations, NodesBefore: before}
	changed, err := st.runGraph(p, st.model.Graph, nil, nil, &entry)
	if err != nil {
		return false, fmt.Errorf("pass %s: %w", p.Name, err)
	}
	entry.NodesAfter = countNodes(st.model.Graph)
	entry.Time = time.Since(start)
	if changed {
		rep.Entries = append(rep.Entries, entry)
	}
	return changed, nil
}

func (st *state) runGraph(p Pass, g *graph.Graph, parent *Context, outer map[string]bool, entry *Entry) (bool, error) {
	c := newContext(st, g, parent, outer, entry)
	changed, err := p.Run(c)
	if err != nil {
		return changed, fmt.Errorf("graph %q: %w", g.Name, err)
	}
	if err := c.flush(); err != nil {
		return changed, err
	}
	var scope map[string]bool // made only when there are subgraphs
	for _, n := range g.Nodes {
		for _, sub := range subgraphs(n) {
			if scope == nil {
				scope = c.scope()
			}
			ch, err := st.runGraph(p, sub, c, scope, entry)
			if err != nil {
				return changed || ch, fmt.Errorf("node %v: %w", n, err)
			}
			changed = changed || ch
		}
	}
	return changed, nil
}

// collectNames records every name in use, so that new ones never clash
// with (or shadow) an existing value in any graph.
func (st *state) collectNames() {
	st.names = map[string]bool{}
	var walk func(g *graph.Graph)
	walk = func(g *graph.Graph) {
		for _, v := range g.Inputs {
			st.names[v.Name] = true
		}
		for _, v := range g.Outputs {
			st.names[v.Name] = true
		}
		for name := range g.Initializers {
			st.names[name] = true
		}
		for name := range g.ValueInfo {
			st.names[name] = true
		}
		for _, n := range g.Nodes {
			st.names[n.Name] = true
			for _, v := range n.Inputs {
				st.names[v] = true
			}
			for _, v := range n.Outputs {
				st.names[v] = true
			}
			for _, sub := range subgraphs(n) {
				walk(sub)
			}
		}
	}
	walk(st.model.Graph)
}

// fresh returns an unused name starting with hint and reserves it.
func (st *state) fresh(hint string) string {
	if hint == "" {
		hint = "v"
	}
	name := hint
	for i := 1; st.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", hint, i)
	}
	st.names[name] = true
	return name
}

// fixShapes applies Options.Shapes to the graph's inputs.
func fixShapes(g *graph.Graph, shapes map[string][]int64) error {
	for name, dims := range shapes {
		var in *graph.ValueInfo
		for _, v := range g.Inputs {
			if v.Name == name {
				in = v
			}
		}
		if in == nil {
			return fmt.Errorf("shape for %q: the model has no such input: %w", name, ErrBadOptions)
		}
		if in.Type.Kind != ops.KindTensor {
			return fmt.Errorf("shape for %q: the input is %s, not a tensor: %w", name, in.Type, ErrBadOptions)
		}
		shape := make(tensor.Shape, len(dims))
		for i, d := range dims {
			if d < 0 || int64(int(d)) != d {
				return fmt.Errorf("shape for %q: dimension %d is %d: %w", name, i, d, ErrBadOptions)
			}
			shape[i] = int(d)
		}
		if err := shape.Validate(); err != nil {
			return fmt.Errorf("shape for %q: %w: %w", name, ErrBadOptions, err)
		}
		if !in.Type.UnknownRank && in.Type.Shape != nil {
			if len(in.Type.Shape) != len(shape) {
				return fmt.Errorf("shape for %q: %v has rank %d, the input %s: %w", name, shape, len(shape), in.Type, ErrBadOptions)
			}
			for i, d := range in.Type.Shape {
				if d >= 0 && d != shape[i] {
					return fmt.Errorf("shape for %q: %v disagrees with the input's %s: %w", name, shape, in.Type, ErrBadOptions)
				}
			}
		}
		in.Type.Shape = shape
		in.Type.UnknownRank = false
		in.DimParams = nil
	}
	return nil
}

// subgraphs lists a node's graph-valued attributes in a stable order.
func subgraphs(n *graph.Node) []*graph.Graph {
	if len(n.Graphs) == 0 && len(n.GraphLists) == 0 {
		return nil
	}
	var subs []*graph.Graph
	keys := make([]string, 0, len(n.Graphs))
	for k := range n.Graphs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		subs = append(subs, n.Graphs[k])
	}
	keys = keys[:0]
	for k := range n.GraphLists {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		subs = append(subs, n.GraphLists[k]...)
	}
	return subs
}

// countNodes counts the nodes of g and of its subgraphs.
func countNodes(g *graph.Graph) int {
	n := len(g.Nodes)
	for _, node := range g.Nodes {
		for _, sub := range subgraphs(node) {
			n += countNodes(sub)
		}
	}
	return n
}
