package comm

import (
	"fmt"
	"math"
	"math/cmplx"
	"testing"

	"github.com/gocann/gocann/tensor"
)

// Test data: every rank's input is small integers, so that sums and
// products are exact in every type, whatever order an algorithm reduces
// in (integer overflow wraps alike in any order).

var numericTypes = []tensor.DType{
	tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16,
	tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64,
	tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64,
	tensor.Complex64, tensor.Complex128, tensor.Bool,
}

// input is rank r's value at element i for a reduction op (products stay
// in {1, 2} to keep exact).
func input(op ReduceOp, r, i int) int64 {
	if op == Prod {
		return int64(1 + (r+i)%2)
	}
	return int64((r*7+i*3)%5 + 1)
}

func inputs(op ReduceOp, r, n, base int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = input(op, r, base+i)
	}
	return v
}

// build makes a host tensor of dt holding vals.
func build(t testing.TB, dt tensor.DType, vals []int64) *tensor.Tensor {
	t.Helper()
	var x *tensor.Tensor
	var err error
	switch dt {
	case tensor.Float32:
		x, err = tensor.FromSlice(conv(vals, func(v int64) float32 { return float32(v) }))
	case tensor.Float64:
		x, err = tensor.FromSlice(conv(vals, func(v int64) float64 { return float64(v) }))
	case tensor.Float16:
		x, err = tensor.FromSlice(conv(vals, func(v int64) tensor.F16 { return tensor.Float16FromFloat32(float32(v)) }))
	case tensor.BFloat16:
		x, err = tensor.FromSlice(conv(vals, func(v int64) tensor.BF16 { return tensor.BFloat16FromFloat32(float32(v)) }))
	case tensor.Int8:
		x, err = tensor.FromSlice(conv(vals, func(v int64) int8 { return int8(v) }))
	case tensor.Int16:
		x, err = tensor.FromSlice(conv(vals, func(v int64) int16 { return int16(v) }))
	case tensor.Int32:
		x, err = tensor.FromSlice(conv(vals, func(v int64) int32 { return int32(v) }))
	case tensor.Int64:
		x, err = tensor.FromSlice(vals)
	case tensor.Uint8:
		x, err = tensor.FromSlice(conv(vals, func(v int64) uint8 { return uint8(v) }))
	case tensor.Uint16:
		x, err = tensor.FromSlice(conv(vals, func(v int64) uint16 { return uint16(v) }))
	case tensor.Uint32:
		x, err = tensor.FromSlice(conv(vals, func(v int64) uint32 { return uint32(v) }))
	case tensor.Uint64:
		x, err = tensor.FromSlice(conv(vals, func(v int64) uint64 { return uint64(v) }))
	case tensor.Complex64:
		x, err = tensor.FromSlice(conv(vals, func(v int64) complex64 { return complex(float32(v), 1) }))
	case tensor.Complex128:
		x, err = tensor.FromSlice(conv(vals, func(v int64) complex128 { return complex(float64(v), 1) }))
	case tensor.Bool:
		x, err = tensor.FromSlice(conv(vals, func(v int64) bool { return v%2 == 1 }))
	default:
		t.Fatalf("build: %v", dt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func conv[T any](vals []int64, f func(int64) T) []T {
	out := make([]T, len(vals))
	for i, v := range vals {
		out[i] = f(v)
	}
	return out
}

// values reads a host tensor as complex128 (bools as 0 and 1).
func values(t testing.TB, x *tensor.Tensor) []complex128 {
	t.Helper()
	h, err := x.ToHost(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []complex128
	get := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	switch h.DType() {
	case tensor.Float32:
		v, err := tensor.ToSlice[float32](h)
		get(err)
		out = conv2(v, func(x float32) complex128 { return complex(float64(x), 0) })
	case tensor.Float64:
		v, err := tensor.ToSlice[float64](h)
		get(err)
		out = conv2(v, func(x float64) complex128 { return complex(x, 0) })
	case tensor.Float16:
		v, err := tensor.ToSlice[tensor.F16](h)
		get(err)
		out = conv2(v, func(x tensor.F16) complex128 { return complex(float64(x.Float32()), 0) })
	case tensor.BFloat16:
		v, err := tensor.ToSlice[tensor.BF16](h)
		get(err)
		out = conv2(v, func(x tensor.BF16) complex128 { return complex(float64(x.Float32()), 0) })
	case tensor.Int8:
		v, err := tensor.ToSlice[int8](h)
		get(err)
		out = conv2(v, func(x int8) complex128 { return complex(float64(x), 0) })
	case tensor.Int16:
		v, err := tensor.ToSlice[int16](h)
		get(err)
		out = conv2(v, func(x int16) complex128 { return complex(float64(x), 0) })
	case tensor.Int32:
		v, err := tensor.ToSlice[int32](h)
		get(err)
		out = conv2(v, func(x int32) complex128 { return complex(float64(x), 0) })
	case tensor.Int64:
		v, err := tensor.ToSlice[int64](h)
		get(err)
		out = conv2(v, func(x int64) complex128 { return complex(float64(x), 0) })
	case tensor.Uint8:
		v, err := tensor.ToSlice[uint8](h)
		get(err)
		out = conv2(v, func(x uint8) complex128 { return complex(float64(x), 0) })
	case tensor.Uint16:
		v, err := tensor.ToSlice[uint16](h)
		get(err)
		out = conv2(v, func(x uint16) complex128 { return complex(float64(x), 0) })
	case tensor.Uint32:
		v, err := tensor.ToSlice[uint32](h)
		get(err)
		out = conv2(v, func(x uint32) complex128 { return complex(float64(x), 0) })
	case tensor.Uint64:
		v, err := tensor.ToSlice[uint64](h)
		get(err)
		out = conv2(v, func(x uint64) complex128 { return complex(float64(x), 0) })
	case tensor.Complex64:
		v, err := tensor.ToSlice[complex64](h)
		get(err)
		out = conv2(v, func(x complex64) complex128 { return complex128(x) })
	case tensor.Complex128:
		v, err := tensor.ToSlice[complex128](h)
		get(err)
		out = v
	case tensor.Bool:
		v, err := tensor.ToSlice[bool](h)
		get(err)
		out = conv2(v, func(x bool) complex128 {
			if x {
				return 1
			}
			return 0
		})
	}
	return out
}

func conv2[S, T any](vals []S, f func(S) T) []T {
	out := make([]T, len(vals))
	for i, v := range vals {
		out[i] = f(v)
	}
	return out
}

// cast is what exact value v becomes once stored in dt, as complex128.
func cast(dt tensor.DType, v complex128) complex128 {
	re := real(v)
	switch dt {
	case tensor.Float32:
		return complex(float64(float32(re)), 0)
	case tensor.Float16:
		return complex(float64(tensor.Float16FromFloat32(float32(re)).Float32()), 0)
	case tensor.BFloat16:
		return complex(float64(tensor.BFloat16FromFloat32(float32(re)).Float32()), 0)
	case tensor.Int8:
		return complex(float64(int8(int64(re))), 0)
	case tensor.Int16:
		return complex(float64(int16(int64(re))), 0)
	case tensor.Int32:
		return complex(float64(int32(int64(re))), 0)
	case tensor.Int64:
		return complex(float64(int64(re)), 0)
	case tensor.Uint8:
		return complex(float64(uint8(int64(re))), 0)
	case tensor.Uint16:
		return complex(float64(uint16(int64(re))), 0)
	case tensor.Uint32:
		return complex(float64(uint32(int64(re))), 0)
	case tensor.Uint64:
		return complex(float64(uint64(int64(re))), 0)
	case tensor.Complex64:
		return complex128(complex64(v))
	case tensor.Bool:
		if re != 0 {
			return 1
		}
		return 0
	}
	return v
}

// element is rank r's input element i as the exact value build stores.
func element(dt tensor.DType, op ReduceOp, r, i int) complex128 {
	v := input(op, r, i)
	switch {
	case dt.IsComplex():
		return complex(float64(v), 1)
	case dt == tensor.Bool:
		return complex(float64(v%2), 0)
	}
	return complex(float64(v), 0)
}

// reduced is the expected result at element i of op over p ranks.
func reduced(dt tensor.DType, op ReduceOp, p, i int) complex128 {
	acc := element(dt, op, 0, i)
	for r := 1; r < p; r++ {
		v := element(dt, op, r, i)
		switch op {
		case Sum, Avg:
			acc += v
		case Prod:
			acc *= v
		case Min:
			if real(v) < real(acc) {
				acc = v
			}
		case Max:
			if real(v) > real(acc) {
				acc = v
			}
		}
	}
	if dt == tensor.Bool {
		switch op {
		case Sum, Max:
			return cast(dt, complex(math.Min(1, real(acc)), 0))
		}
		all := 1.0
		for r := range p {
			all = math.Min(all, real(element(dt, op, r, i)))
		}
		return complex(all, 0)
	}
	if op == Avg {
		if dt.IsInteger() {
			return cast(dt, complex(math.Trunc(real(cast(dt, acc))/float64(p)), 0))
		}
		acc /= complex(float64(p), 0)
	}
	return cast(dt, acc)
}

// close reports whether got matches want: exactly, except for averages in
// half precision, which round twice (in float32, then to 16 bits).
func near(dt tensor.DType, op ReduceOp, got, want complex128) bool {
	if got == want {
		return true
	}
	if op == Avg && (dt == tensor.Float16 || dt == tensor.BFloat16) {
		return cmplx.Abs(got-want) <= 1e-2*cmplx.Abs(want)
	}
	return false
}

func describe(dt tensor.DType, op ReduceOp, p, n int) string {
	return fmt.Sprintf("%v/%v/p%d/n%d", dt, op, p, n)
}
