package kernels

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/gocann/gocann/runtime/cpu"
)

// Depthwise2D describes a depthwise 2-D convolution over NCHW float32
// tensors: every input channel c is convolved with its own Mult filters,
// giving output channels c*Mult ... c*Mult+Mult-1 (ONNX Conv with group ==
// C). X is Batch x C x H x W, the weights C*Mult x 1 x KH x KW, Y
// Batch x C*Mult x OH x OW.
type Depthwise2D struct {
	Batch, C, H, W   int
	Mult             int // output channels per input channel
	KH, KW           int
	StrideH, StrideW int
	DilH, DilW       int
	PadTop, PadLeft  int // the bottom and right padding follow from OH and OW
	OH, OW           int
	// Clip, when set, bounds every output to [Lo, Hi] (ReLU6, ReLU with
	// Hi = +Inf): an activation applied while the row is in registers.
	Clip   bool
	Lo, Hi float32
}

func (p *Depthwise2D) check(x, w, bias, y []float32) error {
	if p.Batch < 0 || p.C < 0 || p.H < 0 || p.W < 0 || p.OH < 0 || p.OW < 0 || p.PadTop < 0 || p.PadLeft < 0 {
		return fmt.Errorf("kernels: depthwise conv: negative size in %+v", *p)
	}
	if p.Mult < 1 || p.KH < 1 || p.KW < 1 || p.StrideH < 1 || p.StrideW < 1 || p.DilH < 1 || p.DilW < 1 {
		return fmt.Errorf("kernels: depthwise conv: multiplier, kernel, strides and dilations must be positive in %+v", *p)
	}
	m := p.C * p.Mult
	switch {
	case len(x) < p.Batch*p.C*p.H*p.W:
		return fmt.Errorf("kernels: depthwise conv: X has %d elements, want %d", len(x), p.Batch*p.C*p.H*p.W)
	case len(w) < m*p.KH*p.KW:
		return fmt.Errorf("kernels: depthwise conv: W has %d elements, want %d", len(w), m*p.KH*p.KW)
	case bias != nil && len(bias) < m:
		return fmt.Errorf("kernels: depthwise conv: bias has %d elements, want %d", len(bias), m)
	case len(y) < p.Batch*m*p.OH*p.OW:
		return fmt.Errorf("kernels: depthwise conv: Y has %d elements, want %d", len(y), p.Batch*m*p.OH*p.OW)
	}
	return nil
}

func (p *Depthwise2D) bounds() (lo, hi float32) {
	if p.Clip {
		return p.Lo, p.Hi
	}
	return float32(math.Inf(-1)), float32(math.Inf(1))
}

// DepthwiseConv2D computes y = clip(conv(x, w) + bias) for p (bias may be
// nil), in parallel over output channels.
//
// Each input plane is copied once into a zero-padded scratch plane, its
// columns split into StrideW phases (column c goes to phase c%StrideW), so
// that every tap of every output row reads a contiguous run: output row oh,
// tap (kh, kw) reads padded row oh*StrideH+kh*DilH, phase (kw*DilW)%StrideW,
// from column ow+(kw*DilW)/StrideW. The row kernel then sums the taps with
// the outputs in vector registers, four vectors of columns at a time.
//
// Rounding: each output is a float32 sum of KH*KW products (fused
// multiply-adds in the vector kernels) added to the bias in tap order.
func DepthwiseConv2D(w *cpu.Workers, p *Depthwise2D, x, wts, bias, y []float32) error {
	if err := p.check(x, wts, bias, y); err != nil {
		return err
	}
	m := p.C * p.Mult
	planes := p.Batch * m
	if planes == 0 || p.OH == 0 || p.OW == 0 {
		return nil
	}
	s := p.StrideW
	hp := (p.OH-1)*p.StrideH + (p.KH-1)*p.DilH + 1
	wp := max((p.OW-1)*s+(p.KW-1)*p.DilW+1, p.PadLeft+p.W)
	lp := (wp + s - 1) / s // length of one phase row
	taps := p.KH * p.KW
	lo, hi := p.bounds()
	kernel := simd.dwRow
	if kernel == nil {
		kernel = dwRowGo
	}
	grain := max(1, 32768/max(1, p.OH*p.OW*taps))
	if p.StrideH == 2 && s == 2 && p.DilH == 1 && p.DilW == 1 && p.KW < len(simd.dwShift[2]) && simd.dwShift[2][p.KW] != nil {
		p.stride2(w, x, wts, bias, y, simd.dwShift[2][p.KW], grain)
		return nil
	}
	parallelFor(w, planes, grain, func(a, b int) {
		buf := getBuf(hp * s * lp)
		defer putBuf(buf)
		pad := (*buf)[:hp*s*lp]
		// Row oh's taps are row 0's, shifted by oh·StrideH padded rows.
		offs := make([]int, taps)
		tapOffsets(offs, 0, p.StrideH, p.KH, p.KW, p.DilH, p.DilW, s, lp)
		rowStep := p.StrideH * s * lp
		var flat *[]float32
		if p.StrideH == 1 && s == 1 {
			flat = getBuf(p.OH * lp)
			defer putBuf(flat)
		}
		// Undilated rows of 3 or 5 taps, stride 1 or 2 in both
		// directions: each window row's source (phase rows) read once
		// (dwShift), from where its first tap reads.
		var shift dwShiftFunc
		var rowOffs []int
		if p.DilW == 1 && p.StrideH == s && s < len(simd.dwShift) && p.KW < len(simd.dwShift[s]) {
			if shift = simd.dwShift[s][p.KW]; shift != nil {
				rowOffs = make([]int, p.KH)
				for r := range rowOffs {
					rowOffs[r] = offs[r*p.KW]
				}
			}
		}
		lastIn := -1
		for pl := a; pl < b; pl++ {
			bi, oc := pl/m, pl%m
			ic := oc / p.Mult
			if in := bi*p.C + ic; in != lastIn {
				// The padding of pad is the same for every plane: it is
				// written with the first plane only.
				fillPhasePlane(pad, x[in*p.H*p.W:(in+1)*p.H*p.W], p.H, p.W, p.PadTop, p.PadLeft, p.StrideW, hp, lp, 0, lastIn < 0)
				lastIn = in
			}
			var bv float32
			if bias != nil {
				bv = bias[oc]
			}
			wk := wts[oc*taps : (oc+1)*taps]
			yp := y[pl*p.OH*p.OW : (pl+1)*p.OH*p.OW]
			if flat != nil {
				// Stride 1: the whole plane as one run over the padded
				// grid (rows of lp, the last lp-OW of each wasted), then
				// compacted: long vectors instead of a call per short row.
				g := (*flat)[:(p.OH-1)*lp+p.OW]
				if shift != nil {
					shift(&g[0], len(g), &pad[0], &rowOffs[0], &wk[0], p.KH, 0, bv, lo, hi)
				} else {
					kernel(&g[0], len(g), &pad[0], &offs[0], &wk[0], taps, bv, lo, hi)
				}
				CopyRows(yp, p.OW, g, lp, p.OH, p.OW)
				continue
			}
			for oh := 0; oh < p.OH; oh++ {
				if shift != nil {
					shift(&yp[oh*p.OW], p.OW, &pad[oh*rowStep], &rowOffs[0], &wk[0], p.KH, lp, bv, lo, hi)
					continue
				}
				kernel(&yp[oh*p.OW], p.OW, &pad[oh*rowStep], &offs[0], &wk[0], taps, bv, lo, hi)
			}
		}
	})
	return nil
}

// stride2 is DepthwiseConv2D for strides of 2 and no dilation with a shift
// kernel: each input plane is split into four phase planes (even and odd
// rows and columns, Im2col2D.PaddedGrid), on which the outputs are one run
// over a grid of OH rows of ls (the kernel called once per plane, not per
// output row of a few values), compacted after.
func (p *Depthwise2D) stride2(w *cpu.Workers, x, wts, bias, y []float32, shift dwShiftFunc, grain int) {
	g := Im2col2D{C: 1, H: p.H, W: p.W, KH: p.KH, KW: p.KW, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1,
		PadTop: p.PadTop, PadLeft: p.PadLeft, OH: p.OH, OW: p.OW}
	hs, ls := g.PaddedGrid()
	ps := g.PlaneSize(hs, ls)
	// Window row r's even columns: phase plane (r%2, 0), row r/2; its
	// odd columns one plane (hs·ls) further.
	rowOffs := make([]int, p.KH)
	for r := range rowOffs {
		rowOffs[r] = ((r%2)*2*hs + r/2) * ls
	}
	n := (p.OH-1)*ls + p.OW
	m := p.C * p.Mult
	taps := p.KH * p.KW
	lo, hi := p.bounds()
	parallelFor(w, p.Batch*m, grain, func(a, b int) {
		buf := getBuf(ps)
		defer putBuf(buf)
		pad := (*buf)[:ps]
		fbuf := getBuf(p.OH * ls)
		defer putBuf(fbuf)
		flat := (*fbuf)[:n]
		lastIn := -1
		for pl := a; pl < b; pl++ {
			bi, oc := pl/m, pl%m
			if in := bi*p.C + oc/p.Mult; in != lastIn {
				g.fillPadded(pad, x[in*p.H*p.W:(in+1)*p.H*p.W], hs, ls, ps, 0, 1)
				lastIn = in
			}
			var bv float32
			if bias != nil {
				bv = bias[oc]
			}
			shift(&flat[0], n, &pad[0], &rowOffs[0], &wts[oc*taps], p.KH, hs*ls, bv, lo, hi)
			CopyRows(y[pl*p.OH*p.OW:(pl+1)*p.OH*p.OW], p.OW, flat, ls, p.OH, p.OW)
		}
	})
}

// fillPhasePlane copies the h x w plane xp into pad, hp rows of s phase
// rows of lp values: padded row r is input row r-padTop, padded column c
// (input column c-padLeft) goes to phase c%s at c/s. Everything else is
// fill, written only when padding is set (the positions are the same for
// every plane of one geometry, so a scratch plane reused for the next
// plane keeps them).
func fillPhasePlane(pad, xp []float32, h, w, padTop, padLeft, s, hp, lp int, fill float32, padding bool) {
	setAll := func(d []float32) {
		if fill == 0 {
			clear(d)
			return
		}
		for i := range d {
			d[i] = fill
		}
	}
	rowLen := s * lp
	if s == 1 && !padding {
		// Only the input rows to write, in one call.
		if r0 := max(padTop, 0); r0 < hp && h > 0 {
			CopyRows(pad[r0*rowLen+padLeft:], rowLen, xp[(r0-padTop)*w:], w, min(h-(r0-padTop), hp-r0), min(w, rowLen-padLeft))
		}
		return
	}
	if s == 2 && !padding {
		// The two phases of every input row, their bounds worked out
		// once.
		var j0, j1 [2]int
		for q := 0; q < 2; q++ {
			j0[q] = min(lp, max(0, (padLeft-q+1)/2))
			j1[q] = max(j0[q], min(lp, (w+padLeft-q+1)/2))
		}
		d := newDeint2(w, padLeft, j0, j1)
		for r := max(padTop, 0); r < min(hp, padTop+h); r++ {
			row := pad[r*rowLen : (r+1)*rowLen]
			d.run(row[:lp], row[lp:], xp[(r-padTop)*w:(r-padTop+1)*w])
		}
		return
	}
	for r := 0; r < hp; r++ {
		row := pad[r*rowLen : (r+1)*rowLen]
		ih := r - padTop
		if ih < 0 || ih >= h {
			if padding {
				setAll(row)
			}
			continue
		}
		src := xp[ih*w : (ih+1)*w]
		if s == 1 {
			n := copy(row[padLeft:], src)
			if padding {
				setAll(row[:padLeft])
				setAll(row[padLeft+n:])
			}
			continue
		}
		if !padding {
			setAll = func([]float32) {}
		}
		splitPhases(row, src, padLeft, s, lp, setAll)
	}
}

// splitPhases writes the input row src into row, s phase rows of lp: padded
// column c = iw+padLeft to phase c%s at c/s; positions no input column
// reaches are set by setAll.
func splitPhases(row, src []float32, padLeft, s, lp int, setAll func([]float32)) {
	w := len(src)
	if s == 1 {
		setAll(row[:padLeft])
		d := row[padLeft:]
		n := min(len(d), len(src))
		if n <= 16 {
			// Short rows (late layers): a loop beats a memmove call.
			for i := 0; i < n; i++ {
				d[i] = src[i]
			}
		} else {
			copy(d, src[:n])
		}
		setAll(row[padLeft+n:])
		return
	}
	// Phase q holds padded columns j*s+q, input column j*s+q-padLeft:
	// the run j0..j1 comes from the input, the ends are padding.
	j0s, j1s := [2]int{}, [2]int{}
	for q := 0; q < s; q++ {
		j0 := min(lp, max(0, (padLeft-q+s-1)/s))
		j1 := max(j0, min(lp, (w+padLeft-q+s-1)/s))
		dst := row[q*lp : (q+1)*lp]
		setAll(dst[:j0])
		setAll(dst[j1:])
		if s == 2 {
			j0s[q], j1s[q] = j0, j1
			continue
		}
		for j, iw := j0, j0*s+q-padLeft; j < j1; j, iw = j+1, iw+s {
			dst[j] = src[iw]
		}
	}
	if s == 2 {
		deinterleave2(row[:lp], row[lp:], src, padLeft, j0s, j1s)
	}
}

// deinterleave2 fills the two phase rows of a stride-2 split: even
// (phase 0) and odd (phase 1) of padded columns, input column iw going to
// phase (iw+padLeft)%2 at (iw+padLeft)/2, each phase q only over
// [j0[q], j1[q]).
func deinterleave2(ph0, ph1, src []float32, padLeft int, j0, j1 [2]int) {
	d := newDeint2(len(src), padLeft, j0, j1)
	d.run(ph0, ph1, src)
}

// deint2Plan is deinterleave2 for rows of one length and padding: the
// bounds are the same for every row of a plane, so they are worked out
// once.
type deint2Plan struct {
	o, base, lo, hi, done int
	j0, j1                [2]int
}

func newDeint2(w, padLeft int, j0, j1 [2]int) deint2Plan {
	// Input column iw of phase q at j: iw = 2j + q - padLeft. Pairs
	// (src[2i+o], src[2i+o+1]) with o = padLeft%2 land in phases (0, 1)
	// at the same j = i + (o+padLeft)/2.
	d := deint2Plan{o: padLeft % 2, j0: j0, j1: j1}
	d.base = (d.o + padLeft) / 2 // j of the pair i = 0
	// The pairs whose both halves are in their phases' ranges.
	d.lo = max(0, j0[0]-d.base, j0[1]-d.base)
	d.hi = min((w-d.o)/2, j1[0]-d.base, j1[1]-d.base)
	if d.hi > d.lo && simd.deint2 != nil {
		d.done = (d.hi - d.lo) / 16 * 16 // both widths divide 16
		if simd.deint2All {
			d.done = d.hi - d.lo
		}
	}
	return d
}

func (d *deint2Plan) run(ph0, ph1, src []float32) {
	padLeft := 2*d.base - d.o
	if d.hi <= d.lo {
		for j := d.j0[0]; j < d.j1[0]; j++ {
			ph0[j] = src[2*j-padLeft]
		}
		for j := d.j0[1]; j < d.j1[1]; j++ {
			ph1[j] = src[2*j+1-padLeft]
		}
		return
	}
	if d.done > 0 {
		simd.deint2(&ph0[d.base+d.lo], &ph1[d.base+d.lo], &src[2*d.lo+d.o], d.done)
	}
	for i := d.lo + d.done; i < d.hi; i++ {
		ph0[d.base+i] = src[2*i+d.o]
		ph1[d.base+i] = src[2*i+d.o+1]
	}
	// The ends outside the pair range.
	for j := d.j0[0]; j < d.base+d.lo; j++ {
		ph0[j] = src[2*j-padLeft]
	}
	for j := d.j0[1]; j < d.base+d.lo; j++ {
		ph1[j] = src[2*j+1-padLeft]
	}
	for j := d.base + d.hi; j < d.j1[0]; j++ {
		ph0[j] = src[2*j-padLeft]
	}
	for j := d.base + d.hi; j < d.j1[1]; j++ {
		ph1[j] = src[2*j+1-padLeft]
	}
}

// tapOffsets sets offs to the start, in a phase-split padded plane, of
// every tap's run for output row oh.
func tapOffsets(offs []int, oh, sh, kh, kw, dh, dw, s, lp int) {
	t := 0
	for i := 0; i < kh; i++ {
		r := oh*sh + i*dh
		for j := 0; j < kw; j++ {
			c := j * dw
			offs[t] = (r*s+c%s)*lp + c/s
			t++
		}
	}
}

// dwRowGo is the row kernel in Go: y[i] = clip(bias + Σ_t w[t]·x[offs[t]+i]).
func dwRowGo(y *float32, n int, x *float32, offs *int, w *float32, taps int, bias, lo, hi float32) {
	ys := unsafe.Slice(y, n)
	os := unsafe.Slice(offs, taps)
	ws := unsafe.Slice(w, taps)
	maxOff := 0
	for _, o := range os {
		maxOff = max(maxOff, o)
	}
	xs := unsafe.Slice(x, maxOff+n)
	for i := range ys {
		s := bias
		for t, o := range os {
			s += ws[t] * xs[o+i]
		}
		ys[i] = min(max(s, lo), hi)
	}
}

// DepthwiseConv2DReference is DepthwiseConv2D as direct loops summing in
// float64: what the tests compare the kernels with.
func DepthwiseConv2DReference(p *Depthwise2D, x, wts, bias, y []float32) error {
	if err := p.check(x, wts, bias, y); err != nil {
		return err
	}
	m := p.C * p.Mult
	lo, hi := p.bounds()
	for bi := 0; bi < p.Batch; bi++ {
		for oc := 0; oc < m; oc++ {
			xp := x[(bi*p.C+oc/p.Mult)*p.H*p.W:]
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					var s float64
					if bias != nil {
						s = float64(bias[oc])
					}
					for kh := 0; kh < p.KH; kh++ {
						ih := oh*p.StrideH - p.PadTop + kh*p.DilH
						if ih < 0 || ih >= p.H {
							continue
						}
						for kw := 0; kw < p.KW; kw++ {
							iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
							if iw < 0 || iw >= p.W {
								continue
							}
							s += float64(wts[(oc*p.KH+kh)*p.KW+kw]) * float64(xp[ih*p.W+iw])
						}
					}
					v := float32(s)
					if v != v {
						y[((bi*m+oc)*p.OH+oh)*p.OW+ow] = v
						continue
					}
					y[((bi*m+oc)*p.OH+oh)*p.OW+ow] = min(max(v, lo), hi)
				}
			}
		}
	}
	return nil
}
