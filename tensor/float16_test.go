package tensor

import (
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"
)

// The references below derive every value from its bit fields with
// math.Ldexp, independently of the code under test, and round with exact
// big.Float arithmetic.

// f16Value is the value of positive half bits i; 0x7c00 gives 2^16, the
// next value were the exponent unbounded, which is where rounding overflows.
func f16Value(i int) float64 {
	e, m := i>>10, i&0x3ff
	if e == 0 {
		return math.Ldexp(float64(m), -24)
	}
	return math.Ldexp(float64(1024+m), e-25)
}

// bf16Value is the value of positive bfloat16 bits i; 0x7f80 gives 2^128.
func bf16Value(i int) float64 {
	e, m := i>>7, i&0x7f
	if e == 0 {
		return math.Ldexp(float64(m), -133)
	}
	return math.Ldexp(float64(128+m), e-134)
}

// rounder rounds to the nearest of a sorted table of positive values
// indexed by bit pattern, ties to the even pattern; the last entry is the
// infinity's pattern.
type rounder struct {
	vals       []float64
	d1, d2, xb *big.Float
}

func newRounder(n int, value func(int) float64) *rounder {
	r := &rounder{vals: make([]float64, n)}
	for i := range r.vals {
		r.vals[i] = value(i)
	}
	// Enough bits to subtract any two float64s in range exactly.
	r.d1, r.d2, r.xb = new(big.Float).SetPrec(2200), new(big.Float).SetPrec(2200), new(big.Float)
	return r
}

func (r *rounder) round(x float32) uint16 {
	var sign uint16
	a := float64(x)
	if math.Signbit(a) {
		sign, a = 0x8000, -a
	}
	last := len(r.vals) - 1
	// hi is the first value >= a.
	hi := sort.SearchFloat64s(r.vals, a)
	switch {
	case hi > last:
		return sign | uint16(last)
	case r.vals[hi] == a:
		return sign | uint16(hi)
	}
	lo := hi - 1
	r.xb.SetFloat64(a)
	r.d1.Sub(r.xb, new(big.Float).SetFloat64(r.vals[lo]))
	r.d2.Sub(new(big.Float).SetFloat64(r.vals[hi]), r.xb)
	c := r.d1.Cmp(r.d2)
	if c < 0 || c == 0 && lo%2 == 0 {
		return sign | uint16(lo)
	}
	return sign | uint16(hi)
}

// roundingInputs are float32s that probe a format with the given value
// table: every representable value, every midpoint and the float32s on
// either side of it, specials and random bit patterns, in both signs.
func roundingInputs(vals []float64, random int) []float32 {
	var in []float32
	add := func(f float32) { in = append(in, f, -f) }
	for i := 0; i+1 < len(vals); i++ {
		mid := float32((vals[i] + vals[i+1]) / 2)
		if float64(mid) != (vals[i]+vals[i+1])/2 {
			panic("midpoint not exact in float32")
		}
		add(float32(vals[i]))
		add(mid)
		add(math.Nextafter32(mid, 0))
		add(math.Nextafter32(mid, math.MaxFloat32))
	}
	add(0)
	add(math.MaxFloat32)
	add(math.SmallestNonzeroFloat32)
	add(math.Float32frombits(0x007fffff)) // largest float32 subnormal
	add(float32(math.Inf(1)))
	rng := rand.New(rand.NewPCG(1, 2))
	for range random {
		f := math.Float32frombits(rng.Uint32())
		if !math.IsNaN(float64(f)) {
			in = append(in, f)
		}
	}
	return in
}

func TestFloat16RoundTripAllBits(t *testing.T) {
	for i := range 1 << 16 {
		h := F16(i)
		f := h.Float32()
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("%#04x: NaN decoded as %v", i, f)
			}
			// A NaN comes back quiet, with its sign and payload.
			if got, want := Float16FromFloat32(f), h|0x200; got != want {
				t.Fatalf("%#04x: NaN round trip gives %#04x, want %#04x", i, got, want)
			}
			continue
		}
		want := f16Value(i & 0x7fff)
		if i&0x7fff == 0x7c00 {
			want = math.Inf(1)
		}
		if i&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want || math.Signbit(float64(f)) != (i&0x8000 != 0) {
			t.Fatalf("%#04x.Float32() = %v, want %v", i, f, want)
		}
		if back := Float16FromFloat32(f); back != h {
			t.Fatalf("%#04x -> %v -> %#04x", i, f, back)
		}
	}
}

func TestBFloat16RoundTripAllBits(t *testing.T) {
	for i := range 1 << 16 {
		b := BF16(i)
		f := b.Float32()
		if b&0x7f80 == 0x7f80 && b&0x7f != 0 {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("%#04x: NaN decoded as %v", i, f)
			}
			if got, want := BFloat16FromFloat32(f), b|0x40; got != want {
				t.Fatalf("%#04x: NaN round trip gives %#04x, want %#04x", i, got, want)
			}
			continue
		}
		want := bf16Value(i & 0x7fff)
		if i&0x7fff == 0x7f80 {
			want = math.Inf(1)
		}
		if i&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want || math.Signbit(float64(f)) != (i&0x8000 != 0) {
			t.Fatalf("%#04x.Float32() = %v, want %v", i, f, want)
		}
		if back := BFloat16FromFloat32(f); back != b {
			t.Fatalf("%#04x -> %v -> %#04x", i, f, back)
		}
	}
}

func TestFloat16Rounding(t *testing.T) {
	r := newRounder(0x7c01, f16Value)
	in := roundingInputs(r.vals, 200000)
	bad := 0
	for _, f := range in {
		if got, want := Float16FromFloat32(f), F16(r.round(f)); got != want {
			t.Errorf("Float16FromFloat32(%g [%#08x]) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
	t.Logf("%d inputs", len(in))
}

func TestBFloat16Rounding(t *testing.T) {
	r := newRounder(0x7f81, bf16Value)
	in := roundingInputs(r.vals, 200000)
	bad := 0
	for _, f := range in {
		if got, want := BFloat16FromFloat32(f), BF16(r.round(f)); got != want {
			t.Errorf("BFloat16FromFloat32(%g [%#08x]) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
	t.Logf("%d inputs", len(in))
}

// Named cases, as documentation of the edges.
func TestFloat16Cases(t *testing.T) {
	tests := []struct {
		in   float32
		want F16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65519.99, 0x7bff},                 // below the midpoint to 2^16
		{65520, 0x7c00},                    // the midpoint ties to even, which is Inf
		{1e10, 0x7c00},                     // overflow
		{float32(math.Inf(-1)), 0xfc00},    // -Inf
		{0x1p-24, 0x0001},                  // smallest subnormal
		{0x1p-25, 0x0000},                  // half of it ties to even zero
		{0x1.000002p-25, 0x0001},           // just above half rounds up
		{0x3p-25, 0x0002},                  // 1.5 ulp ties to even 2
		{0x1p-14, 0x0400},                  // smallest normal
		{0x1.ffcp-15, 0x0400},              // subnormal rounding carries into the smallest normal
		{1 + 0x1p-11, 0x3c00},              // tie to even, down
		{1 + 0x3p-11, 0x3c02},              // tie to even, up
		{math.SmallestNonzeroFloat32, 0x0}, // float32 subnormal underflows
	}
	for _, tt := range tests {
		if got := Float16FromFloat32(tt.in); got != tt.want {
			t.Errorf("Float16FromFloat32(%g) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
	nan := Float16FromFloat32(math.Float32frombits(0x7f800001)) // signaling, payload below f16's
	if nan&0x7c00 != 0x7c00 || nan&0x3ff == 0 || nan&0x200 == 0 {
		t.Errorf("signaling NaN converted to %#04x, want a quiet NaN", nan)
	}
	if n := Float16FromFloat32(float32(math.Copysign(math.NaN(), -1))); n&0x8000 == 0 || !math.IsNaN(float64(n.Float32())) {
		t.Errorf("negative NaN converted to %#04x", n)
	}
}

func TestBFloat16Cases(t *testing.T) {
	tests := []struct {
		in   float32
		want BF16
	}{
		{0, 0x0000},
		{1, 0x3f80},
		{-1, 0xbf80},
		{1 + 0x1p-8, 0x3f80},      // tie to even, down
		{1 + 0x3p-8, 0x3f82},      // tie to even, up
		{math.MaxFloat32, 0x7f80}, // rounds up past the largest finite bfloat16
		{0x1.fep127, 0x7f7f},      // the largest finite bfloat16
		{math.Float32frombits(0x00010000), 0x0001},
	}
	for _, tt := range tests {
		if got := BFloat16FromFloat32(tt.in); got != tt.want {
			t.Errorf("BFloat16FromFloat32(%g) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
	if nan := BFloat16FromFloat32(math.Float32frombits(0x7f800001)); nan&0x7f80 != 0x7f80 || nan&0x7f == 0 {
		t.Errorf("NaN with a low payload converted to %#04x, want NaN", nan)
	}
}
