package kernels

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// BenchmarkSgemmEpilogue compares a product whose residual and activation
// are applied in the epilogue (fused) with the product followed by a
// separate pass over C for each (unfused), on the shapes of a 1x1
// convolution and of a transformer feed-forward layer.
func BenchmarkSgemmEpilogue(b *testing.B) {
	w := cpu.NewWorkers(runtime.GOMAXPROCS(0))
	defer w.Close()
	for _, s := range []struct{ m, n, k int }{{256, 3136, 64}, {128, 1024, 256}} {
		a := make([]float32, s.m*s.k)
		bb := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		res := make([]float32, s.m*s.n)
		for i := range a {
			a[i] = float32(i%7)*0.1 - 0.3
		}
		for i := range bb {
			bb[i] = float32(i%5)*0.1 - 0.2
		}
		for _, act := range []ActKind{ActReLU, ActClip, ActSiLU, ActGelu, ActGeluTanh} {
			ac := Activation{Kind: act, A: 0, B: 6}
			name := fmt.Sprintf("%dx%dx%d/%v", s.m, s.n, s.k, act)
			b.Run(name+"/fused", func(b *testing.B) {
				ep := &Epilogue{Residual: res, ResidualLD: s.n, Act: ac}
				for i := 0; i < b.N; i++ {
					Sgemm(w, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n, ep)
				}
			})
			b.Run(name+"/unfused", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					Sgemm(w, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n, nil)
					parallelFor(w, s.m, 1, func(lo, hi int) {
						for r := lo; r < hi; r++ {
							row := c[r*s.n : (r+1)*s.n]
							rr := res[r*s.n : (r+1)*s.n]
							for j := range row {
								row[j] += rr[j]
							}
						}
					})
					parallelFor(w, s.m, 1, func(lo, hi int) { ac.Apply(c[lo*s.n : hi*s.n]) })
				}
			})
		}
	}
}

// BenchmarkActivation is the throughput of each activation on 4096
// values in L1, one thread.
func BenchmarkActivation(b *testing.B) {
	x := make([]float32, 4096)
	y := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)*0.05 - 5
	}
	for k := ActKind(1); k < numActKinds; k++ {
		a := Activation{Kind: k, A: 0, B: 6}
		b.Run(k.String(), func(b *testing.B) {
			b.SetBytes(4 * int64(len(x)))
			for i := 0; i < b.N; i++ {
				a.ApplyTo(y, x)
			}
		})
	}
}
