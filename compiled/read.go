package compiled

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"unsafe"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/tensor"
)

// Model is a compiled model read from a file: its manifest and its graph,
// whose weights may live in a file mapping. Close releases the mapping;
// the graph's tensors must not be used afterwards.
type Model struct {
	Manifest *Manifest
	Graph    *graph.Model

	mapped    bool
	unmap     func() error
	closeOnce sync.Once
	closeErr  error
}

// Mapped reports whether the weights are a view of a file mapping (as
// opposed to memory read from the file).
func (m *Model) Mapped() bool { return m.mapped }

// Close releases the file mapping, if any. The graph's weight tensors are
// views of it: nothing may use them, or anything derived from them without
// a copy, once Close has been called. Closing twice is harmless.
func (m *Model) Close() error {
	m.closeOnce.Do(func() {
		if m.unmap != nil {
			m.closeErr = m.unmap()
		}
	})
	return m.closeErr
}

// Option adjusts reading.
type Option func(*options)

type options struct {
	maxTensorBytes int64
	verifyWeights  bool
	noMmap         bool
	skipCompat     bool
}

// WithMaxTensorBytes bounds every tensor the file declares (as
// onnx.WithMaxTensorBytes does; the default is onnx's).
func WithMaxTensorBytes(n int64) Option { return func(o *options) { o.maxTensorBytes = n } }

// WithVerifyWeights checks the weights section against its checksum. It
// reads every page of the section, which costs the time mapping saves
// (see BENCHMARKS.md), so it is off by default: the manifest and graph are
// always checked.
func WithVerifyWeights(v bool) Option { return func(o *options) { o.verifyWeights = v } }

// WithoutMmap reads the file into memory instead of mapping it.
func WithoutMmap() Option { return func(o *options) { o.noMmap = true } }

// WithoutCompatCheck skips the checks of Compatible, for tools that only
// look at a file (`cann inspect`). A model read this way may not run here.
func WithoutCompatCheck() Option { return func(o *options) { o.skipCompat = true } }

func collect(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o
}

// Open reads the compiled model at path, mapping it into memory where the
// system allows (the weights are then not copied), reading it otherwise.
func Open(path string, opts ...Option) (*Model, error) {
	o := collect(opts)
	m, err := open(path, o)
	if err != nil {
		return nil, fmt.Errorf("compiled: %s: %w", path, err)
	}
	return m, nil
}

func open(path string, o *options) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	size := st.Size()
	// Read the header first, so that an ONNX file, a file of another
	// version or a truncated one is reported before anything is mapped.
	hb := make([]byte, HeaderSize)
	n, err := io.ReadFull(f, hb)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if _, err := parseHeader(hb[:n], size); err != nil {
		return nil, err
	}
	if !o.noMmap && size > 0 {
		data, unmap, err := mmapFile(f, size)
		if err == nil {
			m, err := decode(data, o)
			if err != nil {
				unmap()
				return nil, err
			}
			m.mapped, m.unmap = true, unmap
			return m, nil
		}
		if !errors.Is(err, errNoMmap) {
			return nil, err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := readAligned(f, size)
	if err != nil {
		return nil, err
	}
	return decode(data, o)
}

// Read reads a compiled model from r, to its end, into memory.
func Read(r io.Reader, opts ...Option) (*Model, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("compiled: read: %w", err)
	}
	return Decode(b, opts...)
}

// Decode reads a compiled model from b. The weights are copied (once, into
// aligned memory), so b may be reused afterwards.
func Decode(b []byte, opts ...Option) (*Model, error) {
	data := alignedBytes(len(b))
	copy(data, b)
	m, err := decode(data, collect(opts))
	if err != nil {
		return nil, fmt.Errorf("compiled: %w", err)
	}
	return m, nil
}

// IsCompiled reports whether b, the start of a file, is the start of a
// compiled model.
func IsCompiled(b []byte) bool {
	return len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic
}

// readAligned reads size bytes from r into memory aligned like a mapping.
func readAligned(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || uint64(size) > uint64(maxInMemory) {
		return nil, fmt.Errorf("%d bytes is too large to read into memory", size)
	}
	data := alignedBytes(int(size))
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("read: %w (the file changed while being read?)", err)
	}
	return data, nil
}

const maxInMemory = 1 << 46

// alignedBytes returns n zeroed bytes starting at an Alignment boundary,
// as a mapping does, so that tensors keep the alignment the file gives
// them.
func alignedBytes(n int) []byte {
	words := make([]uint64, (n+2*Alignment)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	skip := (Alignment - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%Alignment)) % Alignment
	return b[skip : skip+n : skip+n]
}

// decode parses a whole file held in data (a mapping or memory the model
// owns from now on).
func decode(data []byte, o *options) (*Model, error) {
	h, err := parseHeader(data, int64(len(data)))
	if err != nil {
		return nil, err
	}
	manBytes := data[h.manifest.off:h.manifest.end()]
	graphBytes := data[h.graph.off:h.graph.end()]
	if c := metaCRC(data[:HeaderSize], manBytes, graphBytes); c != h.headerCRC {
		return nil, fmt.Errorf("checksum of header, manifest and graph is %08x, the file says %08x: %w", c, h.headerCRC, ErrCorrupt)
	}
	weights := data[h.weights.off:h.weights.end()]
	if o.verifyWeights {
		if h.flags&flagWeightsCRC == 0 {
			return nil, fmt.Errorf("the weights have no checksum to verify: %w", ErrCorrupt)
		}
		if c := crc32.Checksum(weights, castagnoli); c != h.weightsCRC {
			return nil, fmt.Errorf("checksum of the weights is %08x, the file says %08x: %w", c, h.weightsCRC, ErrCorrupt)
		}
	}
	man, err := decodeManifest(manBytes)
	if err != nil {
		return nil, err
	}
	if !o.skipCompat {
		if err := Compatible(man); err != nil {
			return nil, err
		}
	}
	g, err := onnx.DecodeModel(graphBytes,
		onnx.WithMaxTensorBytes(o.maxTensorBytes),
		onnx.WithExternalReader(weightReader(weights)))
	if err != nil {
		if errors.Is(err, onnx.ErrInvalidModel) {
			return nil, fmt.Errorf("graph: %w: %w", err, ErrCorrupt)
		}
		return nil, fmt.Errorf("graph: %w", err)
	}
	return &Model{Manifest: man, Graph: g}, nil
}

// weightReader resolves the graph's external tensors in the weights
// section, as read-only views where the bytes can be used as they are.
func weightReader(weights []byte) onnx.ExternalReader {
	return func(ref onnx.ExternalRef, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error) {
		if ref.Location != WeightsLocation {
			return nil, fmt.Errorf("external data %q: a compiled model keeps its weights in its own section: %w", ref.Location, ErrCorrupt)
		}
		if ref.Offset%Alignment != 0 || ref.Offset > int64(len(weights)) || ref.Length > int64(len(weights))-ref.Offset {
			return nil, fmt.Errorf("weights [%d, +%d) outside the %d-byte section or not %d-byte aligned: %w",
				ref.Offset, ref.Length, len(weights), Alignment, ErrCorrupt)
		}
		b := weights[ref.Offset : ref.Offset+ref.Length]
		// Booleans are checked and normalized by a copy (a Go bool
		// holding 2 is undefined behaviour); big-endian hosts swap.
		if dt == tensor.Bool || !nativeLittleEndian {
			return tensor.FromBytes(dt, shape, b)
		}
		return tensor.FromReadOnlyBytes(dt, shape, b)
	}
}
