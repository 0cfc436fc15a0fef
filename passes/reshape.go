package passes

import (
	"slices"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// TransposeElimination composes consecutive Transposes into one, removes
// Transposes that leave their input as it is, and turns those that only
// move dimensions of size 1 (a [1, 128, 256] ↔ [128, 1, 256] between a
// model's layouts) into a Reshape, which the engine runs as a view instead
// of a copy. The last needs the input's static shape.
var TransposeElimination = Pass{Name: "transpose-elimination", Level: 1, Run: eliminateTransposes}

// ReshapeElimination collapses chains of Reshape, Squeeze, Unsqueeze and
// Flatten (they only relabel the dimensions of the same row-major data)
// into one Reshape, and removes those whose output has the input's shape.
var ReshapeElimination = Pass{Name: "reshape-elimination", Level: 1, Run: eliminateReshapes}

func isStd(n *graph.Node, opType string) bool {
	return n != nil && n.OpType == opType && ops.NormalizeDomain(n.Domain) == ""
}

// perm returns a Transpose's permutation, which defaults to reversing the
// dimensions (the rank must then be known).
func (c *Context) perm(n *graph.Node) ([]int, bool) {
	if a, ok := n.Attrs["perm"]; ok {
		if a.Type != ops.AttrInts {
			return nil, false
		}
		p := make([]int, len(a.Ints))
		seen := make([]bool, len(a.Ints))
		for i, v := range a.Ints {
			if v < 0 || int(v) >= len(p) || seen[v] {
				return nil, false
			}
			seen[v] = true
			p[i] = int(v)
		}
		if t, ok := c.Type(n.Inputs[0]); ok && !t.UnknownRank && len(t.Shape) != len(p) {
			return nil, false // the engine reports the mismatch
		}
		return p, true
	}
	t, ok := c.Type(n.Inputs[0])
	if !ok || t.Kind != ops.KindTensor || t.UnknownRank {
		return nil, false
	}
	p := make([]int, len(t.Shape))
	for i := range p {
		p[i] = len(p) - 1 - i
	}
	return p, true
}

func isIdentityPerm(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

func eliminateTransposes(c *Context) (bool, error) {
	composed, removed := 0, 0
	for _, n := range c.Nodes() {
		if c.Removed(n) || !isStd(n, "Transpose") || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
			continue
		}
		p2, ok := c.perm(n)
		if !ok {
			continue
		}
		if inner := c.Producer(n.Inputs[0]); isStd(inner, "Transpose") && len(inner.Inputs) == 1 {
			p1, ok := c.perm(inner)
			if ok && len(p1) == len(p2) {
				q := make([]int64, len(p2))
				for i := range q {
					q[i] = int64(p1[p2[i]])
				}
				attrs := map[string]ops.Attr{}
				for k, v := range n.Attrs {
					attrs[k] = v
				}
				attrs["perm"] = ops.Attr{Type: ops.AttrInts, Ints: q}
				n.Attrs = attrs
				c.SetInput(n, 0, inner.Inputs[0])
				c.Notef("composed %v with %v", inner, n)
				composed++
				p2 = make([]int, len(q))
				for i, v := range q {
					p2[i] = int(v)
				}
			}
		}
		if isIdentityPerm(p2) && c.ReplaceValue(n.Outputs[0], n.Inputs[0]) {
			c.RemoveNode(n)
			c.Notef("removed %v (identity permutation)", n)
			removed++
			continue
		}
		if in, ok := c.StaticShape(n.Inputs[0]); ok && len(in) == len(p2) && in.PermutesInPlace(p2) {
			dims := make([]int64, len(p2))
			for i, v := range p2 {
				dims[i] = int64(in[v])
			}
			shape, err := tensor.FromSlice(dims, len(dims))
			if err != nil {
				return false, err
			}
			attrs := map[string]ops.Attr{}
			if slices.Contains(dims, 0) {
				if c.Opset("") < 14 {
					continue
				}
				attrs["allowzero"] = ops.Attr{Type: ops.AttrInt, Int: 1}
			}
			r := &graph.Node{Name: c.NewName(n.Name), OpType: "Reshape", Attrs: attrs,
				Inputs: []string{n.Inputs[0], c.AddInitializer(n.Outputs[0]+"_shape", shape)}, Outputs: n.Outputs}
			c.RemoveNode(n)
			c.AddNode(r)
			c.Notef("%v only moves dimensions of size 1: a Reshape to %v", n, dims)
			removed++
		}
	}
	return composed+removed > 0, nil
}

// reshapeLike are the operators that only relabel dimensions.
var reshapeLike = map[string]bool{"Reshape": true, "Squeeze": true, "Unsqueeze": true, "Flatten": true}

func eliminateReshapes(c *Context) (bool, error) {
	if c.Opset("") < 5 {
		return false, nil // Reshape took its shape as an attribute
	}
	changed := 0
	for _, n := range c.Nodes() {
		if c.Removed(n) || ops.NormalizeDomain(n.Domain) != "" || !reshapeLike[n.OpType] || len(n.Inputs) == 0 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
			continue
		}
		x, y := n.Inputs[0], n.Outputs[0]
		inShape, inStatic := c.StaticShape(x)
		outShape, outStatic := c.StaticShape(y)
		if inStatic && outStatic && inShape.Equal(outShape) && c.ReplaceValue(y, x) {
			c.RemoveNode(n)
			c.Notef("removed %v (same shape %v)", n, outShape)
			changed++
			continue
		}
		inner := c.Producer(x)
		if inner == nil || ops.NormalizeDomain(inner.Domain) != "" || !reshapeLike[inner.OpType] || len(inner.Inputs) == 0 || inner.Inputs[0] == "" {
			continue
		}
		src := inner.Inputs[0]
		switch {
		case outStatic && (!slices.Contains(outShape, 0) || c.Opset("") >= 14):
			// Reshape the chain's input straight to the known result.
			dims := make([]int64, len(outShape))
			for i, d := range outShape {
				dims[i] = int64(d)
			}
			shape, err := tensor.FromSlice(dims, len(dims))
			if err != nil {
				return false, err
			}
			var attrs map[string]ops.Attr
			if slices.Contains(outShape, 0) {
				attrs = map[string]ops.Attr{"allowzero": {Type: ops.AttrInt, Int: 1}}
			}
			r := &graph.Node{Name: c.NewName(n.Name), OpType: "Reshape", Attrs: attrs,
				Inputs: []string{src, c.AddInitializer(y+"_shape", shape)}, Outputs: []string{y}}
			c.RemoveNode(n)
			c.AddNode(r)
			c.Notef("collapsed %v → %v into one Reshape to %v", inner, n, outShape)
			changed++
		case n.OpType == "Reshape" && len(n.Inputs) == 2:
			// A constant target without 0s (which copy dims of the
			// intermediate) does not depend on the intermediate's shape.
			spec := c.Constant(n.Inputs[1])
			if spec == nil || spec.DType() != tensor.Int64 {
				continue
			}
			v, err := tensor.ToSlice[int64](spec)
			allowZero := ops.NewAttrs(n.Attrs).Int("allowzero", 0) != 0 && c.Opset("") >= 14
			if err != nil || (slices.Contains(v, 0) && !allowZero) {
				continue
			}
			c.SetInput(n, 0, src)
			c.Notef("%v reads the input of %v directly", n, inner)
			changed++
		}
	}
	return changed > 0, nil
}
