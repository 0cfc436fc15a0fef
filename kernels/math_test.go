package kernels

import (
	"math"
	"testing"
)

// ulpErr is |got-want| in float32 ulps of want where want is a normal
// float32, or the absolute error scaled by 2^126 (ulps at the smallest
// normal) below that.
func ulpErr(got float32, want float64) float64 {
	if math.IsNaN(want) {
		if got != got {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsInf(want, 0) || math.Abs(want) > math.MaxFloat32 {
		if float64(got) == want || (math.IsInf(float64(got), 0) && math.Signbit(float64(got)) == math.Signbit(want)) {
			return 0
		}
		return math.Inf(1)
	}
	ulp := math.Max(math.Abs(want), 0x1p-126) * 0x1p-23
	return math.Abs(float64(got)-want) / ulp
}

// sweep calls f for every 251st float32 bit pattern (both signs, zeros,
// denormals, normals, infinities, NaNs) and some special values.
func sweep(f func(x float32)) { sweepEvery(251, f) }

// sweepEvery is sweep over every step-th bit pattern.
func sweepEvery(step uint64, f func(x float32)) {
	for b := uint64(0); b < 1<<32; b += step {
		f(math.Float32frombits(uint32(b)))
	}
	for _, x := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e-45, -1e-45, 88.7, 88.73, -87.3, -103.9, -104, 0.625, -0.625, 1, -1, 4, -4, 9.1, -9.1} {
		f(float32(x))
	}
}

func TestMathAccuracy(t *testing.T) {
	erfTol := func(got float32, want float64) bool {
		return math.Abs(float64(got)-want) <= 4e-7*math.Abs(want)+1e-45
	}
	for _, c := range []struct {
		name  string
		f     func(float32) float32
		ref   func(float64) float64
		ulps  float64
		check func(float32, float64) bool
	}{
		{"Exp32", Exp32, math.Exp, 1, nil},
		{"Sigmoid32", Sigmoid32, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, 2, nil},
		{"Tanh32", Tanh32, math.Tanh, 2, nil},
		{"Erf32", Erf32, math.Erf, 0, erfTol},
	} {
		worst, at := 0.0, float32(0)
		sweep(func(x float32) {
			want := c.ref(float64(x))
			got := c.f(x)
			if c.check != nil {
				if !c.check(got, want) && !(math.IsNaN(want) && got != got) {
					t.Fatalf("%s(%g) = %g, want %g", c.name, x, got, want)
				}
				return
			}
			if e := ulpErr(got, want); e > worst {
				worst, at = e, x
			}
		})
		if worst > c.ulps {
			t.Errorf("%s: %.2f ulp at x=%g (%g, want %g), allowed %g", c.name, worst, at, c.f(at), c.ref(float64(at)), c.ulps)
		}
		t.Logf("%s: worst %.2f ulp at %g", c.name, worst, at)
	}
}

func BenchmarkSigmoidSlice(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	y := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for range b.N {
		SigmoidSlice(y, x)
	}
}

// siluTol is SiLU's bound: 3 ulp, or 2**-126 absolute below the normal
// range (x times a denormal sigmoid).
func siluTol(got float32, want float64) bool {
	return ulpErr(got, want) <= 3 || math.Abs(float64(got)-want) <= 0x1p-126 || math.IsNaN(want) && got != got
}

// TestMathSlices holds every vector level of the slice functions to the
// bounds of the scalar ones over every 1021st bit pattern and the specials (in slices of odd lengths, so
// the vector tails run too).
func TestMathSlices(t *testing.T) {
	erfTol := func(got float32, want float64) bool {
		return math.Abs(float64(got)-want) <= 4e-7*math.Abs(want)+1e-45
	}
	withSIMD(t, func(t *testing.T) {
		if simd.level == simdGo {
			// The slice forms are the scalar functions:
			// TestMathAccuracy's sweep, but SiLU.
			sweepEvery(1021, func(x float32) {
				if want := float64(x) / (1 + math.Exp(-float64(x))); !siluTol(SiLU32(x), want) {
					t.Fatalf("SiLU32(%g) = %g, want %g", x, SiLU32(x), want)
				}
			})
			return
		}
		for _, c := range []struct {
			name  string
			f     func(dst, src []float32)
			ref   func(float64) float64
			ulps  float64
			check func(float32, float64) bool
		}{
			{"ExpSlice", ExpSlice, math.Exp, 1, nil},
			{"SigmoidSlice", SigmoidSlice, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, 2, nil},
			{"SiLUSlice", SiLUSlice, func(x float64) float64 { return x / (1 + math.Exp(-x)) }, 0, siluTol},
			{"TanhSlice", TanhSlice, math.Tanh, 2, nil},
			{"ErfSlice", ErfSlice, math.Erf, 0, erfTol},
		} {
			var xs []float32
			worst, at := 0.0, float32(0)
			flush := func() {
				ys := make([]float32, len(xs)+5)
				ys[len(xs)] = 42
				c.f(ys[:len(xs)], xs)
				if ys[len(xs)] != 42 {
					t.Fatalf("%s wrote past the end", c.name)
				}
				for i, x := range xs {
					want := c.ref(float64(x))
					if c.check != nil {
						if !c.check(ys[i], want) && !(math.IsNaN(want) && ys[i] != ys[i]) {
							t.Fatalf("%s(%g) = %g, want %g", c.name, x, ys[i], want)
						}
						continue
					}
					if e := ulpErr(ys[i], want); e > worst {
						worst, at = e, x
					}
				}
				xs = xs[:0]
			}
			sweepEvery(1021, func(x float32) {
				xs = append(xs, x)
				if len(xs) == 1021 {
					flush()
				}
			})
			flush()
			if worst > c.ulps {
				t.Errorf("%s: %.2f ulp at x=%g, allowed %g", c.name, worst, at, c.ulps)
			}
			t.Logf("%s: worst %.2f ulp at %g", c.name, worst, at)
		}
	})
}
