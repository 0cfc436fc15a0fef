package tensor

import (
	"fmt"
	"reflect"
	"sync/atomic"

	"github.com/gocann/gocann/runtime"
)

// Allocator is where device tensors get their memory. Both runtime.Device
// and *runtime.Pool satisfy it.
type Allocator interface {
	Alloc(n int64) (runtime.Buffer, error)
}

// Tensor is an n-dimensional array: an element type, a row-major shape and
// storage. Its metadata never changes, so a tensor may be shared between
// goroutines; its contents are the caller's to synchronize.
type Tensor struct {
	dtype DType
	shape Shape
	off   int64    // byte offset of element 0 in st.buf
	st    *storage // shared with reshapes of the same data
}

// storage is shared by a tensor and its reshapes, so that a Free through
// any of them is seen by all.
type storage struct {
	buf   runtime.Buffer // nil for string tensors
	strs  []string       // string tensors only
	freed atomic.Bool
}

// checkArgs validates a dtype and shape for the constructor named what.
func checkArgs(what string, dt DType, shape Shape) error {
	if !dt.Valid() {
		return fmt.Errorf("tensor: %s: invalid dtype %v: %w", what, dt, runtime.ErrInvalidArgument)
	}
	if err := shape.check(); err != nil {
		return fmt.Errorf("tensor: %s %v: %w", what, dt, err)
	}
	return nil
}

// New returns a zeroed host tensor; string elements are "".
func New(dt DType, shape Shape) (*Tensor, error) {
	if err := checkArgs("New", dt, shape); err != nil {
		return nil, err
	}
	return newHost(dt, shape)
}

// newHost allocates a host tensor for arguments already checked.
func newHost(dt DType, shape Shape) (*Tensor, error) {
	shape = shape.Clone()
	n := shape.NumElements()
	if dt == String {
		if n > maxHostBytes/16 { // a string header is 16 bytes
			return nil, fmt.Errorf("tensor: %d strings: %w", n, runtime.ErrOutOfMemory)
		}
		return &Tensor{dtype: dt, shape: shape, st: &storage{strs: make([]string, n)}}, nil
	}
	b, err := allocHost(int64(n) * int64(dt.Size()))
	if err != nil {
		return nil, err
	}
	return &Tensor{dtype: dt, shape: shape, st: &storage{buf: &hostBuffer{b: b}}}, nil
}

// NewOn returns a tensor whose storage comes from a, with undefined
// contents. A nil a means the host (a zeroed host tensor). String tensors
// cannot live on a device: ErrUnsupported.
func NewOn(a Allocator, dt DType, shape Shape) (*Tensor, error) {
	if a == nil {
		return New(dt, shape)
	}
	if err := checkArgs("NewOn", dt, shape); err != nil {
		return nil, err
	}
	if dt == String {
		return nil, fmt.Errorf("tensor: NewOn: string tensors stay on the host: %w", runtime.ErrUnsupported)
	}
	if isNil(a) {
		return nil, fmt.Errorf("tensor: NewOn: nil %T allocator: %w", a, runtime.ErrInvalidArgument)
	}
	n := int64(shape.NumElements()) * int64(dt.Size())
	buf, err := a.Alloc(n)
	if err != nil {
		return nil, fmt.Errorf("tensor: NewOn %v%v: %w", dt, shape, err)
	}
	t, err := adopt("NewOn", buf, 0, dt, shape)
	if err != nil {
		if buf != nil {
			buf.Free()
		}
		return nil, err
	}
	return t, nil
}

// FromBuffer makes a tensor of the given type and shape over buf, starting
// off bytes in. The tensor takes ownership: its Free frees buf. On error buf
// is left to the caller. A buffer whose Device is nil must be
// runtime.HostAccessible; it is then treated as host memory.
func FromBuffer(buf runtime.Buffer, off int64, dt DType, shape Shape) (*Tensor, error) {
	if err := checkArgs("FromBuffer", dt, shape); err != nil {
		return nil, err
	}
	if dt == String {
		return nil, fmt.Errorf("tensor: FromBuffer: string tensors have no buffer: %w", runtime.ErrUnsupported)
	}
	return adopt("FromBuffer", buf, off, dt, shape)
}

// adopt wraps a buffer for checked dtype and shape, checking the buffer.
func adopt(what string, buf runtime.Buffer, off int64, dt DType, shape Shape) (*Tensor, error) {
	if buf == nil || isNil(buf) {
		return nil, fmt.Errorf("tensor: %s: nil buffer: %w", what, runtime.ErrInvalidArgument)
	}
	n := int64(shape.NumElements()) * int64(dt.Size())
	if err := runtime.CheckRange("tensor: "+what+" "+dt.String()+shape.String(), buf.Size(), off, n); err != nil {
		return nil, err
	}
	if buf.Device() == nil {
		if _, ok := buf.(runtime.HostAccessible); !ok {
			return nil, fmt.Errorf("tensor: %s: buffer %T has no device and is not host-accessible: %w", what, buf, runtime.ErrInvalidArgument)
		}
	}
	return &Tensor{dtype: dt, shape: shape.Clone(), off: off, st: &storage{buf: buf}}, nil
}

// usable reports why t cannot be used by the operation named what: nil, a
// zero Tensor, or freed.
func (t *Tensor) usable(what string) error {
	switch {
	case t == nil:
		return fmt.Errorf("tensor: %s: nil tensor: %w", what, runtime.ErrInvalidArgument)
	case t.st == nil:
		return fmt.Errorf("tensor: %s: zero Tensor has no storage: %w", what, runtime.ErrInvalidArgument)
	case t.st.freed.Load():
		return fmt.Errorf("tensor: %s: %v%v was freed: %w", what, t.dtype, t.shape, runtime.ErrClosed)
	}
	return nil
}

// DType returns the element type.
func (t *Tensor) DType() DType {
	if t == nil {
		return Undefined
	}
	return t.dtype
}

// Shape returns a copy of the dimensions.
func (t *Tensor) Shape() Shape {
	if t == nil {
		return Shape{}
	}
	return t.shape.Clone()
}

// Dim returns dimension i without copying the shape (executors check
// shapes on every run); it panics when i is out of range, as indexing does.
func (t *Tensor) Dim(i int) int { return t.shape[i] }

// Rank is the number of dimensions, 0 for a scalar.
func (t *Tensor) Rank() int {
	if t == nil {
		return 0
	}
	return len(t.shape)
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	if t == nil {
		return 0
	}
	return t.shape.NumElements()
}

// NumBytes is the size of the elements in bytes; 0 for string tensors.
func (t *Tensor) NumBytes() int64 { return int64(t.Len()) * int64(t.DType().Size()) }

// Strides returns the row-major strides in elements.
func (t *Tensor) Strides() []int {
	if t == nil {
		return []int{}
	}
	return t.shape.Strides()
}

// Device is the device holding the storage, nil for host tensors.
func (t *Tensor) Device() runtime.Device {
	if t == nil || t.st == nil || t.st.buf == nil {
		return nil
	}
	return t.st.buf.Device()
}

// Buffer is the storage, nil for string tensors. Element 0 is Offset bytes
// in.
func (t *Tensor) Buffer() runtime.Buffer {
	if t == nil || t.st == nil {
		return nil
	}
	return t.st.buf
}

// Offset is the byte offset of element 0 within Buffer.
func (t *Tensor) Offset() int64 {
	if t == nil {
		return 0
	}
	return t.off
}

// onHost reports whether the storage is host memory (and not strings),
// which this package reads directly instead of through a stream.
func (t *Tensor) onHost() bool { return t.st.buf != nil && t.st.buf.Device() == nil }

// HostBytes returns the tensor's bytes in place, in native byte order, when
// the storage is host-readable: host tensors and device buffers that are
// runtime.HostAccessible (the CPU's). It returns false for other device
// tensors, string tensors and freed ones.
func (t *Tensor) HostBytes() ([]byte, bool) {
	if t.usable("HostBytes") != nil || t.st.buf == nil {
		return nil, false
	}
	h, ok := t.st.buf.(runtime.HostAccessible)
	if !ok {
		return nil, false
	}
	b := h.HostBytes()
	end := t.off + t.NumBytes()
	if t.off < 0 || end > int64(len(b)) {
		return nil, false // a buffer that lies about its size
	}
	return b[t.off:end:end], true
}

// Strings returns a copy of a string tensor's elements.
func (t *Tensor) Strings() ([]string, error) { return ToSlice[string](t) }

// Reshape returns a tensor of the given shape over the same storage; the
// element count must not change.
func (t *Tensor) Reshape(shape Shape) (*Tensor, error) {
	if err := t.usable("Reshape"); err != nil {
		return nil, err
	}
	if err := shape.check(); err != nil {
		return nil, fmt.Errorf("tensor: Reshape %v%v: %w", t.dtype, t.shape, err)
	}
	if n := shape.NumElements(); n != t.Len() {
		return nil, fmt.Errorf("tensor: Reshape %v%v (%d elements) to %v (%d elements): %w",
			t.dtype, t.shape, t.Len(), shape, n, runtime.ErrInvalidArgument)
	}
	return &Tensor{dtype: t.dtype, shape: shape.Clone(), off: t.off, st: t.st}, nil
}

// Free releases device storage, shared with the tensor's reshapes, which
// must not be used afterwards; freeing twice returns runtime.ErrClosed. For
// host tensors it does nothing, the garbage collector owning their memory.
// Work still pending on a stream must not use the storage.
func (t *Tensor) Free() error {
	if t == nil || t.st == nil || t.st.buf == nil {
		return nil
	}
	if _, ok := t.st.buf.(*hostBuffer); ok {
		return nil
	}
	if !t.st.freed.CompareAndSwap(false, true) {
		return fmt.Errorf("tensor: Free %v%v: %w", t.dtype, t.shape, runtime.ErrClosed)
	}
	if err := t.st.buf.Free(); err != nil {
		return fmt.Errorf("tensor: Free %v%v: %w", t.dtype, t.shape, err)
	}
	return nil
}

// isNil reports whether v is nil or an interface holding a nil pointer,
// map, func or similar, which would panic when its methods are called.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
