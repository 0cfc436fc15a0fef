package cpu

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// Func is the CPU backend's kernel: a Go function run on the stream's
// goroutine, which spreads its loops with Exec.Workers().ParallelFor.
// Launch accepts a Func or a *Func.
type Func struct {
	Name string
	Fn   func(*Exec) error
}

// KernelName is f.Name.
func (f Func) KernelName() string { return f.Name }

// Exec is what a running kernel is given. It is valid only during the
// kernel's call.
type Exec struct {
	s *Stream
}

// Workers is the backend's worker pool.
func (x *Exec) Workers() *Workers { return x.s.dev.backend.workers }

// Device is the device the kernel runs on.
func (x *Exec) Device() *Device { return x.s.dev }

// Bytes returns the memory of a host-accessible buffer itself (Size bytes),
// reaching through pool wrappers with runtime.Unwrap if needed. It fails for
// buffers whose memory the host cannot address, and for freed CPU buffers.
func (x *Exec) Bytes(b runtime.Buffer) ([]byte, error) {
	mem, err := hostBytes(b)
	if err != nil {
		return nil, fmt.Errorf("cpu: kernel buffer: %w", err)
	}
	return mem, nil
}

// PanicError is the stream error left by a kernel or host function that
// panicked. It unwraps to the panic value when that is an error.
type PanicError struct {
	Where string // `kernel "name"` or "host func"
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string { return fmt.Sprintf("cpu: %s panicked: %v", e.Where, e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// runKernel and runHost turn a panic into a *PanicError: kernels and host
// functions are user code, and a panic on a stream's goroutine would
// otherwise take the whole process down.
func (s *Stream) runKernel(f Func) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Where: fmt.Sprintf("kernel %q", f.Name), Value: p, Stack: debug.Stack()}
		}
	}()
	if err := f.Fn(&s.exec); err != nil {
		return fmt.Errorf("cpu: kernel %q: %w", f.Name, err)
	}
	return nil
}

func runHost(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Where: "host func", Value: p, Stack: debug.Stack()}
		}
	}()
	if err := fn(); err != nil {
		return fmt.Errorf("cpu: host func: %w", err)
	}
	return nil
}

type opKind uint8

const (
	opCopy opKind = iota
	opKernel
	opHost
	opRecord
	opWait
	opWaitForeign
)

// op is one item of a stream's queue. Arguments are resolved to host
// slices at enqueue time, so running an op checks nothing.
type op struct {
	kind    opKind
	seq     uint64
	dst     []byte
	src     []byte
	kernel  Func
	fn      func() error
	rec     *record
	event   *Event        // opRecord: whose latest record rec becomes
	foreign runtime.Event // opWaitForeign
}

// waiter is a Synchronize blocked until op seq target has run.
type waiter struct {
	target uint64
	ch     chan struct{}
}

// Stream is an in-order queue of work served by one goroutine. Enqueueing
// never blocks: the queue is a slice guarded by a mutex, and the goroutine
// sleeps on a condition variable when it is empty.
//
// Synchronize and Close must not be called from a host function or kernel
// on the same stream: they would wait for themselves.
type Stream struct {
	dev  *Device
	exec Exec

	mu      sync.Mutex
	cond    sync.Cond // signalled when work arrives or the stream closes
	queue   []op
	head    int    // queue[head:] is pending
	enq     uint64 // ops enqueued; op seq numbers are 1, 2, ...
	done    uint64 // seq of the last op run (or skipped)
	err     error  // sticky error, raised by op errSeq
	errSeq  uint64
	waiters []waiter
	closed  bool
	exited  chan struct{} // closed when the goroutine returns
}

func newStream(d *Device) *Stream {
	s := &Stream{dev: d, exited: make(chan struct{})}
	s.exec.s = s
	s.cond.L = &s.mu
	go s.loop()
	return s
}

// Device returns the CPU device.
func (s *Stream) Device() runtime.Device { return s.dev }

// enqueue appends o to the queue, or fails with ErrClosed.
func (s *Stream) enqueue(what string, o op) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("cpu: %s: stream: %w", what, runtime.ErrClosed)
	}
	s.enq++
	o.seq = s.enq
	if o.kind == opRecord {
		// Under the stream lock, so that the event's latest record and the
		// queue order agree with each other.
		o.event.latest.Store(o.rec)
	}
	s.queue = append(s.queue, o)
	s.mu.Unlock()
	s.cond.Signal()
	return nil
}

func (s *Stream) loop() {
	defer close(s.exited)
	s.mu.Lock()
	for {
		for s.head == len(s.queue) && !s.closed {
			s.cond.Wait()
		}
		if s.head == len(s.queue) { // closed and drained
			s.mu.Unlock()
			return
		}
		o := s.queue[s.head]
		s.queue[s.head] = op{} // drop references for the collector
		s.head++
		switch {
		case s.head == len(s.queue):
			s.queue, s.head = s.queue[:0], 0
		case s.head >= 256 && 2*s.head >= len(s.queue):
			// A queue that never empties: slide the pending part down so
			// that the slice does not grow without bound.
			n := copy(s.queue, s.queue[s.head:])
			clear(s.queue[n:])
			s.queue, s.head = s.queue[:n], 0
		}
		failed := s.err != nil
		s.mu.Unlock()

		err := s.run(&o, failed)

		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err, s.errSeq = err, o.seq
		}
		s.done = o.seq
		if len(s.waiters) > 0 {
			s.wakeLocked()
		}
	}
}

// wakeLocked releases the Synchronize calls whose work is done.
func (s *Stream) wakeLocked() {
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

// run performs one op. In the error state work is skipped, but records still
// complete, so that other streams waiting on them are not stuck forever.
func (s *Stream) run(o *op, failed bool) error {
	if o.kind == opRecord {
		o.rec.t = time.Now()
		close(o.rec.done)
		return nil
	}
	if failed {
		return nil
	}
	switch o.kind {
	case opCopy:
		s.copy(o.dst, o.src)
	case opKernel:
		return s.runKernel(o.kernel)
	case opHost:
		return runHost(o.fn)
	case opWait:
		select {
		case <-o.rec.done:
		default:
			select {
			case <-o.rec.done:
			case <-s.dev.backend.ctx.Done():
				return fmt.Errorf("cpu: stream wait on event: backend closed: %w", runtime.ErrClosed)
			}
		}
	case opWaitForeign:
		if err := o.foreign.Synchronize(s.dev.backend.ctx); err != nil {
			return fmt.Errorf("cpu: stream wait on event %T: %w", o.foreign, err)
		}
	}
	return nil
}

// parallelCopyMin is the size from which a copy is split over the workers:
// below it one core already saturates what a split would gain.
const parallelCopyMin = 4 << 20

func (s *Stream) copy(dst, src []byte) {
	w := s.dev.backend.workers
	if len(dst) < parallelCopyMin || w.Threads() == 1 {
		copy(dst, src)
		return
	}
	w.ParallelFor(len(dst), 1<<20, func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
}

// CopyToDevice copies src into dst at dstOff.
func (s *Stream) CopyToDevice(dst runtime.Buffer, dstOff int64, src []byte) error {
	mem, err := s.dev.deviceBytes(dst)
	if err != nil {
		return fmt.Errorf("cpu: copy to device: %w", err)
	}
	n := int64(len(src))
	if err := runtime.CheckRange("cpu: copy to device: destination", int64(len(mem)), dstOff, n); err != nil {
		return err
	}
	return s.enqueue("copy to device", op{kind: opCopy, dst: mem[dstOff : dstOff+n], src: src})
}

// CopyToHost copies len(dst) bytes of src at srcOff into dst.
func (s *Stream) CopyToHost(dst []byte, src runtime.Buffer, srcOff int64) error {
	mem, err := s.dev.deviceBytes(src)
	if err != nil {
		return fmt.Errorf("cpu: copy to host: %w", err)
	}
	n := int64(len(dst))
	if err := runtime.CheckRange("cpu: copy to host: source", int64(len(mem)), srcOff, n); err != nil {
		return err
	}
	return s.enqueue("copy to host", op{kind: opCopy, dst: dst, src: mem[srcOff : srcOff+n]})
}

// Copy copies n bytes from src at srcOff to dst at dstOff. Partially
// overlapping ranges are rejected (ErrInvalidArgument), as the contract
// allows only identical ones: the CPU could copy them, but a program that
// relies on it would break on other backends.
func (s *Stream) Copy(dst runtime.Buffer, dstOff int64, src runtime.Buffer, srcOff int64, n int64) error {
	dmem, err := s.dev.deviceBytes(dst)
	if err != nil {
		return fmt.Errorf("cpu: copy: destination: %w", err)
	}
	smem, err := s.dev.deviceBytes(src)
	if err != nil {
		return fmt.Errorf("cpu: copy: source: %w", err)
	}
	if err := runtime.CheckRange("cpu: copy: destination", int64(len(dmem)), dstOff, n); err != nil {
		return err
	}
	if err := runtime.CheckRange("cpu: copy: source", int64(len(smem)), srcOff, n); err != nil {
		return err
	}
	d, sr := dmem[dstOff:dstOff+n], smem[srcOff:srcOff+n]
	if n > 0 {
		dp, sp := uintptr(unsafe.Pointer(&d[0])), uintptr(unsafe.Pointer(&sr[0]))
		if dp != sp && dp < sp+uintptr(n) && sp < dp+uintptr(n) {
			return fmt.Errorf("cpu: copy: %d bytes between partially overlapping ranges: %w", n, runtime.ErrInvalidArgument)
		}
	}
	return s.enqueue("copy", op{kind: opCopy, dst: d, src: sr})
}

// Launch enqueues a Func (or *Func). Any other kernel type is
// ErrUnsupported.
func (s *Stream) Launch(k runtime.Kernel) error {
	var f Func
	switch k := k.(type) {
	case Func:
		f = k
	case *Func:
		if k == nil {
			return fmt.Errorf("cpu: launch: nil kernel: %w", runtime.ErrInvalidArgument)
		}
		f = *k
	case nil:
		return fmt.Errorf("cpu: launch: nil kernel: %w", runtime.ErrInvalidArgument)
	default:
		return fmt.Errorf("cpu: launch: kernel type %T: %w", k, runtime.ErrUnsupported)
	}
	if f.Fn == nil {
		return fmt.Errorf("cpu: launch %q: nil function: %w", f.Name, runtime.ErrInvalidArgument)
	}
	return s.enqueue("launch", op{kind: opKernel, kernel: f})
}

// HostFunc enqueues fn. A panic in fn becomes the stream's error, as a
// *PanicError.
func (s *Stream) HostFunc(fn func() error) error {
	if fn == nil {
		return fmt.Errorf("cpu: host func: nil function: %w", runtime.ErrInvalidArgument)
	}
	return s.enqueue("host func", op{kind: opHost, fn: fn})
}

// Record enqueues a record of e, which must be an event of this device.
func (s *Stream) Record(e runtime.Event) error {
	ev, ok := e.(*Event)
	if !ok || ev == nil {
		return fmt.Errorf("cpu: record: event %T is not a CPU event: %w", e, runtime.ErrInvalidArgument)
	}
	if ev.dev != s.dev {
		return fmt.Errorf("cpu: record: event of another CPU backend: %w", runtime.ErrInvalidArgument)
	}
	return s.enqueue("record", op{kind: opRecord, rec: &record{done: make(chan struct{})}, event: ev})
}

// Wait makes later work wait for e. For a CPU event (of any CPU backend) it
// is the record latest at the time of the call. For an event of another
// backend the stream's goroutine blocks in e.Synchronize when it reaches the
// wait, so it observes whatever record is latest then.
func (s *Stream) Wait(e runtime.Event) error {
	switch ev := e.(type) {
	case nil:
		return fmt.Errorf("cpu: wait: nil event: %w", runtime.ErrInvalidArgument)
	case *Event:
		if ev == nil {
			return fmt.Errorf("cpu: wait: nil event: %w", runtime.ErrInvalidArgument)
		}
		// Captured now: a later re-record must not change what this waits for.
		return s.enqueue("wait", op{kind: opWait, rec: ev.latestOrReached()})
	default:
		return s.enqueue("wait", op{kind: opWaitForeign, foreign: e})
	}
}

// Synchronize waits until the work enqueued before the call has run, then
// returns (and clears) the error that work raised. An error raised by work
// enqueued after the call is left for a later Synchronize.
func (s *Stream) Synchronize(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("cpu: stream synchronize: nil context: %w", runtime.ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cpu: stream synchronize: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("cpu: stream synchronize: %w", runtime.ErrClosed)
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
			return fmt.Errorf("cpu: stream synchronize: %w", ctx.Err())
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

// Close waits for the pending work, stops the stream's goroutine and
// returns any error the work raised that no Synchronize reported. A second
// Close returns ErrClosed.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("cpu: close stream: %w", runtime.ErrClosed)
	}
	s.closed = true
	s.mu.Unlock()
	s.cond.Signal()
	<-s.exited
	s.dev.backend.forget(s)
	s.mu.Lock()
	err := s.err
	s.err = nil
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cpu: close stream: unreported error: %w", err)
	}
	return nil
}

// record is one Record of an event: done is closed, after t is set, when
// the stream reaches it. Each Record makes a new one, so waits captured
// earlier keep referring to the record they saw.
type record struct {
	done chan struct{}
	t    time.Time
}

// reached is a record that has always been reached, for waits on an event
// never recorded.
var reached = func() *record {
	r := &record{done: make(chan struct{})}
	close(r.done)
	return r
}()

// Event is a CPU event. Any stream of its device may record it; any stream
// of any backend may wait on it.
type Event struct {
	dev    *Device
	latest atomic.Pointer[record] // nil until first recorded
}

func (e *Event) latestOrReached() *record {
	if r := e.latest.Load(); r != nil {
		return r
	}
	return reached
}

// Query reports whether the latest record has been reached; true if the
// event was never recorded.
func (e *Event) Query() (bool, error) {
	if e == nil {
		return false, fmt.Errorf("cpu: event query: nil event: %w", runtime.ErrInvalidArgument)
	}
	select {
	case <-e.latestOrReached().done:
		return true, nil
	default:
		return false, nil
	}
}

// Synchronize blocks until the latest record (as of the call) is reached
// or ctx ends; nil at once if the event was never recorded.
func (e *Event) Synchronize(ctx context.Context) error {
	if e == nil || ctx == nil {
		return fmt.Errorf("cpu: event synchronize: nil event or context: %w", runtime.ErrInvalidArgument)
	}
	r := e.latestOrReached()
	select {
	case <-r.done:
		return nil
	default:
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cpu: event synchronize: %w", ctx.Err())
	}
}

// Time is when the latest record was reached.
func (e *Event) Time() (time.Time, error) {
	if e == nil {
		return time.Time{}, fmt.Errorf("cpu: event time: nil event: %w", runtime.ErrInvalidArgument)
	}
	r := e.latest.Load()
	if r == nil {
		return time.Time{}, fmt.Errorf("cpu: event time: never recorded: %w", runtime.ErrInvalidArgument)
	}
	select {
	case <-r.done:
		return r.t, nil
	default:
		return time.Time{}, fmt.Errorf("cpu: event time: latest record not reached yet: %w", runtime.ErrInvalidArgument)
	}
}
