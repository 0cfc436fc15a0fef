package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// TestSgemmFewRows checks the skinny and dot-product paths (m <= 8, n == 1,
// m == 1) on every vector level against the reference, with transposes,
// strides, scalars, epilogues and the column tails of every kernel width.
func TestSgemmFewRows(t *testing.T) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	withSIMD(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(3))
		for m := 1; m <= 9; m++ {
			for _, n := range []int{1, 2, 7, 8, 15, 16, 17, 31, 47, 48, 49, 64, 65, 130} {
				for _, k := range []int{0, 1, 5, 16, 37, 300} {
					check(t, active, w, randomCase(rng, m, n, k), rng)
				}
			}
		}
		for _, s := range [][2]int{{40, 1}, {300, 1}, {1, 40}, {1, 300}, {3, 1000}} {
			for _, k := range []int{1, 9, 16, 31, 64, 1000} {
				check(t, active, w, randomCase(rng, s[0], s[1], k), rng)
				check(t, active, nil, randomCase(rng, s[0], s[1], k), rng)
			}
		}
	})
}

// BenchmarkSgemmFewRows compares the vector levels on decoder shapes (the
// go level is the packed path's scalar kernel there).
func BenchmarkSgemmFewRows(b *testing.B) {
	w := cpu.NewWorkers(1)
	defer w.Close()
	for _, s := range [][3]int{{1, 1024, 256}, {1, 256, 1024}, {4, 1024, 256}, {8, 256, 1024}} {
		m, n, k := s[0], s[1], s[2]
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for _, lvl := range simdImpls {
			b.Run(simdNames[lvl.level]+"/"+shapeName(m, n, k), func(b *testing.B) {
				saved := simd
				simd = lvl
				defer func() { simd = saved }()
				done := cpuTime(b, 2*float64(m*n*k))
				for i := 0; i < b.N; i++ {
					Sgemm(w, false, false, m, n, k, 1, a, k, bb, n, 0, c, n, nil)
				}
				done()
			})
		}
	}
}

func shapeName(m, n, k int) string {
	return fmt.Sprintf("%dx%dx%d", m, n, k)
}
