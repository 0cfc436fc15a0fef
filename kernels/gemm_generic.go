package kernels

import "unsafe"

// SgemmReference is Sgemm as a plain triple loop summing in float64: slow,
// obviously correct, and what every micro-kernel variant is tested against.
func SgemmReference(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *Epilogue) {
	if ep == nil {
		ep = &Epilogue{}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			if ep.RowBias != nil {
				v += float64(ep.RowBias[i])
			}
			if ep.ColBias != nil {
				v += float64(ep.ColBias[j])
			}
			if ep.Residual != nil {
				v += float64(ep.Residual[i*ep.ResidualLD+j])
			}
			c[i*ldc+j] = ep.act().Scalar(float32(v))
		}
	}
}

// kernelGo2x4 is the portable micro-kernel: a 2x4 tile, the largest whose
// 8 accumulators and 6 operands the Go compiler keeps in registers.
func kernelGo2x4(k int, a *float32, rs, ks int, b, c *float32, ldc int, alpha float32, flags uint64, rowBias, colBias, res *float32, ldr int, clip *float32) {
	av := unsafe.Slice(a, rs+(k-1)*ks+1)
	bv := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	i0, i1 := 0, rs
	for p := 0; p+4 <= len(bv); p += 4 {
		a0, a1 := av[i0], av[i1]
		bb := (*[4]float32)(bv[p:])
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		i0 += ks
		i1 += ks
	}
	t := [8]float32{c00, c01, c02, c03, c10, c11, c12, c13}
	cv := unsafe.Slice(c, ldc+4)
	for r := 0; r < 2; r++ {
		row := cv[r*ldc : r*ldc+4]
		for j := range row {
			s := alpha * t[r*4+j]
			if flags&flagAccumulate != 0 {
				s += row[j]
			}
			if flags&flagRowBias != 0 {
				s += unsafe.Slice(rowBias, 2)[r]
			}
			if flags&flagColBias != 0 {
				s += unsafe.Slice(colBias, 4)[j]
			}
			if flags&flagResidual != 0 {
				s += unsafe.Slice(res, r*ldr+4)[r*ldr+j]
			}
			if flags&flagReLU != 0 && s < 0 {
				s = 0
			}
			if flags&flagClip != 0 {
				cl := unsafe.Slice(clip, 2)
				s = min32(max32(s, cl[0]), cl[1])
			}
			row[j] = s
		}
	}
}
