// Package runtimetest is a conformance suite for GoCANN backends, in the
// spirit of gonum's testblas and IREE's HAL CTS: a backend's own tests call
// [Run] with one of its devices, and the suite checks, through the
// [runtime] interfaces alone, that the device behaves as the contract in
// package runtime says — memory, the caching pool, copies in every
// direction, stream ordering, events, host callbacks, error states,
// cancellation and concurrent use.
//
// The suite never relies on [runtime.HostAccessible]: everything it checks
// it reads back with a stream copy, so GPU backends run it unchanged. Tests
// that could hang on a broken backend wait with a deadline and fail instead.
//
//	func TestConformance(t *testing.T) {
//		runtimetest.Run(t, dev, runtimetest.Options{Fill: myFillKernel})
//	}
package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gocann/gocann/runtime"
)

// Options describe what the suite needs from the backend beyond the
// runtime interfaces.
type Options struct {
	// Fill returns a kernel that sets the n bytes of buf at off to value.
	// Kernels are backend-specific, so the backend supplies this one; the
	// suite launches it between copies to check that launches and copies
	// keep stream order. If nil, the parts that need it are skipped or done
	// with copies instead.
	Fill func(buf runtime.Buffer, off, n int64, value byte) runtime.Kernel
}

// Timeout bounds every wait of the suite, so that a backend that loses a
// wake-up fails the test instead of hanging it.
const Timeout = 30 * time.Second

// Run runs the conformance suite against dev as subtests of t.
func Run(t *testing.T, dev runtime.Device, opts Options) {
	t.Helper()
	if dev == nil {
		t.Fatal("runtimetest: nil device")
	}
	s := &suite{dev: dev, opts: opts}
	t.Run("Properties", s.testProperties)
	t.Run("Alloc", s.testAlloc)
	t.Run("Pool", s.testPool)
	t.Run("Copy", s.testCopy)
	t.Run("InvalidArguments", s.testInvalidArguments)
	t.Run("Ordering", s.testOrdering)
	t.Run("Events", s.testEvents)
	t.Run("HostFunc", s.testHostFunc)
	t.Run("Synchronize", s.testSynchronize)
	t.Run("Concurrent", s.testConcurrent)
	t.Run("StreamClose", s.testStreamClose)
}

type suite struct {
	dev  runtime.Device
	opts Options
}

// stream returns a new stream, closed when the test ends.
func (s *suite) stream(t *testing.T) runtime.Stream {
	t.Helper()
	st, err := s.dev.NewStream()
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// event returns a new event.
func (s *suite) event(t *testing.T) runtime.Event {
	t.Helper()
	e, err := s.dev.NewEvent()
	if err != nil {
		t.Fatalf("NewEvent: %v", err)
	}
	return e
}

// alloc returns a device buffer of n bytes, freed when the test ends unless
// the test frees it first.
func (s *suite) alloc(t *testing.T, n int64) runtime.Buffer {
	t.Helper()
	b, err := s.dev.Alloc(n)
	if err != nil {
		t.Fatalf("Alloc(%d): %v", n, err)
	}
	t.Cleanup(func() { _ = b.Free() })
	return b
}

// syncOK synchronizes st and fails the test on any error.
func syncOK(t *testing.T, st runtime.Stream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := st.Synchronize(ctx); err != nil {
		t.Fatalf("Synchronize: %v", err)
	}
}

// must fails the test if err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// upload writes data to buf at off and waits for it.
func upload(t *testing.T, st runtime.Stream, buf runtime.Buffer, off int64, data []byte) {
	t.Helper()
	must(t, "CopyToDevice", st.CopyToDevice(buf, off, data))
	syncOK(t, st)
}

// download reads n bytes of buf at off.
func download(t *testing.T, st runtime.Stream, buf runtime.Buffer, off, n int64) []byte {
	t.Helper()
	out := make([]byte, n)
	must(t, "CopyToHost", st.CopyToHost(out, buf, off))
	syncOK(t, st)
	return out
}

// fill enqueues the backend's fill kernel, or, without one, a copy of a
// host slice holding value: either way the stream's order must hold.
func (s *suite) fill(t *testing.T, st runtime.Stream, buf runtime.Buffer, off, n int64, value byte) {
	t.Helper()
	if s.opts.Fill == nil {
		must(t, "CopyToDevice (fill)", st.CopyToDevice(buf, off, bytes.Repeat([]byte{value}, int(n))))
		return
	}
	must(t, "Launch(fill)", st.Launch(s.opts.Fill(buf, off, n, value)))
}

// pattern returns n bytes that differ from their neighbours and, through
// seed, from other patterns, so that a shifted or misplaced copy shows.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7+i/251) ^ seed
	}
	return p
}

// checkBytes reports the first difference between got and want.
func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	if len(got) != len(want) {
		t.Errorf("%s: got %d bytes, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: byte %d of %d is %#x, want %#x", what, i, len(got), got[i], want[i])
			return
		}
	}
}

// blocker enqueues a host function that holds st until release is called
// (or Timeout passes, so that a broken test cannot hang the run). release
// is idempotent and also runs when the test ends, before the stream is
// closed.
func blocker(t *testing.T, st runtime.Stream) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	must(t, "HostFunc(blocker)", st.HostFunc(func() error {
		select {
		case <-ch:
			return nil
		case <-time.After(Timeout):
			return fmt.Errorf("runtimetest: blocker never released")
		}
	}))
	t.Cleanup(release)
	return release
}

// flag is a goroutine-safe boolean set by host functions.
type flag struct {
	mu  sync.Mutex
	set bool
}

func (f *flag) Set() error {
	f.mu.Lock()
	f.set = true
	f.mu.Unlock()
	return nil
}

func (f *flag) Get() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set
}

// expectBlocked checks that st cannot finish within a short while: its
// Synchronize must time out (and the work keeps going).
func expectBlocked(t *testing.T, st runtime.Stream, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := st.Synchronize(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: Synchronize = %v, want the stream still waiting (context.DeadlineExceeded)", what, err)
	}
}
