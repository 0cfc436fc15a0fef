package comm

import (
	"errors"
	"fmt"
)

// Sentinel errors, tested with errors.Is. Failures caused by one peer come
// as a *PeerError naming it, which wraps one of these.
var (
	// ErrTimeout: an operation did not complete within the communicator's
	// timeout (or the caller's deadline). It also matches
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("timed out")
	// ErrPeerLost: a peer's process ended, or its connection broke, without
	// closing the communicator.
	ErrPeerLost = errors.New("peer lost")
	// ErrMismatch: ranks made different calls (collective, element type,
	// count, root, reduction or sequence number disagree).
	ErrMismatch = errors.New("mismatched collective calls")
	// ErrAborted: the communicator was aborted, by this rank or a peer; it
	// must be rebuilt before further use.
	ErrAborted = errors.New("communicator aborted")
)

// PeerError is a failure attributed to one peer: the rank that died, hung,
// aborted, or made a different call.
type PeerError struct {
	Rank int    // the peer at fault, as far as this rank can tell
	Op   string // what this rank was doing, e.g. "allreduce #12 (ring, float32×1000)"
	Err  error  // wraps ErrTimeout, ErrPeerLost, ErrMismatch or ErrAborted
}

func (e *PeerError) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("rank %d: %v", e.Rank, e.Err)
	}
	return fmt.Sprintf("%s: rank %d: %v", e.Op, e.Rank, e.Err)
}

func (e *PeerError) Unwrap() error { return e.Err }

// peerErr attributes err to peer while doing op, unless err already names
// a peer (a failure elsewhere that aborted this operation), in which case
// the original culprit is kept and op is added as context.
func peerErr(op string, peer int, err error) error {
	if err == nil {
		return nil
	}
	var pe *PeerError
	if errors.As(err, &pe) {
		if pe.Op == "" {
			return &PeerError{Rank: pe.Rank, Op: op, Err: pe.Err}
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return &PeerError{Rank: peer, Op: op, Err: err}
}
