package graph

import (
	"errors"
	"fmt"
)

// ErrInvalidGraph marks structural faults: cycles, dangling edges, values
// produced twice, missing outputs.
var ErrInvalidGraph = errors.New("invalid graph")

// Sort orders g's nodes topologically (stable: a graph already in order is
// unchanged) and checks its structure: every node input is produced by an
// earlier node, is a graph input or initializer, or is visible from an
// enclosing graph (outer); no value is produced twice; the graph outputs
// exist. Subgraphs are checked likewise, with this graph's values in scope.
func (g *Graph) Sort(outer map[string]bool) error {
	defined := map[string]bool{}
	for k := range outer {
		defined[k] = true
	}
	local := map[string]bool{}
	for _, in := range g.Inputs {
		local[in.Name] = true
	}
	for name := range g.Initializers {
		local[name] = true
	}
	producer := map[string]int{}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if _, dup := producer[o]; dup || local[o] {
				return fmt.Errorf("graph %q: value %q produced twice (by node %d %v): %w", g.Name, o, i, n, ErrInvalidGraph)
			}
			producer[o] = i
		}
	}
	// Kahn's algorithm over node indices, taking the lowest ready index
	// first so that an already sorted graph keeps its order.
	indeg := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		for _, in := range nodeReads(n) {
			if p, ok := producer[in]; ok {
				if p == i {
					return fmt.Errorf("graph %q: node %v reads its own output %q: %w", g.Name, n, in, ErrInvalidGraph)
				}
				indeg[i]++
				users[p] = append(users[p], i)
			} else if !local[in] && !defined[in] {
				return fmt.Errorf("graph %q: node %v reads %q, which nothing produces: %w", g.Name, n, in, ErrInvalidGraph)
			}
		}
	}
	ready := &minHeap{}
	for i, d := range indeg {
		if d == 0 {
			ready.push(i)
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	for ready.len() > 0 {
		i := ready.pop()
		order = append(order, g.Nodes[i])
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				ready.push(u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		for i, d := range indeg {
			if d > 0 {
				return fmt.Errorf("graph %q: cycle through node %v: %w", g.Name, g.Nodes[i], ErrInvalidGraph)
			}
		}
	}
	g.Nodes = order
	for _, o := range g.Outputs {
		if _, ok := producer[o.Name]; !ok && !local[o.Name] && !defined[o.Name] {
			return fmt.Errorf("graph %q: output %q is never produced: %w", g.Name, o.Name, ErrInvalidGraph)
		}
	}
	// Subgraphs see everything visible here.
	scope := defined
	for k := range local {
		scope[k] = true
	}
	for k := range producer {
		scope[k] = true
	}
	for _, n := range g.Nodes {
		for _, sub := range n.subgraphs() {
			if err := sub.Sort(scope); err != nil {
				return fmt.Errorf("node %v: %w", n, err)
			}
		}
	}
	return nil
}

// nodeReads lists the values a node reads: its inputs and the outer-scope
// values its subgraphs read (so that a node runs after what its body uses).
func nodeReads(n *Node) []string {
	var reads []string
	for _, in := range n.Inputs {
		if in != "" {
			reads = append(reads, in)
		}
	}
	for _, sub := range n.subgraphs() {
		reads = append(reads, sub.FreeValues()...)
	}
	return reads
}

func (n *Node) subgraphs() []*Graph {
	var subs []*Graph
	for _, g := range n.Graphs {
		subs = append(subs, g)
	}
	for _, list := range n.GraphLists {
		subs = append(subs, list...)
	}
	return subs
}

// FreeValues lists the values g reads but does not define: those it takes
// from enclosing graphs.
func (g *Graph) FreeValues() []string {
	definedHere := map[string]bool{}
	for _, in := range g.Inputs {
		definedHere[in.Name] = true
	}
	for name := range g.Initializers {
		definedHere[name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			definedHere[o] = true
		}
	}
	seen := map[string]bool{}
	var free []string
	add := func(name string) {
		if name != "" && !definedHere[name] && !seen[name] {
			seen[name] = true
			free = append(free, name)
		}
	}
	for _, n := range g.Nodes {
		for _, r := range nodeReads(n) {
			add(r)
		}
	}
	for _, o := range g.Outputs {
		add(o.Name)
	}
	return free
}

// minHeap is a tiny binary heap of ints.
type minHeap struct{ a []int }

func (h *minHeap) len() int { return len(h.a) }

func (h *minHeap) push(x int) {
	h.a = append(h.a, x)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}

func (h *minHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.a[l] < h.a[m] {
			m = l
		}
		if r < last && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			break
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
	return top
}
