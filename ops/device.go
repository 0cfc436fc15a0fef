package ops

import (
	"context"
	"fmt"
	"slices"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// Device kernels: how a backend package supplies operator kernels for its
// own devices.
//
// An operator's definition (its Op: validation, type and shape inference,
// CPU kernel) is written once. A backend adds, for the operators it can
// run, a DeviceOp: which backend, which operator versions, and a Prepare
// that decides — from the node's attributes and input types, after the
// operator's own Prepare has planned it — whether this device can run the
// node, and returns the kernel. A node the device cannot run (a dtype, an
// attribute value, a rank it has no kernel for) gets an error wrapping
// runtime.ErrUnsupported whose text says why; engines run such nodes on the
// CPU and report the reason (cann run --explain).
//
// The backend's package registers its DeviceOps into a Registry with
// RegisterDevice; nothing outside the backend's packages changes when a
// backend is added.

// DeviceKernel runs a prepared node on a device. It only enqueues work on
// s and returns; it must not synchronize s. in holds the node's inputs as
// tensors on s's device (nil for an omitted optional input), except the
// inputs the operator lists in Op.ValueInputs, which may be host tensors:
// the kernel read their contents at Prepare time (Node.Inputs[i].Value).
// out holds the outputs, allocated on the device with the planned types,
// unless the plan is a View.
type DeviceKernel func(ctx context.Context, s runtime.Stream, in, out []*tensor.Tensor) error

// DevicePlan is a node prepared for a device.
type DevicePlan struct {
	// Kernel runs the node.
	Kernel DeviceKernel
	// View marks operators that only change metadata (Reshape, Flatten,
	// Squeeze, Unsqueeze, Identity): the kernel is given nil outputs and
	// sets each to a view of an input's storage (tensor.Reshape), with no
	// memory allocated and nothing enqueued.
	View bool
}

// DeviceOp is one backend's kernel for some versions of one operator.
type DeviceOp struct {
	Backend string // the runtime backend whose devices run it, e.g. "opencl"
	Domain  string // "" or "ai.onnx" for the standard set
	Name    string
	// Versions are the Since values of the operator versions (Op.Since)
	// the kernel implements. A model whose opset selects another version
	// of the operator does not get this kernel: new semantics must be
	// claimed, never assumed.
	Versions []int
	// Prepare is the capability check: it returns the node's kernel on dev,
	// or an error wrapping runtime.ErrUnsupported that says why not. plan
	// is the operator's own plan for the node (output types), which has
	// static output shapes and a Kernel (not Eval). It must not keep n.
	Prepare func(dev runtime.Device, n *Node, plan *Plan) (*DevicePlan, error)
}

type deviceKey struct{ backend, domain, name string }

// RegisterDevice adds device kernels. Two kernels of one backend for the
// same operator version are an error.
func (r *Registry) RegisterDevice(ops ...*DeviceOp) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.device == nil {
		r.device = map[deviceKey][]*DeviceOp{}
	}
	for _, op := range ops {
		if op == nil || op.Backend == "" || op.Name == "" || op.Prepare == nil || len(op.Versions) == 0 {
			return fmt.Errorf("register device operator %+v: needs a backend, a name, versions and Prepare: %w", op, ErrInvalidNode)
		}
		k := deviceKey{op.Backend, NormalizeDomain(op.Domain), op.Name}
		for _, old := range r.device[k] {
			for _, v := range op.Versions {
				if slices.Contains(old.Versions, v) {
					return fmt.Errorf("register %s kernel for %s version %d: already registered: %w", op.Backend, qualified(op.Domain, op.Name), v, ErrInvalidNode)
				}
			}
		}
		r.device[k] = append(r.device[k], op)
	}
	return nil
}

// LookupDevice returns the backend's kernel for the operator version in
// force at opset, or an error wrapping runtime.ErrUnsupported (ErrUnknownOp
// when the operator itself is unknown).
func (r *Registry) LookupDevice(backend, domain, name string, opset int) (*DeviceOp, error) {
	op, err := r.Lookup(domain, name, opset)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	list := r.device[deviceKey{backend, NormalizeDomain(domain), name}]
	r.mu.RUnlock()
	for _, d := range list {
		if slices.Contains(d.Versions, op.Since) {
			return d, nil
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no %s kernel for %s: %w", backend, qualified(domain, name), runtime.ErrUnsupported)
	}
	return nil, fmt.Errorf("no %s kernel for %s version %d (opset %d): %w", backend, qualified(domain, name), op.Since, opset, runtime.ErrUnsupported)
}

// DeviceOps returns every registered device kernel.
func (r *Registry) DeviceOps() []*DeviceOp {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var all []*DeviceOp
	for _, list := range r.device {
		all = append(all, list...)
	}
	slices.SortFunc(all, func(a, b *DeviceOp) int {
		if c := compareStrings(a.Backend, b.Backend); c != 0 {
			return c
		}
		if c := compareStrings(NormalizeDomain(a.Domain), NormalizeDomain(b.Domain)); c != 0 {
			return c
		}
		if c := compareStrings(a.Name, b.Name); c != 0 {
			return c
		}
		return a.Versions[0] - b.Versions[0]
	})
	return all
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// PrepareDevice prepares n for dev: the operator's own Prepare, then the
// device kernel's capability check. It returns both plans; an error
// wrapping runtime.ErrUnsupported means the node must run elsewhere, and
// says why.
func (r *Registry) PrepareDevice(dev runtime.Device, n *Node) (*DevicePlan, *Plan, error) {
	if dev == nil {
		return nil, nil, fmt.Errorf("prepare device kernel: nil device: %w", runtime.ErrInvalidArgument)
	}
	op, plan, err := r.prepare(n)
	if err != nil {
		return nil, nil, err
	}
	backend := dev.Properties().Backend
	if plan.Eval != nil {
		return nil, plan, fmt.Errorf("%s: runs on the host (not a tensor kernel): %w", n.label(), runtime.ErrUnsupported)
	}
	for i, t := range plan.Outputs {
		if t.Kind != KindTensor || !t.Static() {
			return nil, plan, fmt.Errorf("%s: output %d is %s, data-dependent: %w", n.label(), i, t, runtime.ErrUnsupported)
		}
		if t.DType == tensor.String {
			return nil, plan, fmt.Errorf("%s: output %d is a string tensor: %w", n.label(), i, runtime.ErrUnsupported)
		}
	}
	dop, err := r.LookupDevice(backend, n.Domain, n.OpType, n.Opset)
	if err != nil {
		return nil, plan, fmt.Errorf("%s: %w", n.label(), err)
	}
	if !slices.Contains(dop.Versions, op.Since) {
		return nil, plan, fmt.Errorf("%s: no %s kernel for version %d: %w", n.label(), backend, op.Since, runtime.ErrUnsupported)
	}
	dp, err := dop.Prepare(dev, n, plan)
	if err != nil {
		return nil, plan, fmt.Errorf("%s on %s: %w", n.label(), dev.Properties().ID(), err)
	}
	if dp == nil || dp.Kernel == nil {
		return nil, plan, fmt.Errorf("%s on %s: device operator returned no kernel: %w", n.label(), dev.Properties().ID(), runtime.ErrUnsupported)
	}
	return dp, plan, nil
}

// Run allocates the outputs of a device plan from alloc (unless it is a
// View) and enqueues its kernel on s. The outputs are ready once s is
// synchronized; on error nothing it allocated is kept.
func (p *DevicePlan) Run(ctx context.Context, s runtime.Stream, alloc tensor.Allocator, plan *Plan, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if p == nil || plan == nil || s == nil || alloc == nil {
		return nil, fmt.Errorf("run device plan: nil plan, stream or allocator: %w", runtime.ErrInvalidArgument)
	}
	out := make([]*tensor.Tensor, len(plan.Outputs))
	if !p.View {
		for i, t := range plan.Outputs {
			o, err := tensor.NewOn(alloc, t.DType, t.Shape)
			if err != nil {
				freeAll(out)
				return nil, fmt.Errorf("output %d: %w", i, err)
			}
			out[i] = o
		}
	}
	if err := p.Kernel(ctx, s, in, out); err != nil {
		if !p.View {
			freeAll(out)
		}
		return nil, err
	}
	for i, o := range out {
		if o == nil {
			return nil, fmt.Errorf("device kernel left output %d unset: %w", i, runtime.ErrInvalidArgument)
		}
	}
	return out, nil
}
