package cpu

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type span struct{ lo, hi int }

// runFor runs ParallelFor and returns the chunks it made, sorted, failing
// if an index is visited other than exactly once.
func runFor(t *testing.T, w *Workers, n, grain int) []span {
	t.Helper()
	var mu sync.Mutex
	var spans []span
	counts := make([]atomic.Int32, max(n, 0))
	w.ParallelFor(n, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			counts[i].Add(1)
		}
		mu.Lock()
		spans = append(spans, span{lo, hi})
		mu.Unlock()
	})
	for i := range counts {
		if c := counts[i].Load(); c != 1 {
			t.Fatalf("n=%d grain=%d threads=%d: index %d visited %d times", n, grain, w.Threads(), i, c)
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
	return spans
}

// wantSpans is the documented partition, written independently of
// chunkBounds: c chunks, sizes n/c or n/c+1, the larger ones first.
func wantSpans(n, grain, threads int) []span {
	if n <= 0 {
		return nil
	}
	g := max(grain, 1)
	c := min((n+g-1)/g, threads)
	var out []span
	lo := 0
	for k := range c {
		size := n / c
		if k < n%c {
			size++
		}
		out = append(out, span{lo, lo + size})
		lo += size
	}
	return out
}

// withProcs runs the rest of the test with GOMAXPROCS at least n, so that
// every thread of a pool gets a chunk (Chunks is capped by GOMAXPROCS).
func withProcs(t *testing.T, n int) {
	if p := goruntime.GOMAXPROCS(0); p < n {
		goruntime.GOMAXPROCS(n)
		t.Cleanup(func() { goruntime.GOMAXPROCS(p) })
	}
}

// Chunks never exceeds GOMAXPROCS: with one processor a pool of four runs
// every loop on the caller, in one chunk.
func TestChunksCappedByProcs(t *testing.T) {
	p := goruntime.GOMAXPROCS(1)
	defer goruntime.GOMAXPROCS(p)
	w := NewWorkers(4)
	defer w.Close()
	if got := w.Chunks(1000, 1); got != 1 {
		t.Fatalf("Chunks with GOMAXPROCS 1 = %d, want 1", got)
	}
	if got := runFor(t, w, 1000, 1); !slices.Equal(got, []span{{0, 1000}}) {
		t.Fatalf("chunks %v, want one", got)
	}
}

func TestParallelForPartition(t *testing.T) {
	withProcs(t, 8)
	ns := []int{0, -3, 1, 2, 3, 5, 7, 8, 63, 64, 65, 100, 1000, 4097}
	grains := []int{-1, 0, 1, 2, 3, 7, 64, 1000, 1 << 30}
	for _, threads := range []int{1, 2, 3, 4, 8} {
		w := NewWorkers(threads)
		for _, n := range ns {
			for _, grain := range grains {
				want := wantSpans(n, grain, threads)
				if got := w.Chunks(n, grain); got != len(want) {
					t.Errorf("threads=%d Chunks(%d, %d) = %d, want %d", threads, n, grain, got, len(want))
				}
				// The same chunks on every run, whatever the timing.
				for run := range 3 {
					if got := runFor(t, w, n, grain); !slices.Equal(got, want) {
						t.Fatalf("threads=%d n=%d grain=%d run %d: chunks %v, want %v", threads, n, grain, run, got, want)
					}
				}
			}
		}
		w.Close()
	}
}

func TestChunkBoundsHuge(t *testing.T) {
	// k*n would overflow; the bounds must not.
	const n = 1<<62 + 5
	c := 7
	prev := 0
	for k := range c {
		lo, hi := chunkBounds(n, c, k)
		if lo != prev || hi <= lo {
			t.Fatalf("chunk %d = [%d, %d), previous ended at %d", k, lo, hi, prev)
		}
		prev = hi
	}
	if prev != n {
		t.Errorf("chunks end at %d, want %d", prev, n)
	}
}

// watchdog fails the test if fn does not return in time (a deadlock).
func watchdog(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: ParallelFor did not return")
	}
}

func TestParallelForNested(t *testing.T) {
	for _, threads := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprint(threads), func(t *testing.T) {
			w := NewWorkers(threads)
			defer w.Close()
			var total atomic.Int64
			watchdog(t, func() {
				w.ParallelFor(16, 1, func(lo, hi int) {
					for range hi - lo {
						w.ParallelFor(10, 1, func(lo, hi int) {
							for range hi - lo {
								w.ParallelFor(100, 7, func(lo, hi int) { total.Add(int64(hi - lo)) })
							}
						})
					}
				})
			})
			if got := total.Load(); got != 16*10*100 {
				t.Errorf("nested total %d, want %d", got, 16*10*100)
			}
		})
	}
}

func TestParallelForConcurrentCallers(t *testing.T) {
	w := NewWorkers(4)
	defer w.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 50 {
				n := 1 + (g*37+r*11)%500
				var sum atomic.Int64
				w.ParallelFor(n, 3, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						sum.Add(int64(i))
					}
				})
				if want := int64(n * (n - 1) / 2); sum.Load() != want {
					t.Errorf("n=%d: sum %d, want %d", n, sum.Load(), want)
					return
				}
			}
		})
	}
	watchdog(t, wg.Wait)
}

func TestParallelForPanic(t *testing.T) {
	withProcs(t, 8)
	w := NewWorkers(4)
	defer w.Close()
	for _, bad := range []int{0, 1, 3} { // the caller's chunk and workers' chunks
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			var visited atomic.Int64
			got := func() (p any) {
				defer func() { p = recover() }()
				w.ParallelFor(4, 1, func(lo, hi int) {
					if lo == bad {
						panic(fmt.Sprintf("chunk %d", lo))
					}
					time.Sleep(time.Millisecond)
					visited.Add(1)
				})
				return nil
			}()
			if got != fmt.Sprintf("chunk %d", bad) {
				t.Errorf("recovered %v, want the body's panic", got)
			}
			// The pool is intact afterwards.
			if s := runFor(t, w, 100, 1); len(s) != 4 {
				t.Errorf("after a panic: %d chunks, want 4", len(s))
			}
		})
	}
}

func TestWorkersClose(t *testing.T) {
	withProcs(t, 8)
	w := NewWorkers(4)
	w.Close()
	w.Close() // idempotent
	// Still correct, on the caller alone.
	if got, want := runFor(t, w, 10, 1), wantSpans(10, 1, 4); !slices.Equal(got, want) {
		t.Errorf("after Close: chunks %v, want %v", got, want)
	}
	if NewWorkers(0).Threads() != 1 || NewWorkers(-2).Threads() != 1 {
		t.Errorf("threads below 1 not taken as 1")
	}
}

func TestParallelForNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so it allocates")
	}
	w := NewWorkers(4)
	defer w.Close()
	var sink atomic.Int64
	body := func(lo, hi int) { sink.Add(int64(hi - lo)) }
	if a := testing.AllocsPerRun(200, func() { w.ParallelFor(4096, 16, body) }); a != 0 {
		t.Errorf("ParallelFor allocates %v times per call", a)
	}
}

func BenchmarkParallelFor(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 16} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			w := NewWorkers(goruntime.NumCPU())
			defer w.Close()
			data := make([]float32, n)
			body := func(lo, hi int) {
				for i := lo; i < hi; i++ {
					data[i] = data[i]*0.5 + 1
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				w.ParallelFor(n, 256, body)
			}
		})
	}
}
