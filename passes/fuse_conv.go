package passes

import (
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
)

// ConvFusion turns Conv, an Add of a residual and an activation that
// follow it into one com.gocann FusedConv, whose epilogue adds the
// residual and applies the activation while each output tile is in
// cache: Conv→Relu, Conv→Clip(0,6), Conv→x·Sigmoid(x), Conv→Add→Relu and
// the like. The bias is Conv's own (conv-folding has already folded
// per-channel Adds and BatchNormalization into it).
var ConvFusion = Pass{Name: "conv-fusion", Level: 2, Run: fuseConvs}

func fuseConvs(c *Context) (bool, error) {
	count := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) || !isStd(n, "Conv") || len(n.Outputs) != 1 || len(n.Inputs) < 2 || !c.anyFusable(n.Inputs[1], n.Inputs[0]) {
			continue
		}
		matched := []*graph.Node{n}
		attrs := cloneAttrs(n)
		in := []string{n.Inputs[0], n.Inputs[1], "", ""}
		if len(n.Inputs) > 2 {
			in[2] = n.Inputs[2]
		}
		cur := n.Outputs[0]
		what := "Conv"
		if add := c.soleReader(cur); isStd(add, "Add") && c.Opset("") >= 7 {
			if z := otherInput(add, cur); z != "" {
				in[3] = z
				matched = append(matched, add)
				cur = add.Outputs[0]
				what += "+Add"
			}
		}
		if a := c.activationAfter(cur); a != nil {
			a.attrs(attrs)
			matched = append(matched, a.nodes...)
			cur = a.out
			what += "+" + a.name
		}
		if len(matched) == 1 {
			continue
		}
		c.fuse(matched, &graph.Node{Domain: ops.DomainGoCANN, OpType: "FusedConv", Inputs: trimOmitted(in), Outputs: []string{cur}, Attrs: attrs})
		count[what]++
	}
	return c.noteCounts("FusedConv ←", count), nil
}
