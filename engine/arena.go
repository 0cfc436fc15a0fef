package engine

import (
	"fmt"
	"runtime"
	"slices"
	"unsafe"

	"github.com/gocann/gocann/ops"
	rt "github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// arenaAlign is the alignment of the arena and of every offset in it: a
// cache line, and the widest vector loads (AVX-512).
const arenaAlign = 64

func alignUp(n int64) int64 { return (n + arenaAlign - 1) &^ (arenaAlign - 1) }

// region is a block of the arena that one group of values (a value, its
// views, the values computed in place over it) occupies from the launch
// that produces it to the last launch that reads any of them, inclusive.
type region struct {
	size       int64 // bytes, a multiple of arenaAlign
	start, end int
	off        int64
}

func (r region) overlapsInTime(q region) bool { return r.start <= q.end && q.start <= r.end }

// assignOffsets places the regions in one arena and returns its size:
// "greedy by size" (Pisarchyk and Lee, "Efficient Memory Management for
// Deep Neural Net Inference", 2020; TensorFlow Lite's arena planner).
// Regions are placed largest first, each at the smallest gap between the
// regions already placed that live at the same time, or after the last of
// them when no gap fits.
func assignOffsets(rs []region) int64 {
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rs[a].size != rs[b].size:
			return cmpInt64(rs[b].size, rs[a].size)
		case rs[a].start != rs[b].start:
			return rs[a].start - rs[b].start
		}
		return a - b
	})
	var total int64
	var live []int // placed regions overlapping the current one, by offset
	var placed []int
	for _, i := range order {
		r := &rs[i]
		live = live[:0]
		for _, j := range placed {
			if r.overlapsInTime(rs[j]) {
				live = append(live, j)
			}
		}
		slices.SortFunc(live, func(a, b int) int { return cmpInt64(rs[a].off, rs[b].off) })
		best, bestGap := int64(-1), int64(-1)
		var prevEnd int64
		for _, j := range live {
			if gap := rs[j].off - prevEnd; gap >= r.size && (bestGap < 0 || gap < bestGap) {
				best, bestGap = prevEnd, gap
			}
			prevEnd = max(prevEnd, rs[j].off+rs[j].size)
		}
		if best < 0 {
			best = prevEnd
		}
		r.off = best
		total = max(total, best+r.size)
		placed = append(placed, i)
	}
	return total
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arenaBuffer is the storage of an arena: host memory, aligned, owned by
// the garbage collector (Free does nothing).
type arenaBuffer struct{ b []byte }

func (a *arenaBuffer) Device() rt.Device { return nil }
func (a *arenaBuffer) Size() int64       { return int64(len(a.b)) }
func (a *arenaBuffer) Free() error       { return nil }
func (a *arenaBuffer) HostBytes() []byte { return a.b }

// inArena reports whether t's storage is an arena, which must not escape
// a run.
func inArena(t *tensor.Tensor) bool {
	_, ok := t.Buffer().(*arenaBuffer)
	return ok
}

// alignedBytes returns n zeroed bytes starting at a multiple of arenaAlign.
func alignedBytes(n int64) []byte {
	words := make([]uint64, (n+2*arenaAlign)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	skip := int((arenaAlign - uintptr(unsafe.Pointer(unsafe.SliceData(b)))%arenaAlign) % arenaAlign)
	return b[skip : skip+int(n) : skip+int(n)]
}

// arena is what one run of a plan works in: the memory, the tensors bound
// over it, the frame of values and the launches' operand lists. A plan
// keeps a few for concurrent runs.
type arena struct {
	id      int
	mem     *arenaBuffer
	tensors []*tensor.Tensor // by view
	bytes   [][]byte         // by view: its memory, for clearing
	tmpl    []ops.Value      // the plan's template plus the arena's tensors
	frame   []ops.Value
	tin     [][]*tensor.Tensor // by launch
	tout    [][]*tensor.Tensor
	// dev holds, by slot, the values on the accelerator in a run of a
	// placed plan; owned is the device memory the run allocated.
	dev   []*tensor.Tensor
	owned []*tensor.Tensor
	keep  []*tensor.Tensor // host memory of copies still queued
	// staged is the device memory of this run's copies on the copy
	// stream (also in owned), freed only when the run ends; copied is the
	// event the compute stream waits on for them.
	staged map[*tensor.Tensor]bool
	copied rt.Event
}

func (pl *execPlan) newArena(id int) (*arena, error) {
	a := &arena{id: id, mem: &arenaBuffer{b: alignedBytes(pl.size)}}
	a.tensors = make([]*tensor.Tensor, len(pl.views))
	a.bytes = make([][]byte, len(pl.views))
	a.tmpl = slices.Clone(pl.tmpl)
	for v, av := range pl.views {
		t, err := tensor.FromBuffer(a.mem, av.off, av.dtype, av.shape)
		if err != nil {
			return nil, fmt.Errorf("arena view %d: %w", v, err)
		}
		a.tensors[v] = t
		a.bytes[v] = a.mem.b[av.off : av.off+av.bytes]
		if av.slot >= 0 {
			a.tmpl[av.slot] = t
		}
	}
	a.frame = make([]ops.Value, pl.nslots)
	a.tin = make([][]*tensor.Tensor, len(pl.launches))
	a.tout = make([][]*tensor.Tensor, len(pl.launches))
	for i, l := range pl.launches {
		if l.kind == launchKernel {
			a.tin[i] = make([]*tensor.Tensor, len(l.in))
			a.tout[i] = make([]*tensor.Tensor, len(l.bind))
		}
	}
	return a, nil
}

// getArena takes an idle arena or makes one.
func (pl *execPlan) getArena() (*arena, error) {
	pl.mu.Lock()
	if n := len(pl.free); n > 0 {
		a := pl.free[n-1]
		pl.free = pl.free[:n-1]
		pl.mu.Unlock()
		return a, nil
	}
	pl.count++
	id := pl.count
	pl.mu.Unlock()
	return pl.newArena(id)
}

// putArena keeps an arena for the next run, up to one per processor.
func (pl *execPlan) putArena(a *arena) {
	pl.mu.Lock()
	if len(pl.free) < runtime.GOMAXPROCS(0) {
		pl.free = append(pl.free, a)
	}
	pl.mu.Unlock()
}

// checkArena verifies a plan's memory layout from its launches alone: every
// view lies inside the arena, aligned; values the plan keeps in the arena
// are never graph outputs nor handed to launches that may keep them; and
// two values whose memory overlaps are never live at once, except a value
// and its views (same contents), or a value computed in place over another
// at the launch that reads the other for the last time.
func (pl *execPlan) checkArena() error {
	n := len(pl.views)
	def := make([]int, n)
	last := make([]int, n)
	bySlot := map[int]int{}
	for v, av := range pl.views {
		if av.off%arenaAlign != 0 || av.off < 0 || av.off+av.bytes > pl.size {
			return fmt.Errorf("view %d (slot %d): [%d, %d) outside the arena of %d bytes or misaligned", v, av.slot, av.off, av.off+av.bytes, pl.size)
		}
		if got := int64(av.shape.NumElements()) * int64(av.dtype.Size()); got != av.bytes {
			return fmt.Errorf("view %d: %d bytes for %s%v", v, av.bytes, av.dtype, av.shape)
		}
		def[v], last[v] = -1, -1
		if av.slot >= 0 {
			if _, dup := bySlot[av.slot]; dup {
				return fmt.Errorf("slot %d has two arena views", av.slot)
			}
			bySlot[av.slot] = v
		}
	}
	for _, s := range pl.outputs {
		if _, ok := bySlot[s]; ok {
			return fmt.Errorf("graph output slot %d is in the arena", s)
		}
	}
	for i, l := range pl.launches {
		for _, s := range l.in {
			if v, ok := bySlot[s]; ok && s >= 0 {
				if l.kind == launchEval || l.kind == launchDynamic {
					return fmt.Errorf("launch %d (%v) may keep arena slot %d", i, l.st.node, s)
				}
				last[v] = max(last[v], i)
			}
		}
		for k, b := range l.bind {
			if b.kind != bindArena {
				continue
			}
			if def[b.view] >= 0 {
				return fmt.Errorf("view %d written by launches %d and %d", b.view, def[b.view], i)
			}
			def[b.view] = i
			if s := pl.views[b.view].slot; k < len(l.out) && s != l.out[k] {
				return fmt.Errorf("launch %d output %d bound to view of slot %d, not %d", i, k, s, l.out[k])
			}
		}
	}
	// Contents classes: a view and what it views.
	class := make([]int, n)
	for v := range pl.views {
		class[v] = v
		if p := pl.views[v].viewOf; p >= 0 {
			class[v] = class[p]
		}
	}
	for v := range pl.views {
		if def[v] < 0 {
			return fmt.Errorf("view %d (slot %d) is never written", v, pl.views[v].slot)
		}
		last[v] = max(last[v], def[v])
	}
	// Extend each class to the lifetime of all its views.
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			va, vb := pl.views[a], pl.views[b]
			if va.off >= vb.off+vb.bytes || vb.off >= va.off+va.bytes || va.bytes == 0 || vb.bytes == 0 {
				continue // disjoint memory
			}
			if class[a] == class[b] {
				continue
			}
			if last[a] < def[b] || last[b] < def[a] {
				continue // never live together
			}
			// Live together: allowed only at an in-place hand-over, where
			// the later value is computed over the earlier, which dies there.
			early, late := a, b
			if def[b] < def[a] {
				early, late = b, a
			}
			if !pl.handsOver(class, early, late, def, last) {
				return fmt.Errorf("slots %d (launches %d-%d) and %d (launches %d-%d) overlap in memory ([%d,+%d) and [%d,+%d))",
					pl.views[a].slot, def[a], last[a], pl.views[b].slot, def[b], last[b], va.off, va.bytes, vb.off, vb.bytes)
			}
		}
	}
	return nil
}

// handsOver reports whether view late was computed in place over view
// early's contents (through a chain of in-place hand-overs), early being
// read for the last time by the launch that writes late's chain link.
func (pl *execPlan) handsOver(class []int, early, late int, def, last []int) bool {
	for v := late; v >= 0; {
		src := pl.views[v].inPlaceOf
		if src < 0 {
			// Not in place: maybe a view of a value computed in place.
			if p := pl.views[v].viewOf; p >= 0 {
				v = p
				continue
			}
			return false
		}
		// v took over src at def[v]: everything in src's class is dead after it.
		if class[src] == class[early] {
			return last[early] <= def[v]
		}
		v = src
	}
	return false
}
