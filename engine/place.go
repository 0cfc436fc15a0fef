package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// Heterogeneous execution: with Options.Accelerator set, every node of an
// execution plan is placed when the plan is built. A node runs on the
// accelerator when the operator registry has a kernel for it there and the
// kernel accepts the node (ops.Registry.PrepareDevice), and on the CPU
// otherwise, a fallback recorded with its reason. Values stay where they
// were computed: a copy to the device is made when a device node reads a
// value the CPU produced (constants once per plan), a copy to the host when
// a CPU node reads a device value, and for the graph outputs. Inputs an
// operator lists in Op.ValueInputs stay on the host (the kernel read them
// when it was prepared).

// ErrFallback marks a node that cannot run on the accelerator, in a strict
// compilation (Options.Strict).
var ErrFallback = errors.New("node falls back to the CPU")

// Reasons of fallbacks that have nothing to do with a device kernel.
const (
	reasonControlFlow = "control flow runs on the CPU"
	reasonDynamic     = "prepared at run time: its input shapes or values depend on data"
	reasonEval        = "runs on the host (sequences, optionals)"
)

// Placement says where the nodes of one plan run.
type Placement struct {
	// Signature is the input signature of the plan.
	Signature string
	// Nodes lists the nodes of the main graph that run, in order (nodes
	// folded when planning are not run and not listed).
	Nodes []NodePlacement
	// Fallbacks are the nodes that run on the CPU although an accelerator
	// was asked for, with the reason (empty on the CPU alone).
	Fallbacks []NodePlacement
	// Folded counts the nodes computed once when planning.
	Folded int
	// Copies counts the places where a run copies a value between host and
	// device (graph outputs included; constants are copied once per plan).
	Copies int
}

// NodePlacement is one node and the device it runs on.
type NodePlacement struct {
	Node   string // the node's name, or its description when unnamed
	OpType string // domain-qualified when not the standard domain
	Device string // "opencl:0", "cpu:0"
	Reason string // why a fallback runs on the CPU
}

// Counts returns the number of nodes per device.
func (p Placement) Counts() map[string]int {
	c := map[string]int{}
	for _, n := range p.Nodes {
		c[n.Device]++
	}
	return c
}

// String is what `cann run --explain` prints: the counts per device and
// every fallback with its reason.
func (p Placement) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "placement for %s\n", p.Signature)
	counts := p.Counts()
	var devs []string
	for _, n := range p.Nodes {
		if _, ok := counts[n.Device]; ok {
			devs = append(devs, fmt.Sprintf("%d on %s", counts[n.Device], n.Device))
			delete(counts, n.Device)
		}
	}
	if len(devs) == 0 {
		devs = append(devs, "no nodes")
	}
	fmt.Fprintf(&b, "  nodes: %s; %d folded; %d host/device copies per run\n", strings.Join(devs, ", "), p.Folded, p.Copies)
	fmt.Fprintf(&b, "  fallbacks to the CPU: %d\n", len(p.Fallbacks))
	for _, f := range p.Fallbacks {
		fmt.Fprintf(&b, "    %s (%s): %s\n", f.Node, f.OpType, f.Reason)
	}
	return b.String()
}

// Placement returns where the nodes run for inputs of these types and
// shapes, planning the signature if no run has yet. It runs nothing.
func (e *Executable) Placement(inputs map[string]ops.Value) (Placement, error) {
	args, err := e.bindInputs(inputs)
	if err != nil {
		return Placement{}, err
	}
	pl, err := e.planFor(args)
	if err != nil {
		return Placement{}, err
	}
	return pl.placement, nil
}

// hetero reports whether nodes are placed on an accelerator.
func (e *Executable) hetero() bool { return e.opts.Accelerator != nil }

func nodeLabel(st *step) (name, opType string) {
	name = st.node.Name
	if name == "" {
		name = st.node.String()
	}
	opType = st.node.OpType
	if d := ops.NormalizeDomain(st.node.Domain); d != "" {
		opType = d + "." + opType
	}
	return name, opType
}

// checkPlacement is the part of placement Compile can decide without
// shapes: control flow always runs on the CPU, so a strict compilation
// fails on it. (A node with no kernel on the accelerator may still be
// folded away when a signature is planned, as shape arithmetic is; it is
// reported then.)
func (e *Executable) checkPlacement() error {
	if !e.hetero() || !e.opts.Strict {
		return nil
	}
	for _, st := range e.main.steps {
		if len(st.subs) > 0 || len(st.lists) > 0 {
			name, opType := nodeLabel(st)
			return fmt.Errorf("node %s (%s) on %s: %s: %w", name, opType, e.opts.Accelerator.Properties().ID(), reasonControlFlow, ErrFallback)
		}
	}
	return nil
}

// place decides where each launch of the plan runs, preparing the device
// kernels, and counts the copies. It runs before bindOutputs, which keeps
// device values out of the host arena.
func (pb *planner) place() error {
	pl := pb.pl
	e := pb.e
	cpuName := e.opts.Device
	pl.placement.Folded = pl.stats.Folded
	if !e.hetero() {
		for i := range pl.launches {
			name, opType := nodeLabel(pl.launches[i].st)
			pl.placement.Nodes = append(pl.placement.Nodes, NodePlacement{Node: name, OpType: opType, Device: cpuName})
		}
		return nil
	}
	dev := e.opts.Accelerator
	devName := dev.Properties().ID()
	onDev := make([]bool, pl.nslots) // the value is computed on the device
	hostCopy := make([]bool, pl.nslots)
	devCopy := make([]bool, pl.nslots)
	for i := range pl.launches {
		l := &pl.launches[i]
		name, opType := nodeLabel(l.st)
		reason := ""
		switch l.kind {
		case launchDynamic:
			reason = reasonDynamic
			if len(l.st.subs) > 0 || len(l.st.lists) > 0 {
				reason = reasonControlFlow
			}
		case launchEval:
			reason = reasonEval
		default:
			types := make([]ops.Type, len(l.in))
			for j, s := range l.in {
				if s < 0 {
					continue
				}
				types[j] = pb.slots[s].typ
				if pb.slots[s].fixed {
					// Constants are known to the device kernel when it is
					// prepared (Clip bounds, Gather indices…).
					types[j].Value = pb.slots[s].value
				}
			}
			n := &ops.Node{
				Name: l.st.node.Name, Domain: l.st.node.Domain, OpType: l.st.node.OpType, Opset: l.st.opset,
				Attrs: ops.NewAttrs(l.st.node.Attrs), Inputs: types, NumOutputs: len(l.out),
			}
			dp, plan, err := e.opts.Ops.PrepareDevice(dev, n)
			if err != nil {
				reason = err.Error()
				if !errors.Is(err, runtime.ErrUnsupported) {
					reason = "device kernel failed to prepare: " + reason
				}
				break
			}
			if len(plan.Outputs) != len(l.plan.Outputs) {
				reason = fmt.Sprintf("device plan has %d outputs, the CPU plan %d", len(plan.Outputs), len(l.plan.Outputs))
				break
			}
			l.dev, l.devPlan = dp, plan
		}
		if l.dev == nil {
			np := NodePlacement{Node: name, OpType: opType, Device: cpuName, Reason: reason}
			pl.placement.Nodes = append(pl.placement.Nodes, np)
			pl.placement.Fallbacks = append(pl.placement.Fallbacks, np)
			// Every value it reads comes to the host, subgraphs' too.
			reads := append([]int(nil), l.in...)
			for _, sub := range l.st.allSubs() {
				for _, f := range sub.free {
					reads = append(reads, f.parentSlot)
				}
			}
			for _, s := range reads {
				if s >= 0 && onDev[s] && !hostCopy[s] {
					hostCopy[s] = true
					pl.placement.Copies++
				}
			}
			continue
		}
		pl.placement.Nodes = append(pl.placement.Nodes, NodePlacement{Node: name, OpType: opType, Device: devName})
		for j, s := range l.in {
			if s < 0 || isValueInput(l.st.op, j) || onDev[s] || devCopy[s] {
				continue
			}
			devCopy[s] = true
			if pl.tmpl[s] == nil { // constants are copied once per plan
				pl.placement.Copies++
			}
		}
		for _, s := range l.out {
			if s >= 0 {
				onDev[s] = true
			}
		}
	}
	for _, s := range pl.outputs {
		if onDev[s] && !hostCopy[s] {
			hostCopy[s] = true
			pl.placement.Copies++
		}
	}
	pl.devConst = make([]*tensor.Tensor, pl.nslots)
	pb.planDeviceFrees(onDev)
	if e.opts.Strict && len(pl.placement.Fallbacks) > 0 {
		f := pl.placement.Fallbacks[0]
		more := ""
		if n := len(pl.placement.Fallbacks); n > 1 {
			more = fmt.Sprintf(" (and %d more)", n-1)
		}
		return fmt.Errorf("node %s (%s) on %s: %s%s: %w", f.Node, f.OpType, devName, f.Reason, more, ErrFallback)
	}
	return nil
}

// planDeviceFrees finds, for the device memory a run allocates (outputs of
// device kernels, copies of host values), the launch after which nothing
// reads it any more, views of it included, so that a run gives it back to
// the pool there rather than at its end. Graph outputs are kept until they
// are copied to the host.
func (pb *planner) planDeviceFrees(onDev []bool) {
	pl := pb.pl
	n := len(pl.launches)
	last := make([]int, pl.nslots) // last launch reading each slot
	for i := range last {
		last[i] = -1
	}
	for i := range pl.launches {
		l := &pl.launches[i]
		for _, s := range l.in {
			if s >= 0 {
				last[s] = i
			}
		}
		for _, sub := range l.st.allSubs() {
			for _, f := range sub.free {
				last[f.parentSlot] = i
			}
		}
	}
	for _, s := range pl.outputs {
		last[s] = n
	}
	// roots[s]: the slots whose device memory s's device value shares
	// (itself, or what a view reads); end[r]: the last use of r's memory.
	roots := make([][]int, pl.nslots)
	end := make([]int, pl.nslots)
	for i := range end {
		end[i] = -1
	}
	use := func(r, at int) { end[r] = max(end[r], at) }
	for i := range pl.launches {
		l := &pl.launches[i]
		if l.dev == nil {
			continue
		}
		var viewed []int
		for j, s := range l.in {
			if s < 0 || isValueInput(l.st.op, j) {
				continue
			}
			if roots[s] == nil && pl.tmpl[s] == nil { // a host value copied here
				roots[s] = []int{s}
				use(s, max(last[s], i))
			}
			viewed = append(viewed, roots[s]...)
		}
		for _, s := range l.out {
			if s < 0 {
				continue
			}
			if l.dev.View {
				roots[s] = viewed
			} else {
				roots[s] = []int{s}
			}
			for _, r := range roots[s] {
				use(r, max(last[s], i))
			}
		}
	}
	for r, at := range end {
		if at >= 0 && at < n && len(roots[r]) == 1 && roots[r][0] == r {
			pl.launches[at].devFree = append(pl.launches[at].devFree, r)
		}
	}
}

// freeDeviceConstants gives the plan's device copies of constants back to
// the pool. The caller holds the executable's device lock.
func (pl *execPlan) freeDeviceConstants() {
	for i, t := range pl.devConst {
		if t != nil {
			t.Free()
			pl.devConst[i] = nil
		}
	}
}

// Close releases what the executable keeps on the accelerator (the device
// copies of constants). The executable must not run afterwards. It does
// nothing for a CPU executable.
func (e *Executable) Close() error {
	if !e.hetero() {
		return nil
	}
	e.devMu.Lock()
	defer e.devMu.Unlock()
	for _, pl := range e.plans.all() {
		pl.freeDeviceConstants()
	}
	e.closed = true
	return nil
}
