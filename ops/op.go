package ops

import (
	"context"
	"fmt"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// DomainONNX is the default ONNX operator domain. "" means the same.
const DomainONNX = "ai.onnx"

// Op is one version of one operator: the definition in force from opset
// Since of its domain until the next registered version.
type Op struct {
	Domain string // "" or "ai.onnx" for the standard set
	Name   string
	Since  int
	// Input and output counts allowed; Max < 0 means no upper bound.
	MinInputs, MaxInputs   int
	MinOutputs, MaxOutputs int
	// ValueInputs lists the inputs whose contents Prepare needs (shapes,
	// axes, pads given as tensors). Executors pass those contents in
	// Type.Value whenever they can and prepare again when they change.
	ValueInputs []int
	// Prepare validates the node, infers its outputs and chooses its
	// kernel. It must not keep n.
	Prepare func(n *Node) (*Plan, error)
	// Doc is a one-line description for listings.
	Doc string
}

// Node is one application of an operator: what Prepare sees.
type Node struct {
	Name   string // for errors; may be empty
	Domain string
	OpType string
	Opset  int // the opset version of Domain in force for the model
	Attrs  *Attrs
	// Inputs are the types of the inputs given; an omitted optional input
	// is the zero Type (see Type.Present).
	Inputs     []Type
	NumOutputs int
}

// Input returns input i, or the zero Type when it was omitted or not given.
func (n *Node) Input(i int) Type {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return Type{}
}

// Errorf returns an error wrapping ErrInvalidNode that names the node.
func (n *Node) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", n.label(), fmt.Sprintf(format, args...), ErrInvalidNode)
}

func (n *Node) label() string {
	if n.Name != "" {
		return fmt.Sprintf("%s %q", n.OpType, n.Name)
	}
	return n.OpType
}

// Plan is a prepared node.
type Plan struct {
	// Outputs are the inferred output types, one per output. Dimensions
	// that depend on input data are -1.
	Outputs []Type
	// Kernel runs the node on the CPU when all inputs and outputs are
	// tensors. Exactly one of Kernel and Eval is set.
	Kernel Kernel
	// Eval runs nodes whose values are not all tensors (sequences,
	// optionals) or that need the executor (control flow).
	Eval func(ctx context.Context, env *Env, in []Value) ([]Value, error)
	// Overwrites promises that Kernel writes every element of each output
	// it is given preallocated, so an executor may hand it recycled memory
	// with stale contents instead of zeroed memory. Leave it false for
	// kernels that accumulate into their outputs or write only part.
	Overwrites bool
	// InPlace lists the inputs whose memory output 0 may take over: the
	// kernel stays correct when out[0] is exactly the storage of one of
	// them (same element type and size), because every output element is
	// computed from input elements at the same position only, each read
	// before that position is written (elementwise maps). An executor uses
	// it only when Overwrites is set and no one reads the input afterwards.
	// Prepare lists only inputs of the output's type and shape.
	InPlace []int
	// View says output 0 holds input 0's elements unchanged, in the same
	// order, with the planned (static) shape: Reshape, Flatten, Squeeze,
	// Unsqueeze, Identity. An executor may make the output a reshape of
	// input 0's storage and skip the kernel; the kernel must still work.
	View bool
}

// Kernel computes a node's outputs from its inputs on the CPU. in holds
// host-readable tensors (nil for omitted optional inputs). out[i] is
// preallocated with the planned type when the plan's output i is static;
// otherwise it is nil and the kernel allocates it with env.Output.
type Kernel func(env *Env, in, out []*tensor.Tensor) error

// Env is what a kernel may use while it runs.
type Env struct {
	// Workers is the CPU worker pool for parallel loops.
	Workers *cpu.Workers
	// MaxTensorBytes bounds every output a kernel allocates, so that a
	// model asking for an absurd shape (ConstantOfShape of 10^12 elements)
	// fails cleanly instead of exhausting memory. 0 means DefaultMaxTensorBytes.
	MaxTensorBytes int64
}

// DefaultMaxTensorBytes is the largest tensor an executor allocates unless
// configured otherwise.
const DefaultMaxTensorBytes int64 = 4 << 30

// NewTensor allocates a host tensor within the env's size limit.
func (e *Env) NewTensor(dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error) {
	if err := e.CheckSize(dt, shape); err != nil {
		return nil, err
	}
	return tensor.New(dt, shape)
}

// CheckSize returns an error unless a tensor of this type and shape is
// valid and within the env's size limit.
func (e *Env) CheckSize(dt tensor.DType, shape tensor.Shape) error {
	if err := shape.Validate(); err != nil {
		return err
	}
	limit := DefaultMaxTensorBytes
	if e != nil && e.MaxTensorBytes > 0 {
		limit = e.MaxTensorBytes
	}
	if n := int64(shape.NumElements()) * int64(max(dt.Size(), 1)); n > limit {
		return fmt.Errorf("%s%v needs %d bytes, over the limit of %d: %w", dt, shape, n, limit, runtime.ErrOutOfMemory)
	}
	return nil
}

// Output returns out[i] if it was preallocated, checking it has the given
// type, and otherwise allocates it on the host and stores it in out[i].
func (e *Env) Output(out []*tensor.Tensor, i int, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error) {
	if i >= len(out) {
		return nil, fmt.Errorf("output %d of %d: %w", i, len(out), ErrInvalidNode)
	}
	if t := out[i]; t != nil {
		if t.DType() != dt || !sameShape(t, shape) {
			return nil, fmt.Errorf("output %d: planned %s%v, kernel produced %s%v: %w", i, t.DType(), t.Shape(), dt, shape, ErrInvalidNode)
		}
		return t, nil
	}
	t, err := e.NewTensor(dt, shape)
	if err != nil {
		return nil, fmt.Errorf("output %d: %w", i, err)
	}
	out[i] = t
	return t, nil
}

// ParallelFor runs body over [0, n) on the worker pool, in chunks of at
// least grain iterations; with no pool it runs inline.
func (e *Env) ParallelFor(n, grain int, body func(lo, hi int)) {
	if e == nil || e.Workers == nil {
		if n > 0 {
			body(0, n)
		}
		return
	}
	e.Workers.ParallelFor(n, grain, body)
}

// sameShape compares a tensor's shape without copying it: kernels check
// their preallocated outputs on every launch.
func sameShape(t *tensor.Tensor, shape tensor.Shape) bool {
	if t.Rank() != len(shape) {
		return false
	}
	for i, d := range shape {
		if t.Dim(i) != d {
			return false
		}
	}
	return true
}
