package comm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocann/gocann/runtime"
)

// EnvAlgo overrides the cost model's choice of algorithm, like NCCL_ALGO:
// "ring", "tree", "rhd", or per collective "allreduce=ring,broadcast=tree".
const EnvAlgo = "GOCANN_COMM_ALGO"

// Options tune a communicator. The zero value is usable.
type Options struct {
	// Timeout bounds every operation: past it the operation fails with
	// ErrTimeout naming the peer it was waiting for. Default 5 minutes.
	Timeout time.Duration
	// Algorithm forces algorithms, in the syntax of GOCANN_COMM_ALGO. Empty
	// reads that variable; "auto" ignores it.
	Algorithm string
	// ChunkBytes is the pipelining unit of ring algorithms. Default 4 MiB:
	// each chunk costs a round of wake-ups between ranks, which on a busy
	// host outweighs the finer overlap of smaller chunks.
	ChunkBytes int64
	// Device is the device this rank computes on, nil for the host. Its id
	// is exchanged so that every rank knows the devices the communicator
	// spans; tensors of any device are accepted regardless.
	Device runtime.Device
}

func (o Options) withDefaults() (Options, AlgorithmChoice, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 4 << 20
	}
	o.ChunkBytes = max(64, o.ChunkBytes&^63) // pieces stay element-aligned
	spec := o.Algorithm
	if spec == "" {
		spec = os.Getenv(EnvAlgo)
	}
	choice, err := ParseAlgorithmChoice(spec)
	if err != nil {
		return o, nil, fmt.Errorf("comm: %s: %w", EnvAlgo, err)
	}
	return o, choice, nil
}

// Communicator is one rank's membership in a group of ranks that run
// collectives together. Collectives must be called in the same order with
// matching arguments on every rank; they run one at a time (calls from
// several goroutines are serialized). Send and Recv may run concurrently
// with each other but not with collectives.
//
// After an operation fails, the communicator is aborted: every later call
// returns ErrAborted. Rebuild it (Rebuild, or a new NewLocal) to go on.
type Communicator struct {
	tr      Transport
	rank    int
	size    int
	devices []string
	opts    Options
	algo    AlgorithmChoice

	mu  sync.Mutex // one collective at a time; guards seq
	seq uint64

	sendMu, recvMu []sync.Mutex    // per peer
	sendSeq        []atomic.Uint64 // per peer, point-to-point numbering
	recvSeq        []atomic.Uint64 // idem
	failure        atomic.Pointer[error]

	closeOnce sync.Once
	closeErr  error
	onClose   func() error // releases what the bootstrap made (store)
	rebuild   func(ctx context.Context) (*Communicator, error)
}

// deviceField is the fixed size in which device ids are exchanged, so the
// messages of that exchange have equal lengths on every rank.
const deviceField = 64

// newCommunicator wraps a connected transport and exchanges device ids.
func newCommunicator(ctx context.Context, tr Transport, opts Options) (*Communicator, error) {
	opts, choice, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := tr.Size()
	c := &Communicator{
		tr: tr, rank: tr.Rank(), size: p, opts: opts, algo: choice,
		sendMu: make([]sync.Mutex, p), recvMu: make([]sync.Mutex, p),
		sendSeq: make([]atomic.Uint64, p), recvSeq: make([]atomic.Uint64, p),
	}
	if err := c.exchangeDevices(ctx); err != nil {
		c.fail(err)
		return nil, err
	}
	return c, nil
}

// exchangeDevices is an all-gather of the ranks' device ids.
func (c *Communicator) exchangeDevices(ctx context.Context) error {
	id := "host"
	if c.opts.Device != nil {
		id = c.opts.Device.Properties().ID()
	}
	mine := make([]byte, deviceField)
	copy(mine, id)
	all := make([]byte, deviceField*c.size)
	x := c.newCall(ctx, Header{Coll: collInit, Algo: Ring, DType: 2 /* uint8 */, Count: deviceField})
	defer x.cancel()
	copy(all[c.rank*deviceField:], mine)
	err := x.ringAllGather(all, 1)
	if err == nil {
		err = x.flush()
	}
	if err != nil {
		return fmt.Errorf("comm: rank %d: exchanging device ids: %w", c.rank, err)
	}
	c.devices = make([]string, c.size)
	for i := range c.devices {
		f := all[i*deviceField : (i+1)*deviceField]
		c.devices[i] = string(bytes.TrimRight(f, "\x00"))
	}
	return nil
}

// Rank is this rank's number, from 0 to Size()-1.
func (c *Communicator) Rank() int { return c.rank }

// Size is the number of ranks.
func (c *Communicator) Size() int { return c.size }

// Devices lists the device each rank computes on ("cpu:0", or "host"),
// indexed by rank.
func (c *Communicator) Devices() []string { return append([]string(nil), c.devices...) }

// Timeout is the bound on each operation.
func (c *Communicator) Timeout() time.Duration { return c.opts.Timeout }

// Algorithm is the algorithm a collective of n bytes per rank would use.
func (c *Communicator) Algorithm(coll Collective, n int64) Algorithm {
	return choose(coll, c.algo.forColl(coll), n, c.size, c.tr.Params(), c.opts.ChunkBytes)
}

// Err reports why the communicator was aborted, nil while it is usable.
func (c *Communicator) Err() error {
	if f := c.failure.Load(); f != nil {
		return fmt.Errorf("comm: rank %d: %w (first failure: %w)", c.rank, ErrAborted, *f)
	}
	return nil
}

// fail records the first failure and aborts the transport, which makes
// every pending operation here and at the peers return.
func (c *Communicator) fail(err error) {
	if c.failure.CompareAndSwap(nil, &err) {
		c.tr.Abort(err)
	}
}

// Abort breaks the communicator: pending operations on every rank fail
// with ErrAborted, naming this rank. Use it when this rank gives up (on its
// own error, or a signal), so that peers do not wait for their timeout.
func (c *Communicator) Abort(cause error) {
	if cause == nil {
		cause = errors.New("aborted by the application")
	}
	c.fail(fmt.Errorf("%w: %w", ErrAborted, cause))
}

// Rebuild returns a new communicator over the same ranks, after aborting
// this one if it was not already. Every rank must call it; ranks that died
// must be restarted (by the launcher) and bootstrap with the same
// generation. Communicators from NewLocal rebuild as a new local group
// only together: use NewLocal again.
func (c *Communicator) Rebuild(ctx context.Context) (*Communicator, error) {
	if c.rebuild == nil {
		return nil, fmt.Errorf("comm: this communicator cannot rebuild itself: %w", runtime.ErrUnsupported)
	}
	if c.failure.Load() == nil {
		c.Abort(errors.New("rebuilding"))
	}
	return c.rebuild(ctx)
}

// Close releases the communicator. Ranks should close together at the end
// of a job: Close waits, up to the timeout, for the peers' goodbyes so that
// nothing in flight is cut off.
func (c *Communicator) Close() error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), min(c.opts.Timeout, 30*time.Second))
		defer cancel()
		c.closeErr = c.tr.Close(ctx)
		if c.onClose != nil {
			c.closeErr = errors.Join(c.closeErr, c.onClose())
		}
	})
	return c.closeErr
}
