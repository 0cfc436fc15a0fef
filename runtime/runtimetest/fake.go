package runtimetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gocann/gocann/runtime"
)

// A minimal second backend, so the suite can hand the device under test
// things that belong to someone else: buffers it must reject, kernels it
// cannot run, and events it must still be able to wait on.

// fakeDevice is a device of no real backend.
type fakeDevice struct{}

func (*fakeDevice) Properties() runtime.Properties {
	return runtime.Properties{Backend: "runtimetest-fake", Kind: runtime.KindAccelerator}
}

func (d *fakeDevice) Alloc(n int64) (runtime.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("fake alloc: %w", runtime.ErrInvalidArgument)
	}
	return &fakeBuffer{dev: d, mem: make([]byte, n)}, nil
}

func (*fakeDevice) NewStream() (runtime.Stream, error) {
	return nil, fmt.Errorf("fake device: %w", runtime.ErrUnsupported)
}

func (*fakeDevice) NewEvent() (runtime.Event, error) { return newFakeEvent(), nil }

// fakeBuffer is another device's buffer. It is host-accessible on purpose:
// a backend must reject it for belonging to another device, not merely for
// being unreadable.
type fakeBuffer struct {
	dev *fakeDevice
	mem []byte
}

func (b *fakeBuffer) Device() runtime.Device { return b.dev }
func (b *fakeBuffer) Size() int64            { return int64(len(b.mem)) }
func (b *fakeBuffer) Free() error            { return nil }
func (b *fakeBuffer) HostBytes() []byte      { return b.mem }

// fakeKernel is a kernel type no real backend runs.
type fakeKernel struct{}

func (fakeKernel) KernelName() string { return "runtimetest-fake" }

// fakeEvent is another backend's event, completed by the test: Record makes
// a new pending record, Complete reaches the latest one.
type fakeEvent struct {
	mu   sync.Mutex
	done chan struct{} // nil: never recorded
	at   time.Time
}

func newFakeEvent() *fakeEvent { return &fakeEvent{} }

// Record starts a new pending record.
func (e *fakeEvent) Record() {
	e.mu.Lock()
	e.done = make(chan struct{})
	e.mu.Unlock()
}

// Complete reaches the latest record.
func (e *fakeEvent) Complete() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done == nil {
		return
	}
	select {
	case <-e.done:
	default:
		e.at = time.Now()
		close(e.done)
	}
}

func (e *fakeEvent) latest() chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done
}

func (e *fakeEvent) Query() (bool, error) {
	ch := e.latest()
	if ch == nil {
		return true, nil
	}
	select {
	case <-ch:
		return true, nil
	default:
		return false, nil
	}
}

func (e *fakeEvent) Synchronize(ctx context.Context) error {
	ch := e.latest()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *fakeEvent) Time() (time.Time, error) {
	if ok, _ := e.Query(); !ok || e.latest() == nil {
		return time.Time{}, fmt.Errorf("fake event time: %w", runtime.ErrInvalidArgument)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.at, nil
}
