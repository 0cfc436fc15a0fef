package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// FuzzDecodeTensor feeds arbitrary bytes to DecodeTensor. Whatever the
// input, it must not panic or hang, an error must wrap ErrInvalidModel or
// runtime.ErrUnsupported (anything else means an unchecked path reached the
// tensor package or the file system), and a tensor it accepts must agree
// with protobuf's own decoding and survive an encode/decode round trip.
//
// The corpus in testdata/fuzz/FuzzDecodeTensor holds small .pb files from
// the ONNX backend test data; the seeds below cover the typed fields and
// external data, which those files do not use.
//
//	go test -run='^$' -fuzz=FuzzDecodeTensor -fuzztime=60s ./onnx/
func FuzzDecodeTensor(f *testing.F) {
	dir := f.TempDir()
	// w.bin is what external-data seeds point at; the fuzzer may rewrite
	// offsets, lengths and names around it.
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 64), 0o644); err != nil {
		f.Fatal(err)
	}
	seed := func(p *onnxpb.TensorProto) { f.Add(marshal(f, p)) }
	p := tp("f", tensor.Float32, 2)
	p.FloatData = []float32{1, nan32}
	seed(p)
	p = tp("i8", tensor.Int8, 1, 3)
	p.Int32Data = []int32{-1, 0, 127}
	seed(p)
	p = tp("h", tensor.Float16)
	p.Int32Data = []int32{0x3c00}
	seed(p)
	p = tp("i64", tensor.Int64, 2)
	p.Int64Data = []int64{-1, 1 << 40}
	seed(p)
	p = tp("u32", tensor.Uint32, 2)
	p.Uint64Data = []uint64{1, 1 << 31}
	seed(p)
	p = tp("c128", tensor.Complex128, 1)
	p.DoubleData = []float64{1, -1}
	seed(p)
	p = tp("s", tensor.String, 2)
	p.StringData = [][]byte{[]byte("a"), nil}
	seed(p)
	p = tp("b", tensor.Bool, 0, 4)
	p.RawData = []byte{}
	seed(p)
	seed(externalTP([]int64{2, 2}, "location", "w.bin", "offset", "16", "length", "16"))
	seed(externalTP([]int64{16}, "location", "w.bin"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		// A small limit keeps the fuzzer from spending its time
		// allocating: the checks it exercises are the same at any size.
		opts := []Option{WithBaseDir(dir), WithMaxTensorBytes(1 << 20)}
		name, tn, err := DecodeTensor(b, opts...)
		if err != nil {
			if !errors.Is(err, ErrInvalidModel) && !errors.Is(err, runtime.ErrUnsupported) {
				t.Fatalf("error wraps neither ErrInvalidModel nor ErrUnsupported: %v", err)
			}
			return
		}
		var p onnxpb.TensorProto
		if err := proto.Unmarshal(b, &p); err != nil {
			t.Fatalf("accepted a message protobuf rejects (%v)", err)
		}
		if name != p.GetName() || int32(tn.DType()) != p.GetDataType() || len(tn.Shape()) != len(p.Dims) {
			t.Fatalf("decoded %q %v%v from %v", name, tn.DType(), tn.Shape(), &p)
		}
		for i, d := range p.Dims {
			if int64(tn.Shape()[i]) != d {
				t.Fatalf("shape %v from dims %v", tn.Shape(), p.Dims)
			}
		}
		enc, err := EncodeTensor(name, tn)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		name2, tn2, err := DecodeTensor(enc, opts...)
		if err != nil {
			t.Fatalf("decode after encode: %v", err)
		}
		if name2 != name {
			t.Fatalf("round trip name %q, want %q", name2, name)
		}
		if err := sameTensor(tn2, tn); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}
