package passes

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// IdentityElimination removes Identity nodes and inference-time Dropout
// (no training_mode, or a constant false one, and its mask unread): their
// readers read the input instead. One whose output is a graph output stays
// when its input cannot take the output's name (a graph input, say).
var IdentityElimination = Pass{Name: "identity-elimination", Level: 1, Run: eliminateIdentities}

func eliminateIdentities(c *Context) (bool, error) {
	removed := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) || ops.NormalizeDomain(n.Domain) != "" || len(n.Inputs) == 0 || n.Inputs[0] == "" || len(n.Outputs) == 0 {
			continue
		}
		switch n.OpType {
		case "Identity":
		case "Dropout":
			if len(n.Outputs) > 1 && n.Outputs[1] != "" && c.Used(n.Outputs[1]) {
				continue
			}
			if len(n.Inputs) > 2 && n.Inputs[2] != "" && !isFalse(c.Constant(n.Inputs[2])) {
				continue
			}
		default:
			continue
		}
		if n.Outputs[0] == "" || !c.ReplaceValue(n.Outputs[0], n.Inputs[0]) {
			continue
		}
		c.RemoveNode(n)
		removed[n.OpType]++
	}
	if len(removed) == 0 {
		return false, nil
	}
	c.Notef("removed %s", countList(removed))
	return true, nil
}

// isFalse reports whether t is a single false boolean.
func isFalse(t *tensor.Tensor) bool {
	if t == nil || t.DType() != tensor.Bool || t.Len() != 1 {
		return false
	}
	v, err := tensor.ToSlice[bool](t)
	return err == nil && !v[0]
}
