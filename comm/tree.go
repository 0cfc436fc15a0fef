package comm

// Binomial trees rooted at root: in round k (mask 2^k), a rank whose
// relative number has bit k set talks to the rank 2^k below it. log₂(p)
// rounds of whole messages: few latencies, for small messages.

// treeReduce combines every rank's work into the root's.
func (x *call) treeReduce(work []byte, root int, red reducer) error {
	p := x.size
	vr := mod(x.rank-root, p)
	for mask := 1; mask < p; mask <<= 1 {
		if vr&mask != 0 {
			return x.send(mod(vr-mask+root, p), work)
		}
		if vr+mask < p {
			if err := x.recv(mod(vr+mask+root, p), work, red); err != nil {
				return err
			}
		}
	}
	return nil
}

// treeBroadcast copies the root's buf to every rank.
func (x *call) treeBroadcast(buf []byte, root int) error {
	p := x.size
	vr := mod(x.rank-root, p)
	mask := 1
	for ; mask < p; mask <<= 1 {
		if vr&mask != 0 {
			if err := x.recv(mod(vr-mask+root, p), buf, nil); err != nil {
				return err
			}
			break
		}
	}
	for mask >>= 1; mask > 0; mask >>= 1 {
		if vr+mask < p {
			if err := x.send(mod(vr+mask+root, p), buf); err != nil {
				return err
			}
		}
	}
	return nil
}
