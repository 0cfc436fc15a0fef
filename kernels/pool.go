package kernels

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/gocann/gocann/runtime/cpu"
)

// Pool2D describes a 2-D max or average pooling over NCHW float32 planes:
// Planes planes (batch x channels) of H x W in, OH x OW out.
type Pool2D struct {
	Planes, H, W        int
	KH, KW              int
	StrideH, StrideW    int
	DilH, DilW          int
	PadTop, PadLeft     int
	PadBottom, PadRight int // for AvgPool2D's counts with IncludePad
	OH, OW              int
	// IncludePad counts padding positions (within PadTop..PadBottom and
	// PadLeft..PadRight, not the ceil-mode overhang) in the averages.
	IncludePad bool
}

func (p *Pool2D) check(x, y []float32) error {
	if p.Planes < 0 || p.H < 0 || p.W < 0 || p.OH < 0 || p.OW < 0 || p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0 {
		return fmt.Errorf("kernels: pooling: negative size in %+v", *p)
	}
	if p.KH < 1 || p.KW < 1 || p.StrideH < 1 || p.StrideW < 1 || p.DilH < 1 || p.DilW < 1 {
		return fmt.Errorf("kernels: pooling: kernel, strides and dilations must be positive in %+v", *p)
	}
	if len(x) < p.Planes*p.H*p.W || len(y) < p.Planes*p.OH*p.OW {
		return fmt.Errorf("kernels: pooling: X has %d and Y %d elements, want %d and %d", len(x), len(y), p.Planes*p.H*p.W, p.Planes*p.OH*p.OW)
	}
	return nil
}

// MaxPool2D sets every output to the largest input in its window (-Inf
// for a window wholly in the padding). A NaN propagates when it is the
// window's first in-padded-plane position, and is passed over elsewhere,
// as in MaxPool2DReference. Parallel over planes; planes are padded and
// phase-split as in DepthwiseConv2D, padding -Inf.
func MaxPool2D(w *cpu.Workers, p *Pool2D, x, y []float32) error {
	return p.run(w, x, y, false)
}

// AvgPool2D sets every output to the mean of its window: the sum over the
// input positions it covers, divided by their count, or by the count of
// positions within the padded extent when IncludePad (NaN where the count
// is 0). The sum is a float32 sum in tap order, then multiplied by the
// reciprocal count.
func AvgPool2D(w *cpu.Workers, p *Pool2D, x, y []float32) error {
	return p.run(w, x, y, true)
}

func (p *Pool2D) run(w *cpu.Workers, x, y []float32, avg bool) error {
	if err := p.check(x, y); err != nil {
		return err
	}
	if p.Planes == 0 || p.OH == 0 || p.OW == 0 {
		return nil
	}
	s := p.StrideW
	hp := (p.OH-1)*p.StrideH + (p.KH-1)*p.DilH + 1
	wp := max((p.OW-1)*s+(p.KW-1)*p.DilW+1, p.PadLeft+p.W)
	lp := (wp + s - 1) / s
	taps := p.KH * p.KW
	fill := float32(math.Inf(-1))
	var ones, inv []float32
	if avg {
		fill = 0
		ones = make([]float32, taps)
		for i := range ones {
			ones[i] = 1
		}
		inv = p.inverseCounts()
	}
	inf := float32(math.Inf(1))
	dw, mx := simd.dwRow, simd.maxRow
	if dw == nil {
		dw = dwRowGo
	}
	if mx == nil {
		mx = maxRowGo
	}
	grain := max(1, 32768/max(1, p.OH*p.OW*taps))
	parallelFor(w, p.Planes, grain, func(a, b int) {
		buf := getBuf(hp * s * lp)
		defer putBuf(buf)
		pad := (*buf)[:hp*s*lp]
		// Row oh's taps are row 0's, shifted by oh·StrideH padded rows.
		offs := make([]int, taps)
		tapOffsets(offs, 0, p.StrideH, p.KH, p.KW, p.DilH, p.DilW, s, lp)
		rowStep := p.StrideH * s * lp
		for pl := a; pl < b; pl++ {
			fillPhasePlane(pad, x[pl*p.H*p.W:(pl+1)*p.H*p.W], p.H, p.W, p.PadTop, p.PadLeft, s, hp, lp, fill, pl == a)
			yp := y[pl*p.OH*p.OW : (pl+1)*p.OH*p.OW]
			for oh := 0; oh < p.OH; oh++ {
				if avg {
					dw(&yp[oh*p.OW], p.OW, &pad[oh*rowStep], &offs[0], &ones[0], taps, 0, -inf, inf)
				} else {
					mx(&yp[oh*p.OW], p.OW, &pad[oh*rowStep], &offs[0], taps)
				}
			}
			if avg {
				BinaryF32(Mul, yp, yp, inv)
			}
		}
	})
	return nil
}

// inverseCounts returns 1/count for every output position of a plane.
func (p *Pool2D) inverseCounts() []float32 {
	count := func(o, s, k, d, pb, in, pe int) int {
		n := 0
		for j := 0; j < k; j++ {
			q := o*s - pb + j*d
			if p.IncludePad && q >= -pb && q < in+pe || q >= 0 && q < in {
				n++
			}
		}
		return n
	}
	inv := make([]float32, p.OH*p.OW)
	cw := make([]int, p.OW)
	for ow := range cw {
		cw[ow] = count(ow, p.StrideW, p.KW, p.DilW, p.PadLeft, p.W, p.PadRight)
	}
	for oh := 0; oh < p.OH; oh++ {
		ch := count(oh, p.StrideH, p.KH, p.DilH, p.PadTop, p.H, p.PadBottom)
		for ow, c := range cw {
			inv[oh*p.OW+ow] = float32(1 / float64(ch*c))
		}
	}
	return inv
}

// maxRowGo is the max row kernel in Go: y[i] = max over t of
// x[offs[t]+i], each step acc = v > acc ? v : acc.
func maxRowGo(y *float32, n int, x *float32, offs *int, taps int) {
	ys := unsafe.Slice(y, n)
	os := unsafe.Slice(offs, taps)
	maxOff := 0
	for _, o := range os {
		maxOff = max(maxOff, o)
	}
	xs := unsafe.Slice(x, maxOff+n)
	for i := range ys {
		acc := xs[os[0]+i]
		for _, o := range os[1:] {
			if v := xs[o+i]; v > acc {
				acc = v
			}
		}
		ys[i] = acc
	}
}

// MaxPool2DReference and AvgPool2DReference are direct loops over each
// window (the average summed in float64): what the tests compare with.
func MaxPool2DReference(p *Pool2D, x, y []float32) error { return p.reference(x, y, false) }

// AvgPool2DReference: see MaxPool2DReference.
func AvgPool2DReference(p *Pool2D, x, y []float32) error { return p.reference(x, y, true) }

func (p *Pool2D) reference(x, y []float32, avg bool) error {
	if err := p.check(x, y); err != nil {
		return err
	}
	for pl := 0; pl < p.Planes; pl++ {
		xp := x[pl*p.H*p.W:]
		for oh := 0; oh < p.OH; oh++ {
			for ow := 0; ow < p.OW; ow++ {
				var sum float64
				n, padded := 0, 0
				acc := float32(math.Inf(-1))
				first := true
				for kh := 0; kh < p.KH; kh++ {
					ih := oh*p.StrideH - p.PadTop + kh*p.DilH
					for kw := 0; kw < p.KW; kw++ {
						iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
						if ih >= -p.PadTop && ih < p.H+p.PadBottom && iw >= -p.PadLeft && iw < p.W+p.PadRight {
							padded++
						}
						v := float32(math.Inf(-1))
						if ih >= 0 && ih < p.H && iw >= 0 && iw < p.W {
							v = xp[ih*p.W+iw]
							sum += float64(v)
							n++
						}
						if first {
							acc, first = v, false
						} else if v > acc {
							acc = v
						}
					}
				}
				o := &y[(pl*p.OH+oh)*p.OW+ow]
				switch {
				case !avg:
					*o = acc
				case p.IncludePad:
					*o = float32(sum / float64(padded))
				default:
					*o = float32(sum / float64(n))
				}
			}
		}
	}
	return nil
}
