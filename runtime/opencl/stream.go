package opencl

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// A Stream is an in-order OpenCL command queue fed by one goroutine.
//
// Enqueueing never blocks and never calls OpenCL: it validates the
// arguments and appends to a Go queue. The stream's goroutine takes the
// work in order and submits it to the command queue without waiting (copies
// are non-blocking, with their host memory pinned until they complete).
// It waits only where the contract needs the host: before a host function
// (all earlier work must be done), on an event of another device or
// backend, and whenever the Go queue runs dry (clFinish), which is when
// Synchronize learns that the work is complete and when failed commands are
// found. A record is a marker; a wait on an event of the same device is a
// barrier on that marker, so streams of one device order each other on the
// device without a round trip through the host.
//
// In the error state (a host function failed, a command could not be
// submitted or failed on the device) later work is skipped until
// Synchronize reports the error, as the runtime contract says; records still
// complete, so that other streams waiting on them go on. Commands already
// submitted when a device-side failure is found have run.

type opKind uint8

const (
	opWrite opKind = iota
	opRead
	opCopy
	opLaunch
	opHost
	opRecord
	opWait        // an event of this device: a barrier on its marker
	opWaitHost    // an OpenCL event of another device: waited for by the goroutine
	opWaitForeign // another backend's event
)

// op is one item of the Go queue. Arguments are resolved at enqueue time;
// buffers are retained (clRetainMemObject) until the command is submitted,
// so a buffer freed early cannot vanish under it.
type op struct {
	kind    opKind
	seq     uint64
	host    []byte // write: source; read: destination
	dst     clMem
	src     clMem
	dstOff  int64
	srcOff  int64
	n       int64
	launch  *launchOp
	fn      func() error
	rec     *record
	event   *Event
	foreign runtime.Event
}

// inflight is a submitted command whose completion the goroutine checks at
// the next finish: its event (0 if none) and the host memory it pins.
type inflight struct {
	seq  uint64
	what string
	ev   clEvent
}

type waiter struct {
	target uint64
	ch     chan struct{}
}

// Stream is an in-order queue of work on one OpenCL device.
type Stream struct {
	dev *Device
	q   clQueue

	mu      sync.Mutex
	cond    sync.Cond
	queue   []op
	head    int
	enq     uint64 // ops enqueued; seqs are 1, 2, …
	done    uint64 // every op up to this seq is complete
	err     error
	errSeq  uint64
	waiters []waiter
	closed  bool
	exited  chan struct{}

	// Owned by the goroutine.
	dirty    bool // commands submitted since the last finish
	last     uint64
	inflight []inflight
	records  []*record // markers submitted since the last finish
	pinner   goruntime.Pinner
}

// maxInflight bounds the commands between two finishes, so that a producer
// that never synchronizes cannot grow the bookkeeping without bound.
const maxInflight = 512

func (d *Device) newStream() (*Stream, error) {
	leave, err := d.enter("new stream")
	if err != nil {
		return nil, err
	}
	defer leave()
	b := d.backend
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, fmt.Errorf("opencl: new stream: %w", runtime.ErrClosed)
	}
	q, err := d.lib.createQueue(d.ctx, d.id, d.clockOK)
	if err != nil {
		return nil, fmt.Errorf("opencl: %s: new stream: %w", d.props.ID(), err)
	}
	s := &Stream{dev: d, q: q, exited: make(chan struct{})}
	s.cond.L = &s.mu
	b.streams[s] = struct{}{}
	go s.loop()
	return s, nil
}

// Device returns the stream's device.
func (s *Stream) Device() runtime.Device { return s.dev }

func (s *Stream) enqueue(what string, o op) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		o.releaseRefs(s.dev.lib)
		return fmt.Errorf("opencl: %s: stream: %w", what, runtime.ErrClosed)
	}
	s.enq++
	o.seq = s.enq
	if o.kind == opRecord {
		// Under the stream lock, so that the event's latest record and the
		// queue order agree.
		o.event.latest.Store(o.rec)
	}
	s.queue = append(s.queue, o)
	s.mu.Unlock()
	s.cond.Signal()
	return nil
}

// releaseRefs drops the references an op took on its buffers (and kernel
// arguments) at enqueue time.
func (o *op) releaseRefs(l *lib) {
	if o.dst != 0 {
		call(l.clReleaseMemObject, uintptr(o.dst))
	}
	if o.src != 0 {
		call(l.clReleaseMemObject, uintptr(o.src))
	}
	if o.launch != nil {
		o.launch.release(l)
	}
}

func (s *Stream) loop() {
	defer close(s.exited)
	for {
		s.mu.Lock()
		for s.head == len(s.queue) && !s.closed {
			if s.dirty {
				s.mu.Unlock()
				s.finish()
				s.mu.Lock()
				continue
			}
			s.cond.Wait()
		}
		if s.head == len(s.queue) { // closed and drained
			s.mu.Unlock()
			if s.dirty {
				s.finish()
			}
			return
		}
		o := s.queue[s.head]
		s.queue[s.head] = op{}
		s.head++
		switch {
		case s.head == len(s.queue):
			s.queue, s.head = s.queue[:0], 0
		case s.head >= 256 && 2*s.head >= len(s.queue):
			n := copy(s.queue, s.queue[s.head:])
			clear(s.queue[n:])
			s.queue, s.head = s.queue[:n], 0
		}
		failed := s.err != nil
		s.mu.Unlock()

		err := s.run(&o, failed)
		o.releaseRefs(s.dev.lib)
		s.last = o.seq
		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err, s.errSeq = err, o.seq
		}
		if !s.dirty {
			s.done = o.seq
			s.wakeLocked()
		}
		s.mu.Unlock()
		if len(s.inflight) >= maxInflight {
			s.finish()
		}
	}
}

// finish waits for every submitted command, checks how each ended, unpins
// host memory, completes records and marks the work done.
func (s *Stream) finish() {
	l := s.dev.lib
	var errSeq uint64
	var ferr error
	if err := l.finishQueue(s.q); err != nil {
		ferr, errSeq = fmt.Errorf("opencl: %s: %w", s.dev.props.ID(), err), s.last
	}
	for _, f := range s.inflight {
		if f.ev != 0 {
			if st, err := l.eventStatus(f.ev); err == nil && st < 0 && ferr == nil {
				ferr, errSeq = fmt.Errorf("opencl: %s: %s failed: %w", s.dev.props.ID(), f.what, clError("command", st)), f.seq
			}
			l.release(f.ev)
		}
	}
	s.pinner.Unpin()
	clear(s.inflight)
	s.inflight = s.inflight[:0]
	for _, r := range s.records {
		r.complete()
	}
	clear(s.records)
	s.records = s.records[:0]
	s.dirty = false
	s.mu.Lock()
	if ferr != nil && s.err == nil {
		s.err, s.errSeq = ferr, errSeq
	}
	s.done = s.last
	s.wakeLocked()
	s.mu.Unlock()
}

func (s *Stream) wakeLocked() {
	if len(s.waiters) == 0 {
		return
	}
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if w.target <= s.done {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	clear(s.waiters[len(kept):])
	s.waiters = kept
}

// submitted notes a command handed to OpenCL.
func (s *Stream) submitted(seq uint64, what string, ev clEvent) {
	s.dirty = true
	if ev != 0 {
		s.inflight = append(s.inflight, inflight{seq: seq, what: what, ev: ev})
	}
}

// blockOn flushes the queue (so that work already submitted makes progress
// while the goroutine waits in Go) before a wait on the host side.
func (s *Stream) blockOn() {
	if s.dirty {
		_ = s.dev.lib.flushQueue(s.q)
	}
}

func (s *Stream) run(o *op, failed bool) error {
	l := s.dev.lib
	id := s.dev.props.ID()
	if o.kind == opRecord {
		var ev clEvent
		if err := l.enqueueMarker(s.q, &ev); err != nil {
			o.rec.resolve()
			return fmt.Errorf("opencl: %s: record: %w", id, err)
		}
		o.rec.submit(ev)
		s.submitted(o.seq, "record", 0)
		s.records = append(s.records, o.rec)
		// Others may wait on the marker from another queue: it must reach
		// the device without waiting for this stream's next finish.
		_ = l.flushQueue(s.q)
		return nil
	}
	if failed {
		return nil
	}
	switch o.kind {
	case opWrite, opRead:
		if o.n == 0 {
			return nil
		}
		// Pinned until the next finish, which waits for the copy.
		p := unsafe.Pointer(unsafe.SliceData(o.host))
		s.pinner.Pin(p)
		var ev clEvent
		var err error
		what := "copy to device"
		if o.kind == opWrite {
			err = l.enqueueWrite(s.q, o.dst, o.dstOff, o.n, p, &ev)
		} else {
			what = "copy to host"
			err = l.enqueueRead(s.q, o.src, o.srcOff, o.n, p, &ev)
		}
		if err != nil {
			return fmt.Errorf("opencl: %s: %s of %d bytes: %w", id, what, o.n, err)
		}
		s.submitted(o.seq, what, ev)
	case opCopy:
		if o.n == 0 || (o.dst == o.src && o.dstOff == o.srcOff) {
			return nil
		}
		var ev clEvent
		if err := l.enqueueCopy(s.q, o.src, o.dst, o.srcOff, o.dstOff, o.n, &ev); err != nil {
			return fmt.Errorf("opencl: %s: copy of %d bytes: %w", id, o.n, err)
		}
		s.submitted(o.seq, "copy", ev)
	case opLaunch:
		ev, err := o.launch.submit(s)
		if err != nil {
			return err
		}
		if ev != 0 {
			s.submitted(o.seq, fmt.Sprintf("kernel %q", o.launch.k.name), ev)
		}
	case opHost:
		if s.dirty {
			s.finish()
			s.mu.Lock()
			failed = s.err != nil
			s.mu.Unlock()
			if failed {
				return nil
			}
		}
		return runHost(o.fn)
	case opWait:
		if err := s.waitSubmitted(o.rec); err != nil {
			return err
		}
		ev, ok := o.rec.retained()
		if !ok {
			return nil // already reached
		}
		defer l.release(ev)
		if err := l.enqueueBarrier(s.q, ev); err != nil {
			return fmt.Errorf("opencl: %s: wait on event: %w", id, err)
		}
		s.submitted(o.seq, "wait", 0)
	case opWaitHost:
		s.blockOn()
		if err := o.rec.wait(s.dev.backend.ctx); err != nil {
			return fmt.Errorf("opencl: %s: wait on an event of %s: %w", id, o.rec.dev.props.ID(), closedErr(err))
		}
	case opWaitForeign:
		s.blockOn()
		if err := o.foreign.Synchronize(s.dev.backend.ctx); err != nil {
			return fmt.Errorf("opencl: %s: wait on event %T: %w", id, o.foreign, closedErr(err))
		}
	}
	return nil
}

// waitSubmitted blocks until the record's marker exists (its stream got to
// it), or the backend closes.
func (s *Stream) waitSubmitted(r *record) error {
	select {
	case <-r.submitted:
		return nil
	default:
	}
	s.blockOn()
	select {
	case <-r.submitted:
		return nil
	case <-s.dev.backend.ctx.Done():
		return fmt.Errorf("opencl: %s: wait on event: backend closed: %w", s.dev.props.ID(), runtime.ErrClosed)
	}
}

// closedErr marks a wait cut short by the backend's Close.
func closedErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("backend closed: %w", runtime.ErrClosed)
	}
	return err
}

// runHost runs a host function, turning a panic into an error: host
// functions are user code, and a panic on the stream's goroutine would take
// the process down.
func runHost(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if pe, ok := p.(error); ok {
				err = fmt.Errorf("opencl: host func panicked: %w", pe)
			} else {
				err = fmt.Errorf("opencl: host func panicked: %v", p)
			}
		}
	}()
	if err := fn(); err != nil {
		return fmt.Errorf("opencl: host func: %w", err)
	}
	return nil
}

// retainMem takes a reference on a buffer's memory for an op in the queue.
func (s *Stream) retainMem(b *Buffer) clMem {
	if b.mem != 0 {
		call(s.dev.lib.clRetainMemObject, uintptr(b.mem))
	}
	return b.mem
}

// CopyToDevice copies src into dst at dstOff. src must stay unmodified
// until the copy completes.
func (s *Stream) CopyToDevice(dst runtime.Buffer, dstOff int64, src []byte) error {
	b, size, err := s.dev.deviceBuffer(dst)
	if err != nil {
		return fmt.Errorf("opencl: copy to device: %w", err)
	}
	n := int64(len(src))
	if err := runtime.CheckRange("opencl: copy to device: destination", size, dstOff, n); err != nil {
		return err
	}
	o := op{kind: opWrite, host: src, dstOff: dstOff, n: n}
	if n > 0 {
		o.dst = s.retainMem(b)
	}
	return s.enqueue("copy to device", o)
}

// CopyToHost copies len(dst) bytes of src at srcOff into dst, which must
// not be read until the copy completes.
func (s *Stream) CopyToHost(dst []byte, src runtime.Buffer, srcOff int64) error {
	b, size, err := s.dev.deviceBuffer(src)
	if err != nil {
		return fmt.Errorf("opencl: copy to host: %w", err)
	}
	n := int64(len(dst))
	if err := runtime.CheckRange("opencl: copy to host: source", size, srcOff, n); err != nil {
		return err
	}
	o := op{kind: opRead, host: dst, srcOff: srcOff, n: n}
	if n > 0 {
		o.src = s.retainMem(b)
	}
	return s.enqueue("copy to host", o)
}

// Copy copies n bytes between buffers of the device. Partially overlapping
// ranges of one buffer are ErrInvalidArgument (OpenCL forbids them too);
// a range copied onto itself is a no-op.
func (s *Stream) Copy(dst runtime.Buffer, dstOff int64, src runtime.Buffer, srcOff int64, n int64) error {
	db, dsize, err := s.dev.deviceBuffer(dst)
	if err != nil {
		return fmt.Errorf("opencl: copy: destination: %w", err)
	}
	sb, ssize, err := s.dev.deviceBuffer(src)
	if err != nil {
		return fmt.Errorf("opencl: copy: source: %w", err)
	}
	if err := runtime.CheckRange("opencl: copy: destination", dsize, dstOff, n); err != nil {
		return err
	}
	if err := runtime.CheckRange("opencl: copy: source", ssize, srcOff, n); err != nil {
		return err
	}
	if db == sb && dstOff != srcOff && dstOff < srcOff+n && srcOff < dstOff+n {
		return fmt.Errorf("opencl: copy: %d bytes between partially overlapping ranges: %w", n, runtime.ErrInvalidArgument)
	}
	o := op{kind: opCopy, dstOff: dstOff, srcOff: srcOff, n: n}
	if n > 0 {
		o.dst, o.src = s.retainMem(db), s.retainMem(sb)
	}
	return s.enqueue("copy", o)
}

// Launch enqueues a kernel launch: a [Launch] or *Launch. Other kernel
// types are ErrUnsupported; bad arguments are ErrInvalidArgument.
func (s *Stream) Launch(k runtime.Kernel) error {
	var l Launch
	switch k := k.(type) {
	case Launch:
		l = k
	case *Launch:
		if k == nil {
			return fmt.Errorf("opencl: launch: nil kernel: %w", runtime.ErrInvalidArgument)
		}
		l = *k
	case nil:
		return fmt.Errorf("opencl: launch: nil kernel: %w", runtime.ErrInvalidArgument)
	default:
		return fmt.Errorf("opencl: launch: kernel type %T: %w", k, runtime.ErrUnsupported)
	}
	lo, err := s.prepareLaunch(&l)
	if err != nil {
		return err
	}
	return s.enqueue("launch", op{kind: opLaunch, launch: lo})
}

// HostFunc enqueues fn to run once all earlier work has completed.
func (s *Stream) HostFunc(fn func() error) error {
	if fn == nil {
		return fmt.Errorf("opencl: host func: nil function: %w", runtime.ErrInvalidArgument)
	}
	return s.enqueue("host func", op{kind: opHost, fn: fn})
}

// Record enqueues a record of e, an event of this device.
func (s *Stream) Record(e runtime.Event) error {
	ev, ok := e.(*Event)
	if !ok || ev == nil {
		return fmt.Errorf("opencl: record: event %T is not an OpenCL event: %w", e, runtime.ErrInvalidArgument)
	}
	if ev.dev != s.dev {
		return fmt.Errorf("opencl: record: event of %s on a stream of %s: %w", ev.dev.props.ID(), s.dev.props.ID(), runtime.ErrInvalidArgument)
	}
	return s.enqueue("record", op{kind: opRecord, rec: newRecord(s.dev), event: ev})
}

// Wait makes later work wait for e: the record latest at the time of the
// call for an OpenCL event, whatever is latest when the stream gets there
// for another backend's.
func (s *Stream) Wait(e runtime.Event) error {
	switch ev := e.(type) {
	case nil:
		return fmt.Errorf("opencl: wait: nil event: %w", runtime.ErrInvalidArgument)
	case *Event:
		if ev == nil {
			return fmt.Errorf("opencl: wait: nil event: %w", runtime.ErrInvalidArgument)
		}
		r := ev.latestOrReached()
		kind := opWaitHost
		if r.dev == s.dev {
			kind = opWait
		}
		return s.enqueue("wait", op{kind: kind, rec: r})
	default:
		return s.enqueue("wait", op{kind: opWaitForeign, foreign: e})
	}
}

// Synchronize waits until the work enqueued before the call is complete,
// then returns (and clears) the error that work raised.
func (s *Stream) Synchronize(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("opencl: stream synchronize: nil context: %w", runtime.ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("opencl: stream synchronize: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("opencl: stream synchronize: %w", runtime.ErrClosed)
	}
	target := s.enq
	if s.done < target {
		ch := make(chan struct{})
		s.waiters = append(s.waiters, waiter{target: target, ch: ch})
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			for i, w := range s.waiters {
				if w.ch == ch {
					s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
					break
				}
			}
			s.mu.Unlock()
			return fmt.Errorf("opencl: stream synchronize: %w", ctx.Err())
		}
		s.mu.Lock()
	}
	var err error
	if s.err != nil && s.errSeq <= target {
		err, s.err = s.err, nil
	}
	s.mu.Unlock()
	return err
}

// Close waits for pending work, releases the command queue and returns any
// error the work raised that no Synchronize reported.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("opencl: close stream: %w", runtime.ErrClosed)
	}
	s.closed = true
	s.mu.Unlock()
	s.cond.Signal()
	<-s.exited
	call(s.dev.lib.clReleaseCommandQueue, uintptr(s.q))
	s.dev.backend.forget(s)
	s.mu.Lock()
	err := s.err
	s.err = nil
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("opencl: close stream: unreported error: %w", err)
	}
	return nil
}
