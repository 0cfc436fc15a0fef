package comm

import (
	"fmt"
	"unsafe"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// reducer combines src into dst element-wise (dst = dst ⊕ src). Both hold
// whole elements of the reducer's type and have the same length. It runs
// on byte slices because the transports hand over bytes, often straight
// from a peer's buffer or a socket's read buffer.
type reducer func(dst, src []byte)

// wireType is the element type a reduction travels and accumulates in:
// float16 and bfloat16 widen to float32, so that sums of many ranks do not
// lose precision at every hop. Everything else travels as it is.
func wireType(dt tensor.DType) tensor.DType {
	if dt == tensor.Float16 || dt == tensor.BFloat16 {
		return tensor.Float32
	}
	return dt
}

// checkReducible reports whether op is defined on dt, before anything is
// sent, so that a bad call fails alike on every rank.
func checkReducible(dt tensor.DType, op ReduceOp) error {
	if !op.valid() {
		return fmt.Errorf("comm: %v: %w", op, runtime.ErrInvalidArgument)
	}
	switch {
	case !dt.Valid() || dt == tensor.String:
		return fmt.Errorf("comm: cannot reduce %v tensors: %w", dt, runtime.ErrUnsupported)
	case dt.IsComplex() && (op == Min || op == Max):
		return fmt.Errorf("comm: %v of %v: complex numbers have no order: %w", op, dt, runtime.ErrUnsupported)
	case dt == tensor.Bool && op == Avg:
		return fmt.Errorf("comm: avg of bool: %w", runtime.ErrUnsupported)
	}
	return nil
}

// reducerFor returns the kernel for op on dt, which must be a wire type
// that passed checkReducible. Avg reduces as Sum; finishAvg divides.
func reducerFor(dt tensor.DType, op ReduceOp) reducer {
	if op == Avg {
		op = Sum
	}
	switch dt {
	case tensor.Float32:
		return ordered[float32](op)
	case tensor.Float64:
		return ordered[float64](op)
	case tensor.Int8:
		return ordered[int8](op)
	case tensor.Int16:
		return ordered[int16](op)
	case tensor.Int32:
		return ordered[int32](op)
	case tensor.Int64:
		return ordered[int64](op)
	case tensor.Uint8:
		return ordered[uint8](op)
	case tensor.Uint16:
		return ordered[uint16](op)
	case tensor.Uint32:
		return ordered[uint32](op)
	case tensor.Uint64:
		return ordered[uint64](op)
	case tensor.Complex64:
		return complexOp[complex64](op)
	case tensor.Complex128:
		return complexOp[complex128](op)
	case tensor.Bool:
		if op == Sum || op == Max {
			return func(dst, src []byte) {
				src = src[:len(dst)]
				for i := range dst {
					dst[i] |= src[i]
				}
			}
		}
		return func(dst, src []byte) {
			src = src[:len(dst)]
			for i := range dst {
				dst[i] &= src[i]
			}
		}
	}
	panic(fmt.Sprintf("comm: no reducer for %v %v", dt, op)) // checkReducible rules this out
}

type realNumber interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// as views b as a slice of T. The buffers handed here are aligned for T:
// tensor storage, staging buffers and transport buffers are allocated
// 8-aligned and cut at multiples of the element size.
func as[T any](b []byte) []T {
	var zero T
	n := len(b) / int(unsafe.Sizeof(zero))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func ordered[T realNumber](op ReduceOp) reducer {
	switch op {
	case Sum:
		return func(db, sb []byte) { sumInto(as[T](db), as[T](sb)) }
	case Prod:
		return func(db, sb []byte) {
			d, s := as[T](db), as[T](sb)
			s = s[:len(d)]
			for i := range d {
				d[i] *= s[i]
			}
		}
	case Min:
		return func(db, sb []byte) {
			d, s := as[T](db), as[T](sb)
			s = s[:len(d)]
			for i := range d {
				// Written out rather than min(), which would prefer NaN:
				// a NaN on any rank should win, and it does here for both
				// operands only when compared this way round.
				if s[i] < d[i] || s[i] != s[i] {
					d[i] = s[i]
				}
			}
		}
	case Max:
		return func(db, sb []byte) {
			d, s := as[T](db), as[T](sb)
			s = s[:len(d)]
			for i := range d {
				if s[i] > d[i] || s[i] != s[i] {
					d[i] = s[i]
				}
			}
		}
	}
	panic("comm: unreachable reduction")
}

// sumOfFor returns dst = a ⊕ b for op on dt when there is such a kernel
// (Sum and Avg on real numbers), else nil. An all-reduce uses it where it
// first writes a region of its result, saving the copy of a into dst.
func sumOfFor(dt tensor.DType, op ReduceOp) func(dst, a, b []byte) {
	if op != Sum && op != Avg {
		return nil
	}
	switch dt {
	case tensor.Float32:
		return func(d, a, b []byte) { sumOf(as[float32](d), as[float32](a), as[float32](b)) }
	case tensor.Float64:
		return func(d, a, b []byte) { sumOf(as[float64](d), as[float64](a), as[float64](b)) }
	case tensor.Int32:
		return func(d, a, b []byte) { sumOf(as[int32](d), as[int32](a), as[int32](b)) }
	case tensor.Int64:
		return func(d, a, b []byte) { sumOf(as[int64](d), as[int64](a), as[int64](b)) }
	}
	return nil
}

func sumOf[T realNumber](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	i := 0
	for ; i+8 <= len(d); i += 8 {
		// Through array pointers: one bounds check per eight elements.
		dd, aa, bb := (*[8]T)(d[i:]), (*[8]T)(a[i:]), (*[8]T)(b[i:])
		dd[0], dd[1], dd[2], dd[3] = aa[0]+bb[0], aa[1]+bb[1], aa[2]+bb[2], aa[3]+bb[3]
		dd[4], dd[5], dd[6], dd[7] = aa[4]+bb[4], aa[5]+bb[5], aa[6]+bb[6], aa[7]+bb[7]
	}
	for ; i < len(d); i++ {
		d[i] = a[i] + b[i]
	}
}

// sumInto is the hot loop of every all-reduce; unrolled by eight through
// array pointers (one bounds check per eight elements), which the Go
// compiler does not do by itself.
func sumInto[T realNumber | complex64 | complex128](d, s []T) {
	s = s[:len(d)]
	i := 0
	for ; i+8 <= len(d); i += 8 {
		dd, ss := (*[8]T)(d[i:]), (*[8]T)(s[i:])
		dd[0], dd[1], dd[2], dd[3] = dd[0]+ss[0], dd[1]+ss[1], dd[2]+ss[2], dd[3]+ss[3]
		dd[4], dd[5], dd[6], dd[7] = dd[4]+ss[4], dd[5]+ss[5], dd[6]+ss[6], dd[7]+ss[7]
	}
	for ; i < len(d); i++ {
		d[i] += s[i]
	}
}

func complexOp[T complex64 | complex128](op ReduceOp) reducer {
	if op == Sum {
		return func(db, sb []byte) { sumInto(as[T](db), as[T](sb)) }
	}
	return func(db, sb []byte) { // Prod
		d, s := as[T](db), as[T](sb)
		s = s[:len(d)]
		for i := range d {
			d[i] *= s[i]
		}
	}
}

// finishAvg divides the sums in b (of wire type dt) by n.
func finishAvg(dt tensor.DType, b []byte, n int) {
	switch dt {
	case tensor.Float32:
		divide(as[float32](b), float32(n))
	case tensor.Float64:
		divide(as[float64](b), float64(n))
	case tensor.Int8:
		divide(as[int8](b), int8(n))
	case tensor.Int16:
		divide(as[int16](b), int16(n))
	case tensor.Int32:
		divide(as[int32](b), int32(n))
	case tensor.Int64:
		divide(as[int64](b), int64(n))
	case tensor.Uint8:
		divide(as[uint8](b), uint8(n))
	case tensor.Uint16:
		divide(as[uint16](b), uint16(n))
	case tensor.Uint32:
		divide(as[uint32](b), uint32(n))
	case tensor.Uint64:
		divide(as[uint64](b), uint64(n))
	case tensor.Complex64:
		divide(as[complex64](b), complex(float32(n), 0))
	case tensor.Complex128:
		divide(as[complex128](b), complex(float64(n), 0))
	}
}

func divide[T realNumber | complex64 | complex128](d []T, n T) {
	if n == 0 { // a world of 256 ranks in uint8: the sum already wrapped
		return
	}
	for i := range d {
		d[i] /= n
	}
}

// widen converts n half-precision elements in src (dtype dt) to float32 in
// dst; narrow converts back, rounding to nearest even.
func widen(dt tensor.DType, dst, src []byte) {
	d := as[float32](dst)
	if dt == tensor.Float16 {
		for i, h := range as[tensor.F16](src) {
			d[i] = h.Float32()
		}
		return
	}
	for i, h := range as[tensor.BF16](src) {
		d[i] = h.Float32()
	}
}

func narrow(dt tensor.DType, dst, src []byte) {
	s := as[float32](src)
	if dt == tensor.Float16 {
		d := as[tensor.F16](dst)
		for i := range d {
			d[i] = tensor.Float16FromFloat32(s[i])
		}
		return
	}
	d := as[tensor.BF16](dst)
	for i := range d {
		d[i] = tensor.BFloat16FromFloat32(s[i])
	}
}
