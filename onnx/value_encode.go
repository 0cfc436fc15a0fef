package onnx

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// EncodeValue serializes a run-time value as the ONNX test layout stores
// it: a TensorProto for a tensor, a SequenceProto for an *ops.Sequence and
// an OptionalProto for an *ops.Optional. It is DecodeValue's inverse.
func EncodeValue(name string, v ops.Value) ([]byte, error) {
	switch v := v.(type) {
	case *tensor.Tensor:
		return EncodeTensor(name, v)
	case *ops.Sequence:
		b := protowire.AppendTag(nil, vfName, protowire.BytesType)
		b = protowire.AppendString(b, name)
		b = protowire.AppendTag(b, vfElemType, protowire.VarintType)
		b = protowire.AppendVarint(b, elemTensor)
		for i, t := range v.Tensors {
			tb, err := EncodeTensor("", t)
			if err != nil {
				return nil, fmt.Errorf("onnx: sequence %q element %d: %w", name, i, err)
			}
			b = protowire.AppendTag(b, vfTensor, protowire.BytesType)
			b = protowire.AppendBytes(b, tb)
		}
		return b, nil
	case *ops.Optional:
		b := protowire.AppendTag(nil, vfName, protowire.BytesType)
		b = protowire.AppendString(b, name)
		switch inner := v.Value.(type) {
		case nil:
			kind := uint64(elemTensor)
			if v.Elem.Kind == ops.KindSequence {
				kind = elemSequence
			}
			b = protowire.AppendTag(b, vfElemType, protowire.VarintType)
			b = protowire.AppendVarint(b, kind)
		case *tensor.Tensor:
			tb, err := EncodeTensor("", inner)
			if err != nil {
				return nil, fmt.Errorf("onnx: optional %q: %w", name, err)
			}
			b = protowire.AppendTag(b, vfElemType, protowire.VarintType)
			b = protowire.AppendVarint(b, elemTensor)
			b = protowire.AppendTag(b, vfTensor, protowire.BytesType)
			b = protowire.AppendBytes(b, tb)
		case *ops.Sequence:
			sb, err := EncodeValue("", inner)
			if err != nil {
				return nil, err
			}
			b = protowire.AppendTag(b, vfElemType, protowire.VarintType)
			b = protowire.AppendVarint(b, elemSequence)
			b = protowire.AppendTag(b, vfSequence, protowire.BytesType)
			b = protowire.AppendBytes(b, sb)
		default:
			return nil, fmt.Errorf("onnx: optional %q holds %T: %w", name, inner, runtime.ErrUnsupported)
		}
		return b, nil
	}
	return nil, fmt.Errorf("onnx: cannot encode %T: %w", v, runtime.ErrUnsupported)
}

// WriteValueFile writes EncodeValue's bytes to path.
func WriteValueFile(path, name string, v ops.Value) error {
	b, err := EncodeValue(name, v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
