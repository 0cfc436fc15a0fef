package kernels

import (
	"fmt"
	"math"
)

// BinaryOp is an element-wise float32 arithmetic operation.
type BinaryOp int

// The operations: IEEE float32 arithmetic, exactly as Go's operators, so
// every vector level gives bit-identical results.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	numBinaryOps
)

func (op BinaryOp) String() string {
	switch op {
	case Add:
		return "Add"
	case Sub:
		return "Sub"
	case Mul:
		return "Mul"
	case Div:
		return "Div"
	}
	return fmt.Sprintf("BinaryOp(%d)", int(op))
}

func (op BinaryOp) check() {
	if op < 0 || op >= numBinaryOps {
		panic(fmt.Sprintf("kernels: unknown %v", op))
	}
}

// Vector forms of one level: a nil entry means Go.
type (
	vvFunc   func(dst, a, b *float32, n int)
	vsFunc   func(dst, a *float32, s float32, n int)
	svFunc   func(dst *float32, s float32, b *float32, n int)
	clipFunc func(dst, a *float32, lo, hi float32, n int)
	mapFunc  func(dst, a *float32, n int)
)

// BinaryF32 sets dst[i] = a[i] op b[i]; a and b must hold len(dst)
// elements. dst may alias a or b.
func BinaryF32(op BinaryOp, dst, a, b []float32) {
	op.check()
	a, b = a[:len(dst)], b[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if f := simd.vv[op]; f != nil {
		f(&dst[0], &a[0], &b[0], len(dst))
		return
	}
	switch op {
	case Add:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case Sub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case Mul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case Div:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	}
}

// BinaryScalarF32 sets dst[i] = a[i] op s; a must hold len(dst) elements.
func BinaryScalarF32(op BinaryOp, dst, a []float32, s float32) {
	op.check()
	a = a[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if f := simd.vs[op]; f != nil {
		f(&dst[0], &a[0], s, len(dst))
		return
	}
	switch op {
	case Add:
		for i := range dst {
			dst[i] = a[i] + s
		}
	case Sub:
		for i := range dst {
			dst[i] = a[i] - s
		}
	case Mul:
		for i := range dst {
			dst[i] = a[i] * s
		}
	case Div:
		for i := range dst {
			dst[i] = a[i] / s
		}
	}
}

// ScalarBinaryF32 sets dst[i] = s op b[i]; b must hold len(dst) elements.
func ScalarBinaryF32(op BinaryOp, dst []float32, s float32, b []float32) {
	op.check()
	if op == Add || op == Mul {
		BinaryScalarF32(op, dst, b, s)
		return
	}
	b = b[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if f := simd.sv[op]; f != nil {
		f(&dst[0], s, &b[0], len(dst))
		return
	}
	switch op {
	case Sub:
		for i := range dst {
			dst[i] = s - b[i]
		}
	case Div:
		for i := range dst {
			dst[i] = s / b[i]
		}
	}
}

// ClipF32 sets dst[i] = min(max(src[i], lo), hi); NaN stays NaN. ReLU is
// ClipF32(dst, src, 0, +Inf).
func ClipF32(dst, src []float32, lo, hi float32) {
	src = src[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if f := simd.clip; f != nil {
		f(&dst[0], &src[0], lo, hi, len(dst))
		return
	}
	for i, v := range src {
		dst[i] = min(max(v, lo), hi)
	}
}

// ReluF32 sets dst[i] = max(src[i], 0); NaN stays NaN.
func ReluF32(dst, src []float32) { ClipF32(dst, src, 0, float32(math.Inf(1))) }

// SqrtF32 sets dst[i] = sqrt(src[i]), correctly rounded.
func SqrtF32(dst, src []float32) {
	src = src[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if f := simd.sqrt; f != nil {
		f(&dst[0], &src[0], len(dst))
		return
	}
	for i, v := range src {
		dst[i] = float32(math.Sqrt(float64(v)))
	}
}
