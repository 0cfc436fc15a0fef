package kernels

import "fmt"

// CopyRows copies rows rows of n values from src, row r at src[r·lds:], to
// dst, row r at dst[r·ldd:]: moving a plane between a padded layout and a
// dense one. Rows of a convolution's late layers hold 7 or 14 values, for
// which a copy call per row costs more than the convolution's arithmetic;
// the vector kernels copy a row in one or two masked moves. CopyRows
// panics if a slice is too short (rows must not overlap when dst and src
// are the same slice).
func CopyRows(dst []float32, ldd int, src []float32, lds int, rows, n int) {
	if rows <= 0 || n <= 0 {
		return
	}
	if n > ldd && rows > 1 || n > lds && rows > 1 || (rows-1)*ldd+n > len(dst) || (rows-1)*lds+n > len(src) || ldd < 0 || lds < 0 {
		panic(fmt.Sprintf("kernels: CopyRows of %d x %d (strides %d, %d) out of %d and %d values", rows, n, ldd, lds, len(dst), len(src)))
	}
	if f := simd.copyRows; f != nil {
		f(&dst[0], ldd, &src[0], lds, rows, n)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*ldd:r*ldd+n], src[r*lds:])
	}
}
