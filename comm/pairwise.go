package comm

// pairwiseAllToAll sends block i of send to rank i and receives rank i's
// block into block i of recv: in step k, to rank r+k and from rank r-k, so
// every rank sends and receives once per step.
func (x *call) pairwiseAllToAll(send, recv []byte) error {
	p, r := x.size, x.rank
	bs := len(send) / p
	copy(recv[r*bs:(r+1)*bs], send[r*bs:(r+1)*bs])
	if bs == 0 {
		return nil
	}
	for k := 1; k < p; k++ {
		to, from := mod(r+k, p), mod(r-k, p)
		if err := x.sendRecv(to, send[to*bs:(to+1)*bs], from, recv[from*bs:(from+1)*bs], nil); err != nil {
			return err
		}
	}
	return nil
}

// disseminationBarrier: in round k every rank signals rank r+2^k and waits
// for rank r-2^k; after ⌈log₂ p⌉ rounds each has heard, indirectly, from
// all.
func (x *call) disseminationBarrier() error {
	p, r := x.size, x.rank
	for k := 1; k < p; k *= 2 {
		if err := x.sendRecv(mod(r+k, p), nil, mod(r-k, p), nil, nil); err != nil {
			return err
		}
	}
	return nil
}
