package comm

import "math/bits"

// Recursive halving and doubling. In round k a rank exchanges with the
// rank whose number differs in bit k: halving splits the data each round
// (reduce-scatter), doubling joins it back (all-gather); log₂(p) rounds
// moving as few bytes as a ring.

// exchange sends out to peer and receives in from it at the same time.
func (x *call) exchange(peer int, out, in []byte, red reducer) error {
	if len(out) == 0 && len(in) == 0 {
		return nil
	}
	return x.sendRecv(peer, out, peer, in, red)
}

// rhdAllReduce is Rabenseifner's all-reduce. A world that is not a power
// of two first folds its 2·rem lowest ranks in pairs (even into odd), runs
// on the remaining power of two, and unfolds at the end. This rank's data
// is in src, which buf (the result) may alias; when it does not, the
// first reduction into a region of buf is first (see touching), and red
// the later ones.
func (x *call) rhdAllReduce(buf, src []byte, es int, red, first reducer) error {
	p, r := x.size, x.rank
	pp := 1 << (bits.Len(uint(p)) - 1) // largest power of two ≤ p
	rem := p - pp
	nr := r - rem // rank among the power of two; -1 when folded out
	if r < 2*rem {
		if r%2 == 0 {
			if err := x.send(r+1, src); err != nil {
				return err
			}
			return x.recv(r+1, buf, nil)
		}
		if err := x.recv(r-1, buf, first); err != nil {
			return err
		}
		nr = r / 2
		src, first = buf, red
	}
	toRank := func(n int) int {
		if n < rem {
			return 2*n + 1
		}
		return n + rem
	}
	n := len(buf) / es
	type span struct{ lo, hi int }
	var sent []span // what this rank handed over at each halving round
	lo, hi := 0, n
	for mask := pp / 2; mask > 0; mask /= 2 {
		peer := toRank(nr ^ mask)
		mid := lo + (hi-lo)/2
		keep, give := span{lo, mid}, span{mid, hi}
		if nr&mask != 0 {
			keep, give = give, keep
		}
		if err := x.exchange(peer, src[give.lo*es:give.hi*es], buf[keep.lo*es:keep.hi*es], first); err != nil {
			return err
		}
		src, first = buf, red // the rounds after the first reduce what is in buf
		sent = append(sent, give)
		lo, hi = keep.lo, keep.hi
	}
	for i, mask := len(sent)-1, 1; mask < pp; i, mask = i-1, mask*2 {
		peer := toRank(nr ^ mask)
		give := sent[i]
		if err := x.exchange(peer, buf[lo*es:hi*es], buf[give.lo*es:give.hi*es], nil); err != nil {
			return err
		}
		lo, hi = min(lo, give.lo), max(hi, give.hi)
	}
	if r < 2*rem { // odd: hand the result back to the folded-out partner
		return x.send(r-1, buf)
	}
	return nil
}

// rhdReduceScatter is recursive halving over p (a power of two) blocks of
// work; rank r ends with block r reduced.
func (x *call) rhdReduceScatter(work []byte, es int, red reducer) error {
	p, r := x.size, x.rank
	bs := len(work) / p // bytes per block
	lo, hi := 0, p
	for mask := p / 2; mask > 0; mask /= 2 {
		mid := (lo + hi) / 2
		keepLo, keepHi, giveLo, giveHi := lo, mid, mid, hi
		if r&mask != 0 {
			keepLo, keepHi, giveLo, giveHi = mid, hi, lo, mid
		}
		if err := x.exchange(r^mask, work[giveLo*bs:giveHi*bs], work[keepLo*bs:keepHi*bs], red); err != nil {
			return err
		}
		lo, hi = keepLo, keepHi
	}
	return nil
}

// rhdAllGather is recursive doubling over p (a power of two) blocks of
// recv, rank r's block being in place.
func (x *call) rhdAllGather(recv []byte) error {
	p, r := x.size, x.rank
	bs := len(recv) / p
	for mask := 1; mask < p; mask *= 2 {
		mine := r &^ (mask - 1)
		theirs := (r ^ mask) &^ (mask - 1)
		if err := x.exchange(r^mask, recv[mine*bs:(mine+mask)*bs], recv[theirs*bs:(theirs+mask)*bs], nil); err != nil {
			return err
		}
	}
	return nil
}
