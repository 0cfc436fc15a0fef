package cpu_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/gocann/gocann/runtime"
	cpub "github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/runtime/runtimetest"
)

// fill is the CPU's kernel for the conformance suite: it sets n bytes at
// off, split over the workers so that the suite exercises ParallelFor too.
func fill(buf runtime.Buffer, off, n int64, v byte) runtime.Kernel {
	return cpub.Func{Name: "fill", Fn: func(x *cpub.Exec) error {
		mem, err := x.Bytes(buf)
		if err != nil {
			return err
		}
		if err := runtime.CheckRange("fill", int64(len(mem)), off, n); err != nil {
			return err
		}
		dst := mem[off : off+n]
		x.Workers().ParallelFor(len(dst), 64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i] = v
			}
		})
		return nil
	}}
}

func newBackend(t testing.TB, opts cpub.Options) *cpub.Backend {
	t.Helper()
	b, err := cpub.New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func newStream(t testing.TB, d runtime.Device) runtime.Stream {
	t.Helper()
	s, err := d.NewStream()
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func syncStream(s runtime.Stream) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Synchronize(ctx)
}

func TestConformance(t *testing.T) {
	// One worker (everything inline) and more workers than cores (chunks
	// handed off and contended).
	for _, threads := range []int{1, 4} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			b := newBackend(t, cpub.Options{Threads: threads})
			runtimetest.Run(t, b.Device(), runtimetest.Options{Fill: fill})
		})
	}
}

func TestConformanceViaRegistry(t *testing.T) {
	// The device as the rest of GoCANN sees it: opened by name.
	reg, err := runtime.NewRegistry(newBackend(t, cpub.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := reg.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if id := dev.Properties().ID(); id != "cpu:0" {
		t.Errorf("ID %q, want cpu:0", id)
	}
	if _, err := reg.Open("cpu:1"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Open(cpu:1) = %v, want ErrNotFound", err)
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		opts    cpub.Options
		threads int
		err     error
	}{
		{cpub.Options{}, goruntime.NumCPU(), nil},
		{cpub.Options{Threads: 1}, 1, nil},
		{cpub.Options{Threads: 3}, 3, nil},
		{cpub.Options{Threads: -1}, 0, runtime.ErrInvalidArgument},
		{cpub.Options{MemoryLimit: -1}, 0, runtime.ErrInvalidArgument},
	} {
		b, err := cpub.New(c.opts)
		if c.err != nil {
			if !errors.Is(err, c.err) || b != nil {
				t.Errorf("New(%+v) = %v, %v; want error %v", c.opts, b, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("New(%+v): %v", c.opts, err)
		}
		if p := b.Device().Properties(); p.Threads != c.threads || b.Workers().Threads() != c.threads {
			t.Errorf("New(%+v): Threads %d, workers %d; want %d", c.opts, p.Threads, b.Workers().Threads(), c.threads)
		}
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestProperties(t *testing.T) {
	b := newBackend(t, cpub.Options{Threads: 2})
	if b.Name() != "cpu" {
		t.Errorf("Name %q", b.Name())
	}
	devs, err := b.Devices()
	if err != nil || len(devs) != 1 || devs[0] != runtime.Device(b.Device()) {
		t.Fatalf("Devices = %v, %v; want the one device", devs, err)
	}
	p := devs[0].Properties()
	if p.Backend != "cpu" || p.Index != 0 || p.Kind != runtime.KindCPU || p.Name == "" ||
		p.ComputeUnits != goruntime.NumCPU() || p.Threads != 2 {
		t.Errorf("properties %+v", p)
	}
	if goruntime.GOOS == "linux" && p.Memory <= 0 {
		t.Errorf("Memory %d on Linux, want MemTotal", p.Memory)
	}
	// Features agree with x/sys/cpu, whatever this machine is.
	want := map[string]bool{}
	switch goruntime.GOARCH {
	case "amd64":
		want = map[string]bool{"avx": cpu.X86.HasAVX, "avx2": cpu.X86.HasAVX2, "fma": cpu.X86.HasFMA, "avx512f": cpu.X86.HasAVX512F}
	case "arm64":
		want = map[string]bool{"neon": cpu.ARM64.HasASIMD, "sve": cpu.ARM64.HasSVE}
	}
	for f, has := range want {
		if p.HasFeature(f) != has {
			t.Errorf("feature %s: processor %v, listed %v (%v)", f, has, !has, p.Features)
		}
	}
	t.Logf("%s %q %q, %d threads, %d MiB, L1d %d L2 %d L3 %d, features %v",
		p.ID(), p.Name, p.Vendor, p.Threads, p.Memory>>20, p.L1DCache, p.L2Cache, p.L3Cache, p.Features)
}

func TestAlignment(t *testing.T) {
	d := newBackend(t, cpub.Options{Threads: 1}).Device()
	sizes := []int64{1 << 16, 1<<20 + 1, 3 << 20}
	for n := range int64(300) {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		buf, err := d.Alloc(n)
		if err != nil {
			t.Fatalf("Alloc(%d): %v", n, err)
		}
		mem := buf.(runtime.HostAccessible).HostBytes()
		if int64(len(mem)) != n || int64(cap(mem)) != n {
			t.Errorf("Alloc(%d): len %d cap %d", n, len(mem), cap(mem))
		}
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(mem))); n > 0 && p%cpub.Alignment != 0 {
			t.Errorf("Alloc(%d) at %#x, not %d-byte aligned", n, p, cpub.Alignment)
		}
		if slices.ContainsFunc(mem, func(b byte) bool { return b != 0 }) {
			t.Errorf("Alloc(%d) not zeroed", n)
		}
		if err := buf.Free(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	d := newBackend(t, cpub.Options{Threads: 1, MemoryLimit: 1 << 20}).Device()
	a, err := d.Alloc(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Alloc(1); !errors.Is(err, runtime.ErrOutOfMemory) {
		t.Errorf("Alloc past the limit = %v, want ErrOutOfMemory", err)
	}
	if err := a.Free(); err != nil {
		t.Fatal(err)
	}
	b, err := d.Alloc(1)
	if err != nil {
		t.Fatalf("Alloc after Free: %v", err)
	}
	_ = b.Free()

	// A pool whose cache fills the device trims it and retries, rather than
	// failing: the device's ErrOutOfMemory is what drives that.
	p, err := runtime.NewPool(d, runtime.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big, err := p.Alloc(600 << 10) // a 1 MiB class: the whole device
	if err != nil {
		t.Fatal(err)
	}
	_ = big.Free()
	small, err := p.Alloc(2000)
	if err != nil {
		t.Fatalf("pool Alloc with the device full of cache: %v", err)
	}
	_ = small.Free()
}

func TestKernelErrors(t *testing.T) {
	b := newBackend(t, cpub.Options{Threads: 2})
	s := newStream(t, b.Device())
	errX := errors.New("kernel failed")
	for _, c := range []struct {
		name  string
		fn    func(*cpub.Exec) error
		check func(error) bool
	}{
		{"error", func(*cpub.Exec) error { return errX }, func(err error) bool {
			return errors.Is(err, errX) && strings.Contains(err.Error(), `"error"`)
		}},
		{"panic value", func(*cpub.Exec) error { panic("oops") }, func(err error) bool {
			var pe *cpub.PanicError
			return errors.As(err, &pe) && pe.Value == "oops" && len(pe.Stack) > 0
		}},
		{"panic error", func(*cpub.Exec) error { panic(fmt.Errorf("w: %w", errX)) }, func(err error) bool {
			return errors.Is(err, errX)
		}},
		{"panic in a worker chunk", func(x *cpub.Exec) error {
			x.Workers().ParallelFor(8, 1, func(lo, hi int) {
				if hi == 8 { // the last chunk: a worker's, if one is idle
					panic(errX)
				}
			})
			return nil
		}, func(err error) bool { return errors.Is(err, errX) }},
		{"nil deref", func(*cpub.Exec) error {
			var p *int
			return fmt.Errorf("%d", *p)
		}, func(err error) bool {
			var pe *cpub.PanicError
			return errors.As(err, &pe)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := s.Launch(&cpub.Func{Name: c.name, Fn: c.fn}); err != nil {
				t.Fatal(err)
			}
			if err := syncStream(s); !c.check(err) {
				t.Errorf("Synchronize = %v", err)
			}
			// The stream recovers.
			ran := false
			if err := s.Launch(cpub.Func{Name: "ok", Fn: func(*cpub.Exec) error { ran = true; return nil }}); err != nil {
				t.Fatal(err)
			}
			if err := syncStream(s); err != nil || !ran {
				t.Errorf("after the failure: %v, ran %v", err, ran)
			}
		})
	}
	if err := s.HostFunc(func() error { panic("host") }); err != nil {
		t.Fatal(err)
	}
	var pe *cpub.PanicError
	if err := syncStream(s); !errors.As(err, &pe) || pe.Where != "host func" {
		t.Errorf("host func panic: %v", err)
	}
	if err := s.Launch(cpub.Func{Name: "nil"}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Launch of a Func without Fn = %v", err)
	}
	if err := s.Launch((*cpub.Func)(nil)); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Launch(nil *Func) = %v", err)
	}
}

// opaque is a buffer of the CPU device that the host cannot address: the
// shape of a wrapper the backend does not know.
type opaque struct{ dev runtime.Device }

func (o opaque) Device() runtime.Device { return o.dev }
func (o opaque) Size() int64            { return 8 }
func (o opaque) Free() error            { return nil }

func TestExecBytes(t *testing.T) {
	b := newBackend(t, cpub.Options{Threads: 1})
	d := b.Device()
	s := newStream(t, d)
	p, _ := runtime.NewPool(d, runtime.PoolOptions{})
	defer p.Close()
	pooled, _ := p.Alloc(100)
	raw, _ := d.Alloc(10)
	freed, _ := d.Alloc(10)
	_ = freed.Free()
	var got []int
	var errs []error
	k := cpub.Func{Name: "bytes", Fn: func(x *cpub.Exec) error {
		for _, buf := range []runtime.Buffer{pooled, raw, opaque{d}, freed, nil} {
			mem, err := x.Bytes(buf)
			got = append(got, len(mem))
			errs = append(errs, err)
		}
		if x.Device() != d {
			return errors.New("wrong device")
		}
		return nil
	}}
	if err := s.Launch(k); err != nil {
		t.Fatal(err)
	}
	if err := syncStream(s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{100, 10, 0, 0, 0}) {
		t.Errorf("lengths %v", got)
	}
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], runtime.ErrUnsupported) ||
		!errors.Is(errs[3], runtime.ErrClosed) || !errors.Is(errs[4], runtime.ErrInvalidArgument) {
		t.Errorf("errors %v", errs)
	}
	// A freed or opaque buffer is refused at enqueue.
	if err := s.CopyToDevice(freed, 0, []byte{1}); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("copy into a freed buffer = %v, want ErrClosed", err)
	}
	if err := s.CopyToDevice(opaque{d}, 0, []byte{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("copy into an opaque buffer = %v, want ErrInvalidArgument", err)
	}
}

func TestCopyRules(t *testing.T) {
	b := newBackend(t, cpub.Options{Threads: 2})
	d := b.Device()
	s := newStream(t, d)
	buf, _ := d.Alloc(100)
	// Partial overlap is refused (portable programs cannot rely on it);
	// identical and disjoint ranges are fine.
	if err := s.Copy(buf, 10, buf, 0, 20); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("overlapping copy = %v, want ErrInvalidArgument", err)
	}
	if err := s.Copy(buf, 0, buf, 10, 20); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("overlapping copy = %v, want ErrInvalidArgument", err)
	}
	for _, c := range [][3]int64{{10, 10, 20}, {0, 20, 20}, {50, 0, 50}} {
		if err := s.Copy(buf, c[0], buf, c[1], c[2]); err != nil {
			t.Errorf("Copy(%v) = %v", c, err)
		}
	}
	// A buffer of another CPU backend is another device.
	other, _ := newBackend(t, cpub.Options{Threads: 1}).Device().Alloc(10)
	if err := s.CopyToDevice(other, 0, []byte{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("copy into another backend's buffer = %v", err)
	}
	// Large copies are split over the workers; the result is the same.
	const n = 5 << 20
	big, _ := d.Alloc(n)
	src := make([]byte, n)
	for i := range src {
		src[i] = byte(i * 13)
	}
	dst := make([]byte, n)
	if err := s.CopyToDevice(big, 0, src); err != nil {
		t.Fatal(err)
	}
	if err := s.CopyToHost(dst, big, 0); err != nil {
		t.Fatal(err)
	}
	if err := syncStream(s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src, dst) {
		t.Errorf("large round trip differs")
	}
}

func TestEventsAcrossBackends(t *testing.T) {
	b1 := newBackend(t, cpub.Options{Threads: 1})
	b2 := newBackend(t, cpub.Options{Threads: 1})
	s1, s2 := newStream(t, b1.Device()), newStream(t, b2.Device())
	e1, _ := b1.Device().NewEvent()
	// Recording needs the event's own device...
	if err := s2.Record(e1); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Record of another backend's event = %v", err)
	}
	if err := s1.Record(nil); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Record(nil) = %v", err)
	}
	if err := s1.Wait(nil); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Wait(nil) = %v", err)
	}
	// ...waiting does not.
	release := make(chan struct{})
	_ = s1.HostFunc(func() error { <-release; return nil })
	_ = s1.Record(e1)
	ran := false
	_ = s2.Wait(e1)
	_ = s2.HostFunc(func() error { ran = true; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s2.Synchronize(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("s2 did not wait: %v", err)
	}
	close(release)
	if err := syncStream(s2); err != nil || !ran {
		t.Errorf("after release: %v, ran %v", err, ran)
	}
}

// blockingEvent never completes unless its context ends.
type blockingEvent struct{}

func (blockingEvent) Query() (bool, error) { return false, nil }
func (blockingEvent) Synchronize(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
func (blockingEvent) Time() (time.Time, error) { return time.Time{}, runtime.ErrInvalidArgument }

func TestBackendClose(t *testing.T) {
	before := goruntime.NumGoroutine()
	b, err := cpub.New(cpub.Options{Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	d := b.Device()
	s, _ := d.NewStream()
	stuck, _ := d.NewStream()
	buf, _ := d.Alloc(64)
	out := make([]byte, 64)
	_ = s.CopyToDevice(buf, 0, []byte("pending work runs before Close returns"))
	_ = s.CopyToHost(out, buf, 0)
	// A stream waiting on an event that will never complete must not hang
	// Close: the wait is aborted.
	_ = stuck.Wait(blockingEvent{})

	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Backend.Close hung")
	}
	if !strings.HasPrefix(string(out), "pending work") {
		t.Errorf("pending copy did not run: %q", out)
	}

	for _, c := range []struct {
		name string
		err  error
	}{
		{"Close", b.Close()},
		{"Devices", func() error { _, err := b.Devices(); return err }()},
		{"Alloc", func() error { _, err := d.Alloc(1); return err }()},
		{"NewStream", func() error { _, err := d.NewStream(); return err }()},
		{"NewEvent", func() error { _, err := d.NewEvent(); return err }()},
		{"CopyToDevice", s.CopyToDevice(buf, 0, out[:1])},
		{"HostFunc", stuck.HostFunc(func() error { return nil })},
		{"Synchronize", s.Synchronize(context.Background())},
		{"Stream.Close", s.Close()},
	} {
		if !errors.Is(c.err, runtime.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", c.name, c.err)
		}
	}
	if err := buf.Free(); err != nil {
		t.Errorf("Free after Close = %v", err)
	}
	// ParallelFor still works, inline.
	sum := 0
	b.Workers().ParallelFor(10, 1, func(lo, hi int) { sum += hi - lo })
	if sum != 10 {
		t.Errorf("ParallelFor after Close covered %d of 10", sum)
	}
	// Every goroutine the backend started has ended.
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := goruntime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

func TestStreamCloseReportsError(t *testing.T) {
	d := newBackend(t, cpub.Options{Threads: 1}).Device()
	s, _ := d.NewStream()
	errX := errors.New("never synchronized")
	_ = s.HostFunc(func() error { return errX })
	if err := s.Close(); !errors.Is(err, errX) {
		t.Errorf("Close = %v, want the unreported error", err)
	}
	if err := s.Close(); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func BenchmarkStreamRoundTrip(b *testing.B) {
	d := newBackend(b, cpub.Options{}).Device()
	s := newStream(b, d)
	for _, n := range []int{64, 64 << 10} {
		b.Run(fmt.Sprintf("bytes=%d", n), func(b *testing.B) {
			buf, _ := d.Alloc(int64(n))
			defer buf.Free()
			src, dst := make([]byte, n), make([]byte, n)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(2 * n))
			for b.Loop() {
				_ = s.CopyToDevice(buf, 0, src)
				_ = s.CopyToHost(dst, buf, 0)
				if err := s.Synchronize(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLaunch(b *testing.B) {
	// The fixed cost of a kernel launch: enqueue, run on the stream
	// goroutine, synchronize.
	d := newBackend(b, cpub.Options{}).Device()
	s := newStream(b, d)
	k := cpub.Func{Name: "empty", Fn: func(*cpub.Exec) error { return nil }}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Launch(k)
		if err := s.Synchronize(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
