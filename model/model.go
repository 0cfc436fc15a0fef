// Package model is GoCANN's model API: load an ONNX model, inspect its
// inputs and outputs, and run it with tensors.
//
//	m, err := model.Load("model.onnx", model.WithThreads(2))
//	defer m.Close()
//	outs, err := m.Run(ctx, map[string]*tensor.Tensor{"input": x})
//
// A loaded model is safe for concurrent use by many goroutines; each Run
// honours its context's cancellation between operators. A run whose
// context carries an engine.Profiler (engine.WithProfiler) records every
// kernel launch.
package model

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
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
	shapes         map[string][]int64
}

// WithDevice picks the device by id ("cpu", "cpu:0"); the default is "cpu".
func WithDevice(id string) Option { return func(o *options) { o.device = id } }

// WithThreads sets the CPU worker threads (0: one per core).
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithOps supplies the operator registry, for models that use custom
// operators: start from standard.NewRegistry and register yours.
func WithOps(r *ops.Registry) Option { return func(o *options) { o.ops = r } }

// WithMaxTensorBytes bounds every tensor the file declares and every
// tensor a run allocates (default 4 GiB), so that a corrupt or hostile
// model fails with an error instead of exhausting memory.
func WithMaxTensorBytes(n int64) Option { return func(o *options) { o.maxTensorBytes = n } }

// WithOptLevel sets the graph optimization level (see package passes):
// 0 none, 1 basic (constant folding, dead code, Conv+BatchNormalization…),
// 2 extended (fused operators), 3 layout selection. The default is 3.
func WithOptLevel(n int) Option { return func(o *options) { o.optLevel = n } }

// WithShapes fixes the dimensions of inputs, by name (symbolic ones such as
// the batch size included), so that the optimizer can fold what depends on
// them. The model then accepts only inputs of these shapes.
func WithShapes(shapes map[string][]int64) Option {
	return func(o *options) { o.shapes = shapes }
}

// Model is a loaded model, ready to run.
type Model struct {
	exe    *engine.Executable
	reg    *runtime.Registry
	device runtime.Device
	report *passes.Report
}

// Info describes one input or output.
type Info struct {
	Name string
	Type ops.Type // Shape dims are -1 where symbolic
	// DimParams names the symbolic dims ("batch"), parallel to Type.Shape.
	DimParams []string
}

// Load reads an ONNX model file and prepares it to run.
func Load(path string, opts ...Option) (*Model, error) {
	o := collect(opts)
	g, err := onnx.LoadModel(path, onnx.WithMaxTensorBytes(o.maxTensorBytes))
	if err != nil {
		return nil, err
	}
	return build(g, o)
}

// LoadBytes loads a serialized ONNX model. External data is not allowed
// (there is no directory to resolve it in); use Load for such models.
func LoadBytes(b []byte, opts ...Option) (*Model, error) {
	return LoadReader(bytes.NewReader(b), opts...)
}

// LoadReader loads a serialized ONNX model from r.
func LoadReader(r io.Reader, opts ...Option) (*Model, error) {
	o := collect(opts)
	g, err := onnx.ReadModel(r, onnx.WithMaxTensorBytes(o.maxTensorBytes))
	if err != nil {
		return nil, err
	}
	return build(g, o)
}

func collect(opts []Option) *options {
	o := &options{device: "cpu", optLevel: 3}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o
}

func build(g *graph.Model, o *options) (*Model, error) {
	reg, err := backends.Registry(backends.Options{Threads: o.threads})
	if err != nil {
		return nil, err
	}
	dev, err := reg.Open(o.device)
	if err != nil {
		reg.Close()
		return nil, err
	}
	cd, ok := dev.(*cpu.Device)
	if !ok {
		reg.Close()
		return nil, fmt.Errorf("device %s: only the CPU runs models so far: %w", dev.Properties().ID(), runtime.ErrUnsupported)
	}
	opsReg := o.ops
	if opsReg == nil {
		if opsReg, err = standard.NewRegistry(); err != nil {
			reg.Close()
			return nil, err
		}
	}
	report, err := passes.Optimize(g, passes.Options{Level: o.optLevel, Ops: opsReg, Shapes: o.shapes})
	if err != nil {
		reg.Close()
		return nil, fmt.Errorf("optimize: %w", err)
	}
	exe, err := engine.Compile(g, engine.Options{Ops: opsReg, Workers: cd.Backend().Workers(), MaxTensorBytes: o.maxTensorBytes,
		Device: dev.Properties().ID()})
	if err != nil {
		reg.Close()
		return nil, err
	}
	return &Model{exe: exe, reg: reg, device: dev, report: report}, nil
}

// Report says what the optimization passes did to the model when it was
// loaded (String() is what `cann run --explain` prints).
func (m *Model) Report() *passes.Report { return m.report }

// Close releases the model's device resources.
func (m *Model) Close() error { return m.reg.Close() }

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

// MemoryPlan returns how runs on inputs of these types and shapes use
// memory: the arena of intermediates, what is allocated per run, how many
// kernels launch (see engine.MemoryStats). It plans without running; the
// plan is kept for the runs to come.
func (m *Model) MemoryPlan(inputs map[string]ops.Value) (engine.MemoryStats, error) {
	return m.exe.MemoryPlan(inputs)
}

// RunValues is Run for models whose inputs or outputs are sequences or
// optionals: values are *tensor.Tensor, *ops.Sequence or *ops.Optional.
func (m *Model) RunValues(ctx context.Context, inputs map[string]ops.Value) ([]ops.Value, error) {
	return m.exe.Run(ctx, inputs)
}
