package comm

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// Collectives work on host bytes. A tensor whose memory the host can
// address (host tensors, the CPU backend's) is used in place; any other
// device tensor is staged: copied to a host buffer through a stream before
// the call, and back after it. The host never reads device memory except
// through those copies.

// hostView is a tensor's bytes for the duration of one call.
type hostView struct {
	t     *tensor.Tensor
	b     []byte
	stage *tensor.Tensor // host copy, nil when b is t's own memory
}

// inPlace returns t's own bytes when the host can use them directly. A
// buffer adopted at an offset not aligned for its type is staged instead,
// since reductions view it as typed elements.
func inPlace(t *tensor.Tensor) ([]byte, bool) {
	b, ok := t.HostBytes()
	if !ok {
		return nil, false
	}
	if len(b) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%uintptr(min(8, t.DType().Size())) != 0 {
		return nil, false
	}
	return b, true
}

// view returns t's bytes on the host, copying them from the device when
// read is set (the call reads t), or a zeroed staging buffer otherwise.
func view(ctx context.Context, t *tensor.Tensor, read bool) (hostView, error) {
	if b, ok := inPlace(t); ok {
		return hostView{t: t, b: b}, nil
	}
	var h *tensor.Tensor
	var err error
	if read {
		h, err = t.ToHost(ctx, nil) // a temporary stream on t's device
	} else {
		h, err = tensor.New(t.DType(), t.Shape())
	}
	if err != nil {
		return hostView{}, fmt.Errorf("comm: staging %v%v from %s: %w", t.DType(), t.Shape(), deviceName(t), err)
	}
	b, _ := h.HostBytes()
	return hostView{t: t, b: b, stage: h}, nil
}

// flush copies a staged result back to the device and waits for it.
func (v hostView) flush(ctx context.Context) error {
	if v.stage == nil || v.t.NumBytes() == 0 {
		return nil
	}
	dev := v.t.Device()
	s, err := dev.NewStream()
	if err != nil {
		return fmt.Errorf("comm: stream on %s: %w", deviceName(v.t), err)
	}
	if err := tensor.EnqueueCopy(s, v.t, v.stage); err != nil {
		s.Close()
		return fmt.Errorf("comm: copying result back: %w", err)
	}
	err = s.Synchronize(ctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("comm: copying result back to %s: %w", deviceName(v.t), err)
	}
	return nil
}

func deviceName(t *tensor.Tensor) string {
	if d := t.Device(); d != nil {
		return d.Properties().ID()
	}
	return "host"
}

// sameStorage reports whether a and b are the same elements (an in-place
// call).
func sameStorage(a, b *tensor.Tensor) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Buffer() == nil {
		return false
	}
	return a.Buffer() == b.Buffer() && a.Offset() == b.Offset() && a.NumBytes() == b.NumBytes()
}

// enqueueViews prepares the host side of an asynchronous call on stream s:
// tensors the host can address are used in place; others get a host
// staging tensor, filled by a copy enqueued now when read is set. The
// returned finish enqueues the copies back for the written tensors. A
// tensor given twice (an in-place call) shares one staging tensor.
func enqueueViews(s runtime.Stream, ts []*tensor.Tensor, read, write []bool) (views [][]byte, finish func() error, err error) {
	views = make([][]byte, len(ts))
	stages := make([]*tensor.Tensor, len(ts))
	var back []func() error
	for i, t := range ts {
		if t == nil {
			continue
		}
		if b, ok := inPlace(t); ok {
			views[i] = b
			continue
		}
		h, shared := (*tensor.Tensor)(nil), false
		for j := range i {
			if stages[j] != nil && sameStorage(t, ts[j]) {
				h, shared = stages[j], true
			}
		}
		if h == nil {
			if h, err = tensor.New(t.DType(), t.Shape()); err != nil {
				return nil, nil, err
			}
		}
		stages[i] = h
		if read[i] && !shared {
			if err := tensor.EnqueueCopy(s, h, t); err != nil {
				return nil, nil, fmt.Errorf("comm: staging: %w", err)
			}
		}
		if write[i] {
			back = append(back, func() error { return tensor.EnqueueCopy(s, t, h) })
		}
		views[i], _ = h.HostBytes()
	}
	finish = func() error {
		for _, f := range back {
			if err := f(); err != nil {
				return fmt.Errorf("comm: copying result back: %w", err)
			}
		}
		return nil
	}
	return views, finish, nil
}
