package tensor

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// roundTrip puts six values of type T through every host constructor and
// accessor.
func roundTrip[T Element](t *testing.T, vals []T) {
	t.Helper()
	if len(vals) != 6 {
		t.Fatalf("roundTrip needs 6 values, got %d", len(vals))
	}
	dt := DTypeOf[T]()
	in := slices.Clone(vals)

	// FromSlice copies; ToSlice copies out.
	x, err := FromSlice(in, 2, 3)
	if err != nil {
		t.Fatalf("FromSlice: %v", err)
	}
	if x.DType() != dt || !x.Shape().Equal(Shape{2, 3}) || x.Rank() != 2 || x.Len() != 6 ||
		x.NumBytes() != int64(6*dt.Size()) || !slices.Equal(x.Strides(), []int{3, 1}) ||
		x.Device() != nil || x.Offset() != 0 || (x.Buffer() == nil) != (dt == String) {
		t.Fatalf("FromSlice metadata: %v %v rank %d len %d bytes %d strides %v device %v buffer %v",
			x.DType(), x.Shape(), x.Rank(), x.Len(), x.NumBytes(), x.Strides(), x.Device(), x.Buffer())
	}
	in[0] = vals[1]
	got, err := ToSlice[T](x)
	if err != nil || !slices.Equal(got, vals) {
		t.Fatalf("ToSlice = %v, %v; want %v (FromSlice must copy)", got, err, vals)
	}
	got[0] = vals[2]
	if again, _ := ToSlice[T](x); !slices.Equal(again, vals) {
		t.Fatal("ToSlice result aliases the tensor")
	}
	if b := x.Buffer(); b != nil {
		if _, ok := b.(runtime.HostAccessible); !ok || b.Device() != nil || b.Size() != x.NumBytes() || b.Free() != nil {
			t.Fatalf("host buffer %T: device %v size %d", b, b.Device(), b.Size())
		}
	}

	// View aliases.
	v, err := View[T](x)
	if err != nil || !slices.Equal(v, vals) {
		t.Fatalf("View = %v, %v", v, err)
	}
	v[5] = vals[0]
	if got, _ := ToSlice[T](x); got[5] != vals[0] {
		t.Fatal("a write through View is not seen")
	}

	// Wrap aliases both ways.
	in = slices.Clone(vals)
	w, err := Wrap(in, 3, 2)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	in[1] = vals[4]
	wv, err := View[T](w)
	if err != nil || wv[1] != vals[4] {
		t.Fatalf("Wrap does not alias: %v, %v", wv, err)
	}
	wv[2] = vals[0]
	if in[2] != vals[0] {
		t.Fatal("a write through a wrapped tensor is not seen in the slice")
	}

	// FromBytes reads little-endian bytes, encoded here independently.
	if dt == String {
		if _, err := FromBytes(dt, Shape{6}, nil); !errors.Is(err, runtime.ErrUnsupported) {
			t.Fatalf("FromBytes(string) = %v, want ErrUnsupported", err)
		}
	} else {
		raw, err := binary.Append(nil, binary.LittleEndian, vals)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := FromBytes(dt, Shape{6}, raw)
		if err != nil {
			t.Fatalf("FromBytes: %v", err)
		}
		if got, err := ToSlice[T](fb); err != nil || !slices.Equal(got, vals) {
			t.Fatalf("FromBytes then ToSlice = %v, %v; want %v", got, err, vals)
		}
		if hb, ok := fb.HostBytes(); !ok || (nativeLittleEndian && !slices.Equal(hb, raw)) {
			t.Fatalf("HostBytes = %v, %v; want %v", hb, ok, raw)
		}
		raw[0] ^= 0xff
		if got, _ := ToSlice[T](fb); !slices.Equal(got, vals) {
			t.Fatal("FromBytes does not copy")
		}
		if _, err := FromBytes(dt, Shape{6}, raw[1:]); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Fatalf("FromBytes short = %v", err)
		}
		if _, err := FromBytes(dt, Shape{-6}, raw); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Fatalf("FromBytes negative shape = %v", err)
		}
		if z, err := FromBytes(dt, Shape{0, 4}, nil); err != nil || z.Len() != 0 {
			t.Fatalf("FromBytes zero-sized = %v, %v", z, err)
		}
	}

	// New is zeroed.
	n, err := New(dt, Shape{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ToSlice[T](n); !slices.Equal(got, make([]T, 6)) {
		t.Fatalf("New is not zeroed: %v", got)
	}

	// Zero-sized tensors, through every path.
	for _, s := range []Shape{{0}, {2, 0, 3}} {
		z, err := FromSlice([]T{}, s...)
		if err != nil || z.Len() != 0 || z.NumBytes() != 0 || !z.Shape().Equal(s) {
			t.Fatalf("FromSlice zero-sized %v = %v, %v", s, z, err)
		}
		if got, err := ToSlice[T](z); err != nil || len(got) != 0 {
			t.Fatalf("ToSlice zero-sized = %v, %v", got, err)
		}
		if got, err := View[T](z); err != nil || len(got) != 0 {
			t.Fatalf("View zero-sized = %v, %v", got, err)
		}
		if z, err := Wrap[T](nil, s...); err != nil || z.Len() != 0 {
			t.Fatalf("Wrap(nil) zero-sized = %v, %v", z, err)
		}
		if z, err := New(dt, s); err != nil || z.Len() != 0 {
			t.Fatalf("New zero-sized = %v, %v", z, err)
		}
	}
	if z, err := FromSlice([]T{}); err != nil || !z.Shape().Equal(Shape{0}) {
		t.Fatalf("FromSlice(empty) = %v, %v", z, err)
	}

	// Scalars.
	sc := Scalar(vals[3])
	if sc.Rank() != 0 || sc.Len() != 1 || !sc.Shape().Equal(Shape{}) || len(sc.Strides()) != 0 {
		t.Fatalf("Scalar: rank %d len %d", sc.Rank(), sc.Len())
	}
	if got, err := ToSlice[T](sc); err != nil || !slices.Equal(got, vals[3:4]) {
		t.Fatalf("Scalar ToSlice = %v, %v", got, err)
	}
	if got, err := View[T](sc); err != nil || !slices.Equal(got, vals[3:4]) {
		t.Fatalf("Scalar View = %v, %v", got, err)
	}
	if one, err := FromSlice(vals[:1]); err != nil || !one.Shape().Equal(Shape{1}) {
		t.Fatalf("FromSlice of one value without a shape = %v, %v; want 1-D", one, err)
	}
	if s, err := New(dt, Shape{}); err != nil || s.Len() != 1 {
		t.Fatalf("New scalar = %v, %v", s, err)
	}
	if s, err := FromSlice(vals[:1], []int{}...); err != nil || s.Rank() != 1 {
		t.Fatalf("FromSlice with an empty shape list = %v, %v; want 1-D", s, err)
	}

	// Mismatches and bad shapes.
	for _, shape := range [][]int{{4}, {7}, {2, 2}, {-2, -3}, {0}, {1 << 40, 1 << 40}} {
		if _, err := FromSlice(vals, shape...); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("FromSlice(6 values, %v) = %v, want ErrInvalidArgument", shape, err)
		}
		if _, err := Wrap(vals, shape...); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Wrap(6 values, %v) = %v, want ErrInvalidArgument", shape, err)
		}
	}
	if _, err := New(dt, Shape{2, -1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("New with a negative dimension = %v", err)
	}
	var wrongErr error
	if dt == Float32 {
		_, wrongErr = ToSlice[int32](x)
		_, err = View[int32](x)
	} else {
		_, wrongErr = ToSlice[float32](x)
		_, err = View[float32](x)
	}
	if !errors.Is(wrongErr, runtime.ErrInvalidArgument) || !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("wrong element type: ToSlice %v, View %v; want ErrInvalidArgument", wrongErr, err)
	}
}

func TestRoundTrip(t *testing.T) {
	h := Float16FromFloat32
	b := BFloat16FromFloat32
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"float32", func(t *testing.T) {
			roundTrip(t, []float32{0, 1.5, -2, math.MaxFloat32, float32(math.Inf(-1)), math.SmallestNonzeroFloat32})
		}},
		{"float64", func(t *testing.T) {
			roundTrip(t, []float64{0, 1.5, -2, math.MaxFloat64, math.Inf(1), math.SmallestNonzeroFloat64})
		}},
		{"float16", func(t *testing.T) { roundTrip(t, []F16{h(0), h(1.5), h(-2), h(65504), 0x7c00, 0x0001}) }},
		{"bfloat16", func(t *testing.T) { roundTrip(t, []BF16{b(0), b(1.5), b(-2), b(3e38), 0xff80, 0x0001}) }},
		{"int8", func(t *testing.T) { roundTrip(t, []int8{0, 1, -1, math.MaxInt8, math.MinInt8, 42}) }},
		{"int16", func(t *testing.T) { roundTrip(t, []int16{0, 1, -1, math.MaxInt16, math.MinInt16, 42}) }},
		{"int32", func(t *testing.T) { roundTrip(t, []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 42}) }},
		{"int64", func(t *testing.T) { roundTrip(t, []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 42}) }},
		{"uint8", func(t *testing.T) { roundTrip(t, []uint8{0, 1, 2, math.MaxUint8, 128, 42}) }},
		{"uint16", func(t *testing.T) { roundTrip(t, []uint16{0, 1, 2, math.MaxUint16, 1 << 15, 42}) }},
		{"uint32", func(t *testing.T) { roundTrip(t, []uint32{0, 1, 2, math.MaxUint32, 1 << 31, 42}) }},
		{"uint64", func(t *testing.T) { roundTrip(t, []uint64{0, 1, 2, math.MaxUint64, 1 << 63, 42}) }},
		{"bool", func(t *testing.T) { roundTrip(t, []bool{false, true, true, false, true, false}) }},
		{"string", func(t *testing.T) { roundTrip(t, []string{"", "a", "héllo", "with space", "\x00", "z"}) }},
		{"complex64", func(t *testing.T) { roundTrip(t, []complex64{0, 1, 1i, -2 + 3i, complex(math.MaxFloat32, -1), 4}) }},
		{"complex128", func(t *testing.T) { roundTrip(t, []complex128{0, 1, 1i, -2 + 3i, complex(math.MaxFloat64, -1), 4}) }},
	}
	if len(tests) != len(allDTypes) {
		t.Fatalf("%d cases for %d types", len(tests), len(allDTypes))
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestFromBytesBool(t *testing.T) {
	x, err := FromBytes(Bool, Shape{4}, []byte{0, 1, 2, 255})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ToSlice[bool](x); !slices.Equal(got, []bool{false, true, true, true}) {
		t.Errorf("ToSlice = %v", got)
	}
	if hb, _ := x.HostBytes(); !slices.Equal(hb, []byte{0, 1, 1, 1}) {
		t.Errorf("HostBytes = %v, want normalized 0/1", hb)
	}
}

func TestBadArguments(t *testing.T) {
	if _, err := New(Undefined, Shape{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("New(Undefined) = %v", err)
	}
	if _, err := New(DType(99), Shape{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("New(99) = %v", err)
	}
	if _, err := FromBytes(Undefined, Shape{}, nil); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("FromBytes(Undefined) = %v", err)
	}
	// Valid shapes too large to allocate are errors, not runtime panics.
	if _, err := New(Uint8, Shape{maxElements}); !errors.Is(err, runtime.ErrOutOfMemory) {
		t.Errorf("New(huge) = %v, want ErrOutOfMemory", err)
	}
	if _, err := New(String, Shape{1 << 50}); !errors.Is(err, runtime.ErrOutOfMemory) {
		t.Errorf("New(huge string) = %v, want ErrOutOfMemory", err)
	}
	if _, err := FromBytes(Float32, Shape{1 << 40, 1 << 40}, nil); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("FromBytes overflow = %v", err)
	}
	err := func() error { _, err := FromSlice([]float32{1, 2, 3}, 2, 2); return err }()
	if err == nil || !strings.Contains(err.Error(), "3 values for shape [2 2] (4 elements)") {
		t.Errorf("FromSlice mismatch error = %v", err)
	}
}

// A nil *Tensor and a zero Tensor are caller mistakes: errors, not panics.
func TestNilAndZeroTensor(t *testing.T) {
	for _, x := range []*Tensor{nil, {}} {
		if x.DType() != Undefined {
			t.Error("DType")
		}
		_ = x.Shape()
		_ = x.Rank()
		_ = x.Len()
		_ = x.NumBytes()
		_ = x.Strides()
		_ = x.Offset()
		_ = x.String()
		if x.Device() != nil || x.Buffer() != nil {
			t.Error("nil tensor has storage")
		}
		if _, ok := x.HostBytes(); ok {
			t.Error("HostBytes ok")
		}
		if err := x.Free(); err != nil {
			t.Errorf("Free = %v", err)
		}
		if _, err := ToSlice[float32](x); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("ToSlice = %v", err)
		}
		if _, err := View[float32](x); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("View = %v", err)
		}
		if _, err := x.Strings(); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Strings = %v", err)
		}
		if _, err := x.Reshape(Shape{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Reshape = %v", err)
		}
		if _, err := x.CopyTo(t.Context(), nil, nil); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("CopyTo = %v", err)
		}
		if err := EnqueueCopy(nil, x, x); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("EnqueueCopy = %v", err)
		}
	}
	if got := (*Tensor)(nil).String(); got != "<nil>" {
		t.Errorf("nil String() = %q", got)
	}
}

func TestStrings(t *testing.T) {
	x, _ := FromSlice([]string{"a", "b"})
	s, err := x.Strings()
	if err != nil || !slices.Equal(s, []string{"a", "b"}) {
		t.Fatalf("Strings = %v, %v", s, err)
	}
	s[0] = "changed"
	if again, _ := x.Strings(); again[0] != "a" {
		t.Error("Strings returns an alias")
	}
	f, _ := FromSlice([]float32{1})
	if _, err := f.Strings(); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Strings of float32 = %v", err)
	}
	if x.Buffer() != nil || x.NumBytes() != 0 {
		t.Error("string tensor has a buffer or bytes")
	}
	if _, ok := x.HostBytes(); ok {
		t.Error("string tensor has HostBytes")
	}
}

func TestReshape(t *testing.T) {
	x, _ := FromSlice([]int32{1, 2, 3, 4, 5, 6}, 2, 3)
	tests := []struct {
		shape Shape
		ok    bool
	}{
		{Shape{6}, true}, {Shape{3, 2}, true}, {Shape{1, 6, 1}, true}, {Shape{2, 3}, true},
		{Shape{5}, false}, {Shape{}, false}, {Shape{-2, -3}, false}, {Shape{0}, false}, {Shape{1 << 40, 1 << 40}, false},
	}
	for _, tt := range tests {
		r, err := x.Reshape(tt.shape)
		if !tt.ok {
			if !errors.Is(err, runtime.ErrInvalidArgument) {
				t.Errorf("Reshape(%v) = %v, want ErrInvalidArgument", tt.shape, err)
			}
			continue
		}
		if err != nil || !r.Shape().Equal(tt.shape) || r.Buffer() != x.Buffer() {
			t.Fatalf("Reshape(%v) = %v, %v", tt.shape, r, err)
		}
	}
	r, _ := x.Reshape(Shape{6})
	v, _ := View[int32](r)
	v[0] = 100
	if got, _ := ToSlice[int32](x); got[0] != 100 {
		t.Error("Reshape copies")
	}
	shape := Shape{3, 2}
	r, _ = x.Reshape(shape)
	shape[0] = 99
	if !r.Shape().Equal(Shape{3, 2}) {
		t.Error("Reshape keeps the caller's slice")
	}
	r.Shape()[0] = 99
	if !r.Shape().Equal(Shape{3, 2}) {
		t.Error("Shape returns an alias")
	}
	// Scalars and zero-sized tensors.
	sc := Scalar(float32(2))
	if r, err := sc.Reshape(Shape{1, 1}); err != nil || r.Len() != 1 {
		t.Errorf("scalar Reshape = %v, %v", r, err)
	}
	z, _ := New(Float32, Shape{0, 3})
	if r, err := z.Reshape(Shape{3, 0, 7}); err != nil || r.Len() != 0 {
		t.Errorf("zero-sized Reshape = %v, %v", r, err)
	}
	s, _ := FromSlice([]string{"a", "b"})
	if r, err := s.Reshape(Shape{1, 2}); err != nil {
		t.Errorf("string Reshape: %v", err)
	} else if got, _ := r.Strings(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("string Reshape = %v", got)
	}
}

func TestStringFormat(t *testing.T) {
	mk := func(x *Tensor, err error) *Tensor {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		x    *Tensor
		want string
	}{
		{mk(FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)), "float32[2 3] [1 2 3 4 5 6]"},
		{Scalar(int64(7)), "int64[] [7]"},
		{mk(FromSlice([]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})), "int32[10] [0 1 2 3 4 5 6 7 ...]"},
		{mk(FromSlice([]string{"a", "b c"})), `string[2] ["a" "b c"]`},
		{mk(FromSlice([]F16{Float16FromFloat32(1.5), 0x7c00})), "float16[2] [1.5 +Inf]"},
		{mk(FromSlice([]BF16{BFloat16FromFloat32(-0.5)})), "bfloat16[1] [-0.5]"},
		{mk(FromSlice([]bool{true, false})), "bool[2] [true false]"},
		{mk(FromSlice([]complex64{1 + 2i})), "complex64[1] [(1+2i)]"},
		{mk(FromSlice([]uint8{255})), "uint8[1] [255]"},
		{mk(New(Float32, Shape{0, 3})), "float32[0 3] []"},
		{&Tensor{dtype: Float32}, "float32[] (no storage)"},
	}
	for _, tt := range tests {
		if got := tt.x.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// Storage adopted at an offset may be misaligned for its type: View
// refuses, ToSlice copies.
func TestFromBufferMisaligned(t *testing.T) {
	base, _ := New(Uint8, Shape{16})
	hb, _ := base.HostBytes()
	for i := range hb {
		hb[i] = byte(i)
	}
	x, err := FromBuffer(base.Buffer(), 1, Uint32, Shape{2})
	if err != nil {
		t.Fatal(err)
	}
	if x.Offset() != 1 || x.Device() != nil {
		t.Errorf("Offset %d Device %v", x.Offset(), x.Device())
	}
	if _, err := View[uint32](x); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("misaligned View = %v, want ErrUnsupported", err)
	}
	got, err := ToSlice[uint32](x)
	if want := []uint32{binary.NativeEndian.Uint32(hb[1:]), binary.NativeEndian.Uint32(hb[5:])}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ToSlice = %v, %v; want %v", got, err, want)
	}
	if _, err := FromBuffer(base.Buffer(), 12, Uint32, Shape{2}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("FromBuffer past the end = %v", err)
	}
	if _, err := FromBuffer(base.Buffer(), -1, Uint8, Shape{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("FromBuffer negative offset = %v", err)
	}
	if _, err := FromBuffer(nil, 0, Uint8, Shape{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("FromBuffer(nil) = %v", err)
	}
	if _, err := FromBuffer(base.Buffer(), 0, String, Shape{1}); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("FromBuffer(string) = %v", err)
	}
}

func TestHostAlignment(t *testing.T) {
	for _, n := range []int{1, 3, 7, 9, 100} {
		x, _ := New(Uint8, Shape{n})
		b, _ := x.HostBytes()
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(b))); p%8 != 0 {
			t.Errorf("host storage of %d bytes at %#x, not 8-byte aligned", n, p)
		}
	}
}

func TestSwapBytes(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	swapBytes(b, 4)
	if !slices.Equal(b, []byte{4, 3, 2, 1, 8, 7, 6, 5}) {
		t.Errorf("swapBytes 4 = %v", b)
	}
	swapBytes(b, 1)
	if !slices.Equal(b, []byte{4, 3, 2, 1, 8, 7, 6, 5}) {
		t.Errorf("swapBytes 1 = %v", b)
	}
	for dt, want := range map[DType]int{Complex64: 4, Complex128: 8, Float16: 2, Bool: 1, Int64: 8} {
		if got := wordSize(dt); got != want {
			t.Errorf("wordSize(%v) = %d, want %d", dt, got, want)
		}
	}
}

// AdoptBytes takes over aligned memory and copies the rest, with the
// checks and bool normalization of FromBytes.
func TestAdoptBytes(t *testing.T) {
	words := make([]uint64, 3)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 24)
	binary.LittleEndian.PutUint32(raw[4:], math.Float32bits(1.5))
	x, err := AdoptBytes(Float32, Shape{2, 3}, raw)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := x.HostBytes(); nativeLittleEndian && &b[0] != &raw[0] {
		t.Error("aligned bytes were copied")
	}
	if v, _ := ToSlice[float32](x); v[1] != 1.5 {
		t.Errorf("got %v", v)
	}
	odd := raw[1:9] // misaligned: copied
	y, err := AdoptBytes(Uint8, Shape{8}, odd)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := y.HostBytes(); &b[0] == &odd[0] {
		t.Error("misaligned bytes were adopted")
	}
	bools := make([]uint64, 1)
	braw := unsafe.Slice((*byte)(unsafe.Pointer(&bools[0])), 4)
	copy(braw, []byte{0, 1, 2, 255})
	z, err := AdoptBytes(Bool, Shape{4}, braw)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ToSlice[bool](z); !slices.Equal(got, []bool{false, true, true, true}) {
		t.Errorf("bools %v", got)
	}
	if _, err := AdoptBytes(Float32, Shape{2}, raw[:12]); err == nil {
		t.Error("wrong size: no error")
	}
	if _, err := AdoptBytes(String, Shape{1}, raw[:8]); err == nil {
		t.Error("strings: no error")
	}
}
