package passes

import (
	"math"
	"slices"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// AttentionFusion recognizes scaled dot-product attention over heads,
//
//	Y = Transpose(MatMul(Softmax(MatMul(Q', K')·scale + mask), V'))
//
// with Q', K', V' the per-head views (Transposes) of the projected
// queries, keys and values, scalar Mul/Div scalings on Q', K' or the
// scores, and an optional mask (an Add, or Where(cond, -Inf, scores)), and
// puts com.gocann Attention in its place: scores, softmax and the second
// product per block of query rows in cache, no [batch, heads, seq, seq]
// tensor in memory and no Transposes. The layouts, by the Transposes'
// permutations:
//
//	heads split [B, S, H, d]       Q, V, Y (0 2 1 3), K (0 2 3 1)    e.g. GPT
//	heads split [S, B, H, d]       Q, V (1 2 0 3), K (1 2 3 0), Y (2 0 1 3)
//	heads merged [S, B·H, d]       Q, V, Y (1 0 2), K (1 2 0)        nn.MultiheadAttention
//	heads merged [B·H, S, d]       no Transposes but K's (0 2 1)
//
// The operator reads the tensors the Transposes read, in place. A mask
// given by Where becomes an additive one (a Where(cond, -Inf, 0) node),
// the same for finite scores; a constant causal mask over scores of known
// square shape becomes the causal flag.
var AttentionFusion = Pass{Name: "attention-fusion", Level: 2, Run: fuseAttentions}

// attnLayout is one arrangement of heads the operator reads in place.
type attnLayout struct {
	name       string
	q, k, y    []int // Transpose permutations; nil: no Transpose
	batchFirst int64
	mergedHead bool // Q's last dimension is one head: num_heads = 1
}

var attnLayouts = []attnLayout{
	{"[B,S,H,d]", []int{0, 2, 1, 3}, []int{0, 2, 3, 1}, []int{0, 2, 1, 3}, 1, false},
	{"[S,B,H,d]", []int{1, 2, 0, 3}, []int{1, 2, 3, 0}, []int{2, 0, 1, 3}, 0, false},
	{"[S,B·H,d]", []int{1, 0, 2}, []int{1, 2, 0}, []int{1, 0, 2}, 0, true},
	{"[B·H,S,d]", nil, []int{0, 2, 1}, nil, 1, true},
}

// attnMatch is a matched attention.
type attnMatch struct {
	q, k, v, out string
	scale        float64
	mask         string   // additive mask value, "" for none
	where        []string // Where(cond, c, scores): cond and c, to become an additive mask
	layout       *attnLayout
	nodes        []*graph.Node // removed
	witnesses    []string      // values whose element type is the operator's
	scores       string        // the MatMul's output (for static shapes)
}

func fuseAttentions(c *Context) (bool, error) {
	count := map[string]int{}
	for _, n := range c.Nodes() {
		if c.Removed(n) || !isStd(n, "Softmax") {
			continue
		}
		m := c.matchAttention(n)
		if m == nil || !c.anyFusable(m.witnesses...) {
			continue
		}
		attrs := map[string]ops.Attr{
			"scale":       {Type: ops.AttrFloat, Float: float32(m.scale)},
			"batch_first": {Type: ops.AttrInt, Int: m.layout.batchFirst},
		}
		if m.layout.mergedHead {
			attrs["num_heads"] = ops.Attr{Type: ops.AttrInt, Int: 1}
		}
		in := []string{m.q, m.k, m.v}
		what := m.layout.name
		switch {
		case c.isCausal(m):
			attrs["causal"] = ops.Attr{Type: ops.AttrInt, Int: 1}
			what += " causal"
		case m.where != nil:
			// Where(cond, c, s) = s + Where(cond, c, 0) for finite s.
			zero := c.zeroLike(m.where[1])
			if zero == "" {
				continue
			}
			mask := c.NewName("attention_mask")
			c.AddNode(&graph.Node{Name: c.NewName("attention_mask_where"), OpType: "Where", Inputs: []string{m.where[0], m.where[1], zero}, Outputs: []string{mask}})
			in = append(in, mask)
			what += " masked (Where)"
		case m.mask != "":
			in = append(in, m.mask)
			what += " masked"
		}
		c.fuse(m.nodes, &graph.Node{Domain: ops.DomainGoCANN, OpType: "Attention", Inputs: in, Outputs: []string{m.out}, Attrs: attrs})
		count[what]++
	}
	return c.noteCounts("Attention ←", count), nil
}

// matchAttention matches the attention whose softmax is sm.
func (c *Context) matchAttention(sm *graph.Node) *attnMatch {
	if len(sm.Inputs) != 1 || len(sm.Outputs) != 1 || !c.lastAxisSoftmax(sm) {
		return nil
	}
	m := &attnMatch{scale: 1, nodes: []*graph.Node{sm}}
	mv := c.soleReader(sm.Outputs[0])
	if !isStd(mv, "MatMul") || len(mv.Inputs) != 2 || mv.Inputs[0] != sm.Outputs[0] {
		return nil
	}
	m.nodes = append(m.nodes, mv)
	// Back from the softmax: masks and scalings to the scores' MatMul.
	s, next := sm.Inputs[0], sm
	var mm *graph.Node
	scaled := false
	for mm == nil {
		p := c.Producer(s)
		if p == nil || c.soleReader(s) != next || len(p.Outputs) != 1 {
			return nil
		}
		switch {
		case isStd(p, "MatMul") && len(p.Inputs) == 2:
			mm = p
			continue
		case isStd(p, "Mul") || isStd(p, "Div"):
			x, k, ok := c.scaling(p)
			if !ok {
				return nil
			}
			m.scale *= k
			m.witnesses = append(m.witnesses, p.Inputs...)
			scaled = true
			s = x
		case isStd(p, "Add") && m.mask == "" && m.where == nil && !scaled:
			// The operand that leads to the MatMul is the scores.
			switch {
			case c.leadsToMatMul(p.Inputs[0]):
				s, m.mask = p.Inputs[0], p.Inputs[1]
			case c.leadsToMatMul(p.Inputs[1]):
				s, m.mask = p.Inputs[1], p.Inputs[0]
			default:
				return nil
			}
			m.witnesses = append(m.witnesses, m.mask)
		case isStd(p, "Where") && len(p.Inputs) == 3 && m.mask == "" && m.where == nil && !scaled:
			v, dt, ok := c.scalarConst(p.Inputs[1])
			if !ok || v > -1e30 || !fusableType(dt) {
				return nil
			}
			m.where = []string{p.Inputs[0], p.Inputs[1]}
			m.witnesses = append(m.witnesses, p.Inputs[1])
			s = p.Inputs[2]
		default:
			return nil
		}
		m.nodes = append(m.nodes, p)
		next = p
	}
	m.nodes = append(m.nodes, mm)
	m.scores = mm.Outputs[0]
	qs, qNodes, ok := c.scalings(mm.Inputs[0], mm, &m.scale)
	if !ok {
		return nil
	}
	ks, kNodes, ok := c.scalings(mm.Inputs[1], mm, &m.scale)
	if !ok {
		return nil
	}
	m.nodes = append(m.nodes, qNodes...)
	m.nodes = append(m.nodes, kNodes...)
	for _, n := range append(qNodes, kNodes...) {
		m.witnesses = append(m.witnesses, n.Inputs...)
	}
	m.witnesses = append(m.witnesses, qs, ks)
	ty := c.soleReader(mv.Outputs[0])
	for i := range attnLayouts {
		l := &attnLayouts[i]
		q, qn, ok1 := c.throughTranspose(qs, l.q)
		k, kn, ok2 := c.throughTranspose(ks, l.k)
		v, vn, ok3 := c.throughTranspose(mv.Inputs[1], l.q)
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		out := mv.Outputs[0]
		var yn *graph.Node
		if l.y != nil {
			if !isStd(ty, "Transpose") || len(ty.Outputs) != 1 {
				continue
			}
			if p, ok := c.perm(ty); !ok || !slices.Equal(p, l.y) {
				continue
			}
			yn, out = ty, ty.Outputs[0]
		}
		m.q, m.k, m.v, m.out, m.layout = q, k, v, out, l
		// Transposes that nothing else reads go; others stay for their
		// other readers.
		for _, t := range []struct {
			n     *graph.Node
			value string
		}{{qn, qs}, {kn, ks}, {vn, mv.Inputs[1]}} {
			if t.n != nil && len(c.Consumers(t.value)) == 1 && !c.IsGraphOutput(t.value) {
				m.nodes = append(m.nodes, t.n)
			}
		}
		if yn != nil {
			m.nodes = append(m.nodes, yn)
		}
		m.witnesses = append(m.witnesses, q, k, v)
		return m
	}
	return nil
}

// lastAxisSoftmax reports whether sm normalizes along the last axis only.
func (c *Context) lastAxisSoftmax(sm *graph.Node) bool {
	if c.Opset("") >= 13 {
		axis := attrIntOr(sm, "axis", -1)
		if axis == -1 {
			return true
		}
		r, ok := c.knownRank(sm.Inputs[0])
		return ok && axis == int64(r-1)
	}
	// Before 13 the input is coerced to 2-D at axis (default 1): the last
	// axis alone only when axis is the last.
	r, ok := c.knownRank(sm.Inputs[0])
	axis := attrIntOr(sm, "axis", 1)
	return ok && (axis == int64(r-1) || axis == -1)
}

// scaling returns the operand x and factor k of a Mul or Div by a scalar
// float constant (x·k or x/k → x·(1/k)).
func (c *Context) scaling(p *graph.Node) (string, float64, bool) {
	if len(p.Inputs) != 2 {
		return "", 0, false
	}
	if isStd(p, "Div") {
		k, dt, ok := c.scalarConst(p.Inputs[1])
		if !ok || k == 0 || !fusableType(dt) {
			return "", 0, false
		}
		return p.Inputs[0], 1 / k, true
	}
	for i := 0; i < 2; i++ {
		if k, dt, ok := c.scalarConst(p.Inputs[1-i]); ok && fusableType(dt) {
			return p.Inputs[i], k, true
		}
	}
	return "", 0, false
}

// scalings walks back from v, read by next, through scalar scalings that
// nothing else reads, multiplying their factors into scale; it returns
// the value they scale and their nodes.
func (c *Context) scalings(v string, next *graph.Node, scale *float64) (string, []*graph.Node, bool) {
	var nodes []*graph.Node
	for {
		p := c.Producer(v)
		if !(isStd(p, "Mul") || isStd(p, "Div")) || len(p.Outputs) != 1 {
			return v, nodes, true
		}
		x, k, ok := c.scaling(p)
		if !ok {
			return v, nodes, true
		}
		if c.soleReader(v) != next {
			return "", nil, false
		}
		*scale *= k
		nodes = append(nodes, p)
		v, next = x, p
	}
}

// leadsToMatMul reports whether v is a MatMul's output, possibly through
// scalar scalings.
func (c *Context) leadsToMatMul(v string) bool {
	for i := 0; i < 8; i++ {
		p := c.Producer(v)
		if isStd(p, "MatMul") {
			return true
		}
		if !(isStd(p, "Mul") || isStd(p, "Div")) {
			return false
		}
		x, _, ok := c.scaling(p)
		if !ok {
			return false
		}
		v = x
	}
	return false
}

// throughTranspose returns what v is a Transpose of with permutation perm
// (v itself when perm is nil) and that Transpose.
func (c *Context) throughTranspose(v string, perm []int) (string, *graph.Node, bool) {
	if perm == nil {
		if t := c.Producer(v); isStd(t, "Transpose") {
			return "", nil, false // a layout with a Transpose matches instead
		}
		return v, nil, true
	}
	t := c.Producer(v)
	if !isStd(t, "Transpose") || len(t.Inputs) != 1 {
		return "", nil, false
	}
	p, ok := c.perm(t)
	if !ok || !slices.Equal(p, perm) {
		return "", nil, false
	}
	return t.Inputs[0], t, true
}

// zeroLike returns a scalar 0 initializer of the type of the constant v.
func (c *Context) zeroLike(v string) string {
	t := c.Constant(v)
	if t == nil {
		return ""
	}
	z, err := tensor.New(t.DType(), nil)
	if err != nil {
		return ""
	}
	return c.AddInitializer("attention_zero", z)
}

// isCausal reports whether the match's mask is a constant causal one:
// -Inf (or Where's) exactly above the diagonal of an L x L matrix, with
// the scores known to be [..., L, L].
func (c *Context) isCausal(m *attnMatch) bool {
	scores, ok := c.StaticShape(m.scores)
	if !ok || len(scores) < 2 {
		return false
	}
	L := scores[len(scores)-1]
	if scores[len(scores)-2] != L || L < 2 {
		return false
	}
	var t *tensor.Tensor
	above := func(i, j int) bool { return j > i }
	switch {
	case m.where != nil:
		t = c.Constant(m.where[0])
		if t == nil || t.DType() != tensor.Bool {
			return false
		}
		b, err := tensor.ToSlice[bool](t)
		if err != nil || !squareLL(t.Shape(), L) {
			return false
		}
		for i := 0; i < L; i++ {
			for j := 0; j < L; j++ {
				if b[i*L+j] != above(i, j) {
					return false
				}
			}
		}
		return true
	case m.mask != "":
		t = c.Constant(m.mask)
		if t == nil || t.DType() != tensor.Float32 || !squareLL(t.Shape(), L) {
			return false
		}
		f, err := tensor.ToSlice[float32](t)
		if err != nil {
			return false
		}
		for i := 0; i < L; i++ {
			for j := 0; j < L; j++ {
				x := float64(f[i*L+j])
				if above(i, j) && !math.IsInf(x, -1) || !above(i, j) && x != 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// squareLL reports whether s is [1, ..., 1, L, L].
func squareLL(s tensor.Shape, L int) bool {
	if len(s) < 2 || s[len(s)-1] != L || s[len(s)-2] != L {
		return false
	}
	for _, d := range s[:len(s)-2] {
		if d != 1 {
			return false
		}
	}
	return true
}
