package tensor

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// hostBuffer is the storage of host tensors: a runtime.Buffer with no
// device, readable in place. Go's garbage collector owns the memory, so
// Free has nothing to do.
type hostBuffer struct{ b []byte }

func (h *hostBuffer) Device() runtime.Device { return nil }
func (h *hostBuffer) Size() int64            { return int64(len(h.b)) }
func (h *hostBuffer) Free() error            { return nil }
func (h *hostBuffer) HostBytes() []byte      { return h.b }

// maxHostBytes keeps host allocations below what make accepts, so that an
// absurd (but valid) shape is an error rather than a runtime panic.
const maxHostBytes = min(1<<47, math.MaxInt)

// allocHost returns n zeroed bytes aligned to 8, so that any element type,
// complex128 included, may be viewed in place.
func allocHost(n int64) ([]byte, error) {
	if n < 0 || n > maxHostBytes {
		return nil, fmt.Errorf("tensor: host allocation of %d bytes: %w", n, runtime.ErrOutOfMemory)
	}
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), n), nil
}

// bytesOf reinterprets a slice of fixed-size elements (not strings) as its
// bytes.
func bytesOf[T Element](s []T) []byte {
	var zero T
	n := len(s) * int(unsafe.Sizeof(zero))
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), n)
}

// nativeLittleEndian is true on the platforms Go mostly runs on; FromBytes
// swaps on the others, because tensor storage is in native order.
var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// swapBytes reverses each word of the given size in b, in place.
func swapBytes(b []byte, word int) {
	if word <= 1 {
		return
	}
	for i := 0; i+word <= len(b); i += word {
		w := b[i : i+word]
		for j, k := 0, word-1; j < k; j, k = j+1, k-1 {
			w[j], w[k] = w[k], w[j]
		}
	}
}

// wordSize is the unit of byte order within an element: a complex number
// is two floats.
func wordSize(dt DType) int {
	if dt.IsComplex() {
		return dt.Size() / 2
	}
	return dt.Size()
}
