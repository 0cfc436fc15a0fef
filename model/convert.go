package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gocann/gocann/compiled"
	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/passes"
)

// WithCPUFeatures sets the CPU features Convert compiles for (see
// compiled.ParseCPUTarget); nil, the default, means this machine's.
func WithCPUFeatures(f []string) Option { return func(o *options) { o.cpuFeatures = f } }

// WithProgress has Convert report its stages ("read", "optimize",
// "write") and, where it can, how far along each is, in bytes.
func WithProgress(f func(stage string, done, total int64)) Option {
	return func(o *options) { o.progress = f }
}

// Conversion is what Convert did.
type Conversion struct {
	Manifest *compiled.Manifest
	// Report says what the optimization passes did (String() is what
	// `cann convert --explain` prints).
	Report *passes.Report
}

// Convert compiles the ONNX model at src into a compiled model file at
// dst: it runs the optimizations Load would (WithOptLevel, WithShapes),
// checks that every operator of the result is known (WithOps), and writes
// the graph and its weights in the compiled format. Load then reads dst
// without optimizing again.
func Convert(src, dst string, opts ...Option) (*Conversion, error) {
	o := collect(opts)
	progress := o.progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if isCompiledFile(src) {
		return nil, fmt.Errorf("%s is a compiled model already: convert the ONNX file", src)
	}
	source, err := describeSource(src, progress)
	if err != nil {
		return nil, err
	}
	progress("read", 0, 0)
	g, err := onnx.LoadModel(src, onnx.WithMaxTensorBytes(o.maxTensorBytes))
	if err != nil {
		return nil, err
	}
	progress("optimize", 0, 0)
	report, err := optimize(g, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	// Refuse to write a file that would not load: every operator must be
	// known, at the opsets the graph imports.
	reg, err := o.registry()
	if err != nil {
		return nil, err
	}
	if _, err := engine.Compile(g, engine.Options{Ops: reg, MaxTensorBytes: o.maxTensorBytes}); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	b := compiled.Build{
		Source:      source,
		OptLevel:    o.optLevel,
		CPUFeatures: o.cpuFeatures,
		Progress:    func(done, total int64) { progress("write", done, total) },
	}
	if len(o.shapes) > 0 {
		b.Shapes = map[string][]int64{}
		for name, s := range o.shapes {
			b.Shapes[name] = append([]int64(nil), s...)
		}
	}
	man, err := compiled.WriteFile(dst, g, b)
	if err != nil {
		return nil, err
	}
	return &Conversion{Manifest: man, Report: report}, nil
}

// describeSource hashes the source model for the manifest.
func describeSource(path string, progress func(string, int64, int64)) (compiled.Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return compiled.Source{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return compiled.Source{}, err
	}
	h := sha256.New()
	total := st.Size()
	buf := make([]byte, 4<<20)
	var done int64
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		done += int64(n)
		progress("hash", done, total)
		if err == io.EOF {
			break
		}
		if err != nil {
			return compiled.Source{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	return compiled.Source{File: filepath.Base(path), SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: done}, nil
}
