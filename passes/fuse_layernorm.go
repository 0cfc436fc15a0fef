package passes

import (
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
)

// LayerNormFusion recognizes layer normalization over the last axis as
// exporters write it for opsets before 17,
//
//	m = ReduceMean(x, [-1]); d = x - m; v = ReduceMean(d², [-1])
//	y = d / Sqrt(v + eps) · gamma + beta
//
// (d² as Pow(d, 2) or d·d; gamma and beta constant vectors, beta
// optional), and ONNX's own LayerNormalization, and puts com.gocann
// LayerNormalization in their place: one pass over each row instead of
// nine over the tensor.
var LayerNormFusion = Pass{Name: "layernorm-fusion", Level: 2, Run: fuseLayerNorms}

// SkipLayerNormFusion merges the Add of a residual connection into the
// LayerNormalization that reads it (com.gocann SkipLayerNormalization),
// which also returns the sum when other nodes read it.
var SkipLayerNormFusion = Pass{Name: "skip-layernorm-fusion", Level: 2, Run: fuseSkipLayerNorms}

func fuseLayerNorms(c *Context) (bool, error) {
	count := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) {
			continue
		}
		if isStd(n, "LayerNormalization") {
			// The standard operator, for the faster kernel: same semantics.
			if attrIntOr(n, "stash_type", 1) != 1 || len(n.Inputs) < 2 || !c.anyFusable(n.Inputs[1], n.Inputs[0]) {
				continue
			}
			c.fuse([]*graph.Node{n}, &graph.Node{Name: c.NewName(n.Name), Domain: ops.DomainGoCANN, OpType: "LayerNormalization", Inputs: n.Inputs, Outputs: n.Outputs, Attrs: cloneAttrs(n)})
			count["LayerNormalization"]++
			continue
		}
		if m := c.matchLayerNorm(n); m != nil {
			c.fuse(m.nodes, &graph.Node{Domain: ops.DomainGoCANN, OpType: "LayerNormalization", Inputs: trimOmitted([]string{m.x, m.gamma, m.beta}), Outputs: []string{m.out},
				Attrs: map[string]ops.Attr{"axis": {Type: ops.AttrInt, Int: -1}, "epsilon": {Type: ops.AttrFloat, Float: m.eps}}})
			count["ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add"]++
		}
	}
	return c.noteCounts("LayerNormalization ←", count), nil
}

// layerNorm is a matched decomposed LayerNorm.
type layerNorm struct {
	x, gamma, beta, out string
	eps                 float32
	nodes               []*graph.Node
}

// lastAxisMean reports whether n is ReduceMean over the last axis of
// its input, keeping dimensions.
func (c *Context) lastAxisMean(n *graph.Node) bool { return c.lastAxisReduce(n, "ReduceMean", 18) }

// matchLayerNorm matches the decomposed LayerNorm that starts with the
// ReduceMean m.
func (c *Context) matchLayerNorm(m *graph.Node) *layerNorm {
	if !c.lastAxisMean(m) {
		return nil
	}
	x := m.Inputs[0]
	sub := c.soleReader(m.Outputs[0])
	if !isStd(sub, "Sub") || len(sub.Inputs) != 2 || sub.Inputs[0] != x || sub.Inputs[1] != m.Outputs[0] {
		return nil
	}
	d := sub.Outputs[0]
	if c.IsGraphOutput(d) || len(c.Consumers(d)) != 2 {
		return nil
	}
	// d's readers: the square and the division.
	var sq, div *graph.Node
	for _, r := range c.Consumers(d) {
		switch {
		case isStd(r, "Pow") && len(r.Inputs) == 2 && r.Inputs[0] == d && c.isScalarConst(r.Inputs[1], 2, 0):
			sq = r
		case isStd(r, "Mul") && len(r.Inputs) == 2 && r.Inputs[0] == d && r.Inputs[1] == d:
			sq = r
		case isStd(r, "Div") && len(r.Inputs) == 2 && r.Inputs[0] == d:
			div = r
		}
	}
	if sq == nil || div == nil {
		return nil
	}
	m2 := c.soleReader(sq.Outputs[0])
	if !c.lastAxisMean(m2) {
		return nil
	}
	addEps := c.soleReader(m2.Outputs[0])
	if !isStd(addEps, "Add") {
		return nil
	}
	eps, dt, ok := c.scalarConst(otherInput(addEps, m2.Outputs[0]))
	if !ok || !fusableType(dt) || eps < 0 {
		return nil
	}
	sqrt := c.soleReader(addEps.Outputs[0])
	if !isStd(sqrt, "Sqrt") || c.soleReader(sqrt.Outputs[0]) != div || div.Inputs[1] != sqrt.Outputs[0] {
		return nil
	}
	mul := c.soleReader(div.Outputs[0])
	if !isStd(mul, "Mul") {
		return nil
	}
	gamma := otherInput(mul, div.Outputs[0])
	if _, ok := c.vectorLen(gamma); !ok || !c.anyFusable(gamma) {
		return nil
	}
	ln := &layerNorm{x: x, gamma: gamma, eps: float32(eps), out: mul.Outputs[0], nodes: []*graph.Node{m, sub, sq, m2, addEps, sqrt, div, mul}}
	if add := c.soleReader(mul.Outputs[0]); isStd(add, "Add") {
		beta := otherInput(add, mul.Outputs[0])
		if nb, ok := c.vectorLen(beta); ok && c.anyFusable(beta) {
			if ng, _ := c.vectorLen(gamma); ng == nb {
				ln.beta, ln.out = beta, add.Outputs[0]
				ln.nodes = append(ln.nodes, add)
			}
		}
	}
	return ln
}

func fuseSkipLayerNorms(c *Context) (bool, error) {
	count := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) || !isOurs(n, "LayerNormalization") || attrIntOr(n, "axis", -1) != -1 || len(n.Inputs) < 2 {
			continue
		}
		// Only Y: the statistics outputs have no SkipLayerNormalization twin
		// of the same shape semantics here.
		if len(n.Outputs) > 1 {
			used := false
			for _, o := range n.Outputs[1:] {
				used = used || o != "" && c.Used(o)
			}
			if used {
				continue
			}
		}
		g := n.Inputs[1]
		if _, ok := c.vectorLen(g); !ok {
			continue
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			if _, ok := c.vectorLen(n.Inputs[2]); !ok {
				continue
			}
		}
		add := c.Producer(n.Inputs[0])
		if !isStd(add, "Add") || len(add.Inputs) != 2 || len(add.Outputs) != 1 || add.Inputs[0] == "" || add.Inputs[1] == "" {
			continue
		}
		sum := add.Outputs[0]
		beta := ""
		if len(n.Inputs) > 2 {
			beta = n.Inputs[2]
		}
		outs := []string{n.Outputs[0]}
		what := "Add+LayerNormalization"
		if c.Used(sum) && (len(c.Consumers(sum)) > 1 || c.IsGraphOutput(sum)) {
			// Others read the sum: the fused node returns it too.
			outs = []string{n.Outputs[0], "", "", sum}
			what += " (sum kept)"
		}
		attrs := map[string]ops.Attr{"epsilon": {Type: ops.AttrFloat, Float: attrFloatOr(n, "epsilon", 1e-5)}}
		c.fuse([]*graph.Node{add, n}, &graph.Node{Domain: ops.DomainGoCANN, OpType: "SkipLayerNormalization", Inputs: trimOmitted([]string{add.Inputs[0], add.Inputs[1], g, beta}), Outputs: outs, Attrs: attrs})
		count[what]++
	}
	return c.noteCounts("SkipLayerNormalization ←", count), nil
}
