package tensor

import "sync"

// DefaultHostPoolLimit is the most a HostPool keeps for reuse unless told
// otherwise.
const DefaultHostPoolLimit int64 = 1 << 30

// HostPool recycles the storage of host tensors so that short-lived
// intermediates (an executor's per-node outputs) are neither zeroed nor
// left to the garbage collector on every run. It is safe for concurrent
// use; the zero HostPool is ready.
type HostPool struct {
	// Limit bounds the bytes kept for reuse; 0 means DefaultHostPoolLimit.
	Limit int64

	mu    sync.Mutex
	free  map[int64][][]byte // by byte size
	bytes int64
}

// New returns a host tensor whose contents are undefined (whatever an
// earlier tensor of the same byte size left there): only for outputs that
// are written in full before being read. String tensors are allocated
// zeroed.
func (p *HostPool) New(dt DType, shape Shape) (*Tensor, error) {
	if err := checkArgs("HostPool.New", dt, shape); err != nil {
		return nil, err
	}
	if dt == String {
		return newHost(dt, shape)
	}
	n := int64(shape.NumElements()) * int64(dt.Size())
	p.mu.Lock()
	if l := p.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		p.free[n] = l[:len(l)-1]
		p.bytes -= n
		p.mu.Unlock()
		return &Tensor{dtype: dt, shape: shape.Clone(), st: &storage{buf: &hostBuffer{b: b}}}, nil
	}
	p.mu.Unlock()
	return newHost(dt, shape)
}

// Put gives t's host storage back for reuse. The caller guarantees that
// neither t nor any tensor sharing its storage (its reshapes) is used
// again. Device and string tensors, views that do not start at their
// storage, and storage beyond the limit are left to the garbage collector.
func (p *HostPool) Put(t *Tensor) {
	if t == nil || t.st == nil || t.off != 0 {
		return
	}
	h, ok := t.st.buf.(*hostBuffer)
	if !ok || len(h.b) == 0 {
		return
	}
	n := int64(len(h.b))
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultHostPoolLimit
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes+n > limit {
		return
	}
	if p.free == nil {
		p.free = map[int64][][]byte{}
	}
	p.free[n] = append(p.free[n], h.b)
	p.bytes += n
}

// SameStorage reports whether t and u share storage (one is a reshape of
// the other, or they are the same tensor).
func (t *Tensor) SameStorage(u *Tensor) bool {
	return t != nil && u != nil && t.st != nil && t.st == u.st
}
