package standard

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
)

// nnRefGemm is the plain triple loop that nnSgemm must agree with.
func nnRefGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av := a[i*lda+p]
				if transA {
					av = a[p*lda+i]
				}
				bv := b[p*ldb+j]
				if transB {
					bv = b[j*ldb+p]
				}
				s += float64(av) * float64(bv)
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * float32(s)
			} else {
				c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
			}
		}
	}
}

func TestNNSgemmShapes(t *testing.T) {
	w := cpu.NewWorkers(3)
	defer w.Close()
	env := &ops.Env{Workers: w}
	rng := rand.New(rand.NewSource(1))
	dims := []int{1, 2, 3, 4, 5, 7, 8, 9, 17, 31, 64, 65, 130}
	ks := []int{0, 1, 2, 3, 5, 16, 255, 256, 257, 600}
	type cfg struct {
		ta, tb      bool
		alpha, beta float32
	}
	cfgs := []cfg{{false, false, 1, 0}, {true, false, 1, 1}, {false, true, 0.5, 2}, {true, true, -1, 0.25}}
	count := 0
	for _, m := range dims {
		for _, n := range dims {
			for _, k := range ks {
				count++
				if count%3 != 0 && m*n*k > 2000 { // thin out the big ones
					continue
				}
				cf := cfgs[count%len(cfgs)]
				lda, ldb, ldc := k+count%3, n+count%2, n+1
				if cf.ta {
					lda = m + count%3
				}
				if cf.tb {
					ldb = k + count%2
				}
				a := make([]float32, max(m, k)*max(lda, 1)+8)
				b := make([]float32, max(n, k)*max(ldb, 1)+8)
				for i := range a {
					a[i] = rng.Float32()*2 - 1
				}
				for i := range b {
					b[i] = rng.Float32()*2 - 1
				}
				c := make([]float32, m*ldc+2)
				for i := range c {
					c[i] = rng.Float32()
				}
				want := append([]float32(nil), c...)
				nnRefGemm(cf.ta, cf.tb, m, n, k, cf.alpha, a, lda, b, ldb, cf.beta, want, ldc)
				nnSgemm(env, cf.ta, cf.tb, m, n, k, cf.alpha, a, lda, b, ldb, cf.beta, c, ldc)
				for i := range c {
					if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*float64(k+1) {
						t.Fatalf("m=%d n=%d k=%d %+v: c[%d]=%v want %v", m, n, k, cf, i, c[i], want[i])
					}
				}
			}
		}
	}
}

func TestNNSgemmBetaZeroIgnoresNaN(t *testing.T) {
	for _, m := range []int{1, 3} {
		a := []float32{1, 2, 3, 4, 5, 6}
		b := []float32{1, 0, 0, 1}
		c := []float32{float32(math.NaN()), float32(math.NaN()), float32(math.NaN()), float32(math.NaN()), float32(math.NaN()), float32(math.NaN())}
		nnSgemm(nil, false, false, m, 2, 2, 1, a, 2, b, 2, 0, c, 2)
		for i := 0; i < m*2; i++ {
			if c[i] != a[i] {
				t.Fatalf("m=%d: c=%v", m, c)
			}
		}
	}
}

func BenchmarkNNSgemm(b *testing.B) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	env := &ops.Env{Workers: w}
	for _, s := range []struct{ m, n, k int }{{128, 256, 256}, {64, 3136, 576}, {512, 49, 4608}} {
		a := make([]float32, s.m*s.k)
		bb := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		b.Run("", func(b *testing.B) {
			b.SetBytes(int64(2 * s.m * s.n * s.k))
			for range b.N {
				nnSgemm(env, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
			}
		})
	}
}

func BenchmarkNNSgemm1T(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{128, 256, 256}, {96, 12544, 16}, {64, 3136, 576}, {128, 1024, 256}} {
		a := make([]float32, s.m*s.k)
		bb := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			b.SetBytes(int64(2 * s.m * s.n * s.k))
			for range b.N {
				nnSgemm(nil, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
			}
		})
	}
}

func BenchmarkNNKernel(b *testing.B) {
	a := make([]float32, nnKC*nnMR)
	bb := make([]float32, nnKC*nnNR)
	var t [nnMR * nnNR]float32
	b.SetBytes(2 * nnKC * nnMR * nnNR)
	for range b.N {
		nnKernel(nnKC, a, bb, &t)
	}
}

func TestNNSgemmBias(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, s := range []struct{ m, n, k int }{{1, 5, 3}, {5, 1, 7}, {7, 9, 300}, {64, 33, 2}, {3, 4, 0}} {
		a := make([]float32, s.m*s.k+1)
		b := make([]float32, s.k*s.n+1)
		bias := make([]float32, s.m)
		for i := range a {
			a[i] = rng.Float32()
		}
		for i := range b {
			b[i] = rng.Float32()
		}
		for i := range bias {
			bias[i] = rng.Float32()
		}
		c := make([]float32, s.m*s.n)
		for i := range c {
			c[i] = float32(math.NaN())
		}
		want := make([]float32, s.m*s.n)
		nnRefGemm(false, false, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, want, s.n)
		for i := range want {
			want[i] += bias[i/s.n]
		}
		nnSgemmBias(nil, false, false, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, c, s.n, bias)
		for i := range c {
			if d := math.Abs(float64(c[i] - want[i])); !(d <= 1e-3) {
				t.Fatalf("%+v: c[%d]=%v want %v", s, i, c[i], want[i])
			}
		}
	}
}
