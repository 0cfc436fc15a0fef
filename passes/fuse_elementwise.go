package passes

import (
	"strings"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// ElementwiseFusion turns chains of element-wise operators on float32
// (Add, Sub, Mul, Div by a value of the same shape or a one-element
// constant; Relu, Sigmoid, Tanh, Exp, Erf, Sqrt, Neg, Abs), each reading
// the one before as its only reader, into one com.gocann ElementwiseChain,
// which runs them block by block in cache: one pass over memory instead
// of one per operator. It runs after the other fusions, which absorb the
// chains they know (activations, GELU, LayerNorm) into better kernels.
// A binary step's other operand must keep the running value's shape: of
// the same static shape, or a constant of one element and no higher rank.
var ElementwiseFusion = Pass{Name: "elementwise-fusion", Level: 2, Run: fuseElementwise}

var chainUnaryOps = map[string]bool{"Relu": true, "Sigmoid": true, "Tanh": true, "Exp": true, "Erf": true, "Sqrt": true, "Neg": true, "Abs": true}

var chainBinaryOps = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true}

// chainLink is one node of a chain: what it computes from the running
// value.
type chainLink struct {
	node    *graph.Node
	operand string // "" for unary
	swap    bool
}

func fuseElementwise(c *Context) (bool, error) {
	count := map[int]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) {
			continue
		}
		head, x, ok := c.chainStart(n)
		if !ok || c.chainContinues(x, n) {
			continue // not a chain's first node
		}
		links := []chainLink{head}
		cur := n.Outputs[0]
		for {
			r := c.soleReader(cur)
			l, ok := c.chainNext(r, cur)
			if !ok {
				break
			}
			links = append(links, l)
			cur = r.Outputs[0]
		}
		if len(links) < 2 {
			continue
		}
		inputs := []string{x}
		index := map[string]int{x: 0}
		var names []string
		var operands, swaps []int64
		var matched []*graph.Node
		for _, l := range links {
			matched = append(matched, l.node)
			names = append(names, l.node.OpType)
			idx := int64(-1)
			if l.operand != "" {
				i, ok := index[l.operand]
				if !ok {
					i = len(inputs)
					index[l.operand] = i
					inputs = append(inputs, l.operand)
				}
				idx = int64(i)
			}
			operands = append(operands, idx)
			swaps = append(swaps, b2i(l.swap))
		}
		attrs := map[string]ops.Attr{
			"ops":      {Type: ops.AttrStrings, Strings: names},
			"operands": {Type: ops.AttrInts, Ints: operands},
			"swap":     {Type: ops.AttrInts, Ints: swaps},
		}
		c.fuse(matched, &graph.Node{Domain: ops.DomainGoCANN, OpType: "ElementwiseChain", Inputs: inputs, Outputs: []string{cur}, Attrs: attrs})
		c.Notef("ElementwiseChain ← %s", strings.Join(names, "→"))
		count[len(links)]++
	}
	return len(count) > 0, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// chainStart returns n as a chain's first link and the value it starts
// from, when n can be one.
func (c *Context) chainStart(n *graph.Node) (chainLink, string, bool) {
	if n == nil || len(n.Outputs) != 1 || ops.NormalizeDomain(n.Domain) != "" {
		return chainLink{}, "", false
	}
	switch {
	case chainUnaryOps[n.OpType] && len(n.Inputs) == 1:
		if !c.isFloat32(n.Inputs[0]) {
			return chainLink{}, "", false
		}
		return chainLink{node: n}, n.Inputs[0], true
	case chainBinaryOps[n.OpType] && len(n.Inputs) == 2:
		a, b := n.Inputs[0], n.Inputs[1]
		if a == b || !c.isFloat32(a) || !c.isFloat32(b) {
			return chainLink{}, "", false
		}
		if c.keepsShape(a, b) {
			return chainLink{node: n, operand: b}, a, true
		}
		if c.keepsShape(b, a) {
			return chainLink{node: n, operand: a, swap: true}, b, true
		}
	}
	return chainLink{}, "", false
}

// chainNext returns r as the link after value cur, when it can be one.
func (c *Context) chainNext(r *graph.Node, cur string) (chainLink, bool) {
	if r == nil || len(r.Outputs) != 1 || ops.NormalizeDomain(r.Domain) != "" {
		return chainLink{}, false
	}
	switch {
	case chainUnaryOps[r.OpType] && len(r.Inputs) == 1:
		return chainLink{node: r}, r.Inputs[0] == cur
	case chainBinaryOps[r.OpType] && len(r.Inputs) == 2:
		a, b := r.Inputs[0], r.Inputs[1]
		if a == b || !c.isFloat32(a) || !c.isFloat32(b) {
			return chainLink{}, false
		}
		if a == cur && c.keepsShape(cur, b) {
			return chainLink{node: r, operand: b}, true
		}
		if b == cur && c.keepsShape(cur, a) {
			return chainLink{node: r, operand: a, swap: true}, true
		}
	}
	return chainLink{}, false
}

// chainContinues reports whether n would extend a chain ending in its
// input x (so that n is not a chain's start).
func (c *Context) chainContinues(x string, n *graph.Node) bool {
	p := c.Producer(x)
	if p == nil || c.soleReader(x) != n {
		return false
	}
	if _, _, ok := c.chainStart(p); !ok {
		return false
	}
	_, ok := c.chainNext(n, x)
	return ok
}

// keepsShape reports whether x op operand has x's shape, and the operand
// can be read as ElementwiseChain reads it: the same static shape, or a
// one-element constant of rank no higher than x's.
func (c *Context) keepsShape(x, operand string) bool {
	if t := c.Constant(operand); t != nil && t.Len() == 1 {
		r, ok := c.knownRank(x)
		return ok && t.Rank() <= r
	}
	xs, ok1 := c.StaticShape(x)
	os, ok2 := c.StaticShape(operand)
	return ok1 && ok2 && xs.Equal(os)
}

// isFloat32 reports whether v is known to be float32.
func (c *Context) isFloat32(v string) bool {
	dt, ok := c.elemType(v)
	return ok && dt == tensor.Float32
}
