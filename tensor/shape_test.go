package tensor

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gocann/gocann/runtime"
)

func TestShapeValidate(t *testing.T) {
	tests := []struct {
		shape   Shape
		ok      bool
		n       int
		strides []int
	}{
		{Shape{}, true, 1, []int{}},
		{nil, true, 1, []int{}},
		{Shape{5}, true, 5, []int{1}},
		{Shape{1, 3, 224, 224}, true, 150528, []int{150528, 50176, 224, 1}},
		{Shape{2, 0, 3}, true, 0, []int{0, 3, 1}},
		{Shape{0}, true, 0, []int{1}},
		{Shape{-1}, false, 0, nil},
		{Shape{2, -3}, false, 0, nil},
		{Shape{1 << 40, 1 << 40}, false, 0, nil},
		{Shape{math.MaxInt}, false, 0, nil},
		{Shape{maxElements}, true, maxElements, []int{1}},
		{Shape{maxElements + 1}, false, 0, nil},
		{Shape{0, 1 << 40, 1 << 40}, false, 0, nil}, // strides would overflow
		{Shape{1 << 20, 1 << 20, 1 << 20}, false, 0, nil},
	}
	for _, tt := range tests {
		err := tt.shape.Validate()
		if tt.ok != (err == nil) {
			t.Errorf("%v.Validate() = %v, want ok %v", tt.shape, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, runtime.ErrInvalidArgument) {
				t.Errorf("%v.Validate() = %v, want ErrInvalidArgument", tt.shape, err)
			}
			continue
		}
		if n := tt.shape.NumElements(); n != tt.n {
			t.Errorf("%v.NumElements() = %d, want %d", tt.shape, n, tt.n)
		}
		if s := tt.shape.Strides(); !slices.Equal(s, tt.strides) {
			t.Errorf("%v.Strides() = %v, want %v", tt.shape, s, tt.strides)
		}
	}
}

func TestShapeEqualCloneString(t *testing.T) {
	a := Shape{1, 3, 224, 224}
	c := a.Clone()
	c[0] = 7
	if a[0] != 1 {
		t.Error("Clone shares memory")
	}
	if a.Equal(c) || !a.Equal(Shape{1, 3, 224, 224}) || a.Equal(Shape{1, 3, 224}) {
		t.Error("Equal is wrong")
	}
	if !Shape(nil).Equal(Shape{}) {
		t.Error("nil and empty shapes differ")
	}
	if Shape(nil).Clone() == nil {
		t.Error("Clone of nil is nil")
	}
	for _, tt := range []struct {
		s    Shape
		want string
	}{{a, "[1 3 224 224]"}, {Shape{}, "[]"}, {nil, "[]"}, {Shape{0}, "[0]"}} {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseShape(t *testing.T) {
	tests := []struct {
		in   string
		want Shape // nil: an error
	}{
		{"1x3x224x224", Shape{1, 3, 224, 224}},
		{"1X3", Shape{1, 3}},
		{"2,3", Shape{2, 3}},
		{" 2 , 3 ", Shape{2, 3}},
		{"[2 3]", Shape{2, 3}},
		{"2 3", Shape{2, 3}},
		{"7", Shape{7}},
		{"0x5", Shape{0, 5}},
		{"", Shape{}},
		{"  ", Shape{}},
		{"scalar", Shape{}},
		{"Scalar", Shape{}},
		{"[]", Shape{}},
		{"2xx3", nil},
		{"2x", nil},
		{"x2", nil},
		{",", nil},
		{"2x-3", nil},
		{"-1", nil},
		{"axb", nil},
		{"2x3.5", nil},
		{"[2 3", nil},
		{"1099511627776x1099511627776", nil},
		{"99999999999999999999999", nil},
	}
	for _, tt := range tests {
		got, err := ParseShape(tt.in)
		if tt.want == nil {
			if !errors.Is(err, runtime.ErrInvalidArgument) {
				t.Errorf("ParseShape(%q) = %v, %v; want ErrInvalidArgument", tt.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got == nil {
			t.Errorf("ParseShape(%q) = %#v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	// String output parses back.
	for _, s := range []Shape{{}, {4}, {1, 3, 224, 224}} {
		if got, err := ParseShape(s.String()); err != nil || !got.Equal(s) {
			t.Errorf("ParseShape(%q) = %v, %v", s.String(), got, err)
		}
	}
}

func TestPermutesInPlace(t *testing.T) {
	for _, c := range []struct {
		s    Shape
		perm []int
		want bool
	}{
		{Shape{1, 128, 8}, []int{1, 0, 2}, true},
		{Shape{4, 1, 1, 3}, []int{0, 2, 3, 1}, true},
		{Shape{2, 3}, []int{0, 1}, true},
		{Shape{2, 1, 3}, []int{2, 1, 0}, false},
		{Shape{2, 3}, []int{1, 0}, false},
		{Shape{-1, 1, 3}, []int{1, 0, 2}, false},
		{Shape{0, 5}, []int{1, 0}, false},
	} {
		if got := c.s.PermutesInPlace(c.perm); got != c.want {
			t.Errorf("%v by %v: %v, want %v", c.s, c.perm, got, c.want)
		}
	}
}
