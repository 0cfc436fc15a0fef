package main

// simd generates simd_amd64.s: the vector kernels other than SGEMM, each
// for AVX2+FMA (8 lanes) and AVX-512F (16 lanes).
func simd() {
	tables()
	mathTables()
	deintTables()
	for _, st := range []int{1, 2} {
		for _, kw := range []int{3, 5} {
			dwRowShift(kw, st)
		}
	}
	for _, s := range []isa{avx2, avx512} {
		dwRow(s)
		binaryKernels(s)
		mathKernels(s)
		maxRow(s)
		for m := 1; m <= 8; m++ {
			skinny(s, m)
		}
		dotRows(s)
		deint2(s)
		copyRows(s)
		layerNormKernels(s)
		axpyRows(s)
	}
}
