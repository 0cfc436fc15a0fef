package tensor

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gocann/gocann/runtime"
)

// Shape is a tensor's dimensions, outermost first. A rank-0 (empty) shape
// is a scalar of one element; a 0 anywhere makes a tensor with no elements.
type Shape []int

// maxElements bounds a tensor's element count so that its size in bytes, at
// most 16 per element, fits in an int on every platform.
const maxElements = math.MaxInt / 16

// Validate reports negative dimensions and shapes too large to address as
// errors wrapping runtime.ErrInvalidArgument. Zero dimensions count as one
// in the size check, so that strides cannot overflow either.
func (s Shape) Validate() error {
	if err := s.check(); err != nil {
		return fmt.Errorf("tensor: %w", err)
	}
	return nil
}

// check is Validate without the package prefix, for callers that add their
// own context.
func (s Shape) check() error {
	n := 1
	for i, d := range s {
		if d < 0 {
			return fmt.Errorf("shape %v: dimension %d is negative: %w", s, i, runtime.ErrInvalidArgument)
		}
		if d == 0 {
			continue
		}
		if n > maxElements/d {
			return fmt.Errorf("shape %v: more than %d elements: %w", s, maxElements, runtime.ErrInvalidArgument)
		}
		n *= d
	}
	return nil
}

// NumElements is the product of the dimensions, 1 for a scalar. It
// assumes Validate passed.
func (s Shape) NumElements() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Strides returns the row-major strides, in elements.
func (s Shape) Strides() []int {
	st := make([]int, len(s))
	n := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = n
		n *= s[i]
	}
	return st
}

// Equal reports whether s and o have the same dimensions; nil equals an
// PermutesInPlace reports whether transposing s by perm (a permutation of
// its dimensions) leaves every element where it is: the dimensions larger
// than 1 keep their order, so the transpose is a reshape. It is false for
// a shape with unknown (negative) dimensions.
func (s Shape) PermutesInPlace(perm []int) bool {
	last := -1
	for _, p := range perm {
		switch {
		case s[p] < 0:
			return false
		case s[p] == 1:
		case p < last:
			return false
		default:
			last = p
		}
	}
	return true
}

// empty shape.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy that shares nothing with s (never nil).
func (s Shape) Clone() Shape {
	c := make(Shape, len(s))
	copy(c, s)
	return c
}

// String formats s as "[1 3 224 224]"; a scalar is "[]".
func (s Shape) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteByte(']')
	return b.String()
}

// ParseShape reads a shape from a command-line flag: dimensions separated
// by 'x', ',' or spaces ("1x3x224x224", "2,3", "[2 3]" as String writes it);
// "", "[]" and "scalar" are rank 0. The result passes Validate.
func ParseShape(s string) (Shape, error) {
	body := strings.TrimSpace(s)
	if b, ok := strings.CutPrefix(body, "["); ok {
		if b, ok = strings.CutSuffix(b, "]"); !ok {
			return nil, fmt.Errorf("tensor: shape %q: unbalanced '[': %w", s, runtime.ErrInvalidArgument)
		}
		body = strings.TrimSpace(b)
	}
	if body == "" || strings.EqualFold(body, "scalar") {
		return Shape{}, nil
	}
	var parts []string
	if strings.ContainsAny(body, "xX,") {
		parts = strings.FieldsFunc(body, func(r rune) bool { return r == 'x' || r == 'X' || r == ',' })
		// FieldsFunc drops empty fields; "2xx3" or "2x" must not pass.
		if n := strings.Count(body, "x") + strings.Count(body, "X") + strings.Count(body, ","); n != len(parts)-1 {
			return nil, fmt.Errorf("tensor: shape %q: empty dimension: %w", s, runtime.ErrInvalidArgument)
		}
	} else {
		parts = strings.Fields(body)
	}
	shape := make(Shape, len(parts))
	for i, p := range parts {
		d, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("tensor: shape %q: dimension %q is not an integer: %w", s, p, runtime.ErrInvalidArgument)
		}
		shape[i] = d
	}
	if err := shape.check(); err != nil {
		return nil, fmt.Errorf("tensor: parse %q: %w", s, err)
	}
	return shape, nil
}
