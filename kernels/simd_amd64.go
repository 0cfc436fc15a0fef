//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/gen -set simd -out simd_amd64.s -stubs simd_stubs_amd64.go -pkg kernels

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		simdImpls = append(simdImpls, &simdImpl{level: simdAVX2, dwRow: dwRowAVX2})
	}
	if cpu.X86.HasAVX512F {
		simdImpls = append(simdImpls, &simdImpl{level: simdAVX512, dwRow: dwRowAVX512})
	}
	simd = pickSIMD()
}
