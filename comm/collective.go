package comm

import "fmt"

// Collective names a kind of call; headers carry it so that ranks can
// check they are making the same one.
type Collective uint8

// The calls of a communicator.
const (
	CollAllReduce Collective = iota + 1
	CollBroadcast
	CollReduce
	CollAllGather
	CollReduceScatter
	CollAllToAll
	CollBarrier
	CollSendRecv
	// collInit is the exchange of device names when a communicator starts.
	collInit
)

var collNames = [...]string{
	CollAllReduce: "allreduce", CollBroadcast: "broadcast", CollReduce: "reduce",
	CollAllGather: "allgather", CollReduceScatter: "reducescatter", CollAllToAll: "alltoall",
	CollBarrier: "barrier", CollSendRecv: "sendrecv", collInit: "init",
}

func (c Collective) String() string {
	if c >= CollAllReduce && int(c) < len(collNames) {
		return collNames[c]
	}
	return fmt.Sprintf("Collective(%d)", uint8(c))
}

func (c Collective) rooted() bool { return c == CollBroadcast || c == CollReduce }

// busFactor converts algorithm bandwidth (bytes moved per rank over time)
// to bus bandwidth, as nccl-tests defines it, so that numbers compare
// across world sizes: the fraction of the data each link carries under an
// optimal algorithm.
func (c Collective) busFactor(ranks int) float64 {
	n := float64(ranks)
	switch c {
	case CollAllReduce:
		return 2 * (n - 1) / n
	case CollAllGather, CollReduceScatter, CollAllToAll:
		return (n - 1) / n
	}
	return 1
}

// BusBandwidth is nccl-tests' bus bandwidth for a call of this kind that
// moved algBW bytes per second per rank on a world of the given size.
func (c Collective) BusBandwidth(algBW float64, ranks int) float64 {
	return algBW * c.busFactor(ranks)
}

// ParseCollective reads a collective's name as String writes it.
func ParseCollective(s string) (Collective, error) {
	for c := CollAllReduce; c <= CollSendRecv; c++ {
		if s == collNames[c] {
			return c, nil
		}
	}
	return 0, fmt.Errorf("comm: unknown collective %q", s)
}
