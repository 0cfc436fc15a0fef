package tensor

import (
	"fmt"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// sliceShape returns the shape for n values: dims, or 1-D [n] when none
// are given, checking that it holds exactly n elements.
func sliceShape(what string, dt DType, n int, dims []int) (Shape, error) {
	shape := Shape{n}
	if len(dims) > 0 {
		shape = Shape(dims).Clone()
	}
	if err := shape.check(); err != nil {
		return nil, fmt.Errorf("tensor: %s %v: %w", what, dt, err)
	}
	if m := shape.NumElements(); m != n {
		return nil, fmt.Errorf("tensor: %s: %d values for shape %v (%d elements): %w", what, n, shape, m, runtime.ErrInvalidArgument)
	}
	return shape, nil
}

// FromSlice returns a host tensor holding a copy of data, of the given
// shape, or 1-D when no shape is given.
func FromSlice[T Element](data []T, shape ...int) (*Tensor, error) {
	dt := DTypeOf[T]()
	s, err := sliceShape("FromSlice", dt, len(data), shape)
	if err != nil {
		return nil, err
	}
	return fromSlice(dt, data, s)
}

// fromSlice copies data into a new host tensor of a checked shape.
func fromSlice[T Element](dt DType, data []T, s Shape) (*Tensor, error) {
	t, err := newHost(dt, s)
	if err != nil {
		return nil, err
	}
	if dt == String {
		copy(t.st.strs, any(data).([]string))
	} else {
		copy(t.st.buf.(*hostBuffer).b, bytesOf(data))
	}
	return t, nil
}

// Wrap returns a host tensor over data itself, without copying: writes
// through either are seen by both. Shapes are as for FromSlice.
func Wrap[T Element](data []T, shape ...int) (*Tensor, error) {
	dt := DTypeOf[T]()
	s, err := sliceShape("Wrap", dt, len(data), shape)
	if err != nil {
		return nil, err
	}
	st := &storage{}
	if dt == String {
		st.strs = any(data).([]string)[:len(data):len(data)]
	} else {
		st.buf = &hostBuffer{b: bytesOf(data)}
	}
	return &Tensor{dtype: dt, shape: s, st: st}, nil
}

// Scalar returns a rank-0 host tensor holding v.
func Scalar[T Element](v T) *Tensor {
	t, err := fromSlice(DTypeOf[T](), []T{v}, Shape{})
	if err != nil {
		panic("tensor: Scalar: " + err.Error()) // one element always fits
	}
	return t
}

// FromBytes returns a host tensor holding a copy of raw, which holds the
// elements in little-endian order as ONNX stores them; its length must be
// exactly the tensor's size. Booleans are one byte each, any nonzero byte
// reading as true. String tensors have no byte form: ErrUnsupported.
func FromBytes(dt DType, shape Shape, raw []byte) (*Tensor, error) {
	if err := checkArgs("FromBytes", dt, shape); err != nil {
		return nil, err
	}
	if dt == String {
		return nil, fmt.Errorf("tensor: FromBytes: string tensors have no byte form: %w", runtime.ErrUnsupported)
	}
	if want := int64(shape.NumElements()) * int64(dt.Size()); int64(len(raw)) != want {
		return nil, fmt.Errorf("tensor: FromBytes %v%v: %d bytes, want %d: %w", dt, shape, len(raw), want, runtime.ErrInvalidArgument)
	}
	t, err := newHost(dt, shape)
	if err != nil {
		return nil, err
	}
	b := t.st.buf.(*hostBuffer).b
	copy(b, raw)
	switch {
	case dt == Bool:
		normalizeBools(b)
	case !nativeLittleEndian:
		swapBytes(b, wordSize(dt))
	}
	return t, nil
}

// AdoptBytes is FromBytes without the copy where it can: the tensor is
// made over raw itself when the host is little-endian and raw is aligned
// for any element type, so that a model's weights are not held twice while
// it loads. The caller gives raw up: it must neither use nor change it
// afterwards (bool bytes are normalized in place).
func AdoptBytes(dt DType, shape Shape, raw []byte) (*Tensor, error) {
	if !nativeLittleEndian || len(raw) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%8 != 0 {
		return FromBytes(dt, shape, raw)
	}
	if err := checkArgs("AdoptBytes", dt, shape); err != nil {
		return nil, err
	}
	if dt == String {
		return nil, fmt.Errorf("tensor: AdoptBytes: string tensors have no byte form: %w", runtime.ErrUnsupported)
	}
	n := int64(shape.NumElements()) * int64(dt.Size())
	if int64(len(raw)) != n {
		return nil, fmt.Errorf("tensor: AdoptBytes %v%v: %d bytes, want %d: %w", dt, shape, len(raw), n, runtime.ErrInvalidArgument)
	}
	if dt == Bool {
		normalizeBools(raw)
	}
	return &Tensor{dtype: dt, shape: shape.Clone(), st: &storage{buf: &hostBuffer{b: raw[:n:n]}}}, nil
}

// normalizeBools makes every byte 0 or 1, the only values a Go bool may
// hold.
func normalizeBools(b []byte) {
	for i, v := range b {
		if v > 1 {
			b[i] = 1
		}
	}
}

// readable returns t's bytes for reading on the host, or an error naming
// the operation.
func (t *Tensor) readable(what string) ([]byte, error) {
	if err := t.usable(what); err != nil {
		return nil, err
	}
	b, ok := t.HostBytes()
	if !ok {
		return nil, fmt.Errorf("tensor: %s: %v%v on %s is not host-readable; copy it to the host first (ToHost or CopyTo): %w",
			what, t.dtype, t.shape, deviceName(t.Device()), runtime.ErrUnsupported)
	}
	return b, nil
}

// checkType reports a mismatch between t's type and T.
func checkType[T Element](what string, t *Tensor) error {
	if err := t.usable(what); err != nil {
		return err
	}
	if dt := DTypeOf[T](); t.dtype != dt {
		return fmt.Errorf("tensor: %s[%v]: tensor is %v%v: %w", what, dt, t.dtype, t.shape, runtime.ErrInvalidArgument)
	}
	return nil
}

// ToSlice returns a copy of the elements of a host-readable tensor (see
// HostBytes) as Go values of its own element type.
func ToSlice[T Element](t *Tensor) ([]T, error) {
	if err := checkType[T]("ToSlice", t); err != nil {
		return nil, err
	}
	out := make([]T, t.Len())
	if t.dtype == String {
		copy(out, any(t.st.strs).([]T))
		return out, nil
	}
	b, err := t.readable("ToSlice")
	if err != nil {
		return nil, err
	}
	ob := bytesOf(out)
	copy(ob, b)
	if t.dtype == Bool {
		normalizeBools(ob) // device kernels may have written other values
	}
	return out, nil
}

// View returns the elements of a host-readable tensor in place, without
// copying: writes through either are seen by both. Boolean storage must
// hold only 0 and 1, as every constructor here ensures; a buffer adopted
// with FromBuffer at an offset not aligned for T is ErrUnsupported (use
// ToSlice).
func View[T Element](t *Tensor) ([]T, error) {
	if err := checkType[T]("View", t); err != nil {
		return nil, err
	}
	if t.dtype == String {
		return any(t.st.strs).([]T), nil
	}
	b, err := t.readable("View")
	if err != nil {
		return nil, err
	}
	n := t.Len()
	if n == 0 {
		return []T{}, nil
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	var zero T
	if align := unsafe.Alignof(zero); uintptr(p)%align != 0 {
		return nil, fmt.Errorf("tensor: View[%v]: storage at offset %d is not %d-byte aligned; use ToSlice: %w",
			t.dtype, t.off, align, runtime.ErrUnsupported)
	}
	return unsafe.Slice((*T)(p), n), nil
}
