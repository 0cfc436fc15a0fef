package standard

import (
	"context"
	"fmt"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// controlOps lists this family's operators: control flow (control_flow.go),
// sequences (control_seq.go) and optionals (control_opt.go). They all run
// as Plan.Eval, since their values are not all tensors or they run
// subgraphs.
func controlOps() []def {
	return []def{
		{name: "If", since: []int{1, 11, 13, 16, 19, 21}, inputs: [2]int{1, 1}, outputs: [2]int{1, -1}, prepare: controlPrepareIf,
			doc: "runs then_branch or else_branch depending on a boolean condition"},
		{name: "Loop", since: []int{1, 11, 13, 16, 19, 21}, inputs: [2]int{2, -1}, outputs: [2]int{1, -1}, prepare: controlPrepareLoop,
			doc: "runs body while a trip count and a condition allow, carrying values and stacking scan outputs"},
		{name: "Scan", since: []int{8}, inputs: [2]int{2, -1}, outputs: [2]int{1, -1}, prepare: controlPrepareScan8,
			doc: "runs body over batched sequences (batch axis 0, sequence axis 1), carrying state"},
		{name: "Scan", since: []int{9, 11, 16, 19, 21}, inputs: [2]int{1, -1}, outputs: [2]int{1, -1}, prepare: controlPrepareScan,
			doc: "runs body over slices of scan inputs along chosen axes, carrying state and stacking scan outputs"},

		{name: "SequenceEmpty", since: []int{11}, inputs: [2]int{0, 0}, outputs: [2]int{1, 1}, prepare: controlPrepareSequenceEmpty,
			doc: "an empty sequence of the given element type"},
		{name: "SequenceConstruct", since: []int{11}, inputs: [2]int{1, -1}, outputs: [2]int{1, 1}, prepare: controlPrepareSequenceConstruct,
			doc: "a sequence of the input tensors"},
		{name: "SequenceInsert", since: []int{11}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, prepare: controlPrepareSequenceInsert,
			doc: "inserts a tensor into a sequence at a position (default: the end)"},
		{name: "SequenceAt", since: []int{11}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, prepare: controlPrepareSequenceAt,
			doc: "the tensor at a position of a sequence"},
		{name: "SequenceErase", since: []int{11}, inputs: [2]int{1, 2}, outputs: [2]int{1, 1}, prepare: controlPrepareSequenceErase,
			doc: "removes the tensor at a position (default: the last) from a sequence"},
		{name: "SequenceLength", since: []int{11}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: controlPrepareSequenceLength,
			doc: "the number of tensors in a sequence"},
		{name: "SplitToSequence", since: []int{11}, inputs: [2]int{1, 2}, outputs: [2]int{1, 1}, prepare: controlPrepareSplitToSequence,
			doc: "splits a tensor along an axis into a sequence"},
		{name: "ConcatFromSequence", since: []int{11}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: controlPrepareConcatFromSequence,
			doc: "concatenates (or stacks, with new_axis) the tensors of a sequence"},
		{name: "SequenceMap", since: []int{17}, inputs: [2]int{1, -1}, outputs: [2]int{1, -1}, prepare: controlPrepareSequenceMap,
			doc: "applies body to each element of the input sequences"},

		{name: "Optional", since: []int{15}, inputs: [2]int{0, 1}, outputs: [2]int{1, 1}, prepare: controlPrepareOptional,
			doc: "an optional holding the input, or an empty optional of the given type"},
		{name: "OptionalHasElement", since: []int{15, 18}, inputs: [2]int{0, 1}, outputs: [2]int{1, 1}, prepare: controlPrepareOptionalHasElement,
			doc: "whether an optional holds a value"},
		{name: "OptionalGetElement", since: []int{15, 18}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: controlPrepareOptionalGetElement,
			doc: "the value an optional holds"},
	}
}

// controlEval is the signature of Plan.Eval.
type controlEval = func(ctx context.Context, env *ops.Env, in []ops.Value) ([]ops.Value, error)

// controlGraph reads a required graph attribute.
func controlGraph(n *ops.Node, name string) (ops.Subgraph, error) {
	a := n.Attrs
	a.Require(name)
	g := a.Graph(name)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if g == nil {
		return nil, n.Errorf("attribute %q: no graph bound (the executor must bind subgraphs)", name)
	}
	return g, nil
}

// controlSubgraphTypes returns the declared output types of g, padded to
// g.NumOutputs() so that callers can index it freely.
func controlSubgraphTypes(g ops.Subgraph) []ops.Type {
	ts := g.OutputTypes()
	if len(ts) < g.NumOutputs() {
		ts = append(append([]ops.Type(nil), ts...), make([]ops.Type, g.NumOutputs()-len(ts))...)
	}
	for i := range ts {
		ts[i].Value = nil
	}
	return ts
}

// controlUnknown is a value of which nothing is known.
func controlUnknown() ops.Type { return ops.Type{Kind: ops.KindTensor, UnknownRank: true} }

// controlPlanType cleans a declared or input type for use as a planned
// output type: contents are never planned, and a tensor whose element type
// is unknown is at least marked of unknown rank.
func controlPlanType(t ops.Type) ops.Type {
	t.Value = nil
	if t.Kind == ops.KindTensor && t.DType == tensor.Undefined {
		t.UnknownRank = true
		t.Shape = nil
	}
	return t
}

// controlMergeTypes returns a type that covers both a and b (If's two
// branches): the common kind and element type, and dims that agree.
func controlMergeTypes(a, b ops.Type) ops.Type {
	if a.Kind != b.Kind || a.DType != b.DType {
		if a.Kind == b.Kind && (a.DType == tensor.Undefined || b.DType == tensor.Undefined) {
			return ops.Type{Kind: a.Kind, UnknownRank: a.Kind == ops.KindTensor}
		}
		return controlUnknown()
	}
	switch a.Kind {
	case ops.KindSequence, ops.KindOptional:
		out := ops.Type{Kind: a.Kind, DType: a.DType}
		if a.Elem != nil && b.Elem != nil {
			e := controlMergeTypes(*a.Elem, *b.Elem)
			out.Elem = &e
		}
		return out
	}
	out := ops.Type{Kind: ops.KindTensor, DType: a.DType}
	if a.UnknownRank || b.UnknownRank || len(a.Shape) != len(b.Shape) {
		out.UnknownRank = true
		return out
	}
	out.Shape = make(tensor.Shape, len(a.Shape))
	for i := range a.Shape {
		if a.Shape[i] == b.Shape[i] {
			out.Shape[i] = a.Shape[i]
		} else {
			out.Shape[i] = -1
		}
	}
	return out
}

// controlTensor returns v as a tensor, or an error naming what it is.
func controlTensor(what string, v ops.Value) (*tensor.Tensor, error) {
	t, ok := v.(*tensor.Tensor)
	if !ok || t == nil {
		return nil, errorf("%s: got %s, want a tensor", what, controlKindOf(v))
	}
	return t, nil
}

// controlSequence returns v as a sequence, or an error naming what it is.
func controlSequence(what string, v ops.Value) (*ops.Sequence, error) {
	s, ok := v.(*ops.Sequence)
	if !ok || s == nil {
		return nil, errorf("%s: got %s, want a sequence", what, controlKindOf(v))
	}
	return s, nil
}

// controlKindOf describes a run-time value for error messages.
func controlKindOf(v ops.Value) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case *tensor.Tensor:
		if v == nil {
			return "nothing"
		}
		return fmt.Sprintf("a %s%v tensor", v.DType(), v.Shape())
	case *ops.Sequence:
		if v == nil {
			return "nothing"
		}
		return fmt.Sprintf("a sequence of %d %s tensors", len(v.Tensors), v.DType)
	case *ops.Optional:
		if v == nil {
			return "nothing"
		}
		return "an optional"
	}
	return fmt.Sprintf("a %T", v)
}

// controlScalarInt reads a one-element int32 or int64 tensor (positions,
// trip counts, split sizes).
func controlScalarInt(what string, t *tensor.Tensor) (int64, error) {
	if t.Len() != 1 {
		return 0, errorf("%s must hold one element, got shape %v", what, t.Shape())
	}
	v, err := intsOf(t)
	if err != nil {
		return 0, errorf("%s: %v", what, err)
	}
	return v[0], nil
}

// controlScalarBool reads a one-element bool tensor (conditions).
func controlScalarBool(what string, v ops.Value) (bool, error) {
	t, err := controlTensor(what, v)
	if err != nil {
		return false, err
	}
	if t.DType() != tensor.Bool || t.Len() != 1 {
		return false, errorf("%s must be a one-element bool tensor, got %s%v", what, t.DType(), t.Shape())
	}
	b, err := tensor.View[bool](t)
	if err != nil {
		return false, errorf("%s: %v", what, err)
	}
	return b[0], nil
}

// controlCheckPosition fails unless input i is absent (when optional) or a
// one-element int32/int64 tensor.
func controlCheckPosition(n *ops.Node, i int, optional bool) error {
	t := n.Input(i)
	if !t.Present() && optional {
		return nil
	}
	if err := checkType(n, i, []tensor.DType{tensor.Int32, tensor.Int64}); err != nil {
		return err
	}
	if !t.UnknownRank && t.Shape != nil && t.Static() && t.Shape.NumElements() != 1 {
		return n.Errorf("input %d (position) must be a scalar, got shape %v", i, t.Shape)
	}
	return nil
}

// controlCheckSequence fails unless input i is a sequence.
func controlCheckSequence(n *ops.Node, i int) error {
	t := n.Input(i)
	if t.Kind != ops.KindSequence {
		return n.Errorf("input %d must be a sequence, got %s", i, t)
	}
	return nil
}

// controlCopyRows copies rows elements of src starting at element srcOff
// into dst at element dstOff; dst and src share an element type.
func controlCopyRows(dst, src *tensor.Tensor, dstOff, srcOff, rows int) error {
	if rows == 0 {
		return nil
	}
	if dst.DType() == tensor.String {
		d, err := tensor.View[string](dst)
		if err != nil {
			return err
		}
		s, err := tensor.View[string](src)
		if err != nil {
			return err
		}
		copy(d[dstOff:dstOff+rows], s[srcOff:srcOff+rows])
		return nil
	}
	d, ok := dst.HostBytes()
	if !ok {
		return errorf("output tensor is not host-readable")
	}
	s, ok := src.HostBytes()
	if !ok {
		return errorf("input %s%v is not host-readable", src.DType(), src.Shape())
	}
	sz := dst.DType().Size()
	copy(d[dstOff*sz:(dstOff+rows)*sz], s[srcOff*sz:(srcOff+rows)*sz])
	return nil
}

// controlStack stacks tensors of one type and shape along a new axis at
// position axis (0 <= axis <= rank): element t of parts lands at index t
// (or len-1-t when reverse). With no parts the result has shape elem with
// 0 inserted at axis.
func controlStack(parts []*tensor.Tensor, axis int, reverse bool, dt tensor.DType, elem tensor.Shape) (*tensor.Tensor, error) {
	if len(parts) > 0 {
		dt, elem = parts[0].DType(), parts[0].Shape()
	}
	if axis < 0 || axis > len(elem) {
		return nil, errorf("stacking axis %d out of range for rank %d", axis, len(elem))
	}
	shape := make(tensor.Shape, 0, len(elem)+1)
	shape = append(shape, elem[:axis]...)
	shape = append(shape, len(parts))
	shape = append(shape, elem[axis:]...)
	out, err := tensor.New(dt, shape)
	if err != nil {
		return nil, errorf("%v", err)
	}
	outer := elem[:axis].NumElements()
	inner := elem[axis:].NumElements()
	for t, p := range parts {
		if p.DType() != dt || !p.Shape().Equal(elem) {
			return nil, errorf("iteration %d produced %s%v, earlier ones %s%v: the shape must not change", t, p.DType(), p.Shape(), dt, elem)
		}
		pos := t
		if reverse {
			pos = len(parts) - 1 - t
		}
		for o := 0; o < outer; o++ {
			if err := controlCopyRows(out, p, (o*len(parts)+pos)*inner, o*inner, inner); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// controlSlice returns x indexed at position i of axis: a tensor of rank one
// less.
func controlSlice(x *tensor.Tensor, axis, i int) (*tensor.Tensor, error) {
	shape := x.Shape()
	elem := make(tensor.Shape, 0, len(shape)-1)
	elem = append(elem, shape[:axis]...)
	elem = append(elem, shape[axis+1:]...)
	out, err := tensor.New(x.DType(), elem)
	if err != nil {
		return nil, errorf("%v", err)
	}
	outer := shape[:axis].NumElements()
	inner := shape[axis+1:].NumElements()
	n := shape[axis]
	for o := 0; o < outer; o++ {
		if err := controlCopyRows(out, x, o*inner, (o*n+i)*inner, inner); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// controlZeroShape turns a declared shape into the shape of an empty
// result: unknown dims become 0 (nothing was computed to tell them).
func controlZeroShape(t ops.Type) tensor.Shape {
	if t.UnknownRank {
		return tensor.Shape{}
	}
	s := t.Shape.Clone()
	for i, d := range s {
		if d < 0 {
			s[i] = 0
		}
	}
	return s
}
