package runtime

import (
	"context"
	"time"
)

// Stream is an ordered, asynchronous queue of work on one device: copies,
// kernel launches, host callbacks and event records and waits. Each method
// only enqueues; the work runs later, in enqueue order. Host memory passed to
// a copy must stay valid and unmodified (for a copy to the device) or unread
// (for a copy to the host) until the copy has completed, which the caller
// learns through Synchronize or an event.
//
// Errors in the arguments are returned at once and nothing is enqueued.
// An error raised while the work runs (a kernel's failure, a lost device)
// puts the stream into an error state: later work is skipped and the error is
// returned by Synchronize, which clears it.
//
// A stream may be used from many goroutines; work enqueued concurrently runs
// in some order consistent with each goroutine's own order.
type Stream interface {
	Device() Device
	// CopyToDevice copies len(src) bytes from host memory into dst at dstOff.
	CopyToDevice(dst Buffer, dstOff int64, src []byte) error
	// CopyToHost copies len(dst) bytes from src at srcOff into host memory.
	CopyToHost(dst []byte, src Buffer, srcOff int64) error
	// Copy copies n bytes between two buffers of this stream's device. The
	// ranges may overlap only if they are the same range.
	Copy(dst Buffer, dstOff int64, src Buffer, srcOff int64, n int64) error
	// Launch enqueues a kernel. Kernels are backend-specific values; a
	// stream given a kernel type its backend does not run returns an error
	// wrapping ErrUnsupported.
	Launch(k Kernel) error
	// HostFunc enqueues fn to run on the host once all earlier work is done;
	// later work waits for it. An error it returns puts the stream into the
	// error state.
	HostFunc(fn func() error) error
	// Record enqueues a record of e: e completes when all earlier work has.
	Record(e Event) error
	// Wait makes later work on this stream wait until e completes, as of the
	// latest Record of e enqueued before this call. Waiting on an event that
	// was never recorded does nothing. e may belong to another stream, or
	// another device.
	Wait(e Event) error
	// Synchronize blocks until all enqueued work is done or ctx ends, and
	// returns the first error the work raised (wrapped), clearing it.
	Synchronize(ctx context.Context) error
	// Close waits for pending work, then releases the stream. Work enqueued
	// after Close returns ErrClosed.
	Close() error
}

// Kernel is work that a backend knows how to run on its own devices. Each
// backend defines its concrete kernel types (the CPU backend's is a Go
// function with a parallel-for; OpenCL's a compiled program and arguments).
type Kernel interface {
	// KernelName names the kernel in errors and profiles.
	KernelName() string
}

// Event marks a point in a stream. It can be recorded again; waits and
// queries refer to the latest record.
type Event interface {
	// Query reports whether the latest recorded point has been reached. An
	// event that was never recorded counts as reached.
	Query() (bool, error)
	// Synchronize blocks until the latest recorded point is reached or ctx
	// ends.
	Synchronize(ctx context.Context) error
	// Time is the moment the latest recorded point was reached. It is an
	// error (ErrInvalidArgument) to ask before that, or if never recorded.
	Time() (time.Time, error)
}

// Elapsed is the time between two completed events.
func Elapsed(start, end Event) (time.Duration, error) {
	t0, err := start.Time()
	if err != nil {
		return 0, err
	}
	t1, err := end.Time()
	if err != nil {
		return 0, err
	}
	return t1.Sub(t0), nil
}
