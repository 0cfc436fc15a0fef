package compiled

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

const (
	// Magic starts every compiled model file. The high first byte and the
	// trailing newline catch transfers that mangle binary files.
	Magic = "\x89GoCANN\n"
	// FormatVersion is the container layout this package reads and
	// writes. A change that older readers cannot follow increments it.
	FormatVersion = 1
	// HeaderSize is the size of the fixed header.
	HeaderSize = 128
	// Alignment is the alignment of every tensor in the weights section,
	// relative to the start of the file: enough for any vector load.
	Alignment = 64
	// WeightsLocation is the external data location that refers to the
	// weights section.
	WeightsLocation = "gocann:weights"
	// InlineBytes: tensors smaller than this stay inside the graph, where
	// padding them to Alignment would cost more than it saves.
	InlineBytes = 64
)

const (
	flagWeightsCRC = 1 << 0
	knownFlags     = flagWeightsCRC

	crcOffset = 64 // header CRC field, zeroed while the CRC is computed

	maxFileSize = 1 << 50 // bounds section offsets, so that sums cannot overflow
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// section is a byte range of the file.
type section struct{ off, len uint64 }

func (s section) end() uint64 { return s.off + s.len }

// header is the fixed header.
type header struct {
	version                  uint32
	flags                    uint32
	manifest, graph, weights section
	headerCRC, weightsCRC    uint32
}

func (h *header) marshal() []byte {
	b := make([]byte, HeaderSize)
	copy(b, Magic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], h.version)
	le.PutUint32(b[12:], h.flags)
	for i, s := range []section{h.manifest, h.graph, h.weights} {
		le.PutUint64(b[16+16*i:], s.off)
		le.PutUint64(b[24+16*i:], s.len)
	}
	le.PutUint32(b[crcOffset:], h.headerCRC)
	le.PutUint32(b[68:], h.weightsCRC)
	return b
}

// parseHeader reads the header of a file of the given size. It checks the
// magic and the format version first, so that a file of another version
// is reported as such rather than as damaged, then that the sections lie
// in order inside the file.
func parseHeader(b []byte, size int64) (*header, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return nil, ErrNotCompiled
	}
	if len(b) < 12 {
		return nil, fmt.Errorf("%d bytes, shorter than the header: %w", len(b), ErrCorrupt)
	}
	le := binary.LittleEndian
	h := &header{version: le.Uint32(b[8:])}
	if h.version != FormatVersion {
		return nil, fmt.Errorf("format version %d, this build reads version %d: %w", h.version, FormatVersion, ErrIncompatible)
	}
	if len(b) < HeaderSize || size < HeaderSize {
		return nil, fmt.Errorf("%d bytes, shorter than the %d-byte header: %w", min(int64(len(b)), size), HeaderSize, ErrCorrupt)
	}
	h.flags = le.Uint32(b[12:])
	if h.flags&^knownFlags != 0 {
		return nil, fmt.Errorf("unknown flags %#x: %w", h.flags, ErrCorrupt)
	}
	secs := []*section{&h.manifest, &h.graph, &h.weights}
	for i, s := range secs {
		s.off, s.len = le.Uint64(b[16+16*i:]), le.Uint64(b[24+16*i:])
	}
	h.headerCRC = le.Uint32(b[crcOffset:])
	h.weightsCRC = le.Uint32(b[68:])
	for _, r := range b[72:HeaderSize] {
		if r != 0 {
			return nil, fmt.Errorf("reserved header bytes are set: %w", ErrCorrupt)
		}
	}
	// Sections follow the header and each other; the last ends where the
	// file does. Each bound is checked before it is added to, so nothing
	// overflows.
	names := []string{"manifest", "graph", "weights"}
	prev := uint64(HeaderSize)
	for i, s := range secs {
		if s.off < prev || s.off > maxFileSize || s.len > maxFileSize-s.off {
			return nil, fmt.Errorf("%s section [%d, +%d) is out of order or absurd: %w", names[i], s.off, s.len, ErrCorrupt)
		}
		prev = s.end()
	}
	if prev > uint64(size) {
		return nil, fmt.Errorf("truncated: the file is %d bytes, its sections end at %d: %w", size, prev, ErrCorrupt)
	}
	if prev < uint64(size) {
		return nil, fmt.Errorf("the file is %d bytes, its sections end at %d (appended to?): %w", size, prev, ErrCorrupt)
	}
	if h.weights.off%Alignment != 0 {
		return nil, fmt.Errorf("weights section at %d is not %d-byte aligned: %w", h.weights.off, Alignment, ErrCorrupt)
	}
	return h, nil
}

// metaCRC is the checksum of the header (CRC field zeroed), manifest and
// graph.
func metaCRC(hdr, manifest, graph []byte) uint32 {
	var zero [4]byte
	c := crc32.Update(0, castagnoli, hdr[:crcOffset])
	c = crc32.Update(c, castagnoli, zero[:])
	c = crc32.Update(c, castagnoli, hdr[crcOffset+4:HeaderSize])
	c = crc32.Update(c, castagnoli, manifest)
	return crc32.Update(c, castagnoli, graph)
}

func alignUp(n uint64) uint64 { return (n + Alignment - 1) &^ (Alignment - 1) }
