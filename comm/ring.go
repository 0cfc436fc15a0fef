package comm

import "unsafe"

// Ring algorithms. Data moves around the ring r → r+1, in steps; each step
// is cut into chunks so that a rank forwards chunk j of step s as soon as
// it has received (and reduced) chunk j of step s-1, while chunk j+1 is
// still arriving: the links stay busy and reduction overlaps transfer.

// ringPipeline runs steps×chunks transfers around the ring. piece(s, j,
// sending) is the bytes sent (or received into) at step s, chunk j; step
// s's sends depend on step s-1's receives of the same chunk. reduceAt(s)
// says whether step s's receives reduce (with red) or copy.
func (x *call) ringPipeline(steps, chunks int, piece func(s, j int, sending bool) []byte, reduceAt func(s int) bool, red reducer) error {
	if steps <= 0 {
		return nil
	}
	right, left := mod(x.rank+1, x.size), mod(x.rank-1, x.size)
	if e, ok := x.c.tr.(exchanger); ok && e.exchanges(right, left) {
		return x.ringExchange(e, steps, chunks, piece, reduceAt, red, left, right)
	}
	if x.allEager(right, steps, chunks, piece) {
		return x.ringInline(steps, chunks, piece, reduceAt, red, left, right)
	}
	ready := make(chan struct{}, steps*chunks)
	return x.parallel(
		func(x *call) error {
			for s := range steps {
				for j := range chunks {
					if s > 0 {
						if err := x.wait(ready, left); err != nil {
							return err
						}
					}
					if b := piece(s, j, true); len(b) > 0 {
						if err := x.send(right, b); err != nil {
							return err
						}
					}
				}
			}
			return nil
		},
		func(x *call) error {
			for s := range steps {
				var rd reducer
				if reduceAt(s) {
					rd = red
				}
				for j := range chunks {
					if b := piece(s, j, false); len(b) > 0 {
						if err := x.recv(left, b, rd); err != nil {
							return err
						}
					}
					ready <- struct{}{}
				}
			}
			return nil
		})
}

// allEager reports whether every send of a pipeline is eager, with a
// step's chunks all unread at once: a rank sends a chunk for each one it
// receives, so no more than that are ever in flight on one link.
func (x *call) allEager(peer, steps, chunks int, piece func(s, j int, sending bool) []byte) bool {
	if _, ok := x.c.tr.(eagerer); !ok {
		return false
	}
	for s := range steps {
		for j := range chunks {
			if !x.eagerN(peer, len(piece(s, j, true)), chunks) {
				return false
			}
		}
	}
	return true
}

// ringExchange is ringPipeline as one stream of the transport (see
// exchanger): chunk j of step s+1, which is what chunk j of step s
// receives, goes out slot by slot as it arrives.
func (x *call) ringExchange(e exchanger, steps, chunks int, piece func(s, j int, sending bool) []byte, reduceAt func(s int) bool, red reducer, left, right int) error {
	at := func(sending bool) func(i int) []byte {
		return func(i int) []byte { return piece(i/chunks, i%chunks, sending) }
	}
	reds := func(i int) func(dst, src []byte) {
		if reduceAt(i / chunks) {
			return red
		}
		return nil
	}
	return x.wrap(left, "streaming with", e.stream(x.ctx, right, left, x.h, steps*chunks, chunks, at(true), at(false), reds))
}

// ringInline is ringPipeline in one goroutine, for eager sends: chunk j
// of step s+1 goes out as soon as chunk j of step s has come in.
func (x *call) ringInline(steps, chunks int, piece func(s, j int, sending bool) []byte, reduceAt func(s int) bool, red reducer, left, right int) error {
	send := func(s, j int) error {
		if b := piece(s, j, true); len(b) > 0 {
			return x.send(right, b)
		}
		return nil
	}
	for j := range chunks {
		if err := send(0, j); err != nil {
			return err
		}
	}
	for s := range steps {
		var rd reducer
		if reduceAt(s) {
			rd = red
		}
		for j := range chunks {
			if b := piece(s, j, false); len(b) > 0 {
				if err := x.recv(left, b, rd); err != nil {
					return err
				}
			}
			if s+1 < steps {
				if err := send(s+1, j); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ringAllReduce is a reduce-scatter then an all-gather around the ring, on
// p segments of buf, each cut into chunks. This rank's data is in src,
// which buf (the result) may alias. When it does not, no copy is made:
// the first step sends from src, and each reduce-scatter step, which
// writes a segment of buf for the first time, reduces into it with first
// (see touching).
func (x *call) ringAllReduce(buf, src []byte, es int, first reducer) error {
	p, r := x.size, x.rank
	seg := segments(len(buf)/es, p)
	ce, chunks := chunking(seg, es, x.chunk)
	piece := func(s, j int, sending bool) []byte {
		if s == 0 && sending {
			return chunkOf(src, seg, r, j, ce, es)
		}
		var k int
		if s < p-1 { // reduce-scatter: after it, rank r owns segment r+1
			k = r - s
			if !sending {
				k--
			}
		} else { // all-gather of the owned segments
			t := s - (p - 1)
			k = r - t
			if sending {
				k++
			}
		}
		return chunkOf(buf, seg, mod(k, p), j, ce, es)
	}
	return x.ringPipeline(2*(p-1), chunks, piece, func(s int) bool { return s < p-1 }, first)
}

// touching returns the reduction for regions of work not written yet: it
// combines what arrives with the caller's data, from src at the same
// offset (with sumOf where there is one, else a copy then red). When src
// is work, that is red itself.
func touching(work, src []byte, red reducer, sumOf func(dst, a, b []byte)) reducer {
	if red == nil || sameBytes(work, src) {
		return red
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(work)))
	if sumOf != nil {
		return func(d, s []byte) {
			off := int(uintptr(unsafe.Pointer(unsafe.SliceData(d))) - base)
			sumOf(d, src[off:off+len(d)], s)
		}
	}
	return func(d, s []byte) {
		off := int(uintptr(unsafe.Pointer(unsafe.SliceData(d))) - base)
		copy(d, src[off:off+len(d)])
		red(d, s)
	}
}

// ringReduceScatter leaves block r of the reduced work (p blocks) in rank
// r's work: the reduce-scatter half of ringAllReduce, shifted one segment.
func (x *call) ringReduceScatter(work []byte, es int, red reducer) error {
	p, r := x.size, x.rank
	seg := blocks(len(work)/es/p, p)
	ce, chunks := chunking(seg, es, x.chunk)
	piece := func(s, j int, sending bool) []byte {
		k := r - s - 1
		if !sending {
			k--
		}
		return chunkOf(work, seg, mod(k, p), j, ce, es)
	}
	return x.ringPipeline(p-1, chunks, piece, func(int) bool { return true }, red)
}

// ringAllGather fills the p blocks of recv, rank r's own block being
// already in place.
func (x *call) ringAllGather(recv []byte, es int) error {
	p, r := x.size, x.rank
	seg := blocks(len(recv)/es/p, p)
	ce, chunks := chunking(seg, es, x.chunk)
	piece := func(s, j int, sending bool) []byte {
		k := r - s
		if !sending {
			k--
		}
		return chunkOf(recv, seg, mod(k, p), j, ce, es)
	}
	return x.ringPipeline(p-1, chunks, piece, func(int) bool { return false }, nil)
}

// chainBroadcast pipelines buf down the chain root → root+1 → … in chunks.
func (x *call) chainBroadcast(buf []byte, es, root int) error {
	p := x.size
	vr := mod(x.rank-root, p)
	next, prev := mod(x.rank+1, p), mod(x.rank-1, p)
	cb := chunkBytes(x.chunk, es)
	chunks := ceilDiv(len(buf), cb)
	part := func(j int) []byte { return buf[j*cb : min(len(buf), (j+1)*cb)] }
	if vr == p-1 || x.chainEager(next, chunks, part) {
		for j := range chunks {
			if vr > 0 {
				if err := x.recv(prev, part(j), nil); err != nil {
					return err
				}
			}
			if vr < p-1 {
				if err := x.send(next, part(j)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	ready := make(chan struct{}, chunks)
	var branches []func(*call) error
	if vr > 0 {
		branches = append(branches, func(x *call) error {
			for j := range chunks {
				if err := x.recv(prev, part(j), nil); err != nil {
					return err
				}
				ready <- struct{}{}
			}
			return nil
		})
	}
	if vr < p-1 {
		branches = append(branches, func(x *call) error {
			for j := range chunks {
				if vr > 0 {
					if err := x.wait(ready, prev); err != nil {
						return err
					}
				}
				if err := x.send(next, part(j)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if len(branches) == 0 {
		return nil
	}
	return x.parallel(branches...)
}

// chainReduce pipelines the reduction up the chain root+p-1 → … → root:
// each rank adds its own work into what comes from its successor and
// passes it on.
func (x *call) chainReduce(work []byte, es, root int, red reducer) error {
	p := x.size
	vr := mod(x.rank-root, p)
	next, prev := mod(x.rank+1, p), mod(x.rank-1, p)
	cb := chunkBytes(x.chunk, es)
	chunks := ceilDiv(len(work), cb)
	part := func(j int) []byte { return work[j*cb : min(len(work), (j+1)*cb)] }
	if vr == 0 || x.chainEager(prev, chunks, part) {
		for j := range chunks {
			if vr < p-1 {
				if err := x.recv(next, part(j), red); err != nil {
					return err
				}
			}
			if vr > 0 {
				if err := x.send(prev, part(j)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	ready := make(chan struct{}, chunks)
	var branches []func(*call) error
	if vr < p-1 {
		branches = append(branches, func(x *call) error {
			for j := range chunks {
				if err := x.recv(next, part(j), red); err != nil {
					return err
				}
				ready <- struct{}{}
			}
			return nil
		})
	}
	if vr > 0 {
		branches = append(branches, func(x *call) error {
			for j := range chunks {
				if vr < p-1 {
					if err := x.wait(ready, next); err != nil {
						return err
					}
				}
				if err := x.send(prev, part(j)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if len(branches) == 0 {
		return nil
	}
	return x.parallel(branches...)
}

// chainEager reports whether every chunk's send to peer is eager.
func (x *call) chainEager(peer, chunks int, part func(j int) []byte) bool {
	for j := range chunks {
		if !x.eagerN(peer, len(part(j)), chunks) {
			return false
		}
	}
	return true
}

// segments splits n elements into p nearly equal parts: part k is
// [off[k], off[k+1]).
func segments(n, p int) []int {
	off := make([]int, p+1)
	for k := range off {
		off[k] = int(int64(k) * int64(n) / int64(p))
	}
	return off
}

// blocks is p parts of exactly n elements each.
func blocks(n, p int) []int {
	off := make([]int, p+1)
	for k := range off {
		off[k] = k * n
	}
	return off
}

// chunking returns the chunk size in elements and the number of chunks of
// the largest segment.
func chunking(seg []int, es int, chunk int64) (ce, chunks int) {
	ce = chunkBytes(chunk, es) / es
	longest := 0
	for k := 1; k < len(seg); k++ {
		longest = max(longest, seg[k]-seg[k-1])
	}
	return ce, max(1, ceilDiv(longest, ce))
}

// chunkOf is chunk j (of ce elements) of segment k of buf; empty past the
// segment's end.
func chunkOf(buf []byte, seg []int, k, j, ce, es int) []byte {
	lo := min(seg[k]+j*ce, seg[k+1])
	hi := min(lo+ce, seg[k+1])
	return buf[lo*es : hi*es]
}

// chunkBytes is the pipelining unit rounded to whole elements.
func chunkBytes(chunk int64, es int) int {
	return max(es, int(chunk)/es*es)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// mod is a mod p in [0, p).
func mod(a, p int) int { return ((a % p) + p) % p }
