package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Workers is a fixed pool of long-lived goroutines that CPU kernels use to
// split loops across cores. One Workers is shared by every stream of a
// backend; it is safe for concurrent use, including ParallelFor calls nested
// inside the body of another.
//
// Scheduling: the goroutine that calls ParallelFor always takes part. Each
// chunk but the first is handed to an idle worker, which the caller claims
// through the worker's slot; when no worker is idle at that instant (they
// are all running other chunks, other kernels, or the caller is itself a
// worker inside a nested loop) the caller runs the chunk inline. A claimed
// worker is idle, so it starts the chunk at once: a caller only ever waits
// for chunks that nothing but their own work delays, and nesting cannot
// deadlock.
//
// A worker that finishes a chunk polls its slot for a while (spinTime)
// before it parks: kernels come back to back, and a parked goroutine takes
// tens of microseconds to wake, the whole of a small kernel's time.
type Workers struct {
	threads int
	slots   []*slot
	quit    chan struct{} // closed by Close
	wg      sync.WaitGroup
	once    sync.Once
	states  sync.Pool // *forState, reused so ParallelFor does not allocate
	closed  atomic.Bool
}

// spinTime is how long an idle worker polls for a chunk before parking.
// Long enough to span the serial work between two parallel kernels of a
// model (a padded copy, a pooling, a small operator): 50 µs left workers
// parked at the next convolution, whose hand-off then waited on a wake-up
// (ResNet-18's 3x3 convolutions on two threads 5-10 % faster at 1 ms). ONNX
// Runtime's pool spins likewise; a parked worker costs nothing.
const spinTime = time.Millisecond

// yieldTime is how often a polling worker yields its processor.
const yieldTime = 50 * time.Microsecond

// Slot states.
const (
	slotIdle    = iota // the worker waits for a chunk (polling or parked)
	slotClaimed        // a caller owns it: a chunk is coming or running
	slotGone           // the worker has stopped (Close)
)

// slot is one worker's mailbox.
type slot struct {
	state  atomic.Int32
	ready  atomic.Bool // t is written
	parked atomic.Bool // the worker is blocked on wake, or about to be
	wake   chan struct{}
	t      task
	_      [64]byte // keep slots on their own cache lines
}

// task is one chunk handed to a worker.
type task struct {
	body   func(lo, hi int)
	lo, hi int
	st     *forState
}

// forState is what the chunks of one ParallelFor call share.
type forState struct {
	wg       sync.WaitGroup
	pending  atomic.Int32 // chunks handed to workers and not finished
	waiting  atomic.Int32 // chunks handed to workers and not started
	panicked atomic.Bool
	pval     any // the first panic of a worker chunk; written before wg.Done
}

// NewWorkers starts a pool of the given number of threads, the caller of
// ParallelFor included (so threads-1 goroutines). threads below 1 is taken
// as 1: everything then runs on the calling goroutine.
func NewWorkers(threads int) *Workers {
	threads = max(threads, 1)
	w := &Workers{
		threads: threads,
		quit:    make(chan struct{}),
	}
	w.states.New = func() any { return new(forState) }
	w.wg.Add(threads - 1)
	for range threads - 1 {
		s := &slot{wake: make(chan struct{}, 1)}
		w.slots = append(w.slots, s)
		go w.loop(s)
	}
	return w
}

// Threads is the number of goroutines a ParallelFor can use, the caller's
// included.
func (w *Workers) Threads() int { return w.threads }

// Close stops the worker goroutines once they finish the chunk they are
// running. ParallelFor keeps working after Close, on the calling goroutine
// alone. Close is idempotent.
func (w *Workers) Close() {
	w.once.Do(func() {
		w.closed.Store(true)
		close(w.quit)
		w.wg.Wait()
	})
}

func (w *Workers) loop(s *slot) {
	defer w.wg.Done()
	for {
		if !w.await(s) {
			return
		}
		t := s.t
		s.t = task{}
		s.ready.Store(false)
		t.run()
		s.state.Store(slotIdle)
	}
}

// await waits until a chunk is ready in s, polling for spinTime, then
// parked; it returns false when the pool is closed and s was not claimed.
func (w *Workers) await(s *slot) bool {
	start := time.Now()
	deadline, yield := start.Add(spinTime), start.Add(yieldTime)
	for i := 0; ; i++ {
		if s.ready.Load() {
			return true
		}
		if i%256 != 255 {
			continue
		}
		now := time.Now()
		if now.After(yield) {
			// Polling must not starve goroutines waiting for this
			// thread's processor (another pool's caller, a stream):
			// let them run, now and then. Not at every check: a
			// yielding worker leaves its processor for the global
			// queue, and is late for the chunk that arrives then.
			runtime.Gosched()
			yield = time.Now().Add(yieldTime)
		}
		if w.closed.Load() && s.state.CompareAndSwap(slotIdle, slotGone) {
			return false
		}
		if now.Before(deadline) {
			continue
		}
		// Park. The caller sets ready before it reads parked, and this
		// goroutine sets parked before it reads ready again: one of the two
		// sees the other, so a chunk is never left waiting.
		s.parked.Store(true)
		if !s.ready.Load() {
			select {
			case <-s.wake:
			case <-w.quit:
			}
		}
		s.parked.Store(false)
		now = time.Now()
		deadline, yield = now.Add(spinTime), now.Add(yieldTime)
	}
}

// handOff gives t to an idle worker and reports whether one took it.
func (w *Workers) handOff(t task) bool {
	for _, s := range w.slots {
		if s.state.Load() != slotIdle || !s.state.CompareAndSwap(slotIdle, slotClaimed) {
			continue
		}
		s.t = t
		s.ready.Store(true)
		if s.parked.Load() {
			select {
			case s.wake <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
		return true
	}
	return false
}

func (t task) run() {
	t.st.waiting.Add(-1)
	defer func() {
		if p := recover(); p != nil && t.st.panicked.CompareAndSwap(false, true) {
			t.st.pval = p
		}
		t.st.pending.Add(-1)
		t.st.wg.Done()
	}()
	t.body(t.lo, t.hi)
}

// Chunks returns how many chunks ParallelFor(n, grain, ...) uses:
// min(Threads(), GOMAXPROCS, ceil(n/grain)), with grain below 1 taken as 1,
// and 0 when n <= 0. Chunks beyond the processors Go may run at once would
// only queue behind the others (and a polling worker hold up the caller).
func (w *Workers) Chunks(n, grain int) int {
	if n <= 0 {
		return 0
	}
	grain = max(grain, 1)
	c := n / grain
	if n%grain != 0 {
		c++
	}
	return min(c, w.threads, runtime.GOMAXPROCS(0))
}

// chunkBounds returns chunk k of n items split into c chunks: the first n%c
// chunks hold n/c+1 items, the rest n/c. Computed without k*n, which could
// overflow.
func chunkBounds(n, c, k int) (lo, hi int) {
	q, r := n/c, n%c
	lo = k*q + min(k, r)
	hi = lo + q
	if k < r {
		hi++
	}
	return lo, hi
}

// ParallelFor calls body over [0, n) split into contiguous, non-overlapping
// chunks that together cover every index exactly once, possibly in parallel.
// The split depends only on n, grain, Threads() and GOMAXPROCS, never on timing: there
// are c = Chunks(n, grain) chunks, and with q, r = n/c, n%c, chunk k is
// [k*q + min(k, r), (k+1)*q + min(k+1, r)): the first r chunks get one
// item more. So a kernel that reduces per chunk gets the same result on
// every run. grain is the smallest chunk worth a thread (below 1 means 1).
//
// ParallelFor returns when every chunk is done. If a body panics, the
// others still finish and the first panic is raised again on the caller's
// goroutine (so a stream's kernel recovery sees it). It does not allocate.
func (w *Workers) ParallelFor(n, grain int, body func(lo, hi int)) {
	c := w.Chunks(n, grain)
	switch {
	case c == 0:
		return
	case c == 1 || w.closed.Load():
		for k := range c {
			body(chunkBounds(n, c, k))
		}
		return
	}
	st := w.states.Get().(*forState)
	p, panicked := w.spread(st, n, c, body)
	st.awaitChunks()
	st.wg.Wait() // even after a panic: workers may still be using body
	if !panicked && st.panicked.Load() {
		p, panicked = st.pval, true
	}
	st.pval = nil
	st.panicked.Store(false)
	w.states.Put(st)
	if panicked {
		panic(p)
	}
}

// awaitChunks polls until the workers' chunks are done, for up to
// spinTime, before the caller blocks on the wait group. Blocking is what
// must be avoided: the worker that finishes last wakes the caller onto its
// own processor, where the caller waits behind the still-polling worker
// while the caller's processor sits idle, and the worker, once it yields,
// waits in turn for a processor to pick it up, so the next loop's chunks
// start late or run one after the other (measured: one hand-off in ten
// starting 50 µs late, bert_mini no faster on two threads than on one).
//
// A worker that has not even started its chunk may be waiting for this
// very processor (more runnable goroutines than processors): the caller
// then yields as it polls.
func (st *forState) awaitChunks() {
	var deadline time.Time
	for i := 0; st.pending.Load() > 0; i++ {
		if i%256 != 255 {
			continue
		}
		if st.waiting.Load() > 0 {
			runtime.Gosched()
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(spinTime)
		} else if now.After(deadline) {
			return
		}
	}
}

// spread hands chunks 1..c-1 to idle workers, runs the rest and chunk 0
// itself, and returns a panic of its own chunks instead of raising it.
func (w *Workers) spread(st *forState, n, c int, body func(lo, hi int)) (p any, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			p, panicked = r, true
		}
	}()
	for k := 1; k < c; k++ {
		lo, hi := chunkBounds(n, c, k)
		st.wg.Add(1)
		st.pending.Add(1)
		st.waiting.Add(1)
		if !w.handOff(task{body: body, lo: lo, hi: hi, st: st}) {
			st.pending.Add(-1)
			st.waiting.Add(-1)
			st.wg.Done()
			body(lo, hi)
		}
	}
	body(chunkBounds(n, c, 0))
	return nil, false
}
