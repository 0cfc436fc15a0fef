package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gocann/gocann/runtime"
)

// testOrdering enqueues a long chain of fills, copies and host functions
// without synchronizing and checks a result that only the enqueue order
// produces: step i overwrites a scratch buffer with i, then copies it into
// slot i of the result and of a host snapshot. Any reordering leaves a
// neighbour's value in some slot.
func (s *suite) testOrdering(t *testing.T) {
	st := s.stream(t)
	const steps = 200
	const width = 8
	scratch := s.alloc(t, width)
	result := s.alloc(t, steps)
	snap := make([]byte, steps)
	var mu sync.Mutex
	var ran []int
	for i := range steps {
		v := byte(i)
		if i%2 == 0 {
			s.fill(t, st, scratch, 0, width, v)
		} else {
			must(t, "CopyToDevice", st.CopyToDevice(scratch, 0, bytesOf(width, v)))
		}
		must(t, "Copy", st.Copy(result, int64(i), scratch, int64(i%width), 1))
		must(t, "CopyToHost", st.CopyToHost(snap[i:i+1], scratch, int64(width-1-i%width)))
		must(t, "HostFunc", st.HostFunc(func() error {
			mu.Lock()
			ran = append(ran, i)
			mu.Unlock()
			return nil
		}))
	}
	syncOK(t, st)
	want := make([]byte, steps)
	for i := range want {
		want[i] = byte(i)
	}
	checkBytes(t, "result", download(t, st, result, 0, steps), want)
	checkBytes(t, "snapshots", snap, want)
	mu.Lock()
	defer mu.Unlock()
	for i, r := range ran {
		if r != i {
			t.Fatalf("host functions ran in order %v", ran)
		}
	}
	if len(ran) != steps {
		t.Errorf("%d host functions ran, want %d", len(ran), steps)
	}
}

func (s *suite) testEvents(t *testing.T) {
	ctx := context.Background()

	t.Run("NeverRecorded", func(t *testing.T) {
		e := s.event(t)
		if done, err := e.Query(); !done || err != nil {
			t.Errorf("Query = %v, %v; want true, nil", done, err)
		}
		if err := e.Synchronize(ctx); err != nil {
			t.Errorf("Synchronize = %v", err)
		}
		if _, err := e.Time(); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Time = %v, want ErrInvalidArgument", err)
		}
		if _, err := runtime.Elapsed(e, e); err == nil {
			t.Errorf("Elapsed of unrecorded events succeeded")
		}
		// Waiting on it does nothing.
		st := s.stream(t)
		must(t, "Wait", st.Wait(e))
		syncOK(t, st)
	})

	t.Run("RecordAndTime", func(t *testing.T) {
		st := s.stream(t)
		e0, e1 := s.event(t), s.event(t)
		b := s.alloc(t, 1<<16)
		must(t, "Record", st.Record(e0))
		s.fill(t, st, b, 0, 1<<16, 7)
		must(t, "CopyToHost", st.CopyToHost(make([]byte, 1<<16), b, 0))
		must(t, "Record", st.Record(e1))
		syncOK(t, st)
		for i, e := range []runtime.Event{e0, e1} {
			if done, err := e.Query(); !done || err != nil {
				t.Errorf("event %d: Query = %v, %v; want true", i, done, err)
			}
			if err := e.Synchronize(ctx); err != nil {
				t.Errorf("event %d: Synchronize = %v", i, err)
			}
			if tm, err := e.Time(); err != nil || tm.IsZero() {
				t.Errorf("event %d: Time = %v, %v", i, tm, err)
			}
		}
		if d, err := runtime.Elapsed(e0, e1); err != nil || d < 0 {
			t.Errorf("Elapsed = %v, %v; want >= 0", d, err)
		}
	})

	t.Run("Pending", func(t *testing.T) {
		st := s.stream(t)
		e := s.event(t)
		release := blocker(t, st)
		must(t, "Record", st.Record(e))
		if done, err := e.Query(); done || err != nil {
			t.Errorf("Query of a pending record = %v, %v; want false", done, err)
		}
		if _, err := e.Time(); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Time of a pending record = %v, want ErrInvalidArgument", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := e.Synchronize(cancelled); !errors.Is(err, context.Canceled) {
			t.Errorf("Synchronize(cancelled) = %v, want context.Canceled", err)
		}
		short, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel2()
		if err := e.Synchronize(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Synchronize(short deadline) = %v, want context.DeadlineExceeded", err)
		}
		release()
		long, cancel3 := context.WithTimeout(ctx, Timeout)
		defer cancel3()
		if err := e.Synchronize(long); err != nil {
			t.Errorf("Synchronize after release = %v", err)
		}
		if done, _ := e.Query(); !done {
			t.Errorf("Query after Synchronize = false")
		}
		if _, err := e.Time(); err != nil {
			t.Errorf("Time after Synchronize = %v", err)
		}
	})

	t.Run("CrossStreamWait", func(t *testing.T) {
		// A produces data after being held; B waits on A's event and
		// reads the data. B must see A's result, not the old contents.
		a, b := s.stream(t), s.stream(t)
		e := s.event(t)
		const n = 4096
		buf := s.alloc(t, n)
		upload(t, a, buf, 0, bytesOf(n, 0x11))
		release := blocker(t, a)
		s.fill(t, a, buf, 0, n, 0xab)
		must(t, "Record", a.Record(e))
		out := make([]byte, n)
		ran := &flag{}
		must(t, "Wait", b.Wait(e))
		must(t, "CopyToHost", b.CopyToHost(out, buf, 0))
		must(t, "HostFunc", b.HostFunc(ran.Set))
		expectBlocked(t, b, "B waiting on A's event")
		if ran.Get() {
			t.Fatalf("B ran past its Wait while A was held")
		}
		release()
		syncOK(t, b)
		checkBytes(t, "B's copy", out, bytesOf(n, 0xab))
		syncOK(t, a)
	})

	t.Run("ReRecord", func(t *testing.T) {
		a, b := s.stream(t), s.stream(t)
		e := s.event(t)
		must(t, "Record", a.Record(e))
		syncOK(t, a)
		t0, err := e.Time()
		must(t, "Time", err)

		// A Wait refers to the latest record enqueued before it: this one
		// waits for the record already reached...
		must(t, "Wait", b.Wait(e))
		first := &flag{}
		must(t, "HostFunc", b.HostFunc(first.Set))
		// ...even though A records e again, behind a blocker, before B
		// gets to the wait.
		release := blocker(t, a)
		must(t, "Record", a.Record(e))
		syncOK(t, b)
		if !first.Get() {
			t.Errorf("work after a Wait on a reached record did not run")
		}
		if done, _ := e.Query(); done {
			t.Errorf("Query = true while the latest record is pending")
		}
		if _, err := e.Time(); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Time = %v while the latest record is pending, want ErrInvalidArgument", err)
		}

		// A Wait enqueued now refers to the pending record.
		must(t, "Wait", b.Wait(e))
		second := &flag{}
		must(t, "HostFunc", b.HostFunc(second.Set))
		expectBlocked(t, b, "Wait on a pending re-record")
		if second.Get() {
			t.Fatalf("work after a Wait on a pending record ran")
		}
		release()
		syncOK(t, b)
		if !second.Get() {
			t.Errorf("work after the Wait did not run once the record was reached")
		}
		t1, err := e.Time()
		must(t, "Time", err)
		if t1.Before(t0) {
			t.Errorf("re-recorded time %v before first %v", t1, t0)
		}
		syncOK(t, a)
	})

	t.Run("ForeignEvent", func(t *testing.T) {
		// The contract lets a stream wait on another backend's event.
		st := s.stream(t)
		never := newFakeEvent()
		must(t, "Wait on unrecorded foreign event", st.Wait(never))
		syncOK(t, st)

		e := newFakeEvent()
		e.Record()
		t.Cleanup(e.Complete)
		must(t, "Wait", st.Wait(e))
		ran := &flag{}
		must(t, "HostFunc", st.HostFunc(ran.Set))
		expectBlocked(t, st, "Wait on a pending foreign event")
		if ran.Get() {
			t.Fatalf("work after a Wait on a pending foreign event ran")
		}
		e.Complete()
		syncOK(t, st)
		if !ran.Get() {
			t.Errorf("work after the Wait did not run")
		}
	})

	t.Run("RecordConcurrentQuery", func(t *testing.T) {
		// Queries and Times racing with re-records: answers may be either,
		// but must be consistent and clean under the race detector.
		st := s.stream(t)
		e := s.event(t)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := e.Query(); err != nil {
						t.Errorf("Query: %v", err)
						return
					}
					_, _ = e.Time()
				}
			})
		}
		for range 200 {
			must(t, "Record", st.Record(e))
		}
		syncOK(t, st)
		close(stop)
		wg.Wait()
		if done, _ := e.Query(); !done {
			t.Errorf("Query after Synchronize = false")
		}
	})
}

var errBoom = errors.New("runtimetest: boom")

func (s *suite) testHostFunc(t *testing.T) {
	t.Run("Order", func(t *testing.T) {
		st := s.stream(t)
		var got []int // only touched by host functions, which run in order
		for i := range 100 {
			must(t, "HostFunc", st.HostFunc(func() error { got = append(got, i); return nil }))
		}
		syncOK(t, st)
		for i, g := range got {
			if g != i {
				t.Fatalf("host functions ran in order %v", got)
			}
		}
		if len(got) != 100 {
			t.Errorf("%d host functions ran, want 100", len(got))
		}
	})

	t.Run("Error", func(t *testing.T) {
		st := s.stream(t)
		b := s.alloc(t, 32)
		upload(t, st, b, 0, bytesOf(32, 0x11))
		var mu sync.Mutex
		var ran []int
		mark := func(i int) func() error {
			return func() error { mu.Lock(); ran = append(ran, i); mu.Unlock(); return nil }
		}
		must(t, "HostFunc", st.HostFunc(mark(1)))
		must(t, "HostFunc", st.HostFunc(func() error { return fmt.Errorf("wrapped: %w", errBoom) }))
		// In the error state later work is skipped.
		must(t, "HostFunc", st.HostFunc(mark(2)))
		must(t, "CopyToDevice", st.CopyToDevice(b, 0, bytesOf(32, 0x22)))
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := st.Synchronize(ctx); !errors.Is(err, errBoom) {
			t.Fatalf("Synchronize = %v, want an error wrapping the host function's", err)
		}
		// Reported once, then cleared.
		if err := st.Synchronize(ctx); err != nil {
			t.Errorf("second Synchronize = %v, want nil", err)
		}
		must(t, "HostFunc", st.HostFunc(mark(3)))
		checkBytes(t, "buffer after skipped copy", download(t, st, b, 0, 32), bytesOf(32, 0x11))
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(ran) != "[1 3]" {
			t.Errorf("host functions ran: %v, want [1 3] (the one after the error skipped)", ran)
		}
	})
}

func (s *suite) testSynchronize(t *testing.T) {
	st := s.stream(t)
	release := blocker(t, st)
	after := &flag{}
	must(t, "HostFunc", st.HostFunc(after.Set))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := st.Synchronize(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Synchronize(cancelled) = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Synchronize(cancelled) took %v", d)
	}
	expectBlocked(t, st, "held stream")

	// Abandoning a Synchronize does not abandon the work.
	release()
	syncOK(t, st)
	if !after.Get() {
		t.Errorf("work after the blocker did not run")
	}
	// An idle stream synchronizes at once, repeatedly.
	for range 3 {
		syncOK(t, st)
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	t.Run("StreamsSharedPool", func(t *testing.T) {
		pool, err := runtime.NewPool(s.dev, runtime.PoolOptions{})
		must(t, "NewPool", err)
		defer pool.Close()
		const goroutines, rounds = 16, 12
		var wg sync.WaitGroup
		for g := range goroutines {
			st := s.stream(t)
			wg.Go(func() {
				if err := roundTrips(st, pool, g, rounds, s.opts.Fill); err != nil {
					t.Errorf("goroutine %d: %v", g, err)
				}
			})
		}
		wg.Wait()
		stats := pool.Stats()
		if stats.InUse != 0 || stats.Reserved != stats.Cached || stats.Frees != stats.Allocs {
			t.Errorf("pool after all buffers freed: %+v", stats)
		}
	})

	t.Run("SharedStream", func(t *testing.T) {
		// Work enqueued concurrently runs in an order consistent with each
		// goroutine's own order; Synchronize may be called meanwhile.
		st := s.stream(t)
		const goroutines, each = 8, 50
		var mu sync.Mutex
		last := make([]int, goroutines)
		for i := range last {
			last[i] = -1
		}
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for k := range each {
					err := st.HostFunc(func() error {
						mu.Lock()
						defer mu.Unlock()
						if last[g] != k-1 {
							return fmt.Errorf("goroutine %d: item %d ran after %d", g, k, last[g])
						}
						last[g] = k
						return nil
					})
					if err != nil {
						t.Errorf("HostFunc: %v", err)
						return
					}
					if k%10 == 0 {
						ctx, cancel := context.WithTimeout(context.Background(), Timeout)
						err := st.Synchronize(ctx)
						cancel()
						if err != nil {
							t.Errorf("Synchronize: %v", err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		syncOK(t, st)
		for g, l := range last {
			if l != each-1 {
				t.Errorf("goroutine %d: last item %d, want %d", g, l, each-1)
			}
		}
	})
}

// roundTrips is one goroutine of the concurrency test: buffers from a
// shared pool, data up, a fill and a device copy, data down, checked.
func roundTrips(st runtime.Stream, pool *runtime.Pool, g, rounds int, fill func(runtime.Buffer, int64, int64, byte) runtime.Kernel) error {
	for r := range rounds {
		n := int64((g*131+r*977)%5000 + 1)
		a, err := pool.Alloc(n)
		if err != nil {
			return err
		}
		b, err := pool.Alloc(n + 8)
		if err != nil {
			return err
		}
		data := pattern(int(n), byte(g*rounds+r))
		if err := st.CopyToDevice(a, 0, data); err != nil {
			return err
		}
		head := byte(0x40 + g)
		if fill != nil {
			err = st.Launch(fill(b, 0, 8, head))
		} else {
			err = st.CopyToDevice(b, 0, bytesOf(8, head))
		}
		if err != nil {
			return err
		}
		if err := st.Copy(b, 8, a, 0, n); err != nil {
			return err
		}
		out := make([]byte, n+8)
		if err := st.CopyToHost(out, b, 0); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		err = st.Synchronize(ctx)
		cancel()
		if err != nil {
			return err
		}
		for i := range 8 {
			if out[i] != head {
				return fmt.Errorf("round %d: byte %d is %#x, want %#x", r, i, out[i], head)
			}
		}
		for i := range n {
			if out[8+i] != data[i] {
				return fmt.Errorf("round %d: byte %d of %d is %#x, want %#x", r, i, n, out[8+i], data[i])
			}
		}
		if err := errors.Join(a.Free(), b.Free()); err != nil {
			return err
		}
	}
	return nil
}

func (s *suite) testStreamClose(t *testing.T) {
	st, err := s.dev.NewStream()
	must(t, "NewStream", err)
	b := s.alloc(t, 64)
	e := s.event(t)

	// Close waits for pending work.
	done := &flag{}
	must(t, "HostFunc", st.HostFunc(func() error { time.Sleep(20 * time.Millisecond); return done.Set() }))
	s.fill(t, st, b, 0, 64, 0x3c)
	out := make([]byte, 64)
	must(t, "CopyToHost", st.CopyToHost(out, b, 0))
	must(t, "Close", st.Close())
	if !done.Get() {
		t.Errorf("Close returned before pending work ran")
	}
	checkBytes(t, "copy pending at Close", out, bytesOf(64, 0x3c))

	type enqueue struct {
		name string
		call func() error
	}
	calls := []enqueue{
		{"CopyToDevice", func() error { return st.CopyToDevice(b, 0, out[:1]) }},
		{"CopyToHost", func() error { return st.CopyToHost(out[:1], b, 0) }},
		{"Copy", func() error { return st.Copy(b, 0, b, 32, 1) }},
		{"HostFunc", func() error { return st.HostFunc(func() error { return nil }) }},
		{"Record", func() error { return st.Record(e) }},
		{"Wait", func() error { return st.Wait(e) }},
	}
	if s.opts.Fill != nil {
		calls = append(calls, enqueue{"Launch", func() error { return st.Launch(s.opts.Fill(b, 0, 1, 0)) }})
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", c.name, err)
		}
	}
	// A second Close must not panic or hang; what it returns is the
	// backend's choice.
	_ = st.Close()

	// Other streams of the device are unaffected.
	st2 := s.stream(t)
	upload(t, st2, b, 0, bytesOf(64, 1))
}
