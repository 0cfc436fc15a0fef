//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/gen -set simd -out simd_amd64.s -stubs simd_stubs_amd64.go -pkg kernels

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		simdImpls = append(simdImpls, &simdImpl{
			level: simdAVX2, dwRow: dwRowAVX2, maxRow: maxRowAVX2, deint2: deint2AVX2, copyRows: copyRowsAVX2, axpyRows: axpyRowsAVX2,
			rowSum: rowSumAVX2, rowSqDev: rowSqDevAVX2, rowNorm: rowNormAVX2,
			vv:   [numBinaryOps]vvFunc{Add: addVVAVX2, Sub: subVVAVX2, Mul: mulVVAVX2, Div: divVVAVX2},
			vs:   [numBinaryOps]vsFunc{Add: addVSAVX2, Sub: subVSAVX2, Mul: mulVSAVX2, Div: divVSAVX2},
			sv:   [numBinaryOps]svFunc{Sub: subSVAVX2, Div: divSVAVX2},
			clip: clipAVX2, sqrt: sqrtAVX2,
			exp: expAVX2, sigmoid: logisticAVX2, silu: siluAVX2, tanh: tanhAVX2, erf: erfAVX2,
		})
	}
	if cpu.X86.HasAVX512F {
		simdImpls = append(simdImpls, &simdImpl{
			level: simdAVX512, dwRow: dwRowAVX512, maxRow: maxRowAVX512, deint2: deint2AVX512, copyRows: copyRowsAVX512, axpyRows: axpyRowsAVX512,
			rowSum: rowSumAVX512, rowSqDev: rowSqDevAVX512, rowNorm: rowNormAVX512,
			vv:   [numBinaryOps]vvFunc{Add: addVVAVX512, Sub: subVVAVX512, Mul: mulVVAVX512, Div: divVVAVX512},
			vs:   [numBinaryOps]vsFunc{Add: addVSAVX512, Sub: subVSAVX512, Mul: mulVSAVX512, Div: divVSAVX512},
			sv:   [numBinaryOps]svFunc{Sub: subSVAVX512, Div: divSVAVX512},
			clip: clipAVX512, sqrt: sqrtAVX512,
			exp: expAVX512, sigmoid: logisticAVX512, silu: siluAVX512, tanh: tanhAVX512, erf: erfAVX512,
			gelu: geluAVX512, geluTanh: geluTanhAVX512,
		})
	}
	for _, s := range simdImpls {
		if s.level == simdAVX512 && cpu.X86.HasBMI2 {
			s.dwShift[1][3], s.dwShift[1][5] = dwRowK3AVX512, dwRowK5AVX512
			s.deint2All = true
			s.dwShift[2][3], s.dwShift[2][5] = dwRowK3S2AVX512, dwRowK5S2AVX512
		}
		switch s.level {
		case simdAVX2:
			s.dotRows = dotRowsAVX2
			for m, f := range []skinnyFunc{skinny1AVX2, skinny2AVX2, skinny3AVX2, skinny4AVX2, skinny5AVX2, skinny6AVX2, skinny7AVX2, skinny8AVX2} {
				s.skinny[m+1] = skinnyKernel{f, 8 * skinnyVectors(8, m+1)}
			}
		case simdAVX512:
			s.dotRows = dotRowsAVX512
			for m, f := range []skinnyFunc{skinny1AVX512, skinny2AVX512, skinny3AVX512, skinny4AVX512, skinny5AVX512, skinny6AVX512, skinny7AVX512, skinny8AVX512} {
				s.skinny[m+1] = skinnyKernel{f, 16 * skinnyVectors(16, m+1)}
			}
		}
	}
	simd = pickSIMD()
}

// skinnyVectors mirrors internal/gen: the skinny kernel's width in vectors
// for m rows at lanes floats per vector.
func skinnyVectors(lanes, m int) int {
	if lanes == 16 {
		if m <= 6 {
			return 4
		}
		return 3
	}
	if m <= 6 {
		return 2
	}
	return 1
}
