package tensor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocann/gocann/runtime"
)

// fakeDevice is a device whose memory the host cannot address: its buffers
// are not HostAccessible, so every byte moves through its streams' copies,
// which run later on a goroutine of their own.
type fakeDevice struct {
	index int
	limit int64 // bytes Alloc hands out before ErrOutOfMemory; 0: no limit

	mu    sync.Mutex
	live  int   // buffers allocated and not freed
	bytes int64 // their bytes
	gate  chan struct{}

	toDevice, toHost, onDevice, hostFuncs atomic.Int64 // copies and callbacks run
	failCopies                            atomic.Bool  // make copies fail when they run
}

func newFakeDevice(index int) *fakeDevice { return &fakeDevice{index: index} }

func (d *fakeDevice) Properties() runtime.Properties {
	return runtime.Properties{Backend: "fake", Index: d.index, Name: "fake accelerator", Kind: runtime.KindAccelerator}
}

func (d *fakeDevice) Alloc(n int64) (runtime.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("fake: alloc %d: %w", n, runtime.ErrInvalidArgument)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.limit > 0 && d.bytes+n > d.limit {
		return nil, fmt.Errorf("fake: alloc %d: %w", n, runtime.ErrOutOfMemory)
	}
	d.live++
	d.bytes += n
	return &fakeBuffer{dev: d, mem: make([]byte, n)}, nil
}

func (d *fakeDevice) NewStream() (runtime.Stream, error) {
	s := &fakeStream{dev: d, work: make(chan func(), 1024)}
	go s.run()
	return s, nil
}

func (d *fakeDevice) NewEvent() (runtime.Event, error) {
	return nil, fmt.Errorf("fake: events: %w", runtime.ErrUnsupported)
}

// hold makes work on the device's streams wait until the returned function
// is called.
func (d *fakeDevice) hold() (release func()) {
	g := make(chan struct{})
	d.mu.Lock()
	d.gate = g
	d.mu.Unlock()
	return func() { close(g) }
}

func (d *fakeDevice) liveBuffers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live
}

// fakeBuffer deliberately has no HostBytes method.
type fakeBuffer struct {
	dev   *fakeDevice
	mem   []byte
	freed atomic.Bool
}

func (b *fakeBuffer) Device() runtime.Device { return b.dev }
func (b *fakeBuffer) Size() int64            { return int64(len(b.mem)) }

func (b *fakeBuffer) Free() error {
	if !b.freed.CompareAndSwap(false, true) {
		return fmt.Errorf("fake: free: %w", runtime.ErrClosed)
	}
	b.dev.mu.Lock()
	b.dev.live--
	b.dev.bytes -= int64(len(b.mem))
	b.dev.mu.Unlock()
	return nil
}

type fakeStream struct {
	dev  *fakeDevice
	work chan func()

	mu     sync.Mutex
	err    error // the first failure since the last Synchronize
	closed bool
}

func (s *fakeStream) run() {
	for op := range s.work {
		op()
	}
}

// enqueue queues fn; after a failure, later work is skipped until
// Synchronize, as the runtime contract says.
func (s *fakeStream) enqueue(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("fake stream: %w", runtime.ErrClosed)
	}
	s.dev.mu.Lock()
	gate := s.dev.gate
	s.dev.mu.Unlock()
	s.work <- func() {
		if gate != nil {
			<-gate
		}
		time.Sleep(100 * time.Microsecond) // so that a missing Synchronize shows
		s.mu.Lock()
		failed := s.err != nil
		s.mu.Unlock()
		if failed {
			return
		}
		if err := fn(); err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}
	return nil
}

// buffer checks that b is a live buffer of this stream's device.
func (s *fakeStream) buffer(b runtime.Buffer) (*fakeBuffer, error) {
	fb, ok := runtime.Unwrap(b).(*fakeBuffer)
	if !ok || fb.dev != s.dev {
		return nil, fmt.Errorf("fake stream: buffer %T is not of this device: %w", b, runtime.ErrInvalidArgument)
	}
	if fb.freed.Load() {
		return nil, fmt.Errorf("fake stream: buffer freed: %w", runtime.ErrClosed)
	}
	return fb, nil
}

func (s *fakeStream) failure() error {
	if s.dev.failCopies.Load() {
		return fmt.Errorf("fake: copy failed: %w", runtime.ErrDeviceLost)
	}
	return nil
}

func (s *fakeStream) Device() runtime.Device { return s.dev }

func (s *fakeStream) CopyToDevice(dst runtime.Buffer, off int64, src []byte) error {
	fb, err := s.buffer(dst)
	if err != nil {
		return err
	}
	if err := runtime.CheckRange("fake: copy to device", dst.Size(), off, int64(len(src))); err != nil {
		return err
	}
	return s.enqueue(func() error {
		s.dev.toDevice.Add(1)
		copy(fb.mem[off:], src)
		return s.failure()
	})
}

func (s *fakeStream) CopyToHost(dst []byte, src runtime.Buffer, off int64) error {
	fb, err := s.buffer(src)
	if err != nil {
		return err
	}
	if err := runtime.CheckRange("fake: copy to host", src.Size(), off, int64(len(dst))); err != nil {
		return err
	}
	return s.enqueue(func() error {
		s.dev.toHost.Add(1)
		copy(dst, fb.mem[off:])
		return s.failure()
	})
}

func (s *fakeStream) Copy(dst runtime.Buffer, dstOff int64, src runtime.Buffer, srcOff int64, n int64) error {
	fd, err := s.buffer(dst)
	if err != nil {
		return err
	}
	fs, err := s.buffer(src)
	if err != nil {
		return err
	}
	if err := runtime.CheckRange("fake: copy", dst.Size(), dstOff, n); err != nil {
		return err
	}
	if err := runtime.CheckRange("fake: copy", src.Size(), srcOff, n); err != nil {
		return err
	}
	return s.enqueue(func() error {
		s.dev.onDevice.Add(1)
		copy(fd.mem[dstOff:dstOff+n], fs.mem[srcOff:srcOff+n])
		return s.failure()
	})
}

func (s *fakeStream) Launch(k runtime.Kernel) error {
	return fmt.Errorf("fake stream: kernel %s: %w", k.KernelName(), runtime.ErrUnsupported)
}

func (s *fakeStream) HostFunc(fn func() error) error {
	return s.enqueue(func() error {
		s.dev.hostFuncs.Add(1)
		return fn()
	})
}

func (s *fakeStream) Record(runtime.Event) error {
	return fmt.Errorf("fake stream: events: %w", runtime.ErrUnsupported)
}

func (s *fakeStream) Wait(runtime.Event) error {
	return fmt.Errorf("fake stream: events: %w", runtime.ErrUnsupported)
}

func (s *fakeStream) Synchronize(ctx context.Context) error {
	done := make(chan struct{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("fake stream: %w", runtime.ErrClosed)
	}
	s.work <- func() { close(done) } // markers run even after a failure
	s.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("fake stream: synchronize: %w", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.err
	s.err = nil
	return err
}

func (s *fakeStream) Close() error {
	done := make(chan struct{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("fake stream: close: %w", runtime.ErrClosed)
	}
	s.closed = true
	s.work <- func() { close(done) }
	close(s.work)
	s.mu.Unlock()
	<-done
	return nil
}
