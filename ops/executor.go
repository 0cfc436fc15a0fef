package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// Executor is a prepared operator, the eager API's first phase: validated
// once, run many times.
type Executor struct {
	reg  *Registry
	op   *Op
	node Node
	plan *Plan
}

// Prepare looks up the node's operator, checks its arity and prepares it.
func (r *Registry) Prepare(n *Node) (*Executor, error) {
	op, plan, err := r.prepare(n)
	if err != nil {
		return nil, err
	}
	node := *n
	node.Inputs = append([]Type(nil), n.Inputs...)
	return &Executor{reg: r, op: op, node: node, plan: plan}, nil
}

func (r *Registry) prepare(n *Node) (*Op, *Plan, error) {
	op, err := r.Lookup(n.Domain, n.OpType, n.Opset)
	if err != nil {
		return nil, nil, err
	}
	plan, err := PrepareOp(op, n)
	return op, plan, err
}

// PrepareOp prepares n with an operator version already looked up,
// checking arity and the plan's shape; executors that resolved operators
// ahead of time call it on every new input signature.
func PrepareOp(op *Op, n *Node) (*Plan, error) {
	if n.Attrs == nil {
		n.Attrs = NewAttrs(nil)
	}
	if err := checkArity(n, op); err != nil {
		return nil, err
	}
	plan, err := op.Prepare(n)
	if err != nil {
		if errors.Is(err, ErrInvalidNode) || errors.Is(err, runtime.ErrUnsupported) {
			return nil, fmt.Errorf("%s: %w", n.label(), err)
		}
		return nil, fmt.Errorf("%s: %w: %w", n.label(), ErrInvalidNode, err)
	}
	if len(plan.Outputs) != n.NumOutputs {
		return nil, fmt.Errorf("%s: operator planned %d outputs, node has %d: %w", n.label(), len(plan.Outputs), n.NumOutputs, ErrInvalidNode)
	}
	if (plan.Kernel == nil) == (plan.Eval == nil) {
		return nil, fmt.Errorf("%s: plan must set exactly one of Kernel and Eval: %w", n.label(), runtime.ErrUnsupported)
	}
	return plan, nil
}

func checkArity(n *Node, op *Op) error {
	if len(n.Inputs) < op.MinInputs || (op.MaxInputs >= 0 && len(n.Inputs) > op.MaxInputs) {
		return n.Errorf("%d inputs given, operator takes %s", len(n.Inputs), arity(op.MinInputs, op.MaxInputs))
	}
	if n.NumOutputs < op.MinOutputs || (op.MaxOutputs >= 0 && n.NumOutputs > op.MaxOutputs) {
		return n.Errorf("%d outputs requested, operator gives %s", n.NumOutputs, arity(op.MinOutputs, op.MaxOutputs))
	}
	return nil
}

func arity(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d", lo)
	case lo == hi:
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// Op returns the operator version the executor runs.
func (e *Executor) Op() *Op { return e.op }

// Outputs returns the planned output types.
func (e *Executor) Outputs() []Type { return e.plan.Outputs }

// Run executes the operator on stream s, which must belong to a CPU
// device until other backends bring kernels. Outputs of a static planned
// shape are allocated from alloc (nil: host memory) and the kernel is
// enqueued; the outputs are ready once s is synchronized. Operators whose
// output shapes depend on the data synchronize s before returning.
//
// Inputs must match the prepared types; when their shapes or the contents
// of value inputs differ, Run prepares again for them.
func (e *Executor) Run(ctx context.Context, s runtime.Stream, alloc tensor.Allocator, in ...Value) ([]Value, error) {
	if s == nil {
		return nil, fmt.Errorf("%s: nil stream: %w", e.node.label(), runtime.ErrInvalidArgument)
	}
	plan, err := e.planFor(in)
	if err != nil {
		return nil, err
	}
	if plan.Eval != nil {
		return e.runEval(ctx, s, plan, in)
	}
	tin := make([]*tensor.Tensor, len(in))
	for i, v := range in {
		if v == nil {
			continue
		}
		t, ok := v.(*tensor.Tensor)
		if !ok {
			return nil, e.node.Errorf("input %d is %T, want a tensor", i, v)
		}
		if _, host := t.HostBytes(); !host && t.DType() != tensor.String {
			return nil, fmt.Errorf("%s: input %d is on %v and not host-readable: %w", e.node.label(), i, t.Device().Properties().ID(), runtime.ErrUnsupported)
		}
		tin[i] = t
	}
	out := make([]*tensor.Tensor, len(plan.Outputs))
	dynamic := false
	for i, ot := range plan.Outputs {
		if ot.Kind != KindTensor || !ot.Static() || ot.DType == tensor.String || alloc == nil {
			dynamic = dynamic || !ot.Static()
			if ot.Static() && ot.Kind == KindTensor {
				t, err := tensor.New(ot.DType, ot.Shape)
				if err != nil {
					return nil, fmt.Errorf("%s: output %d: %w", e.node.label(), i, err)
				}
				out[i] = t
			}
			continue
		}
		t, err := tensor.NewOn(alloc, ot.DType, ot.Shape)
		if err != nil {
			freeAll(out)
			return nil, fmt.Errorf("%s: output %d: %w", e.node.label(), i, err)
		}
		out[i] = t
	}
	name := e.node.OpType
	kernel := plan.Kernel
	err = s.Launch(cpu.Func{Name: name, Fn: func(x *cpu.Exec) error {
		return kernel(&Env{Workers: x.Workers()}, tin, out)
	}})
	if err != nil {
		freeAll(out)
		return nil, fmt.Errorf("%s: %w", e.node.label(), err)
	}
	if dynamic {
		if err := s.Synchronize(ctx); err != nil {
			return nil, err
		}
	}
	vals := make([]Value, len(out))
	for i, t := range out {
		vals[i] = t
	}
	return vals, nil
}

func (e *Executor) runEval(ctx context.Context, s runtime.Stream, plan *Plan, in []Value) ([]Value, error) {
	var res []Value
	err := s.HostFunc(func() error {
		var err error
		res, err = plan.Eval(ctx, &Env{}, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.Synchronize(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", e.node.label(), err)
	}
	return res, nil
}

// planFor returns the plan valid for these inputs, preparing anew when they
// differ from the prepared types.
func (e *Executor) planFor(in []Value) (*Plan, error) {
	if len(in) != len(e.node.Inputs) {
		return nil, e.node.Errorf("%d inputs given, prepared for %d", len(in), len(e.node.Inputs))
	}
	same := true
	types := make([]Type, len(in))
	for i, v := range in {
		t, err := TypeOfValue(v)
		if err != nil {
			return nil, e.node.Errorf("input %d: %v", i, err)
		}
		want := e.node.Inputs[i]
		if t.Present() != want.Present() || (t.Present() && t.DType != want.DType) || t.Kind != want.Kind {
			return nil, e.node.Errorf("input %d is %s, prepared for %s", i, t, want)
		}
		if t.Kind == KindTensor && (want.UnknownRank || !t.Shape.Equal(want.Shape)) {
			same = false
		}
		types[i] = t
	}
	for _, i := range e.op.ValueInputs {
		if i < len(in) && types[i].Present() {
			if want := e.node.Inputs[i].Value; want == nil || !sameContents(want, types[i].Value) {
				same = false
			}
		} else if i < len(in) {
			types[i].Value = nil
		}
	}
	if same {
		return e.plan, nil
	}
	// Only value inputs keep their contents: other kernels must not depend on them.
	for i := range types {
		if !contains(e.op.ValueInputs, i) {
			types[i].Value = nil
		}
	}
	n := e.node
	n.Inputs = types
	_, plan, err := e.reg.prepare(&n)
	return plan, err
}

// TypeOfValue returns the type of a run-time value, contents included for tensors.
func TypeOfValue(v Value) (Type, error) {
	switch v := v.(type) {
	case nil:
		return Type{}, nil
	case *tensor.Tensor:
		if v == nil {
			return Type{}, nil
		}
		return TypeOf(v), nil
	case *Sequence:
		if v == nil {
			return Type{}, nil
		}
		return Type{Kind: KindSequence, DType: v.DType, Elem: &Type{Kind: KindTensor, DType: v.DType, UnknownRank: true}}, nil
	case *Optional:
		if v == nil {
			return Type{}, nil
		}
		return Type{Kind: KindOptional, DType: v.Elem.DType, Elem: &v.Elem}, nil
	}
	return Type{}, fmt.Errorf("unsupported value type %T", v)
}

func sameContents(a, b *tensor.Tensor) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.DType() != b.DType() || !a.Shape().Equal(b.Shape()) {
		return false
	}
	if a.DType() == tensor.String {
		sa, _ := a.Strings()
		sb, _ := b.Strings()
		for i := range sa {
			if sa[i] != sb[i] {
				return false
			}
		}
		return true
	}
	ba, okA := a.HostBytes()
	bb, okB := b.HostBytes()
	return okA && okB && string(ba) == string(bb)
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

func freeAll(ts []*tensor.Tensor) {
	for _, t := range ts {
		if t != nil {
			t.Free()
		}
	}
}
