package compiled

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/internal/version"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/tensor"
)

// Build describes how a graph was made, for its manifest. The graph given
// to Write must already be optimized: writing does not change it.
type Build struct {
	Source   Source
	OptLevel int
	Shapes   map[string][]int64
	// CPUFeatures the graph was compiled for; nil means NativeFeatures.
	CPUFeatures []string
	// Created is the creation time; zero means now.
	Created time.Time
	// Progress, when set, is told how many weight bytes of the total have
	// been written.
	Progress func(done, total int64)
}

// contentKey groups tensors that may hold the same bytes: the graph may
// hold the same weights under several names, views of them, or copies
// (an Identity folded into a constant), which are stored once.
type contentKey struct {
	n   int
	crc uint32
}

// placed is a tensor in the weights section.
type placed struct {
	t   *tensor.Tensor
	off int64 // relative to the section
}

// layout collects the tensors EncodeModel externalizes and gives each a
// 64-byte aligned place in the weights section. The weights section
// itself starts at an aligned file offset, so section offsets keep the
// alignment in the file.
type layout struct {
	tensors []placed
	seen    map[contentKey][]int // indexes into tensors
	size    int64
	inline  int
	inlineB int64
}

func (l *layout) place(name string, t *tensor.Tensor) (onnx.ExternalRef, bool, error) {
	n := t.NumBytes()
	if n < InlineBytes {
		l.inline++
		l.inlineB += n
		return onnx.ExternalRef{}, false, nil
	}
	b, ok := t.HostBytes()
	if !ok {
		return onnx.ExternalRef{}, false, fmt.Errorf("%v%v is not in host memory", t.DType(), t.Shape())
	}
	key := contentKey{len(b), crc32.Checksum(b, castagnoli)}
	for _, i := range l.seen[key] {
		p := l.tensors[i]
		if pb, _ := p.t.HostBytes(); bytes.Equal(pb, b) {
			return onnx.ExternalRef{Location: WeightsLocation, Offset: p.off, Length: n}, true, nil
		}
	}
	off := int64(alignUp(uint64(l.size)))
	l.seen[key] = append(l.seen[key], len(l.tensors))
	l.tensors = append(l.tensors, placed{t, off})
	l.size = off + n
	return onnx.ExternalRef{Location: WeightsLocation, Offset: off, Length: n}, true, nil
}

// Write writes m as a compiled model to w and returns its manifest.
func Write(w io.Writer, m *graph.Model, b Build) (*Manifest, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("compiled: write: no graph")
	}
	l := &layout{seen: map[contentKey][]int{}}
	graphBytes, err := onnx.EncodeModel(m, onnx.WithExternalWriter(l.place))
	if err != nil {
		return nil, fmt.Errorf("compiled: write: %w", err)
	}
	info := version.Get()
	man := &Manifest{
		FormatVersion: FormatVersion,
		Tool:          Tool{Name: "gocann", Version: info.Version, Go: info.Go, Commit: info.Commit},
		Created:       b.Created.UTC(),
		Source:        b.Source,
		OptLevel:      b.OptLevel,
		Shapes:        b.Shapes,
		Target:        Target{Device: "cpu", Arch: goruntime.GOARCH, CPUFeatures: b.CPUFeatures},
		Weights:       Weights{Tensors: len(l.tensors), Inline: l.inline, InlineBytes: l.inlineB},
	}
	if man.Created.IsZero() {
		man.Created = time.Now().UTC().Truncate(time.Second)
	}
	if man.Target.CPUFeatures == nil {
		man.Target.CPUFeatures = NativeFeatures()
	}
	for _, p := range l.tensors {
		man.Weights.Bytes += p.t.NumBytes()
	}
	man.describe(m)
	manBytes, err := man.encode()
	if err != nil {
		return nil, err
	}

	h := &header{version: FormatVersion, flags: flagWeightsCRC}
	h.manifest = section{HeaderSize, uint64(len(manBytes))}
	h.graph = section{h.manifest.end(), uint64(len(graphBytes))}
	h.weights = section{alignUp(h.graph.end()), uint64(alignUp(uint64(l.size)))}
	// The section is padded to a multiple of the alignment, so the file
	// ends aligned and every byte of it is covered by the checksum.
	if h.weightsCRC, err = l.checksum(int64(h.weights.len)); err != nil {
		return nil, fmt.Errorf("compiled: write: %w", err)
	}
	h.headerCRC = metaCRC(h.marshal(), manBytes, graphBytes)

	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(h.marshal())
	bw.Write(manBytes)
	bw.Write(graphBytes)
	bw.Write(make([]byte, h.weights.off-h.graph.end()))
	if err := l.write(bw, int64(h.weights.len), b.Progress); err != nil {
		return nil, fmt.Errorf("compiled: write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("compiled: write: %w", err)
	}
	return man, nil
}

// each calls f with the weights section's bytes in order, padding
// included, total bytes in all.
func (l *layout) each(total int64, f func([]byte) error) error {
	var pos int64
	pad := make([]byte, Alignment)
	for _, p := range l.tensors {
		if err := f(pad[:p.off-pos]); err != nil {
			return err
		}
		raw, err := littleEndian(p.t)
		if err != nil {
			return err
		}
		if err := f(raw); err != nil {
			return err
		}
		pos = p.off + int64(len(raw))
	}
	return f(pad[:total-pos])
}

func (l *layout) checksum(total int64) (uint32, error) {
	var c uint32
	err := l.each(total, func(b []byte) error {
		c = crc32.Update(c, castagnoli, b)
		return nil
	})
	return c, err
}

func (l *layout) write(w io.Writer, total int64, progress func(done, total int64)) error {
	var done int64
	const step = 4 << 20 // report progress at least every 4 MiB
	if progress != nil {
		progress(0, total)
	}
	return l.each(total, func(b []byte) error {
		for len(b) > 0 {
			n := min(len(b), step)
			if _, err := w.Write(b[:n]); err != nil {
				return err
			}
			b = b[n:]
			done += int64(n)
			if progress != nil {
				progress(done, total)
			}
		}
		return nil
	})
}

// littleEndian returns t's bytes as ONNX and this format store them.
func littleEndian(t *tensor.Tensor) ([]byte, error) {
	b, ok := t.HostBytes()
	if !ok {
		return nil, fmt.Errorf("%v%v is not in host memory", t.DType(), t.Shape())
	}
	if nativeLittleEndian {
		return b, nil
	}
	b = bytes.Clone(b)
	word := t.DType().Size()
	if t.DType().IsComplex() {
		word /= 2
	}
	for i := 0; i+word <= len(b); i += word {
		w := b[i : i+word]
		for j, k := 0, word-1; j < k; j, k = j+1, k-1 {
			w[j], w[k] = w[k], w[j]
		}
	}
	return b, nil
}

var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// WriteFile writes m to path through a temporary file in the same
// directory, renamed into place once complete: a process that has the old
// file mapped keeps reading the old file, and a failed write leaves no
// half-written model behind.
func WriteFile(path string, m *graph.Model, b Build) (*Manifest, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("compiled: %w", err)
	}
	tmp := f.Name()
	man, err := Write(f, m, b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("compiled: write %s: %w", path, err)
	}
	return man, nil
}
