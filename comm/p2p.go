package comm

import (
	"context"
	"fmt"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// Point-to-point messages are numbered per ordered pair of ranks, not with
// the collectives, since the other ranks take no part in them.

// Send sends t to rank peer, which must call Recv with a tensor of the
// same type and element count. It returns once t may be reused.
func (c *Communicator) Send(ctx context.Context, t *tensor.Tensor, peer int) error {
	if err := c.checkPeer("send", t, peer); err != nil {
		return err
	}
	v, err := view(ctx, t, true)
	if err != nil {
		return err
	}
	return c.p2p(ctx, t, peer, func(x *call) error {
		if err := x.send(peer, v.b); err != nil {
			return err
		}
		return x.flush()
	}, &c.sendMu[peer], &c.sendSeq[peer])
}

// Recv receives into t what rank peer sends with Send.
func (c *Communicator) Recv(ctx context.Context, t *tensor.Tensor, peer int) error {
	if err := c.checkPeer("recv", t, peer); err != nil {
		return err
	}
	v, err := view(ctx, t, false)
	if err != nil {
		return err
	}
	err = c.p2p(ctx, t, peer, func(x *call) error { return x.recv(peer, v.b, nil) }, &c.recvMu[peer], &c.recvSeq[peer])
	if err != nil {
		return err
	}
	return v.flush(ctx)
}

func (c *Communicator) checkPeer(what string, t *tensor.Tensor, peer int) error {
	if t == nil {
		return nilTensor(what, "")
	}
	if err := checkOperands(what, t, nil, t.Len(), 0); err != nil {
		return err
	}
	if peer < 0 || peer >= c.size || peer == c.rank {
		return fmt.Errorf("comm: %s: peer %d (this is rank %d of %d): %w", what, peer, c.rank, c.size, runtime.ErrInvalidArgument)
	}
	return nil
}

type locker interface {
	Lock()
	Unlock()
}

func (c *Communicator) p2p(ctx context.Context, t *tensor.Tensor, peer int, body func(*call) error, mu locker, seq interface{ Add(uint64) uint64 }) error {
	mu.Lock()
	defer mu.Unlock()
	if err := c.Err(); err != nil {
		return err
	}
	h := Header{Coll: CollSendRecv, Algo: direct, DType: t.DType(), Count: int64(t.Len()), Seq: seq.Add(1)}
	x := c.newCall(ctx, h)
	defer x.cancel()
	if err := body(x); err != nil {
		c.fail(err)
		return err
	}
	return nil
}
