package ops_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// The device-kernel contract, exercised with the CPU backend playing an
// accelerator: its "device kernels" are cpu.Funcs launched on a stream,
// and its buffers are reached only through the stream, as a GPU's would be.

func negOp(since int) *ops.Op {
	return &ops.Op{Name: "Neg", Since: since, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
		Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return &ops.Plan{Outputs: []ops.Type{ops.TensorType(n.Inputs[0].DType, n.Inputs[0].Shape)},
				Kernel: func(*ops.Env, []*tensor.Tensor, []*tensor.Tensor) error { return nil }}, nil
		}}
}

func flattenOp() *ops.Op {
	return &ops.Op{Name: "Flatten", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
		Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return &ops.Plan{Outputs: []ops.Type{ops.TensorType(n.Inputs[0].DType, tensor.Shape{n.Inputs[0].Shape.NumElements()})},
				Kernel: func(*ops.Env, []*tensor.Tensor, []*tensor.Tensor) error { return nil }}, nil
		}}
}

// cpuNeg is a "device kernel" for the cpu backend, float32 only.
var cpuNeg = &ops.DeviceOp{Backend: "cpu", Name: "Neg", Versions: []int{6},
	Prepare: func(dev runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
		if n.Inputs[0].DType != tensor.Float32 {
			return nil, errors.New("only float32: " + runtime.ErrUnsupported.Error())
		}
		return &ops.DevicePlan{Kernel: func(ctx context.Context, s runtime.Stream, in, out []*tensor.Tensor) error {
			return s.Launch(cpu.Func{Name: "neg", Fn: func(x *cpu.Exec) error {
				a, err := x.Bytes(in[0].Buffer())
				if err != nil {
					return err
				}
				y, err := x.Bytes(out[0].Buffer())
				if err != nil {
					return err
				}
				for i := 3; i < len(a); i += 4 {
					y[i-3], y[i-2], y[i-1], y[i] = a[i-3], a[i-2], a[i-1], a[i]^0x80
				}
				return nil
			}})
		}}, nil
	}}

var cpuFlatten = &ops.DeviceOp{Backend: "cpu", Name: "Flatten", Versions: []int{1},
	Prepare: func(dev runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
		shape := plan.Outputs[0].Shape
		return &ops.DevicePlan{View: true, Kernel: func(ctx context.Context, s runtime.Stream, in, out []*tensor.Tensor) error {
			v, err := in[0].Reshape(shape)
			out[0] = v
			return err
		}}, nil
	}}

func TestDeviceKernels(t *testing.T) {
	reg := ops.NewRegistry()
	if err := reg.Register(negOp(6), negOp(13), flattenOp()); err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterDevice(cpuNeg, cpuFlatten); err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterDevice(&ops.DeviceOp{Backend: "cpu", Name: "Neg", Versions: []int{13, 6}, Prepare: cpuNeg.Prepare}); err == nil {
		t.Errorf("a second kernel for Neg-6 was accepted")
	}
	if err := reg.RegisterDevice(&ops.DeviceOp{Backend: "cpu", Name: "Neg"}); err == nil {
		t.Errorf("a device op without versions or Prepare was accepted")
	}
	if got := reg.DeviceOps(); len(got) != 2 || got[0].Name != "Flatten" {
		t.Errorf("DeviceOps = %v", got)
	}

	// The version in force decides: opset 12 selects Neg-6 (claimed),
	// opset 13 selects Neg-13 (not claimed: new semantics are never assumed).
	if d, err := reg.LookupDevice("cpu", "", "Neg", 12); err != nil || d != cpuNeg {
		t.Errorf("LookupDevice(opset 12) = %v, %v", d, err)
	}
	for _, c := range []struct {
		backend, name string
		opset         int
		want          error
	}{
		{"cpu", "Neg", 13, runtime.ErrUnsupported},
		{"opencl", "Neg", 12, runtime.ErrUnsupported},
		{"cpu", "Abs", 12, ops.ErrUnknownOp},
		{"cpu", "Neg", 5, ops.ErrUnknownOp},
	} {
		if _, err := reg.LookupDevice(c.backend, "", c.name, c.opset); !errors.Is(err, c.want) {
			t.Errorf("LookupDevice(%s, %s, %d) = %v, want %v", c.backend, c.name, c.opset, err, c.want)
		}
	}

	b, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dev := b.Device()
	s, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	x, _ := tensor.FromSlice([]float32{1, -2, 3, -4, 5, -6}, 2, 3)
	dx, err := x.CopyTo(ctx, s, dev)
	if err != nil {
		t.Fatal(err)
	}
	node := func(op string, opset int, dt tensor.DType) *ops.Node {
		return &ops.Node{OpType: op, Opset: opset, Inputs: []ops.Type{ops.TensorType(dt, tensor.Shape{2, 3})}, NumOutputs: 1}
	}

	dp, plan, err := reg.PrepareDevice(dev, node("Neg", 12, tensor.Float32))
	if err != nil {
		t.Fatal(err)
	}
	out, err := dp.Run(ctx, s, dev, plan, []*tensor.Tensor{dx})
	if err != nil {
		t.Fatal(err)
	}
	host, err := out[0].ToHost(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tensor.ToSlice[float32](host); !slices.Equal(got, []float32{-1, 2, -3, 4, -5, 6}) || out[0].Device() != runtime.Device(dev) {
		t.Errorf("Neg on the device = %v", got)
	}

	// A view allocates nothing and shares the input's storage.
	dp, plan, err = reg.PrepareDevice(dev, node("Flatten", 13, tensor.Float32))
	if err != nil {
		t.Fatal(err)
	}
	out, err = dp.Run(ctx, s, dev, plan, []*tensor.Tensor{dx})
	if err != nil || !dp.View || !out[0].SameStorage(dx) || !out[0].Shape().Equal(tensor.Shape{6}) {
		t.Errorf("Flatten view: %v, %v", out, err)
	}

	// The capability check's refusal names the node and says why.
	if _, _, err := reg.PrepareDevice(dev, node("Neg", 12, tensor.Int32)); err == nil || !strings.Contains(err.Error(), "only float32") || !strings.Contains(err.Error(), "cpu:0") {
		t.Errorf("PrepareDevice(int32) = %v", err)
	}
	if _, _, err := reg.PrepareDevice(dev, node("Neg", 13, tensor.Float32)); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("PrepareDevice(Neg-13) = %v, want ErrUnsupported", err)
	}
	if _, _, err := reg.PrepareDevice(nil, node("Neg", 12, tensor.Float32)); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("PrepareDevice(nil device) = %v", err)
	}
}
