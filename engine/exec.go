package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// run executes the plan on checked arguments. Nothing is prepared, looked
// up or formatted per node: each launch binds its operands from the frame
// and the arena, and calls its kernel.
func (pl *execPlan) run(ctx context.Context, e *Executable, args []ops.Value) ([]ops.Value, error) {
	a, err := pl.getArena()
	if err != nil {
		return nil, err
	}
	frame := a.frame
	copy(frame, a.tmpl)
	for i, s := range pl.inputs {
		frame[s] = args[i]
	}
	var outs []ops.Value
	prof := profilerFrom(ctx)
	if prof != nil {
		start := time.Now()
		err = pl.exec(ctx, e, a, prof)
		prof.addRun(start, time.Since(start), a.id)
	} else {
		err = pl.exec(ctx, e, a, nil)
	}
	if err == nil {
		outs, err = pl.collect(frame)
	}
	clear(frame) // keep no caller's value alive in an idle arena
	pl.putArena(a)
	return outs, err
}

// collect returns the graph outputs, copying those the run does not own.
func (pl *execPlan) collect(frame []ops.Value) ([]ops.Value, error) {
	outs := make([]ops.Value, len(pl.outputs))
	for i, s := range pl.outputs {
		v := frame[s]
		if t, ok := v.(*tensor.Tensor); ok && t != nil && (pl.outCopy[i] || inArena(t)) {
			c, err := cloneTensor(t)
			if err != nil {
				return nil, err
			}
			v = c
		}
		outs[i] = v
	}
	return outs, nil
}

// exec runs the launches in order. A kernel's panic becomes an error
// naming its node.
func (pl *execPlan) exec(ctx context.Context, e *Executable, a *arena, prof *Profiler) (err error) {
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
		var t0 time.Time
		if prof != nil {
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
			continue // no kernel ran: nothing to profile
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
		if prof != nil {
			prof.addLaunch(l, frame, e.opts.Device, a.id, t0, time.Since(t0))
		}
		for _, s := range l.release {
			frame[s] = nil
		}
	}
	return nil
}

func (pl *execPlan) kernel(env *ops.Env, a *arena, i int, l *launch) error {
	frame := a.frame
	tin, tout := a.tin[i], a.tout[i]
	for j, s := range l.in {
		if s >= 0 {
			t, ok := frame[s].(*tensor.Tensor)
			if !ok {
				return fmt.Errorf("node %v input %d: got %T, the operator takes tensors: %w", l.st.node, j, frame[s], ops.ErrInvalidNode)
			}
			tin[j] = t
		}
	}
	for k := range l.bind {
		b := &l.bind[k]
		switch b.kind {
		case bindArena:
			tout[k] = a.tensors[b.view]
		case bindHeap:
			t, err := tensor.New(b.dtype, b.shape)
			if err != nil {
				return fmt.Errorf("node %v output %d: %w", l.st.node, k, err)
			}
			tout[k] = t
		default:
			tout[k] = nil
		}
	}
	for _, v := range l.zero {
		clear(a.bytes[v])
	}
	if err := l.plan.Kernel(env, tin, tout); err != nil {
		clear(tin)
		return fmt.Errorf("node %v: %w", l.st.node, err)
	}
	for k, t := range tout {
		s := -1
		if k < len(l.out) {
			s = l.out[k]
		}
		if t == nil {
			if s >= 0 {
				return fmt.Errorf("node %v: kernel left output %d unset", l.st.node, k)
			}
			continue
		}
		if b := &l.bind[k]; (b.kind != bindArena || t != a.tensors[b.view]) && inArena(t) {
			// The kernel returned a view of an arena value instead of
			// the memory it was given: its lifetime was not planned.
			c, err := cloneTensor(t)
			if err != nil {
				return fmt.Errorf("node %v output %d: %w", l.st.node, k, err)
			}
			t = c
		}
		if s >= 0 {
			frame[s] = t
		}
	}
	clear(tin)
	clear(tout)
	return nil
}

func (pl *execPlan) view(a *arena, l *launch) error {
	b := &l.bind[0]
	if b.kind == bindArena {
		a.frame[l.out[0]] = a.tensors[b.view]
		return nil
	}
	in, ok := a.frame[l.in[0]].(*tensor.Tensor)
	if !ok {
		return fmt.Errorf("node %v input 0: got %T, want a tensor: %w", l.st.node, a.frame[l.in[0]], ops.ErrInvalidNode)
	}
	v, err := in.Reshape(b.shape)
	if err != nil {
		return fmt.Errorf("node %v: %w", l.st.node, err)
	}
	a.frame[l.out[0]] = v
	return nil
}

func (pl *execPlan) eval(ctx context.Context, env *ops.Env, frame []ops.Value, l *launch) error {
	in := make([]ops.Value, len(l.in))
	for j, s := range l.in {
		if s >= 0 {
			in[j] = frame[s]
		}
	}
	outs, err := l.plan.Eval(ctx, env, in)
	if err != nil {
		return fmt.Errorf("node %v: %w", l.st.node, err)
	}
	if len(outs) != len(l.out) {
		return fmt.Errorf("node %v: produced %d outputs, want %d", l.st.node, len(outs), len(l.out))
	}
	for k, s := range l.out {
		if s >= 0 {
			frame[s] = outs[k]
		}
	}
	return nil
}

// cloneTensor copies a tensor into fresh host memory.
func cloneTensor(t *tensor.Tensor) (*tensor.Tensor, error) {
	c, err := tensor.New(t.DType(), t.Shape())
	if err != nil {
		return nil, err
	}
	if t.DType() == tensor.String {
		s, err := t.Strings()
		if err != nil {
			return nil, err
		}
		return tensor.FromSlice(s, t.Shape()...)
	}
	src, ok1 := t.HostBytes()
	dst, ok2 := c.HostBytes()
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("copy of %s%v: not host memory", t.DType(), t.Shape())
	}
	copy(dst, src)
	return c, nil
}
