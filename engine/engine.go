// Package engine turns a graph into something that runs: every node bound
// to its operator version, every value to a slot, subgraphs compiled
// alongside. For each signature of the main graph's inputs (element types
// and shapes) it builds an execution plan: a flat list of kernel launches
// with prepared operator plans and buffers bound in a static arena, planned
// by value lifetimes (see plan.go, arena.go). Control flow and values whose
// shapes depend on data fall back, node by node, to the general path that
// prepares nodes as it meets them. With Options.Accelerator the plan also
// places each node on that device or, when it cannot run there, on the
// CPU, and copies values only where they change sides (see place.go).
package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// ErrBadInput marks inputs that do not fit the model: missing, unknown,
// or of the wrong kind, element type or shape.
var ErrBadInput = errors.New("bad input")

// Options configure compilation.
type Options struct {
	// Ops resolves operators; it must hold the standard set and any custom
	// operators the model uses.
	Ops *ops.Registry
	// Workers runs kernels' parallel loops; nil runs them on the calling goroutine.
	Workers *cpu.Workers
	// MaxTensorBytes bounds every value a run allocates (0: ops.DefaultMaxTensorBytes).
	MaxTensorBytes int64
	// Device names the CPU device kernels run on, for profiles and
	// placements ("cpu:0" when empty).
	Device string

	// Accelerator, when set, is a non-CPU device the nodes are placed on:
	// each node runs there when Ops has a kernel for it on that device that
	// accepts the node (ops.Registry.PrepareDevice), and on the CPU
	// otherwise, a fallback recorded with its reason (Executable.Placement).
	// Values move between host and device only where a value changes
	// sides. Runs on the accelerator are serialized on Stream.
	Accelerator runtime.Device
	// Stream is the Accelerator's stream runs enqueue on; Pool allocates
	// its device values. Both are required with an Accelerator and belong
	// to the caller, who closes them after the Executable.
	Stream runtime.Stream
	Pool   *runtime.Pool
	// CopyStream and CopyPool, optional (both or neither, on the
	// Accelerator), carry a run's copies to the device of values the host
	// computes (inputs, CPU fallbacks' results), so that they overlap with
	// the kernels queued on Stream: the kernel that reads a copy waits for
	// it through an event, not the whole queue. Memory from CopyPool is
	// held until the run ends, never reused within it, so a copy can never
	// overwrite memory that a kernel queued earlier has yet to read.
	CopyStream runtime.Stream
	CopyPool   *runtime.Pool
	// Strict makes any fallback to the CPU an error wrapping ErrFallback:
	// at Compile for control flow, when a signature is planned (first Run,
	// Placement, MemoryPlan) for the rest.
	Strict bool
}

// Executable is a compiled model. It is safe for concurrent use: each Run
// has its own frame of values and arena, and the shared caches are locked.
type Executable struct {
	model *graph.Model
	opts  Options
	main  *program
	env   ops.Env // what kernels see; never modified after Compile
	// inputIndex maps the main graph's input names to their position;
	// defaults holds the initializer of inputs that have one.
	inputIndex map[string]int
	defaults   []*tensor.Tensor
	plans      planCache

	// devMu serializes runs on the accelerator (one stream) and guards the
	// plans' device constants; closed is set by Close.
	devMu  sync.Mutex
	closed bool
}

// Compile binds every node of m (and of its subgraphs) to its operator.
// Unknown operators and opsets fail here, before any run.
func Compile(m *graph.Model, opts Options) (*Executable, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("compile: no graph: %w", graph.ErrInvalidGraph)
	}
	if opts.Ops == nil {
		return nil, fmt.Errorf("compile: no operator registry: %w", runtime.ErrInvalidArgument)
	}
	if err := m.Graph.Sort(nil); err != nil {
		return nil, err
	}
	if opts.Device == "" {
		opts.Device = "cpu:0"
	}
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	e := &Executable{model: m, opts: opts, inputIndex: map[string]int{}}
	e.env = ops.Env{Workers: opts.Workers, MaxTensorBytes: opts.MaxTensorBytes}
	for i, in := range m.Graph.Inputs {
		e.inputIndex[in.Name] = i
		e.defaults = append(e.defaults, m.Graph.Initializers[in.Name])
	}
	p, err := e.compile(m.Graph, nil)
	if err != nil {
		return nil, err
	}
	e.main = p
	if err := e.checkPlacement(); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	return e, nil
}

// program is one compiled graph.
type program struct {
	g       *graph.Graph
	nslots  int
	slotOf  map[string]int
	inputs  []int // slots of graph inputs, in order
	outputs []int // slots of graph outputs, in order
	consts  []constSlot
	free    []freeSlot // values read from the enclosing program
	steps   []*step
}

type constSlot struct {
	slot int
	t    *tensor.Tensor
}

// freeSlot copies a value from the enclosing frame into this one.
type freeSlot struct{ slot, parentSlot int }

// step is one node.
type step struct {
	node    *graph.Node
	op      *ops.Op
	opset   int
	in, out []int
	// release lists slots whose last reader is this step, so their values
	// can be collected as soon as it has run.
	release []int
	subs    map[string]*program
	lists   map[string][]*program

	mu    sync.Mutex
	plans map[string]*ops.Plan // by input signature
}

func (e *Executable) compile(g *graph.Graph, parent *program) (*program, error) {
	p := &program{g: g, slotOf: map[string]int{}}
	slot := func(name string) int {
		if s, ok := p.slotOf[name]; ok {
			return s
		}
		p.slotOf[name] = p.nslots
		p.nslots++
		return p.nslots - 1
	}
	for _, in := range g.Inputs {
		p.inputs = append(p.inputs, slot(in.Name))
	}
	for name, t := range g.Initializers {
		p.consts = append(p.consts, constSlot{slot(name), t})
	}
	if parent != nil {
		for _, name := range g.FreeValues() {
			ps, ok := parent.slotOf[name]
			if !ok {
				return nil, fmt.Errorf("graph %q reads %q, not defined in the enclosing graph: %w", g.Name, name, graph.ErrInvalidGraph)
			}
			p.free = append(p.free, freeSlot{slot(name), ps})
		}
	}
	for _, n := range g.Nodes {
		opset := e.model.Opset(n.Domain)
		if opset == 0 {
			return nil, fmt.Errorf("node %v: domain %q is not imported by the model: %w", n, n.Domain, ops.ErrUnknownOp)
		}
		op, err := e.opts.Ops.Lookup(n.Domain, n.OpType, opset)
		if err != nil {
			return nil, fmt.Errorf("node %v: %w", n, err)
		}
		st := &step{node: n, op: op, opset: opset, plans: map[string]*ops.Plan{}}
		for _, name := range n.Inputs {
			if name == "" {
				st.in = append(st.in, -1)
			} else {
				st.in = append(st.in, slot(name))
			}
		}
		for _, name := range n.Outputs {
			if name == "" {
				st.out = append(st.out, -1)
			} else {
				st.out = append(st.out, slot(name))
			}
		}
		p.steps = append(p.steps, st)
	}
	// Subgraphs are compiled once every value of this graph has a slot.
	for _, st := range p.steps {
		for name, sub := range st.node.Graphs {
			sp, err := e.compile(sub, p)
			if err != nil {
				return nil, fmt.Errorf("node %v attribute %q: %w", st.node, name, err)
			}
			if st.subs == nil {
				st.subs = map[string]*program{}
			}
			st.subs[name] = sp
		}
		for name, list := range st.node.GraphLists {
			for _, sub := range list {
				sp, err := e.compile(sub, p)
				if err != nil {
					return nil, fmt.Errorf("node %v attribute %q: %w", st.node, name, err)
				}
				if st.lists == nil {
					st.lists = map[string][]*program{}
				}
				st.lists[name] = append(st.lists[name], sp)
			}
		}
	}
	for _, o := range g.Outputs {
		p.outputs = append(p.outputs, slot(o.Name))
	}
	p.planReleases()
	return p, nil
}

// planReleases finds, for every slot, the last step that reads it, so a run
// drops intermediate values as soon as they are dead. Inputs, constants and
// outputs are never released.
func (p *program) planReleases() {
	keep := make([]bool, p.nslots)
	for _, s := range p.outputs {
		keep[s] = true
	}
	for _, c := range p.consts {
		keep[c.slot] = true
	}
	last := make([]int, p.nslots)
	for i := range last {
		last[i] = -1
	}
	for i, st := range p.steps {
		for _, s := range st.in {
			if s >= 0 {
				last[s] = i
			}
		}
		// Values a subgraph reads stay alive until the node that owns it has run.
		for _, sub := range st.allSubs() {
			for _, f := range sub.free {
				last[f.parentSlot] = i
			}
		}
	}
	for s, i := range last {
		if i >= 0 && !keep[s] {
			p.steps[i].release = append(p.steps[i].release, s)
		}
	}
}

func (st *step) allSubs() []*program {
	var all []*program
	for _, sp := range st.subs {
		all = append(all, sp)
	}
	for _, list := range st.lists {
		all = append(all, list...)
	}
	return all
}

// Inputs describes the values a caller feeds: the graph inputs that are not
// initializers.
func (e *Executable) Inputs() []*graph.ValueInfo {
	var ins []*graph.ValueInfo
	for _, in := range e.model.Graph.Inputs {
		if _, isConst := e.model.Graph.Initializers[in.Name]; !isConst {
			ins = append(ins, in)
		}
	}
	return ins
}

// Outputs describes the values a run returns, in order.
func (e *Executable) Outputs() []*graph.ValueInfo { return e.model.Graph.Outputs }

// Run executes the model. inputs maps input names to values
// (*tensor.Tensor, *ops.Sequence, *ops.Optional); inputs that have an
// initializer may be omitted. It returns the outputs in graph order; they
// belong to the caller and share no memory with the engine.
//
// The first run with a new input signature (element types and shapes)
// plans it; later runs with the signature reuse the plan. A Profiler
// attached to ctx (WithProfiler) records every kernel launch.
func (e *Executable) Run(ctx context.Context, inputs map[string]ops.Value) ([]ops.Value, error) {
	args, err := e.bindInputs(inputs)
	if err != nil {
		return nil, err
	}
	pl, err := e.planFor(args)
	if err != nil {
		return nil, err
	}
	if e.hetero() {
		return pl.runHetero(ctx, e, args)
	}
	return pl.run(ctx, e, args)
}

// bindInputs orders the caller's inputs as the graph declares them,
// filling in defaults, and checks them.
func (e *Executable) bindInputs(inputs map[string]ops.Value) ([]ops.Value, error) {
	g := e.model.Graph
	args := make([]ops.Value, len(g.Inputs))
	found := 0
	for i, in := range g.Inputs {
		v, ok := inputs[in.Name]
		if ok {
			found++
		}
		if !ok || v == nil {
			if t := e.defaults[i]; t != nil {
				args[i] = t
				continue
			}
			return nil, fmt.Errorf("input %q missing: %w", in.Name, ErrBadInput)
		}
		if err := checkInput(in, v); err != nil {
			return nil, err
		}
		args[i] = v
	}
	if found != len(inputs) {
		for name := range inputs {
			if _, ok := e.inputIndex[name]; !ok {
				return nil, fmt.Errorf("input %q: the model has no such input: %w", name, ErrBadInput)
			}
		}
	}
	return args, nil
}

func checkInput(in *graph.ValueInfo, v ops.Value) error {
	want := in.Type
	switch v := v.(type) {
	case *tensor.Tensor:
		if want.Kind != ops.KindTensor {
			return fmt.Errorf("input %q: got a tensor, want %s: %w", in.Name, want, ErrBadInput)
		}
		if want.DType != tensor.Undefined && v.DType() != want.DType {
			return fmt.Errorf("input %q: got %s, want %s: %w", in.Name, v.DType(), want.DType, ErrBadInput)
		}
		if !want.UnknownRank && want.Shape != nil {
			if v.Rank() != len(want.Shape) {
				return fmt.Errorf("input %q: got shape %v, want rank %d (%s): %w", in.Name, v.Shape(), len(want.Shape), want, ErrBadInput)
			}
			for i, d := range want.Shape {
				if d >= 0 && v.Dim(i) != d {
					return fmt.Errorf("input %q: got shape %v, want %s: %w", in.Name, v.Shape(), want, ErrBadInput)
				}
			}
		}
	case *ops.Sequence:
		if want.Kind != ops.KindSequence {
			return fmt.Errorf("input %q: got a sequence, want %s: %w", in.Name, want, ErrBadInput)
		}
	case *ops.Optional:
		if want.Kind != ops.KindOptional {
			return fmt.Errorf("input %q: got an optional, want %s: %w", in.Name, want, ErrBadInput)
		}
	default:
		return fmt.Errorf("input %q: unsupported value %T: %w", in.Name, v, ErrBadInput)
	}
	return nil
}

// run executes a program on one frame. parent is the enclosing frame for
// subgraphs (nil for the main graph).
func (p *program) run(ctx context.Context, e *Executable, parent []ops.Value, args []ops.Value) ([]ops.Value, error) {
	if len(args) != len(p.inputs) {
		return nil, fmt.Errorf("graph %q: %d inputs given, %d expected: %w", p.g.Name, len(args), len(p.inputs), ErrBadInput)
	}
	frame := make([]ops.Value, p.nslots)
	for _, c := range p.consts {
		frame[c.slot] = c.t
	}
	for _, f := range p.free {
		frame[f.slot] = parent[f.parentSlot]
	}
	for i, s := range p.inputs {
		frame[s] = args[i]
	}
	for _, st := range p.steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := st.run(ctx, e, p, frame); err != nil {
			return nil, err
		}
		for _, s := range st.release {
			frame[s] = nil
		}
	}
	outs := make([]ops.Value, len(p.outputs))
	for i, s := range p.outputs {
		outs[i] = frame[s]
	}
	return outs, nil
}

// run executes one node on the general path: its plan is looked up (or
// prepared) from the types of the values in frame, and its outputs are
// fresh host tensors.
func (st *step) run(ctx context.Context, e *Executable, p *program, frame []ops.Value) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("node %v: internal error: %v\n%s", st.node, r, debug.Stack())
		}
	}()
	in := make([]ops.Value, len(st.in))
	types := make([]ops.Type, len(st.in))
	for i, s := range st.in {
		if s < 0 {
			continue
		}
		in[i] = frame[s]
		t, err := ops.TypeOfValue(in[i])
		if err != nil {
			return fmt.Errorf("node %v input %d (%q): %w", st.node, i, st.node.Inputs[i], err)
		}
		types[i] = t
	}
	plan, err := st.plan(e, p, frame, types)
	if err != nil {
		return err
	}
	env := &e.env
	var outs []ops.Value
	if plan.Eval != nil {
		outs, err = plan.Eval(ctx, env, in)
		if err != nil {
			return fmt.Errorf("node %v: %w", st.node, err)
		}
		if len(outs) != len(st.out) {
			return fmt.Errorf("node %v: produced %d outputs, want %d", st.node, len(outs), len(st.out))
		}
	} else {
		tin := make([]*tensor.Tensor, len(in))
		for i, v := range in {
			if v == nil {
				continue
			}
			t, ok := v.(*tensor.Tensor)
			if !ok {
				return fmt.Errorf("node %v input %d: got %T, the operator takes tensors: %w", st.node, i, v, ops.ErrInvalidNode)
			}
			tin[i] = t
		}
		tout := make([]*tensor.Tensor, len(plan.Outputs))
		for i, ot := range plan.Outputs {
			if ot.Kind == ops.KindTensor && ot.Static() && ot.DType != tensor.Undefined {
				if tout[i], err = env.NewTensor(ot.DType, ot.Shape); err != nil {
					return fmt.Errorf("node %v output %d: %w", st.node, i, err)
				}
			}
		}
		if err := plan.Kernel(env, tin, tout); err != nil {
			return fmt.Errorf("node %v: %w", st.node, err)
		}
		outs = make([]ops.Value, len(tout))
		for i, t := range tout {
			if t == nil && st.out[i] >= 0 {
				return fmt.Errorf("node %v: kernel left output %d unset", st.node, i)
			}
			outs[i] = t
		}
	}
	for i, s := range st.out {
		if s >= 0 {
			frame[s] = outs[i]
		}
	}
	return nil
}

// plan returns the node's plan for these input types, preparing it on first
// use. Nodes with subgraphs are prepared on every run, since their bodies are
// bound to this run's frame.
func (st *step) plan(e *Executable, p *program, frame []ops.Value, types []ops.Type) (*ops.Plan, error) {
	// Only the declared value inputs carry contents into Prepare.
	for i := range types {
		if !isValueInput(st.op, i) {
			types[i].Value = nil
		}
	}
	bound := len(st.subs) > 0 || len(st.lists) > 0
	var key string
	if !bound {
		key = signature(types)
		st.mu.Lock()
		plan, ok := st.plans[key]
		st.mu.Unlock()
		if ok {
			return plan, nil
		}
	}
	attrs := st.node.Attrs
	if bound {
		attrs = make(map[string]ops.Attr, len(st.node.Attrs)+len(st.subs)+len(st.lists))
		for k, v := range st.node.Attrs {
			attrs[k] = v
		}
		for name, sp := range st.subs {
			attrs[name] = ops.Attr{Type: ops.AttrGraph, Graph: &boundGraph{e: e, p: sp, parent: frame}}
		}
		for name, list := range st.lists {
			gs := make([]ops.Subgraph, len(list))
			for i, sp := range list {
				gs[i] = &boundGraph{e: e, p: sp, parent: frame}
			}
			attrs[name] = ops.Attr{Type: ops.AttrGraphs, Graphs: gs}
		}
	}
	n := &ops.Node{
		Name: st.node.Name, Domain: st.node.Domain, OpType: st.node.OpType, Opset: st.opset,
		Attrs: ops.NewAttrs(attrs), Inputs: types, NumOutputs: len(st.out),
	}
	plan, err := ops.PrepareOp(st.op, n)
	if err != nil {
		return nil, err
	}
	if !bound {
		st.mu.Lock()
		if len(st.plans) > 64 { // many shapes: keep the cache bounded
			clear(st.plans)
		}
		st.plans[key] = plan
		st.mu.Unlock()
	}
	return plan, nil
}

func isValueInput(op *ops.Op, i int) bool {
	for _, v := range op.ValueInputs {
		if v == i {
			return true
		}
	}
	return false
}

// boundGraph is a subgraph bound to the frame of one run.
type boundGraph struct {
	e      *Executable
	p      *program
	parent []ops.Value
}

func (b *boundGraph) NumInputs() int  { return len(b.p.inputs) }
func (b *boundGraph) NumOutputs() int { return len(b.p.outputs) }
func (b *boundGraph) OutputTypes() []ops.Type {
	ts := make([]ops.Type, len(b.p.g.Outputs))
	for i, o := range b.p.g.Outputs {
		ts[i] = o.Type
	}
	return ts
}
func (b *boundGraph) Run(ctx context.Context, inputs []ops.Value) ([]ops.Value, error) {
	return b.p.run(ctx, b.e, b.parent, inputs)
}
