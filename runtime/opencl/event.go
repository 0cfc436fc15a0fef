package opencl

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocann/gocann/runtime"
)

// record is one Record of an event. It is pending in the Go queue until
// its stream submits a marker (submitted is closed), then pending on the
// device until the marker completes (done is closed, after t is set).
// Each Record makes a new one, so waits captured earlier keep referring to
// the record they saw.
type record struct {
	dev       *Device
	submitted chan struct{}
	done      chan struct{}

	mu      sync.Mutex
	ev      clEvent // the marker; released (0) once done
	t       time.Time
	watched bool // a goroutine waits on ev for a Synchronize
}

func newRecord(d *Device) *record {
	return &record{dev: d, submitted: make(chan struct{}), done: make(chan struct{})}
}

// reached is a record that has always been reached, for waits on an event
// never recorded.
var reached = func() *record {
	r := &record{submitted: make(chan struct{}), done: make(chan struct{})}
	close(r.submitted)
	close(r.done)
	return r
}()

// submit hands the record its marker.
func (r *record) submit(ev clEvent) {
	r.mu.Lock()
	r.ev = ev
	r.mu.Unlock()
	close(r.submitted)
}

// resolve reaches a record whose marker could not be enqueued, so that
// nothing waits on it forever (the stream reports the failure).
func (r *record) resolve() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.submitted:
	default:
		close(r.submitted)
	}
	r.completeLocked()
}

func (r *record) isDone() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// complete reaches the record: its marker has completed (the caller knows).
func (r *record) complete() {
	r.mu.Lock()
	r.completeLocked()
	r.mu.Unlock()
}

func (r *record) completeLocked() {
	if r.isDone() {
		return
	}
	r.t = time.Now()
	if r.ev != 0 {
		if r.dev.clockOK {
			if end, err := r.dev.lib.eventEnd(r.ev); err == nil && end != 0 {
				r.t = time.Unix(0, int64(end)+r.dev.clockOffset)
			}
		}
		r.dev.lib.release(r.ev)
		r.ev = 0
	}
	close(r.done)
}

// retained returns the marker with a reference the caller must release,
// or false if the record is already reached.
func (r *record) retained() (clEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isDone() || r.ev == 0 {
		return 0, false
	}
	r.dev.lib.retain(r.ev)
	return r.ev, true
}

// poll reports whether the record is reached, asking the device if its
// marker was submitted.
func (r *record) poll() (bool, error) {
	if r.isDone() {
		return true, nil
	}
	select {
	case <-r.submitted:
	default:
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isDone() {
		return true, nil
	}
	st, err := r.dev.lib.eventStatus(r.ev)
	if err != nil {
		return false, fmt.Errorf("opencl: event query: %w", err)
	}
	if st > clComplete {
		return false, nil
	}
	// Complete, or failed (st < 0): either way the point is passed; the
	// stream reports the failure.
	r.completeLocked()
	return true, nil
}

// wait blocks until the record is reached or ctx ends. Once the marker is
// submitted, one helper goroutine waits for it in clWaitForEvents (which
// cannot be interrupted), so that ctx can still end the wait.
func (r *record) wait(ctx context.Context) error {
	if r.isDone() {
		return nil
	}
	select {
	case <-r.submitted:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	if !r.isDone() && !r.watched && r.ev != 0 {
		r.watched = true
		ev := r.ev
		r.dev.lib.retain(ev)
		go func() {
			// A marker's commands all were submitted before it, so it
			// completes; the error case (a failed command) still ends.
			_ = r.dev.lib.waitEvent(ev)
			r.dev.lib.release(ev)
			r.complete()
		}()
	}
	r.mu.Unlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Event is an OpenCL event: records are markers on a stream's queue. Any
// stream of its device may record it; any stream of any backend may wait
// on it. Times come from the device's profiling clock, so the time between
// two events of one device is what the device measured.
type Event struct {
	dev    *Device
	latest atomic.Pointer[record]
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
		return false, fmt.Errorf("opencl: event query: nil event: %w", runtime.ErrInvalidArgument)
	}
	return e.latestOrReached().poll()
}

// Synchronize blocks until the latest record (as of the call) is reached
// or ctx ends.
func (e *Event) Synchronize(ctx context.Context) error {
	if e == nil || ctx == nil {
		return fmt.Errorf("opencl: event synchronize: nil event or context: %w", runtime.ErrInvalidArgument)
	}
	if err := e.latestOrReached().wait(ctx); err != nil {
		return fmt.Errorf("opencl: event synchronize: %w", err)
	}
	return nil
}

// Time is when the latest record was reached, by the device's clock
// converted to wall time. ErrInvalidArgument before then, or if never
// recorded.
func (e *Event) Time() (time.Time, error) {
	if e == nil {
		return time.Time{}, fmt.Errorf("opencl: event time: nil event: %w", runtime.ErrInvalidArgument)
	}
	r := e.latest.Load()
	if r == nil {
		return time.Time{}, fmt.Errorf("opencl: event time: never recorded: %w", runtime.ErrInvalidArgument)
	}
	done, err := r.poll()
	if err != nil {
		return time.Time{}, err
	}
	if !done {
		return time.Time{}, fmt.Errorf("opencl: event time: not reached yet: %w", runtime.ErrInvalidArgument)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.t, nil
}
