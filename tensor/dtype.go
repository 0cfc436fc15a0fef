package tensor

import (
	"fmt"
	"strings"

	"github.com/gocann/gocann/runtime"
)

// DType is the element type of a tensor. Its values are ONNX
// TensorProto.DataType numbers, so that models decode without a table.
type DType int32

// The element types, numbered as in ONNX.
const (
	Undefined  DType = 0
	Float32    DType = 1
	Uint8      DType = 2
	Int8       DType = 3
	Uint16     DType = 4
	Int16      DType = 5
	Int32      DType = 6
	Int64      DType = 7
	String     DType = 8
	Bool       DType = 9
	Float16    DType = 10
	Float64    DType = 11
	Uint32     DType = 12
	Uint64     DType = 13
	Complex64  DType = 14
	Complex128 DType = 15
	BFloat16   DType = 16
)

// dtypeInfo is indexed by DType; names are those String returns.
var dtypeInfo = [...]struct {
	name string
	size int
}{
	Undefined:  {"undefined", 0},
	Float32:    {"float32", 4},
	Uint8:      {"uint8", 1},
	Int8:       {"int8", 1},
	Uint16:     {"uint16", 2},
	Int16:      {"int16", 2},
	Int32:      {"int32", 4},
	Int64:      {"int64", 8},
	String:     {"string", 0},
	Bool:       {"bool", 1},
	Float16:    {"float16", 2},
	Float64:    {"float64", 8},
	Uint32:     {"uint32", 4},
	Uint64:     {"uint64", 8},
	Complex64:  {"complex64", 8},
	Complex128: {"complex128", 16},
	BFloat16:   {"bfloat16", 2},
}

// String returns the Go-style name ("float32", "bfloat16"), or "DType(N)"
// for a number this package does not know.
func (d DType) String() string {
	if d >= 0 && int(d) < len(dtypeInfo) {
		return dtypeInfo[d].name
	}
	return fmt.Sprintf("DType(%d)", int32(d))
}

// Size is the number of bytes per element. It is 0 for String, whose
// elements have no fixed size, and for invalid types.
func (d DType) Size() int {
	if d.Valid() {
		return dtypeInfo[d].size
	}
	return 0
}

// Valid reports whether d is one of the element types above other than
// Undefined.
func (d DType) Valid() bool { return d > Undefined && int(d) < len(dtypeInfo) }

// IsFloat reports whether d is a real floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case Float16, BFloat16, Float32, Float64:
		return true
	}
	return false
}

// IsInteger reports whether d is a signed or unsigned integer type (Bool is
// not).
func (d DType) IsInteger() bool {
	switch d {
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64:
		return true
	}
	return false
}

// IsSigned reports whether d holds negative values: signed integers, real
// and complex floating point.
func (d DType) IsSigned() bool {
	switch d {
	case Int8, Int16, Int32, Int64:
		return true
	}
	return d.IsFloat() || d.IsComplex()
}

// IsComplex reports whether d is Complex64 or Complex128.
func (d DType) IsComplex() bool { return d == Complex64 || d == Complex128 }

// dtypeNames maps every accepted spelling, lower case, to its type.
var dtypeNames = func() map[string]DType {
	m := map[string]DType{
		// ONNX TensorProto names that differ from ours, and common aliases
		// seen on command lines.
		"float":  Float32,
		"double": Float64,
		"half":   Float16,
		"fp16":   Float16,
		"fp32":   Float32,
		"fp64":   Float64,
		"bf16":   BFloat16,
	}
	for d := Float32; d.Valid(); d++ {
		m[dtypeInfo[d].name] = d
	}
	return m
}()

// ParseDType reads a type name: the names String returns, the ONNX
// TensorProto names ("FLOAT", "DOUBLE", "INT64", "BFLOAT16"), ONNX type
// strings ("tensor(float)") and the aliases half, fp16, fp32, fp64 and bf16,
// all case-insensitive. "undefined" is refused: it names no element type.
func ParseDType(s string) (DType, error) {
	key := strings.ToLower(strings.TrimSpace(s))
	if inner, ok := strings.CutPrefix(key, "tensor("); ok {
		if inner, ok = strings.CutSuffix(inner, ")"); ok {
			key = strings.TrimSpace(inner)
		}
	}
	if d, ok := dtypeNames[key]; ok {
		return d, nil
	}
	return Undefined, fmt.Errorf("tensor: unknown dtype %q: %w", s, runtime.ErrInvalidArgument)
}

// Element is the set of Go types that tensor elements can have. F16 and
// BF16 are this package's bit-pattern types for Float16 and BFloat16.
type Element interface {
	float32 | float64 | F16 | BF16 |
		int8 | int16 | int32 | int64 |
		uint8 | uint16 | uint32 | uint64 |
		bool | string | complex64 | complex128
}

// DTypeOf returns the DType whose elements are Go values of type T.
func DTypeOf[T Element]() DType {
	var zero T
	switch any(zero).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case F16:
		return Float16
	case BF16:
		return BFloat16
	case int8:
		return Int8
	case int16:
		return Int16
	case int32:
		return Int32
	case int64:
		return Int64
	case uint8:
		return Uint8
	case uint16:
		return Uint16
	case uint32:
		return Uint32
	case uint64:
		return Uint64
	case bool:
		return Bool
	case string:
		return String
	case complex64:
		return Complex64
	case complex128:
		return Complex128
	}
	return Undefined // unreachable: Element lists exactly the cases above
}
