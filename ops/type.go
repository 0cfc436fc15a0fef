package ops

import (
	"fmt"
	"strings"

	"github.com/gocann/gocann/tensor"
)

// Kind is the kind of a value flowing between operators.
type Kind uint8

const (
	KindTensor   Kind = iota // a *tensor.Tensor
	KindSequence             // a *Sequence of tensors
	KindOptional             // an *Optional holding a tensor or a sequence, or nothing
)

// Type is what planning knows of a value: its kind, element type and shape,
// and, for shape-like inputs and constants, its contents.
//
// A dimension of -1 is unknown (symbolic, or data-dependent such as the
// length of NonZero's output); an unknown rank is marked by UnknownRank.
type Type struct {
	Kind        Kind
	DType       tensor.DType // element type; for sequences and optionals, of their tensors
	Shape       tensor.Shape // for tensors; dims may be -1
	UnknownRank bool         // Shape is meaningless: the rank is not known
	// Elem describes the contents of a sequence or optional (nil: unknown).
	Elem *Type
	// Value is the tensor's contents when known at planning time (a
	// constant, or a host input the executor supplies). Nil otherwise.
	Value *tensor.Tensor
}

// TensorType returns the type of a tensor with the given element type and shape.
func TensorType(dt tensor.DType, shape tensor.Shape) Type {
	return Type{Kind: KindTensor, DType: dt, Shape: shape}
}

// TypeOf returns the type of a tensor, contents included.
func TypeOf(t *tensor.Tensor) Type {
	return Type{Kind: KindTensor, DType: t.DType(), Shape: t.Shape(), Value: t}
}

// Present reports whether an optional input was given. ONNX marks an
// omitted optional input with an empty name; it reaches Prepare as the zero Type.
func (t Type) Present() bool { return t.DType != tensor.Undefined || t.Kind != KindTensor }

// Static reports whether every dimension is known.
func (t Type) Static() bool {
	if t.UnknownRank {
		return false
	}
	for _, d := range t.Shape {
		if d < 0 {
			return false
		}
	}
	return true
}

func (t Type) String() string {
	switch t.Kind {
	case KindSequence:
		if t.Elem != nil {
			return "seq(" + t.Elem.String() + ")"
		}
		return "seq(?)"
	case KindOptional:
		if t.Elem != nil {
			return "optional(" + t.Elem.String() + ")"
		}
		return "optional(?)"
	}
	if !t.Present() {
		return "absent"
	}
	if t.UnknownRank {
		return t.DType.String() + "[?]"
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 {
			dims[i] = "?"
		} else {
			dims[i] = fmt.Sprint(d)
		}
	}
	return t.DType.String() + "[" + strings.Join(dims, " ") + "]"
}

// Value is a run-time value: a *tensor.Tensor, a *Sequence or an *Optional.
// An omitted optional input or output is nil.
type Value any

// Sequence is an ONNX sequence: an ordered list of tensors of one element type.
type Sequence struct {
	DType   tensor.DType
	Tensors []*tensor.Tensor
}

// Optional is an ONNX optional: a tensor, a sequence, or nothing (Value nil).
type Optional struct {
	Elem  Type  // what it would hold
	Value Value // *tensor.Tensor, *Sequence or nil
}
