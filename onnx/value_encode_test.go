package onnx

import (
	"fmt"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

func TestEncodeValueRoundTrip(t *testing.T) {
	a, _ := tensor.FromSlice([]float32{1, 2, 3})
	b, _ := tensor.FromSlice([]float32{4}, 1, 1)
	elem := ops.Type{Kind: ops.KindTensor, DType: tensor.Float32, UnknownRank: true}
	seqType := ops.Type{Kind: ops.KindSequence, DType: tensor.Float32, Elem: &elem}
	tests := []struct {
		name string
		v    ops.Value
		typ  ops.Type
		want string
	}{
		{"tensor", a, ops.TensorType(tensor.Float32, tensor.Shape{3}), "float32[3] [1 2 3]"},
		{"sequence", &ops.Sequence{DType: tensor.Float32, Tensors: []*tensor.Tensor{a, b}}, seqType, "seq[float32[3] [1 2 3] float32[1 1] [4]]"},
		{"empty sequence", &ops.Sequence{DType: tensor.Float32}, seqType, "seq[]"},
		{"optional tensor", &ops.Optional{Elem: elem, Value: a}, ops.Type{Kind: ops.KindOptional, DType: tensor.Float32, Elem: &elem}, "opt(float32[3] [1 2 3])"},
		{"empty optional", &ops.Optional{Elem: elem}, ops.Type{Kind: ops.KindOptional, DType: tensor.Float32, Elem: &elem}, "opt(none)"},
		{"optional sequence", &ops.Optional{Elem: seqType, Value: &ops.Sequence{DType: tensor.Float32, Tensors: []*tensor.Tensor{b}}},
			ops.Type{Kind: ops.KindOptional, DType: tensor.Float32, Elem: &seqType}, "opt(seq[float32[1 1] [4]])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := EncodeValue("v", tt.v)
			if err != nil {
				t.Fatal(err)
			}
			name, got, err := DecodeValue(raw, tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if name != "v" || show(got) != tt.want {
				t.Errorf("round trip: %q %s, want %s", name, show(got), tt.want)
			}
		})
	}
}

func show(v ops.Value) string {
	switch v := v.(type) {
	case *tensor.Tensor:
		return v.String()
	case *ops.Sequence:
		s := "seq["
		for i, t := range v.Tensors {
			if i > 0 {
				s += " "
			}
			s += t.String()
		}
		return s + "]"
	case *ops.Optional:
		if v.Value == nil {
			return "opt(none)"
		}
		return "opt(" + show(v.Value) + ")"
	}
	return fmt.Sprintf("%T", v)
}
