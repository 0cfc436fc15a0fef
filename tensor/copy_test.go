package tensor

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/runtime"
)

// randomTensor returns a host tensor of dt and shape with random contents.
func randomTensor(t *testing.T, rng *rand.Rand, dt DType, shape Shape) *Tensor {
	t.Helper()
	raw := make([]byte, shape.NumElements()*dt.Size())
	for i := range raw {
		raw[i] = byte(rng.Uint32())
		if dt == Bool {
			raw[i] &= 1
		}
	}
	x, err := FromBytes(dt, shape, raw)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func sameBytes(t *testing.T, what string, got, want *Tensor) {
	t.Helper()
	g, ok1 := got.HostBytes()
	w, ok2 := want.HostBytes()
	if !ok1 || !ok2 || !slices.Equal(g, w) || got.DType() != want.DType() || !got.Shape().Equal(want.Shape()) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func mustFree(t *testing.T, xs ...*Tensor) {
	t.Helper()
	for _, x := range xs {
		if err := x.Free(); err != nil {
			t.Fatalf("Free %v: %v", x, err)
		}
	}
}

func newStream(t *testing.T, d runtime.Device) runtime.Stream {
	t.Helper()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Every type and shape goes host -> device -> device -> host through stream
// copies only, onto a device and onto a pool over it.
func TestDeviceRoundTrip(t *testing.T) {
	ctx := t.Context()
	dev := newFakeDevice(0)
	pool, err := runtime.NewPool(dev, runtime.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(t, dev)
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := []Shape{{}, {1}, {2, 3}, {0}, {3, 0, 2}, {4, 5, 6}}
	allocs := []struct {
		name string
		a    Allocator
	}{{"device", dev}, {"pool", pool}}
	for _, al := range allocs {
		for _, dt := range allDTypes {
			if dt == String {
				continue
			}
			for _, shape := range shapes {
				host := randomTensor(t, rng, dt, shape)
				d, err := host.CopyTo(ctx, s, al.a)
				if err != nil {
					t.Fatalf("%s: CopyTo %v%v: %v", al.name, dt, shape, err)
				}
				if d.Device() != dev || d.Buffer() == nil || d.Buffer().Device() != dev {
					t.Fatalf("%s: device %v", al.name, d.Device())
				}
				if _, ok := d.HostBytes(); ok {
					t.Fatal("a device tensor is host-readable")
				}
				d2, err := d.CopyTo(ctx, s, al.a)
				if err != nil {
					t.Fatalf("%s: device to device: %v", al.name, err)
				}
				back, err := d2.ToHost(ctx, s)
				if err != nil {
					t.Fatalf("%s: ToHost: %v", al.name, err)
				}
				if back.Device() != nil {
					t.Fatal("ToHost result is on a device")
				}
				sameBytes(t, al.name+" "+dt.String()+shape.String(), back, host)
				mustFree(t, d, d2)
			}
		}
	}
	if dev.toDevice.Load() == 0 || dev.toHost.Load() == 0 || dev.onDevice.Load() == 0 {
		t.Errorf("copies: to device %d, to host %d, on device %d", dev.toDevice.Load(), dev.toHost.Load(), dev.onDevice.Load())
	}
	st := pool.Stats()
	if st.InUse != 0 || st.Hits == 0 {
		t.Errorf("pool stats %+v: want nothing in use and cache hits", st)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if n := dev.liveBuffers(); n != 0 {
		t.Errorf("%d device buffers leaked", n)
	}
}

func TestDeviceTensorAccess(t *testing.T) {
	ctx := t.Context()
	dev := newFakeDevice(3)
	s := newStream(t, dev)
	host, _ := FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	d, err := host.CopyTo(ctx, s, dev)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != "float32[2 3] on fake:3" {
		t.Errorf("String() = %q", got)
	}
	_, err = ToSlice[float32](d)
	if !errors.Is(err, runtime.ErrUnsupported) || !strings.Contains(err.Error(), "copy it to the host first") {
		t.Errorf("ToSlice of a device tensor = %v", err)
	}
	if _, err := View[float32](d); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("View of a device tensor = %v", err)
	}
	r, err := d.Reshape(Shape{6})
	if err != nil || r.Device() != dev || r.Buffer() != d.Buffer() {
		t.Fatalf("Reshape = %v, %v", r, err)
	}
	if err := r.Free(); err != nil {
		t.Fatal(err)
	}
	// The reshape shared the storage: the original is freed too.
	if err := d.Free(); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("second Free = %v, want ErrClosed", err)
	}
	if got := d.String(); got != "float32[2 3] on fake:3 (freed)" {
		t.Errorf("String() after Free = %q", got)
	}
	if _, err := d.ToHost(ctx, s); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("ToHost after Free = %v", err)
	}
	if _, err := d.Reshape(Shape{6}); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Reshape after Free = %v", err)
	}
	if _, err := ToSlice[float32](d); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("ToSlice after Free = %v", err)
	}
	// Host tensors: Free does nothing, and they stay usable.
	if err := host.Free(); err != nil || host.Free() != nil {
		t.Errorf("host Free = %v", err)
	}
	if _, err := ToSlice[float32](host); err != nil {
		t.Errorf("host tensor after Free: %v", err)
	}
	if dev.liveBuffers() != 0 {
		t.Error("leak")
	}
}

func TestNewOn(t *testing.T) {
	dev := newFakeDevice(0)
	x, err := NewOn(dev, Int64, Shape{2, 2})
	if err != nil || x.Device() != dev || x.NumBytes() != 32 || x.Buffer().Size() < 32 || x.Offset() != 0 {
		t.Fatalf("NewOn = %v, %v", x, err)
	}
	mustFree(t, x)
	h, err := NewOn(nil, Int64, Shape{2})
	if err != nil || h.Device() != nil {
		t.Errorf("NewOn(nil) = %v, %v; want a host tensor", h, err)
	}
	if _, err := NewOn(dev, String, Shape{1}); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("NewOn(string) = %v", err)
	}
	var nilPool *runtime.Pool
	if _, err := NewOn(nilPool, Float32, Shape{1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("NewOn(nil *Pool) = %v", err)
	}
	if _, err := NewOn(dev, Float32, Shape{-1}); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("NewOn negative = %v", err)
	}
	small := &fakeDevice{limit: 16}
	if _, err := NewOn(small, Float32, Shape{5}); !errors.Is(err, runtime.ErrOutOfMemory) {
		t.Errorf("NewOn over the limit = %v", err)
	}
	z, err := NewOn(dev, Float32, Shape{0})
	if err != nil {
		t.Fatalf("NewOn zero-sized: %v", err)
	}
	mustFree(t, z)
	if dev.liveBuffers() != 0 {
		t.Error("leak")
	}
}

func TestEnqueueCopy(t *testing.T) {
	ctx := t.Context()
	dev := newFakeDevice(0)
	s := newStream(t, dev)
	src, _ := FromSlice([]int16{1, 2, 3, 4}, 2, 2)
	d1, _ := NewOn(dev, Int16, Shape{2, 2})
	d2, _ := NewOn(dev, Int16, Shape{2, 2})
	out, _ := New(Int16, Shape{2, 2})
	for _, step := range []struct{ dst, src *Tensor }{{d1, src}, {d2, d1}, {out, d2}} {
		if err := EnqueueCopy(s, step.dst, step.src); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Synchronize(ctx); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "host->device->device->host", out, src)

	// Host to host: at once without a stream, in stream order with one.
	h2, _ := New(Int16, Shape{2, 2})
	if err := EnqueueCopy(nil, h2, src); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "host->host", h2, src)
	h3, _ := New(Int16, Shape{2, 2})
	before := dev.hostFuncs.Load()
	if err := EnqueueCopy(s, h3, src); err != nil {
		t.Fatal(err)
	}
	if err := s.Synchronize(ctx); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "host->host on a stream", h3, src)
	if dev.hostFuncs.Load() == before {
		t.Error("host copy with a stream did not run on it")
	}
	strs, _ := FromSlice([]string{"a", "b"})
	strs2, _ := New(String, Shape{2})
	if err := EnqueueCopy(s, strs2, strs); err != nil {
		t.Fatal(err)
	}
	if err := s.Synchronize(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := strs2.Strings(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("string copy = %v", got)
	}

	other := newFakeDevice(1)
	so := newStream(t, other)
	od, _ := NewOn(other, Int16, Shape{2, 2})
	wrongShape, _ := New(Int16, Shape{4})
	wrongType, _ := New(Int32, Shape{2, 2})
	bad := []struct {
		name     string
		s        runtime.Stream
		dst, src *Tensor
		want     error
	}{
		{"shape", s, wrongShape, src, runtime.ErrInvalidArgument},
		{"dtype", s, wrongType, src, runtime.ErrInvalidArgument},
		{"no stream", nil, d1, src, runtime.ErrInvalidArgument},
		{"stream of another device", so, d1, src, runtime.ErrInvalidArgument},
		{"two devices", s, od, d1, runtime.ErrUnsupported},
		{"nil dst", s, nil, src, runtime.ErrInvalidArgument},
	}
	for _, b := range bad {
		if err := EnqueueCopy(b.s, b.dst, b.src); !errors.Is(err, b.want) {
			t.Errorf("%s: EnqueueCopy = %v, want %v", b.name, err, b.want)
		}
	}

	// Ranges of one buffer: the same range is a no-op, overlapping ones
	// are refused, disjoint ones copy.
	big, _ := NewOn(dev, Uint8, Shape{8})
	up, _ := FromSlice([]uint8{1, 2, 3, 4, 5, 6, 7, 8})
	if err := EnqueueCopy(s, big, up); err != nil {
		t.Fatal(err)
	}
	lo, _ := FromBuffer(big.Buffer(), 0, Uint8, Shape{4})
	mid, _ := FromBuffer(big.Buffer(), 2, Uint8, Shape{4})
	hi, _ := FromBuffer(big.Buffer(), 4, Uint8, Shape{4})
	if err := EnqueueCopy(s, lo, lo); err != nil {
		t.Errorf("same range: %v", err)
	}
	if err := EnqueueCopy(s, mid, lo); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("overlap: %v", err)
	}
	if err := EnqueueCopy(s, hi, lo); err != nil {
		t.Fatal(err)
	}
	got, err := big.ToHost(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := ToSlice[uint8](got); !slices.Equal(v, []uint8{1, 2, 3, 4, 1, 2, 3, 4}) {
		t.Errorf("disjoint ranges copy = %v", v)
	}
	mustFree(t, d1, d2, od, big)
	if dev.liveBuffers() != 0 || other.liveBuffers() != 0 {
		t.Error("leak")
	}
}

func TestCopyBetweenDevices(t *testing.T) {
	ctx := t.Context()
	a, b, c := newFakeDevice(0), newFakeDevice(1), newFakeDevice(2)
	sa, sb, sc := newStream(t, a), newStream(t, b), newStream(t, c)
	host, _ := FromSlice([]complex128{1, 2i, 3, 4i}, 4)
	onA, err := host.CopyTo(ctx, sa, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    runtime.Stream
	}{{"source stream", sa}, {"destination stream", sb}, {"no stream", nil}} {
		onB, err := onA.CopyTo(ctx, tc.s, b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if onB.Device() != b {
			t.Fatalf("%s: landed on %v", tc.name, onB.Device())
		}
		back, err := onB.ToHost(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, tc.name, back, host)
		mustFree(t, onB)
	}
	if _, err := onA.CopyTo(ctx, sc, b); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("stream of a third device: %v", err)
	}
	if _, err := onA.ToHost(ctx, sb); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("ToHost with another device's stream: %v", err)
	}
	mustFree(t, onA)
	if a.liveBuffers()+b.liveBuffers()+c.liveBuffers() != 0 {
		t.Error("leak")
	}
}

func TestCopyHostAndStrings(t *testing.T) {
	ctx := t.Context()
	dev := newFakeDevice(0)
	s := newStream(t, dev)
	x, _ := FromSlice([]float64{1, 2, 3})
	for _, st := range []runtime.Stream{nil, s} {
		y, err := x.ToHost(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "host copy", y, x)
		if v, _ := View[float64](y); &v[0] == func() *float64 { w, _ := View[float64](x); return &w[0] }() {
			t.Error("ToHost of a host tensor aliases it")
		}
	}
	strs, _ := FromSlice([]string{"x", "y"}, 1, 2)
	c, err := strs.ToHost(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Strings(); !slices.Equal(got, []string{"x", "y"}) || !c.Shape().Equal(Shape{1, 2}) {
		t.Errorf("string ToHost = %v", c)
	}
	if _, err := strs.CopyTo(ctx, s, dev); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("string CopyTo a device = %v", err)
	}
	var nilCtx context.Context
	if y, err := x.CopyTo(nilCtx, s, dev); err != nil {
		t.Errorf("nil context: %v", err)
	} else {
		mustFree(t, y)
	}
}

// A copy that fails when it runs is reported, and the destination freed.
func TestCopyFailure(t *testing.T) {
	ctx := t.Context()
	dev := newFakeDevice(0)
	s := newStream(t, dev)
	x, _ := FromSlice([]int32{1, 2, 3})
	dev.failCopies.Store(true)
	if _, err := x.CopyTo(ctx, s, dev); !errors.Is(err, runtime.ErrDeviceLost) {
		t.Errorf("CopyTo = %v, want ErrDeviceLost", err)
	}
	if n := dev.liveBuffers(); n != 0 {
		t.Errorf("%d buffers left after a failed copy", n)
	}
	dev.failCopies.Store(false)
	y, err := x.CopyTo(ctx, s, dev)
	if err != nil {
		t.Fatalf("the stream stays usable: %v", err)
	}
	mustFree(t, y)
}

// When ctx ends while the copy is still queued, CopyTo returns at once but
// frees the destination only after the copy has run.
func TestCopyCanceled(t *testing.T) {
	dev := newFakeDevice(0)
	s := newStream(t, dev)
	x, _ := FromSlice([]int32{1, 2, 3})
	for _, tc := range []struct {
		name string
		s    runtime.Stream
	}{{"caller's stream", s}, {"temporary stream", nil}} {
		release := dev.hold()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		_, err := x.CopyTo(ctx, tc.s, dev)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: CopyTo = %v, want DeadlineExceeded", tc.name, err)
		}
		if n := dev.liveBuffers(); n != 1 {
			t.Errorf("%s: %d buffers live while the copy is pending, want 1", tc.name, n)
		}
		release()
		if err := s.Synchronize(t.Context()); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for dev.liveBuffers() != 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := dev.liveBuffers(); n != 0 {
			t.Errorf("%s: %d buffers live after the copy ran", tc.name, n)
		}
		dev.mu.Lock()
		dev.gate = nil
		dev.mu.Unlock()
	}
}

// uncomparableDevice cannot be compared with ==; such devices are told
// apart by ID rather than by a panic.
type uncomparableDevice struct {
	*fakeDevice
	tags []string
}

func TestSameDevice(t *testing.T) {
	a, b := newFakeDevice(0), newFakeDevice(1)
	ua, ua2, ub := uncomparableDevice{fakeDevice: a}, uncomparableDevice{fakeDevice: a}, uncomparableDevice{fakeDevice: b}
	tests := []struct {
		x, y runtime.Device
		want bool
	}{
		{nil, nil, true}, {a, nil, false}, {nil, a, false}, {a, a, true}, {a, b, false},
		{ua, ua2, true}, {ua, ub, false}, {ua, a, false},
	}
	for i, tt := range tests {
		if got := sameDevice(tt.x, tt.y); got != tt.want {
			t.Errorf("%d: sameDevice = %v, want %v", i, got, tt.want)
		}
	}
}
