package kernels

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// BenchmarkSgemm reports GFLOP/s of every variant on square products and
// on the shapes of transformer layers (M tokens, K and N model widths), on
// GOMAXPROCS threads. Compare runs with benchstat.
func BenchmarkSgemm(b *testing.B) {
	type shape struct{ m, n, k int }
	var shapes []shape
	for _, s := range []int{64, 128, 256, 512, 1024, 2048} {
		shapes = append(shapes, shape{s, s, s})
	}
	for _, m := range []int{1, 2, 4, 8, 32, 128, 512} {
		shapes = append(shapes, shape{m, 1024, 256}, shape{m, 256, 1024})
	}
	w := cpu.NewWorkers(runtime.GOMAXPROCS(0))
	defer w.Close()
	for _, v := range variants {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", v.name, s.m, s.n, s.k), func(b *testing.B) {
				a := make([]float32, s.m*s.k)
				bb := make([]float32, s.k*s.n)
				c := make([]float32, s.m*s.n)
				for i := range a {
					a[i] = float32(i%7) * 0.1
				}
				for i := range bb {
					bb[i] = float32(i%5) * 0.1
				}
				g := problem{Batch{Count: 1}, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n, nil, nil, nil, nil}
				b.ResetTimer()
				done := cpuTime(b, 2*float64(s.m)*float64(s.n)*float64(s.k))
				for i := 0; i < b.N; i++ {
					p := g
					v.gemm(w, &p)
				}
				done()
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
