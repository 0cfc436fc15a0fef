package comm

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// spec is one collective call as the tensor API hands it to the machinery
// that stages tensors, numbers the call, picks its algorithm and runs it.
type spec struct {
	h       Header           // Coll, Op, DType, Root, Count; Seq and Algo filled in
	wire    int64            // bytes per rank on the wire, for the cost model
	tensors []*tensor.Tensor // operands; nil where a rank has none
	read    []bool           // which operands the call reads
	write   []bool           // which it writes
	body    func(x *call, v [][]byte) error
}

// run makes a blocking call: stage in, run, stage out.
func (c *Communicator) run(ctx context.Context, sp spec) error {
	views := make([]hostView, len(sp.tensors))
	vb := make([][]byte, len(sp.tensors))
	for i, t := range sp.tensors {
		if t == nil {
			continue
		}
		if i > 0 && sameStorage(t, sp.tensors[0]) && views[0].t != nil {
			views[i], vb[i] = views[0], views[0].b
			continue
		}
		v, err := view(ctx, t, sp.read[i])
		if err != nil {
			return err
		}
		views[i], vb[i] = v, v.b
	}
	if err := c.exec(ctx, sp, vb); err != nil {
		return err
	}
	for i, v := range views {
		// An in-place call shares operand 0's view: flush it once, as
		// the written operand.
		if v.t != nil && sp.write[i] {
			if err := v.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// exec runs a call on host bytes, one collective at a time; a failure
// aborts the communicator.
func (c *Communicator) exec(ctx context.Context, sp spec, v [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Err(); err != nil {
		return err
	}
	c.seq++
	h := sp.h
	h.Seq = c.seq
	h.Algo = c.Algorithm(h.Coll, sp.wire)
	if c.size == 1 {
		h.Algo = direct // nothing to send
	}
	x := c.newCall(ctx, h)
	defer x.cancel()
	err := sp.body(x, v)
	if err == nil {
		err = x.flush()
	}
	if err != nil {
		c.fail(err)
		return err
	}
	return nil
}

// Stream is a communicator whose calls are enqueued on a runtime stream,
// in order with the stream's other work (NCCL's and HCCL's model): each
// call returns once enqueued; device operands are copied to the host and
// back by copies on the same stream; failures surface from the stream's
// Synchronize. Operands must stay untouched until then.
type Stream struct {
	c *Communicator
	s runtime.Stream
}

// On returns c's calls enqueued on s. Device operands must be on s's
// device.
func (c *Communicator) On(s runtime.Stream) *Stream { return &Stream{c: c, s: s} }

func (q *Stream) enqueue(sp spec, err error) error {
	if err != nil {
		return err
	}
	views, finish, err := enqueueViews(q.s, sp.tensors, sp.read, sp.write)
	if err != nil {
		return err
	}
	if err := q.s.HostFunc(func() error { return q.c.exec(context.Background(), sp, views) }); err != nil {
		return fmt.Errorf("comm: enqueue %v: %w", sp.h.Coll, err)
	}
	return finish()
}

// checkOperands validates dtype and element counts before anything is
// sent, so a bad call fails here rather than as a peer's mismatch.
func checkOperands(what string, send, recv *tensor.Tensor, sendLen, recvLen int) error {
	for _, t := range []*tensor.Tensor{send, recv} {
		if t == nil {
			continue
		}
		if dt := t.DType(); !dt.Valid() || dt == tensor.String {
			return fmt.Errorf("comm: %s: %v tensors cannot be communicated: %w", what, dt, runtime.ErrUnsupported)
		}
	}
	if send != nil && recv != nil && send.DType() != recv.DType() {
		return fmt.Errorf("comm: %s: send is %v, recv %v: %w", what, send.DType(), recv.DType(), runtime.ErrInvalidArgument)
	}
	if send != nil && send.Len() != sendLen {
		return fmt.Errorf("comm: %s: send has %d elements, want %d: %w", what, send.Len(), sendLen, runtime.ErrInvalidArgument)
	}
	if recv != nil && recv.Len() != recvLen {
		return fmt.Errorf("comm: %s: recv has %d elements, want %d: %w", what, recv.Len(), recvLen, runtime.ErrInvalidArgument)
	}
	return nil
}

func (c *Communicator) checkRoot(what string, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("comm: %s: root %d outside a world of %d: %w", what, root, c.size, runtime.ErrInvalidArgument)
	}
	return nil
}

func nilTensor(what, name string) error {
	return fmt.Errorf("comm: %s: nil %s tensor: %w", what, name, runtime.ErrInvalidArgument)
}

// AllReduce combines send over all ranks with op, leaving the result in
// recv on every rank. send and recv may be the same tensor; they may live
// on any device.
func (c *Communicator) AllReduce(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp) error {
	sp, err := c.allReduceSpec(send, recv, op)
	if err != nil {
		return err
	}
	return c.run(ctx, sp)
}

// AllReduce enqueues Communicator.AllReduce.
func (q *Stream) AllReduce(send, recv *tensor.Tensor, op ReduceOp) error {
	return q.enqueue(q.c.allReduceSpec(send, recv, op))
}

func (c *Communicator) allReduceSpec(send, recv *tensor.Tensor, op ReduceOp) (spec, error) {
	const what = "allreduce"
	if send == nil || recv == nil {
		return spec{}, nilTensor(what, "send or recv")
	}
	if err := checkOperands(what, send, recv, send.Len(), send.Len()); err != nil {
		return spec{}, err
	}
	dt, n := send.DType(), send.Len()
	if err := checkReducible(dt, op); err != nil {
		return spec{}, err
	}
	wt := wireType(dt)
	return spec{
		h:       Header{Coll: CollAllReduce, Op: op, DType: dt, Count: int64(n)},
		wire:    wireBytes(CollAllReduce, dt, n, c.size),
		tensors: []*tensor.Tensor{send, recv}, read: []bool{true, false}, write: []bool{false, true},
		body: func(x *call, v [][]byte) error {
			red := reducerFor(wt, op)
			var err error
			switch x.h.Algo {
			case Ring, HalvingDoubling:
				// These read the send buffer where it has not been
				// reduced into recv yet: no copy first.
				work, src := v[1], v[0]
				if wt != dt {
					work = wideCopy(dt, v[1], v[0])
					src = work
				}
				first := touching(work, src, red, sumOfFor(wt, op))
				if x.h.Algo == Ring {
					err = x.ringAllReduce(work, src, wt.Size(), first)
				} else {
					err = x.rhdAllReduce(work, src, wt.Size(), red, first)
				}
				if err == nil {
					finish(dt, op, v[1], work, x.size)
				}
				return err
			}
			work := wideCopy(dt, v[1], v[0])
			if x.h.Algo == Tree {
				if err = x.treeReduce(work, 0, red); err == nil {
					err = x.treeBroadcast(work, 0)
				}
			}
			if err == nil { // and a world of one (direct) has nothing to do
				finish(dt, op, v[1], work, x.size)
			}
			return err
		},
	}, nil
}

// wireBytes is what the cost model weighs for a call with the header's
// count: the bytes per rank of the largest buffer, in the type that
// travels (float32 for reductions of half types).
func wireBytes(coll Collective, dt tensor.DType, count, p int) int64 {
	es := int64(dt.Size())
	switch coll {
	case CollAllReduce, CollReduce, CollReduceScatter:
		es = int64(wireType(dt).Size())
	}
	switch coll {
	case CollAllGather, CollReduceScatter:
		return int64(count) * int64(p) * es
	}
	return int64(count) * es
}

// AlgorithmFor is the algorithm a call would use, count being the
// elements of the call as its header counts them: per rank for AllReduce,
// Broadcast, Reduce and AllToAll, of send for AllGather and of recv for
// ReduceScatter.
func (c *Communicator) AlgorithmFor(coll Collective, dt tensor.DType, count int) Algorithm {
	if c.size == 1 {
		return direct
	}
	return c.Algorithm(coll, wireBytes(coll, dt, count, c.size))
}

// wideCopy returns the buffer a reduction works in: recv holding a copy of
// send, or for half types a new float32 buffer holding send widened.
func wideCopy(dt tensor.DType, recv, send []byte) []byte {
	if wt := wireType(dt); wt != dt {
		work := alignedBytes(len(send) / dt.Size() * wt.Size())
		widen(dt, work, send)
		return work
	}
	if !sameBytes(recv, send) {
		copy(recv, send)
	}
	return recv
}

// finish divides for Avg and narrows half types from work into recv.
func finish(dt tensor.DType, op ReduceOp, recv, work []byte, p int) {
	wt := wireType(dt)
	if op == Avg {
		finishAvg(wt, work, p)
	}
	if wt != dt {
		narrow(dt, recv, work)
	}
}

// Broadcast copies root's t into t on every other rank.
func (c *Communicator) Broadcast(ctx context.Context, t *tensor.Tensor, root int) error {
	sp, err := c.broadcastSpec(t, root)
	if err != nil {
		return err
	}
	return c.run(ctx, sp)
}

// Broadcast enqueues Communicator.Broadcast.
func (q *Stream) Broadcast(t *tensor.Tensor, root int) error {
	return q.enqueue(q.c.broadcastSpec(t, root))
}

func (c *Communicator) broadcastSpec(t *tensor.Tensor, root int) (spec, error) {
	const what = "broadcast"
	if t == nil {
		return spec{}, nilTensor(what, "")
	}
	if err := checkOperands(what, t, nil, t.Len(), 0); err != nil {
		return spec{}, err
	}
	if err := c.checkRoot(what, root); err != nil {
		return spec{}, err
	}
	es := t.DType().Size()
	isRoot := c.rank == root
	return spec{
		h:       Header{Coll: CollBroadcast, DType: t.DType(), Root: int32(root), Count: int64(t.Len())},
		wire:    wireBytes(CollBroadcast, t.DType(), t.Len(), c.size),
		tensors: []*tensor.Tensor{t}, read: []bool{isRoot}, write: []bool{!isRoot},
		body: func(x *call, v [][]byte) error {
			switch x.h.Algo {
			case Ring:
				return x.chainBroadcast(v[0], es, root)
			case Tree:
				return x.treeBroadcast(v[0], root)
			}
			return nil
		},
	}, nil
}

// Reduce combines send over all ranks with op into recv on root. recv is
// used only on root and may be nil elsewhere.
func (c *Communicator) Reduce(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp, root int) error {
	sp, err := c.reduceSpec(send, recv, op, root)
	if err != nil {
		return err
	}
	return c.run(ctx, sp)
}

// Reduce enqueues Communicator.Reduce.
func (q *Stream) Reduce(send, recv *tensor.Tensor, op ReduceOp, root int) error {
	return q.enqueue(q.c.reduceSpec(send, recv, op, root))
}

func (c *Communicator) reduceSpec(send, recv *tensor.Tensor, op ReduceOp, root int) (spec, error) {
	const what = "reduce"
	if err := c.checkRoot(what, root); err != nil {
		return spec{}, err
	}
	isRoot := c.rank == root
	if send == nil || isRoot && recv == nil {
		return spec{}, nilTensor(what, "send or recv")
	}
	if !isRoot {
		recv = nil
	}
	if err := checkOperands(what, send, recv, send.Len(), send.Len()); err != nil {
		return spec{}, err
	}
	dt, n := send.DType(), send.Len()
	if err := checkReducible(dt, op); err != nil {
		return spec{}, err
	}
	wt := wireType(dt)
	return spec{
		h:       Header{Coll: CollReduce, Op: op, DType: dt, Root: int32(root), Count: int64(n)},
		wire:    wireBytes(CollReduce, dt, n, c.size),
		tensors: []*tensor.Tensor{send, recv}, read: []bool{true, false}, write: []bool{false, isRoot},
		body: func(x *call, v [][]byte) error {
			var work []byte
			if isRoot {
				work = wideCopy(dt, v[1], v[0])
			} else {
				work = wideCopy(dt, alignedBytes(len(v[0])), v[0]) // scratch: send stays as it was
			}
			red := reducerFor(wt, op)
			var err error
			switch x.h.Algo {
			case Ring:
				err = x.chainReduce(work, wt.Size(), root, red)
			case Tree:
				err = x.treeReduce(work, root, red)
			}
			if err != nil || !isRoot {
				return err
			}
			finish(dt, op, v[1], work, x.size)
			return nil
		},
	}, nil
}

// AllGather concatenates every rank's send, in rank order, into recv on
// every rank: recv has Size() times send's elements.
func (c *Communicator) AllGather(ctx context.Context, send, recv *tensor.Tensor) error {
	sp, err := c.allGatherSpec(send, recv)
	if err != nil {
		return err
	}
	return c.run(ctx, sp)
}

// AllGather enqueues Communicator.AllGather.
func (q *Stream) AllGather(send, recv *tensor.Tensor) error {
	return q.enqueue(q.c.allGatherSpec(send, recv))
}

func (c *Communicator) allGatherSpec(send, recv *tensor.Tensor) (spec, error) {
	const what = "allgather"
	if send == nil || recv == nil {
		return spec{}, nilTensor(what, "send or recv")
	}
	n := send.Len()
	if err := checkOperands(what, send, recv, n, n*c.size); err != nil {
		return spec{}, err
	}
	es := send.DType().Size()
	return spec{
		h:       Header{Coll: CollAllGather, DType: send.DType(), Count: int64(n)},
		wire:    wireBytes(CollAllGather, send.DType(), n, c.size),
		tensors: []*tensor.Tensor{send, recv}, read: []bool{true, false}, write: []bool{false, true},
		body: func(x *call, v [][]byte) error {
			bs := len(v[0])
			copy(v[1][x.rank*bs:(x.rank+1)*bs], v[0])
			switch x.h.Algo {
			case Ring:
				return x.ringAllGather(v[1], es)
			case HalvingDoubling:
				return x.rhdAllGather(v[1])
			}
			return nil
		},
	}, nil
}

// ReduceScatter combines send (Size() blocks of recv's length) over all
// ranks with op and leaves block r of the result in rank r's recv.
func (c *Communicator) ReduceScatter(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp) error {
	sp, err := c.reduceScatterSpec(send, recv, op)
	if err != nil {
		return err
	}
	return c.run(ctx, sp)
}

// ReduceScatter enqueues Communicator.ReduceScatter.
func (q *Stream) ReduceScatter(send, recv *tensor.Tensor, op ReduceOp) error {
	return q.enqueue(q.c.reduceScatterSpec(send, recv, op))
}

func (c *Communicator) reduceScatterSpec(send, recv *tensor.Tensor, op ReduceOp) (spec, error) {
	const what = "reducescatter"
	if send == nil || recv == nil {
		return spec{}, nilTensor(what, "send or recv")
	}
	n := recv.Len()
	if err := checkOperands(what, send, recv, n*c.size, n); err != nil {
		return spec{}, err
	}
	dt := send.DType()
	if err := checkReducible(dt, op); err != nil {
		return spec{}, err
	}
	wt := wireType(dt)
	return spec{
		h:       Header{Coll: CollReduceScatter, Op: op, DType: dt, Count: int64(n)},
		wire:    wireBytes(CollReduceScatter, dt, n, c.size),
		tensors: []*tensor.Tensor{send, recv}, read: []bool{true, false}, write: []bool{false, true},
		body: func(x *call, v [][]byte) error {
			work := wideCopy(dt, alignedBytes(len(v[0])), v[0])
			red := reducerFor(wt, op)
			var err error
			switch x.h.Algo {
			case Ring:
				err = x.ringReduceScatter(work, wt.Size(), red)
			case HalvingDoubling:
				err = x.rhdReduceScatter(work, wt.Size(), red)
			}
			if err != nil {
				return err
			}
			bs := len(work) / x.size
			mine := work[x.rank*bs : (x.rank+1)*bs]
			if op == Avg {
				finishAvg(wt, mine, x.size)
			}
			if wt != dt {
				narrow(dt, v[1], mine)
			} else {
				copy(v[1], mine)
			}
			return nil
		},
	}, nil
}

// AllToAll sends block i of send (Size() equal blocks) to rank i, which
// stores it as block r of its recv.
func (c *Communicator) AllToAll(ctx context.Context, send, recv *tensor.Tensor) error {
	sp, err := c.allToAllSpec(send, recv)
	if err != nil {
		return err
	}
	return c.run(ctx, sp)
}

// AllToAll enqueues Communicator.AllToAll.
func (q *Stream) AllToAll(send, recv *tensor.Tensor) error {
	return q.enqueue(q.c.allToAllSpec(send, recv))
}

func (c *Communicator) allToAllSpec(send, recv *tensor.Tensor) (spec, error) {
	const what = "alltoall"
	if send == nil || recv == nil {
		return spec{}, nilTensor(what, "send or recv")
	}
	n := send.Len()
	if err := checkOperands(what, send, recv, n, n); err != nil {
		return spec{}, err
	}
	if n%c.size != 0 {
		return spec{}, fmt.Errorf("comm: %s: %d elements do not split into %d blocks: %w", what, n, c.size, runtime.ErrInvalidArgument)
	}
	return spec{
		h:       Header{Coll: CollAllToAll, DType: send.DType(), Count: int64(n)},
		wire:    wireBytes(CollAllToAll, send.DType(), n, c.size),
		tensors: []*tensor.Tensor{send, recv}, read: []bool{true, false}, write: []bool{false, true},
		body: func(x *call, v [][]byte) error {
			src := v[0]
			if sameBytes(v[0], v[1]) { // in place: blocks would be overwritten before they are sent
				src = alignedBytes(len(v[0]))
				copy(src, v[0])
			}
			return x.pairwiseAllToAll(src, v[1])
		},
	}, nil
}

// Barrier returns once every rank has called it.
func (c *Communicator) Barrier(ctx context.Context) error {
	return c.exec(ctx, barrierSpec(), nil)
}

// Barrier enqueues Communicator.Barrier: later work on the stream waits
// for every rank to reach it.
func (q *Stream) Barrier() error { return q.enqueue(barrierSpec(), nil) }

func barrierSpec() spec {
	return spec{
		h:    Header{Coll: CollBarrier, DType: tensor.Uint8},
		body: func(x *call, _ [][]byte) error { return x.disseminationBarrier() },
	}
}

// alignedBytes returns n zeroed bytes aligned for any element type.
func alignedBytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), n)
}

// sameBytes reports whether a and b are the same memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}
