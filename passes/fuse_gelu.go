package passes

import (
	"math"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
)

// GeluFusion recognizes the GELU subgraphs exporters write and puts
// com.gocann Gelu (erf form) or FastGelu (tanh form) in their place:
//
//	x · (1 + Erf(x / √2)) · 0.5                          (x·0.7071 also)
//	x · (1 + Tanh(√(2/π) · (x + 0.044715·x³))) · 0.5     (x³ as x·x·x or Pow(x, 3))
//
// with the three factors of the product in any grouping and order, and
// ONNX's Gelu (opset 20).
var GeluFusion = Pass{Name: "gelu-fusion", Level: 2, Run: fuseGelus}

func fuseGelus(c *Context) (bool, error) {
	count := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) {
			continue
		}
		switch {
		case isStd(n, "Gelu") && len(n.Inputs) == 1 && c.anyFusable(n.Inputs[0]):
			op := "Gelu"
			if a, ok := n.Attrs["approximate"]; ok && a.String == "tanh" {
				op = "FastGelu"
			} else if ok && a.String != "none" {
				continue
			}
			c.fuse([]*graph.Node{n}, &graph.Node{Name: c.NewName(n.Name), Domain: ops.DomainGoCANN, OpType: op, Inputs: n.Inputs, Outputs: n.Outputs})
			count[op+" ← Gelu"]++
		case isStd(n, "Erf"):
			if x, nodes := c.matchErfArg(n); x != "" {
				if out, tail := c.matchGeluTail(x, n.Outputs[0]); out != "" {
					c.fuse(append(nodes, tail...), &graph.Node{Domain: ops.DomainGoCANN, OpType: "Gelu", Inputs: []string{x}, Outputs: []string{out}})
					count["Gelu ← erf form"]++
				}
			}
		case isStd(n, "Tanh"):
			if x, nodes := c.matchTanhArg(n); x != "" {
				if out, tail := c.matchGeluTail(x, n.Outputs[0]); out != "" {
					c.fuse(append(nodes, tail...), &graph.Node{Domain: ops.DomainGoCANN, OpType: "FastGelu", Inputs: []string{x}, Outputs: []string{out}})
					count["FastGelu ← tanh form"]++
				}
			}
		}
	}
	return c.noteCounts("", count), nil
}

// matchErfArg matches Erf(x/√2) or Erf(x·(1/√2)) and returns x with the
// nodes from the scaling to the Erf.
func (c *Context) matchErfArg(erf *graph.Node) (string, []*graph.Node) {
	if len(erf.Inputs) != 1 || len(erf.Outputs) != 1 {
		return "", nil
	}
	p := c.Producer(erf.Inputs[0])
	if p == nil || c.soleReader(p.Outputs[0]) != erf || len(p.Inputs) != 2 {
		return "", nil
	}
	switch {
	case isStd(p, "Div") && c.isScalarConst(p.Inputs[1], math.Sqrt2, 1e-6):
		return p.Inputs[0], []*graph.Node{p, erf}
	case isStd(p, "Mul"):
		for i := 0; i < 2; i++ {
			if c.isScalarConst(p.Inputs[1-i], 1/math.Sqrt2, 1e-6) {
				return p.Inputs[i], []*graph.Node{p, erf}
			}
		}
	}
	return "", nil
}

// matchTanhArg matches Tanh(√(2/π)·(x + 0.044715·x³)) and returns x with
// the nodes from x³ to the Tanh.
func (c *Context) matchTanhArg(th *graph.Node) (string, []*graph.Node) {
	if len(th.Inputs) != 1 || len(th.Outputs) != 1 {
		return "", nil
	}
	// √(2/π) · s
	m1 := c.Producer(th.Inputs[0])
	if !isStd(m1, "Mul") || c.soleReader(m1.Outputs[0]) != th {
		return "", nil
	}
	s := c.scaledBy(m1, math.Sqrt(2/math.Pi))
	// s = x + 0.044715·x³
	add := c.Producer(s)
	if !isStd(add, "Add") || len(add.Inputs) != 2 || c.soleReader(s) != m1 {
		return "", nil
	}
	for i := 0; i < 2; i++ {
		x, t := add.Inputs[i], add.Inputs[1-i]
		m2 := c.Producer(t)
		if !isStd(m2, "Mul") || c.soleReader(t) != add {
			continue
		}
		cube := c.scaledBy(m2, 0.044715)
		if cube == "" || c.soleReader(cube) != m2 {
			continue
		}
		if nodes := c.matchCube(cube, x); nodes != nil {
			return x, append(nodes, m2, add, m1, th)
		}
	}
	return "", nil
}

// scaledBy returns the operand of the Mul m that the other, a constant
// within 1e-6 of k, multiplies; "" if none.
func (c *Context) scaledBy(m *graph.Node, k float64) string {
	if len(m.Inputs) != 2 {
		return ""
	}
	for i := 0; i < 2; i++ {
		if c.isScalarConst(m.Inputs[1-i], k, 1e-6) {
			return m.Inputs[i]
		}
	}
	return ""
}

// matchCube matches v = x³ (Pow(x, 3), x·(x·x) or (x·x)·x) and returns its
// nodes.
func (c *Context) matchCube(v, x string) []*graph.Node {
	p := c.Producer(v)
	switch {
	case isStd(p, "Pow") && len(p.Inputs) == 2 && p.Inputs[0] == x && c.isScalarConst(p.Inputs[1], 3, 0):
		return []*graph.Node{p}
	case isStd(p, "Mul") && len(p.Inputs) == 2:
		sq := otherInput(p, x)
		q := c.Producer(sq)
		if isStd(q, "Mul") && len(q.Inputs) == 2 && q.Inputs[0] == x && q.Inputs[1] == x && c.soleReader(sq) == p {
			return []*graph.Node{q, p}
		}
	}
	return nil
}

// matchGeluTail matches x · (1 + t) · 0.5, t the Erf or Tanh output, in any
// grouping: (x·(1+t))·0.5, x·((1+t)·0.5), (x·0.5)·(1+t), and returns the
// result with the nodes from the Add on.
func (c *Context) matchGeluTail(x, t string) (string, []*graph.Node) {
	add := c.soleReader(t)
	if !isStd(add, "Add") {
		return "", nil
	}
	if one, dt, ok := c.scalarConst(otherInput(add, t)); !ok || one != 1 || !fusableType(dt) {
		return "", nil
	}
	a := add.Outputs[0]
	m1 := c.soleReader(a)
	if !isStd(m1, "Mul") {
		return "", nil
	}
	f := otherInput(m1, a)
	switch {
	case f == x: // (x·a)·0.5
		m2 := c.soleReader(m1.Outputs[0])
		if isStd(m2, "Mul") && c.isScalarConst(otherInput(m2, m1.Outputs[0]), 0.5, 0) {
			return m2.Outputs[0], []*graph.Node{add, m1, m2}
		}
	case c.isScalarConst(f, 0.5, 0): // x·(a·0.5)
		m2 := c.soleReader(m1.Outputs[0])
		if isStd(m2, "Mul") && otherInput(m2, m1.Outputs[0]) == x {
			return m2.Outputs[0], []*graph.Node{add, m1, m2}
		}
	default: // (x·0.5)·a
		h := c.Producer(f)
		if isStd(h, "Mul") && c.soleReader(f) == m1 && c.scaledBy(h, 0.5) == x {
			return m1.Outputs[0], []*graph.Node{h, add, m1}
		}
	}
	return "", nil
}
