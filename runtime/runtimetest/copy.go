package runtimetest

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/gocann/gocann/runtime"
)

// copyLengths are every length up to a little past a cache line (where
// vectorised copies switch strategies), then a few large, odd ones.
func copyLengths() []int64 {
	var ls []int64
	for n := int64(0); n <= 70; n++ {
		ls = append(ls, n)
	}
	return append(ls, 4096+3, 1<<16+1, 1<<20+5)
}

// guard is the number of bytes checked untouched on each side of every
// destination range.
const guard = 16

const guardByte = 0xee

func (s *suite) testCopy(t *testing.T) {
	st := s.stream(t)

	t.Run("HostToDevice", func(t *testing.T) {
		for _, n := range copyLengths() {
			off := guard + n%5 // vary the alignment of the destination
			size := off + n + guard
			b := s.alloc(t, size)
			s.fill(t, st, b, 0, size, guardByte)
			src := pattern(int(n), 1)
			must(t, "CopyToDevice", st.CopyToDevice(b, off, src))
			got := download(t, st, b, 0, size)
			want := bytesOf(int(size), guardByte)
			copy(want[off:], src)
			checkBytes(t, fmt.Sprintf("%d bytes at %d", n, off), got, want)
			must(t, "Free", b.Free())
		}
	})

	t.Run("DeviceToHost", func(t *testing.T) {
		for _, n := range copyLengths() {
			off := n % 7
			size := off + n + 3
			b := s.alloc(t, size)
			data := pattern(int(size), 2)
			upload(t, st, b, 0, data)
			host := bytesOf(int(n)+2*guard, guardByte)
			must(t, "CopyToHost", st.CopyToHost(host[guard:guard+n], b, off))
			syncOK(t, st)
			want := bytesOf(int(n)+2*guard, guardByte)
			copy(want[guard:], data[off:off+n])
			checkBytes(t, fmt.Sprintf("%d bytes from %d", n, off), host, want)
			must(t, "Free", b.Free())
		}
	})

	t.Run("DeviceToDevice", func(t *testing.T) {
		for _, n := range copyLengths() {
			soff, doff := n%3, guard+n%11
			src := s.alloc(t, soff+n+5)
			data := pattern(int(src.Size()), 3)
			upload(t, st, src, 0, data)
			dsize := doff + n + guard
			dst := s.alloc(t, dsize)
			// Fill, then copy, without synchronizing in between: the copy
			// must land after the fill.
			s.fill(t, st, dst, 0, dsize, guardByte)
			must(t, "Copy", st.Copy(dst, doff, src, soff, n))
			got := download(t, st, dst, 0, dsize)
			want := bytesOf(int(dsize), guardByte)
			copy(want[doff:], data[soff:soff+n])
			checkBytes(t, fmt.Sprintf("%d bytes from %d to %d", n, soff, doff), got, want)
			must(t, "Free", src.Free())
			must(t, "Free", dst.Free())
		}
	})

	t.Run("WithinBuffer", func(t *testing.T) {
		// Disjoint ranges of one buffer, and a range onto itself (which
		// the contract allows and which must change nothing).
		for _, n := range []int64{1, 17, 64, 4099} {
			size := 2*n + guard
			b := s.alloc(t, size)
			data := pattern(int(size), 4)
			upload(t, st, b, 0, data)
			must(t, "Copy", st.Copy(b, n+guard, b, 0, n))
			must(t, "Copy onto itself", st.Copy(b, 3, b, 3, n/2))
			want := append([]byte(nil), data...)
			copy(want[n+guard:], data[:n])
			checkBytes(t, fmt.Sprintf("%d bytes within a buffer", n), download(t, st, b, 0, size), want)
			must(t, "Free", b.Free())
		}
	})
}

func (s *suite) testInvalidArguments(t *testing.T) {
	st := s.stream(t)
	const size = 64
	b := s.alloc(t, size)
	other := s.alloc(t, size)
	data := pattern(size, 5)
	upload(t, st, b, 0, data)
	upload(t, st, other, 0, data)
	host := bytesOf(size, guardByte)

	foreign, _ := (&fakeDevice{}).Alloc(size)
	var pooled runtime.Buffer
	if p, err := runtime.NewPool(s.dev, runtime.PoolOptions{}); err == nil {
		t.Cleanup(func() { _ = p.Close() })
		if pooled, err = p.Alloc(100); err != nil {
			t.Fatalf("pool Alloc: %v", err)
		}
		t.Cleanup(func() { _ = pooled.Free() })
	}

	// Hold the stream so that nothing could run even if it were enqueued:
	// argument errors must come back at once, from the enqueueing call.
	release := blocker(t, st)

	big := make([]byte, size+1)
	type invalidCall struct {
		name string
		call func() error
	}
	cases := []invalidCall{
		{"CopyToDevice negative offset", func() error { return st.CopyToDevice(b, -1, host[:1]) }},
		{"CopyToDevice offset past end", func() error { return st.CopyToDevice(b, size+1, nil) }},
		{"CopyToDevice one byte past end", func() error { return st.CopyToDevice(b, size, host[:1]) }},
		{"CopyToDevice too long", func() error { return st.CopyToDevice(b, 0, big) }},
		{"CopyToDevice straddling end", func() error { return st.CopyToDevice(b, size-4, host[:5]) }},
		{"CopyToDevice huge offset", func() error { return st.CopyToDevice(b, math.MaxInt64, host[:1]) }},
		{"CopyToDevice nil buffer", func() error { return st.CopyToDevice(nil, 0, host[:1]) }},
		{"CopyToDevice foreign buffer", func() error { return st.CopyToDevice(foreign, 0, host[:1]) }},
		{"CopyToHost negative offset", func() error { return st.CopyToHost(host[:1], b, -1) }},
		{"CopyToHost offset past end", func() error { return st.CopyToHost(nil, b, size+1) }},
		{"CopyToHost too long", func() error { return st.CopyToHost(big, b, 0) }},
		{"CopyToHost straddling end", func() error { return st.CopyToHost(host[:5], b, size-4) }},
		{"CopyToHost huge offset", func() error { return st.CopyToHost(host[:1], b, math.MaxInt64) }},
		{"CopyToHost nil buffer", func() error { return st.CopyToHost(host[:1], nil, 0) }},
		{"CopyToHost foreign buffer", func() error { return st.CopyToHost(host[:1], foreign, 0) }},
		{"Copy negative length", func() error { return st.Copy(b, 0, other, 0, -1) }},
		{"Copy destination past end", func() error { return st.Copy(b, 1, other, 0, size) }},
		{"Copy source past end", func() error { return st.Copy(b, 0, other, 1, size) }},
		{"Copy negative destination offset", func() error { return st.Copy(b, -1, other, 0, 1) }},
		{"Copy negative source offset", func() error { return st.Copy(b, 0, other, -1, 1) }},
		{"Copy overflowing length", func() error { return st.Copy(b, 1, other, 1, math.MaxInt64) }},
		{"Copy nil destination", func() error { return st.Copy(nil, 0, other, 0, 1) }},
		{"Copy nil source", func() error { return st.Copy(b, 0, nil, 0, 1) }},
		{"Copy foreign destination", func() error { return st.Copy(foreign, 0, other, 0, 1) }},
		{"Copy foreign source", func() error { return st.Copy(b, 0, foreign, 0, 1) }},
	}
	if pooled != nil {
		// The pool rounds 100 bytes up to a larger device buffer; the
		// bounds are the wrapper's, not the device buffer's.
		cases = append(cases,
			invalidCall{"CopyToDevice past a pool buffer's size", func() error { return st.CopyToDevice(pooled, 90, host[:20]) }},
			invalidCall{"CopyToHost past a pool buffer's size", func() error { return st.CopyToHost(host[:20], pooled, 90) }},
		)
	}
	for _, c := range cases {
		if err := c.call(); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", c.name, err)
		}
	}
	if err := st.Launch(fakeKernel{}); !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("Launch of a foreign kernel type: %v, want ErrUnsupported", err)
	}
	if err := st.Launch(nil); err == nil {
		t.Errorf("Launch(nil) succeeded")
	}
	if err := st.HostFunc(nil); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("HostFunc(nil): %v, want ErrInvalidArgument", err)
	}

	// Nothing was enqueued: the stream has no error and memory is untouched.
	release()
	syncOK(t, st)
	checkBytes(t, "buffer after rejected copies", download(t, st, b, 0, size), data)
	checkBytes(t, "host memory after rejected copies", host, bytesOf(size, guardByte))
}
