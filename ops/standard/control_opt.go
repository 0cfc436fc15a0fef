package standard

import (
	"context"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// controlOptType is the type of an optional holding elem.
func controlOptType(elem ops.Type) ops.Type {
	elem = controlPlanType(elem)
	return ops.Type{Kind: ops.KindOptional, DType: elem.DType, Elem: &elem}
}

// controlHoldable reports whether an optional may hold a value of type t:
// a tensor or a sequence of tensors.
func controlHoldable(t ops.Type) bool {
	switch t.Kind {
	case ops.KindTensor:
		return t.DType != tensor.Undefined
	case ops.KindSequence:
		return t.Elem == nil || t.Elem.Kind == ops.KindTensor
	}
	return false
}

// Optional (15): wraps its input, or makes an empty optional of the type
// the "type" attribute gives.
func controlPrepareOptional(n *ops.Node) (*ops.Plan, error) {
	if in := n.Input(0); in.Present() {
		if !controlHoldable(in) {
			return nil, n.Errorf("input must be a tensor or a sequence, got %s", in)
		}
		elem := in
		elem.Value = nil
		out := controlOptType(elem)
		return controlPlan(out, func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
			t, err := ops.TypeOfValue(in[0])
			if err != nil {
				return nil, errorf("%v", err)
			}
			if t.Kind != elem.Kind {
				return nil, errorf("input is %s, prepared for %s", controlKindOf(in[0]), elem)
			}
			t.Value = nil
			return []ops.Value{&ops.Optional{Elem: t, Value: in[0]}}, nil
		}), nil
	}
	attr, ok := n.Attrs.Map()["type"]
	if !ok {
		return nil, n.Errorf("without an input the attribute type is required")
	}
	if attr.Type != ops.AttrTypeProto || attr.TypeVal == nil {
		return nil, n.Errorf("attribute type is %s, want type_proto", attr.Type)
	}
	elem := *attr.TypeVal
	if !controlHoldable(elem) {
		return nil, n.Errorf("attribute type is %s: an optional holds a tensor or a sequence of tensors", elem)
	}
	return controlPlan(controlOptType(elem), func(context.Context, *ops.Env, []ops.Value) ([]ops.Value, error) {
		return []ops.Value{&ops.Optional{Elem: elem}}, nil
	}), nil
}

// controlCheckOptionalInput checks OptionalHasElement's and
// OptionalGetElement's input: an optional, or a tensor or sequence, which
// counts as a present value. Version 15 declares only optionals, but a
// value is accepted there too, as ONNX Runtime does (it does not tell an
// optional holding a value from the value): the ONNX tests' Loop bodies
// (test_loop16_seq_none) declare an optional loop-carried value and return
// a sequence for it. What 18 adds is that the input may be omitted.
func controlCheckOptionalInput(n *ops.Node) error {
	in := n.Input(0)
	if !in.Present() {
		if n.Opset < 18 {
			return n.Errorf("input is required before opset 18")
		}
		return nil
	}
	if in.Kind != ops.KindOptional && !controlHoldable(in) {
		return n.Errorf("input must be an optional, a tensor or a sequence, got %s", in)
	}
	return nil
}

// OptionalHasElement (15, 18; from 18 the input may be omitted, which
// gives false, or be a tensor or sequence, which gives true).
func controlPrepareOptionalHasElement(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckOptionalInput(n); err != nil {
		return nil, err
	}
	return controlPlan(ops.TensorType(tensor.Bool, tensor.Shape{}), func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		has := false
		if len(in) > 0 {
			switch v := in[0].(type) {
			case *ops.Optional:
				has = v != nil && controlPresent(v.Value)
			default:
				has = controlPresent(v)
			}
		}
		return []ops.Value{tensor.Scalar(has)}, nil
	}), nil
}

// controlPresent reports whether v is a value rather than nothing (a nil
// interface or a typed nil pointer).
func controlPresent(v ops.Value) bool {
	switch v := v.(type) {
	case nil:
		return false
	case *tensor.Tensor:
		return v != nil
	case *ops.Sequence:
		return v != nil
	case *ops.Optional:
		return v != nil
	}
	return true
}

// OptionalGetElement (15, 18; from 18 a tensor or sequence input is
// returned as it is). An empty optional is an error.
func controlPrepareOptionalGetElement(n *ops.Node) (*ops.Plan, error) {
	if err := controlCheckOptionalInput(n); err != nil {
		return nil, err
	}
	in := n.Input(0)
	if !in.Present() {
		return nil, n.Errorf("input is required")
	}
	out := controlPlanType(in)
	if in.Kind == ops.KindOptional {
		switch {
		case in.Elem != nil:
			out = controlPlanType(*in.Elem)
		default:
			out = ops.Type{Kind: ops.KindTensor, DType: in.DType, UnknownRank: true}
		}
	}
	return controlPlan(out, func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
		v := in[0]
		if o, ok := v.(*ops.Optional); ok {
			if o == nil || !controlPresent(o.Value) {
				return nil, errorf("the optional is empty")
			}
			v = o.Value
		}
		if !controlPresent(v) {
			return nil, errorf("input is missing")
		}
		return []ops.Value{v}, nil
	}), nil
}
