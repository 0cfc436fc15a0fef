package passes

import "sort"

// DeadCodeElimination removes nodes none of whose outputs is read (by a
// node, a subgraph or the caller) and initializers nothing reads. Graph
// inputs stay, read or not: they are the model's signature.
var DeadCodeElimination = Pass{Name: "dead-code-elimination", Level: 1, Run: eliminateDeadCode}

func eliminateDeadCode(c *Context) (bool, error) {
	nodes := c.Nodes()
	removed := 0
	// Backwards, so that a chain of dead nodes goes in one sweep.
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		live := false
		for _, o := range n.Outputs {
			if o != "" && c.Used(o) {
				live = true
				break
			}
		}
		if !live {
			c.RemoveNode(n)
			removed++
		}
	}
	var dropped []string
	for name := range c.Graph.Initializers {
		if !c.Used(name) && !c.IsGraphInput(name) {
			dropped = append(dropped, name)
		}
	}
	sort.Strings(dropped)
	for _, name := range dropped {
		delete(c.Graph.Initializers, name)
	}
	if removed > 0 {
		c.Notef("removed %d unused node(s)", removed)
	}
	if len(dropped) > 0 {
		c.Notef("removed %d unused initializer(s)", len(dropped))
	}
	return removed > 0 || len(dropped) > 0, nil
}
