package tensor

import (
	"fmt"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// readOnlyBuffer is host memory that this process must not write: weights
// in a memory-mapped model file, shared by every model that maps it. Like
// hostBuffer it has no device and is read in place; unlike it, HostPool
// never recycles it and ReadOnly reports it.
type readOnlyBuffer struct{ b []byte }

func (r *readOnlyBuffer) Device() runtime.Device { return nil }
func (r *readOnlyBuffer) Size() int64            { return int64(len(r.b)) }
func (r *readOnlyBuffer) Free() error            { return nil }
func (r *readOnlyBuffer) HostBytes() []byte      { return r.b }

// FromReadOnlyBytes returns a host tensor over b itself, without copying,
// for memory the caller keeps alive and unchanged for as long as the
// tensor is used (a memory-mapped file). b holds the elements in native
// byte order, exactly the tensor's size, aligned for the element type.
// Booleans must be 0 or 1 (a Go bool may hold nothing else): the caller
// checks untrusted bytes or uses FromBytes.
//
// The tensor is read-only: nothing may write its elements, which
// [Tensor.ReadOnly] reports so that executors never run a kernel in place
// on it and hand out copies instead of the tensor itself.
func FromReadOnlyBytes(dt DType, shape Shape, b []byte) (*Tensor, error) {
	if err := checkArgs("FromReadOnlyBytes", dt, shape); err != nil {
		return nil, err
	}
	if dt == String {
		return nil, fmt.Errorf("tensor: FromReadOnlyBytes: string tensors have no byte form: %w", runtime.ErrUnsupported)
	}
	if want := int64(shape.NumElements()) * int64(dt.Size()); int64(len(b)) != want {
		return nil, fmt.Errorf("tensor: FromReadOnlyBytes %v%v: %d bytes, want %d: %w", dt, shape, len(b), want, runtime.ErrInvalidArgument)
	}
	if align := uintptr(wordSize(dt)); len(b) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%align != 0 {
		return nil, fmt.Errorf("tensor: FromReadOnlyBytes %v%v: memory not %d-byte aligned: %w", dt, shape, align, runtime.ErrInvalidArgument)
	}
	return &Tensor{dtype: dt, shape: shape.Clone(), st: &storage{buf: &readOnlyBuffer{b: b[:len(b):len(b)]}}}, nil
}

// ReadOnly reports whether t's storage must not be written (see
// FromReadOnlyBytes). Reshapes share the property.
func (t *Tensor) ReadOnly() bool {
	if t == nil || t.st == nil {
		return false
	}
	_, ok := t.st.buf.(*readOnlyBuffer)
	return ok
}

// Clone returns a host tensor holding a copy of t's elements, with storage
// of its own: writable, even when t is read-only. t must be host-readable.
func (t *Tensor) Clone() (*Tensor, error) {
	if err := t.usable("Clone"); err != nil {
		return nil, err
	}
	if t.dtype == String {
		return fromSlice(String, t.st.strs, t.shape)
	}
	b, err := t.readable("Clone")
	if err != nil {
		return nil, err
	}
	c, err := newHost(t.dtype, t.shape)
	if err != nil {
		return nil, err
	}
	copy(c.st.buf.(*hostBuffer).b, b)
	return c, nil
}
