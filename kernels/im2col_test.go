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
		g.FillPadded(nil, xp, x, hp, wp)
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

// SgemmRowsB over rows at scattered, overlapping offsets (the padded grid of
// a convolution, and random ones) gives the same bits as packing those rows
// (SgemmPackedB with RowsPacker), on every variant, with every epilogue
// step, on shapes with edge tiles in both directions and several depth
// blocks; and matches the reference.
func TestSgemmRowsB(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	w := cpu.NewWorkers(2)
	defer w.Close()
	saved := active
	defer func() { active = saved }()
	type rowsCase struct {
		name    string
		m, n, k int
		src     []float32
		offs    []int
	}
	var cases []rowsCase
	for _, g := range im2colCases() {
		hp, wp := g.PaddedGrid()
		xp := make([]float32, g.C*g.PlaneSize(hp, wp))
		g.FillPadded(nil, xp, randSlice(rng, g.C*g.H*g.W), hp, wp)
		cases = append(cases, rowsCase{fmt.Sprintf("grid%dx%d", g.OH, g.OW), 11, g.OH * wp, g.Rows(), xp, g.Offsets(hp, wp)})
	}
	for _, s := range [][3]int{{8, 32, 1}, {9, 33, 5}, {16, 64, 700}, {37, 95, 130}, {3, 200, 40}} {
		m, n, k := s[0], s[1], s[2]
		src := randSlice(rng, 3*n+50)
		offs := make([]int, k)
		for p := range offs {
			offs[p] = rng.IntN(len(src) - n + 1)
		}
		cases = append(cases, rowsCase{fmt.Sprintf("random%dx%dx%d", m, n, k), m, n, k, src, offs})
	}
	for _, c := range cases {
		a := randSlice(rng, c.m*c.k)
		bmat := make([]float32, c.k*c.n)
		for p := 0; p < c.k; p++ {
			copy(bmat[p*c.n:(p+1)*c.n], c.src[c.offs[p]:])
		}
		ep := &Epilogue{RowBias: randSlice(rng, c.m), ColBias: randSlice(rng, c.n), Residual: randSlice(rng, c.m*c.n), ResidualLD: c.n, ReLU: true}
		c0 := randSlice(rng, c.m*c.n)
		want := append([]float32(nil), c0...)
		SgemmReference(false, false, c.m, c.n, c.k, 0.5, a, c.k, bmat, c.n, 1, want, c.n, ep)
		for _, v := range variants {
			active = v
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				packed := append([]float32(nil), c0...)
				SgemmPackedB(w, c.m, c.n, c.k, 0.5, a, c.k, RowsPacker(c.src, c.offs, c.n), 1, packed, c.n, ep)
				got := append([]float32(nil), c0...)
				SgemmRowsB(w, c.m, c.n, c.k, 0.5, a, c.k, c.src, c.offs, 1, got, c.n, ep)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(packed[i]) {
						t.Fatalf("[%d] = %v in place, %v packed", i, got[i], packed[i])
					}
					if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(c.k+4) {
						t.Fatalf("[%d] = %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// A row offset past the end of src panics before any kernel runs.
func TestSgemmRowsBChecksBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	SgemmRowsB(nil, 2, 4, 2, 1, make([]float32, 4), 2, make([]float32, 10), []int{0, 7}, 0, make([]float32, 8), 4, nil)
}
