package passes

import (
	"math"
	"sort"
	"strings"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Helpers of the level-2 fusions (fuse_*.go). A fusion matches a chain of
// standard operators whose intermediate values nothing else reads, and
// replaces it by one com.gocann operator that writes the chain's last
// value under its own name, so readers and graph outputs are untouched.
// Every fusion is exact: the fused operator computes what the chain
// computes for any input shapes the chain accepts (the operators were
// designed for that, e.g. residuals broadcast as Add does), so no pass
// needs the static shapes that symbolic dimensions hide.

// isOurs reports whether n is the com.gocann operator op.
func isOurs(n *graph.Node, op string) bool {
	return n != nil && n.OpType == op && n.Domain == ops.DomainGoCANN
}

// soleReader returns the only node reading v, or nil when v has several
// readers, none, or is a graph output (its value must survive).
func (c *Context) soleReader(v string) *graph.Node {
	if v == "" || c.IsGraphOutput(v) {
		return nil
	}
	rs := c.Consumers(v)
	if len(rs) != 1 || len(subgraphs(rs[0])) > 0 {
		return nil
	}
	return rs[0]
}

// other returns the input of the two-input node n that is not v, or ""
// when n does not read v once and something else once.
func otherInput(n *graph.Node, v string) string {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return ""
	}
	switch {
	case n.Inputs[0] == v && n.Inputs[1] != v:
		return n.Inputs[1]
	case n.Inputs[1] == v && n.Inputs[0] != v:
		return n.Inputs[0]
	}
	return ""
}

// scalar returns the value of v when it is a constant holding one
// floating-point element (any rank), with its type.
func (c *Context) scalarConst(v string) (float64, tensor.DType, bool) {
	t := c.Constant(v)
	if t == nil || t.Len() != 1 {
		return 0, 0, false
	}
	switch t.DType() {
	case tensor.Float32:
		x, err := tensor.ToSlice[float32](t)
		if err != nil {
			return 0, 0, false
		}
		return float64(x[0]), t.DType(), true
	case tensor.Float64:
		x, err := tensor.ToSlice[float64](t)
		if err != nil {
			return 0, 0, false
		}
		return x[0], t.DType(), true
	}
	return 0, 0, false
}

// isScalar reports whether v is a float constant equal to want within a
// relative tol.
func (c *Context) isScalarConst(v string, want, tol float64) bool {
	x, _, ok := c.scalarConst(v)
	return ok && math.Abs(x-want) <= tol*math.Abs(want)
}

// fusable reports whether dt is an element type of the fused operators.
func fusableType(dt tensor.DType) bool {
	return dt == tensor.Float32 || dt == tensor.Float16 || dt == tensor.BFloat16
}

// elemType returns what is known of v's element type.
func (c *Context) elemType(v string) (tensor.DType, bool) {
	if t := c.Constant(v); t != nil {
		return t.DType(), true
	}
	t, ok := c.Type(v)
	if !ok || t.Kind != ops.KindTensor || t.DType == tensor.Undefined {
		return 0, false
	}
	return t.DType, true
}

// anyFusable reports whether one of vs is known to have a fused
// operator's element type (operators whose inputs share one type need
// only one known).
func (c *Context) anyFusable(vs ...string) bool {
	for _, v := range vs {
		if dt, ok := c.elemType(v); ok {
			return fusableType(dt)
		}
	}
	return false
}

// vectorLen returns the length of v when it is a constant vector (rank 1).
func (c *Context) vectorLen(v string) (int, bool) {
	t := c.Constant(v)
	if t == nil || t.Rank() != 1 {
		return 0, false
	}
	return t.Shape()[0], true
}

// lastDim returns the last dimension of v when it is known.
func (c *Context) knownLastDim(v string) (int, bool) {
	if t := c.Constant(v); t != nil {
		if t.Rank() == 0 {
			return 0, false
		}
		return t.Shape()[t.Rank()-1], true
	}
	t, ok := c.Type(v)
	if !ok || t.UnknownRank || len(t.Shape) == 0 || t.Shape[len(t.Shape)-1] < 0 {
		return 0, false
	}
	return t.Shape[len(t.Shape)-1], true
}

// rank returns v's rank when it is known.
func (c *Context) knownRank(v string) (int, bool) {
	if t := c.Constant(v); t != nil {
		return t.Rank(), true
	}
	t, ok := c.Type(v)
	if !ok || t.UnknownRank || t.Kind != ops.KindTensor {
		return 0, false
	}
	return len(t.Shape), true
}

// intsAttr returns an ints attribute, or nil.
func attrInts(n *graph.Node, name string) []int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == ops.AttrInts {
		return a.Ints
	}
	return nil
}

// intAttr returns an int attribute, or def.
func attrIntOr(n *graph.Node, name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == ops.AttrInt {
		return a.Int
	}
	return def
}

// floatAttr returns a float attribute, or def.
func attrFloatOr(n *graph.Node, name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == ops.AttrFloat {
		return a.Float
	}
	return def
}

// fuse replaces the matched nodes by fused, which must write the value
// the chain ends with. Values the chain read stay; values only the chain
// read lose their readers (dead-code elimination takes them).
func (c *Context) fuse(matched []*graph.Node, fused *graph.Node) {
	for _, n := range matched {
		c.RemoveNode(n)
	}
	if fused.Name == "" {
		fused.Name = c.NewName(fused.OpType)
	}
	c.AddNode(fused)
	c.UseDomain(ops.DomainGoCANN, 1)
}

// trimInputs drops trailing omitted inputs.
func trimOmitted(in []string) []string {
	for len(in) > 0 && in[len(in)-1] == "" {
		in = in[:len(in)-1]
	}
	return in
}

// copyAttrs returns a copy of n's attributes.
func cloneAttrs(n *graph.Node) map[string]ops.Attr {
	m := make(map[string]ops.Attr, len(n.Attrs)+2)
	for k, v := range n.Attrs {
		m[k] = v
	}
	return m
}

// activation is an activation recognized after a value: its name and
// parameters as the fused operators spell them, the nodes it spans and
// the value it ends with.
type activation struct {
	name   string
	params []float32
	nodes  []*graph.Node
	out    string
}

// attrs adds the activation's attributes to m.
func (a *activation) attrs(m map[string]ops.Attr) {
	m["activation"] = ops.Attr{Type: ops.AttrString, String: a.name}
	if a.params != nil {
		m["activation_params"] = ops.Attr{Type: ops.AttrFloats, Floats: a.params}
	}
}

// activationAfter recognizes an activation applied to v whose
// intermediate values nothing else reads: Relu, Clip with constant
// bounds, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, x·Sigmoid(x)
// (SiLU), and GELU (ONNX's Gelu, or com.gocann's Gelu and FastGelu without
// bias).
func (c *Context) activationAfter(v string) *activation {
	if v == "" || c.IsGraphOutput(v) {
		return nil
	}
	readers := c.Consumers(v)
	// x·Sigmoid(x): v read by a Sigmoid and by the Mul of both.
	if len(readers) == 2 {
		s, m := readers[0], readers[1]
		if isStd(m, "Sigmoid") {
			s, m = m, s
		}
		if isStd(s, "Sigmoid") && isStd(m, "Mul") && len(s.Outputs) == 1 && otherInput(m, v) == s.Outputs[0] && c.soleReader(s.Outputs[0]) == m {
			return &activation{name: "SiLU", nodes: []*graph.Node{s, m}, out: m.Outputs[0]}
		}
		return nil
	}
	r := c.soleReader(v)
	if r == nil || len(r.Outputs) != 1 || len(r.Inputs) == 0 || r.Inputs[0] != v {
		return nil
	}
	a := &activation{nodes: []*graph.Node{r}, out: r.Outputs[0]}
	switch {
	case isStd(r, "Relu") || isStd(r, "Sigmoid") || isStd(r, "Tanh") || isStd(r, "HardSwish"):
		a.name = r.OpType
	case isStd(r, "LeakyRelu"):
		a.name, a.params = "LeakyRelu", []float32{attrFloatOr(r, "alpha", 0.01)}
	case isStd(r, "HardSigmoid"):
		a.name, a.params = "HardSigmoid", []float32{attrFloatOr(r, "alpha", 0.2), attrFloatOr(r, "beta", 0.5)}
	case isStd(r, "Clip"):
		lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
		if c.Opset("") < 11 {
			lo, hi = attrFloatOr(r, "min", lo), attrFloatOr(r, "max", hi)
		} else {
			for i, p := range []*float32{&lo, &hi} {
				if len(r.Inputs) > i+1 && r.Inputs[i+1] != "" {
					x, _, ok := c.scalarConst(r.Inputs[i+1])
					if !ok || x != x {
						return nil
					}
					*p = float32(x)
				}
			}
		}
		if lo == 0 && hi == math.MaxFloat32 {
			a.name = "Relu"
		} else {
			a.name, a.params = "Clip", []float32{lo, hi}
		}
	case isStd(r, "Gelu"):
		switch approx, ok := r.Attrs["approximate"]; {
		case !ok || approx.String == "none":
			a.name = "Gelu"
		case approx.String == "tanh":
			a.name = "GeluTanh"
		default:
			return nil
		}
	case isOurs(r, "Gelu"):
		a.name = "Gelu"
	case isOurs(r, "FastGelu") && len(r.Inputs) == 1:
		a.name = "GeluTanh"
	default:
		return nil
	}
	return a
}

// noteCounts records how many chains of each kind became op and reports
// whether there were any.
func (c *Context) noteCounts(op string, count map[string]int) bool {
	total := 0
	keys := make([]string, 0, len(count))
	for k, n := range count {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.Notef("%s ×%d", strings.TrimSpace(op+" "+k), count[k])
	}
	return total > 0
}
