package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// runHetero executes a plan whose nodes are placed on the accelerator and
// the CPU (see place.go). Device runs are serialized on the one stream;
// everything the run enqueued has finished, and its device values are
// freed, when it returns.
func (pl *execPlan) runHetero(ctx context.Context, e *Executable, args []ops.Value) (outs []ops.Value, err error) {
	e.devMu.Lock()
	defer e.devMu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("run after Close: %w", runtime.ErrClosed)
	}
	a, err := pl.getArena()
	if err != nil {
		return nil, err
	}
	frame := a.frame
	copy(frame, a.tmpl)
	for i, s := range pl.inputs {
		frame[s] = args[i]
	}
	if len(a.dev) != pl.nslots {
		a.dev = make([]*tensor.Tensor, pl.nslots)
	}
	h := &heteroRun{pl: pl, e: e, a: a, s: e.opts.Stream, prof: profilerFrom(ctx)}
	var start time.Time
	if h.prof != nil {
		start = time.Now()
	}
	err = h.exec(ctx)
	var pending []pendingOut
	if err == nil {
		pending, err = h.outputsToHost()
	}
	// Kernels that failed while running are reported by Synchronize; wait
	// for everything (the outputs' copies too) before giving device memory
	// back.
	if serr := h.s.Synchronize(context.WithoutCancel(ctx)); serr != nil && err == nil {
		err = fmt.Errorf("on %s: %w", e.opts.Accelerator.Properties().ID(), serr)
	}
	if cs := e.opts.CopyStream; cs != nil {
		if serr := cs.Synchronize(context.WithoutCancel(ctx)); serr != nil && err == nil {
			err = fmt.Errorf("copies to %s: %w", e.opts.Accelerator.Properties().ID(), serr)
		}
	}
	if err == nil {
		for _, p := range pending {
			frame[p.slot] = p.t
		}
	}
	clear(a.keep)
	a.keep = a.keep[:0]
	if err != nil {
		// A failed stream skips the work queued after the failure: the
		// constants this run uploaded may never have arrived.
		for _, s := range h.newConsts {
			pl.devConst[s].Free()
			pl.devConst[s] = nil
		}
	}
	if h.prof != nil {
		h.prof.addRun(start, time.Since(start), a.id)
	}
	if err == nil {
		outs, err = pl.collect(frame)
	}
	for _, t := range a.owned {
		t.Free()
	}
	clear(a.owned)
	a.owned = a.owned[:0]
	clear(a.staged)
	clear(a.dev)
	clear(frame)
	if pl.evicted {
		pl.freeDeviceConstants()
	}
	pl.putArena(a)
	return outs, err
}

// heteroRun is one run of a placed plan.
type heteroRun struct {
	pl   *execPlan
	e    *Executable
	a    *arena
	s    runtime.Stream
	prof *Profiler
	// newConsts lists the slots whose constants this run uploaded.
	newConsts []int
}

func (h *heteroRun) exec(ctx context.Context) (err error) {
	pl, e, a := h.pl, h.e, h.a
	cur := -1
	defer func() {
		if r := recover(); r != nil {
			node := "?"
			if cur >= 0 {
				node = pl.launches[cur].st.node.String()
			}
			err = fmt.Errorf("node %s: internal error: %v\n%s", node, r, debug.Stack())
		}
	}()
	done := ctx.Done()
	env := &e.env
	frame := a.frame
	cpuName := e.opts.Device
	for i := range pl.launches {
		l := &pl.launches[i]
		cur = i
		if done != nil {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
		}
		if l.dev != nil {
			if err := h.device(ctx, l); err != nil {
				return err
			}
			h.release(l)
			continue
		}
		// On the CPU: everything it reads comes to the host first.
		for j, s := range l.in {
			if s >= 0 {
				if err := h.toHost(ctx, s, l.st.node.Inputs[j]); err != nil {
					return err
				}
			}
		}
		for _, sub := range l.st.allSubs() {
			for _, f := range sub.free {
				if err := h.toHost(ctx, f.parentSlot, sub.g.Name); err != nil {
					return err
				}
			}
		}
		var t0 time.Time
		if h.prof != nil {
			t0 = time.Now()
		}
		switch l.kind {
		case launchKernel:
			if err := pl.kernel(env, a, i, l); err != nil {
				return err
			}
		case launchView:
			if err := pl.view(a, l); err != nil {
				return err
			}
		case launchEval:
			if err := pl.eval(ctx, env, frame, l); err != nil {
				return err
			}
		case launchDynamic:
			if err := l.st.run(ctx, e, e.main, frame); err != nil {
				return err
			}
			for _, s := range l.out {
				if s < 0 {
					continue
				}
				if t, ok := frame[s].(*tensor.Tensor); ok && t != nil && inArena(t) {
					if frame[s], err = cloneTensor(t); err != nil {
						return err
					}
				}
			}
		}
		if h.prof != nil && l.kind != launchView {
			h.prof.addLaunch(l, frame, cpuName, a.id, t0, time.Since(t0))
		}
		h.release(l)
	}
	return nil
}

// release drops the values whose last reader l is. Device memory goes
// back to the pool at once: the stream is in order, so work still queued
// that reads it runs before any later kernel can write it again.
func (h *heteroRun) release(l *launch) {
	for _, s := range l.release {
		h.a.frame[s] = nil
	}
	for _, s := range l.devFree {
		if t := h.a.dev[s]; t != nil {
			if !h.a.staged[t] { // copy-pool memory waits for the run's end
				t.Free() // owned also lists it: a second Free does nothing
			}
			h.a.dev[s] = nil
		}
	}
}

// device enqueues one launch placed on the accelerator.
func (h *heteroRun) device(ctx context.Context, l *launch) error {
	a := h.a
	in := make([]*tensor.Tensor, len(l.in))
	for j, s := range l.in {
		if s < 0 {
			continue
		}
		if isValueInput(l.st.op, j) {
			t, ok := a.frame[s].(*tensor.Tensor)
			if !ok || t == nil {
				return fmt.Errorf("node %v value input %d: not on the host: %w", l.st.node, j, ops.ErrInvalidNode)
			}
			in[j] = t
			continue
		}
		t, err := h.toDevice(ctx, s, l.st.node.Inputs[j])
		if err != nil {
			return fmt.Errorf("node %v input %d: %w", l.st.node, j, err)
		}
		in[j] = t
	}
	var t0 time.Time
	if h.prof != nil {
		t0 = time.Now()
	}
	outs, err := l.dev.Run(ctx, h.s, h.e.opts.Pool, l.devPlan, in)
	if err != nil {
		return fmt.Errorf("node %v on %s: %w", l.st.node, h.e.opts.Accelerator.Properties().ID(), err)
	}
	if !l.dev.View {
		a.owned = append(a.owned, outs...)
	}
	for k, s := range l.out {
		if s >= 0 && k < len(outs) {
			a.dev[s] = outs[k]
			a.frame[s] = nil // not on the host until copied
		}
	}
	if h.prof != nil {
		// Kernels only enqueue: a profiled run waits for each, so that its
		// time is the device's work (with the launch overhead), not the
		// enqueueing.
		if err := h.s.Synchronize(ctx); err != nil {
			return fmt.Errorf("node %v on %s: %w", l.st.node, h.e.opts.Accelerator.Properties().ID(), err)
		}
		h.prof.addLaunch(l, nil, h.e.opts.Accelerator.Properties().ID(), a.id, t0, time.Since(t0))
	}
	return nil
}

// pendingOut is a graph output whose copy to the host is enqueued.
type pendingOut struct {
	slot int
	t    *tensor.Tensor
}

// outputsToHost enqueues the copies of the graph outputs computed on the
// device, all before one wait.
func (h *heteroRun) outputsToHost() ([]pendingOut, error) {
	var pending []pendingOut
	for i, s := range h.pl.outputs {
		d := h.a.dev[s]
		if h.a.frame[s] != nil || d == nil {
			continue
		}
		name := h.e.model.Graph.Outputs[i].Name
		var t0 time.Time
		if h.prof != nil {
			t0 = time.Now()
		}
		t, err := tensor.New(d.DType(), d.Shape())
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", name, err)
		}
		b, _ := t.HostBytes()
		if err := h.s.CopyToHost(b, d.Buffer(), d.Offset()); err != nil {
			return nil, fmt.Errorf("output %q: copy to the host: %w", name, err)
		}
		pending = append(pending, pendingOut{s, t})
		if h.prof != nil {
			if err := h.s.Synchronize(context.Background()); err != nil {
				return nil, fmt.Errorf("output %q: copy to the host: %w", name, err)
			}
			h.copyEvent(t, "CopyToHost", name, t0)
		}
	}
	return pending, nil
}

// toDevice returns slot s on the device, copying it there when the host
// computed it: constants once per plan, other values once per run.
func (h *heteroRun) toDevice(ctx context.Context, s int, name string) (*tensor.Tensor, error) {
	a, pl := h.a, h.pl
	if t := a.dev[s]; t != nil {
		return t, nil
	}
	if c, ok := pl.tmpl[s].(*tensor.Tensor); ok && c != nil {
		if t := pl.devConst[s]; t != nil {
			return t, nil
		}
		t, err := h.copy(ctx, c, true, false, name)
		if err != nil {
			return nil, err
		}
		pl.devConst[s] = t
		h.newConsts = append(h.newConsts, s)
		return t, nil
	}
	v, ok := a.frame[s].(*tensor.Tensor)
	if !ok || v == nil {
		return nil, fmt.Errorf("value %q: got %T, want a tensor: %w", name, a.frame[s], ops.ErrInvalidNode)
	}
	t, err := h.copy(ctx, v, true, true, name)
	if err != nil {
		return nil, err
	}
	a.owned = append(a.owned, t)
	a.dev[s] = t
	return t, nil
}

// toHost makes sure slot s is on the host, copying it from the device
// when it was computed there.
func (h *heteroRun) toHost(ctx context.Context, s int, name string) error {
	a := h.a
	if a.frame[s] != nil || a.dev[s] == nil {
		return nil
	}
	t, err := h.copy(ctx, a.dev[s], false, false, name)
	if err != nil {
		return err
	}
	a.frame[s] = t
	return nil
}

// copy moves t between the host and the device. A copy to the host waits
// for it (a CPU node is about to read it). A copy to the device of host
// memory that nothing will write again during the run (anything outside
// the arena: inputs, constants, the heap values the CPU computes for the
// device) is only enqueued, and t is kept alive until the run's final
// wait; a copy of arena memory waits, since a later CPU node may reuse it.
// A copy to the device of a value of this run only (perRun) goes on the
// copy stream when there is one.
func (h *heteroRun) copy(ctx context.Context, t *tensor.Tensor, toDevice, perRun bool, name string) (*tensor.Tensor, error) {
	var t0 time.Time
	if h.prof != nil {
		t0 = time.Now()
	}
	var c *tensor.Tensor
	var err error
	op := "CopyToHost"
	switch {
	case !toDevice:
		c, err = t.ToHost(ctx, h.s)
	case !inArena(t) && t.DType() != tensor.String:
		op = "CopyToDevice"
		var s runtime.Stream
		c, s, err = h.enqueueToDevice(t, perRun)
		if err == nil && h.prof != nil {
			err = s.Synchronize(ctx)
		}
	default:
		op = "CopyToDevice"
		c, err = t.CopyTo(ctx, h.s, h.e.opts.Pool)
	}
	if err != nil {
		return nil, fmt.Errorf("value %q: %w", name, err)
	}
	if h.prof != nil {
		h.copyEvent(t, op, name, t0)
	}
	return c, nil
}

// enqueueToDevice enqueues the copy of host tensor t into new device
// memory, without waiting, and returns it with the stream it went on: the
// copy stream (memory from the copy pool, the compute stream made to wait
// for it by an event) when staged and there is one, else the compute
// stream.
func (h *heteroRun) enqueueToDevice(t *tensor.Tensor, staged bool) (*tensor.Tensor, runtime.Stream, error) {
	o := h.e.opts
	s, pool := h.s, o.Pool
	staged = staged && o.CopyStream != nil
	if staged {
		s, pool = o.CopyStream, o.CopyPool
	}
	src, ok := t.HostBytes()
	if !ok {
		c, err := t.CopyTo(context.Background(), h.s, o.Pool)
		return c, h.s, err
	}
	c, err := tensor.NewOn(pool, t.DType(), t.Shape())
	if err != nil {
		return nil, nil, err
	}
	if len(src) > 0 {
		if err := s.CopyToDevice(c.Buffer(), c.Offset(), src); err != nil {
			c.Free()
			return nil, nil, fmt.Errorf("copy to the device: %w", err)
		}
	}
	if staged {
		a := h.a
		if a.copied == nil {
			if a.copied, err = o.Accelerator.NewEvent(); err != nil {
				c.Free()
				return nil, nil, err
			}
		}
		// Re-recording is safe: a Wait refers to the record before it.
		if err := s.Record(a.copied); err != nil {
			c.Free()
			return nil, nil, fmt.Errorf("copy to the device: %w", err)
		}
		if err := h.s.Wait(a.copied); err != nil {
			c.Free()
			return nil, nil, fmt.Errorf("copy to the device: %w", err)
		}
		if a.staged == nil {
			a.staged = map[*tensor.Tensor]bool{}
		}
		a.staged[c] = true
	}
	h.a.keep = append(h.a.keep, t)
	return c, s, nil
}

func (h *heteroRun) copyEvent(t *tensor.Tensor, op, name string, t0 time.Time) {
	typ := ops.TensorType(t.DType(), t.Shape()).String()
	h.prof.add(Event{Kind: "copy", Name: name, OpType: op, Inputs: []string{typ}, Outputs: []string{typ},
		Device: h.e.opts.Accelerator.Properties().ID(), Stream: h.a.id, Start: t0, Duration: time.Since(t0)})
}

// checkOptions validates the accelerator options.
func checkOptions(o *Options) error {
	if o.Accelerator == nil {
		return nil // everything on the CPU: nothing falls back
	}
	if o.Accelerator.Properties().Backend == "cpu" {
		return fmt.Errorf("compile: the accelerator is a CPU device; leave Accelerator unset: %w", runtime.ErrInvalidArgument)
	}
	if o.Stream == nil || o.Pool == nil {
		return fmt.Errorf("compile: an accelerator needs a stream and a pool: %w", runtime.ErrInvalidArgument)
	}
	if !sameDev(o.Stream.Device(), o.Accelerator) {
		return fmt.Errorf("compile: the stream is not the accelerator's: %w", runtime.ErrInvalidArgument)
	}
	if (o.CopyStream == nil) != (o.CopyPool == nil) {
		return fmt.Errorf("compile: a copy stream needs a copy pool and the reverse: %w", runtime.ErrInvalidArgument)
	}
	if o.CopyStream != nil && (!sameDev(o.CopyStream.Device(), o.Accelerator) || o.CopyStream == o.Stream || o.CopyPool == o.Pool) {
		return fmt.Errorf("compile: the copy stream and pool must be the accelerator's, and not the compute ones: %w", runtime.ErrInvalidArgument)
	}
	return nil
}

func sameDev(a, b runtime.Device) bool {
	return a != nil && b != nil && a.Properties().ID() == b.Properties().ID()
}
