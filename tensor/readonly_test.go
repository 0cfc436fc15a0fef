package tensor

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

func TestFromReadOnlyBytes(t *testing.T) {
	words := make([]uint64, 4)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 32)
	x, err := FromReadOnlyBytes(Float32, Shape{2, 4}, b)
	if err != nil {
		t.Fatal(err)
	}
	if !x.ReadOnly() {
		t.Error("not read-only")
	}
	v, err := View[float32](x)
	if err != nil {
		t.Fatal(err)
	}
	if &v[0] != (*float32)(unsafe.Pointer(&words[0])) {
		t.Error("View copied the memory")
	}
	r, err := x.Reshape(Shape{8})
	if err != nil || !r.ReadOnly() {
		t.Errorf("reshape: read-only %v, %v", r.ReadOnly(), err)
	}
	words[0] = uint64(0x3f800000) // 1.0 in the first float
	c, err := x.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadOnly() {
		t.Error("clone is read-only")
	}
	if got, _ := ToSlice[float32](c); got[0] != 1 || len(got) != 8 {
		t.Errorf("clone holds %v", got)
	}
	cv, _ := View[float32](c)
	cv[1] = 5
	if v[1] != 0 {
		t.Error("clone shares storage")
	}

	var pool HostPool
	pool.Put(x)
	if y, _ := pool.New(Float32, Shape{2, 4}); y.SameStorage(x) || unsafe.SliceData(mustBytes(t, y)) == &b[0] {
		t.Error("pool recycled read-only storage")
	}

	fresh, _ := New(Float32, Shape{2})
	if fresh.ReadOnly() || (*Tensor)(nil).ReadOnly() {
		t.Error("ordinary tensors are not read-only")
	}
}

func mustBytes(t *testing.T, x *Tensor) []byte {
	t.Helper()
	b, ok := x.HostBytes()
	if !ok {
		t.Fatal("not host-readable")
	}
	return b
}

func TestFromReadOnlyBytesErrors(t *testing.T) {
	words := make([]uint64, 4)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 32)
	tests := []struct {
		name  string
		dt    DType
		shape Shape
		b     []byte
	}{
		{"size", Float32, Shape{3}, b},
		{"misaligned", Float32, Shape{2}, b[1:9]},
		{"string", String, Shape{1}, b[:16]},
		{"dtype", DType(99), Shape{1}, b[:4]},
		{"shape", Float32, Shape{-1}, b[:4]},
	}
	for _, tt := range tests {
		if _, err := FromReadOnlyBytes(tt.dt, tt.shape, tt.b); !errors.Is(err, runtime.ErrInvalidArgument) && !errors.Is(err, runtime.ErrUnsupported) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if _, err := FromReadOnlyBytes(Int8, Shape{0}, nil); err != nil {
		t.Errorf("empty tensor: %v", err)
	}
}

func TestCloneStrings(t *testing.T) {
	s, _ := FromSlice([]string{"a", "b"})
	c, err := s.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Strings(); len(got) != 2 || got[1] != "b" {
		t.Errorf("clone %v", got)
	}
}
