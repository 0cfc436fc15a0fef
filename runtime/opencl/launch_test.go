package opencl_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/opencl"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newStream(t testing.TB, d runtime.Device) runtime.Stream {
	t.Helper()
	s, err := d.NewStream()
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func alloc(t testing.TB, d runtime.Device, n int64) runtime.Buffer {
	t.Helper()
	b, err := d.Alloc(n)
	must(t, err)
	t.Cleanup(func() { _ = b.Free() })
	return b
}

func syncStream(t testing.TB, s runtime.Stream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	must(t, s.Synchronize(ctx))
}

func upload(t testing.TB, s runtime.Stream, b runtime.Buffer, data []byte) {
	t.Helper()
	must(t, s.CopyToDevice(b, 0, data))
	syncStream(t, s)
}

func download(t testing.TB, s runtime.Stream, b runtime.Buffer, n int) []byte {
	t.Helper()
	out := make([]byte, n)
	must(t, s.CopyToHost(out, b, 0))
	syncStream(t, s)
	return out
}

func floatBytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func bytesFloats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const launchSource = `
// Reverses each work group's slice of x through local memory, then adds b.
__kernel void reverse_add(__global const float* x, __global float* y, __local float* tmp, float b, ulong n) {
	size_t g = get_global_id(0), l = get_local_id(0), w = get_local_size(0);
	tmp[l] = g < n ? x[g] : 0.0f;
	barrier(CLK_LOCAL_MEM_FENCE);
	size_t src = get_group_id(0) * w + (w - 1 - l);
	if (g < n) y[g] = tmp[w - 1 - l] + b;
	(void)src;
}

__kernel void spin(__global float* x, int iters) {
	float v = x[get_global_id(0)];
	for (int i = 0; i < iters; i++) v = v * 0.999999f + 1e-6f;
	x[get_global_id(0)] = v;
}

__kernel void add_int(__global int* x, int v) { x[get_global_id(0)] += v; }
`

func launchKernels(t *testing.T, d *opencl.Device) *opencl.Program {
	t.Helper()
	p, err := d.BuildProgram(launchSource, "")
	must(t, err)
	return p
}

func TestLaunchLocalMemory(t *testing.T) {
	d := firstDevice(t)
	p := launchKernels(t, d)
	k, err := p.Kernel("reverse_add")
	must(t, err)
	if k.NumArgs() != 5 || k.Name() != "reverse_add" || k.MaxWorkGroupSize() < 1 {
		t.Errorf("kernel %q: %d args, max group %d", k.Name(), k.NumArgs(), k.MaxWorkGroupSize())
	}
	const n, group = 60, 16
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i)
	}
	s := newStream(t, d)
	xb, yb := alloc(t, d, 4*n), alloc(t, d, 4*n)
	upload(t, s, xb, floatBytes(x...))
	global := (n + group - 1) / group * group
	must(t, s.Launch(&opencl.Launch{Kernel: k, Global: []int{global}, Local: []int{group},
		Args: []any{xb, yb, opencl.LocalMem(4 * group), float32(0.5), uint64(n)}}))
	got := bytesFloats(download(t, s, yb, 4*n))
	for i := range n {
		g0 := i / group * group
		src := g0 + (group - 1 - i%group)
		want := float32(0.5)
		if src < n {
			want += float32(src)
		}
		if got[i] != want {
			t.Fatalf("y[%d] = %v, want %v", i, got[i], want)
		}
	}
}

func TestLaunchErrors(t *testing.T) {
	d := firstDevice(t)
	p := launchKernels(t, d)
	k, _ := p.Kernel("reverse_add")
	add, _ := p.Kernel("add_int")
	s := newStream(t, d)
	xb, yb := alloc(t, d, 64), alloc(t, d, 64)
	other := firstDevice(t) // another backend: another device
	ob := alloc(t, other, 64)
	op, _ := other.BuildProgram(launchSource, "")
	ok, _ := op.Kernel("add_int")
	good := []any{xb, yb, opencl.LocalMem(64), float32(1), uint64(16)}
	with := func(i int, v any) []any {
		a := append([]any(nil), good...)
		a[i] = v
		return a
	}
	for _, c := range []struct {
		name string
		l    opencl.Launch
	}{
		{"nil kernel", opencl.Launch{Global: []int{16}}},
		{"no dimensions", opencl.Launch{Kernel: k, Args: good}},
		{"four dimensions", opencl.Launch{Kernel: k, Global: []int{1, 1, 1, 1}, Args: good}},
		{"negative size", opencl.Launch{Kernel: k, Global: []int{-16}, Args: good}},
		{"local not dividing", opencl.Launch{Kernel: k, Global: []int{16}, Local: []int{5}, Args: good}},
		{"local rank", opencl.Launch{Kernel: k, Global: []int{16}, Local: []int{4, 4}, Args: good}},
		{"group too large", opencl.Launch{Kernel: k, Global: []int{1 << 20}, Local: []int{1 << 20}, Args: good}},
		{"too few args", opencl.Launch{Kernel: k, Global: []int{16}, Args: good[:4]}},
		{"too many args", opencl.Launch{Kernel: k, Global: []int{16}, Args: append(good, int32(1))}},
		{"nil arg", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(0, nil)}},
		{"Go int", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(4, 16)}},
		{"float for ulong", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(4, float32(16))}},
		{"double for float", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(3, 1.0)}},
		{"scalar for buffer", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(0, int64(0))}},
		{"buffer for scalar", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(3, xb)}},
		{"local for buffer", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(1, opencl.LocalMem(64))}},
		{"buffer for local", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(2, yb)}},
		{"zero local memory", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(2, opencl.LocalMem(0))}},
		{"too much local memory", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(2, opencl.LocalMem(1<<40))}},
		{"buffer of another device", opencl.Launch{Kernel: k, Global: []int{16}, Args: with(0, ob)}},
		{"kernel of another device", opencl.Launch{Kernel: ok, Global: []int{16}, Args: []any{xb, int32(1)}}},
		{"unsupported type", opencl.Launch{Kernel: add, Global: []int{16}, Args: []any{xb, "1"}}},
	} {
		if err := s.Launch(c.l); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", c.name, err)
		}
	}
	if err := s.Launch(nil); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Launch(nil) = %v", err)
	}
	if err := s.Launch((*opencl.Launch)(nil)); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Launch((*Launch)(nil)) = %v", err)
	}
	syncStream(t, s) // nothing was enqueued, nothing failed
	// An empty launch runs nothing and is fine.
	must(t, s.Launch(opencl.Launch{Kernel: add, Global: []int{0}, Args: []any{xb, int32(1)}}))
	syncStream(t, s)
}

func TestEventTiming(t *testing.T) {
	d := firstDevice(t)
	p := launchKernels(t, d)
	k, _ := p.Kernel("spin")
	s := newStream(t, d)
	const n = 1 << 12
	xb := alloc(t, d, 4*n)
	upload(t, s, xb, make([]byte, 4*n))
	e0, _ := d.NewEvent()
	e1, _ := d.NewEvent()
	must(t, s.Record(e0))
	wall := time.Now()
	must(t, s.Launch(opencl.Launch{Kernel: k, Global: []int{n}, Args: []any{xb, int32(20000)}}))
	must(t, s.Record(e1))
	must(t, e1.Synchronize(context.Background()))
	wallDt := time.Since(wall)
	dt, err := runtime.Elapsed(e0, e1)
	must(t, err)
	// The device measured the kernel: more than nothing, and not more than
	// the host saw (with slack for the clock conversion).
	if dt <= 0 || dt > wallDt+50*time.Millisecond {
		t.Errorf("Elapsed = %v; the host saw %v", dt, wallDt)
	}
	t.Logf("kernel of %d×20000 iterations: device %v, host %v", n, dt, wallDt)
	t1, _ := e1.Time()
	if d := time.Since(t1); d < -time.Second || d > time.Minute {
		t.Errorf("event time %v is %v from now", t1, d)
	}
}

func TestConcurrentLaunches(t *testing.T) {
	// One kernel launched from many streams with different arguments:
	// argument setting and enqueueing must not interleave.
	d := firstDevice(t)
	p := launchKernels(t, d)
	k, _ := p.Kernel("add_int")
	const streams, rounds, n = 8, 50, 64
	var wg sync.WaitGroup
	for g := range streams {
		s := newStream(t, d)
		buf := alloc(t, d, 4*n)
		wg.Go(func() {
			must(t, s.CopyToDevice(buf, 0, make([]byte, 4*n)))
			for range rounds {
				if err := s.Launch(opencl.Launch{Kernel: k, Global: []int{n}, Args: []any{buf, int32(g + 1)}}); err != nil {
					t.Error(err)
					return
				}
			}
			out := make([]byte, 4*n)
			must(t, s.CopyToHost(out, buf, 0))
			if err := s.Synchronize(context.Background()); err != nil {
				t.Error(err)
				return
			}
			for i := range n {
				if v := int32(binary.LittleEndian.Uint32(out[4*i:])); v != int32(rounds*(g+1)) {
					t.Errorf("stream %d: x[%d] = %d, want %d", g, i, v, rounds*(g+1))
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestEventsAcrossDevices(t *testing.T) {
	// Two backends are two devices with separate contexts: a wait on the
	// other's event is done on the host side and must still order work.
	d1, d2 := firstDevice(t), firstDevice(t)
	s1, s2 := newStream(t, d1), newStream(t, d2)
	e, _ := d1.NewEvent()
	if err := s2.Record(e); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("Record on another device's stream = %v", err)
	}
	release := make(chan struct{})
	must(t, s1.HostFunc(func() error { <-release; return nil }))
	must(t, s1.Record(e))
	ran := false
	must(t, s2.Wait(e))
	must(t, s2.HostFunc(func() error { ran = true; return nil }))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s2.Synchronize(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("s2 did not wait for d1's event: %v", err)
	}
	close(release)
	syncStream(t, s2)
	if !ran {
		t.Errorf("work after the wait did not run")
	}
}

func TestFreeWithPendingWork(t *testing.T) {
	// Freeing a buffer while a copy into it is still queued is the caller's
	// mistake, but must not crash the process: the queue holds its own
	// reference.
	d := firstDevice(t)
	s := newStream(t, d)
	release := make(chan struct{})
	must(t, s.HostFunc(func() error { <-release; return nil }))
	b, err := d.Alloc(1 << 16)
	must(t, err)
	must(t, s.CopyToDevice(b, 0, make([]byte, 1<<16)))
	must(t, b.Free())
	close(release)
	syncStream(t, s)
}

func TestBackendClose(t *testing.T) {
	b := newBackend(t, "")
	d, _ := b.Device(0)
	s, err := d.NewStream()
	must(t, err)
	stuck, err := d.NewStream()
	must(t, err)
	buf, err := d.Alloc(64)
	must(t, err)
	out := make([]byte, 64)
	must(t, s.CopyToDevice(buf, 0, []byte(strings.Repeat("x", 64))))
	must(t, s.CopyToHost(out, buf, 0))
	other := firstDevice(t)
	never, _ := other.NewEvent()
	os := newStream(t, other)
	hold := make(chan struct{})
	defer close(hold)
	must(t, os.HostFunc(func() error { <-hold; return nil }))
	must(t, os.Record(never))
	must(t, stuck.Wait(never)) // would wait forever: Close must cut it
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung")
	}
	if string(out) != strings.Repeat("x", 64) {
		t.Errorf("pending copy did not complete before Close returned")
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
		{"BuildProgram", func() error { _, err := d.BuildProgram(scaleSource, ""); return err }()},
		{"CopyToDevice", s.CopyToDevice(buf, 0, out[:1])},
		{"Synchronize", s.Synchronize(context.Background())},
	} {
		if !errors.Is(c.err, runtime.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", c.name, c.err)
		}
	}
	must(t, buf.Free())
}

func TestProperties(t *testing.T) {
	b := newBackend(t, "")
	devs, err := b.Devices()
	must(t, err)
	for i, dev := range devs {
		p := dev.Properties()
		d := dev.(*opencl.Device)
		info := d.Info()
		if p.Backend != "opencl" || p.Index != i || p.Name == "" || p.Vendor == "" || p.Driver == "" ||
			p.ComputeUnits < 1 || p.Memory <= 0 || info.MaxWorkGroupSize < 1 || info.LocalMemSize <= 0 || info.Major < 1 {
			t.Errorf("device %d: %+v, %+v", i, p, info)
		}
		if !p.HasFeature("opencl-" + strings.Fields(info.Version)[1]) {
			t.Errorf("features %v lack the OpenCL version of %q", p.Features, info.Version)
		}
		if info.HasExtension("cl_khr_fp16") != p.HasFeature("fp16") {
			t.Errorf("fp16 feature %v, extension %v", p.HasFeature("fp16"), info.HasExtension("cl_khr_fp16"))
		}
		t.Logf("%s %q %q driver %q, %s / %s, %d CUs, %d MiB, features %v", p.ID(), p.Name, p.Vendor, p.Driver,
			info.Version, info.CVersion, p.ComputeUnits, p.Memory>>20, p.Features)
	}
	reg, err := runtime.NewRegistry(b)
	must(t, err)
	if d, err := reg.Open("opencl:0"); err != nil || d != devs[0] {
		t.Errorf("Open(opencl:0) = %v, %v", d, err)
	}
	if _, err := reg.Open("opencl:99"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Open(opencl:99) = %v", err)
	}
}
