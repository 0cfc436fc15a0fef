package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// im2colReference is the matrix by its definition.
func im2colReference(g *Im2col2D, x []float32) []float32 {
	col := make([]float32, g.Rows()*g.Cols())
	for c := 0; c < g.C; c++ {
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				k := (c*g.KH+kh)*g.KW + kw
				for oh := 0; oh < g.OH; oh++ {
					for ow := 0; ow < g.OW; ow++ {
						ih := oh*g.StrideH - g.PadTop + kh*g.DilH
						iw := ow*g.StrideW - g.PadLeft + kw*g.DilW
						if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
							col[k*g.Cols()+oh*g.OW+ow] = x[(c*g.H+ih)*g.W+iw]
						}
					}
				}
			}
		}
	}
	return col
}

func im2colCases() []Im2col2D {
	mk := func(c, h, w, k, s, d, pad int) Im2col2D {
		o := func(in int) int { return (in+2*pad-((k-1)*d+1))/s + 1 }
		return Im2col2D{C: c, H: h, W: w, KH: k, KW: k, StrideH: s, StrideW: s, DilH: d, DilW: d, PadTop: pad, PadLeft: pad, OH: o(h), OW: o(w)}
	}
	return []Im2col2D{
		mk(3, 8, 8, 3, 1, 1, 1), mk(4, 7, 7, 3, 1, 1, 1), mk(2, 14, 14, 3, 2, 1, 1), mk(3, 15, 9, 7, 2, 1, 3),
		mk(5, 6, 40, 3, 1, 2, 2), mk(2, 5, 5, 5, 1, 1, 0), mk(3, 1, 1, 3, 1, 1, 1), mk(2, 9, 33, 1, 1, 1, 0),
		{C: 2, H: 6, W: 11, KH: 2, KW: 3, StrideH: 1, StrideW: 3, DilH: 1, DilW: 2, PadTop: 1, PadLeft: 2, OH: 6, OW: 4},
	}
}

func TestIm2col2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, g := range im2colCases() {
		x := randSlice(rng, g.C*g.H*g.W)
		want := im2colReference(&g, x)
		got := make([]float32, len(want))
		if err := g.Fill(got, x); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: Fill [%d] = %v, want %v", g, i, got[i], want[i])
			}
		}
		// The packer gives the panels packB makes from the matrix.
		pack, err := g.Packer(x)
		if err != nil {
			t.Fatal(err)
		}
		n := g.Cols()
		for _, nr := range []int{4, 16, 32} {
			for _, blk := range [][4]int{{0, g.Rows(), 0, n}, {1, g.Rows() - 1, n / 3, n}, {0, 1, 0, min(n, 5)}} {
				k0, kc, j0, j1 := blk[0], blk[1], blk[2], blk[3]
				if kc <= 0 || j1 <= j0 {
					continue
				}
				size := kc * roundUp(j1-j0, nr)
				a, b := make([]float32, size), make([]float32, size)
				for i := range a {
					a[i], b[i] = 99, 99
				}
				pack(a, k0, kc, j0, j1, nr)
				packB(b, want, n, false, k0, kc, j0, j1, nr)
				for i := range a {
					if a[i] != b[i] {
						t.Fatalf("%+v nr=%d block %v: panel [%d] = %v, want %v", g, nr, blk, i, a[i], b[i])
					}
				}
			}
		}
	}
	bad := Im2col2D{C: 1, H: 2, W: 2, KH: 0, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, OH: 2, OW: 2}
	if _, err := bad.Packer(make([]float32, 4)); err == nil {
		t.Error("zero kernel accepted")
	}
}

// SgemmPackedB with the im2col packer computes the convolution as the GEMM
// over the stored matrix does, on every micro-kernel variant.
func TestSgemmPackedB(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	w := cpu.NewWorkers(2)
	defer w.Close()
	saved := active
	defer func() { active = saved }()
	for _, g := range im2colCases() {
		x := randSlice(rng, g.C*g.H*g.W)
		col := im2colReference(&g, x)
		m, n, k := 5, g.Cols(), g.Rows()
		a := randSlice(rng, m*k)
		bias := randSlice(rng, m)
		want := make([]float32, m*n)
		SgemmReference(false, false, m, n, k, 1, a, k, col, n, 0, want, n, &Epilogue{RowBias: bias})
		pack, _ := g.Packer(x)
		for _, v := range variants {
			active = v
			t.Run(fmt.Sprintf("%s/%dx%d", v.name, g.OH, g.OW), func(t *testing.T) {
				got := make([]float32, m*n)
				SgemmPackedB(w, m, n, k, 1, a, k, pack, 0, got, n, &Epilogue{RowBias: bias})
				for i := range got {
					if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(k) {
						t.Fatalf("[%d] = %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// The padded-grid form of a convolution: the product over the
// padded planes, compacted, equals the product over the im2col matrix.
func TestPaddedGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, g := range im2colCases() {
		hp, wp := g.PaddedGrid()
		x := randSlice(rng, g.C*g.H*g.W)
		col := im2colReference(&g, x)
		m, n, k := 3, g.Cols(), g.Rows()
		a := randSlice(rng, m*k)
		want := make([]float32, m*n)
		SgemmReference(false, false, m, n, k, 1, a, k, col, n, 0, want, n, nil)

		xp := make([]float32, g.C*g.PlaneSize(hp, wp))
		g.FillPadded(xp, x, hp, wp)
		np := g.OH * wp
		wide := make([]float32, m*np)
		SgemmPackedB(nil, m, np, k, 1, a, k, RowsPacker(xp, g.Offsets(hp, wp), np), 0, wide, np, nil)
		for i := 0; i < m; i++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					got, w := wide[i*np+oh*wp+ow], want[i*n+oh*g.OW+ow]
					if math.Abs(float64(got-w)) > 1e-5*float64(k) {
						t.Fatalf("%+v: y[%d][%d][%d] = %v, want %v", g, i, oh, ow, got, w)
					}
				}
			}
		}
	}
}
