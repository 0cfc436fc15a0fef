package comm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// In-process fault tests: a rank that stops calling, a rank that aborts,
// mismatched calls, and rebuilding after a failure.

func TestLocalFaults(t *testing.T) {
	const p, victim = 5, 3
	timeout := 600 * time.Millisecond
	tests := []struct {
		name string
		// victimDo is what the victim does instead of the all-reduce.
		victimDo func(c *Communicator, x *tensor.Tensor) error
		want     error
		says     string
	}{
		{"hang", func(*Communicator, *tensor.Tensor) error { return nil }, ErrTimeout, "is not in the call"},
		{"abort", func(c *Communicator, _ *tensor.Tensor) error {
			time.Sleep(50 * time.Millisecond) // let the others block first
			c.Abort(errors.New("the victim gives up"))
			return nil
		}, ErrAborted, "the victim gives up"},
		{"wrong count", func(c *Communicator, _ *tensor.Tensor) error {
			y, _ := tensor.New(tensor.Float32, tensor.Shape{1000})
			return c.AllReduce(t.Context(), y, y, Sum)
		}, ErrMismatch, "mismatched"},
		{"wrong type", func(c *Communicator, _ *tensor.Tensor) error {
			y, _ := tensor.New(tensor.Int32, tensor.Shape{999})
			return c.AllReduce(t.Context(), y, y, Sum)
		}, ErrMismatch, "int32"},
		// A different collective may never exchange a message with the
		// others (their waits form a cycle): then it is a timeout, still
		// within the timeout, not a hang.
		{"wrong collective", func(c *Communicator, x *tensor.Tensor) error {
			return c.Broadcast(t.Context(), x, 0)
		}, nil, "broadcast"},
	}
	for _, tt := range tests {
		for _, algo := range []string{"ring", "tree", "rhd"} {
			t.Run(tt.name+"/"+algo, func(t *testing.T) {
				comms := localWorld(t, p, Options{Timeout: timeout, Algorithm: algo})
				start := time.Now()
				errs := onEach(comms, func(c *Communicator) error {
					x, _ := tensor.New(tensor.Float32, tensor.Shape{999})
					if c.Rank() == victim {
						tt.victimDo(c, x)
						return nil
					}
					return c.AllReduce(t.Context(), x, x, Sum)
				})
				elapsed := time.Since(start)
				for r, err := range errs {
					if r == victim {
						continue
					}
					if err == nil {
						t.Errorf("rank %d: no error", r)
						continue
					}
					var pe *PeerError
					if !errors.As(err, &pe) {
						t.Errorf("rank %d: %v is not a PeerError", r, err)
						continue
					}
					if tt.want == nil && (errors.Is(err, ErrMismatch) || errors.Is(err, ErrTimeout)) {
						continue
					}
					if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
						t.Errorf("rank %d: %v, want %v saying %q", r, err, tt.want, tt.says)
					}
					// Mismatches surface at the ranks that receive from the
					// victim; the others learn of the abort, naming the
					// rank that saw it. A hang or abort names the victim.
					if (tt.want == ErrTimeout || tt.want == ErrAborted) && pe.Rank != victim {
						t.Errorf("rank %d blames rank %d, want %d: %v", r, pe.Rank, victim, err)
					}
				}
				// Bounded, not timed: the failure must come with the timeout
				// rather than never; the slack absorbs a loaded 2-core machine.
				if limit := timeout + 5*time.Second; elapsed > limit {
					t.Errorf("took %v, want under %v", elapsed, limit)
				}
				// The communicator is now aborted…
				x, _ := tensor.New(tensor.Float32, tensor.Shape{4})
				if err := comms[0].AllReduce(t.Context(), x, x, Sum); !errors.Is(err, ErrAborted) {
					t.Errorf("after the failure: %v, want ErrAborted", err)
				}
				// …and a new one works.
				fresh := localWorld(t, p, Options{Timeout: 5 * time.Second, Algorithm: algo})
				for r, err := range onEach(fresh, func(c *Communicator) error {
					return runCase(t.Context(), c, collectiveCase{coll: CollAllReduce, dt: tensor.Float32, op: Sum, n: 999}, nil)
				}) {
					if err != nil {
						t.Errorf("rebuilt rank %d: %v", r, err)
					}
				}
			})
		}
	}
}

// Bad arguments fail at once, on the calling rank only, without aborting
// the communicator.
func TestInvalidArguments(t *testing.T) {
	comms := localWorld(t, 2, Options{Timeout: time.Second})
	c := comms[0]
	f4, _ := tensor.New(tensor.Float32, tensor.Shape{4})
	f3, _ := tensor.New(tensor.Float32, tensor.Shape{3})
	i4, _ := tensor.New(tensor.Int32, tensor.Shape{4})
	c4, _ := tensor.New(tensor.Complex64, tensor.Shape{4})
	s1, _ := tensor.FromSlice([]string{"a"})
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"nil", func() error { return c.AllReduce(t.Context(), nil, f4, Sum) }, runtime.ErrInvalidArgument},
		{"lengths", func() error { return c.AllReduce(t.Context(), f4, f3, Sum) }, runtime.ErrInvalidArgument},
		{"types", func() error { return c.AllReduce(t.Context(), f4, i4, Sum) }, runtime.ErrInvalidArgument},
		{"op", func() error { return c.AllReduce(t.Context(), f4, f4, ReduceOp(42)) }, runtime.ErrInvalidArgument},
		{"complex max", func() error { return c.AllReduce(t.Context(), c4, c4, Max) }, runtime.ErrUnsupported},
		{"strings", func() error { return c.Broadcast(t.Context(), s1, 0) }, runtime.ErrUnsupported},
		{"root", func() error { return c.Broadcast(t.Context(), f4, 2) }, runtime.ErrInvalidArgument},
		{"allgather size", func() error { return c.AllGather(t.Context(), f4, f4) }, runtime.ErrInvalidArgument},
		{"alltoall blocks", func() error { return c.AllToAll(t.Context(), f3, f3) }, runtime.ErrInvalidArgument},
		{"send to self", func() error { return c.Send(t.Context(), f4, 0) }, runtime.ErrInvalidArgument},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := c.Err(); err != nil {
		t.Errorf("bad arguments aborted the communicator: %v", err)
	}
	if _, err := ParseReduceOp("median"); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("ParseReduceOp: %v", err)
	}
	for o := Sum; o <= Avg; o++ {
		if got, err := ParseReduceOp(fmt.Sprint(o)); got != o || err != nil {
			t.Errorf("ParseReduceOp(%v) = %v, %v", o, got, err)
		}
	}
}
