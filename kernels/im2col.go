package kernels

import (
	"fmt"

	"github.com/gocann/gocann/runtime/cpu"
)

// BPacker writes rows [k0, k0+kc) and columns [j0, j1) of a k x n matrix B
// into dst in the layout Sgemm packs B into: panels of nr columns, panel q
// holding for each row p the nr values B[k0+p][j0+q*nr ...], zero past j1.
type BPacker func(dst []float32, k0, kc, j0, j1, nr int)

// SgemmPackedB is Sgemm (no transposes) with B never stored: the blocked
// product asks pack for each block of B it needs, so a convolution packs
// its windows straight from the image instead of writing an im2col matrix
// and reading it back. The products always take the packed path.
func SgemmPackedB(w *cpu.Workers, m, n, k int, alpha float32, a []float32, lda int, pack BPacker, beta float32, c []float32, ldc int, ep *Epilogue) {
	if pack == nil {
		panic("kernels: SgemmPackedB without a packer")
	}
	active.gemm(w, &problem{Batch{Count: 1}, false, false, m, n, k, alpha, a, lda, nil, 0, beta, c, ldc, ep, pack, nil, nil})
}

// Im2col2D is the geometry of a 2-D convolution's im2col matrix: for C
// input planes of H x W, the (C·KH·KW) x (OH·OW) matrix whose row
// (c·KH + kh)·KW + kw and column oh·OW + ow holds input
// (c, oh·StrideH - PadTop + kh·DilH, ow·StrideW - PadLeft + kw·DilW), zero
// outside the plane.
type Im2col2D struct {
	C, H, W          int
	KH, KW           int
	StrideH, StrideW int
	DilH, DilW       int
	PadTop, PadLeft  int
	OH, OW           int
}

// Rows and Cols are the matrix's dimensions.
func (g *Im2col2D) Rows() int { return g.C * g.KH * g.KW }

// Cols: see Rows.
func (g *Im2col2D) Cols() int { return g.OH * g.OW }

func (g *Im2col2D) check(x []float32) error {
	if g.C < 0 || g.H < 0 || g.W < 0 || g.OH < 0 || g.OW < 0 || g.PadTop < 0 || g.PadLeft < 0 ||
		g.KH < 1 || g.KW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.DilH < 1 || g.DilW < 1 {
		return fmt.Errorf("kernels: im2col: bad geometry %+v", *g)
	}
	if len(x) < g.C*g.H*g.W {
		return fmt.Errorf("kernels: im2col: X has %d elements, want %d", len(x), g.C*g.H*g.W)
	}
	return nil
}

// Fill writes the matrix into col (Rows x Cols, row-major).
func (g *Im2col2D) Fill(col, x []float32) error {
	if err := g.check(x); err != nil {
		return err
	}
	n := g.Cols()
	if len(col) < g.Rows()*n {
		return fmt.Errorf("kernels: im2col: col has %d elements, want %d", len(col), g.Rows()*n)
	}
	segs := g.segments(nil, 0, n)
	for k := 0; k < g.Rows(); k++ {
		g.fillRow(col[k*n:(k+1)*n], x, k, segs)
	}
	return nil
}

// Packer returns the BPacker of the matrix of x, for SgemmPackedB.
func (g *Im2col2D) Packer(x []float32) (BPacker, error) {
	if err := g.check(x); err != nil {
		return nil, err
	}
	return func(dst []float32, k0, kc, j0, j1, nr int) {
		// Each row of the block is written into a scratch row in runs of
		// whole output rows, then cut into the panels: two copies per
		// value, both within L1, where packing from a stored matrix would
		// write and read it all through memory.
		n := j1 - j0
		buf := getBuf(n)
		defer putBuf(buf)
		row := (*buf)[:n]
		segs := g.segments(nil, j0, j1)
		full := n / nr
		for p := 0; p < kc; p++ {
			g.fillRow(row, x, k0+p, segs)
			switch nr {
			case 32:
				for q := 0; q < full; q++ {
					*(*[32]float32)(dst[(q*kc+p)*32:]) = *(*[32]float32)(row[q*32:])
				}
			case 16:
				for q := 0; q < full; q++ {
					*(*[16]float32)(dst[(q*kc+p)*16:]) = *(*[16]float32)(row[q*16:])
				}
			default:
				for q := 0; q < full; q++ {
					copy(dst[(q*kc+p)*nr:(q*kc+p+1)*nr], row[q*nr:])
				}
			}
			if rest := n - full*nr; rest > 0 {
				d := dst[(full*kc+p)*nr : (full*kc+p+1)*nr]
				copy(d, row[full*nr:])
				clear(d[rest:])
			}
		}
	}, nil
}

// im2colSeg is a run of matrix columns within one output row: n columns
// from output (oh, ow0), written at off in the destination row.
type im2colSeg struct{ oh, ow0, n, off int }

// segments appends the runs of columns [j0, j1), offsets from j0.
func (g *Im2col2D) segments(segs []im2colSeg, j0, j1 int) []im2colSeg {
	for j := j0; j < j1; {
		oh, ow := j/g.OW, j%g.OW
		n := min(g.OW-ow, j1-j)
		segs = append(segs, im2colSeg{oh, ow, n, j - j0})
		j += n
	}
	return segs
}

// fillRow writes matrix row k over the runs segs (offsets from d's start).
func (g *Im2col2D) fillRow(d, x []float32, k int, segs []im2colSeg) {
	c, r := k/(g.KH*g.KW), k%(g.KH*g.KW)
	kh, kw := r/g.KW, r%g.KW
	xc := x[c*g.H*g.W : (c+1)*g.H*g.W]
	for _, s := range segs {
		out := d[s.off : s.off+s.n]
		ih := s.oh*g.StrideH - g.PadTop + kh*g.DilH
		if ih < 0 || ih >= g.H {
			clear(out)
			continue
		}
		xr := xc[ih*g.W : (ih+1)*g.W]
		iw0 := s.ow0*g.StrideW - g.PadLeft + kw*g.DilW
		if g.StrideW == 1 {
			lo, hi := max(0, -iw0), min(s.n, g.W-iw0)
			if lo >= hi {
				clear(out)
				continue
			}
			clear(out[:lo])
			copy(out[lo:hi], xr[iw0+lo:iw0+hi])
			clear(out[hi:])
			continue
		}
		for i := range out {
			if iw := iw0 + i*g.StrideW; iw >= 0 && iw < g.W {
				out[i] = xr[iw]
			} else {
				out[i] = 0
			}
		}
	}
}

// RowsPacker returns the BPacker of the k x n matrix whose row i is
// src[offs[i] : offs[i]+n]: rows copied straight into the panels.
func RowsPacker(src []float32, offs []int, n int) BPacker {
	return func(dst []float32, k0, kc, j0, j1, nr int) {
		w := j1 - j0
		full := w / nr
		for p := 0; p < kc; p++ {
			row := src[offs[k0+p]+j0 : offs[k0+p]+j1]
			switch nr {
			case 32:
				for q := 0; q < full; q++ {
					*(*[32]float32)(dst[(q*kc+p)*32:]) = *(*[32]float32)(row[q*32:])
				}
			case 16:
				for q := 0; q < full; q++ {
					*(*[16]float32)(dst[(q*kc+p)*16:]) = *(*[16]float32)(row[q*16:])
				}
			default:
				for q := 0; q < full; q++ {
					copy(dst[(q*kc+p)*nr:(q*kc+p+1)*nr], row[q*nr:])
				}
			}
			if rest := w - full*nr; rest > 0 {
				d := dst[(full*kc+p)*nr : (full*kc+p+1)*nr]
				copy(d, row[full*nr:])
				clear(d[rest:])
			}
		}
	}
}

// PaddedGrid is a convolution's im2col matrix without the windows: the
// input is copied once into zero-padded planes, each split into
// StrideH x StrideW phase planes of Hs x Ls (padded row r, column c going
// to phase (r%StrideH, c%StrideW) at (r/StrideH, c/StrideW)). Outputs are
// then computed on a grid of OH rows of Ls columns (the last Ls-OW of each
// row wasted), on which row (c, kh, kw) of the matrix is one contiguous
// run of phase plane (kh·DilH%StrideH, kw·DilW%StrideW) of channel c
// (Offsets), so packing it is a plain copy. The product's OH x Ls result
// is compacted to OH x OW after.
func (g *Im2col2D) PaddedGrid() (hs, ls int) {
	hp := max((g.OH-1)*g.StrideH+(g.KH-1)*g.DilH+1, g.PadTop+g.H)
	wp := max((g.OW-1)*g.StrideW+(g.KW-1)*g.DilW+1, g.PadLeft+g.W)
	return (hp + g.StrideH - 1) / g.StrideH, (wp + g.StrideW - 1) / g.StrideW
}

// PlaneSize is the length of one channel's phase planes, plus slack for
// the runs of the last rows.
func (g *Im2col2D) PlaneSize(hs, ls int) int {
	return g.StrideH*g.StrideW*hs*ls + ls + (g.KW-1)*g.DilW + 1
}

// FillPadded writes the C padded, phase-split planes of x into xp
// (C x PlaneSize), the channels split across w (which may be nil): the
// copy runs between two products, when an idle worker would otherwise
// park.
func (g *Im2col2D) FillPadded(w *cpu.Workers, xp, x []float32, hs, ls int) {
	ps := g.PlaneSize(hs, ls)
	parallelFor(w, g.C, max(1, 16384/ps), func(c0, c1 int) {
		g.fillPadded(xp, x, hs, ls, ps, c0, c1)
	})
}

// fillPadded is FillPadded for channels [c0, c1).
func (g *Im2col2D) fillPadded(xp, x []float32, hs, ls, ps, c0, c1 int) {
	sh, sw := g.StrideH, g.StrideW
	// Phase q of a row holds padded columns j*sw+q, input column
	// j*sw+q-PadLeft, over [j0[q], j1[q]): the same for every row.
	var j0s, j1s [2]int
	var d2 deint2Plan
	if sw == 2 {
		for q := 0; q < 2; q++ {
			j0s[q] = min(ls, max(0, (g.PadLeft-q+1)/2))
			j1s[q] = max(j0s[q], min(ls, (g.W+g.PadLeft-q+1)/2))
		}
		d2 = newDeint2(g.W, g.PadLeft, j0s, j1s)
	}
	for c := c0; c < c1; c++ {
		plane := xp[c*ps : (c+1)*ps]
		clear(plane)
		if sh == 1 && sw == 1 {
			CopyRows(plane[g.PadTop*ls+g.PadLeft:], ls, x[c*g.H*g.W:], g.W, g.H, g.W)
			continue
		}
		for ih := 0; ih < g.H; ih++ {
			r := ih + g.PadTop
			src := x[(c*g.H+ih)*g.W : (c*g.H+ih+1)*g.W]
			if sw == 1 {
				copy(plane[((r%sh)*hs+r/sh)*ls+g.PadLeft:], src)
				continue
			}
			if sw == 2 {
				d2.run(plane[(((r%sh)*2)*hs+r/sh)*ls:][:ls], plane[(((r%sh)*2+1)*hs+r/sh)*ls:][:ls], src)
				continue
			}
			for q := 0; q < sw; q++ {
				j0 := min(ls, max(0, (g.PadLeft-q+sw-1)/sw))
				j1 := max(j0, min(ls, (g.W+g.PadLeft-q+sw-1)/sw))
				dst := plane[(((r%sh)*sw+q)*hs+r/sh)*ls:][:ls]
				for j, iw := j0, j0*sw+q-g.PadLeft; j < j1; j, iw = j+1, iw+sw {
					dst[j] = src[iw]
				}
			}
		}
	}
}

// Offsets returns, for every matrix row (c, kh, kw), where its run starts
// in the padded planes.
func (g *Im2col2D) Offsets(hs, ls int) []int {
	ps := g.PlaneSize(hs, ls)
	sh, sw := g.StrideH, g.StrideW
	offs := make([]int, 0, g.Rows())
	for c := 0; c < g.C; c++ {
		for kh := 0; kh < g.KH; kh++ {
			rh := kh * g.DilH
			for kw := 0; kw < g.KW; kw++ {
				cw := kw * g.DilW
				offs = append(offs, c*ps+(((rh%sh)*sw+cw%sw)*hs+rh/sh)*ls+cw/sw)
			}
		}
	}
	return offs
}
