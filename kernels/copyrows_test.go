package kernels

import (
	"fmt"
	"testing"
)

// CopyRows on every SIMD level moves exactly the rows' values: row lengths
// around the vector widths, strides wider than the rows both ways, and
// guard values around and between the rows left untouched.
func TestCopyRows(t *testing.T) {
	withSIMD(t, func(t *testing.T) {
		for _, n := range []int{1, 3, 7, 8, 9, 14, 15, 16, 17, 31, 32, 33, 56, 100} {
			for _, c := range []struct{ rows, ldd, lds int }{{1, n, n}, {5, n, n + 2}, {4, n + 3, n}, {3, n + 16, n + 1}} {
				src := make([]float32, c.rows*c.lds+5)
				for i := range src {
					src[i] = float32(i + 1)
				}
				const guard = -1
				dst := make([]float32, c.rows*c.ldd+5)
				for i := range dst {
					dst[i] = guard
				}
				CopyRows(dst, c.ldd, src, c.lds, c.rows, n)
				for i, v := range dst {
					r, j := i/c.ldd, i%c.ldd
					want := float32(guard)
					if r < c.rows && j < n {
						want = src[r*c.lds+j]
					}
					if v != want {
						t.Fatalf("n=%d %+v: dst[%d] = %v, want %v", n, c, i, v, want)
					}
				}
			}
		}
	})
}

func TestCopyRowsBounds(t *testing.T) {
	for _, c := range []struct{ dst, ldd, src, lds, rows, n int }{
		{10, 5, 20, 5, 3, 5}, {20, 5, 10, 5, 3, 5}, {20, 4, 20, 5, 2, 5},
	} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			CopyRows(make([]float32, c.dst), c.ldd, make([]float32, c.src), c.lds, c.rows, c.n)
		})
	}
}
