package passes

import (
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
)

// MatMulFusion turns MatMul → Add(bias) → Add(residual) → activation
// chains (each step optional) into one com.gocann FusedMatMul, and Gemm
// → Add(residual) → activation into FusedGemm: bias, residual and
// activation then cost nothing beyond the product's epilogue. The bias is
// a constant vector of the product's last dimension (B's, which must be
// known); any other Add operand is a residual, which the fused operators
// broadcast as Add does.
var MatMulFusion = Pass{Name: "matmul-fusion", Level: 2, Run: fuseMatMuls}

func fuseMatMuls(c *Context) (bool, error) {
	count := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) || len(n.Outputs) != 1 || len(n.Inputs) < 2 {
			continue
		}
		var op, what string
		var attrs map[string]ops.Attr
		in := []string{n.Inputs[0], n.Inputs[1], "", ""}
		cur := n.Outputs[0]
		matched := []*graph.Node{n}
		switch {
		case isStd(n, "MatMul"):
			if !c.anyFusable(n.Inputs[1], n.Inputs[0]) {
				continue
			}
			op, what, attrs = "FusedMatMul", "MatMul", map[string]ops.Attr{}
			// A bias: a constant vector as long as B's rows (B of rank >= 2,
			// so that the product's last dimension is B's).
			if add := c.soleReader(cur); isStd(add, "Add") {
				bias := otherInput(add, cur)
				nb, okb := c.vectorLen(bias)
				rb, okr := c.knownRank(n.Inputs[1])
				nn, okn := c.knownLastDim(n.Inputs[1])
				if okb && okr && okn && rb >= 2 && nb == nn && c.anyFusable(bias) {
					in[2] = bias
					matched = append(matched, add)
					cur = add.Outputs[0]
					what += "+bias"
				}
			}
		case isStd(n, "Gemm") && c.Opset("") >= 7:
			if !c.anyFusable(n.Inputs[1], n.Inputs[0]) {
				continue
			}
			op, what, attrs = "FusedGemm", "Gemm", cloneAttrs(n)
			if len(n.Inputs) > 2 {
				in[2] = n.Inputs[2]
			}
		default:
			continue
		}
		if add := c.soleReader(cur); isStd(add, "Add") {
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
		c.fuse(matched, &graph.Node{Domain: ops.DomainGoCANN, OpType: op, Inputs: trimOmitted(in), Outputs: []string{cur}, Attrs: attrs})
		count[op+" ← "+what]++
	}
	return c.noteCounts("fused", count), nil
}
