package tensor

import (
	"errors"
	"testing"

	"github.com/gocann/gocann/runtime"
)

var allDTypes = []DType{Float32, Uint8, Int8, Uint16, Int16, Int32, Int64, String, Bool,
	Float16, Float64, Uint32, Uint64, Complex64, Complex128, BFloat16}

func TestDTypeTable(t *testing.T) {
	tests := []struct {
		dt                                   DType
		name                                 string
		size                                 int
		float, integer, signed, complexValue bool
	}{
		{Float32, "float32", 4, true, false, true, false},
		{Uint8, "uint8", 1, false, true, false, false},
		{Int8, "int8", 1, false, true, true, false},
		{Uint16, "uint16", 2, false, true, false, false},
		{Int16, "int16", 2, false, true, true, false},
		{Int32, "int32", 4, false, true, true, false},
		{Int64, "int64", 8, false, true, true, false},
		{String, "string", 0, false, false, false, false},
		{Bool, "bool", 1, false, false, false, false},
		{Float16, "float16", 2, true, false, true, false},
		{Float64, "float64", 8, true, false, true, false},
		{Uint32, "uint32", 4, false, true, false, false},
		{Uint64, "uint64", 8, false, true, false, false},
		{Complex64, "complex64", 8, false, false, true, true},
		{Complex128, "complex128", 16, false, false, true, true},
		{BFloat16, "bfloat16", 2, true, false, true, false},
	}
	if len(tests) != len(allDTypes) {
		t.Fatalf("table has %d types, want %d", len(tests), len(allDTypes))
	}
	for _, tt := range tests {
		d := tt.dt
		if got := d.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", int(d), got, tt.name)
		}
		if got := d.Size(); got != tt.size {
			t.Errorf("%v.Size() = %d, want %d", d, got, tt.size)
		}
		if !d.Valid() {
			t.Errorf("%v.Valid() = false", d)
		}
		if d.IsFloat() != tt.float || d.IsInteger() != tt.integer || d.IsSigned() != tt.signed || d.IsComplex() != tt.complexValue {
			t.Errorf("%v: float %v integer %v signed %v complex %v, want %v %v %v %v", d,
				d.IsFloat(), d.IsInteger(), d.IsSigned(), d.IsComplex(), tt.float, tt.integer, tt.signed, tt.complexValue)
		}
		p, err := ParseDType(tt.name)
		if err != nil || p != d {
			t.Errorf("ParseDType(%q) = %v, %v; want %v", tt.name, p, err, d)
		}
	}
}

func TestDTypeInvalid(t *testing.T) {
	for _, d := range []DType{Undefined, -1, 17, 1000} {
		if d.Valid() || d.Size() != 0 || d.IsFloat() || d.IsInteger() || d.IsSigned() || d.IsComplex() {
			t.Errorf("%v: want invalid, size 0, no class", d)
		}
	}
	if got := DType(17).String(); got != "DType(17)" {
		t.Errorf("DType(17).String() = %q", got)
	}
	if got := DType(-3).String(); got != "DType(-3)" {
		t.Errorf("DType(-3).String() = %q", got)
	}
	if got := Undefined.String(); got != "undefined" {
		t.Errorf("Undefined.String() = %q", got)
	}
}

func TestParseDType(t *testing.T) {
	tests := []struct {
		in   string
		want DType
	}{
		{"float", Float32}, {"FLOAT", Float32}, {"double", Float64}, {"DOUBLE", Float64},
		{"INT64", Int64}, {"UINT8", Uint8}, {"FLOAT16", Float16}, {"BFLOAT16", BFloat16},
		{"BOOL", Bool}, {"STRING", String}, {"COMPLEX64", Complex64}, {"COMPLEX128", Complex128},
		{"tensor(float)", Float32}, {"tensor(int64)", Int64}, {" Float32 ", Float32},
		{"half", Float16}, {"fp16", Float16}, {"bf16", BFloat16}, {"fp32", Float32}, {"fp64", Float64},
	}
	for _, tt := range tests {
		got, err := ParseDType(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDType(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "undefined", "float8", "int4", "tensor(", "tensor(float", "DType(17)", "1"} {
		if got, err := ParseDType(bad); !errors.Is(err, runtime.ErrInvalidArgument) || got != Undefined {
			t.Errorf("ParseDType(%q) = %v, %v; want Undefined, ErrInvalidArgument", bad, got, err)
		}
	}
}

func TestDTypeOf(t *testing.T) {
	tests := []struct {
		got, want DType
	}{
		{DTypeOf[float32](), Float32}, {DTypeOf[float64](), Float64},
		{DTypeOf[F16](), Float16}, {DTypeOf[BF16](), BFloat16},
		{DTypeOf[int8](), Int8}, {DTypeOf[int16](), Int16}, {DTypeOf[int32](), Int32}, {DTypeOf[int64](), Int64},
		{DTypeOf[uint8](), Uint8}, {DTypeOf[uint16](), Uint16}, {DTypeOf[uint32](), Uint32}, {DTypeOf[uint64](), Uint64},
		{DTypeOf[bool](), Bool}, {DTypeOf[string](), String},
		{DTypeOf[complex64](), Complex64}, {DTypeOf[complex128](), Complex128},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("DTypeOf = %v, want %v", tt.got, tt.want)
		}
	}
}
