package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// DefaultMaxTensorBytes is the largest tensor, in bytes of element data,
// that the decoders accept unless told otherwise with WithMaxTensorBytes. It
// is a guard against files that claim absurd shapes, not a statement about
// what GoCANN can hold: raise it for models with bigger weights.
const DefaultMaxTensorBytes int64 = 4 << 30

// maxEncodedBytes is the largest serialized TensorProto accepted or written.
// It is the 2 GiB limit of the reference protobuf implementation, so a
// larger message could not have been written by, or be read by, the rest of
// the ONNX ecosystem; big tensors are stored as external data instead.
const maxEncodedBytes = math.MaxInt32

// maxRank bounds the number of dims. ONNX sets no limit, but no real model
// comes close (NumPy allows 64) and without one a file of a few megabytes of
// zero dims would be accepted as a tensor of rank a million.
const maxRank = 64

// maxExternalEntries bounds the external_data key/value list. ONNX defines
// four keys; the bound stops a file from making the protobuf decoder build
// millions of tiny entry messages.
const maxExternalEntries = 64

// maxElements mirrors the tensor package's bound on element counts (its
// Shape.Validate), so that a shape passing our checks cannot fail there.
const maxElements = math.MaxInt / 16

// An Option adjusts how tensors are decoded.
type Option func(*options)

type options struct {
	baseDir  string // directory external data is resolved in; "" forbids external data
	maxBytes int64  // largest tensor accepted, in bytes of element data
	external ExternalReader
}

// ExternalReader returns the tensor stored outside the protobuf at ref,
// of the type and shape the TensorProto declares. ref.Length has been
// checked against them (it is exactly the tensor's size) and against the
// size limit; ref.Location, ref.Offset and what lies there are the
// reader's to check.
type ExternalReader func(ref ExternalRef, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error)

// WithExternalReader resolves every external data reference through r
// instead of files beside the model: containers that keep a model's
// weights in a section of their own (the compiled model format) use it.
func WithExternalReader(r ExternalReader) Option {
	return func(o *options) { o.external = r }
}

func newOptions(opts []Option) *options {
	o := &options{maxBytes: DefaultMaxTensorBytes}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o
}

// WithBaseDir sets the directory against which the "location" of external
// data is resolved; ONNX defines it as the directory of the model file.
// Without it, DecodeTensor and ReadTensor reject tensors stored externally;
// ReadTensorFile uses the directory of the file it reads.
func WithBaseDir(dir string) Option {
	return func(o *options) { o.baseDir = dir }
}

// WithMaxTensorBytes sets the largest tensor, in bytes of element data, that
// is accepted (DefaultMaxTensorBytes if n <= 0). Larger tensors are rejected
// before any memory is allocated for them, with an error wrapping
// runtime.ErrUnsupported.
func WithMaxTensorBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxBytes = n
		} else {
			o.maxBytes = DefaultMaxTensorBytes
		}
	}
}

// DecodeTensor decodes a serialized ONNX TensorProto into a host tensor and
// returns the tensor's name (possibly empty) with it. External data is only
// read when WithBaseDir is given.
func DecodeTensor(b []byte, opts ...Option) (name string, t *tensor.Tensor, err error) {
	name, t, err = decodeTensor(b, newOptions(opts))
	if err != nil {
		return "", nil, fmt.Errorf("onnx: %w", err)
	}
	return name, t, nil
}

// ReadTensor reads a serialized TensorProto from r, to its end, and decodes
// it as DecodeTensor does.
func ReadTensor(r io.Reader, opts ...Option) (name string, t *tensor.Tensor, err error) {
	name, t, err = readTensor(r, newOptions(opts))
	if err != nil {
		return "", nil, fmt.Errorf("onnx: %w", err)
	}
	return name, t, nil
}

// ReadTensorFile reads a TensorProto file such as the input_0.pb files of the
// ONNX test suite. External data is resolved in the file's directory unless
// WithBaseDir says otherwise.
func ReadTensorFile(path string, opts ...Option) (name string, t *tensor.Tensor, err error) {
	o := newOptions(append([]Option{WithBaseDir(filepath.Dir(path))}, opts...))
	name, t, err = readTensorFile(path, o)
	if err != nil {
		return "", nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return name, t, nil
}

func readTensorFile(path string, o *options) (string, *tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // ReadTensorFile names the path already
		}
		return "", nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	// Checking the size first gives a clear error for a file that is too
	// big instead of reading 2 GiB of it; readTensor still enforces the
	// limit for files that grow or are not regular.
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > maxEncodedBytes {
		return "", nil, tooLargeError(st.Size())
	}
	return readTensor(f, o)
}

func readTensor(r io.Reader, o *options) (string, *tensor.Tensor, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxEncodedBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("tensor: read: %w", err)
	}
	if len(b) > maxEncodedBytes {
		return "", nil, tooLargeError(int64(len(b)))
	}
	return decodeTensor(b, o)
}

func tooLargeError(n int64) error {
	return fmt.Errorf("tensor: serialized TensorProto of %d+ bytes exceeds protobuf's 2 GiB limit (store large tensors as external data): %w",
		n, runtime.ErrUnsupported)
}

// decodeTensor checks the wire format before letting the protobuf package
// build a TensorProto. proto.Unmarshal allocates in proportion to what the
// message claims to hold, and some encodings expand a lot: an empty
// string_data entry is two bytes on the wire and a 24-byte slice header in
// Go, a packed int64_data value can be one byte on the wire and eight in
// memory. prescan counts every repeated field without allocating, so those
// claims are checked against dims and the size limit first.
func decodeTensor(b []byte, o *options) (string, *tensor.Tensor, error) {
	s, err := prescan(b)
	if err != nil {
		return "", nil, err
	}
	if _, err := s.validate(o); err != nil {
		return "", nil, err
	}
	var p onnxpb.TensorProto
	if err := proto.Unmarshal(b, &p); err != nil {
		return "", nil, fmt.Errorf("%s: malformed protobuf: %v: %w", s.what(), err, ErrInvalidModel)
	}
	t, err := tensorFromProto(&p, o)
	if err != nil {
		return "", nil, err
	}
	return p.GetName(), t, nil
}

// dataField names the places a TensorProto can keep its elements in.
type dataField int8

const (
	noData       dataField = iota
	floatData              // float_data, field 4
	int32Data              // int32_data, field 5
	stringData             // string_data, field 6
	int64Data              // int64_data, field 7
	doubleData             // double_data, field 10
	uint64Data             // uint64_data, field 11
	rawData                // raw_data, field 9
	externalData           // a file named by external_data, field 13
	numDataFields
)

var dataFieldNames = [numDataFields]string{
	noData:       "no data",
	floatData:    "float_data",
	int32Data:    "int32_data",
	stringData:   "string_data",
	int64Data:    "int64_data",
	doubleData:   "double_data",
	uint64Data:   "uint64_data",
	rawData:      "raw_data",
	externalData: "external data",
}

func (f dataField) String() string { return dataFieldNames[f] }

// typedField returns the typed field that holds elements of dt and how many
// values it has per element (2 for complex numbers), as onnx.proto
// specifies.
func typedField(dt tensor.DType) (dataField, int64) {
	switch dt {
	case tensor.Float32:
		return floatData, 1
	case tensor.Complex64:
		return floatData, 2
	case tensor.Uint8, tensor.Int8, tensor.Uint16, tensor.Int16, tensor.Int32,
		tensor.Bool, tensor.Float16, tensor.BFloat16:
		return int32Data, 1
	case tensor.String:
		return stringData, 1
	case tensor.Int64:
		return int64Data, 1
	case tensor.Float64:
		return doubleData, 1
	case tensor.Complex128:
		return doubleData, 2
	case tensor.Uint32, tensor.Uint64:
		return uint64Data, 1
	}
	return noData, 0
}

// newerDTypes are the TensorProto.DataType values added after ONNX 1.12,
// whose onnx.proto we compiled: well-formed ONNX, but not (yet) GoCANN
// element types.
var newerDTypes = map[int32]string{
	17: "FLOAT8E4M3FN",
	18: "FLOAT8E4M3FNUZ",
	19: "FLOAT8E5M2",
	20: "FLOAT8E5M2FNUZ",
	21: "UINT4",
	22: "INT4",
	23: "FLOAT4E2M1",
	24: "FLOAT8E8M0",
}

// summary is what validation needs to know about a TensorProto. It is
// filled either from the wire format (prescan, before decoding) or from a
// decoded message (summarize), so both paths share one set of checks.
type summary struct {
	name        string
	hasName     bool
	dataType    int32
	dims        []int64 // at most maxRank+1 of them are kept; nDims counts all
	nDims       int64
	counts      [numDataFields]int64 // values in each typed field
	stringBytes int64                // total length of string_data
	hasRaw      bool
	rawLen      int64
	location    int32 // data_location
	nExternal   int64
	segment     bool
}

// what names the tensor in error messages.
func (s *summary) what() string {
	if s.hasName && s.name != "" {
		return fmt.Sprintf("tensor %q", s.name)
	}
	return "tensor (unnamed)"
}

func (s *summary) invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", s.what(), fmt.Sprintf(format, args...), ErrInvalidModel)
}

func (s *summary) unsupported(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", s.what(), fmt.Sprintf(format, args...), runtime.ErrUnsupported)
}

func summarize(p *onnxpb.TensorProto) *summary {
	s := &summary{
		name:      p.GetName(),
		hasName:   p.Name != nil,
		dataType:  p.GetDataType(),
		dims:      p.Dims,
		nDims:     int64(len(p.Dims)),
		hasRaw:    p.RawData != nil,
		rawLen:    int64(len(p.RawData)),
		location:  int32(p.GetDataLocation()),
		nExternal: int64(len(p.ExternalData)),
		segment:   p.Segment != nil,
	}
	s.counts[floatData] = int64(len(p.FloatData))
	s.counts[int32Data] = int64(len(p.Int32Data))
	s.counts[stringData] = int64(len(p.StringData))
	for _, b := range p.StringData {
		s.stringBytes += int64(len(b))
	}
	s.counts[int64Data] = int64(len(p.Int64Data))
	s.counts[doubleData] = int64(len(p.DoubleData))
	s.counts[uint64Data] = int64(len(p.Uint64Data))
	return s
}

// TensorProto field numbers, from onnx.proto.
const (
	fieldDims         protowire.Number = 1
	fieldDataType     protowire.Number = 2
	fieldSegment      protowire.Number = 3
	fieldFloatData    protowire.Number = 4
	fieldInt32Data    protowire.Number = 5
	fieldStringData   protowire.Number = 6
	fieldInt64Data    protowire.Number = 7
	fieldName         protowire.Number = 8
	fieldRawData      protowire.Number = 9
	fieldDoubleData   protowire.Number = 10
	fieldUint64Data   protowire.Number = 11
	fieldExternalData protowire.Number = 13
	fieldDataLocation protowire.Number = 14
)

// prescan summarizes a serialized TensorProto without decoding it. It
// follows protobuf's rules as proto.Unmarshal applies them, so that the
// summary describes the message Unmarshal will build: repeated scalars may be
// packed or not, a field seen twice accumulates (repeated) or is replaced
// (singular), and a field with an unexpected wire type is an unknown field.
// (Go's protobuf keeps undefined enum values, proto2 or not, so
// data_location is taken as it is.)
func prescan(b []byte) (*summary, error) {
	s := &summary{}
	malformed := func(off int, err error) error {
		return s.invalid("malformed protobuf at byte %d: %v", off, err)
	}
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return nil, malformed(off, protowire.ParseError(n))
		}
		start := off
		off += n
		m := protowire.ConsumeFieldValue(num, typ, b[off:])
		if m < 0 {
			return nil, malformed(start, protowire.ParseError(m))
		}
		val := b[off : off+m]
		off += m

		var payload []byte // the content of a length-delimited field
		if typ == protowire.BytesType {
			payload, _ = protowire.ConsumeBytes(val) // cannot fail: ConsumeFieldValue accepted it
		}
		switch {
		case num == fieldDims && typ == protowire.VarintType:
			v, _ := protowire.ConsumeVarint(val)
			s.addDim(int64(v))
		case num == fieldDims && typ == protowire.BytesType:
			for p := payload; len(p) > 0; {
				v, k := protowire.ConsumeVarint(p)
				if k < 0 {
					return nil, malformed(start, fmt.Errorf("packed dims: %w", protowire.ParseError(k)))
				}
				s.addDim(int64(v))
				p = p[k:]
			}
		case num == fieldDataType && typ == protowire.VarintType:
			v, _ := protowire.ConsumeVarint(val)
			s.dataType = int32(v) // int32 fields keep the low 32 bits, as in proto.Unmarshal
		case num == fieldSegment && typ == protowire.BytesType:
			s.segment = true
		case num == fieldName && typ == protowire.BytesType:
			s.name, s.hasName = string(payload), true
		case num == fieldRawData && typ == protowire.BytesType:
			s.hasRaw, s.rawLen = true, int64(len(payload))
		case num == fieldStringData && typ == protowire.BytesType:
			s.counts[stringData]++
			s.stringBytes += int64(len(payload))
		case num == fieldExternalData && typ == protowire.BytesType:
			s.nExternal++
		case num == fieldDataLocation && typ == protowire.VarintType:
			v, _ := protowire.ConsumeVarint(val)
			s.location = int32(v) // enums are int32, truncated as in proto.Unmarshal
		case num == fieldFloatData:
			if err := s.countValues(floatData, typ, protowire.Fixed32Type, payload); err != nil {
				return nil, malformed(start, err)
			}
		case num == fieldDoubleData:
			if err := s.countValues(doubleData, typ, protowire.Fixed64Type, payload); err != nil {
				return nil, malformed(start, err)
			}
		case num == fieldInt32Data:
			if err := s.countValues(int32Data, typ, protowire.VarintType, payload); err != nil {
				return nil, malformed(start, err)
			}
		case num == fieldInt64Data:
			if err := s.countValues(int64Data, typ, protowire.VarintType, payload); err != nil {
				return nil, malformed(start, err)
			}
		case num == fieldUint64Data:
			if err := s.countValues(uint64Data, typ, protowire.VarintType, payload); err != nil {
				return nil, malformed(start, err)
			}
		}
	}
	return s, nil
}

func (s *summary) addDim(d int64) {
	// Keeping one more than maxRank is enough for validate to report the
	// rank; the count is exact either way.
	if s.nDims <= maxRank {
		s.dims = append(s.dims, d)
	}
	s.nDims++
}

// countValues adds the values of one occurrence of a repeated scalar field:
// one if it was written unpacked (with the element's own wire type), the
// number of elements in payload if packed. Other wire types make it an
// unknown field, which holds no values.
func (s *summary) countValues(f dataField, typ, elem protowire.Type, payload []byte) error {
	switch typ {
	case elem:
		s.counts[f]++
	case protowire.BytesType:
		switch elem {
		case protowire.Fixed32Type:
			if len(payload)%4 != 0 {
				return fmt.Errorf("packed %s of %d bytes is not a whole number of 4-byte values", f, len(payload))
			}
			s.counts[f] += int64(len(payload) / 4)
		case protowire.Fixed64Type:
			if len(payload)%8 != 0 {
				return fmt.Errorf("packed %s of %d bytes is not a whole number of 8-byte values", f, len(payload))
			}
			s.counts[f] += int64(len(payload) / 8)
		case protowire.VarintType:
			// Each varint ends with the one byte that lacks the
			// continuation bit, so counting those counts the values.
			var k int64
			for _, c := range payload {
				if c < 0x80 {
					k++
				}
			}
			if len(payload) > 0 && payload[len(payload)-1] >= 0x80 {
				return fmt.Errorf("packed %s ends inside a varint", f)
			}
			s.counts[f] += k
		}
	}
	return nil
}

// plan is a validated tensor: its type and shape and where its data is.
type plan struct {
	dt     tensor.DType
	shape  tensor.Shape
	n      int64 // elements
	nbytes int64 // bytes of element data; for strings, the total length of string_data
	source dataField
}

// validate checks everything that can be checked without reading data: the
// type, the dims, that exactly one storage form is used and that it holds
// exactly the data the dims call for, and the size limit. Nothing has been
// allocated from the message's claims when it returns an error.
func (s *summary) validate(o *options) (plan, error) {
	var pl plan
	if s.segment {
		return pl, s.unsupported("segmented tensors (TensorProto.segment) are not supported")
	}

	// Type.
	dt := tensor.DType(s.dataType)
	if !dt.Valid() {
		if name, ok := newerDTypes[s.dataType]; ok {
			return pl, s.unsupported("data_type %d (%s, newer than ONNX 1.12) is not supported", s.dataType, name)
		}
		if s.dataType == int32(onnxpb.TensorProto_UNDEFINED) {
			return pl, s.invalid("data_type is missing (UNDEFINED)")
		}
		return pl, s.invalid("unknown data_type %d", s.dataType)
	}
	pl.dt = dt

	// Dims. Counting zero dims as one in the overflow check matches
	// tensor.Shape.Validate, which must not reject what we accept.
	if s.nDims > maxRank {
		return pl, s.unsupported("rank %d exceeds the supported maximum of %d", s.nDims, maxRank)
	}
	nonzero, zero := int64(1), false
	for i, d := range s.dims {
		if d < 0 {
			return pl, s.invalid("dims %v: dimension %d is negative", s.dims, i)
		}
		if d == 0 {
			zero = true
			continue
		}
		if nonzero > maxElements/d {
			return pl, s.invalid("dims %v: element count overflows", s.dims)
		}
		nonzero *= d
	}
	pl.n = nonzero
	if zero {
		pl.n = 0
	}
	pl.shape = make(tensor.Shape, len(s.dims))
	for i, d := range s.dims {
		pl.shape[i] = int(d) // fits: d <= maxElements <= math.MaxInt
	}
	pl.nbytes = pl.n * int64(dt.Size()) // cannot overflow: n <= maxElements = MaxInt/16
	if dt == tensor.String {
		// Strings have no fixed size; their data is what counts
		// against the limit.
		pl.nbytes = s.stringBytes
	}

	// Storage form. ONNX says exactly one holds the data; its checker
	// rejects tensors with several, and so do we rather than guess.
	present := make([]dataField, 0, 2)
	for f := floatData; f <= uint64Data; f++ {
		if s.counts[f] > 0 {
			present = append(present, f)
		}
	}
	if s.hasRaw {
		present = append(present, rawData)
	}
	switch onnxpb.TensorProto_DataLocation(s.location) {
	case onnxpb.TensorProto_DEFAULT:
	case onnxpb.TensorProto_EXTERNAL:
		if len(present) > 0 {
			return pl, s.invalid("data_location is EXTERNAL but %s is also set", present[0])
		}
		if dt == tensor.String {
			return pl, s.invalid("string tensors cannot be stored as external data")
		}
		if s.nExternal == 0 {
			return pl, s.invalid("data_location is EXTERNAL but external_data is empty")
		}
		if s.nExternal > maxExternalEntries {
			return pl, s.invalid("external_data has %d entries, more than %d", s.nExternal, maxExternalEntries)
		}
		pl.source = externalData
		return pl, s.checkLimit(pl, o)
	default:
		return pl, s.invalid("unknown data_location %d", s.location)
	}
	if s.nExternal > 0 {
		return pl, s.invalid("external_data is set but data_location is not EXTERNAL")
	}
	switch len(present) {
	case 0:
		if pl.n != 0 {
			return pl, s.invalid("no data for %d elements of dims %v", pl.n, s.dims)
		}
		pl.source = noData
		return pl, nil
	case 1:
	default:
		return pl, s.invalid("both %s and %s are set", present[0], present[1])
	}
	pl.source = present[0]
	if pl.source == rawData {
		if dt == tensor.String {
			return pl, s.invalid("raw_data cannot hold string elements (ONNX stores them in string_data)")
		}
		if s.rawLen != pl.nbytes {
			return pl, s.invalid("raw_data has %d bytes, want %d for dims %v of %s", s.rawLen, pl.nbytes, s.dims, dt)
		}
		return pl, s.checkLimit(pl, o)
	}
	want, per := typedField(dt)
	if pl.source != want {
		return pl, s.invalid("%s cannot hold %s elements (ONNX uses %s)", pl.source, dt, want)
	}
	if got := s.counts[pl.source]; got != pl.n*per { // n*per <= 2*maxElements: no overflow
		return pl, s.invalid("%s has %d values, want %d for dims %v of %s", pl.source, got, pl.n*per, s.dims, dt)
	}
	return pl, s.checkLimit(pl, o)
}

func (s *summary) checkLimit(pl plan, o *options) error {
	if pl.nbytes > o.maxBytes {
		return s.unsupported("%d bytes for dims %v of %s exceed the limit of %d (see WithMaxTensorBytes)",
			pl.nbytes, s.dims, pl.dt, o.maxBytes)
	}
	return nil
}

// tensorFromProto converts a decoded TensorProto into a host tensor. It is
// the entry point for tensors embedded in models (initializers, attributes),
// which the protobuf package has already decoded.
func tensorFromProto(p *onnxpb.TensorProto, o *options) (*tensor.Tensor, error) {
	if p == nil {
		return nil, fmt.Errorf("tensor: missing TensorProto: %w", ErrInvalidModel)
	}
	s := summarize(p)
	pl, err := s.validate(o)
	if err != nil {
		return nil, err
	}
	var t *tensor.Tensor
	switch pl.source {
	case noData:
		t, err = tensor.New(pl.dt, pl.shape)
	case rawData:
		t, err = s.fromRaw(pl, p.RawData)
	case externalData:
		t, err = s.readExternal(pl, p.ExternalData, o)
	default:
		t, err = s.fromTyped(pl, p)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// fromRaw builds a tensor from little-endian element bytes. Bool bytes
// other than 0 and 1 (which onnx.proto forbids) read as true, as they do in
// C++ readers and in tensor.FromBytes. raw is the decoded message's own
// copy (the protobuf package copies bytes fields) or a fresh read of
// external data, so the tensor takes it over instead of copying it again:
// a model's weights are then in memory once, not twice, while it loads.
func (s *summary) fromRaw(pl plan, raw []byte) (*tensor.Tensor, error) {
	t, err := tensor.AdoptBytes(pl.dt, pl.shape, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.what(), err)
	}
	return t, nil
}

// fromTyped builds a tensor from the typed field validate chose. Values
// stored in a wider field (int8 in int32_data, uint32 in uint64_data) must
// fit the element type: one that does not is a corrupt file, truncating it
// would hide that, and ONNX's own numpy_helper rejects it too. Bools are
// the exception: any nonzero value is true, as in C++ and NumPy.
func (s *summary) fromTyped(pl plan, p *onnxpb.TensorProto) (*tensor.Tensor, error) {
	var (
		t   *tensor.Tensor
		err error
		sh  = pl.shape
	)
	switch pl.dt {
	case tensor.Float32:
		t, err = copySlice(p.FloatData, sh)
	case tensor.Float64:
		t, err = copySlice(p.DoubleData, sh)
	case tensor.Int32:
		t, err = copySlice(p.Int32Data, sh)
	case tensor.Int64:
		t, err = copySlice(p.Int64Data, sh)
	case tensor.Uint64:
		t, err = copySlice(p.Uint64Data, sh)
	case tensor.Uint32:
		v := make([]uint32, len(p.Uint64Data))
		for i, x := range p.Uint64Data {
			if x > math.MaxUint32 {
				return nil, s.invalid("uint64_data[%d] = %d is out of range for uint32", i, x)
			}
			v[i] = uint32(x)
		}
		t, err = wrapSlice(v, sh)
	case tensor.Int8:
		t, err = narrowInt32[int8](s, p.Int32Data, math.MinInt8, math.MaxInt8, sh)
	case tensor.Uint8:
		t, err = narrowInt32[uint8](s, p.Int32Data, 0, math.MaxUint8, sh)
	case tensor.Int16:
		t, err = narrowInt32[int16](s, p.Int32Data, math.MinInt16, math.MaxInt16, sh)
	case tensor.Uint16:
		t, err = narrowInt32[uint16](s, p.Int32Data, 0, math.MaxUint16, sh)
	case tensor.Float16:
		t, err = narrowInt32[tensor.F16](s, p.Int32Data, 0, math.MaxUint16, sh)
	case tensor.BFloat16:
		t, err = narrowInt32[tensor.BF16](s, p.Int32Data, 0, math.MaxUint16, sh)
	case tensor.Bool:
		v := make([]bool, len(p.Int32Data))
		for i, x := range p.Int32Data {
			v[i] = x != 0
		}
		t, err = wrapSlice(v, sh)
	case tensor.Complex64:
		v := make([]complex64, len(p.FloatData)/2)
		for i := range v {
			v[i] = complex(p.FloatData[2*i], p.FloatData[2*i+1])
		}
		t, err = wrapSlice(v, sh)
	case tensor.Complex128:
		v := make([]complex128, len(p.DoubleData)/2)
		for i := range v {
			v[i] = complex(p.DoubleData[2*i], p.DoubleData[2*i+1])
		}
		t, err = wrapSlice(v, sh)
	case tensor.String:
		v := make([]string, len(p.StringData))
		for i, b := range p.StringData {
			v[i] = string(b)
		}
		t, err = wrapSlice(v, sh)
	default:
		return nil, s.unsupported("element type %s", pl.dt) // unreachable: validate knows every valid type
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.what(), err)
	}
	return t, nil
}

// narrowInt32 converts int32_data values to a narrower element type after
// checking that each lies in [lo, hi]. Float16 and BFloat16 are stored as
// their bit patterns, which must be in [0, 65535].
func narrowInt32[T int8 | uint8 | int16 | uint16 | tensor.F16 | tensor.BF16](s *summary, vals []int32, lo, hi int32, shape tensor.Shape) (*tensor.Tensor, error) {
	out := make([]T, len(vals))
	for i, x := range vals {
		if x < lo || x > hi {
			return nil, s.invalid("int32_data[%d] = %d is out of range for %s", i, x, tensor.DTypeOf[T]())
		}
		out[i] = T(x)
	}
	return wrapSlice(out, shape)
}

// copySlice makes a tensor holding a copy of data, which belongs to the
// message (a model may keep its TensorProtos). tensor.FromSlice reads an
// empty shape as "1-D", so the shape is applied with Reshape, which keeps
// scalars rank 0.
func copySlice[T tensor.Element](data []T, shape tensor.Shape) (*tensor.Tensor, error) {
	t, err := tensor.FromSlice(data)
	if err != nil {
		return nil, err
	}
	return t.Reshape(shape)
}

// wrapSlice makes a tensor over data, which was built for it, without a
// second copy.
func wrapSlice[T tensor.Element](data []T, shape tensor.Shape) (*tensor.Tensor, error) {
	t, err := tensor.Wrap(data)
	if err != nil {
		return nil, err
	}
	return t.Reshape(shape)
}

// readExternal reads a tensor stored outside the protobuf, through the
// ExternalReader when one is given, else from a file. ONNX names the file by a path relative to the model's
// directory; a model is untrusted input, so the path must stay inside that
// directory. filepath.IsLocal rejects absolute paths and "..", and opening
// through os.Root also refuses symlinks that lead outside it.
func (s *summary) readExternal(pl plan, entries []*onnxpb.StringStringEntryProto, o *options) (*tensor.Tensor, error) {
	var (
		location           string
		offset, length     int64 = 0, -1
		haveLoc, haveOff   bool
		haveLen, haveCheck bool
	)
	for _, e := range entries {
		k, v := e.GetKey(), e.GetValue()
		var dup bool
		switch k {
		case "location":
			dup, haveLoc, location = haveLoc, true, v
		case "offset":
			dup, haveOff = haveOff, true
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, s.invalid("external data offset %q is not a non-negative integer", v)
			}
			offset = n
		case "length":
			dup, haveLen = haveLen, true
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, s.invalid("external data length %q is not a non-negative integer", v)
			}
			length = n
		case "checksum":
			// Optional SHA-1 of the whole file; not verified, as in the
			// reference implementation.
			dup, haveCheck = haveCheck, true
		default:
			// Unknown keys are ignored, so that files written by newer
			// tools still load.
		}
		if dup {
			return nil, s.invalid("external data key %q appears twice", k)
		}
	}
	if !haveLoc {
		return nil, s.invalid("external data has no location")
	}
	if length >= 0 && length != pl.nbytes {
		return nil, s.invalid("external data length %d, want %d for dims %v of %s", length, pl.nbytes, s.dims, pl.dt)
	}
	if o.external != nil {
		t, err := o.external(ExternalRef{Location: location, Offset: offset, Length: pl.nbytes}, pl.dt, pl.shape)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.what(), err)
		}
		if t == nil || t.DType() != pl.dt || !t.Shape().Equal(pl.shape) {
			return nil, fmt.Errorf("%s: external reader returned %v%v, want %v%v: %w", s.what(), t.DType(), t.Shape(), pl.dt, pl.shape, runtime.ErrInvalidArgument)
		}
		return t, nil
	}
	if o.baseDir == "" {
		return nil, s.unsupported("data in external file %q needs a base directory (use WithBaseDir or ReadTensorFile)", location)
	}
	// ONNX paths use '/'; FromSlash makes them native before checking.
	rel := filepath.FromSlash(location)
	if !filepath.IsLocal(rel) {
		return nil, s.invalid("external data location %q is not a relative path inside the model directory", location)
	}

	root, err := os.OpenRoot(o.baseDir)
	if err != nil {
		return nil, fmt.Errorf("%s: external data: %w", s.what(), err)
	}
	defer root.Close()
	// Stat before opening, so that a FIFO or device does not block Open.
	st, err := root.Stat(rel)
	if err != nil {
		return nil, s.externalFileError(location, err)
	}
	if !st.Mode().IsRegular() {
		return nil, s.invalid("external data location %q is not a regular file", location)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, s.externalFileError(location, err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, s.externalFileError(location, err)
	}
	if !st.Mode().IsRegular() {
		return nil, s.invalid("external data location %q is not a regular file", location)
	}
	size := st.Size()
	if offset > size {
		return nil, s.invalid("external data offset %d is beyond the end of %q (%d bytes)", offset, location, size)
	}
	if length < 0 {
		length = size - offset // no length: the data runs to the end of the file
		if length != pl.nbytes {
			return nil, s.invalid("external data in %q from offset %d is %d bytes, want %d for dims %v of %s",
				location, offset, length, pl.nbytes, s.dims, pl.dt)
		}
	} else if length > size-offset {
		return nil, s.invalid("external data [%d, %d+%d) is beyond the end of %q (%d bytes)", offset, offset, length, location, size)
	}
	buf := make([]byte, pl.nbytes) // checked against the limit by validate and against the file above
	// ReadAt may report io.EOF along with a full read that ends at the end
	// of the file; only a short read is an error (the file shrank).
	if n, err := f.ReadAt(buf, offset); n < len(buf) {
		return nil, fmt.Errorf("%s: read external data %q: %w", s.what(), location, err)
	}
	return s.fromRaw(pl, buf)
}

// externalFileError reports a failure to find or open an external data
// file. It wraps ErrInvalidModel (the model points at something it may not
// or cannot use) and the file system's error, so that errors.Is also finds
// fs.ErrNotExist and friends.
func (s *summary) externalFileError(location string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is in the message already
	}
	return fmt.Errorf("%s: external data location %q: %w: %w", s.what(), location, err, ErrInvalidModel)
}

// EncodeTensor serializes t as an ONNX TensorProto named name: numeric
// tensors in raw_data (little-endian, as ONNX requires), string tensors in
// string_data. The tensor must be readable on the host; copy a device
// tensor to the host first.
func EncodeTensor(name string, t *tensor.Tensor) ([]byte, error) {
	p, err := tensorToProto(name, t)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if n := proto.Size(p); n > maxEncodedBytes {
		return nil, fmt.Errorf("onnx: tensor %q: encoded size %d exceeds protobuf's 2 GiB limit: %w", name, n, runtime.ErrUnsupported)
	}
	b, err := proto.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("onnx: tensor %q: %w", name, err)
	}
	return b, nil
}

// WriteTensorFile writes t to path as EncodeTensor encodes it.
func WriteTensorFile(path, name string, t *tensor.Tensor) error {
	b, err := EncodeTensor(name, t)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o666); err != nil {
		return fmt.Errorf("onnx: write tensor %q: %w", name, err)
	}
	return nil
}

// nativeLittleEndian: tensor storage is in native byte order and ONNX's is
// little-endian, so big-endian hosts must swap when encoding.
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// tensorToProto builds the TensorProto EncodeTensor marshals. On
// little-endian hosts its raw_data aliases t's memory (a model's weights
// are not copied twice), so it must be marshaled before t is written to.
func tensorToProto(name string, t *tensor.Tensor) (*onnxpb.TensorProto, error) {
	if t == nil {
		return nil, fmt.Errorf("tensor %q: nil tensor: %w", name, runtime.ErrInvalidArgument)
	}
	dt := t.DType()
	if !dt.Valid() {
		return nil, fmt.Errorf("tensor %q: element type %s: %w", name, dt, runtime.ErrUnsupported)
	}
	p := &onnxpb.TensorProto{DataType: proto.Int32(int32(dt))}
	if name != "" {
		p.Name = proto.String(name)
	}
	shape := t.Shape()
	p.Dims = make([]int64, len(shape))
	for i, d := range shape {
		p.Dims[i] = int64(d)
	}
	if dt == tensor.String {
		strs, err := t.Strings()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		p.StringData = make([][]byte, len(strs))
		for i, s := range strs {
			p.StringData[i] = []byte(s)
		}
		return p, nil
	}
	raw, ok := t.HostBytes()
	if !ok {
		return nil, fmt.Errorf("tensor %q: %s tensor is not in host memory; copy it to the host first: %w",
			name, dt, runtime.ErrInvalidArgument)
	}
	if want := int64(t.Len()) * int64(dt.Size()); int64(len(raw)) != want {
		// Defensive: a tensor whose bytes disagree with its shape would
		// encode a file that no reader accepts.
		return nil, fmt.Errorf("tensor %q: %d host bytes for shape %v of %s, want %d: %w",
			name, len(raw), shape, dt, want, runtime.ErrInvalidArgument)
	}
	if !nativeLittleEndian {
		raw = bytes.Clone(raw)
		word := dt.Size()
		if dt.IsComplex() {
			word /= 2
		}
		for i := 0; i+word <= len(raw); i += word {
			w := raw[i : i+word]
			for j, k := 0, word-1; j < k; j, k = j+1, k-1 {
				w[j], w[k] = w[k], w[j]
			}
		}
	}
	// raw_data must be present even when empty, so that readers see which
	// form the tensor uses.
	if raw == nil {
		raw = []byte{}
	}
	p.RawData = raw
	return p, nil
}
