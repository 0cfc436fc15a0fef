package passes

import (
	"unsafe"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// layoutPasses are level 3: layout selection for the CPU kernels.
func layoutPasses() []Pass { return []Pass{PackWeights} }

// PackWeights stores the constant right-hand matrices of MatMul,
// FusedMatMul and Gemm in the layout the CPU GEMM reads (kernels.PackB:
// panels of the micro-kernel's width over the whole depth), so that a
// product reads its weights in place instead of packing them on every run
// (for Gemm's usual transposed weights, a gather per element); the node
// becomes a FusedMatMul with packed_b set. A Gemm qualifies when it is a
// matrix product plus a bias vector: transA 0, and C absent or of shape
// [N] with beta 1. Products whose A may have fewer than 8 rows keep their
// weights as they are (see fewRows). The packed tensor replaces the
// weights (only weights with no other reader are packed), in their own
// memory when Options.OwnsConstants allows and the size is the same (N a
// multiple of the panel width); products whose padding would exceed an
// eighth are left alone. The panel width is this machine's
// (kernels.PackedNR); elsewhere the product still runs, repacking as it
// goes.
var PackWeights = Pass{Name: "pack-weights", Level: 3, Run: packWeights}

func packWeights(c *Context) (bool, error) {
	nr := kernels.PackedNR()
	count := map[string]int{}
	var scratch []float32 // the weights being packed in place, reused
	inPlace := 0
	for _, n := range c.Nodes() {
		if c.Removed(n) || len(n.Outputs) != 1 || len(n.Inputs) < 2 {
			continue
		}
		var attrs map[string]ops.Attr
		switch {
		case isStd(n, "MatMul") && len(n.Inputs) == 2:
			attrs = map[string]ops.Attr{}
		case isOurs(n, "FusedMatMul") && attrIntOr(n, "packed_b", 0) == 0:
			attrs = cloneAttrs(n)
		case isStd(n, "Gemm") && gemmIsBiasedProduct(c, n):
			attrs = map[string]ops.Attr{"alpha": {Type: ops.AttrFloat, Float: attrFloatOr(n, "alpha", 1)}}
			if attrIntOr(n, "transB", 0) == 1 {
				attrs["transB"] = ops.Attr{Type: ops.AttrInt, Int: 1}
			}
		default:
			continue
		}
		if fewRows(c, n) {
			// A few rows of A (a classifier's 1 x K features): the
			// few-row kernels stream B as stored, which the packed
			// path, tiling eight rows at a time, does not beat
			// (mobilenet_v2's 1x1280 by 1280x1000: 94 against 251 µs).
			continue
		}
		bName := n.Inputs[1]
		b := c.Constant(bName)
		if b == nil || b.DType() != tensor.Float32 || len(b.Shape()) != 2 || c.soleReader(bName) != n || readsTwice(n, bName) {
			continue
		}
		trans := attrIntOr(n, "transB", 0) == 1
		k, cols := int(b.Shape()[0]), int(b.Shape()[1])
		if trans {
			k, cols = cols, k
		}
		if k == 0 || cols == 0 || 8*kernels.PackedLen(k, cols, nr) > 9*k*cols {
			continue
		}
		data, err := tensor.View[float32](b)
		if err != nil {
			continue
		}
		ldb := cols
		if trans {
			ldb = k
		}
		shape := tensor.Shape{(cols + nr - 1) / nr, k, nr}
		var pt *tensor.Tensor
		if c.Options.OwnsConstants && !b.ReadOnly() && kernels.PackedLen(k, cols, nr) == len(data) && !c.sharesMemory(bName, b) {
			// Same size: pack over the weights' own memory (through a
			// copy of them), so that the model does not hold both.
			if cap(scratch) < len(data) {
				scratch = make([]float32, len(data))
			}
			src := append(scratch[:0], data...)
			if err := kernels.PackBInto(data, src, ldb, trans, k, cols, nr); err != nil {
				return false, err
			}
			if pt, err = b.Reshape(shape); err != nil {
				return false, err
			}
			inPlace++
		} else {
			packed, err := kernels.PackB(data, ldb, trans, k, cols, nr)
			if err != nil {
				return false, err
			}
			if pt, err = tensor.FromSlice(packed, shape...); err != nil {
				return false, err
			}
		}
		delete(attrs, "transB")
		attrs["packed_b"] = ops.Attr{Type: ops.AttrInt, Int: int64(nr)}
		attrs["packed_n"] = ops.Attr{Type: ops.AttrInt, Int: int64(cols)}
		in := append([]string(nil), n.Inputs...)
		in[1] = c.AddInitializer(bName+"_packed", pt)
		c.fuse([]*graph.Node{n}, &graph.Node{Name: n.Name, Domain: ops.DomainGoCANN, OpType: "FusedMatMul", Inputs: in, Outputs: n.Outputs, Attrs: attrs})
		count[n.OpType]++
	}
	if inPlace > 0 {
		c.Notef("%d packed over their own memory", inPlace)
	}
	return c.noteCounts("packed the weights of", count), nil
}

// fewRows reports whether n's A may have fewer than 8 rows (all dimensions
// but the last; the first two when transA): it does by its static shape,
// or it is a matrix whose rows are not static (a Gemm's A always is, and a
// MatMul's when its type says so), which in the models seen is a batch of
// feature vectors for a classifier (batch 1 in serving), while the
// activations of a transformer layer have a rank of 3.
func fewRows(c *Context, n *graph.Node) bool {
	as, ok := c.StaticShape(n.Inputs[0])
	if !ok {
		if isStd(n, "Gemm") {
			return true
		}
		t, known := c.Type(n.Inputs[0])
		return known && !t.UnknownRank && len(t.Shape) == 2
	}
	if len(as) == 0 {
		return false
	}
	rows := 1
	for _, d := range as[:len(as)-1] {
		rows *= d
	}
	if attrIntOr(n, "transA", 0) == 1 && len(as) >= 2 {
		rows = rows / as[len(as)-2] * as[len(as)-1]
	}
	return rows < 8
}

// gemmIsBiasedProduct reports whether Gemm node n is alpha·A·op(B) plus a
// bias vector, which FusedMatMul computes: transA 0, and C absent or a
// vector of B's columns with beta 1.
func gemmIsBiasedProduct(c *Context, n *graph.Node) bool {
	if attrIntOr(n, "transA", 0) != 0 || len(n.Inputs) > 3 {
		return false
	}
	if len(n.Inputs) < 3 || n.Inputs[2] == "" {
		return true
	}
	if attrFloatOr(n, "beta", 1) != 1 {
		return false
	}
	cs, ok := c.StaticShape(n.Inputs[2])
	bs, okB := c.StaticShape(n.Inputs[1])
	if !ok || !okB || len(cs) != 1 || len(bs) != 2 {
		return false
	}
	cols := bs[1]
	if attrIntOr(n, "transB", 0) == 1 {
		cols = bs[0]
	}
	return cs[0] == cols
}

// readsTwice reports whether n reads v as more than one input.
func readsTwice(n *graph.Node, v string) bool {
	seen := 0
	for _, in := range n.Inputs {
		if in == v {
			seen++
		}
	}
	return seen > 1
}

// sharesMemory reports whether another initializer of the graph overlaps
// t's memory (a reshape folded into a view of it, say), which packing t in
// place would change too.
func (c *Context) sharesMemory(name string, t *tensor.Tensor) bool {
	b, ok := t.HostBytes()
	if !ok || len(b) == 0 {
		return true
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	hi := lo + uintptr(len(b))
	for other, u := range c.Graph.Initializers {
		if other == name {
			continue
		}
		ub, ok := u.HostBytes()
		if !ok || len(ub) == 0 {
			continue
		}
		ulo := uintptr(unsafe.Pointer(unsafe.SliceData(ub)))
		if ulo < hi && lo < ulo+uintptr(len(ub)) {
			return true
		}
	}
	return false
}
