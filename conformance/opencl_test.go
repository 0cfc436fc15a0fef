package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	clops "github.com/gocann/gocann/ops/opencl"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	clrt "github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/tensor"
)

// The shared models through the OpenCL kernels, node by node: each node
// runs on the OpenCL device when its kernel accepts it, and on the CPU
// otherwise (with copies only where a value changes sides). This is not
// the engine's heterogeneous executor (that belongs in engine), only a
// test that every kernel the models use composes into the right answer,
// and a count of what still falls back.

type hetero struct {
	dev     *clrt.Device
	s       runtime.Stream
	pool    *runtime.Pool
	reg     *ops.Registry
	workers *cpu.Workers
	// plans keeps each node's preparation between runs when it depends on
	// nothing but types and constants (the inputs' shapes are fixed).
	plans map[*graph.Node]*prepared
	owned []*tensor.Tensor // device tensors of this run, freed at its end
}

type prepared struct {
	dp   *ops.DevicePlan
	plan *ops.Plan
	err  error
}

// value is where a value lives: on the host, the device, or both.
type value struct {
	host, dev *tensor.Tensor
	constant  bool // an initializer: its contents are known when preparing
}

func (h *hetero) toHost(ctx context.Context, v *value) (*tensor.Tensor, error) {
	if v.host == nil {
		t, err := v.dev.ToHost(ctx, h.s)
		if err != nil {
			return nil, err
		}
		v.host = t
	}
	return v.host, nil
}

func (h *hetero) toDevice(ctx context.Context, v *value) (*tensor.Tensor, error) {
	if v.dev == nil {
		t, err := v.host.CopyTo(ctx, h.s, h.pool)
		if err != nil {
			return nil, err
		}
		v.dev = t
		h.owned = append(h.owned, t)
	}
	return v.dev, nil
}

// release waits for the run's work and gives its device memory back to
// the pool.
func (h *hetero) release(ctx context.Context) error {
	err := h.s.Synchronize(ctx)
	for _, t := range h.owned {
		t.Free()
	}
	h.owned = h.owned[:0]
	return err
}

// run executes the graph and returns its outputs on the host, with the
// nodes that fell back and why.
func (h *hetero) run(ctx context.Context, m *graph.Model, feeds map[string]*tensor.Tensor) ([]*tensor.Tensor, int, []string, error) {
	g := m.Graph
	vals := map[string]*value{}
	for name, t := range g.Initializers {
		vals[name] = &value{host: t, constant: true}
	}
	for name, t := range feeds {
		vals[name] = &value{host: t}
	}
	var fallbacks []string
	onDevice := 0
	for _, nd := range g.Nodes {
		node := &ops.Node{Name: nd.Name, Domain: nd.Domain, OpType: nd.OpType, Opset: m.Opset(nd.Domain), Attrs: ops.NewAttrs(nd.Attrs), NumOutputs: len(nd.Outputs)}
		op, err := h.reg.Lookup(nd.Domain, nd.OpType, node.Opset)
		if err != nil {
			return nil, 0, nil, err
		}
		ins := make([]*value, len(nd.Inputs))
		node.Inputs = make([]ops.Type, len(nd.Inputs))
		static := true
		for i, name := range nd.Inputs {
			if name == "" {
				continue
			}
			v, ok := vals[name]
			if !ok {
				return nil, 0, nil, fmt.Errorf("node %s: input %q not computed", nd, name)
			}
			ins[i] = v
			t := v.host
			if t == nil {
				t = v.dev
			}
			node.Inputs[i] = ops.TensorType(t.DType(), t.Shape())
			if slices.Contains(op.ValueInputs, i) && !v.constant {
				static = false
			}
			if v.constant || slices.Contains(op.ValueInputs, i) {
				ht, err := h.toHost(ctx, v)
				if err != nil {
					return nil, 0, nil, err
				}
				node.Inputs[i].Value = ht
			}
		}
		p := h.plans[nd]
		if p == nil {
			p = &prepared{}
			p.dp, p.plan, p.err = h.reg.PrepareDevice(h.dev, node)
			if static {
				if h.plans == nil {
					h.plans = map[*graph.Node]*prepared{}
				}
				h.plans[nd] = p
			}
		}
		dp, plan, err := p.dp, p.plan, p.err
		var outs []*tensor.Tensor
		switch {
		case err == nil:
			in := make([]*tensor.Tensor, len(ins))
			for i, v := range ins {
				if v == nil {
					continue
				}
				if slices.Contains(op.ValueInputs, i) {
					in[i] = v.host
				} else if in[i], err = h.toDevice(ctx, v); err != nil {
					return nil, 0, nil, err
				}
			}
			if outs, err = dp.Run(ctx, h.s, h.pool, plan, in); err != nil {
				return nil, 0, nil, fmt.Errorf("node %s on the device: %w", nd, err)
			}
			onDevice++
			if !dp.View {
				h.owned = append(h.owned, outs...)
			}
			for i, name := range nd.Outputs {
				if name != "" {
					vals[name] = &value{dev: outs[i]}
				}
			}
		case errors.Is(err, runtime.ErrUnsupported):
			fallbacks = append(fallbacks, fmt.Sprintf("%s: %v", nd, err))
			if plan == nil || plan.Kernel == nil {
				return nil, 0, nil, fmt.Errorf("node %s: no CPU kernel either: %w", nd, err)
			}
			in := make([]*tensor.Tensor, len(ins))
			for i, v := range ins {
				if v != nil {
					if in[i], err = h.toHost(ctx, v); err != nil {
						return nil, 0, nil, err
					}
				}
			}
			outs = make([]*tensor.Tensor, len(plan.Outputs))
			for i, ot := range plan.Outputs {
				if ot.Static() {
					if outs[i], err = tensor.New(ot.DType, ot.Shape); err != nil {
						return nil, 0, nil, err
					}
				}
			}
			if err := plan.Kernel(&ops.Env{Workers: h.workers}, in, outs); err != nil {
				return nil, 0, nil, fmt.Errorf("node %s on the CPU: %w", nd, err)
			}
			for i, name := range nd.Outputs {
				if name != "" {
					vals[name] = &value{host: outs[i]}
				}
			}
		default:
			return nil, 0, nil, fmt.Errorf("node %s: %w", nd, err)
		}
	}
	var res []*tensor.Tensor
	for _, o := range g.Outputs {
		t, err := h.toHost(ctx, vals[o.Name])
		if err != nil {
			return nil, 0, nil, err
		}
		res = append(res, t)
	}
	return res, onDevice, fallbacks, nil
}

// openclEnv opens the first OpenCL device with a private program cache
// and a registry holding the OpenCL kernels; it skips without a device.
func openclEnv(tb testing.TB) (*clrt.Device, runtime.Stream, *ops.Registry, *cpu.Workers) {
	tb.Helper()
	root := sharedModels()
	if _, err := os.Stat(root); err != nil {
		tb.Skipf("shared models missing at %s", root)
	}
	b, err := clrt.New(clrt.Options{CacheDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	dev, err := b.Device(0)
	if err != nil {
		if os.Getenv("GOCANN_REQUIRE_OPENCL") != "" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	s, err := dev.NewStream()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	reg, err := standard.NewRegistry()
	if err != nil {
		tb.Fatal(err)
	}
	if err := clops.Register(reg); err != nil {
		tb.Fatal(err)
	}
	workers := cpu.NewWorkers(2)
	tb.Cleanup(workers.Close)
	return dev, s, reg, workers
}

// loadOptimized loads a shared model with its input shapes fixed to those
// of its test data and the basic passes applied (constant folding leaves
// the model's real work, every shape known), and its test inputs.
func loadOptimized(tb testing.TB, reg *ops.Registry, name string) (*graph.Model, map[string]*tensor.Tensor) {
	tb.Helper()
	dir := filepath.Join(sharedModels(), name)
	m, err := onnx.LoadModel(filepath.Join(dir, "model.onnx"))
	if err != nil {
		tb.Fatal(err)
	}
	feeds := map[string]*tensor.Tensor{}
	shapes := map[string][]int64{}
	for i, in := range m.Graph.Inputs {
		if _, isInit := m.Graph.Initializers[in.Name]; isInit {
			continue
		}
		_, x, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			tb.Fatal(err)
		}
		feeds[in.Name] = x
		shapes[in.Name] = dims(x.Shape())
	}
	if _, err := passes.Optimize(m, passes.Options{Level: 1, Ops: reg, Shapes: shapes}); err != nil {
		tb.Fatal(err)
	}
	return m, feeds
}

func TestSharedModelsOpenCL(t *testing.T) {
	dev, s, reg, workers := openclEnv(t)
	for _, name := range modelNames {
		t.Run(name, func(t *testing.T) {
			pool, err := runtime.NewPool(dev, runtime.PoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			h := &hetero{dev: dev, s: s, pool: pool, reg: reg, workers: workers}
			m, feeds := loadOptimized(t, reg, name)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			outs, onDev, fallbacks, err := h.run(ctx, m, feeds)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.release(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d nodes on %s, %d on the CPU (%v, kernels compiled included)", onDev, dev.Properties().ID(), len(fallbacks), time.Since(start).Round(time.Millisecond))
			if len(fallbacks) > 0 {
				t.Errorf("fell back to the CPU:\n%s", strings.Join(fallbacks, "\n"))
			}
			for i, got := range outs {
				_, want, err := onnx.ReadTensorFile(filepath.Join(sharedModels(), name, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := Compare(got, want, modelTolerance); err != nil {
					t.Errorf("output %d: %v", i, err)
				}
			}
		})
	}
}

// BenchmarkSharedModelsOpenCL times one inference of each shared model on
// the OpenCL device, kernels compiled and nodes prepared beforehand; the
// outputs are read back to the host as in a real run.
func BenchmarkSharedModelsOpenCL(b *testing.B) {
	dev, s, reg, workers := openclEnv(b)
	for _, name := range modelNames {
		b.Run(name, func(b *testing.B) {
			pool, err := runtime.NewPool(dev, runtime.PoolOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			h := &hetero{dev: dev, s: s, pool: pool, reg: reg, workers: workers}
			m, feeds := loadOptimized(b, reg, name)
			ctx := context.Background()
			// One run first: kernels compile and nodes prepare on first use.
			if _, _, _, err := h.run(ctx, m, feeds); err != nil {
				b.Fatal(err)
			}
			if err := h.release(ctx); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, _, err := h.run(ctx, m, feeds); err != nil {
					b.Fatal(err)
				}
				if err := h.release(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func dims(s tensor.Shape) []int64 {
	d := make([]int64, len(s))
	for i, v := range s {
		d[i] = int64(v)
	}
	return d
}
