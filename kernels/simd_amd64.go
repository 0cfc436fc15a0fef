//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/gen -set simd -out simd_amd64.s -stubs simd_stubs_amd64.go -pkg kernels

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		simdImpls = append(simdImpls, &simdImpl{
			level: simdAVX2, dwRow: dwRowAVX2, maxRow: maxRowAVX2,
			vv:   [numBinaryOps]vvFunc{Add: addVVAVX2, Sub: subVVAVX2, Mul: mulVVAVX2, Div: divVVAVX2},
			vs:   [numBinaryOps]vsFunc{Add: addVSAVX2, Sub: subVSAVX2, Mul: mulVSAVX2, Div: divVSAVX2},
			sv:   [numBinaryOps]svFunc{Sub: subSVAVX2, Div: divSVAVX2},
			clip: clipAVX2, sqrt: sqrtAVX2,
			exp: expAVX2, sigmoid: logisticAVX2, silu: siluAVX2, tanh: tanhAVX2, erf: erfAVX2,
		})
	}
	if cpu.X86.HasAVX512F {
		simdImpls = append(simdImpls, &simdImpl{
			level: simdAVX512, dwRow: dwRowAVX512, maxRow: maxRowAVX512,
			vv:   [numBinaryOps]vvFunc{Add: addVVAVX512, Sub: subVVAVX512, Mul: mulVVAVX512, Div: divVVAVX512},
			vs:   [numBinaryOps]vsFunc{Add: addVSAVX512, Sub: subVSAVX512, Mul: mulVSAVX512, Div: divVSAVX512},
			sv:   [numBinaryOps]svFunc{Sub: subSVAVX512, Div: divSVAVX512},
			clip: clipAVX512, sqrt: sqrtAVX512,
			exp: expAVX512, sigmoid: logisticAVX512, silu: siluAVX512, tanh: tanhAVX512, erf: erfAVX512,
		})
	}
	simd = pickSIMD()
}
