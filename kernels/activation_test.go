package kernels

import (
	"math"
	"testing"
)

// actRef is each activation in float64.
func actRef(a Activation, x float64) float64 {
	sig := func(u float64) float64 { return 1 / (1 + math.Exp(-u)) }
	switch a.Kind {
	case ActReLU:
		if x < 0 {
			return 0
		}
	case ActClip:
		return math.Min(math.Max(x, float64(a.A)), float64(a.B))
	case ActLeakyReLU:
		if x < 0 {
			return float64(a.A) * x
		}
	case ActSigmoid:
		return sig(x)
	case ActTanh:
		return math.Tanh(x)
	case ActHardSigmoid:
		return math.Max(0, math.Min(1, float64(a.A)*x+float64(a.B)))
	case ActHardSwish:
		return x * math.Max(0, math.Min(1, x/6+0.5))
	case ActSiLU:
		return x * sig(x)
	case ActGelu:
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	case ActGeluTanh:
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	return x
}

// actTol is the documented error bound of each kind at x (want the exact
// result).
func actTol(k ActKind, x, want float64) float64 {
	ulp := math.Max(math.Abs(want), 0x1p-126) * 0x1p-23
	switch k {
	case ActSigmoid, ActSiLU:
		if x < -87 { // e^x underflows (documented)
			return 2.5*ulp + 1.2e-38*math.Max(1, math.Abs(x))
		}
		return 2.5 * ulp
	case ActHardSigmoid:
		return 2*ulp + 0x1p-24
	case ActHardSwish:
		// Rounding x/6 before adding 1/2.
		return 2*ulp + 0x1p-24*math.Abs(x)
	case ActLeakyReLU:
		return 2 * ulp
	case ActTanh:
		return 3 * ulp
	case ActGelu:
		if x > -1 {
			return 1e-6*math.Abs(want) + 1e-38
		}
		return 1e-7 * math.Abs(x)
	case ActGeluTanh:
		return math.Max(2e-6*math.Abs(want), 1e-7*math.Abs(x)) + 1e-36
	}
	return ulp / 2
}

// TestActivationAccuracy checks Apply (vector kernels and scalar tails)
// against float64 math for every kind over a sweep of float32 values.
func TestActivationAccuracy(t *testing.T) {
	// Every 4093rd bit pattern (sweep's special values included), and
	// dense near the interesting range.
	var xs []float32
	i := 0
	sweep(func(x float32) {
		if i++; i%16 == 0 || i > 1<<32/251 {
			xs = append(xs, x)
		}
	})
	for x := -12.0; x <= 12; x += 1.0 / 1024 {
		xs = append(xs, float32(x))
	}
	got := make([]float32, len(xs))
	for k := ActKind(1); k < numActKinds; k++ {
		a := Activation{Kind: k}
		switch k {
		case ActClip:
			a.A, a.B = -1, 6
		case ActLeakyReLU:
			a.A = 0.01
		case ActHardSigmoid:
			a.A, a.B = 0.2, 0.5
		}
		t.Run(k.String(), func(t *testing.T) {
			a.ApplyTo(got, xs)
			bad := 0
			for i, x := range xs {
				want := actRef(a, float64(x))
				g := float64(got[i])
				if math.IsNaN(want) || math.IsNaN(g) {
					if math.IsNaN(want) != math.IsNaN(g) {
						t.Errorf("%v(%g) = %g, want %g", k, x, g, want)
						bad++
					}
					continue
				}
				if math.IsInf(want, 0) || math.Abs(want) > math.MaxFloat32 {
					if float32(want) != got[i] && !(math.Abs(g) > 3e38 && math.Signbit(g) == math.Signbit(want)) {
						t.Errorf("%v(%g) = %g, want %g", k, x, g, want)
						bad++
					}
					continue
				}
				if d := math.Abs(g - want); !(d <= actTol(k, float64(x), want)) {
					t.Errorf("%v(%g) = %g, want %g (error %g)", k, x, g, want, d)
					bad++
				}
				if bad > 10 {
					t.FailNow()
				}
			}
			// The scalar form agrees with the vector one closely.
			for i, x := range xs {
				s := a.Scalar(x)
				if d := math.Abs(float64(s) - float64(got[i])); d > 3*actTol(k, float64(x), float64(s)) && !(s != s && got[i] != got[i]) && !math.IsInf(float64(s), 0) {
					t.Fatalf("%v(%g): scalar %g, vector %g", k, x, s, got[i])
				}
			}
		})
	}
}

func TestActKindNames(t *testing.T) {
	for k := ActKind(0); k < numActKinds; k++ {
		got, ok := ActKindNamed(k.String())
		if !ok || got != k {
			t.Errorf("ActKindNamed(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if _, ok := ActKindNamed("Swish2"); ok {
		t.Error("unknown name accepted")
	}
}

// TestSoftmaxRow checks the vector softmax against float64 on rows of
// every length up to 70, with -Inf entries.
func TestSoftmaxRow(t *testing.T) {
	for n := 1; n <= 70; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Sin(float64(i*7+n))) * 20
			if i%5 == 3 {
				x[i] = float32(math.Inf(-1))
			}
		}
		if n == 4 { // the only finite entry masked too: -Inf everywhere
			for i := range x {
				x[i] = float32(math.Inf(-1))
			}
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
		softmaxRow(x)
		for i := range x {
			w := want[i] / sum
			if math.IsNaN(w) {
				if x[i] == x[i] {
					t.Fatalf("n=%d: [%d] = %g, want NaN", n, i, x[i])
				}
				continue
			}
			if d := math.Abs(float64(x[i]) - w); d > 2e-6*w+1e-9 {
				t.Fatalf("n=%d: [%d] = %g, want %g", n, i, x[i], w)
			}
		}
	}
}
