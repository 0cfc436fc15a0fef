// Package cpu is GoCANN's CPU backend: one device, the host, whose memory is
// ordinary Go memory and whose kernels are Go functions run on a shared pool
// of worker goroutines.
//
// Every buffer implements [runtime.HostAccessible] and is 64-byte aligned,
// so kernels may reinterpret it as vectors of any element type. Streams are
// in-order queues each served by one goroutine; a kernel ([Func]) runs on
// that goroutine and spreads its loops over [Workers].
package cpu

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// Alignment is the byte alignment of every buffer's first byte: a cache
// line, and enough for any SIMD load up to AVX-512.
const Alignment = 64

// Options configure the CPU backend.
type Options struct {
	// Threads is the number of worker threads kernels may use, the stream's
	// own goroutine included. 0 means one per available core
	// (runtime.NumCPU); below 0 is an error.
	Threads int
	// MemoryLimit caps the bytes of live buffers. 0 means the machine's
	// memory (the smaller of MemTotal and the cgroup limit, when known).
	// Allocations past it fail with ErrOutOfMemory instead of crashing the
	// Go runtime; below 0 is an error.
	MemoryLimit int64
}

// fallbackMemory bounds allocations when the machine's memory is unknown
// (no /proc): large enough for any real use, small enough that a request
// past it is caught as out-of-memory before reaching the Go allocator.
const fallbackMemory = 1 << 40

// Backend is the CPU backend. It has one device, index 0.
type Backend struct {
	dev     *Device
	workers *Workers

	// ctx is cancelled by Close, to abort streams blocked waiting on events.
	ctx    context.Context
	cancel context.CancelFunc

	closed  atomic.Bool
	mu      sync.Mutex
	streams map[*Stream]struct{}
}

// New starts a CPU backend: its worker goroutines and the description of
// the host.
func New(opts Options) (*Backend, error) {
	if opts.Threads < 0 {
		return nil, fmt.Errorf("cpu: new backend: %d threads: %w", opts.Threads, runtime.ErrInvalidArgument)
	}
	if opts.MemoryLimit < 0 {
		return nil, fmt.Errorf("cpu: new backend: memory limit %d: %w", opts.MemoryLimit, runtime.ErrInvalidArgument)
	}
	threads := opts.Threads
	if threads == 0 {
		threads = goruntime.NumCPU()
	}
	info, feats := hostProps()
	return newBackend(threads, opts.MemoryLimit, info, feats), nil
}

func newBackend(threads int, memLimit int64, info hostInfo, feats []string) *Backend {
	limit := memLimit
	if limit == 0 {
		limit = info.Memory
		if info.MemLimit > 0 && (limit == 0 || info.MemLimit < limit) {
			limit = info.MemLimit
		}
		if limit == 0 {
			limit = fallbackMemory
		}
	}
	mem := info.Memory
	if memLimit > 0 {
		mem = memLimit
	}
	b := &Backend{workers: NewWorkers(threads), streams: map[*Stream]struct{}{}}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.dev = &Device{
		backend: b,
		limit:   limit,
		props: runtime.Properties{
			Backend:      "cpu",
			Index:        0,
			Name:         info.Name,
			Vendor:       info.Vendor,
			Kind:         runtime.KindCPU,
			ComputeUnits: goruntime.NumCPU(),
			Threads:      threads,
			Memory:       mem,
			Features:     feats,
			L1DCache:     info.L1DCache,
			L2Cache:      info.L2Cache,
			L3Cache:      info.L3Cache,
		},
	}
	return b
}

// Name is "cpu".
func (b *Backend) Name() string { return "cpu" }

// Devices returns the one CPU device.
func (b *Backend) Devices() ([]runtime.Device, error) {
	if b.closed.Load() {
		return nil, fmt.Errorf("cpu: devices: %w", runtime.ErrClosed)
	}
	return []runtime.Device{b.dev}, nil
}

// Device returns the CPU device, as its concrete type.
func (b *Backend) Device() *Device { return b.dev }

// Workers returns the pool kernels run their loops on.
func (b *Backend) Workers() *Workers { return b.workers }

// Close aborts stream waits on events that may never complete, drains and
// closes every stream (pending kernels and copies still run), then stops the
// workers. Afterwards every method returns an error wrapping ErrClosed;
// buffers may still be freed. A second Close returns ErrClosed.
func (b *Backend) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("cpu: close backend: %w", runtime.ErrClosed)
	}
	b.cancel()
	b.mu.Lock()
	streams := make([]*Stream, 0, len(b.streams))
	for s := range b.streams {
		streams = append(streams, s)
	}
	b.mu.Unlock()
	// Streams left open are the owner's leak, not an error of Close: their
	// pending errors are dropped. ErrClosed means a concurrent Stream.Close
	// got there first, which is fine.
	for _, s := range streams {
		_ = s.Close()
	}
	b.workers.Close()
	return nil
}

func (b *Backend) forget(s *Stream) {
	b.mu.Lock()
	delete(b.streams, s)
	b.mu.Unlock()
}

// Device is the host processor and its memory.
type Device struct {
	backend *Backend
	props   runtime.Properties
	limit   int64        // bytes that may be live at once
	live    atomic.Int64 // bytes of buffers allocated and not freed
}

// Properties describes the host. The Features slice is a copy.
func (d *Device) Properties() runtime.Properties {
	p := d.props
	p.Features = slices.Clone(p.Features)
	return p
}

// Backend returns the backend the device belongs to.
func (d *Device) Backend() *Backend { return d.backend }

// Alloc returns n bytes of zeroed, 64-byte-aligned host memory.
func (d *Device) Alloc(n int64) (runtime.Buffer, error) {
	if d.backend.closed.Load() {
		return nil, fmt.Errorf("cpu: alloc %d bytes: %w", n, runtime.ErrClosed)
	}
	if n < 0 {
		return nil, fmt.Errorf("cpu: alloc %d bytes: negative size: %w", n, runtime.ErrInvalidArgument)
	}
	// Reserve before allocating, so that concurrent callers cannot together
	// pass the limit, and so that an absurd size never reaches make, whose
	// failure would be a fatal, unrecoverable runtime error.
	for {
		live := d.live.Load()
		if n > d.limit-live {
			return nil, fmt.Errorf("cpu: alloc %d bytes: %d of %d in use: %w", n, live, d.limit, runtime.ErrOutOfMemory)
		}
		if d.live.CompareAndSwap(live, live+n) {
			break
		}
	}
	data, err := alignedBytes(n)
	if err != nil {
		d.live.Add(-n)
		return nil, fmt.Errorf("cpu: alloc %d bytes: %w", n, err)
	}
	return &Buffer{dev: d, data: data}, nil
}

// alignedBytes returns n zeroed bytes whose first byte is Alignment-aligned:
// it over-allocates by Alignment-1 and slices at the first aligned address.
// The slice keeps the whole allocation alive (an interior pointer is enough
// for the garbage collector).
func alignedBytes(n int64) (b []byte, err error) {
	if n > int64(^uint(0)>>1)-(Alignment-1) {
		return nil, runtime.ErrOutOfMemory
	}
	defer func() {
		// make panics (recoverably) on lengths the platform cannot address.
		if recover() != nil {
			b, err = nil, runtime.ErrOutOfMemory
		}
	}()
	raw := make([]byte, int(n)+Alignment-1)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & (Alignment - 1))
	return raw[off : off+int(n) : off+int(n)], nil
}

// NewStream starts a stream: an in-order queue served by its own goroutine.
func (d *Device) NewStream() (runtime.Stream, error) {
	b := d.backend
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, fmt.Errorf("cpu: new stream: %w", runtime.ErrClosed)
	}
	s := newStream(d)
	b.streams[s] = struct{}{}
	return s, nil
}

// NewEvent returns an event that has never been recorded.
func (d *Device) NewEvent() (runtime.Event, error) {
	if d.backend.closed.Load() {
		return nil, fmt.Errorf("cpu: new event: %w", runtime.ErrClosed)
	}
	return &Event{dev: d}, nil
}

// Buffer is host memory owned by the CPU device.
type Buffer struct {
	dev   *Device
	data  []byte // len == cap == size; Alignment-aligned
	freed atomic.Bool
}

// Device returns the CPU device.
func (b *Buffer) Device() runtime.Device { return b.dev }

// Size is the buffer's length in bytes.
func (b *Buffer) Size() int64 { return int64(len(b.data)) }

// HostBytes returns the buffer's memory itself. It must not be used after
// Free.
func (b *Buffer) HostBytes() []byte { return b.data }

// Free returns the memory. The bytes are reclaimed by the garbage collector
// once nothing refers to the buffer; the device's accounting drops them at
// once. A second Free returns ErrClosed.
func (b *Buffer) Free() error {
	if !b.freed.CompareAndSwap(false, true) {
		return fmt.Errorf("cpu: free buffer of %d bytes: %w", len(b.data), runtime.ErrClosed)
	}
	b.dev.live.Add(-int64(len(b.data)))
	return nil
}

// hostBytes returns the host memory of buf as seen through its own Size,
// reaching through wrappers (a pool's) with runtime.Unwrap when the wrapper
// itself is not HostAccessible.
func hostBytes(buf runtime.Buffer) ([]byte, error) {
	if buf == nil {
		return nil, fmt.Errorf("nil buffer: %w", runtime.ErrInvalidArgument)
	}
	raw := runtime.Unwrap(buf)
	if cb, ok := raw.(*Buffer); ok {
		if cb == nil {
			return nil, fmt.Errorf("nil buffer: %w", runtime.ErrInvalidArgument)
		}
		if cb.freed.Load() {
			return nil, fmt.Errorf("buffer was freed: %w", runtime.ErrClosed)
		}
	}
	size := buf.Size()
	var mem []byte
	if h, ok := buf.(runtime.HostAccessible); ok {
		mem = h.HostBytes()
	} else if h, ok := raw.(runtime.HostAccessible); ok {
		mem = h.HostBytes()
	} else {
		return nil, fmt.Errorf("buffer %T is not host-accessible: %w", buf, runtime.ErrUnsupported)
	}
	if int64(len(mem)) < size {
		return nil, fmt.Errorf("buffer %T: %d host bytes for size %d: %w", buf, len(mem), size, runtime.ErrInvalidArgument)
	}
	return mem[:size:size], nil
}

// deviceBytes is hostBytes for a buffer that must belong to d.
func (d *Device) deviceBytes(buf runtime.Buffer) ([]byte, error) {
	if buf == nil {
		return nil, fmt.Errorf("nil buffer: %w", runtime.ErrInvalidArgument)
	}
	if cb, ok := runtime.Unwrap(buf).(*Buffer); ok && cb == nil {
		return nil, fmt.Errorf("nil buffer: %w", runtime.ErrInvalidArgument)
	}
	if owner := buf.Device(); owner != runtime.Device(d) {
		return nil, fmt.Errorf("buffer of another device (%T) used on %s: %w", owner, d.props.ID(), runtime.ErrInvalidArgument)
	}
	mem, err := hostBytes(buf)
	if errors.Is(err, runtime.ErrUnsupported) {
		// A buffer claiming to be ours but without host memory is a
		// foreign wrapper the backend cannot see through.
		return nil, fmt.Errorf("%w (%w)", err, runtime.ErrInvalidArgument)
	}
	return mem, err
}
