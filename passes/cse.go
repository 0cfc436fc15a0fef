package passes

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// CommonSubexpressionElimination merges nodes that compute the same thing:
// the same operator and attributes on the same inputs. Equal small
// initializers (up to 64 KiB) are merged first, so that nodes reading equal
// constants under different names merge too. Random operators and nodes
// with subgraphs are never merged, nor operators outside the standard set
// and GoCANN's (they may keep state).
var CommonSubexpressionElimination = Pass{Name: "common-subexpression-elimination", Level: 1, Run: eliminateCommonSubexpressions}

const maxDedupBytes = 64 << 10

func eliminateCommonSubexpressions(c *Context) (bool, error) {
	inits := c.dedupInitializers()
	merged := map[string]int{}
	seen := map[string][]*graph.Node{}
	for _, n := range c.Nodes() {
		if c.Removed(n) || len(subgraphs(n)) > 0 || len(n.Outputs) == 0 {
			continue
		}
		d := ops.NormalizeDomain(n.Domain)
		if (d != "" && d != "com.gocann") || (d == "" && nondeterministic[n.OpType]) {
			continue
		}
		key, ok := nodeKey(n)
		if !ok {
			continue
		}
		var keep *graph.Node
		for _, k := range seen[key] {
			if !c.Removed(k) && sameNode(k, n) {
				keep = k
				break
			}
		}
		if keep == nil {
			seen[key] = append(seen[key], n)
			continue
		}
		all := true
		for i, o := range n.Outputs {
			if o == "" {
				continue
			}
			if keep.Outputs[i] == "" || !c.ReplaceValue(o, keep.Outputs[i]) {
				all = false
			}
		}
		if all {
			c.RemoveNode(n)
			merged[n.OpType]++
		}
	}
	if inits > 0 {
		c.Notef("merged %d duplicate initializer(s)", inits)
	}
	if len(merged) > 0 {
		c.Notef("merged %s", countList(merged))
	}
	return inits > 0 || len(merged) > 0, nil
}

// dedupInitializers makes readers of equal small initializers read one of
// them and returns how many were merged away.
func (c *Context) dedupInitializers() int {
	names := make([]string, 0, len(c.Graph.Initializers))
	for name, t := range c.Graph.Initializers {
		if !c.IsGraphInput(name) && t.NumBytes() <= maxDedupBytes && t.DType() != tensor.String {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	byKey := map[string]string{}
	merged := 0
	for _, name := range names {
		t := c.Graph.Initializers[name]
		raw, ok := t.HostBytes()
		if !ok {
			continue
		}
		key := fmt.Sprintf("%d%v:%s", t.DType(), t.Shape(), raw)
		first, dup := byKey[key]
		if !dup {
			byKey[key] = name
			continue
		}
		if c.Used(name) && !c.IsGraphOutput(name) && c.ReplaceValue(name, first) {
			merged++
		}
	}
	return merged
}

// nodeKey is a hash key for a node's operator, attributes and inputs;
// sameNode confirms a match exactly.
func nodeKey(n *graph.Node) (string, bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d|%s|", n.Domain, n.OpType, len(n.Outputs), strings.Join(n.Inputs, ","))
	keys := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := n.Attrs[k]
		fmt.Fprintf(&b, "%s=%d:", k, a.Type)
		switch a.Type {
		case ops.AttrFloat:
			fmt.Fprint(&b, math.Float32bits(a.Float))
		case ops.AttrInt:
			fmt.Fprint(&b, a.Int)
		case ops.AttrString:
			fmt.Fprintf(&b, "%q", a.String)
		case ops.AttrFloats:
			for _, f := range a.Floats {
				fmt.Fprint(&b, math.Float32bits(f), ",")
			}
		case ops.AttrInts:
			fmt.Fprint(&b, a.Ints)
		case ops.AttrStrings:
			fmt.Fprintf(&b, "%q", a.Strings)
		case ops.AttrTensor:
			h, ok := tensorHash(a.Tensor)
			if !ok {
				return "", false
			}
			fmt.Fprint(&b, h)
		default:
			return "", false
		}
		b.WriteByte(';')
	}
	return b.String(), true
}

func tensorHash(t *tensor.Tensor) (string, bool) {
	if t == nil {
		return "nil", true
	}
	h := fnv.New64a()
	if t.DType() == tensor.String {
		s, err := t.Strings()
		if err != nil {
			return "", false
		}
		for _, x := range s {
			fmt.Fprintf(h, "%q", x)
		}
	} else {
		raw, ok := t.HostBytes()
		if !ok {
			return "", false
		}
		h.Write(raw)
	}
	return fmt.Sprintf("%d%v#%x", t.DType(), t.Shape(), h.Sum64()), true
}

// sameNode compares two nodes' operator, inputs and attributes exactly.
func sameNode(a, b *graph.Node) bool {
	if a.Domain != b.Domain || a.OpType != b.OpType || len(a.Outputs) != len(b.Outputs) || !slices.Equal(a.Inputs, b.Inputs) || len(a.Attrs) != len(b.Attrs) {
		return false
	}
	for k, x := range a.Attrs {
		y, ok := b.Attrs[k]
		if !ok || !sameAttr(x, y) {
			return false
		}
	}
	return true
}

func sameAttr(x, y ops.Attr) bool {
	if x.Type != y.Type {
		return false
	}
	switch x.Type {
	case ops.AttrFloat:
		return math.Float32bits(x.Float) == math.Float32bits(y.Float)
	case ops.AttrInt:
		return x.Int == y.Int
	case ops.AttrString:
		return x.String == y.String
	case ops.AttrFloats:
		return slices.EqualFunc(x.Floats, y.Floats, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
	case ops.AttrInts:
		return slices.Equal(x.Ints, y.Ints)
	case ops.AttrStrings:
		return slices.Equal(x.Strings, y.Strings)
	case ops.AttrTensor:
		return sameTensor(x.Tensor, y.Tensor)
	}
	return false
}

// sameTensor compares type, shape and contents.
func sameTensor(a, b *tensor.Tensor) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.DType() != b.DType() || !a.Shape().Equal(b.Shape()) {
		return false
	}
	if a.DType() == tensor.String {
		sa, err1 := a.Strings()
		sb, err2 := b.Strings()
		return err1 == nil && err2 == nil && slices.Equal(sa, sb)
	}
	ra, ok1 := a.HostBytes()
	rb, ok2 := b.HostBytes()
	return ok1 && ok2 && string(ra) == string(rb)
}
