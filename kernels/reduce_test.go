package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSumMaxF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range lengths {
		x := make([]float32, n)
		var want, mag float64
		wantMax := math.Inf(-1)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			want += float64(x[i])
			mag += math.Abs(float64(x[i]))
			wantMax = math.Max(wantMax, float64(x[i]))
		}
		// The documented bound: float32 within blocks, 2**-20 of the
		// magnitudes summed (twice, for the lane sums).
		if got := SumF32(x); math.Abs(got-want) > 0x1p-19*mag {
			t.Errorf("SumF32 n=%d: %v, want %v", n, got, want)
		}
		if got := MaxF32(x); float64(got) != wantMax {
			t.Errorf("MaxF32 n=%d: %v, want %v", n, got, wantMax)
		}
	}
	if m := MaxF32([]float32{1, float32(math.NaN()), 3, 4, 5}); m == m {
		t.Errorf("MaxF32 with NaN = %v", m)
	}
}

func TestSoftmaxF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	withSIMD(t, func(t *testing.T) {
		for _, n := range lengths {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 20)
			}
			want := make([]float64, n)
			mx := math.Inf(-1)
			for _, v := range x {
				mx = math.Max(mx, float64(v))
			}
			var sum float64
			for i, v := range x {
				want[i] = math.Exp(float64(v) - mx)
				sum += want[i]
			}
			got := make([]float32, n)
			SoftmaxF32(got, x)
			for i := range got {
				w := want[i] / sum
				if math.Abs(float64(got[i])-w) > 1e-6*w+1e-12 {
					t.Fatalf("n=%d: [%d] = %v, want %v", n, i, got[i], w)
				}
			}
			SoftmaxF32(x, x) // in place
			for i := range x {
				if x[i] != got[i] {
					t.Fatalf("in place n=%d: [%d] = %v, want %v", n, i, x[i], got[i])
				}
			}
		}
		y := []float32{1, 2}
		SoftmaxF32(y, []float32{float32(math.Inf(1)), 0})
		if y[0] == y[0] {
			t.Errorf("softmax with +Inf: %v, want NaN", y)
		}
	})
}

func TestLayerNormF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	withSIMD(t, func(t *testing.T) {
		for _, n := range lengths {
			if n == 0 {
				continue
			}
			x := make([]float32, n)
			scale, bias := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*3 + 10)
				scale[i] = float32(rng.NormFloat64())
				bias[i] = float32(rng.NormFloat64())
			}
			var mu, v float64
			for _, e := range x {
				mu += float64(e)
			}
			mu /= float64(n)
			for _, e := range x {
				v += (float64(e) - mu) * (float64(e) - mu)
			}
			inv := 1 / math.Sqrt(v/float64(n)+1e-5)
			for _, sb := range []bool{false, true} {
				got := make([]float32, n)
				var s, b []float32
				if sb {
					s, b = scale, bias
				}
				m, iv := LayerNormF32(got, x, s, b, 1e-5)
				// SumF32's bound for the mean (the values are near 10).
				if math.Abs(m-mu) > 0x1p-19*(math.Abs(mu)+3) || math.Abs(iv-inv) > 1e-6*inv {
					t.Fatalf("n=%d: mean %v invstd %v, want %v %v", n, m, iv, mu, inv)
				}
				for i := range got {
					w := (float64(x[i]) - mu) * inv
					if sb {
						w = w*float64(scale[i]) + float64(bias[i])
					}
					if math.Abs(float64(got[i])-w) > 1e-5*(1+math.Abs(w)) {
						t.Fatalf("n=%d scale=%v: [%d] = %v, want %v", n, sb, i, got[i], w)
					}
				}
			}
		}
	})
}
