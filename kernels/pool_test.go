package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

func TestPool2D(t *testing.T) {
	outDim := func(in, k, s, d, pb, pe int, ceil bool) int {
		span := in + pb + pe - ((k-1)*d + 1)
		if ceil {
			return (span+s-1)/s + 1
		}
		return span/s + 1
	}
	mk := func(planes, h, w, k, s, d, pad int, ceil, include bool) Pool2D {
		return Pool2D{Planes: planes, H: h, W: w, KH: k, KW: k, StrideH: s, StrideW: s, DilH: d, DilW: d,
			PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad,
			OH: outDim(h, k, s, d, pad, pad, ceil), OW: outDim(w, k, s, d, pad, pad, ceil), IncludePad: include}
	}
	var cases []Pool2D
	for _, w := range []int{1, 3, 7, 8, 16, 17, 33, 56, 112} {
		cases = append(cases, mk(3, max(w/2, 3), w, 3, 2, 1, 1, false, false), mk(2, 5, w, 2, 2, 1, 0, false, false))
	}
	cases = append(cases,
		mk(2, 9, 13, 3, 1, 1, 1, false, true),
		mk(2, 9, 13, 3, 2, 1, 1, true, false),
		mk(2, 9, 13, 3, 2, 1, 1, true, true),
		mk(2, 10, 10, 3, 1, 2, 2, false, false),
		mk(1, 7, 7, 7, 1, 1, 0, false, false),
		Pool2D{Planes: 2, H: 6, W: 11, KH: 2, KW: 3, StrideH: 1, StrideW: 3, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1, OH: 6, OW: 4, IncludePad: true},
	)
	rng := rand.New(rand.NewPCG(9, 10))
	w := cpu.NewWorkers(2)
	defer w.Close()
	for ci, p := range cases {
		x := randSlice(rng, p.Planes*p.H*p.W)
		for _, avg := range []bool{false, true} {
			want := make([]float32, p.Planes*p.OH*p.OW)
			run, ref := MaxPool2D, MaxPool2DReference
			if avg {
				run, ref = AvgPool2D, AvgPool2DReference
			}
			if err := ref(&p, x, want); err != nil {
				t.Fatal(err)
			}
			withSIMD(t, func(t *testing.T) {
				got := make([]float32, len(want))
				if err := run(w, &p, x, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					ok := got[i] == want[i]
					if avg {
						ok = math.Abs(float64(got[i]-want[i])) <= float64(p.KH*p.KW+1)*0x1p-23 || want[i] != want[i] && got[i] != got[i]
					}
					if !ok {
						t.Fatalf("case %d avg=%v %+v: y[%d] = %v, want %v", ci, avg, p, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// A NaN in a window: the vector kernels pass over it (or keep it when it
// is the first tap) exactly as the reference does.
func TestMaxPool2DNaN(t *testing.T) {
	p := Pool2D{Planes: 1, H: 4, W: 40, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, OH: 2, OW: 20}
	x := make([]float32, 160)
	for i := range x {
		x[i] = float32(i % 7)
	}
	x[0] = float32(math.NaN())
	x[43] = float32(math.NaN())
	want := make([]float32, 40)
	MaxPool2DReference(&p, x, want)
	withSIMD(t, func(t *testing.T) {
		got := make([]float32, 40)
		MaxPool2D(nil, &p, x, got)
		for i := range got {
			if !sameBits(got[i], want[i]) {
				t.Errorf("y[%d] = %v, want %v", i, got[i], want[i])
			}
		}
	})
	if want[0] == want[0] {
		t.Errorf("a NaN first tap must stay NaN: %v", want[0])
	}
}

func TestPool2DErrors(t *testing.T) {
	p := Pool2D{Planes: 1, H: 4, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, OH: 2, OW: 2}
	if err := MaxPool2D(nil, &p, make([]float32, 15), make([]float32, 4)); err == nil {
		t.Error("short X accepted")
	}
	if err := AvgPool2D(nil, &p, make([]float32, 16), make([]float32, 3)); err == nil {
		t.Error("short Y accepted")
	}
	p.StrideH = 0
	if err := MaxPool2D(nil, &p, make([]float32, 16), make([]float32, 4)); err == nil {
		t.Error("zero stride accepted")
	}
}

func BenchmarkMaxPool2D(b *testing.B) {
	// ResNet's stem pooling: 64 planes of 112x112, 3x3 stride 2 pad 1.
	p := Pool2D{Planes: 64, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, OH: 56, OW: 56}
	x := make([]float32, 64*112*112)
	y := make([]float32, 64*56*56)
	for _, s := range simdImpls {
		b.Run(fmt.Sprintf("%s/resnet_stem", simdNames[s.level]), func(b *testing.B) {
			saved := simd
			simd = s
			defer func() { simd = saved }()
			done := cpuTime(b, 0)
			for i := 0; i < b.N; i++ {
				MaxPool2D(nil, &p, x, y)
			}
			done()
		})
	}
}
