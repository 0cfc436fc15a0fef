package tensor

import (
	"context"
	"fmt"

	"github.com/gocann/gocann/runtime"
)

// CopyTo returns a copy of t on a's device, or on the host when a is nil,
// and waits for the copy to finish.
//
// Device memory is moved only by stream copies. s must be a stream of the
// source's or the destination's device; it orders the copy after work
// already enqueued on it. A device that s does not belong to (in a copy
// between two devices, which stages through the host) gets a temporary
// stream, ordered after nothing: work producing t there must already be
// done. s may be nil when neither side is a device, or to use temporary
// streams throughout.
//
// If ctx ends first, its error is returned and the new tensor's storage is
// freed once the copy has finished. String tensors copy only to the host.
func (t *Tensor) CopyTo(ctx context.Context, s runtime.Stream, a Allocator) (*Tensor, error) {
	if err := t.usable("CopyTo"); err != nil {
		return nil, err
	}
	if t.dtype == String {
		if a != nil {
			return nil, fmt.Errorf("tensor: CopyTo: string tensors stay on the host: %w", runtime.ErrUnsupported)
		}
		return fromSlice(String, t.st.strs, t.shape)
	}
	dst, err := NewOn(a, t.dtype, t.shape)
	if err != nil {
		return nil, fmt.Errorf("tensor: CopyTo: %w", err)
	}
	if err := transfer(ctx, s, dst, t); err != nil {
		return nil, fmt.Errorf("tensor: CopyTo %v%v from %s to %s: %w",
			t.dtype, t.shape, deviceName(t.Device()), deviceName(dst.Device()), err)
	}
	return dst, nil
}

// ToHost returns a copy of t in host memory, waiting for the copy; it is
// CopyTo(ctx, s, nil). The result never aliases t, even for host tensors.
func (t *Tensor) ToHost(ctx context.Context, s runtime.Stream) (*Tensor, error) {
	return t.CopyTo(ctx, s, nil)
}

// transfer copies src into dst, a tensor just made for it, and waits. On
// failure dst's storage is freed, at once or, when a copy may still be
// writing it, once that copy has finished.
func transfer(ctx context.Context, s runtime.Stream, dst, src *Tensor) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if isNil(s) {
		s = nil
	}
	sd, dd := src.Device(), dst.Device()
	if sd == nil && dd == nil {
		copy(dst.hostBytes(), src.hostBytes()) // no stream needed, s is ignored
		return nil
	}
	if s != nil && !sameDevice(s.Device(), sd) && !sameDevice(s.Device(), dd) {
		dst.Free()
		return fmt.Errorf("stream of %s copies neither from nor to its device: %w", deviceName(s.Device()), runtime.ErrInvalidArgument)
	}
	switch {
	case src.NumBytes() == 0:
		return nil
	case sd == nil:
		return copyOn(ctx, s, dd, dst, src, dst)
	case dd == nil || sameDevice(sd, dd):
		return copyOn(ctx, s, sd, dst, src, dst)
	}
	// Between two devices: down to a host staging tensor, then up.
	stage, err := newHost(src.dtype, src.shape)
	if err != nil {
		dst.Free()
		return err
	}
	if err := copyOn(ctx, s, sd, stage, src, nil); err != nil {
		dst.Free() // nothing has written it yet
		return err
	}
	return copyOn(ctx, s, dd, dst, stage, dst)
}

// copyOn enqueues the copy of src into dst on s, or on a temporary stream
// of dev when s is not dev's, and waits. On failure it frees owned (if not
// nil), deferring that while the copy may still be running.
func copyOn(ctx context.Context, s runtime.Stream, dev runtime.Device, dst, src, owned *Tensor) error {
	st := s
	temp := st == nil || !sameDevice(st.Device(), dev)
	if temp {
		var err error
		if st, err = dev.NewStream(); err != nil {
			owned.Free()
			return fmt.Errorf("new stream on %s: %w", deviceName(dev), err)
		}
	}
	if err := enqueue(st, dst, src); err != nil {
		if temp {
			st.Close()
		}
		owned.Free()
		return err
	}
	err := st.Synchronize(ctx)
	switch {
	case err == nil:
		if temp {
			if err := st.Close(); err != nil {
				owned.Free()
				return err
			}
		}
		return nil
	case ctx.Err() == nil:
		// The work has finished, with an error: nothing writes owned now.
		if temp {
			st.Close()
		}
		owned.Free()
		return err
	}
	// ctx ended with the copy perhaps still running: free after it. Should
	// the stream refuse or skip the release, leaking beats freeing memory a
	// device may still write.
	if temp {
		go func() {
			st.Close()
			owned.Free()
		}()
	} else if owned != nil {
		st.HostFunc(func() error { return owned.Free() })
	}
	return err
}

// enqueue puts the copy of src into dst on s; the arguments are checked.
// Host memory is touched directly only for host tensors; device memory,
// host-accessible or not, only through the stream.
func enqueue(s runtime.Stream, dst, src *Tensor) error {
	switch sh, dh := src.onHost(), dst.onHost(); {
	case sh && dh:
		return s.HostFunc(func() error {
			copy(dst.hostBytes(), src.hostBytes())
			return nil
		})
	case sh:
		return s.CopyToDevice(dst.st.buf, dst.off, src.hostBytes())
	case dh:
		return s.CopyToHost(dst.hostBytes(), src.st.buf, src.off)
	}
	return s.Copy(dst.st.buf, dst.off, src.st.buf, src.off, src.NumBytes())
}

// EnqueueCopy enqueues on s a copy of src into dst, which must have the same
// type and shape, and returns without waiting: host memory involved must
// stay untouched until s is synchronized. Either side may be on the host;
// device sides must be on s's device (copies between two devices go
// through CopyTo). Copies between host tensors run when s reaches them, or
// at once when s is nil. String tensors, host-only, copy the same way.
func EnqueueCopy(s runtime.Stream, dst, src *Tensor) error {
	if err := src.usable("EnqueueCopy source"); err != nil {
		return err
	}
	if err := dst.usable("EnqueueCopy destination"); err != nil {
		return err
	}
	if dst.dtype != src.dtype || !dst.shape.Equal(src.shape) {
		return fmt.Errorf("tensor: EnqueueCopy from %v%v to %v%v: types or shapes differ: %w",
			src.dtype, src.shape, dst.dtype, dst.shape, runtime.ErrInvalidArgument)
	}
	if isNil(s) {
		s = nil
	}
	if src.dtype == String {
		cp := func() error { copy(dst.st.strs, src.st.strs); return nil }
		if s == nil {
			return cp()
		}
		return wrapCopyErr(src, dst, s.HostFunc(cp))
	}
	if src.NumBytes() == 0 {
		return nil
	}
	sd, dd := src.Device(), dst.Device()
	if sd == nil && dd == nil && s == nil {
		copy(dst.hostBytes(), src.hostBytes())
		return nil
	}
	if s == nil {
		return wrapCopyErr(src, dst, fmt.Errorf("a device copy needs a stream: %w", runtime.ErrInvalidArgument))
	}
	if sd != nil && dd != nil && !sameDevice(sd, dd) {
		return wrapCopyErr(src, dst, fmt.Errorf("copy between two devices; use CopyTo, which stages through the host: %w", runtime.ErrUnsupported))
	}
	for _, d := range []runtime.Device{sd, dd} {
		if d != nil && !sameDevice(s.Device(), d) {
			return wrapCopyErr(src, dst, fmt.Errorf("stream belongs to %s: %w", deviceName(s.Device()), runtime.ErrInvalidArgument))
		}
	}
	if sd != nil && dd != nil {
		if eq, ok := equal(src.st.buf, dst.st.buf); ok && eq {
			n := src.NumBytes()
			if src.off == dst.off {
				return nil // copying a range onto itself changes nothing
			}
			if src.off < dst.off+n && dst.off < src.off+n {
				return wrapCopyErr(src, dst, fmt.Errorf("overlapping ranges of one buffer: %w", runtime.ErrInvalidArgument))
			}
		}
	}
	return wrapCopyErr(src, dst, enqueue(s, dst, src))
}

func wrapCopyErr(src, dst *Tensor, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("tensor: EnqueueCopy %v%v from %s to %s: %w",
		src.dtype, src.shape, deviceName(src.Device()), deviceName(dst.Device()), err)
}

// hostBytes is HostBytes for tensors known to be host-readable.
func (t *Tensor) hostBytes() []byte {
	b, _ := t.HostBytes()
	return b
}

// sameDevice reports whether a and b are the same device; nil is the host.
func sameDevice(a, b runtime.Device) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if eq, ok := equal(a, b); ok {
		return eq
	}
	// Uncomparable device values are told apart by their IDs.
	return a.Properties().ID() == b.Properties().ID()
}

// equal is a == b, reporting !ok where == would panic because the dynamic
// type is not comparable.
func equal(a, b any) (eq, ok bool) {
	defer func() {
		if recover() != nil {
			eq, ok = false, false
		}
	}()
	return a == b, true
}

// deviceName names a device in errors; nil is the host.
func deviceName(d runtime.Device) string {
	if isNil(d) {
		return "host"
	}
	return d.Properties().ID()
}
