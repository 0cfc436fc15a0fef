package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// tp builds a TensorProto for the tests.
func tp(name string, dt tensor.DType, dims ...int64) *onnxpb.TensorProto {
	p := &onnxpb.TensorProto{DataType: proto.Int32(int32(dt)), Dims: dims}
	if name != "" {
		p.Name = proto.String(name)
	}
	return p
}

func marshal(t testing.TB, p *onnxpb.TensorProto) []byte {
	t.Helper()
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// le encodes values little-endian, independently of the code under test.
func le(vals ...any) []byte {
	var buf bytes.Buffer
	for _, v := range vals {
		if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

// mustSlice makes the expected tensor from Go values.
func mustSlice[T tensor.Element](t testing.TB, vals []T, shape ...int) *tensor.Tensor {
	t.Helper()
	tn, err := copySlice(vals, tensor.Shape(shape))
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// A NaN with a payload, to check that bits survive (compare by bytes).
var (
	nan32 = math.Float32frombits(0x7fc00123)
	nan64 = math.Float64frombits(0x7ff8000000000abc)
)

// TestDecodeStorageForms decodes every element type from its typed field
// and from raw_data, and checks both against the same expected values.
func TestDecodeStorageForms(t *testing.T) {
	type form struct {
		name  string
		dt    tensor.DType
		dims  []int64
		typed func(*onnxpb.TensorProto)
		raw   []byte // nil: no raw form (strings)
		want  func(testing.TB) *tensor.Tensor
	}
	cases := []form{
		{"float32", tensor.Float32, []int64{2, 2},
			func(p *onnxpb.TensorProto) { p.FloatData = []float32{1, -2.5, nan32, float32(math.Inf(1))} },
			le(float32(1), float32(-2.5), nan32, float32(math.Inf(1))),
			func(t testing.TB) *tensor.Tensor {
				return mustSlice(t, []float32{1, -2.5, nan32, float32(math.Inf(1))}, 2, 2)
			}},
		{"uint8", tensor.Uint8, []int64{3},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0, 7, 255} },
			[]byte{0, 7, 255},
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []uint8{0, 7, 255}, 3) }},
		{"int8", tensor.Int8, []int64{3},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{-128, 0, 127} },
			le(int8(-128), int8(0), int8(127)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []int8{-128, 0, 127}, 3) }},
		{"uint16", tensor.Uint16, []int64{2},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{1, 65535} },
			le(uint16(1), uint16(65535)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []uint16{1, 65535}, 2) }},
		{"int16", tensor.Int16, []int64{2},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{-32768, 32767} },
			le(int16(-32768), int16(32767)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []int16{-32768, 32767}, 2) }},
		{"int32", tensor.Int32, []int64{3},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{math.MinInt32, -1, math.MaxInt32} },
			le(int32(math.MinInt32), int32(-1), int32(math.MaxInt32)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []int32{math.MinInt32, -1, math.MaxInt32}, 3) }},
		{"int64", tensor.Int64, []int64{2},
			func(p *onnxpb.TensorProto) { p.Int64Data = []int64{math.MinInt64, math.MaxInt64} },
			le(int64(math.MinInt64), int64(math.MaxInt64)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []int64{math.MinInt64, math.MaxInt64}, 2) }},
		{"string", tensor.String, []int64{3},
			func(p *onnxpb.TensorProto) { p.StringData = [][]byte{[]byte("a"), {}, []byte("héllo\x00")} },
			nil,
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []string{"a", "", "héllo\x00"}, 3) }},
		{"bool", tensor.Bool, []int64{4},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{1, 0, 0, 1} },
			[]byte{1, 0, 0, 1},
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []bool{true, false, false, true}, 4) }},
		{"float16", tensor.Float16, []int64{3},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x3c00, 0xc000, 0x7e01} }, // 1, -2, NaN
			le(uint16(0x3c00), uint16(0xc000), uint16(0x7e01)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []tensor.F16{0x3c00, 0xc000, 0x7e01}, 3) }},
		{"float64", tensor.Float64, []int64{3},
			func(p *onnxpb.TensorProto) { p.DoubleData = []float64{math.Pi, nan64, math.Copysign(0, -1)} },
			le(math.Pi, nan64, math.Copysign(0, -1)),
			func(t testing.TB) *tensor.Tensor {
				return mustSlice(t, []float64{math.Pi, nan64, math.Copysign(0, -1)}, 3)
			}},
		{"uint32", tensor.Uint32, []int64{2},
			func(p *onnxpb.TensorProto) { p.Uint64Data = []uint64{0, math.MaxUint32} },
			le(uint32(0), uint32(math.MaxUint32)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []uint32{0, math.MaxUint32}, 2) }},
		{"uint64", tensor.Uint64, []int64{2},
			func(p *onnxpb.TensorProto) { p.Uint64Data = []uint64{1, math.MaxUint64} },
			le(uint64(1), uint64(math.MaxUint64)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []uint64{1, math.MaxUint64}, 2) }},
		{"complex64", tensor.Complex64, []int64{2},
			func(p *onnxpb.TensorProto) { p.FloatData = []float32{1, 2, 3, -4} },
			le(float32(1), float32(2), float32(3), float32(-4)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []complex64{1 + 2i, 3 - 4i}, 2) }},
		{"complex128", tensor.Complex128, []int64{1, 2},
			func(p *onnxpb.TensorProto) { p.DoubleData = []float64{1, 2, 3, -4} },
			le(1.0, 2.0, 3.0, -4.0),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []complex128{1 + 2i, 3 - 4i}, 1, 2) }},
		{"bfloat16", tensor.BFloat16, []int64{2},
			func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x3f80, 0xffff} }, // 1, NaN
			le(uint16(0x3f80), uint16(0xffff)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []tensor.BF16{0x3f80, 0xffff}, 2) }},
		{"float32 scalar", tensor.Float32, nil,
			func(p *onnxpb.TensorProto) { p.FloatData = []float32{42} },
			le(float32(42)),
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []float32{42}) }},
		{"int64 empty", tensor.Int64, []int64{3, 0},
			func(p *onnxpb.TensorProto) {},
			[]byte{},
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []int64{}, 3, 0) }},
		{"string empty", tensor.String, []int64{0},
			func(p *onnxpb.TensorProto) {},
			nil,
			func(t testing.TB) *tensor.Tensor { return mustSlice(t, []string{}, 0) }},
	}
	covered := map[tensor.DType]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			covered[c.dt] = true
			want := c.want(t)
			if len(c.dims) == 0 && len(want.Shape()) != 0 {
				t.Fatalf("test bug: want shape %v", want.Shape())
			}
			check := func(form string, p *onnxpb.TensorProto) {
				t.Helper()
				name, got, err := DecodeTensor(marshal(t, p))
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if name != "x" {
					t.Errorf("%s: name %q", form, name)
				}
				if err := sameTensor(got, want); err != nil {
					t.Errorf("%s: %v", form, err)
				}
				roundTrip(t, form, name, got)
			}
			p := tp("x", c.dt, c.dims...)
			c.typed(p)
			check("typed", p)
			if c.raw != nil {
				p := tp("x", c.dt, c.dims...)
				p.RawData = c.raw
				check("raw_data", p)
			}
		})
	}
	for dt := tensor.Float32; dt.Valid(); dt++ {
		if !covered[dt] {
			t.Errorf("no storage-form case for %s", dt)
		}
	}
}

// TestDecodeUnpackedFields checks the non-packed encoding of repeated
// fields, which proto2 readers must accept although ONNX's writers pack.
func TestDecodeUnpackedFields(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, fieldDims, protowire.VarintType)
	b = protowire.AppendVarint(b, 2)
	b = protowire.AppendTag(b, fieldDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(tensor.Int8))
	for _, v := range []int32{-3, 5} {
		b = protowire.AppendTag(b, fieldInt32Data, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(v)))
	}
	_, got, err := DecodeTensor(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameTensor(got, mustSlice(t, []int8{-3, 5}, 2)); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeErrors checks that malformed and unsupported tensors are
// rejected with the right sentinel and a message naming the problem.
func TestDecodeErrors(t *testing.T) {
	f32 := func(dims ...int64) *onnxpb.TensorProto { return tp("w", tensor.Float32, dims...) }
	with := func(p *onnxpb.TensorProto, f func(*onnxpb.TensorProto)) *onnxpb.TensorProto { f(p); return p }
	cases := []struct {
		name string
		msg  []byte
		p    *onnxpb.TensorProto
		opts []Option
		is   error
		want string // substring of the message
	}{
		{name: "negative dim", p: with(f32(2, -1), func(p *onnxpb.TensorProto) { p.RawData = []byte{} }),
			is: ErrInvalidModel, want: "dimension 1 is negative"},
		{name: "overflowing dims", p: with(f32(1<<40, 1<<40), func(p *onnxpb.TensorProto) { p.RawData = le(float32(1)) }),
			is: ErrInvalidModel, want: "overflows"},
		{name: "overflow behind a zero dim", p: f32(0, 1<<40, 1<<40), is: ErrInvalidModel, want: "overflows"},
		{name: "huge dims tiny raw data", p: with(f32(1<<20, 1<<20), func(p *onnxpb.TensorProto) { p.RawData = le(float32(1)) }),
			is: ErrInvalidModel, want: "raw_data has 4 bytes, want 4398046511104"},
		{name: "huge dims typed data", p: with(f32(1<<20, 1<<20), func(p *onnxpb.TensorProto) { p.FloatData = []float32{1} }),
			is: ErrInvalidModel, want: "float_data has 1 values"},
		{name: "huge dims no data", p: f32(1<<20, 1<<20), is: ErrInvalidModel, want: "no data"},
		{name: "huge dims external", p: with(f32(1<<20, 1<<20), func(p *onnxpb.TensorProto) {
			p.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			p.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
		}), opts: []Option{WithBaseDir(t.TempDir())}, is: runtime.ErrUnsupported, want: "exceed the limit"},
		{name: "over the size limit", p: with(f32(4), func(p *onnxpb.TensorProto) { p.RawData = make([]byte, 16) }),
			opts: []Option{WithMaxTensorBytes(15)}, is: runtime.ErrUnsupported, want: "16 bytes for dims [4] of float32 exceed the limit of 15"},
		{name: "truncated raw data", p: with(f32(2, 2), func(p *onnxpb.TensorProto) { p.RawData = make([]byte, 15) }),
			is: ErrInvalidModel, want: `tensor "w": raw_data has 15 bytes, want 16`},
		{name: "too much raw data", p: with(f32(2), func(p *onnxpb.TensorProto) { p.RawData = make([]byte, 9) }),
			is: ErrInvalidModel, want: "raw_data has 9 bytes, want 8"},
		{name: "typed count mismatch", p: with(f32(2, 2), func(p *onnxpb.TensorProto) { p.FloatData = []float32{1, 2, 3} }),
			is: ErrInvalidModel, want: "float_data has 3 values, want 4"},
		{name: "complex64 odd float count", p: with(tp("c", tensor.Complex64, 2), func(p *onnxpb.TensorProto) { p.FloatData = []float32{1, 2, 3} }),
			is: ErrInvalidModel, want: "float_data has 3 values, want 4"},
		{name: "wrong typed field", p: with(f32(1), func(p *onnxpb.TensorProto) { p.Int64Data = []int64{1} }),
			is: ErrInvalidModel, want: "int64_data cannot hold float32 elements"},
		{name: "two typed fields", p: with(tp("d", tensor.Float64, 1), func(p *onnxpb.TensorProto) {
			p.DoubleData = []float64{1}
			p.FloatData = []float32{1}
		}), is: ErrInvalidModel, want: "both float_data and double_data"},
		{name: "raw and typed", p: with(f32(1), func(p *onnxpb.TensorProto) {
			p.FloatData = []float32{1}
			p.RawData = le(float32(1))
		}), is: ErrInvalidModel, want: "both float_data and raw_data"},
		{name: "int8 out of range", p: with(tp("i", tensor.Int8, 2), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{1, 200} }),
			is: ErrInvalidModel, want: "int32_data[1] = 200 is out of range for int8"},
		{name: "uint8 negative", p: with(tp("u", tensor.Uint8, 1), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{-1} }),
			is: ErrInvalidModel, want: "out of range for uint8"},
		{name: "float16 bits out of range", p: with(tp("h", tensor.Float16, 1), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{70000} }),
			is: ErrInvalidModel, want: "out of range for float16"},
		{name: "uint32 out of range", p: with(tp("u", tensor.Uint32, 1), func(p *onnxpb.TensorProto) { p.Uint64Data = []uint64{1 << 33} }),
			is: ErrInvalidModel, want: "out of range for uint32"},
		{name: "string in raw_data", p: with(tp("s", tensor.String, 1), func(p *onnxpb.TensorProto) { p.RawData = []byte("a") }),
			is: ErrInvalidModel, want: "raw_data cannot hold string"},
		{name: "string count mismatch", p: with(tp("s", tensor.String, 1), func(p *onnxpb.TensorProto) { p.StringData = [][]byte{{}, {}} }),
			is: ErrInvalidModel, want: "string_data has 2 values, want 1"},
		{name: "undefined data_type", p: tp("u", tensor.Undefined, 1), is: ErrInvalidModel, want: "UNDEFINED"},
		{name: "missing data_type", p: &onnxpb.TensorProto{Name: proto.String("m")}, is: ErrInvalidModel, want: "UNDEFINED"},
		{name: "float8 data_type", p: tp("f8", tensor.DType(17), 1), is: runtime.ErrUnsupported, want: "FLOAT8E4M3FN"},
		{name: "unknown data_type", p: tp("x", tensor.DType(99), 1), is: ErrInvalidModel, want: "unknown data_type 99"},
		{name: "negative data_type", p: tp("x", tensor.DType(-1), 1), is: ErrInvalidModel, want: "unknown data_type -1"},
		{name: "segment", p: with(f32(1), func(p *onnxpb.TensorProto) {
			p.Segment = &onnxpb.TensorProto_Segment{Begin: proto.Int64(0), End: proto.Int64(1)}
			p.RawData = le(float32(1))
		}), is: runtime.ErrUnsupported, want: "segment"},
		{name: "rank 65", p: f32(make([]int64, 65)...), is: runtime.ErrUnsupported, want: "rank 65"},
		{name: "external_data without EXTERNAL", p: with(f32(1), func(p *onnxpb.TensorProto) {
			p.RawData = le(float32(1))
			p.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
		}), is: ErrInvalidModel, want: "data_location is not EXTERNAL"},
		{name: "EXTERNAL with raw_data", p: with(f32(1), func(p *onnxpb.TensorProto) {
			p.RawData = le(float32(1))
			p.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			p.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
		}), is: ErrInvalidModel, want: "raw_data is also set"},
		{name: "unknown data_location", p: with(f32(1), func(p *onnxpb.TensorProto) {
			p.RawData = le(float32(1))
			p.DataLocation = onnxpb.TensorProto_DataLocation(2).Enum()
		}), is: ErrInvalidModel, want: "unknown data_location 2"},
		{name: "strings over the size limit", p: with(tp("s", tensor.String, 2), func(p *onnxpb.TensorProto) {
			p.StringData = [][]byte{[]byte("0123456789"), []byte("0123456789")}
		}), opts: []Option{WithMaxTensorBytes(19)}, is: runtime.ErrUnsupported, want: "20 bytes for dims [2] of string exceed the limit of 19"},
		{name: "EXTERNAL without entries", p: with(f32(1), func(p *onnxpb.TensorProto) {
			p.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}), is: ErrInvalidModel, want: "external_data is empty"},
		{name: "EXTERNAL without base dir", p: with(f32(1), func(p *onnxpb.TensorProto) {
			p.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			p.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
		}), is: runtime.ErrUnsupported, want: "needs a base directory"},
		{name: "truncated message", msg: marshal(t, with(f32(4), func(p *onnxpb.TensorProto) { p.RawData = make([]byte, 16) }))[:10],
			is: ErrInvalidModel, want: "malformed protobuf"},
		{name: "packed floats of odd length", msg: func() []byte {
			b := marshal(t, f32(1))
			b = protowire.AppendTag(b, fieldFloatData, protowire.BytesType)
			return protowire.AppendBytes(b, []byte{1, 2, 3, 4, 5})
		}(), is: ErrInvalidModel, want: "not a whole number of 4-byte values"},
		{name: "packed varints cut short", msg: func() []byte {
			b := marshal(t, tp("i", tensor.Int32, 1))
			b = protowire.AppendTag(b, fieldInt32Data, protowire.BytesType)
			return protowire.AppendBytes(b, []byte{0x80})
		}(), is: ErrInvalidModel, want: "ends inside a varint"},
		{name: "end group at top level", msg: protowire.AppendTag(nil, 1, protowire.EndGroupType), is: ErrInvalidModel, want: "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := c.msg
			if msg == nil {
				msg = marshal(t, c.p)
			}
			_, tn, err := DecodeTensor(msg, c.opts...)
			if err == nil {
				t.Fatalf("decoded %v, want an error", tn)
			}
			if !errors.Is(err, c.is) {
				t.Errorf("error %q does not wrap %q", err, c.is)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "onnx: tensor ") {
				t.Errorf("error %q does not start with `onnx: tensor `", err)
			}
			// The same checks apply to TensorProtos decoded elsewhere
			// (models), where prescan does not run.
			if c.msg == nil {
				if _, err := tensorFromProto(c.p, newOptions(c.opts)); !errors.Is(err, c.is) {
					t.Errorf("tensorFromProto: error %v does not wrap %q", err, c.is)
				}
			}
		})
	}
}

func TestTensorFromNilProto(t *testing.T) {
	if _, err := tensorFromProto(nil, newOptions(nil)); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("error %v, want ErrInvalidModel", err)
	}
}

// TestDecodeDoesNotAllocateFromClaims checks that messages claiming huge
// tensors are rejected before anything of that size is allocated, and that
// messages whose repeated fields expand in memory are rejected by prescan
// before the protobuf package builds them.
func TestDecodeDoesNotAllocateFromClaims(t *testing.T) {
	// 1 MiB of empty string_data entries for a one-element tensor would be
	// 512Ki slice headers (12 MiB) if decoded.
	strs := marshal(t, tp("s", tensor.String, 1))
	for len(strs) < 1<<20 {
		strs = protowire.AppendTag(strs, fieldStringData, protowire.BytesType)
		strs = protowire.AppendBytes(strs, nil)
	}
	// 1 MiB of one-byte packed int64 values for a 2-element tensor would be
	// 8 MiB if decoded.
	var ints []byte
	ints = protowire.AppendTag(marshal(t, tp("i", tensor.Int64, 2)), fieldInt64Data, protowire.BytesType)
	ints = protowire.AppendBytes(ints, make([]byte, 1<<20))
	// External-data entries for a tiny tensor.
	ext := marshal(t, &onnxpb.TensorProto{DataType: proto.Int32(1), DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()})
	for len(ext) < 1<<20 {
		ext = protowire.AppendTag(ext, fieldExternalData, protowire.BytesType)
		ext = protowire.AppendBytes(ext, nil)
	}
	cases := map[string][]byte{
		"huge dims tiny data": marshal(t, with1(tp("w", tensor.Complex128, 1<<30, 1<<28), func(p *onnxpb.TensorProto) { p.RawData = make([]byte, 16) })),
		"huge dims no data":   marshal(t, tp("w", tensor.Float64, math.MaxInt64/16)),
		"string_data flood":   strs,
		"int64_data flood":    ints,
		"external flood":      ext,
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&before)
			_, _, err := DecodeTensor(msg, WithBaseDir(t.TempDir()))
			goruntime.ReadMemStats(&after)
			if !errors.Is(err, ErrInvalidModel) {
				t.Fatalf("error %v, want ErrInvalidModel", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
				t.Errorf("allocated %d bytes before rejecting a %d-byte message", n, len(msg))
			}
		})
	}
}

func with1(p *onnxpb.TensorProto, f func(*onnxpb.TensorProto)) *onnxpb.TensorProto { f(p); return p }

// externalTP describes a float32 tensor of dims stored externally.
func externalTP(dims []int64, kv ...string) *onnxpb.TensorProto {
	p := tp("ext", tensor.Float32, dims...)
	p.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	for i := 0; i+1 < len(kv); i += 2 {
		p.ExternalData = append(p.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return p
}

func TestDecodeExternalData(t *testing.T) {
	top := t.TempDir()
	base := filepath.Join(top, "model")
	if err := os.MkdirAll(filepath.Join(base, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vals := le(float32(1), float32(2), float32(3), float32(4))
	// weights.bin: 8 junk bytes, then the four floats, then 4 more junk.
	write(filepath.Join(base, "weights.bin"), append(append([]byte("JUNKJUNK"), vals...), "TAIL"...))
	write(filepath.Join(base, "sub", "w.bin"), vals)
	write(filepath.Join(top, "outside.bin"), vals)
	symlink := func(target, link string) {
		t.Helper()
		if err := os.Symlink(target, link); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	symlink(filepath.Join(top, "outside.bin"), filepath.Join(base, "escape.bin"))
	symlink("sub/w.bin", filepath.Join(base, "inside.bin"))
	symlink("..", filepath.Join(base, "up"))

	want := mustSlice(t, []float32{1, 2, 3, 4}, 2, 2)
	ok := []struct {
		name string
		kv   []string
	}{
		{"offset and length", []string{"location", "weights.bin", "offset", "8", "length", "16"}},
		{"offset, to end of file", []string{"location", "sub/w.bin", "offset", "0"}},
		{"no offset or length", []string{"location", "sub/w.bin"}},
		{"dot segments that stay inside", []string{"location", "./sub/../sub/w.bin"}},
		{"checksum and unknown keys ignored", []string{"location", "sub/w.bin", "checksum", "abc", "basepath", "x"}},
		{"symlink inside the base dir", []string{"location", "inside.bin"}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			_, got, err := DecodeTensor(marshal(t, externalTP([]int64{2, 2}, c.kv...)), WithBaseDir(base))
			if err != nil {
				t.Fatal(err)
			}
			if err := sameTensor(got, want); err != nil {
				t.Fatal(err)
			}
		})
	}

	bad := []struct {
		name string
		kv   []string
		is   error
		want string
	}{
		{"parent dir", []string{"location", "../outside.bin"}, ErrInvalidModel, "not a relative path inside"},
		{"absolute path", []string{"location", filepath.Join(top, "outside.bin")}, ErrInvalidModel, "not a relative path inside"},
		{"empty location", []string{"location", ""}, ErrInvalidModel, "not a relative path inside"},
		{"symlink escaping", []string{"location", "escape.bin"}, ErrInvalidModel, `"escape.bin": path escapes`},
		{"symlinked dir escaping", []string{"location", "up/outside.bin"}, ErrInvalidModel, `"up/outside.bin": path escapes`},
		{"missing file", []string{"location", "nope.bin"}, fs.ErrNotExist, `"nope.bin"`},
		{"directory", []string{"location", "sub"}, ErrInvalidModel, "not a regular file"},
		{"no location", []string{"offset", "0"}, ErrInvalidModel, "no location"},
		{"duplicate key", []string{"location", "sub/w.bin", "location", "weights.bin"}, ErrInvalidModel, `key "location" appears twice`},
		{"bad offset", []string{"location", "sub/w.bin", "offset", "0x10"}, ErrInvalidModel, "offset"},
		{"negative offset", []string{"location", "sub/w.bin", "offset", "-1"}, ErrInvalidModel, "offset"},
		{"bad length", []string{"location", "sub/w.bin", "length", "16 "}, ErrInvalidModel, "length"},
		{"length mismatch", []string{"location", "sub/w.bin", "length", "12"}, ErrInvalidModel, "length 12, want 16"},
		{"offset past end", []string{"location", "sub/w.bin", "offset", "17"}, ErrInvalidModel, "beyond the end"},
		{"range past end", []string{"location", "weights.bin", "offset", "16", "length", "16"}, ErrInvalidModel, "beyond the end"},
		{"rest of file wrong size", []string{"location", "weights.bin", "offset", "8"}, ErrInvalidModel, "is 20 bytes, want 16"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeTensor(marshal(t, externalTP([]int64{2, 2}, c.kv...)), WithBaseDir(base))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `tensor "ext"`) {
				t.Errorf("error %q, want one wrapping %q and mentioning %q", err, c.is, c.want)
			}
		})
	}

	t.Run("ReadTensorFile resolves next to the file", func(t *testing.T) {
		path := filepath.Join(base, "t.pb")
		write(path, marshal(t, externalTP([]int64{4}, "location", "sub/w.bin")))
		_, got, err := ReadTensorFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameTensor(got, mustSlice(t, []float32{1, 2, 3, 4}, 4)); err != nil {
			t.Fatal(err)
		}
		// An explicit base dir wins.
		if _, _, err := ReadTensorFile(path, WithBaseDir(top)); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("with another base dir: %v", err)
		}
	})
}

// fakeDevice and deviceBuffer make a tensor whose storage the host cannot
// read, as a GPU tensor's.
type fakeDevice struct{ runtime.Device }

type deviceBuffer struct{}

func (deviceBuffer) Device() runtime.Device { return fakeDevice{} }
func (deviceBuffer) Size() int64            { return 64 }
func (deviceBuffer) Free() error            { return nil }

func TestEncode(t *testing.T) {
	t.Run("not host-readable", func(t *testing.T) {
		dev, err := tensor.FromBuffer(deviceBuffer{}, 0, tensor.Float32, tensor.Shape{4})
		if err != nil {
			t.Fatal(err)
		}
		_, err = EncodeTensor("gpu", dev)
		if !errors.Is(err, runtime.ErrInvalidArgument) || !strings.Contains(err.Error(), "not in host memory") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("nil and zero tensors", func(t *testing.T) {
		if _, err := EncodeTensor("n", nil); err == nil {
			t.Error("nil tensor encoded")
		}
		if _, err := EncodeTensor("z", &tensor.Tensor{}); err == nil {
			t.Error("zero tensor encoded")
		}
	})
	t.Run("raw_data is little-endian", func(t *testing.T) {
		b, err := EncodeTensor("v", mustSlice(t, []int32{1, -2}, 2))
		if err != nil {
			t.Fatal(err)
		}
		var p onnxpb.TensorProto
		if err := proto.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.RawData, le(int32(1), int32(-2))) || p.GetDataType() != int32(tensor.Int32) ||
			len(p.Dims) != 1 || p.Dims[0] != 2 || p.GetName() != "v" {
			t.Errorf("encoded %v", &p)
		}
	})
	t.Run("empty tensor keeps raw_data", func(t *testing.T) {
		b, err := EncodeTensor("", mustSlice(t, []float32{}, 0, 5))
		if err != nil {
			t.Fatal(err)
		}
		var p onnxpb.TensorProto
		if err := proto.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.RawData == nil || p.Name != nil {
			t.Errorf("encoded %v", &p)
		}
		roundTrip(t, "empty", "", mustSlice(t, []float32{}, 0, 5))
	})
	t.Run("file and reader", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s.pb")
		want := mustSlice(t, []string{"x", "", "ÿ"}, 1, 3)
		if err := WriteTensorFile(path, "strs", want); err != nil {
			t.Fatal(err)
		}
		name, got, err := ReadTensorFile(path)
		if err != nil || name != "strs" {
			t.Fatalf("%q, %v", name, err)
		}
		if err := sameTensor(got, want); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, got, err = ReadTensor(f); err != nil {
			t.Fatal(err)
		}
		if err := sameTensor(got, want); err != nil {
			t.Fatal(err)
		}
		if err := WriteTensorFile(filepath.Join(path, "nodir", "x.pb"), "x", want); err == nil {
			t.Error("wrote into a missing directory")
		}
		if _, _, err := ReadTensorFile(filepath.Join(t.TempDir(), "missing.pb")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
	})
}
