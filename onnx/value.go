package onnx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// Values that are not tensors are stored in ONNX test data as the
// SequenceProto and OptionalProto messages of onnx-data.proto, which the
// generated onnxpb package does not include. Their field numbers have been
// stable since ONNX 1.10, and both are simple enough to read with protowire;
// the tensors inside are TensorProtos, decoded as everywhere else.
//
//	SequenceProto: 1 name, 2 elem_type, 3 tensor_values, 4 sparse_tensor_values,
//	               5 sequence_values, 6 map_values, 7 optional_values
//	OptionalProto: 1 name, 2 elem_type, 3 tensor_value, 4 sparse_tensor_value,
//	               5 sequence_value, 6 map_value, 7 optional_value
//
// Field numbers (vf: value field) and DataType values of both messages.
const (
	vfName         = 1
	vfElemType     = 2
	vfTensor       = 3
	vfSparse       = 4
	vfSequence     = 5
	vfMap          = 6
	vfOptional     = 7
	elemUndefined  = 0 // SequenceProto.DataType / OptionalProto.DataType
	elemTensor     = 1
	elemSparse     = 2
	elemSequence   = 3
	elemMap        = 4
	elemOptionalPB = 5
)

// ReadValueFile reads a value file such as the input_0.pb and output_0.pb
// files of the ONNX test suite. The file's message depends on the value's
// type, which the model declares and t gives: a TensorProto for tensors, a
// SequenceProto for sequences (returned as *ops.Sequence) and an
// OptionalProto for optionals (*ops.Optional). Sequences and optionals must
// hold tensors (an optional may hold a sequence of tensors); their element
// type comes from t when the file has no tensors to tell it. External data
// is resolved in the file's directory unless WithBaseDir says otherwise.
func ReadValueFile(path string, t ops.Type, opts ...Option) (ops.Value, error) {
	_, v, err := ReadNamedValueFile(path, t, opts...)
	return v, err
}

// ReadNamedValueFile is ReadValueFile that also returns the name the file
// gives the value (possibly empty).
func ReadNamedValueFile(path string, t ops.Type, opts ...Option) (name string, v ops.Value, err error) {
	o := newOptions(append([]Option{WithBaseDir(filepath.Dir(path))}, opts...))
	if t.Kind == ops.KindTensor {
		name, tn, err := readTensorFile(path, o)
		if err != nil {
			return "", nil, fmt.Errorf("onnx: %s: %w", path, err)
		}
		return name, tn, nil
	}
	b, err := readValueBytes(path)
	if err == nil {
		name, v, err = decodeValue(b, t, o)
	}
	if err != nil {
		return "", nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return name, v, nil
}

// DecodeValue decodes a serialized TensorProto, SequenceProto or
// OptionalProto, as t says, into a *tensor.Tensor, *ops.Sequence or
// *ops.Optional, and returns the name the message gives it. External data
// is only read when WithBaseDir is given.
func DecodeValue(b []byte, t ops.Type, opts ...Option) (name string, v ops.Value, err error) {
	name, v, err = decodeValue(b, t, newOptions(opts))
	if err != nil {
		return "", nil, fmt.Errorf("onnx: %w", err)
	}
	return name, v, nil
}

func readValueBytes(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > maxEncodedBytes {
		return nil, tooLargeError(st.Size())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxEncodedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(b) > maxEncodedBytes {
		return nil, tooLargeError(int64(len(b)))
	}
	return b, nil
}

func decodeValue(b []byte, t ops.Type, o *options) (string, ops.Value, error) {
	switch t.Kind {
	case ops.KindTensor:
		name, tn, err := decodeTensor(b, o)
		if err != nil {
			return "", nil, err
		}
		return name, tn, nil
	case ops.KindSequence:
		name, s, err := decodeSequence(b, t, o)
		if err != nil {
			return "", nil, err
		}
		return name, s, nil
	case ops.KindOptional:
		return decodeOptional(b, t, o)
	}
	return "", nil, fmt.Errorf("value of kind %d: %w", t.Kind, runtime.ErrUnsupported)
}

// containerField is one field of a SequenceProto or OptionalProto.
type containerField struct {
	num     protowire.Number
	varint  uint64 // for varint fields
	payload []byte // for length-delimited fields
}

// parseContainer splits a message into its fields, checking wire types:
// name and the values are length-delimited, elem_type is a varint. Unknown
// fields are skipped, as protobuf readers do.
func parseContainer(what string, b []byte) ([]containerField, error) {
	var fields []containerField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%s: malformed protobuf: %v: %w", what, protowire.ParseError(n), ErrInvalidModel)
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, fmt.Errorf("%s: malformed protobuf: field %d: %v: %w", what, num, protowire.ParseError(m), ErrInvalidModel)
		}
		val := b[:m]
		b = b[m:]
		if num < vfName || num > vfOptional {
			continue
		}
		f := containerField{num: num}
		switch {
		case num == vfElemType && typ == protowire.VarintType:
			f.varint, _ = protowire.ConsumeVarint(val)
		case num != vfElemType && typ == protowire.BytesType:
			f.payload, _ = protowire.ConsumeBytes(val)
		default:
			return nil, fmt.Errorf("%s: field %d has wire type %d: %w", what, num, typ, ErrInvalidModel)
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// fieldElem is the DataType of the values a field holds: the value fields
// are numbered in DataType order, from tensors at 3.
func vfElem(num protowire.Number) uint64 { return uint64(num-vfTensor) + elemTensor }

// elemKindName names a SequenceProto/OptionalProto DataType for errors.
func elemKindName(k uint64) string {
	switch k {
	case elemUndefined:
		return "undefined"
	case elemTensor:
		return "tensor"
	case elemSparse:
		return "sparse tensor"
	case elemSequence:
		return "sequence"
	case elemMap:
		return "map"
	case elemOptionalPB:
		return "optional"
	}
	return fmt.Sprintf("DataType(%d)", k)
}

// decodeSequence decodes a SequenceProto of tensors. want is the declared
// sequence type; its element type, when known, must match the tensors'.
func decodeSequence(b []byte, want ops.Type, o *options) (string, *ops.Sequence, error) {
	fields, err := parseContainer("SequenceProto", b)
	if err != nil {
		return "", nil, err
	}
	declared := want.DType
	if want.Elem != nil {
		if want.Elem.Kind != ops.KindTensor {
			return "", nil, fmt.Errorf("SequenceProto: sequences of %s are not supported: %w", want.Elem, runtime.ErrUnsupported)
		}
		if want.Elem.DType != tensor.Undefined {
			declared = want.Elem.DType
		}
	}
	var name string
	elem := uint64(elemUndefined)
	seq := &ops.Sequence{DType: declared}
	for _, f := range fields {
		switch f.num {
		case vfName:
			name = string(f.payload)
		case vfElemType:
			elem = f.varint
		case vfTensor:
			_, t, err := decodeTensor(f.payload, o)
			if err != nil {
				return "", nil, fmt.Errorf("SequenceProto element %d: %w", len(seq.Tensors), err)
			}
			switch {
			case seq.DType == tensor.Undefined:
				seq.DType = t.DType()
			case t.DType() != seq.DType:
				what := "the sequence's type"
				if len(seq.Tensors) > 0 {
					what = "element 0"
				}
				return "", nil, fmt.Errorf("SequenceProto element %d is %s, %s is %s: %w", len(seq.Tensors), t.DType(), what, seq.DType, ErrInvalidModel)
			}
			seq.Tensors = append(seq.Tensors, t)
		default:
			return "", nil, fmt.Errorf("SequenceProto: sequences of %s values are not supported: %w", elemKindName(vfElem(f.num)), runtime.ErrUnsupported)
		}
	}
	if elem != elemTensor && elem != elemUndefined {
		return "", nil, fmt.Errorf("SequenceProto: sequences of %s values are not supported: %w", elemKindName(elem), runtime.ErrUnsupported)
	}
	if elem == elemUndefined && len(seq.Tensors) > 0 {
		return "", nil, fmt.Errorf("SequenceProto: elem_type is undefined but it holds tensors: %w", ErrInvalidModel)
	}
	return name, seq, nil
}

// decodeOptional decodes an OptionalProto holding a tensor, a sequence of
// tensors, or nothing. want is the declared optional type.
func decodeOptional(b []byte, want ops.Type, o *options) (string, ops.Value, error) {
	fields, err := parseContainer("OptionalProto", b)
	if err != nil {
		return "", nil, err
	}
	var name string
	elem := uint64(elemUndefined)
	var value *containerField
	for i, f := range fields {
		switch f.num {
		case vfName:
			name = string(f.payload)
		case vfElemType:
			elem = f.varint
		case vfTensor, vfSequence:
			if value != nil {
				return "", nil, fmt.Errorf("OptionalProto holds more than one value: %w", ErrInvalidModel)
			}
			value = &fields[i]
		default:
			return "", nil, fmt.Errorf("OptionalProto: optionals of %s values are not supported: %w", elemKindName(vfElem(f.num)), runtime.ErrUnsupported)
		}
	}
	opt := &ops.Optional{}
	if want.Elem != nil {
		opt.Elem = *want.Elem
		opt.Elem.Value = nil
	}
	if value == nil {
		// No value field: an empty optional, whatever elem_type says
		// (ONNX writes UNDEFINED, or the kind it would have held).
		switch {
		case want.Elem != nil:
		case elem == elemTensor:
			opt.Elem = ops.Type{Kind: ops.KindTensor, DType: want.DType, UnknownRank: true}
		case elem == elemSequence:
			opt.Elem = ops.Type{Kind: ops.KindSequence, DType: want.DType}
		}
		return name, opt, nil
	}
	if want.Elem != nil {
		if (value.num == vfTensor) != (want.Elem.Kind == ops.KindTensor) ||
			(value.num == vfSequence) != (want.Elem.Kind == ops.KindSequence) {
			return "", nil, fmt.Errorf("OptionalProto holds a %s, the model declares %s: %w", elemKindName(vfElem(value.num)), want, ErrInvalidModel)
		}
	}
	if elem != elemUndefined && elem != vfElem(value.num) {
		return "", nil, fmt.Errorf("OptionalProto: elem_type is %s but it holds a %s: %w", elemKindName(elem), elemKindName(vfElem(value.num)), ErrInvalidModel)
	}
	if value.num == vfTensor {
		_, t, err := decodeTensor(value.payload, o)
		if err != nil {
			return "", nil, fmt.Errorf("OptionalProto value: %w", err)
		}
		if want.Elem != nil && want.Elem.DType != tensor.Undefined && t.DType() != want.Elem.DType {
			return "", nil, fmt.Errorf("OptionalProto holds a %s tensor, the model declares %s: %w", t.DType(), want, ErrInvalidModel)
		}
		if want.Elem == nil {
			opt.Elem = ops.Type{Kind: ops.KindTensor, DType: t.DType(), UnknownRank: true}
		}
		opt.Value = t
		return name, opt, nil
	}
	seqType := ops.Type{Kind: ops.KindSequence, DType: want.DType}
	if want.Elem != nil {
		seqType = *want.Elem
	}
	_, s, err := decodeSequence(value.payload, seqType, o)
	if err != nil {
		return "", nil, fmt.Errorf("OptionalProto value: %w", err)
	}
	if want.Elem == nil {
		opt.Elem = ops.Type{Kind: ops.KindSequence, DType: s.DType, Elem: &ops.Type{Kind: ops.KindTensor, DType: s.DType, UnknownRank: true}}
	}
	opt.Value = s
	return name, opt, nil
}
