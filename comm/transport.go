package comm

import "context"

// Transport moves messages between the ranks of one communicator. It is
// the seam where new interconnects plug in: the in-process transport
// (ranks as goroutines, zero-copy), TCP (processes and hosts), and later
// RDMA or a device's own links.
//
// Messages between an ordered pair of ranks arrive in the order they were
// sent. A Send and a Recv may run at the same time, with the same peer or
// others, but there is at most one Send per peer and one Recv per peer at
// a time. Every method that blocks returns when ctx ends.
//
// After any error the transport may be in an undefined state (half a
// message read); the communicator then aborts it.
type Transport interface {
	// Rank and Size place this end in its world.
	Rank() int
	Size() int
	// Params describes the link for the cost model.
	Params() LinkParams
	// Send delivers h and payload to peer. It may return before the peer
	// has read payload (a transport reading it in place, later): payload
	// must stay unmodified until Flush returns. The algorithms never write
	// a buffer region they sent earlier in the same call, and the
	// communicator flushes at the end of every call.
	Send(ctx context.Context, peer int, h Header, payload []byte) error
	// Recv takes the next message from peer. Its header must equal want
	// (else an error wrapping ErrMismatch, before any payload is used) and
	// its payload len(dst) bytes, which are copied into dst or, when reduce
	// is not nil, combined into it by reduce(dst[i:j], payload[i:j]) over
	// consecutive pieces cut at multiples of 64 bytes.
	Recv(ctx context.Context, peer int, want Header, dst []byte, reduce func(dst, src []byte)) error
	// Flush waits until every payload given to Send has been read.
	Flush(ctx context.Context) error
	// Abort fails every pending and later operation with an error wrapping
	// cause, and tells the peers, whose operations fail too.
	Abort(cause error)
	// Close releases the transport, telling the peers this is a goodbye,
	// not a failure. It waits (at most until ctx ends) for the peers to
	// say goodbye too, so that nothing still in flight is cut off.
	Close(ctx context.Context) error
}

// diagnoser is a transport that can say, after a timeout, which rank the
// waiting is really for: it follows the chain of waits (this rank waits
// for the suspect, which waits for another…) to a rank that is silent or
// not inside a call at all, the one that hangs.
type diagnoser interface {
	diagnose(ctx context.Context, suspect int) (culprit int, why string)
}

// eagerer is a transport that can say when a Send completes without the
// peer's Recv: then an algorithm may send and receive in one goroutine,
// saving the hand-offs between goroutines that parallel branches cost (a
// thread wake-up each, on a busy host tens of microseconds or more).
// eager(peer, n, msgs) reports whether msgs messages of up to n bytes each
// may be sent to peer, unread, without a Send waiting for the peer.
type eagerer interface {
	eager(peer, n, msgs int) bool
}

// exchanger is a transport that can send to one peer and receive from
// another (or the same) in one operation that moves both forward
// together: no goroutine per direction, and no deadlock between two ranks
// sending each other more than the link buffers. exchanges says whether
// it applies to the pair; the headers and payloads are as Send's and
// Recv's.
//
// stream is a ring pipeline as one such operation: n transfers in order,
// transfer i sending outs(i) to `to` and receiving ins(i) from `from`
// (combined with red(i) when that is not nil), with h's Len set to each
// message's length; empty messages are not sent (the peer's matching
// ones are empty too). For i ≥ gap, outs(i) is the region ins(i-gap)
// fills, and goes out as it arrives: a ring forwards what it has just
// received (and reduced) while it is still in cache, and no step waits
// for the previous one to end.
type exchanger interface {
	exchanges(to, from int) bool
	sendRecv(ctx context.Context, to int, hOut Header, out []byte, from int, hIn Header, in []byte, reduce func(dst, src []byte)) error
	stream(ctx context.Context, to, from int, h Header, n, gap int, outs, ins func(i int) []byte, red func(i int) func(dst, src []byte)) error
}
