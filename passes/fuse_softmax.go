package passes

import (
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// SoftmaxFusion recognizes softmax over the last axis written out,
//
//	e = Exp(x - ReduceMax(x, [-1]))   or   e = Exp(x)
//	y = e / ReduceSum(e, [-1])
//
// (reductions keeping dimensions), and puts a standard Softmax in its
// place: one vectorized pass per row (the row's maximum subtracted, so it
// cannot overflow where the unguarded form would) instead of five over
// the tensor.
var SoftmaxFusion = Pass{Name: "softmax-fusion", Level: 2, Run: fuseSoftmaxes}

func fuseSoftmaxes(c *Context) (bool, error) {
	count := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) || !isStd(n, "Div") || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
			continue
		}
		e, s := n.Inputs[0], n.Inputs[1]
		exp, sum := c.Producer(e), c.Producer(s)
		if !isStd(exp, "Exp") || !c.lastAxisReduce(sum, "ReduceSum", 13) || sum.Inputs[0] != e || c.soleReader(s) != n {
			continue
		}
		if rs := c.Consumers(e); len(rs) != 2 || c.IsGraphOutput(e) {
			continue
		}
		x := exp.Inputs[0]
		matched := []*graph.Node{n, sum, exp}
		what := "Exp/ReduceSum/Div"
		if sub := c.Producer(x); isStd(sub, "Sub") && c.soleReader(x) == exp {
			if mx := c.Producer(sub.Inputs[1]); c.lastAxisReduce(mx, "ReduceMax", 18) && mx.Inputs[0] == sub.Inputs[0] && c.soleReader(sub.Inputs[1]) == sub {
				x = sub.Inputs[0]
				matched = append(matched, sub, mx)
				what = "ReduceMax/Sub/" + what
			}
		}
		dt, ok := c.elemType(x)
		if !ok || (dt != tensor.Float32 && dt != tensor.Float16 && dt != tensor.Float64 && dt != tensor.BFloat16) {
			continue
		}
		axis := int64(-1)
		if c.Opset("") < 13 {
			r, ok := c.knownRank(x)
			if !ok || r == 0 {
				continue
			}
			axis = int64(r - 1) // flattening at the last axis is a per-row softmax
		}
		for _, m := range matched {
			c.RemoveNode(m)
		}
		c.AddNode(&graph.Node{Name: c.NewName("Softmax"), OpType: "Softmax", Inputs: []string{x}, Outputs: n.Outputs,
			Attrs: map[string]ops.Attr{"axis": {Type: ops.AttrInt, Int: axis}}})
		count[what]++
	}
	return c.noteCounts("Softmax ←", count), nil
}

// lastAxisReduce reports whether n is the reduction op over the last axis
// of its input, keeping dimensions; inputSince is the opset from which
// the operator takes its axes as an input rather than an attribute.
func (c *Context) lastAxisReduce(n *graph.Node, op string, inputSince int) bool {
	if !isStd(n, op) || len(n.Outputs) != 1 || len(n.Inputs) == 0 || attrIntOr(n, "keepdims", 1) != 1 {
		return false
	}
	axes := attrInts(n, "axes")
	if c.Opset("") >= inputSince {
		axes = nil
		if len(n.Inputs) > 1 && n.Inputs[1] != "" {
			t := c.Constant(n.Inputs[1])
			if t == nil || t.DType() != tensor.Int64 {
				return false
			}
			axes, _ = tensor.ToSlice[int64](t)
		}
	}
	if len(axes) != 1 {
		return false
	}
	if axes[0] == -1 {
		return true
	}
	r, ok := c.knownRank(n.Inputs[0])
	return ok && axes[0] == int64(r-1)
}
