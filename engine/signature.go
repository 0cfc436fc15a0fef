package engine

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// signature keys a node's plan cache: the kinds, element types and shapes of
// its inputs, plus the contents of the value inputs (which the caller has
// already limited to the operator's declared ValueInputs).
func signature(types []ops.Type) string {
	var b strings.Builder
	for _, t := range types {
		b.WriteByte(byte('0' + t.Kind))
		b.WriteString(strconv.Itoa(int(t.DType)))
		if t.UnknownRank {
			b.WriteByte('?')
		}
		for _, d := range t.Shape {
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(d))
		}
		if t.Value != nil {
			b.WriteByte('=')
			if raw, ok := t.Value.HostBytes(); ok {
				b.Write(raw)
			} else if strs, err := t.Value.Strings(); err == nil {
				for _, s := range strs {
					b.WriteString(strconv.Quote(s))
				}
			}
		}
		b.WriteByte(';')
	}
	return b.String()
}

// inputSig is one graph input as a plan sees it: its kind, element type
// and shape, and whether it is the initializer the graph gives as its
// default (whose contents are then fixed).
type inputSig struct {
	kind  ops.Kind
	dtype tensor.DType
	def   bool
	dims  []int // tensors only
}

func sigOf(v ops.Value, def *tensor.Tensor) inputSig {
	switch v := v.(type) {
	case *tensor.Tensor:
		return inputSig{kind: ops.KindTensor, dtype: v.DType(), def: v == def && def != nil, dims: v.Shape()}
	case *ops.Sequence:
		return inputSig{kind: ops.KindSequence, dtype: v.DType}
	case *ops.Optional:
		return inputSig{kind: ops.KindOptional, dtype: v.Elem.DType}
	}
	return inputSig{kind: 255}
}

func signatureOf(defaults []*tensor.Tensor, args []ops.Value) []inputSig {
	sig := make([]inputSig, len(args))
	for i, v := range args {
		sig[i] = sigOf(v, defaults[i])
	}
	return sig
}

// matchSignature reports whether args have the signature, without
// allocating: it runs on every Run.
func matchSignature(sig []inputSig, defaults []*tensor.Tensor, args []ops.Value) bool {
	if len(sig) != len(args) {
		return false
	}
	for i, v := range args {
		want := &sig[i]
		switch v := v.(type) {
		case *tensor.Tensor:
			if want.kind != ops.KindTensor || v.DType() != want.dtype || want.def != (v == defaults[i] && v != nil) || v.Rank() != len(want.dims) {
				return false
			}
			for d, n := range want.dims {
				if v.Dim(d) != n {
					return false
				}
			}
		case *ops.Sequence:
			if want.kind != ops.KindSequence || v.DType != want.dtype {
				return false
			}
		case *ops.Optional:
			if want.kind != ops.KindOptional || v.Elem.DType != want.dtype {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func matchSignatures(a, b []inputSig) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].kind != b[i].kind || a[i].dtype != b[i].dtype || a[i].def != b[i].def || !slices.Equal(a[i].dims, b[i].dims) {
			return false
		}
	}
	return true
}

// String describes a signature: "x: float32[1 3 224 224], …".
func describeSignature(names []string, sig []inputSig) string {
	var b strings.Builder
	for i, s := range sig {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(names[i])
		b.WriteString(": ")
		switch s.kind {
		case ops.KindTensor:
			b.WriteString(ops.TensorType(s.dtype, s.dims).String())
			if s.def {
				b.WriteString(" (default)")
			}
		case ops.KindSequence:
			b.WriteString("seq(" + s.dtype.String() + ")")
		case ops.KindOptional:
			b.WriteString("optional(" + s.dtype.String() + ")")
		}
	}
	return b.String()
}
