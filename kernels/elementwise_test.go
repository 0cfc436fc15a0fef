package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// specials are mixed into the random inputs of the element-wise tests.
var specials = []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
	math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32, 1e-38, 3}

func testInputs(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(8) == 0 {
			x[i] = specials[rng.IntN(len(specials))]
		} else {
			x[i] = float32(rng.NormFloat64() * 10)
		}
	}
	return x
}

// sameBits reports whether a and b are the same float32, any NaN matching
// any NaN.
func sameBits(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// sameValue is sameBits with -0 matching 0: the vector min and max return
// either zero where Go's return +0 for max and -0 for min.
func sameValue(a, b float32) bool { return a == b || sameBits(a, b) }

// lengths covers every tail of both vector widths and the unrolled loop.
var lengths = func() []int {
	var l []int
	for n := 0; n <= 70; n++ {
		l = append(l, n)
	}
	return append(l, 127, 128, 129, 1000, 4099)
}()

// checkVec runs f on inputs of every length, against want element by
// element (exact), with guard values after the output that must survive.
func checkVec(t *testing.T, name string, f func(dst []float32, ins ...[]float32), want func(i int, ins ...[]float32) float32, nIn int) {
	checkVecEq(t, name, f, want, nIn, sameBits)
}

func checkVecEq(t *testing.T, name string, f func(dst []float32, ins ...[]float32), want func(i int, ins ...[]float32) float32, nIn int, eq func(a, b float32) bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	const guard = 37
	for _, n := range lengths {
		ins := make([][]float32, nIn)
		for k := range ins {
			ins[k] = testInputs(rng, n)
		}
		buf := make([]float32, n+guard)
		for i := range buf {
			buf[i] = 12345
		}
		f(buf[:n], ins...)
		for i := 0; i < n; i++ {
			if w := want(i, ins...); !eq(buf[i], w) {
				t.Fatalf("%s n=%d: [%d] = %v, want %v (inputs %v)", name, n, i, buf[i], w, func() []float32 {
					var v []float32
					for _, in := range ins {
						v = append(v, in[i])
					}
					return v
				}())
			}
		}
		for i := n; i < len(buf); i++ {
			if buf[i] != 12345 {
				t.Fatalf("%s n=%d: wrote past the end at %d", name, n, i)
			}
		}
	}
}

func scalarOp(op BinaryOp, a, b float32) float32 {
	switch op {
	case Add:
		return a + b
	case Sub:
		return a - b
	case Mul:
		return a * b
	}
	return a / b
}

func TestBinaryF32(t *testing.T) {
	withSIMD(t, func(t *testing.T) {
		for op := Add; op < numBinaryOps; op++ {
			checkVec(t, fmt.Sprint(op, " vv"), func(dst []float32, in ...[]float32) { BinaryF32(op, dst, in[0], in[1]) },
				func(i int, in ...[]float32) float32 { return scalarOp(op, in[0][i], in[1][i]) }, 2)
			for _, s := range []float32{2.5, -0.1, 0, float32(math.NaN()), float32(math.Inf(1))} {
				checkVec(t, fmt.Sprint(op, " vs ", s), func(dst []float32, in ...[]float32) { BinaryScalarF32(op, dst, in[0], s) },
					func(i int, in ...[]float32) float32 { return scalarOp(op, in[0][i], s) }, 1)
				checkVec(t, fmt.Sprint(op, " sv ", s), func(dst []float32, in ...[]float32) { ScalarBinaryF32(op, dst, s, in[0]) },
					func(i int, in ...[]float32) float32 { return scalarOp(op, s, in[0][i]) }, 1)
			}
			// In place.
			checkVec(t, fmt.Sprint(op, " in place"), func(dst []float32, in ...[]float32) {
				copy(dst, in[0])
				BinaryF32(op, dst, dst, in[1])
			}, func(i int, in ...[]float32) float32 { return scalarOp(op, in[0][i], in[1][i]) }, 2)
		}
	})
}

func TestClipReluSqrtF32(t *testing.T) {
	withSIMD(t, func(t *testing.T) {
		for _, b := range [][2]float32{{0, 6}, {-1, 1}, {0, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0.5}} {
			checkVecEq(t, fmt.Sprint("clip ", b), func(dst []float32, in ...[]float32) { ClipF32(dst, in[0], b[0], b[1]) },
				func(i int, in ...[]float32) float32 { return min(max(in[0][i], b[0]), b[1]) }, 1, sameValue)
		}
		checkVecEq(t, "relu", func(dst []float32, in ...[]float32) { ReluF32(dst, in[0]) },
			func(i int, in ...[]float32) float32 { return max(in[0][i], 0) }, 1, sameValue)
		checkVec(t, "sqrt", func(dst []float32, in ...[]float32) { SqrtF32(dst, in[0]) },
			func(i int, in ...[]float32) float32 { return float32(math.Sqrt(float64(in[0][i]))) }, 1)
	})
}

func TestBinaryOpPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("unknown op did not panic")
		}
	}()
	BinaryF32(numBinaryOps, make([]float32, 1), make([]float32, 1), make([]float32, 1))
}

// BenchmarkBinaryF32 measures Add on slices of typical activation sizes.
func BenchmarkBinaryF32(b *testing.B) {
	for _, n := range []int{256, 32768, 1 << 20} {
		x, y, z := make([]float32, n), make([]float32, n), make([]float32, n)
		for _, s := range simdImpls {
			b.Run(fmt.Sprintf("%s/add/%d", simdNames[s.level], n), func(b *testing.B) {
				saved := simd
				simd = s
				defer func() { simd = saved }()
				b.SetBytes(int64(12 * n))
				done := cpuTime(b, 0)
				for i := 0; i < b.N; i++ {
					BinaryF32(Add, z, x, y)
				}
				done()
			})
		}
	}
}
