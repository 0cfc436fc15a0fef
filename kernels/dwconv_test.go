package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// withSIMD runs f once per vector level this processor has, with that
// level in use.
func withSIMD(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := simd
	defer func() { simd = saved }()
	for _, s := range simdImpls {
		simd = s
		t.Run(simdNames[s.level], f)
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

func TestDepthwiseConv2D(t *testing.T) {
	type tc struct {
		name string
		p    Depthwise2D
	}
	outDim := func(in, k, s, d, pb, pe int) int { return (in+pb+pe-((k-1)*d+1))/s + 1 }
	mk := func(c, h, w, mult, k, s, d, pad int) Depthwise2D {
		return Depthwise2D{Batch: 1, C: c, H: h, W: w, Mult: mult, KH: k, KW: k, StrideH: s, StrideW: s, DilH: d, DilW: d,
			PadTop: pad, PadLeft: pad, OH: outDim(h, k, s, d, pad, pad), OW: outDim(w, k, s, d, pad, pad)}
	}
	var cases []tc
	for _, k := range []int{3, 5} {
		for _, s := range []int{1, 2} {
			for _, w := range []int{1, 2, 5, 7, 8, 14, 15, 16, 17, 28, 33, 56, 65, 112} {
				cases = append(cases, tc{fmt.Sprintf("k%d_s%d_w%d", k, s, w), mk(3, max(w/2, 3), w, 1, k, s, 1, k/2)})
			}
		}
	}
	clip := mk(4, 9, 20, 1, 3, 1, 1, 1)
	clip.Clip, clip.Lo, clip.Hi = true, 0, 0.5
	relu := mk(4, 9, 20, 1, 3, 2, 1, 1)
	relu.Clip, relu.Lo, relu.Hi = true, 0, float32(math.Inf(1))
	asym := Depthwise2D{Batch: 2, C: 3, H: 10, W: 11, Mult: 2, KH: 3, KW: 2, StrideH: 2, StrideW: 3, DilH: 1, DilW: 2, PadTop: 0, PadLeft: 2, OH: 4, OW: 4}
	cases = append(cases,
		tc{"dilated", mk(2, 12, 19, 1, 3, 1, 2, 2)},
		tc{"mult3_nopad", mk(2, 8, 9, 3, 3, 1, 1, 0)},
		tc{"stride3", mk(2, 13, 40, 1, 3, 3, 1, 1)},
		tc{"k7", mk(2, 20, 20, 1, 7, 1, 1, 3)},
		tc{"k1", mk(2, 5, 37, 1, 1, 1, 1, 0)},
		tc{"clip", clip}, tc{"relu", relu}, tc{"asym", asym},
		// Stride 2 on phase planes with a batch and a channel multiplier.
		tc{"batch_mult_s2", Depthwise2D{Batch: 2, C: 3, H: 11, W: 13, Mult: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, OH: 6, OW: 7}},
		tc{"batch_mult_s2_k5", Depthwise2D{Batch: 2, C: 2, H: 9, W: 16, Mult: 3, KH: 5, KW: 5, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadTop: 2, PadLeft: 2, OH: 5, OW: 8}},
	)
	rng := rand.New(rand.NewPCG(1, 2))
	w := cpu.NewWorkers(2)
	defer w.Close()
	for _, c := range cases {
		p := c.p
		m := p.C * p.Mult
		x := randSlice(rng, p.Batch*p.C*p.H*p.W)
		wts := randSlice(rng, m*p.KH*p.KW)
		bias := randSlice(rng, m)
		if c.name == "k1" {
			bias = nil
		}
		want := make([]float32, p.Batch*m*p.OH*p.OW)
		if err := DepthwiseConv2DReference(&p, x, wts, bias, want); err != nil {
			t.Fatal(err)
		}
		// Bound: float32 rounding of taps+1 terms, each |w·x| <= 1.
		tol := float32(p.KH*p.KW+2) * 0x1p-23 * float32(p.KH*p.KW+1)
		withSIMD(t, func(t *testing.T) {
			got := make([]float32, len(want))
			for i := range got {
				got[i] = float32(math.NaN()) // every element must be written
			}
			if err := DepthwiseConv2D(w, &p, x, wts, bias, got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if d := got[i] - want[i]; !(d <= tol && d >= -tol) {
					t.Fatalf("%s: y[%d] = %v, want %v (tol %g)", c.name, i, got[i], want[i], tol)
				}
			}
		})
	}
}

func TestDepthwiseConv2DNaN(t *testing.T) {
	p := Depthwise2D{Batch: 1, C: 1, H: 3, W: 20, Mult: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, OH: 3, OW: 20, Clip: true, Lo: 0, Hi: 6}
	x := make([]float32, 60)
	x[30] = float32(math.NaN())
	x[5] = 100
	wts := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	withSIMD(t, func(t *testing.T) {
		y := make([]float32, 60)
		if err := DepthwiseConv2D(nil, &p, x, wts, nil, y); err != nil {
			t.Fatal(err)
		}
		if y[30] == y[30] || y[1] != 0 || y[5] != 6 {
			t.Errorf("NaN must propagate through the clip and others clamp: y[30]=%v y[1]=%v y[5]=%v", y[30], y[1], y[5])
		}
	})
}

func TestDepthwiseConv2DErrors(t *testing.T) {
	good := Depthwise2D{Batch: 1, C: 2, H: 4, W: 4, Mult: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, OH: 4, OW: 4}
	x, w, y := make([]float32, 32), make([]float32, 18), make([]float32, 32)
	if err := DepthwiseConv2D(nil, &good, x, w, nil, y); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(p *Depthwise2D) ([]float32, []float32, []float32, []float32){
		"short X":    func(p *Depthwise2D) ([]float32, []float32, []float32, []float32) { return x[:31], w, nil, y },
		"short W":    func(p *Depthwise2D) ([]float32, []float32, []float32, []float32) { return x, w[:17], nil, y },
		"short bias": func(p *Depthwise2D) ([]float32, []float32, []float32, []float32) { return x, w, []float32{1}, y },
		"short Y":    func(p *Depthwise2D) ([]float32, []float32, []float32, []float32) { return x, w, nil, y[:31] },
		"zero stride": func(p *Depthwise2D) ([]float32, []float32, []float32, []float32) {
			p.StrideW = 0
			return x, w, nil, y
		},
		"negative pad": func(p *Depthwise2D) ([]float32, []float32, []float32, []float32) {
			p.PadTop = -1
			return x, w, nil, y
		},
	} {
		p := good
		a, b, c, d := f(&p)
		if err := DepthwiseConv2D(nil, &p, a, b, c, d); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkDepthwiseConv2D covers the depthwise layers of MobileNetV2 and
// EfficientNet-B0 at 224x224.
func BenchmarkDepthwiseConv2D(b *testing.B) {
	shapes := []struct {
		c, hw, k, s int
	}{
		{32, 112, 3, 1}, {96, 112, 3, 2}, {144, 56, 3, 1}, {192, 28, 3, 1}, {384, 14, 3, 1}, {960, 7, 3, 1},
		{144, 56, 5, 2}, {240, 28, 5, 1}, {672, 14, 5, 1}, {672, 14, 5, 2}, {1152, 7, 5, 1},
	}
	w := cpu.NewWorkers(1)
	defer w.Close()
	for _, sh := range shapes {
		pad := sh.k / 2
		o := (sh.hw+2*pad-sh.k)/sh.s + 1
		p := Depthwise2D{Batch: 1, C: sh.c, H: sh.hw, W: sh.hw, Mult: 1, KH: sh.k, KW: sh.k, StrideH: sh.s, StrideW: sh.s, DilH: 1, DilW: 1, PadTop: pad, PadLeft: pad, OH: o, OW: o}
		rng := rand.New(rand.NewPCG(1, 2))
		x := randSlice(rng, sh.c*sh.hw*sh.hw)
		wts := randSlice(rng, sh.c*sh.k*sh.k)
		y := make([]float32, sh.c*o*o)
		for _, s := range simdImpls {
			b.Run(fmt.Sprintf("%s/c%d_%dx%d_k%d_s%d", simdNames[s.level], sh.c, sh.hw, sh.hw, sh.k, sh.s), func(b *testing.B) {
				saved := simd
				simd = s
				defer func() { simd = saved }()
				flops := 2 * float64(sh.c*o*o*sh.k*sh.k)
				done := cpuTime(b, flops)
				for i := 0; i < b.N; i++ {
					DepthwiseConv2D(w, &p, x, wts, nil, y)
				}
				done()
			})
		}
	}
}

// splitPhases against its definition, for both strides' phase layouts, every
// left padding parity and row lengths around the vector widths.
func TestSplitPhases(t *testing.T) {
	withSIMD(t, func(t *testing.T) {
		for _, s := range []int{1, 2, 3} {
			for w := 1; w < 80; w++ {
				for padLeft := 0; padLeft < 4; padLeft++ {
					for _, extra := range []int{0, 1, 5} {
						lp := (w+padLeft+extra+s-1)/s + extra%2
						src := make([]float32, w)
						for i := range src {
							src[i] = float32(i + 1)
						}
						row := make([]float32, s*lp)
						for i := range row {
							row[i] = -7
						}
						splitPhases(row, src, padLeft, s, lp, func(d []float32) { clear(d) })
						for q := 0; q < s; q++ {
							for j := 0; j < lp; j++ {
								want := float32(0)
								if iw := j*s + q - padLeft; iw >= 0 && iw < w {
									want = src[iw]
								}
								if got := row[q*lp+j]; got != want {
									t.Fatalf("s=%d w=%d pad=%d lp=%d: phase %d [%d] = %v, want %v", s, w, padLeft, lp, q, j, got, want)
								}
							}
						}
					}
				}
			}
		}
	})
}
