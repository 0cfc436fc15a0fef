package standard

import (
	"context"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Sequences are immutable values here: the operators build new
// ops.Sequence lists and share the tensors in them, which no kernel writes
// to after it has produced them.

// controlSeqType is the type of a sequence of elem.
func controlSeqType(elem ops.Type) ops.Type {
	elem = controlPlanType(elem)
	return ops.Type{Kind: ops.KindSequence, DType: elem.DType, Elem: &elem}
}

// controlElemType is what planning knows of a sequence input's elements.
func controlElemType(seq ops.Type) ops.Type {
	if seq.Elem != nil && seq.Elem.Kind == ops.KindTensor {
		return controlPlanType(*seq.Elem)
	}
	return ops.Type{Kind: ops.KindTensor, DType: seq.DType, UnknownRank: true}
}

// controlCheckElem fails unless input i is a tensor that can join the
// sequence input seq.
func controlCheckElem(n *ops.Node, seq, i int) error {
	if err := checkType(n, i, allTypes); err != nil {
		return err
	}
	if s := n.Input(seq); s.DType != tensor.Undefined && s.DType != n.Input(i).DType {
		return n.Errorf("input %d is %s, the sequence holds %s", i, n.Input(i).DType, s.DType)
	}
	return nil
}

// controlPosition reads an optional position input and checks it lies in
// [-size, size+extra) (extra is 1 where the end is a valid position);
// missing means def.
func controlPosition(v ops.Value, size, extra, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	t, err := controlTensor("position", v)
	if err != nil {
		return 0, err
	}
	p, err := controlScalarInt("position", t)
	if err != nil {
		return 0, err
	}
	if p < -int64(size) || p >= int64(size+extra) {
		return 0, errorf("position %d out of range for a sequence of %d tensors", p, size)
	}
	if p < 0 {
		p += int64(size)
	}
	return int(p), nil
}

func controlPlan(out ops.Type, eval controlEval) *ops.Plan {
	return &ops.Plan{Outputs: []ops.Type{out}, Eval: eval}
}

// SequenceEmpty (11).
func controlPrepareSequenceEmpty(n *ops.Node) (*ops.Plan, error) {
	a := n.Attrs
	dt := tensor.DType(a.Int("dtype", int64(tensor.Float32)))
	if err := a.Err(); err != nil {
		return nil, err
	}
	if dt == tensor.Undefined || !dt.Valid() {
		return nil, n.Errorf("dtype %d is not a tensor element type", int(dt))
	}
	return controlPlan(controlSeqType(ops.Type{Kind: ops.KindTensor, DType: dt, UnknownRank: true}),
		func(context.Context, *ops.Env, []ops.Value) ([]ops.Value, error) {
			return []ops.Value{&ops.Sequence{DType: dt}}, nil
		}), nil
}

// SequenceConstruct (11).
func controlPrepareSequenceConstruct(n *ops.Node) (*ops.Plan, error) {
	for i := range n.Inputs {
		if err := checkType(n, i, allTypes); err != nil {
			return nil, err
		}
	}
	if err := checkSameType(n, 0, controlRange(1, len(n.Inputs))...); err != nil {
		return nil, err
	}
	elem := controlPlanType(n.Inputs[0])
	for _, t := range n.Inputs[1:] {
		elem = controlMergeTypes(elem, controlPlanType(t))
	}
	dt := n.Inputs[0].DType
	return controlPlan(controlSeqType(elem), func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		s := &ops.Sequence{DType: dt, Tensors: make([]*tensor.Tensor, len(in))}
		for i, v := range in {
			t, err := controlTensor("input", v)
			if err != nil {
				return nil, err
			}
			if t.DType() != dt {
				return nil, errorf("input %d is %s, want %s", i, t.DType(), dt)
			}
			s.Tensors[i] = t
		}
		return []ops.Value{s}, nil
	}), nil
}

func controlRange(lo, hi int) []int {
	r := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		r = append(r, i)
	}
	return r
}

// SequenceInsert (11): position in [-n, n], default n (append).
func controlPrepareSequenceInsert(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckSequence(n, 0); err != nil {
		return nil, err
	}
	if err := controlCheckElem(n, 0, 1); err != nil {
		return nil, err
	}
	if err := controlCheckPosition(n, 2, true); err != nil {
		return nil, err
	}
	seq := n.Input(0)
	elem := controlElemType(seq)
	elem = controlMergeTypes(elem, controlPlanType(n.Input(1)))
	if elem.DType == tensor.Undefined {
		elem.DType = n.Input(1).DType
	}
	return controlPlan(controlSeqType(elem), func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		s, err := controlSequence("input_sequence", in[0])
		if err != nil {
			return nil, err
		}
		t, err := controlTensor("tensor", in[1])
		if err != nil {
			return nil, err
		}
		if s.DType != tensor.Undefined && t.DType() != s.DType {
			return nil, errorf("tensor is %s, the sequence holds %s", t.DType(), s.DType)
		}
		var pos ops.Value
		if len(in) > 2 {
			pos = in[2]
		}
		p, err := controlPosition(pos, len(s.Tensors), 1, len(s.Tensors))
		if err != nil {
			return nil, err
		}
		out := &ops.Sequence{DType: t.DType(), Tensors: make([]*tensor.Tensor, 0, len(s.Tensors)+1)}
		out.Tensors = append(out.Tensors, s.Tensors[:p]...)
		out.Tensors = append(out.Tensors, t)
		out.Tensors = append(out.Tensors, s.Tensors[p:]...)
		return []ops.Value{out}, nil
	}), nil
}

// SequenceAt (11): position in [-n, n-1].
func controlPrepareSequenceAt(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckSequence(n, 0); err != nil {
		return nil, err
	}
	if err := controlCheckPosition(n, 1, false); err != nil {
		return nil, err
	}
	return controlPlan(controlElemType(n.Input(0)), func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		s, err := controlSequence("input_sequence", in[0])
		if err != nil {
			return nil, err
		}
		if in[1] == nil {
			return nil, errorf("position is required")
		}
		p, err := controlPosition(in[1], len(s.Tensors), 0, 0)
		if err != nil {
			return nil, err
		}
		return []ops.Value{s.Tensors[p]}, nil
	}), nil
}

// SequenceErase (11): position in [-n, n-1], default the last.
func controlPrepareSequenceErase(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckSequence(n, 0); err != nil {
		return nil, err
	}
	if err := controlCheckPosition(n, 1, true); err != nil {
		return nil, err
	}
	return controlPlan(controlSeqType(controlElemType(n.Input(0))), func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		s, err := controlSequence("input_sequence", in[0])
		if err != nil {
			return nil, err
		}
		if len(s.Tensors) == 0 {
			return nil, errorf("cannot erase from an empty sequence")
		}
		var pos ops.Value
		if len(in) > 1 {
			pos = in[1]
		}
		p, err := controlPosition(pos, len(s.Tensors), 0, len(s.Tensors)-1)
		if err != nil {
			return nil, err
		}
		out := &ops.Sequence{DType: s.DType, Tensors: make([]*tensor.Tensor, 0, len(s.Tensors)-1)}
		out.Tensors = append(out.Tensors, s.Tensors[:p]...)
		out.Tensors = append(out.Tensors, s.Tensors[p+1:]...)
		return []ops.Value{out}, nil
	}), nil
}

// SequenceLength (11).
func controlPrepareSequenceLength(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckSequence(n, 0); err != nil {
		return nil, err
	}
	return controlPlan(ops.TensorType(tensor.Int64, tensor.Shape{}), func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		s, err := controlSequence("input_sequence", in[0])
		if err != nil {
			return nil, err
		}
		return []ops.Value{tensor.Scalar(int64(len(s.Tensors)))}, nil
	}), nil
}

// SplitToSequence (11): split absent cuts pieces of 1 (squeezed unless
// keepdims); a scalar split cuts pieces of that size, the last possibly
// shorter; a 1-D split gives the lengths, which must add up to the axis.
func controlPrepareSplitToSequence(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, allTypes); err != nil {
		return nil, err
	}
	hasSplit := n.Input(1).Present()
	if hasSplit {
		if err := checkType(n, 1, []tensor.DType{tensor.Int32, tensor.Int64}); err != nil {
			return nil, err
		}
		if s := n.Input(1); !s.UnknownRank && len(s.Shape) > 1 {
			return nil, n.Errorf("split must be a scalar or 1-D, got rank %d", len(s.Shape))
		}
	}
	a := n.Attrs
	axis := a.Int("axis", 0)
	keepdims := a.Int("keepdims", 1)
	if err := a.Err(); err != nil {
		return nil, err
	}
	x := n.Input(0)
	elem := ops.Type{Kind: ops.KindTensor, DType: x.DType, UnknownRank: true}
	if !x.UnknownRank {
		ax, err := normAxis(n, axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		elem = ops.Type{Kind: ops.KindTensor, DType: x.DType, Shape: x.Shape.Clone()}
		elem.Shape[ax] = -1
		if !hasSplit {
			elem.Shape[ax] = 1
			if keepdims == 0 {
				elem.Shape = append(elem.Shape[:ax], elem.Shape[ax+1:]...)
			}
		}
	}
	return controlPlan(controlSeqType(elem), func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		t, err := controlTensor("input", in[0])
		if err != nil {
			return nil, err
		}
		r := int64(t.Rank())
		if axis < -r || axis >= r {
			return nil, errorf("axis %d out of range for rank %d", axis, r)
		}
		ax := int(axis)
		if ax < 0 {
			ax += int(r)
		}
		dim := t.Shape()[ax]
		var lens []int
		squeeze := false
		switch {
		case !hasSplit || in[1] == nil:
			lens = make([]int, dim)
			for i := range lens {
				lens[i] = 1
			}
			squeeze = keepdims == 0
		default:
			st, err := controlTensor("split", in[1])
			if err != nil {
				return nil, err
			}
			v, err := intsOf(st)
			if err != nil {
				return nil, err
			}
			if st.Rank() == 0 {
				size := v[0]
				if size <= 0 {
					return nil, errorf("split is %d, want a positive size", size)
				}
				for left := int64(dim); left > 0; left -= size {
					lens = append(lens, int(min(size, left)))
				}
			} else {
				if st.Rank() != 1 {
					return nil, errorf("split must be a scalar or 1-D, got shape %v", st.Shape())
				}
				for _, l := range v {
					if l < 0 {
						return nil, errorf("split holds %d; lengths must not be negative", l)
					}
				}
				sum := int64(0)
				for _, l := range v {
					sum += l
					if sum > int64(dim) {
						break
					}
					lens = append(lens, int(l))
				}
				if sum != int64(dim) {
					return nil, errorf("split lengths %v do not add up to %d, the size of axis %d", v, dim, ax)
				}
			}
		}
		shape := t.Shape()
		outer := shape[:ax].NumElements()
		inner := shape[ax+1:].NumElements()
		out := &ops.Sequence{DType: t.DType(), Tensors: make([]*tensor.Tensor, 0, len(lens))}
		start := 0
		for _, l := range lens {
			ps := shape.Clone()
			ps[ax] = l
			if squeeze {
				ps = append(ps[:ax], ps[ax+1:]...)
			}
			p, err := tensor.New(t.DType(), ps)
			if err != nil {
				return nil, errorf("%v", err)
			}
			for o := 0; o < outer; o++ {
				if err := controlCopyRows(p, t, o*l*inner, (o*dim+start)*inner, l*inner); err != nil {
					return nil, err
				}
			}
			start += l
			out.Tensors = append(out.Tensors, p)
		}
		return []ops.Value{out}, nil
	}), nil
}

// ConcatFromSequence (11): concatenates along axis, or stacks along a new
// axis when new_axis is 1. An empty sequence is an error: its result's
// shape is unknowable.
func controlPrepareConcatFromSequence(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckSequence(n, 0); err != nil {
		return nil, err
	}
	a := n.Attrs
	a.Require("axis")
	axis := a.Int("axis", 0)
	newAxis := a.Int("new_axis", 0)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if newAxis != 0 && newAxis != 1 {
		return nil, n.Errorf("new_axis is %d, want 0 or 1", newAxis)
	}
	elem := controlElemType(n.Input(0))
	out := ops.Type{Kind: ops.KindTensor, DType: elem.DType, UnknownRank: true}
	if !elem.UnknownRank {
		r := int64(len(elem.Shape)) + newAxis
		if axis < -r || axis >= r {
			return nil, n.Errorf("axis %d out of range for rank %d", axis, r)
		}
		ax := axis
		if ax < 0 {
			ax += r
		}
		s := elem.Shape.Clone()
		if newAxis == 1 {
			s = append(s[:ax], append(tensor.Shape{-1}, s[ax:]...)...)
		} else {
			s[ax] = -1
		}
		out = ops.Type{Kind: ops.KindTensor, DType: elem.DType, Shape: s}
	}
	return controlPlan(out, func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		s, err := controlSequence("input_sequence", in[0])
		if err != nil {
			return nil, err
		}
		if len(s.Tensors) == 0 {
			return nil, errorf("cannot concatenate an empty sequence")
		}
		first := s.Tensors[0]
		r := int64(first.Rank()) + newAxis
		if axis < -r || axis >= r {
			return nil, errorf("axis %d out of range for rank %d", axis, r)
		}
		ax := int(axis)
		if ax < 0 {
			ax += int(r)
		}
		// With new_axis every part gains a dimension of 1 at axis, which
		// makes stacking a concatenation.
		parts := make([]tensor.Shape, len(s.Tensors))
		total := 0
		for i, t := range s.Tensors {
			if t.DType() != first.DType() {
				return nil, errorf("tensor %d is %s, tensor 0 %s", i, t.DType(), first.DType())
			}
			sh := t.Shape()
			if newAxis == 1 {
				sh = append(sh[:ax:ax], append(tensor.Shape{1}, sh[ax:]...)...)
			}
			if len(sh) != int(r) {
				return nil, errorf("tensor %d has rank %d, tensor 0 %d", i, t.Rank(), first.Rank())
			}
			for d := range sh {
				if i > 0 && d != ax && sh[d] != parts[0][d] {
					return nil, errorf("tensor %d has shape %v, tensor 0 %v: only axis %d may differ", i, t.Shape(), first.Shape(), ax)
				}
			}
			parts[i] = sh
			total += sh[ax]
		}
		shape := parts[0].Clone()
		shape[ax] = total
		res, err := tensor.New(first.DType(), shape)
		if err != nil {
			return nil, errorf("%v", err)
		}
		outer := shape[:ax].NumElements()
		inner := shape[ax+1:].NumElements()
		row := total * inner
		off := 0
		for i, t := range s.Tensors {
			l := parts[i][ax] * inner
			for o := 0; o < outer; o++ {
				if err := controlCopyRows(res, t, o*row+off, o*l, l); err != nil {
					return nil, err
				}
			}
			off += l
		}
		return []ops.Value{res}, nil
	}), nil
}

// SequenceMap (17): runs body once per element of the first sequence;
// other sequence inputs must be as long and give their element at the
// same position, tensor inputs are passed whole every time.
func controlPrepareSequenceMap(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckSequence(n, 0); err != nil {
		return nil, err
	}
	body, err := controlGraph(n, "body")
	if err != nil {
		return nil, err
	}
	if body.NumInputs() != len(n.Inputs) {
		return nil, n.Errorf("body takes %d inputs, the node has %d", body.NumInputs(), len(n.Inputs))
	}
	if body.NumOutputs() != n.NumOutputs {
		return nil, n.Errorf("body has %d outputs, the node %d", body.NumOutputs(), n.NumOutputs)
	}
	isSeq := make([]bool, len(n.Inputs))
	for i, t := range n.Inputs {
		switch {
		case t.Kind == ops.KindSequence:
			isSeq[i] = true
		case !t.Present() || t.Kind != ops.KindTensor:
			return nil, n.Errorf("input %d must be a sequence or a tensor, got %s", i, t)
		}
	}
	bt := controlSubgraphTypes(body)
	outs := make([]ops.Type, n.NumOutputs)
	for k := range outs {
		outs[k] = controlSeqType(bt[k])
	}
	eval := func(ctx context.Context, env *ops.Env, in []ops.Value) ([]ops.Value, error) {
		s0, err := controlSequence("input_sequence", in[0])
		if err != nil {
			return nil, err
		}
		count := len(s0.Tensors)
		seqs := make([]*ops.Sequence, len(in))
		for i, v := range in {
			if !isSeq[i] {
				if _, err := controlTensor("additional input", v); err != nil {
					return nil, err
				}
				continue
			}
			if seqs[i], err = controlSequence("additional input", v); err != nil {
				return nil, err
			}
			if len(seqs[i].Tensors) != count {
				return nil, errorf("input %d holds %d tensors, input 0 %d", i, len(seqs[i].Tensors), count)
			}
		}
		res := make([]*ops.Sequence, n.NumOutputs)
		for k := range res {
			res[k] = &ops.Sequence{DType: controlEmptyDType(bt[k]), Tensors: make([]*tensor.Tensor, 0, count)}
		}
		args := make([]ops.Value, len(in))
		for j := 0; j < count; j++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for i, v := range in {
				if seqs[i] != nil {
					args[i] = seqs[i].Tensors[j]
				} else {
					args[i] = v
				}
			}
			outs, err := body.Run(ctx, args)
			if err != nil {
				return nil, err
			}
			if len(outs) != len(res) {
				return nil, errorf("body returned %d values, want %d", len(outs), len(res))
			}
			for k, v := range outs {
				t, err := controlTensor("body output", v)
				if err != nil {
					return nil, err
				}
				if j == 0 {
					res[k].DType = t.DType()
				} else if t.DType() != res[k].DType {
					return nil, errorf("body output %d is %s, earlier %s", k, t.DType(), res[k].DType)
				}
				res[k].Tensors = append(res[k].Tensors, t)
			}
		}
		out := make([]ops.Value, len(res))
		for k, s := range res {
			out[k] = s
		}
		return out, nil
	}
	return &ops.Plan{Outputs: outs, Eval: eval}, nil
}
