package runtimetest

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gocann/gocann/runtime"
)

func (s *suite) testProperties(t *testing.T) {
	p := s.dev.Properties()
	if p.Backend == "" || strings.ContainsAny(p.Backend, ": \t") {
		t.Errorf("Backend %q: want a non-empty name without ':' or spaces", p.Backend)
	}
	switch p.Kind {
	case runtime.KindCPU, runtime.KindGPU, runtime.KindAccelerator:
	default:
		t.Errorf("Kind = %v, want cpu, gpu or accelerator", p.Kind)
	}
	name, idx, err := runtime.ParseDeviceID(p.ID())
	if err != nil || name != p.Backend || idx != p.Index {
		t.Errorf("ID %q parses to (%q, %d, %v), want (%q, %d, nil)", p.ID(), name, idx, err, p.Backend, p.Index)
	}
	for _, c := range []struct {
		what string
		v    int64
	}{
		{"Index", int64(p.Index)}, {"ComputeUnits", int64(p.ComputeUnits)}, {"Threads", int64(p.Threads)},
		{"Memory", p.Memory}, {"L1DCache", p.L1DCache}, {"L2Cache", p.L2Cache}, {"L3Cache", p.L3Cache},
	} {
		if c.v < 0 {
			t.Errorf("%s = %d, want >= 0", c.what, c.v)
		}
	}
	seen := map[string]bool{}
	for _, f := range p.Features {
		if f == "" || f != strings.ToLower(f) || strings.ContainsAny(f, " \t") {
			t.Errorf("feature %q: want a lower-case word", f)
		}
		if seen[f] {
			t.Errorf("feature %q listed twice", f)
		}
		seen[f] = true
		if !p.HasFeature(strings.ToUpper(f)) {
			t.Errorf("HasFeature(%q) = false for listed feature", strings.ToUpper(f))
		}
	}
	// Properties is a value: changing the copy must not change the device.
	if len(p.Features) > 0 {
		p.Features[0] = "clobbered"
		if s.dev.Properties().Features[0] == "clobbered" {
			t.Errorf("Properties().Features aliases the device's own slice")
		}
	}
}

func (s *suite) testAlloc(t *testing.T) {
	st := s.stream(t)
	for _, n := range []int64{0, 1, 63, 64, 4097, 1 << 20} {
		b, err := s.dev.Alloc(n)
		if err != nil {
			t.Fatalf("Alloc(%d): %v", n, err)
		}
		if b.Size() != n {
			t.Errorf("Alloc(%d).Size() = %d", n, b.Size())
		}
		if b.Device() != s.dev {
			t.Errorf("Alloc(%d).Device() is not the device", n)
		}
		// The memory is usable end to end.
		want := pattern(int(n), byte(n))
		upload(t, st, b, 0, want)
		checkBytes(t, "round trip", download(t, st, b, 0, n), want)
		if err := b.Free(); err != nil {
			t.Errorf("Free of %d bytes: %v", n, err)
		}
		if err := b.Free(); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("second Free of %d bytes = %v, want ErrClosed", n, err)
		}
	}

	for _, n := range []int64{-1, math.MinInt64} {
		if b, err := s.dev.Alloc(n); !errors.Is(err, runtime.ErrInvalidArgument) || b != nil {
			t.Errorf("Alloc(%d) = %v, %v; want nil, ErrInvalidArgument", n, b, err)
		}
	}
	// More than any machine has: an error, not a crash of the process.
	for _, n := range []int64{1 << 60, math.MaxInt64} {
		b, err := s.dev.Alloc(n)
		if !errors.Is(err, runtime.ErrOutOfMemory) && !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Alloc(%d) = %v; want ErrOutOfMemory or ErrInvalidArgument", n, err)
		}
		if b != nil {
			_ = b.Free()
			t.Errorf("Alloc(%d) returned a buffer", n)
		}
	}
	// A failed allocation leaves the device usable.
	b := s.alloc(t, 128)
	upload(t, st, b, 0, pattern(128, 1))
}

func (s *suite) testPool(t *testing.T) {
	newPool := func(t *testing.T, limit int64) *runtime.Pool {
		t.Helper()
		p, err := runtime.NewPool(s.dev, runtime.PoolOptions{Limit: limit})
		if err != nil {
			t.Fatalf("NewPool: %v", err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	palloc := func(t *testing.T, p *runtime.Pool, n int64) runtime.Buffer {
		t.Helper()
		b, err := p.Alloc(n)
		if err != nil {
			t.Fatalf("pool Alloc(%d): %v", n, err)
		}
		if b.Size() != n {
			t.Fatalf("pool Alloc(%d).Size() = %d", n, b.Size())
		}
		return b
	}
	consistent := func(t *testing.T, st runtime.PoolStats) {
		t.Helper()
		if st.Reserved != st.InUse+st.Cached || st.Peak < st.InUse || st.InUse < 0 || st.Cached < 0 || st.Hits > st.Allocs || st.Frees > st.Allocs {
			t.Errorf("inconsistent stats %+v", st)
		}
	}

	t.Run("Reuse", func(t *testing.T) {
		p := newPool(t, 0)
		a := palloc(t, p, 1000)
		must(t, "Free", a.Free())
		before := p.Stats()
		b := palloc(t, p, 900) // same size class as 1000 in any sane pool
		after := p.Stats()
		if after.Hits != before.Hits+1 || after.Reserved != before.Reserved {
			t.Errorf("realloc of a freed size class: stats %+v -> %+v, want Hits+1 and Reserved unchanged", before, after)
		}
		consistent(t, after)
		must(t, "Free", b.Free())
		if err := b.Free(); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("second Free of a pool buffer = %v, want ErrClosed", err)
		}
	})

	t.Run("Stats", func(t *testing.T) {
		p := newPool(t, 0)
		if st := p.Stats(); st != (runtime.PoolStats{}) {
			t.Errorf("new pool stats %+v, want zero", st)
		}
		a := palloc(t, p, 100)
		b := palloc(t, p, 3000)
		st := p.Stats()
		consistent(t, st)
		if st.InUse < 3100 || st.Cached != 0 || st.Peak != st.InUse || st.Allocs != 2 || st.Hits != 0 || st.Frees != 0 {
			t.Errorf("after two allocs: %+v", st)
		}
		must(t, "Free", a.Free())
		st2 := p.Stats()
		consistent(t, st2)
		if st2.InUse >= st.InUse || st2.Cached != st.InUse-st2.InUse || st2.Reserved != st.Reserved || st2.Peak != st.Peak || st2.Frees != 1 {
			t.Errorf("after a free: %+v -> %+v", st, st2)
		}
		p.ResetPeak()
		if st3 := p.Stats(); st3.Peak != st3.InUse {
			t.Errorf("after ResetPeak: Peak %d, InUse %d", st3.Peak, st3.InUse)
		}
		must(t, "Free", b.Free())
		if st := p.Stats(); st.InUse != 0 || st.Frees != 2 {
			t.Errorf("all freed: %+v", st)
		}
	})

	t.Run("Trim", func(t *testing.T) {
		p := newPool(t, 0)
		var bufs []runtime.Buffer
		for _, n := range []int64{10, 1000, 100000, 3 << 20} {
			bufs = append(bufs, palloc(t, p, n))
		}
		keep := palloc(t, p, 5000)
		for _, b := range bufs {
			must(t, "Free", b.Free())
		}
		if st := p.Stats(); st.Cached == 0 {
			t.Errorf("freed buffers not cached: %+v", st)
		}
		must(t, "Trim", p.Trim())
		st := p.Stats()
		consistent(t, st)
		if st.Cached != 0 || st.Reserved != st.InUse || st.InUse == 0 {
			t.Errorf("after Trim: %+v, want nothing cached and the live buffer kept", st)
		}
		must(t, "Free", keep.Free())
	})

	t.Run("Limit", func(t *testing.T) {
		const limit = 1 << 16
		p := newPool(t, limit)
		a := palloc(t, p, limit)
		if b, err := p.Alloc(1); !errors.Is(err, runtime.ErrOutOfMemory) {
			t.Errorf("Alloc past the limit = %v, want ErrOutOfMemory", err)
			if b != nil {
				_ = b.Free()
			}
		}
		must(t, "Free", a.Free())
		// The cached buffer is released to make room.
		b := palloc(t, p, 1)
		if st := p.Stats(); st.Reserved > limit {
			t.Errorf("Reserved %d past limit %d", st.Reserved, limit)
		}
		if c, err := p.Alloc(limit + 1); !errors.Is(err, runtime.ErrOutOfMemory) {
			t.Errorf("Alloc(limit+1) = %v, want ErrOutOfMemory", err)
			if c != nil {
				_ = c.Free()
			}
		}
		must(t, "Free", b.Free())
		consistent(t, p.Stats())
	})

	t.Run("DeviceOutOfMemory", func(t *testing.T) {
		p := newPool(t, 0)
		before := p.Stats()
		b, err := p.Alloc(1 << 60)
		if !errors.Is(err, runtime.ErrOutOfMemory) && !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("pool Alloc(1<<60) = %v, want ErrOutOfMemory or ErrInvalidArgument", err)
		}
		if b != nil {
			_ = b.Free()
		}
		if after := p.Stats(); after != before {
			t.Errorf("failed alloc changed stats %+v -> %+v", before, after)
		}
		if _, err := p.Alloc(-1); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("pool Alloc(-1) = %v, want ErrInvalidArgument", err)
		}
	})

	t.Run("Buffers", func(t *testing.T) {
		// Pool buffers are wrappers; streams must accept them like the
		// device's own, within the wrapper's Size.
		p := newPool(t, 0)
		st := s.stream(t)
		a, b := palloc(t, p, 100), palloc(t, p, 300)
		want := pattern(100, 3)
		upload(t, st, a, 0, want)
		must(t, "Copy", st.Copy(b, 200, a, 0, 100))
		s.fill(t, st, b, 0, 200, 0x5c)
		got := download(t, st, b, 0, 300)
		checkBytes(t, "pool buffer copy", got[200:], want)
		checkBytes(t, "pool buffer fill", got[:200], bytesOf(200, 0x5c))
		must(t, "Free", a.Free())
		must(t, "Free", b.Free())
	})

	t.Run("Close", func(t *testing.T) {
		p := newPool(t, 0)
		st := s.stream(t)
		a := palloc(t, p, 4096)
		c := palloc(t, p, 10)
		must(t, "Free", c.Free())
		must(t, "Close", p.Close())
		if b, err := p.Alloc(10); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("Alloc after Close = %v, want ErrClosed", err)
			if b != nil {
				_ = b.Free()
			}
		}
		// A buffer in use stays valid after the pool closes.
		want := pattern(4096, 9)
		upload(t, st, a, 0, want)
		checkBytes(t, "buffer after pool Close", download(t, st, a, 0, 4096), want)
		must(t, "Free after Close", a.Free())
		if st := p.Stats(); st.InUse != 0 || st.Reserved != 0 || st.Cached != 0 {
			t.Errorf("closed pool with everything freed: %+v", st)
		}
		if err := a.Free(); !errors.Is(err, runtime.ErrClosed) {
			t.Errorf("second Free = %v, want ErrClosed", err)
		}
	})
}

func bytesOf(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}
