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
	}
	return v.dev, nil
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
			if v.constant || slices.Contains(op.ValueInputs, i) {
				ht, err := h.toHost(ctx, v)
				if err != nil {
					return nil, 0, nil, err
				}
				node.Inputs[i].Value = ht
			}
		}
		dp, plan, err := h.reg.PrepareDevice(h.dev, node)
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

func TestSharedModelsOpenCL(t *testing.T) {
	root := sharedModels()
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared models missing at %s", root)
	}
	b, err := clrt.New(clrt.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dev, err := b.Device(0)
	if err != nil {
		if os.Getenv("GOCANN_REQUIRE_OPENCL") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if err := clops.Register(reg); err != nil {
		t.Fatal(err)
	}
	workers := cpu.NewWorkers(2)
	defer workers.Close()
	for _, name := range modelNames {
		t.Run(name, func(t *testing.T) {
			pool, err := runtime.NewPool(dev, runtime.PoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			h := &hetero{dev: dev, s: s, pool: pool, reg: reg, workers: workers}
			dir := filepath.Join(root, name)
			m, err := onnx.LoadModel(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			feeds := map[string]*tensor.Tensor{}
			shapes := map[string][]int64{}
			for i, in := range m.Graph.Inputs {
				if _, isInit := m.Graph.Initializers[in.Name]; isInit {
					continue
				}
				_, x, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
				if err != nil {
					t.Fatal(err)
				}
				feeds[in.Name] = x
				shapes[in.Name] = dims(x.Shape())
			}
			// Fixed input shapes and constant folding: what is left is the
			// model's real work, every shape known.
			if _, err := passes.Optimize(m, passes.Options{Level: 1, Ops: reg, Shapes: shapes}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			outs, onDev, fallbacks, err := h.run(ctx, m, feeds)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d nodes on %s, %d on the CPU (%v)", onDev, dev.Properties().ID(), len(fallbacks), time.Since(start).Round(time.Millisecond))
			if len(fallbacks) > 0 {
				t.Errorf("fell back to the CPU:\n%s", strings.Join(fallbacks, "\n"))
			}
			for i, got := range outs {
				_, want, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
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

func dims(s tensor.Shape) []int64 {
	d := make([]int64, len(s))
	for i, v := range s {
		d[i] = int64(v)
	}
	return d
}
