package runtime

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// PoolOptions configure a [Pool].
type PoolOptions struct {
	// Limit caps the bytes the pool holds from the device (in use plus
	// cached). An allocation that would pass it first releases the cache,
	// then fails with ErrOutOfMemory. Zero means no limit.
	Limit int64
}

// PoolStats is a snapshot of a pool's accounting. Byte counts are of the
// size classes the pool hands out, which round requests up.
type PoolStats struct {
	InUse    int64 // bytes in buffers handed out and not yet freed
	Peak     int64 // highest InUse since the pool was made or ResetPeak
	Reserved int64 // bytes held from the device: InUse plus the cache
	Cached   int64 // bytes held for reuse
	Allocs   int64 // Alloc calls that succeeded
	Hits     int64 // of those, served from the cache
	Frees    int64 // buffers returned
}

// Pool is a caching allocator over one device, in the spirit of CUDA's
// caching allocators: freed buffers are kept by size class and handed out
// again, so steady-state inference allocates nothing from the device.
//
// Buffers from a pool implement [HostAccessible] exactly when the device's
// own buffers do; backends reach the device buffer beneath with [Unwrap].
type Pool struct {
	dev   Device
	limit int64

	mu     sync.Mutex
	free   map[int64][]Buffer // size class -> cached device buffers
	stats  PoolStats
	closed bool
}

// NewPool returns an empty pool over dev.
func NewPool(dev Device, opts PoolOptions) (*Pool, error) {
	if dev == nil {
		return nil, fmt.Errorf("new pool: nil device: %w", ErrInvalidArgument)
	}
	if opts.Limit < 0 {
		return nil, fmt.Errorf("new pool: negative limit %d: %w", opts.Limit, ErrInvalidArgument)
	}
	return &Pool{dev: dev, limit: opts.Limit, free: map[int64][]Buffer{}}, nil
}

// Device returns the device the pool allocates from.
func (p *Pool) Device() Device { return p.dev }

// sizeClass rounds a request up so that similar sizes share cached buffers:
// powers of two from 256 bytes up to 1 MiB, then whole MiB.
func sizeClass(n int64) int64 {
	const small, mib = 256, 1 << 20
	if n <= small {
		return small
	}
	if n <= mib {
		c := int64(small)
		for c < n {
			c <<= 1
		}
		return c
	}
	return (n + mib - 1) / mib * mib
}

// maxAlloc bounds a single request so that size classes cannot overflow.
const maxAlloc = 1 << 62

// Alloc returns a buffer of n bytes, reusing a cached one when it can.
func (p *Pool) Alloc(n int64) (Buffer, error) {
	if n < 0 || n > maxAlloc {
		return nil, fmt.Errorf("pool alloc %d bytes: %w", n, ErrInvalidArgument)
	}
	class := sizeClass(n)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("pool alloc: %w", ErrClosed)
	}
	if list := p.free[class]; len(list) > 0 {
		raw := list[len(list)-1]
		p.free[class] = list[:len(list)-1]
		p.stats.Cached -= class
		p.stats.Hits++
		p.takeLocked(class)
		p.mu.Unlock()
		return p.wrap(raw, n, class), nil
	}
	if p.limit > 0 && p.stats.Reserved+class > p.limit {
		p.trimLocked()
		if p.stats.Reserved+class > p.limit {
			st := p.stats
			p.mu.Unlock()
			return nil, fmt.Errorf("pool alloc %d bytes (class %d): %d in use, limit %d: %w", n, class, st.InUse, p.limit, ErrOutOfMemory)
		}
	}
	// Reserve before allocating so concurrent callers respect the limit.
	p.stats.Reserved += class
	p.mu.Unlock()

	raw, err := p.dev.Alloc(class)
	if errors.Is(err, ErrOutOfMemory) {
		// The device may be full of our own cache: release it and retry once.
		p.mu.Lock()
		p.trimLocked()
		p.mu.Unlock()
		raw, err = p.dev.Alloc(class)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.stats.Reserved -= class
		return nil, fmt.Errorf("pool alloc %d bytes: %w", n, err)
	}
	p.takeLocked(class)
	return p.wrap(raw, n, class), nil
}

func (p *Pool) takeLocked(class int64) {
	p.stats.Allocs++
	p.stats.InUse += class
	if p.stats.InUse > p.stats.Peak {
		p.stats.Peak = p.stats.InUse
	}
}

func (p *Pool) wrap(raw Buffer, n, class int64) Buffer {
	b := &poolBuffer{raw: raw, size: n, class: class, pool: p}
	if h, ok := raw.(HostAccessible); ok {
		return &hostPoolBuffer{poolBuffer: b, host: h.HostBytes()[:n:n]}
	}
	return b
}

// put returns a buffer's memory to the cache (or to the device once the
// pool is closed).
func (p *Pool) put(b *poolBuffer) error {
	p.mu.Lock()
	p.stats.InUse -= b.class
	p.stats.Frees++
	if p.closed {
		p.stats.Reserved -= b.class
		p.mu.Unlock()
		return b.raw.Free()
	}
	p.free[b.class] = append(p.free[b.class], b.raw)
	p.stats.Cached += b.class
	p.mu.Unlock()
	return nil
}

// Trim returns every cached buffer to the device.
func (p *Pool) Trim() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.trimLocked()
}

func (p *Pool) trimLocked() error {
	var errs []error
	for class, list := range p.free {
		for _, raw := range list {
			if err := raw.Free(); err != nil {
				errs = append(errs, err)
			}
			p.stats.Reserved -= class
			p.stats.Cached -= class
		}
		delete(p.free, class)
	}
	return errors.Join(errs...)
}

// Stats returns a snapshot of the pool's accounting.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// ResetPeak sets Peak to the bytes in use now.
func (p *Pool) ResetPeak() {
	p.mu.Lock()
	p.stats.Peak = p.stats.InUse
	p.mu.Unlock()
}

// Close releases the cache. Buffers still in use stay valid; freeing them
// later returns their memory straight to the device.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return p.trimLocked()
}

type poolBuffer struct {
	raw   Buffer
	size  int64
	class int64
	pool  *Pool
	freed atomic.Bool
}

func (b *poolBuffer) Device() Device { return b.raw.Device() }
func (b *poolBuffer) Size() int64    { return b.size }
func (b *poolBuffer) Unwrap() Buffer { return b.raw }

func (b *poolBuffer) Free() error {
	if !b.freed.CompareAndSwap(false, true) {
		return fmt.Errorf("free pool buffer: %w", ErrClosed)
	}
	return b.pool.put(b)
}

type hostPoolBuffer struct {
	*poolBuffer
	host []byte
}

func (b *hostPoolBuffer) HostBytes() []byte { return b.host }

// Unwrap returns the device's own buffer beneath wrappers such as a pool's,
// for backends that need their native handle. The device buffer may be
// larger than the wrapper's Size.
func Unwrap(b Buffer) Buffer {
	for {
		u, ok := b.(interface{ Unwrap() Buffer })
		if !ok {
			return b
		}
		b = u.Unwrap()
	}
}
