package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkIm2colPack compares packing a convolution's B panels from the
// image (Packer) with writing the im2col matrix and packing that (Fill,
// packB), for ResNet-18 layers (kc 192 rows, 640 columns, nr 32).
func BenchmarkIm2colPack(b *testing.B) {
	for _, g := range []Im2col2D{
		{C: 64, H: 56, W: 56, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, OH: 56, OW: 56},
		{C: 256, H: 14, W: 14, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, OH: 14, OW: 14},
		{C: 3, H: 224, W: 224, KH: 7, KW: 7, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadTop: 3, PadLeft: 3, OH: 112, OW: 112},
	} {
		x := make([]float32, g.C*g.H*g.W)
		kc, nc, nr := min(192, g.Rows()), min(640, g.Cols()), 32
		dst := make([]float32, kc*roundUp(nc, nr))
		pack, _ := g.Packer(x)
		name := fmt.Sprintf("%dx%dx%d_k%d_s%d", g.C, g.H, g.W, g.KH, g.StrideH)
		b.Run("packer/"+name, func(b *testing.B) {
			done := cpuTime(b, 0)
			for i := 0; i < b.N; i++ {
				for k0 := 0; k0+kc <= g.Rows(); k0 += kc {
					for j0 := 0; j0 < g.Cols(); j0 += nc {
						pack(dst, k0, kc, j0, min(j0+nc, g.Cols()), nr)
					}
				}
			}
			done()
		})
		if hp, wp := g.PaddedGrid(); true {
			xp := make([]float32, g.C*g.PlaneSize(hp, wp))
			offs := g.Offsets(hp, wp)
			np := g.OH * wp
			rp := RowsPacker(xp, offs, np)
			b.Run("padded/"+name, func(b *testing.B) {
				done := cpuTime(b, 0)
				for i := 0; i < b.N; i++ {
					g.FillPadded(nil, xp, x, hp, wp)
					for k0 := 0; k0+kc <= g.Rows(); k0 += kc {
						for j0 := 0; j0 < np; j0 += nc {
							rp(dst, k0, kc, j0, min(j0+nc, np), nr)
						}
					}
				}
				done()
			})
		}
		col := make([]float32, g.Rows()*g.Cols())
		b.Run("fill+packB/"+name, func(b *testing.B) {
			done := cpuTime(b, 0)
			for i := 0; i < b.N; i++ {
				g.Fill(col, x)
				for k0 := 0; k0+kc <= g.Rows(); k0 += kc {
					for j0 := 0; j0 < g.Cols(); j0 += nc {
						packB(dst, col, g.Cols(), false, k0, kc, j0, min(j0+nc, g.Cols()), nr)
					}
				}
			}
			done()
		})
	}
}
