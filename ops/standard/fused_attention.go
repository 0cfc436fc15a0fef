package standard

import (
	"math"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Attention (com.gocann, 1): multi-head scaled dot-product attention over
// queries, keys and values already projected:
//
//	Attention(Q, K, V, mask?) -> Y
//	Y[b,i,h] = Σ_j softmax_j(scale·Q[b,i,h]·K[b,j,h] + mask[b,h,i,j]) V[b,j,h]
//
// Q is [batch, seq_q, num_heads·head_size], K [batch, seq_k, num_heads·
// head_size], V [batch, seq_k, num_heads·head_size_v] and Y [batch, seq_q,
// num_heads·head_size_v]; head h is the h-th slice of the hidden dimension
// (what Reshape to [batch, seq, heads, head_size] then Transpose to [batch,
// heads, seq, head_size] builds). The tensors may also be given with the
// heads split, [batch, seq, num_heads, head_size] (rank 4, Y likewise),
// the Reshape's output itself. With batch_first = 0 the first two
// dimensions are [seq, batch] instead (torch.nn.MultiheadAttention's
// default layout).
//
// Attributes: num_heads (required for rank 3; for rank 4 the shape says),
// scale (default 1/√head_size), causal (0; 1 leaves out keys j > i, the
// top-left lower triangle of torch.tril), batch_first (1).
//
// mask is added to the scores: a float tensor that broadcasts (numpy rules)
// to [batch, num_heads, seq_q, seq_k], or, with rank 3, [batch·num_heads,
// seq_q or 1, seq_k or 1] (heads merged into the batch as
// nn.MultiheadAttention builds it; this reading applies when its first
// dimension is batch·num_heads with batch > 1). -Inf masks a key; a row with
// every key masked gives NaN, as the unfused softmax does.

func prepareAttention(n *ops.Node) (*ops.Plan, error) {
	for i := 0; i < 3; i++ {
		if err := checkType(n, i, fusedFloatTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, i); err != nil {
			return nil, err
		}
		if r := len(n.Inputs[i].Shape); r != 3 && r != 4 || r != len(n.Inputs[0].Shape) {
			return nil, n.Errorf("Q, K and V must all have rank 3 or all rank 4, got %v, %v and %v", n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape)
		}
	}
	if err := checkSameType(n, 0, 1, 2, 3); err != nil {
		return nil, err
	}
	at := n.Attrs
	split := len(n.Inputs[0].Shape) == 4
	if !split {
		at.Require("num_heads")
	}
	heads := at.Int("num_heads", 0)
	causal := at.Int("causal", 0)
	batchFirst := at.Int("batch_first", 1)
	hasScale := at.Has("scale")
	scale := at.Float("scale", 0)
	if err := at.Err(); err != nil {
		return nil, err
	}
	if causal != 0 && causal != 1 || batchFirst != 0 && batchFirst != 1 {
		return nil, n.Errorf("causal and batch_first must be 0 or 1, got %d and %d", causal, batchFirst)
	}
	qs, ks, vs := n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape
	var out tensor.Shape
	if split {
		// [., ., H, d] is [., ., H·d] with H heads.
		if ks[2] != qs[2] || vs[2] != qs[2] {
			return nil, n.Errorf("Q %v, K %v and V %v differ in heads", qs, ks, vs)
		}
		if at.Has("num_heads") && heads != int64(qs[2]) {
			return nil, n.Errorf("num_heads %d differs from the heads of Q %v", heads, qs)
		}
		heads = int64(qs[2])
		out = vs.Clone()
		qs = tensor.Shape{qs[0], qs[1], qs[2] * qs[3]}
		ks = tensor.Shape{ks[0], ks[1], ks[2] * ks[3]}
		vs = tensor.Shape{vs[0], vs[1], vs[2] * vs[3]}
	}
	// [B, S, hidden] or [S, B, hidden].
	bi, si := 0, 1
	if batchFirst == 0 {
		bi, si = 1, 0
	}
	B, Sq, Sk := qs[bi], qs[si], ks[si]
	if ks[bi] != B || vs[bi] != B {
		return nil, n.Errorf("Q %v, K %v and V %v differ in batch", qs, ks, vs)
	}
	if vs[si] != Sk {
		return nil, n.Errorf("K %v and V %v differ in sequence length", ks, vs)
	}
	if ks[2] != qs[2] {
		return nil, n.Errorf("Q %v and K %v differ in hidden size", qs, ks)
	}
	if heads < 1 || qs[2]%int(heads) != 0 || vs[2]%int(heads) != 0 {
		return nil, n.Errorf("num_heads %d must divide the hidden sizes of Q %v and V %v", heads, qs, vs)
	}
	H := int(heads)
	d, dv := qs[2]/H, vs[2]/H
	if !hasScale {
		scale = float32(1 / math.Sqrt(float64(max(d, 1))))
	}
	if scale != scale {
		return nil, n.Errorf("scale is NaN")
	}
	if out == nil {
		out = vs.Clone()
	}
	out[si] = Sq
	a := kernels.Attention{Batch: B, Heads: H, SeqQ: Sq, SeqK: Sk, HeadDim: d, HeadDimV: dv, Scale: scale, Causal: causal == 1}
	stride := func(seq, hidden int) [2]int {
		if batchFirst == 1 {
			return [2]int{seq * hidden, hidden}
		}
		return [2]int{hidden, B * hidden}
	}
	a.QStride, a.KStride = stride(Sq, qs[2]), stride(Sk, ks[2])
	a.VStride, a.YStride = stride(Sk, vs[2]), stride(Sq, vs[2])
	var mask *attnMask
	if m := n.Input(3); m.Present() {
		if err := nnStatic(n, 3); err != nil {
			return nil, err
		}
		var err error
		if mask, err = attentionMask(n, m.Shape, B, H, Sq, Sk); err != nil {
			return nil, err
		}
		a.MaskStride = mask.strides
	}
	dt := n.Inputs[0].DType
	k := func(env *ops.Env, in, outs []*tensor.Tensor) error {
		q, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		kk, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		v, err := tensor.View[float32](in[2])
		if err != nil {
			return err
		}
		y, err := nnOut[float32](env, outs, 0, out)
		if err != nil {
			return err
		}
		run := a
		if mask != nil {
			mv, err := tensor.View[float32](in[3])
			if err != nil {
				return err
			}
			run.Mask = mask.values(mv)
		}
		run.Run(nnWorkers(env), q, kk, v, y)
		return nil
	}
	kern, err := nnFloat(n, dt, k, nil)
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: kern, Overwrites: true}, nil
}

// attnMask is how a mask tensor is addressed by the attention kernel.
type attnMask struct {
	strides [3]int // batch, head, query row
	// expand, when set, widens a mask whose last dimension is 1 to seq_k
	// columns first (shape -> wide).
	shape, wide tensor.Shape
}

func (m *attnMask) values(v []float32) []float32 {
	if m.wide == nil {
		return v
	}
	w := make([]float32, m.wide.NumElements())
	expandInto(w, v, m.wide, m.shape)
	return w
}

// attentionMask checks the mask's shape and works out its strides.
func attentionMask(n *ops.Node, s tensor.Shape, B, H, Sq, Sk int) (*attnMask, error) {
	bad := func() (*attnMask, error) {
		return nil, n.Errorf("mask of shape %v does not broadcast to [batch %d, heads %d, %d, %d]", s, B, H, Sq, Sk)
	}
	if len(s) == 0 || len(s) > 4 {
		return bad()
	}
	m := &attnMask{}
	last := s[len(s)-1]
	if last != Sk && last != 1 {
		return bad()
	}
	if last == 1 && Sk != 1 {
		m.shape = s.Clone()
		m.wide = s.Clone()
		m.wide[len(s)-1] = Sk
	}
	cols := Sk // the row stride of the (widened) mask
	dimStride := func(d, full, stride int) (int, bool) {
		if d == full && full != 1 {
			return stride, true
		}
		return 0, d == 1
	}
	if len(s) == 3 && B > 1 && s[0] == B*H && s[0] != H {
		// Heads merged into the batch: [B·H, Sq|1, Sk|1].
		rs, ok := dimStride(s[1], Sq, cols)
		if !ok {
			return bad()
		}
		m.strides = [3]int{H * s[1] * cols, s[1] * cols, rs}
		return m, nil
	}
	full := []int{B, H, Sq}
	dims := append(make([]int, 4-len(s)), s...)
	for i := 0; i < 4-len(s); i++ {
		dims[i] = 1
	}
	stride := cols
	for i := 2; i >= 0; i-- {
		st, ok := dimStride(dims[i], full[i], stride)
		if !ok {
			return bad()
		}
		m.strides[i] = st
		stride *= dims[i]
	}
	return m, nil
}
