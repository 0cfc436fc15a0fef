package comm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// call is one operation in progress: its header template, deadline and
// the description its errors carry.
type call struct {
	c      *Communicator
	ctx    context.Context
	cancel context.CancelFunc
	start  time.Time
	h      Header
	rank   int
	size   int
	chunk  int64
}

// newCall starts an operation bounded by the communicator's timeout.
func (c *Communicator) newCall(ctx context.Context, h Header) *call {
	// Part of the timeout is kept for finding the hung rank after a wait
	// times out, so that the error still comes within the timeout.
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout-diagnosisTime(c.opts.Timeout))
	return &call{c: c, ctx: ctx, cancel: cancel, start: time.Now(), h: h, rank: c.rank, size: c.size, chunk: c.opts.ChunkBytes}
}

// op describes the call for errors: "rank 1: allreduce #7 (ring, float32×1000, sum)".
func (x *call) op() string {
	s := fmt.Sprintf("comm: rank %d: %v #%d (%v, %v×%d", x.rank, x.h.Coll, x.h.Seq, x.h.Algo, x.h.DType, x.h.Count)
	if x.h.Op != 0 {
		s += ", " + x.h.Op.String()
	}
	if x.h.Coll.rooted() {
		s += fmt.Sprintf(", root %d", x.h.Root)
	}
	return s + ")"
}

func (x *call) send(peer int, b []byte) error {
	h := x.h
	h.Len = int64(len(b))
	return x.wrap(peer, "sending to", x.c.tr.Send(x.ctx, peer, h, b))
}

// recv receives len(dst) bytes from peer into dst, or reduces them into it
// with red when red is not nil.
func (x *call) recv(peer int, dst []byte, red reducer) error {
	h := x.h
	h.Len = int64(len(dst))
	return x.wrap(peer, "receiving from", x.c.tr.Recv(x.ctx, peer, h, dst, red))
}

// wrap attributes a transport error to peer, turning the end of the
// call's context into a timeout naming the peer it was waiting for.
func (x *call) wrap(peer int, verb string, err error) error {
	if err == nil {
		return nil
	}
	var pe *PeerError
	if !errors.As(err, &pe) && x.ctx.Err() != nil {
		cause := context.Cause(x.ctx)
		switch {
		case errors.Is(cause, context.DeadlineExceeded):
			culprit, why := peer, ""
			if d, ok := x.c.tr.(diagnoser); ok {
				ctx, cancel := context.WithTimeout(context.Background(), diagnosisTime(x.c.opts.Timeout))
				culprit, why = d.diagnose(ctx, peer)
				cancel()
			}
			return &PeerError{Rank: culprit, Op: x.op(), Err: fmt.Errorf("%w after %v %s rank %d%s: %w",
				ErrTimeout, time.Since(x.start).Round(time.Millisecond), verb, peer, why, context.DeadlineExceeded)}
		case errors.Is(cause, context.Canceled):
			return fmt.Errorf("%s: %s rank %d: %w", x.op(), verb, peer, cause)
		default:
			return cause // a sibling branch's failure, already described
		}
	}
	return peerErr(x.op(), peer, err)
}

// parallel runs the branches at once (a ring's sender and receiver, an
// exchange's two directions) and returns the first failure, after the
// others have returned: a failure cancels them.
func (x *call) parallel(branches ...func(x *call) error) error {
	ctx, cancel := context.WithCancelCause(x.ctx)
	defer cancel(nil)
	sub := *x
	sub.ctx = ctx
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	run := func(b func(x *call) error) {
		if err := b(&sub); err != nil {
			mu.Lock()
			if first == nil {
				first = err
				cancel(err) // at once: the other branches may be waiting on this one
			}
			mu.Unlock()
		}
	}
	for _, b := range branches[1:] {
		wg.Go(func() { run(b) })
	}
	run(branches[0])
	wg.Wait()
	return first
}

// wait blocks for a pipeline signal, which comes from receiving from
// peer, or the end of the call.
func (x *call) wait(ready <-chan struct{}, peer int) error {
	select {
	case <-ready:
		return nil
	case <-x.ctx.Done():
		return x.wrap(peer, "receiving from", x.ctx.Err())
	}
}

// diagnosisTime is the part of a timeout kept for finding the hung rank.
func diagnosisTime(timeout time.Duration) time.Duration {
	return min(500*time.Millisecond, timeout/10)
}

// flush waits until the peers have read every buffer this call sent.
func (x *call) flush() error {
	if err := x.c.tr.Flush(x.ctx); err != nil {
		return x.wrap(x.rank, "flushing to", err)
	}
	return nil
}

// sendRecv sends out to one peer while receiving in from another (or the
// same): in one operation where the transport can (see exchanger), else
// in turn when the send is eager, else at once in two goroutines.
func (x *call) sendRecv(to int, out []byte, from int, in []byte, red reducer) error {
	if e, ok := x.c.tr.(exchanger); ok && e.exchanges(to, from) {
		ho, hi := x.h, x.h
		ho.Len, hi.Len = int64(len(out)), int64(len(in))
		return x.wrap(from, "exchanging with", e.sendRecv(x.ctx, to, ho, out, from, hi, in, red))
	}
	if x.eager(to, len(out)) {
		if err := x.send(to, out); err != nil {
			return err
		}
		return x.recv(from, in, red)
	}
	return x.parallel(
		func(x *call) error { return x.send(to, out) },
		func(x *call) error { return x.recv(from, in, red) })
}

// eager reports whether sending n bytes to peer completes without the
// peer receiving (see eagerer).
func (x *call) eager(peer, n int) bool { return x.eagerN(peer, n, 1) }

// eagerN: msgs such messages at once.
func (x *call) eagerN(peer, n, msgs int) bool {
	e, ok := x.c.tr.(eagerer)
	return ok && e.eager(peer, n, msgs)
}
