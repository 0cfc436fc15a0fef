// Package model is GoCANN's model API: load an ONNX model or a compiled
// one (.cann, see package compiled and Convert), inspect its inputs and
// outputs, and run it with tensors.
//
//	m, err := model.Load("model.onnx", model.WithThreads(2))
//	defer m.Close()
//	outs, err := m.Run(ctx, map[string]*tensor.Tensor{"input": x})
//
// A loaded model is safe for concurrent use by many goroutines; each Run
// honours its context's cancellation between operators.
package model

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/gocann/gocann/compiled"
	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	clops "github.com/gocann/gocann/ops/opencl"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/backends"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// Option configures Load.
type Option func(*options)

type options struct {
	device         string
	threads        int
	ops            *ops.Registry
	maxTensorBytes int64
	optLevel       int
	optLevelSet    bool
	strict         bool
	shapes         map[string][]int64
	// Convert only.
	cpuFeatures []string
	progress    func(stage string, done, total int64)
}

// WithDevice picks the device by id ("cpu", "cpu:0", "opencl",
// "opencl:1"); the default is "cpu". On a device other than the CPU each
// node runs on the device when it has a kernel there that accepts the node,
// and on the CPU otherwise (see Placement and WithStrict); values move
// between host and device only where they change sides. The default
// optimization level is then DefaultDeviceOptLevel.
func WithDevice(id string) Option { return func(o *options) { o.device = id } }

// WithStrict makes any node that would fall back from the device to the
// CPU an error wrapping engine.ErrFallback (naming the node and why), at
// Load for control flow, else when the inputs' shapes are first planned
// (Run, Placement, MemoryPlan): only then is it known which nodes are
// folded away. It changes nothing on the CPU.
func WithStrict(strict bool) Option { return func(o *options) { o.strict = strict } }

// WithThreads sets the CPU worker threads (0: one per core).
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithOps supplies the operator registry, for models that use custom
// operators: start from standard.NewRegistry and register yours.
func WithOps(r *ops.Registry) Option { return func(o *options) { o.ops = r } }

// WithMaxTensorBytes bounds every tensor the file declares and every
// tensor a run allocates (default 4 GiB), so that a corrupt or hostile
// model fails with an error instead of exhausting memory.
func WithMaxTensorBytes(n int64) Option { return func(o *options) { o.maxTensorBytes = n } }

// Model is a loaded model, ready to run.
type Model struct {
	exe    *engine.Executable
	reg    *runtime.Registry
	device runtime.Device
	// stream and pool serve a device other than the CPU; copyStream and
	// copyPool carry the copies to it that overlap with its kernels.
	stream, copyStream runtime.Stream
	pool, copyPool     *runtime.Pool
	// compiled is the file a compiled model was read from, whose mapping
	// holds the weights; nil for ONNX models.
	compiled *compiled.Model
	report   *passes.Report

	// mu makes Close wait for runs in flight: a compiled model's weights
	// are unmapped by Close.
	mu     sync.RWMutex
	closed bool
}

// Info describes one input or output.
type Info struct {
	Name string
	Type ops.Type // Shape dims are -1 where symbolic
	// DimParams names the symbolic dims ("batch"), parallel to Type.Shape.
	DimParams []string
}

// Load reads a model file and prepares it to run: an ONNX model, which is
// optimized (see WithOptLevel), or a compiled model (recognized by its
// magic number), which was optimized when converted and whose weights are
// mapped from the file rather than read.
func Load(path string, opts ...Option) (*Model, error) {
	o := collect(opts)
	if isCompiledFile(path) {
		cm, err := compiled.Open(path, compiled.WithMaxTensorBytes(o.maxTensorBytes))
		if err != nil {
			return nil, err
		}
		return buildCompiled(cm, o)
	}
	g, err := onnx.LoadModel(path, onnx.WithMaxTensorBytes(o.maxTensorBytes))
	if err != nil {
		return nil, err
	}
	rep, err := optimize(g, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return build(g, o, rep)
}

// isCompiledFile reports whether path starts with the compiled model
// magic. Errors are left to the loader that follows.
func isCompiledFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(compiled.Magic))
	n, _ := io.ReadFull(f, b)
	return compiled.IsCompiled(b[:n])
}

func buildCompiled(cm *compiled.Model, o *options) (*Model, error) {
	if !isCPU(o.device) {
		cm.Close()
		return nil, fmt.Errorf("device %s: compiled models run on the CPU only so far; load the ONNX model instead: %w", o.device, runtime.ErrUnsupported)
	}
	m, err := build(cm.Graph, o, nil)
	if err != nil {
		cm.Close()
		return nil, err
	}
	m.compiled = cm
	return m, nil
}

// LoadBytes loads a serialized ONNX model. External data is not allowed
// (there is no directory to resolve it in); use Load for such models.
func LoadBytes(b []byte, opts ...Option) (*Model, error) {
	return LoadReader(bytes.NewReader(b), opts...)
}

// LoadReader loads a serialized ONNX or compiled model from r.
func LoadReader(r io.Reader, opts ...Option) (*Model, error) {
	o := collect(opts)
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(compiled.Magic)); compiled.IsCompiled(head) {
		cm, err := compiled.Read(br, compiled.WithMaxTensorBytes(o.maxTensorBytes))
		if err != nil {
			return nil, err
		}
		return buildCompiled(cm, o)
	}
	g, err := onnx.ReadModel(br, onnx.WithMaxTensorBytes(o.maxTensorBytes))
	if err != nil {
		return nil, err
	}
	rep, err := optimize(g, o)
	if err != nil {
		return nil, err
	}
	return build(g, o, rep)
}

func collect(opts []Option) *options {
	o := &options{device: "cpu", optLevel: DefaultOptLevel}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if !o.optLevelSet && !isCPU(o.device) {
		o.optLevel = DefaultDeviceOptLevel
	}
	return o
}

// isCPU reports whether a device id names the CPU backend.
func isCPU(id string) bool { return id == "" || id == "cpu" || strings.HasPrefix(id, "cpu:") }

// build binds an optimized graph to the device; report is what the passes
// did to it (nil for a compiled model, optimized when it was converted).
func build(g *graph.Model, o *options, report *passes.Report) (*Model, error) {
	reg, err := backends.Registry(backends.Options{Threads: o.threads})
	if err != nil {
		return nil, err
	}
	m, err := bind(g, o, reg)
	if err != nil {
		reg.Close()
		return nil, err
	}
	m.report = report
	return m, nil
}

func bind(g *graph.Model, o *options, reg *runtime.Registry) (*Model, error) {
	dev, err := reg.Open(o.device)
	if err != nil {
		return nil, err
	}
	opsReg, err := o.registry()
	if err != nil {
		return nil, err
	}
	cd, ok := dev.(*cpu.Device)
	if ok {
		exe, err := engine.Compile(g, engine.Options{Ops: opsReg, Workers: cd.Backend().Workers(), MaxTensorBytes: o.maxTensorBytes,
			Device: dev.Properties().ID()})
		if err != nil {
			return nil, err
		}
		return &Model{exe: exe, reg: reg, device: dev}, nil
	}
	// Another device: the CPU runs what falls back.
	host, err := reg.Open("cpu")
	if err != nil {
		return nil, err
	}
	cd, ok = host.(*cpu.Device)
	if !ok {
		return nil, fmt.Errorf("device %s: no CPU device to fall back on: %w", dev.Properties().ID(), runtime.ErrNotFound)
	}
	if err := registerDeviceKernels(opsReg, dev.Properties().Backend); err != nil {
		return nil, fmt.Errorf("device %s: %w", dev.Properties().ID(), err)
	}
	s, err := dev.NewStream()
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", dev.Properties().ID(), err)
	}
	m := &Model{reg: reg, device: dev, stream: s}
	fail := func(err error) (*Model, error) {
		m.closeDevice()
		return nil, fmt.Errorf("device %s: %w", dev.Properties().ID(), err)
	}
	if m.pool, err = runtime.NewPool(dev, runtime.PoolOptions{}); err != nil {
		return fail(err)
	}
	if m.copyStream, err = dev.NewStream(); err != nil {
		return fail(err)
	}
	if m.copyPool, err = runtime.NewPool(dev, runtime.PoolOptions{}); err != nil {
		return fail(err)
	}
	m.exe, err = engine.Compile(g, engine.Options{Ops: opsReg, Workers: cd.Backend().Workers(), MaxTensorBytes: o.maxTensorBytes,
		Device: host.Properties().ID(), Accelerator: dev, Stream: s, Pool: m.pool, CopyStream: m.copyStream, CopyPool: m.copyPool, Strict: o.strict})
	if err != nil {
		m.closeDevice()
		return nil, err
	}
	return m, nil
}

// deviceKernels registers a backend's operator kernels into a registry,
// by backend name. Adding a backend with kernels adds a line here.
var deviceKernels = map[string]func(*ops.Registry) error{
	"opencl": clops.Register,
}

// registerDeviceKernels makes sure reg holds the backend's kernels (a
// registry given with WithOps may already have them).
func registerDeviceKernels(reg *ops.Registry, backend string) error {
	for _, d := range reg.DeviceOps() {
		if d.Backend == backend {
			return nil
		}
	}
	register, ok := deviceKernels[backend]
	if !ok {
		return nil // no kernels: every node falls back (and says so)
	}
	if err := register(reg); err != nil {
		// A concurrent Load sharing the registry may have registered them.
		for _, d := range reg.DeviceOps() {
			if d.Backend == backend {
				return nil
			}
		}
		return err
	}
	return nil
}

// Report says what the optimization passes did to the model when it was
// loaded (String() is what `cann run --explain` prints); nil for a
// compiled model, whose passes ran when it was converted.
func (m *Model) Report() *passes.Report { return m.report }

// MemoryPlan returns how runs on inputs of these types and shapes use
// memory: the arena of intermediates, what is allocated per run, how many
// kernels launch (see engine.MemoryStats). It plans without running; the
// plan is kept for the runs to come.
func (m *Model) MemoryPlan(inputs map[string]ops.Value) (engine.MemoryStats, error) {
	return m.exe.MemoryPlan(inputs)
}

// Placement returns where the nodes run for inputs of these types and
// shapes: the nodes per device and every node that falls back from the
// device to the CPU, with the reason (see engine.Placement). On the CPU
// every node is on the CPU and nothing falls back. It plans without
// running, like MemoryPlan; with WithStrict a fallback is an error.
func (m *Model) Placement(inputs map[string]ops.Value) (engine.Placement, error) {
	return m.exe.Placement(inputs)
}

// closeDevice waits for the device streams and releases them and their
// pools (those there are).
func (m *Model) closeDevice() error {
	var err error
	for _, s := range []runtime.Stream{m.stream, m.copyStream} {
		if s != nil {
			err = errors.Join(err, s.Synchronize(context.Background()))
		}
	}
	for _, p := range []*runtime.Pool{m.pool, m.copyPool} {
		if p != nil {
			err = errors.Join(err, p.Close())
		}
	}
	for _, s := range []runtime.Stream{m.stream, m.copyStream} {
		if s != nil {
			err = errors.Join(err, s.Close())
		}
	}
	return err
}

// Close releases the model's device resources and, for a compiled model,
// its file mapping. It waits for runs in flight; later runs fail with
// runtime.ErrClosed. Closing twice is harmless.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	err := errors.Join(m.exe.Close(), m.closeDevice())

	err = errors.Join(err, m.reg.Close())
	if m.compiled != nil {
		err = errors.Join(err, m.compiled.Close())
	}
	return err
}

// Manifest describes the compiled model file the model was loaded from,
// or is nil for a model loaded from ONNX.
func (m *Model) Manifest() *compiled.Manifest {
	if m.compiled == nil {
		return nil
	}
	return m.compiled.Manifest
}

// Device is the device the model runs on.
func (m *Model) Device() runtime.Device { return m.device }

// Inputs describes the values Run needs, in graph order.
func (m *Model) Inputs() []Info { return infos(m.exe.Inputs()) }

// Outputs describes the values Run returns, in order.
func (m *Model) Outputs() []Info { return infos(m.exe.Outputs()) }

func infos(vs []*graph.ValueInfo) []Info {
	out := make([]Info, len(vs))
	for i, v := range vs {
		out[i] = Info{Name: v.Name, Type: v.Type, DimParams: v.DimParams}
	}
	return out
}

// Run executes the model on named input tensors and returns its outputs in
// the order of Outputs. It fails with an error wrapping engine.ErrBadInput
// when an input is missing, unknown or of the wrong type or shape.
func (m *Model) Run(ctx context.Context, inputs map[string]*tensor.Tensor) ([]*tensor.Tensor, error) {
	vals := make(map[string]ops.Value, len(inputs))
	for k, v := range inputs {
		vals[k] = v
	}
	outs, err := m.RunValues(ctx, vals)
	if err != nil {
		return nil, err
	}
	ts := make([]*tensor.Tensor, len(outs))
	for i, v := range outs {
		t, ok := v.(*tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("output %q is a %T, not a tensor: use RunValues: %w", m.exe.Outputs()[i].Name, v, runtime.ErrUnsupported)
		}
		ts[i] = t
	}
	return ts, nil
}

// RunValues is Run for models whose inputs or outputs are sequences or
// optionals: values are *tensor.Tensor, *ops.Sequence or *ops.Optional.
//
// Outputs belong to the caller: one that would share the model's
// read-only weights (an Identity of an initializer, say) is returned as a
// copy, so that writing to it cannot reach the weights and it stays valid
// after Close.
func (m *Model) RunValues(ctx context.Context, inputs map[string]ops.Value) ([]ops.Value, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, fmt.Errorf("model: run after Close: %w", runtime.ErrClosed)
	}
	outs, err := m.exe.Run(ctx, inputs)
	if err != nil {
		return nil, err
	}
	for i, v := range outs {
		if outs[i], err = own(v); err != nil {
			return nil, fmt.Errorf("output %q: %w", m.exe.Outputs()[i].Name, err)
		}
	}
	return outs, nil
}

// own returns v, or a copy of it where it holds read-only tensors.
func own(v ops.Value) (ops.Value, error) {
	switch v := v.(type) {
	case *tensor.Tensor:
		if v.ReadOnly() {
			return v.Clone()
		}
	case *ops.Sequence:
		var c *ops.Sequence
		for i, t := range v.Tensors {
			if !t.ReadOnly() {
				continue
			}
			if c == nil {
				c = &ops.Sequence{DType: v.DType, Tensors: append([]*tensor.Tensor(nil), v.Tensors...)}
			}
			var err error
			if c.Tensors[i], err = t.Clone(); err != nil {
				return nil, err
			}
		}
		if c != nil {
			return c, nil
		}
	case *ops.Optional:
		inner, err := own(v.Value)
		if err != nil {
			return nil, err
		}
		if inner != v.Value {
			return &ops.Optional{Elem: v.Elem, Value: inner}, nil
		}
	}
	return v, nil
}
