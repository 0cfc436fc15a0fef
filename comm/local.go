package comm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocann/gocann/runtime"
)

// The in-process transport: ranks are goroutines of one process, and a
// message is handed over by reference. The receiver copies (or reduces)
// straight out of the sender's buffer, so each byte is touched once, and
// the sender's Send returns only after that: a rendezvous.

// localGroup is what the ranks of one in-process world share.
type localGroup struct {
	size   int
	boxes  []chan *localMsg // [from*size+to], unbuffered
	gone   []chan struct{}  // closed when a rank closes its communicator
	failed chan struct{}    // closed on the first abort anywhere
	once   sync.Once
	cause  error // why, set before failed is closed
	// waiting[r] is the peer rank r's Recv is blocked on, plus one; 0 when
	// none. It stays set after a failed Recv, for diagnose.
	waiting []atomic.Int64
}

type localMsg struct {
	h       Header
	payload []byte
	state   atomic.Int32 // msgPending, then msgTaken by the receiver or msgWithdrawn by the sender
	done    chan error   // the receiver's verdict, buffered
}

const (
	msgPending int32 = iota
	msgTaken
	msgWithdrawn
)

type localTransport struct {
	g         *localGroup
	rank      int
	closeOnce sync.Once
}

// NewLocal returns the n communicators of a world whose ranks run in this
// process, one per goroutine (rank i is element i). They must be used
// concurrently: every collective needs all ranks.
func NewLocal(ctx context.Context, n int, opts Options) ([]*Communicator, error) {
	if n < 1 {
		return nil, fmt.Errorf("comm: NewLocal: %d ranks: %w", n, runtime.ErrInvalidArgument)
	}
	g := &localGroup{size: n, boxes: make([]chan *localMsg, n*n), gone: make([]chan struct{}, n), failed: make(chan struct{}), waiting: make([]atomic.Int64, n)}
	for i := range g.boxes {
		g.boxes[i] = make(chan *localMsg)
	}
	for i := range g.gone {
		g.gone[i] = make(chan struct{})
	}
	comms := make([]*Communicator, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			comms[i], errs[i] = newCommunicator(ctx, &localTransport{g: g, rank: i}, opts)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return comms, nil
}

func (t *localTransport) Rank() int { return t.rank }
func (t *localTransport) Size() int { return t.g.size }

// Params: a copy within memory costs little per message; reductions run at
// memory speed too.
func (t *localTransport) Params() LinkParams {
	return LinkParams{Latency: 2 * time.Microsecond, Bandwidth: 8e9, ReduceBandwidth: 4e9}
}

// stopped reports why an operation with peer cannot go on, or nil.
func (t *localTransport) stopped(ctx context.Context, peer int) error {
	select {
	case <-t.g.failed:
		return t.g.cause
	case <-t.g.gone[peer]:
		return fmt.Errorf("%w: it closed its communicator", ErrPeerLost)
	default:
		return ctx.Err()
	}
}

func (t *localTransport) Send(ctx context.Context, peer int, h Header, payload []byte) error {
	g := t.g
	m := &localMsg{h: h, payload: payload, done: make(chan error, 1)}
	select {
	case g.boxes[t.rank*g.size+peer] <- m:
	case <-ctx.Done():
		return t.stopped(ctx, peer)
	case <-g.failed:
		return g.cause
	case <-g.gone[peer]:
		return t.stopped(ctx, peer)
	}
	select {
	case err := <-m.done:
		return err
	case <-ctx.Done():
	case <-g.failed:
	}
	if m.state.CompareAndSwap(msgPending, msgWithdrawn) {
		return t.stopped(ctx, peer)
	}
	return <-m.done // the receiver is copying: that ends soon
}

func (t *localTransport) Recv(ctx context.Context, peer int, want Header, dst []byte, reduce func(dst, src []byte)) error {
	g := t.g
	g.waiting[t.rank].Store(int64(peer) + 1)
	var m *localMsg
	select {
	case m = <-g.boxes[peer*g.size+t.rank]:
	case <-ctx.Done():
		return t.stopped(ctx, peer)
	case <-g.failed:
		return g.cause
	case <-g.gone[peer]:
		return t.stopped(ctx, peer)
	}
	if !m.state.CompareAndSwap(msgPending, msgTaken) {
		return t.stopped(ctx, peer)
	}
	if err := checkHeader(m.h, want); err != nil {
		m.done <- fmt.Errorf("%w: this rank sent %v, peer expects %v", ErrMismatch, m.h, want)
		return err
	}
	if reduce != nil {
		reduce(dst, m.payload)
	} else {
		copy(dst, m.payload)
	}
	m.done <- nil
	g.waiting[t.rank].Store(0)
	return nil
}

// diagnose follows the chain of waits from suspect to a rank that waits
// for nobody: in one process every rank's state can simply be read.
func (t *localTransport) diagnose(_ context.Context, suspect int) (int, string) {
	seen := map[int]bool{t.rank: true}
	for c := suspect; ; {
		w := int(t.g.waiting[c].Load()) - 1
		switch {
		case w < 0:
			return c, fmt.Sprintf("; rank %d is not in the call", c)
		case seen[w]:
			return suspect, "; the ranks wait for each other in a cycle"
		}
		seen[c] = true
		c = w
	}
}

// Flush has nothing to wait for: Send returns once the payload is read.
func (t *localTransport) Flush(context.Context) error { return nil }

// Abort fails the whole group: in one process, every rank learns at once.
// The cause names the peer at fault when this rank knows it.
func (t *localTransport) Abort(cause error) {
	t.g.once.Do(func() {
		culprit := t.rank
		var pe *PeerError
		if errors.As(cause, &pe) {
			culprit = pe.Rank
		}
		t.g.cause = &PeerError{Rank: culprit, Err: fmt.Errorf("%w by rank %d: %w", ErrAborted, t.rank, cause)}
		close(t.g.failed)
	})
}

func (t *localTransport) Close(context.Context) error {
	t.closeOnce.Do(func() { close(t.g.gone[t.rank]) })
	return nil
}
