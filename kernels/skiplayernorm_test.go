package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// TestLayerNorm checks LayerNorm against float64 on rows of every width up
// to 70 (and one wide), with and without skip (repeating rows), bias,
// gamma, beta and the optional outputs, rows offset by 100 so that
// cancellation would show.
func TestLayerNorm(t *testing.T) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	rng := rand.New(rand.NewSource(4))
	vec := func(n int, off float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1 + off
		}
		return v
	}
	for _, n := range append([]int{1, 2, 3, 7, 8, 9, 16, 31, 64, 70}, 1000) {
		for variant := 0; variant < 4; variant++ {
			rows := 1 + rng.Intn(40)
			ln := &LayerNorm{Rows: rows, N: n, Epsilon: 1e-5}
			x := vec(rows*n, 100)
			if variant&1 == 1 {
				ln.Gamma, ln.Beta, ln.Bias = vec(n, 0), vec(n, 0), vec(n, 0)
			}
			if variant&2 == 2 {
				ln.SkipRows = 1 + rng.Intn(rows)
				for rows%ln.SkipRows != 0 {
					ln.SkipRows--
				}
				ln.Skip = vec(ln.SkipRows*n, 0)
				ln.Sum, ln.Mean, ln.InvStd = make([]float32, rows*n), make([]float32, rows), make([]float32, rows)
			}
			y := make([]float32, rows*n)
			ln.Run(w, x, y)
			for r := 0; r < rows; r++ {
				s := make([]float64, n)
				var mean float64
				for i := range s {
					s[i] = float64(x[r*n+i])
					if ln.Skip != nil {
						s[i] += float64(ln.Skip[(r%ln.SkipRows)*n+i])
					}
					if ln.Bias != nil {
						s[i] += float64(ln.Bias[i])
					}
					mean += s[i]
				}
				mean /= float64(n)
				var v float64
				for _, e := range s {
					v += (e - mean) * (e - mean)
				}
				inv := 1 / math.Sqrt(v/float64(n)+1e-5)
				for i := range s {
					want := (s[i] - mean) * inv
					if ln.Gamma != nil {
						want = want*float64(ln.Gamma[i]) + float64(ln.Beta[i])
					}
					if d := math.Abs(float64(y[r*n+i]) - want); d > 2e-4*(1+math.Abs(want)) {
						t.Fatalf("n=%d variant=%d row %d [%d] = %g, want %g", n, variant, r, i, y[r*n+i], want)
					}
					if ln.Sum != nil && math.Abs(float64(ln.Sum[r*n+i])-s[i]) > 1e-4 {
						t.Fatalf("sum [%d] = %g, want %g", i, ln.Sum[r*n+i], s[i])
					}
				}
				if ln.Mean != nil && (math.Abs(float64(ln.Mean[r])-mean) > 1e-4 || math.Abs(float64(ln.InvStd[r])-inv) > 1e-3*inv) {
					t.Fatalf("stats %g %g, want %g %g", ln.Mean[r], ln.InvStd[r], mean, inv)
				}
			}
		}
	}
}

// The row passes of every SIMD level against float64 sums, on rows of
// every length around the vector widths (the masked tails) and long ones.
func TestLayerNormRows(t *testing.T) {
	withSIMD(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(34))
		for n := 1; n <= 300; n += 1 + n/40 {
			x := make([]float32, n)
			g := make([]float32, n)
			b := make([]float32, n)
			for i := range x {
				x[i] = rng.Float32()*4 - 1
				g[i] = rng.Float32() + 0.5
				b[i] = rng.Float32() - 0.5
			}
			var sum, abs float64
			for _, v := range x {
				sum += float64(v)
				abs += math.Abs(float64(v))
			}
			if got := sumRow(x); math.Abs(float64(got)-sum) > 1e-6*abs+1e-6 {
				t.Fatalf("n=%d: sum %v, want %v", n, got, sum)
			}
			mean := float32(sum / float64(n))
			var sq float64
			for _, v := range x {
				d := float64(v) - float64(mean)
				sq += d * d
			}
			if got := sqDevRow(x, mean); math.Abs(float64(got)-sq) > 1e-5*sq+1e-6 {
				t.Fatalf("n=%d: squared deviations %v, want %v", n, got, sq)
			}
			y := make([]float32, n+1)
			y[n] = 42
			normRow(y[:n], x, mean, 0.7, g, b)
			for i := range x {
				want := (float64(x[i])-float64(mean))*0.7*float64(g[i]) + float64(b[i])
				if math.Abs(float64(y[i])-want) > 1e-5*math.Abs(want)+1e-6 {
					t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, y[i], want)
				}
			}
			if y[n] != 42 {
				t.Fatalf("n=%d: wrote past the row", n)
			}
		}
	})
}
