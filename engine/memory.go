package engine

import (
	"fmt"
	"strings"

	"github.com/gocann/gocann/ops"
)

// MemoryStats describes the plan of one input signature: where its values
// live and how its nodes run.
type MemoryStats struct {
	// Signature lists the inputs the plan is for: "x: float32[1 3 224 224]".
	Signature string
	// ArenaBytes is the peak memory of the intermediates: the size of the
	// arena one run works in (each concurrent run has its own).
	ArenaBytes int64
	// NaiveBytes is what the arena's values would take with no reuse.
	NaiveBytes int64
	// HeapBytes is the static-size values allocated afresh on every run:
	// the graph outputs (the caller keeps them) and values handed to
	// control flow or sequences.
	HeapBytes int64
	// FoldedBytes is the values computed once for the signature and kept
	// with the plan (shape arithmetic); views of constants count too.
	FoldedBytes int64
	// DynamicValues counts the values whose size only the run knows; their
	// kernels allocate them.
	DynamicValues int
	// Regions is the number of blocks the arena is divided into over time.
	Regions int
	// Launches is the number of nodes run on every run: Kernels prepared
	// once, Evals (sequences, optionals) and Dynamic nodes prepared on
	// every run (control flow, shapes that depend on data). Views are
	// reshapes done without a kernel, Folded nodes are computed once, and
	// InPlace counts outputs written over an input that dies there.
	Launches, Kernels, Evals, Dynamic, Views, Folded, InPlace int
}

// String is the summary that `cann run --explain` prints.
func (m MemoryStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan for %s\n", m.Signature)
	fmt.Fprintf(&b, "  launches: %d (%d kernels, %d eval, %d dynamic); %d views, %d folded, %d in place\n",
		m.Launches, m.Kernels, m.Evals, m.Dynamic, m.Views, m.Folded, m.InPlace)
	saved := ""
	if m.NaiveBytes > 0 {
		saved = fmt.Sprintf(" (%s without reuse, %.0f%% saved)", formatBytes(m.NaiveBytes), 100*(1-float64(m.ArenaBytes)/float64(m.NaiveBytes)))
	}
	fmt.Fprintf(&b, "  arena: %s in %d regions%s\n", formatBytes(m.ArenaBytes), m.Regions, saved)
	fmt.Fprintf(&b, "  heap per run: %s (outputs and escaping values)", formatBytes(m.HeapBytes))
	if m.DynamicValues > 0 {
		fmt.Fprintf(&b, " + %d values of run-time size", m.DynamicValues)
	}
	fmt.Fprintf(&b, "\n  folded: %s kept with the plan\n", formatBytes(m.FoldedBytes))
	return b.String()
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// MemoryPlan returns the plan statistics for these inputs (only their
// types and shapes matter, and the contents of inputs left to their
// defaults), planning the signature if no run has yet. It runs nothing.
func (e *Executable) MemoryPlan(inputs map[string]ops.Value) (MemoryStats, error) {
	args, err := e.bindInputs(inputs)
	if err != nil {
		return MemoryStats{}, err
	}
	pl, err := e.planFor(args)
	if err != nil {
		return MemoryStats{}, err
	}
	return pl.stats, nil
}

// MemoryPlans returns the statistics of every signature planned so far,
// oldest first.
func (e *Executable) MemoryPlans() []MemoryStats {
	var out []MemoryStats
	for _, pl := range e.plans.all() {
		out = append(out, pl.stats)
	}
	return out
}

// finish fills in the statistics and the profiler's descriptions.
func (pb *planner) finish() {
	pl := pb.pl
	m := &pl.stats
	names := make([]string, len(pb.e.model.Graph.Inputs))
	for i, in := range pb.e.model.Graph.Inputs {
		names[i] = in.Name
	}
	m.Signature = describeSignature(names, pl.sig)
	pl.placement.Signature = m.Signature
	m.ArenaBytes = pl.size
	m.Regions = len(pl.regions)
	for _, v := range pl.views {
		if v.viewOf < 0 {
			m.NaiveBytes += v.bytes
		}
	}
	for i := range pl.launches {
		l := &pl.launches[i]
		switch l.kind {
		case launchKernel:
			m.Kernels++
		case launchEval:
			m.Evals++
		case launchDynamic:
			m.Dynamic++
		}
		if l.kind != launchKernel && l.dev == nil {
			continue
		}
		l.inDesc = make([]string, len(l.in))
		for j, s := range l.in {
			if s >= 0 {
				l.inDesc[j] = pb.slots[s].typ.String()
			}
		}
		outs := l.plan.Outputs
		if l.devPlan != nil {
			outs = l.devPlan.Outputs
		}
		l.outDesc = make([]string, len(outs))
		for k, o := range outs {
			l.outDesc[k] = o.String()
		}
	}
	m.Launches = m.Kernels + m.Evals + m.Dynamic
}
