package comm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// localWorld starts p in-process ranks.
func localWorld(t testing.TB, p int, opts Options) []*Communicator {
	t.Helper()
	comms, err := NewLocal(t.Context(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range comms {
			c.Close()
		}
	})
	return comms
}

// onEach runs f on every rank at once and returns their errors.
func onEach(comms []*Communicator, f func(c *Communicator) error) []error {
	errs := make([]error, len(comms))
	var wg sync.WaitGroup
	for i, c := range comms {
		wg.Go(func() { errs[i] = f(c) })
	}
	wg.Wait()
	return errs
}

// collectiveCase is one call that every rank makes, checked by each rank
// against the values computed independently by the helpers.
type collectiveCase struct {
	coll  Collective
	dt    tensor.DType
	op    ReduceOp
	n     int // elements per rank block
	root  int
	inPlc bool
}

func (k collectiveCase) String() string {
	s := fmt.Sprintf("%v/%v/n%d", k.coll, k.dt, k.n)
	if k.op != 0 {
		s += "/" + k.op.String()
	}
	if k.coll.rooted() {
		s += fmt.Sprintf("/root%d", k.root)
	}
	if k.inPlc {
		s += "/inplace"
	}
	return s
}

// runCase makes the call on c and checks its result; it is what each rank
// of a test world runs, in-process or as a process of its own.
func runCase(ctx context.Context, c collectives, k collectiveCase, mk func(*tensor.Tensor) (*tensor.Tensor, error)) error {
	p, r := c.Size(), c.Rank()
	if mk == nil {
		mk = func(x *tensor.Tensor) (*tensor.Tensor, error) { return x, nil }
	}
	tb := &errTB{}
	in := func(rank, n, base int) *tensor.Tensor { return build(tb, k.dt, inputs(k.op, rank, n, base)) }
	zeros := func(n int) *tensor.Tensor {
		x, _ := tensor.New(k.dt, tensor.Shape{n})
		return x
	}
	check := func(what string, got *tensor.Tensor, want func(i int) complex128) error {
		if tb.err != nil {
			return tb.err
		}
		vals := values(tb, got)
		if tb.err != nil {
			return tb.err
		}
		for i, g := range vals {
			if w := want(i); !near(k.dt, k.op, g, w) {
				return fmt.Errorf("%v: rank %d: %s[%d] = %v, want %v", k, r, what, i, g, w)
			}
		}
		return nil
	}
	dev := func(x *tensor.Tensor) *tensor.Tensor {
		d, err := mk(x)
		if err != nil {
			tb.err = err
			return x
		}
		return d
	}
	var err error
	switch k.coll {
	case CollAllReduce:
		send := dev(in(r, k.n, 0))
		recv := send
		if !k.inPlc {
			recv = dev(zeros(k.n))
		}
		if err = c.AllReduce(ctx, send, recv, k.op); err == nil {
			err = check("recv", recv, func(i int) complex128 { return reduced(k.dt, k.op, p, i) })
		}
	case CollReduce:
		send := dev(in(r, k.n, 0))
		recv := dev(zeros(k.n))
		if err = c.Reduce(ctx, send, recv, k.op, k.root); err == nil && r == k.root {
			err = check("recv", recv, func(i int) complex128 { return reduced(k.dt, k.op, p, i) })
		}
		if err == nil {
			err = check("send", send, func(i int) complex128 { return cast(k.dt, element(k.dt, k.op, r, i)) })
		}
	case CollBroadcast:
		x := dev(zeros(k.n))
		if r == k.root {
			x = dev(in(r, k.n, 0))
		}
		if err = c.Broadcast(ctx, x, k.root); err == nil {
			err = check("x", x, func(i int) complex128 { return cast(k.dt, element(k.dt, k.op, k.root, i)) })
		}
	case CollAllGather:
		send := dev(in(r, k.n, 0))
		recv := dev(zeros(k.n * p))
		if err = c.AllGather(ctx, send, recv); err == nil {
			err = check("recv", recv, func(i int) complex128 { return cast(k.dt, element(k.dt, k.op, i/max(1, k.n), i%max(1, k.n))) })
		}
	case CollReduceScatter:
		send := dev(in(r, k.n*p, 0))
		recv := dev(zeros(k.n))
		if err = c.ReduceScatter(ctx, send, recv, k.op); err == nil {
			err = check("recv", recv, func(i int) complex128 { return reduced(k.dt, k.op, p, r*k.n+i) })
		}
	case CollAllToAll:
		// Rank r's block for rank j holds values of index base r*p+j.
		vals := make([]int64, 0, k.n*p)
		for j := range p {
			vals = append(vals, inputs(k.op, r, k.n, j*k.n)...)
		}
		send := dev(build(tb, k.dt, vals))
		recv := send
		if !k.inPlc {
			recv = dev(zeros(k.n * p))
		}
		if err = c.AllToAll(ctx, send, recv); err == nil {
			err = check("recv", recv, func(i int) complex128 {
				from := i / max(1, k.n)
				return cast(k.dt, element(k.dt, k.op, from, r*k.n+i%max(1, k.n)))
			})
		}
	case CollBarrier:
		err = c.Barrier(ctx)
	case CollSendRecv:
		// A ring of point-to-point messages: even ranks send first.
		next, prev := (r+1)%p, (r+p-1)%p
		if p == 1 {
			return nil
		}
		out := dev(in(r, k.n, 0))
		got := dev(zeros(k.n))
		if r%2 == 0 {
			if err = c.Send(ctx, out, next); err == nil {
				err = c.Recv(ctx, got, prev)
			}
		} else {
			if err = c.Recv(ctx, got, prev); err == nil {
				err = c.Send(ctx, out, next)
			}
		}
		if err == nil {
			err = check("recv", got, func(i int) complex128 { return cast(k.dt, element(k.dt, k.op, prev, i)) })
		}
	}
	if err == nil {
		err = tb.err
	}
	if err != nil {
		return fmt.Errorf("%v: %w", k, err)
	}
	return nil
}

// collectives is what runCase calls: a Communicator, or asyncComm.
type collectives interface {
	Rank() int
	Size() int
	AllReduce(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp) error
	Reduce(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp, root int) error
	Broadcast(ctx context.Context, t *tensor.Tensor, root int) error
	AllGather(ctx context.Context, send, recv *tensor.Tensor) error
	ReduceScatter(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp) error
	AllToAll(ctx context.Context, send, recv *tensor.Tensor) error
	Barrier(ctx context.Context) error
	Send(ctx context.Context, t *tensor.Tensor, peer int) error
	Recv(ctx context.Context, t *tensor.Tensor, peer int) error
}

// asyncComm makes each collective through Communicator.On: enqueued on s,
// then waited for with s.Synchronize.
type asyncComm struct {
	*Communicator
	s runtime.Stream
}

func (a *asyncComm) sync(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	return a.s.Synchronize(ctx)
}

func (a *asyncComm) AllReduce(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp) error {
	return a.sync(ctx, a.On(a.s).AllReduce(send, recv, op))
}
func (a *asyncComm) Reduce(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp, root int) error {
	return a.sync(ctx, a.On(a.s).Reduce(send, recv, op, root))
}
func (a *asyncComm) Broadcast(ctx context.Context, t *tensor.Tensor, root int) error {
	return a.sync(ctx, a.On(a.s).Broadcast(t, root))
}
func (a *asyncComm) AllGather(ctx context.Context, send, recv *tensor.Tensor) error {
	return a.sync(ctx, a.On(a.s).AllGather(send, recv))
}
func (a *asyncComm) ReduceScatter(ctx context.Context, send, recv *tensor.Tensor, op ReduceOp) error {
	return a.sync(ctx, a.On(a.s).ReduceScatter(send, recv, op))
}
func (a *asyncComm) AllToAll(ctx context.Context, send, recv *tensor.Tensor) error {
	return a.sync(ctx, a.On(a.s).AllToAll(send, recv))
}
func (a *asyncComm) Barrier(ctx context.Context) error { return a.sync(ctx, a.On(a.s).Barrier()) }

// errTB lets the helpers written for tests run inside a rank, recording
// the first failure instead of stopping a test.
type errTB struct {
	testing.TB
	err error
}

func (e *errTB) Helper() {}
func (e *errTB) Fatal(args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("%s", fmt.Sprint(args...))
	}
}
func (e *errTB) Fatalf(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}
func (e *errTB) Context() context.Context { return context.Background() }

// cases lists the calls a world of p ranks runs: every collective, on the
// given types, every reduction that applies, the given counts.
func cases(p int, dtypes []tensor.DType, counts []int) []collectiveCase {
	var out []collectiveCase
	for _, dt := range dtypes {
		for ci, n := range counts {
			root := (ci * 2) % p
			for _, op := range []ReduceOp{Sum, Prod, Min, Max, Avg} {
				if checkReducible(dt, op) != nil {
					continue
				}
				out = append(out,
					collectiveCase{coll: CollAllReduce, dt: dt, op: op, n: n, inPlc: ci%2 == 1},
					collectiveCase{coll: CollReduce, dt: dt, op: op, n: n, root: root},
					collectiveCase{coll: CollReduceScatter, dt: dt, op: op, n: n})
			}
			out = append(out,
				collectiveCase{coll: CollBroadcast, dt: dt, n: n, root: root},
				collectiveCase{coll: CollAllGather, dt: dt, n: n},
				collectiveCase{coll: CollAllToAll, dt: dt, n: n, inPlc: ci%2 == 1},
				collectiveCase{coll: CollSendRecv, dt: dt, n: n},
				collectiveCase{coll: CollBarrier, dt: dt})
		}
	}
	return out
}

// TestCollectivesInProcess runs every collective on worlds of 1 to 8
// ranks with each algorithm forced, on every numeric type (all of them on
// 3 and 4 ranks, a few elsewhere to keep the run short) and odd counts.
// The chunk size is tiny so that pipelines run many chunks.
func TestCollectivesInProcess(t *testing.T) {
	counts := []int{0, 1, 13, 1031}
	few := []tensor.DType{tensor.Float32, tensor.Float16, tensor.Int64}
	for _, p := range []int{1, 2, 3, 4, 5, 6, 8} {
		for _, algo := range []string{"ring", "tree", "rhd"} {
			dtypes := few
			if p == 3 || p == 4 {
				dtypes = numericTypes
			}
			t.Run(fmt.Sprintf("p%d/%s", p, algo), func(t *testing.T) {
				comms := localWorld(t, p, Options{Algorithm: algo, ChunkBytes: 256, Timeout: 20 * time.Second})
				all := cases(p, dtypes, counts)
				errs := onEach(comms, func(c *Communicator) error {
					for _, k := range all {
						if err := runCase(t.Context(), c, k, nil); err != nil {
							return err
						}
					}
					return nil
				})
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

// The cost model picks latency-bound algorithms for small messages and the
// ring for large ones; the environment variable overrides it.
func TestAlgorithmChoice(t *testing.T) {
	lp := LinkParams{Latency: 20 * time.Microsecond, Bandwidth: 2e9, ReduceBandwidth: 2e9}
	tests := []struct {
		coll     Collective
		n        int64
		p        int
		override Algorithm
		want     []Algorithm
	}{
		{CollAllReduce, 8, 8, Auto, []Algorithm{Tree, HalvingDoubling}},
		{CollAllReduce, 256 << 20, 8, Auto, []Algorithm{Ring}},
		{CollAllReduce, 256 << 20, 8, Tree, []Algorithm{Tree}},
		{CollAllGather, 256 << 20, 5, HalvingDoubling, []Algorithm{Ring}}, // rhd needs a power of two
		{CollBroadcast, 4, 16, Auto, []Algorithm{Tree}},
		{CollBroadcast, 256 << 20, 4, Auto, []Algorithm{Ring}},
		{CollAllToAll, 1 << 20, 4, Ring, []Algorithm{pairwise}},
	}
	for _, tt := range tests {
		got := choose(tt.coll, tt.override, tt.n, tt.p, lp, 1<<20)
		if !slices.Contains(tt.want, got) {
			t.Errorf("choose(%v, %v, %d bytes, %d ranks) = %v, want one of %v", tt.coll, tt.override, tt.n, tt.p, got, tt.want)
		}
	}
	ch, err := ParseAlgorithmChoice("allreduce=rhd, broadcast=tree")
	if err != nil || ch.forColl(CollAllReduce) != HalvingDoubling || ch.forColl(CollBroadcast) != Tree || ch.forColl(CollAllGather) != Auto {
		t.Errorf("ParseAlgorithmChoice: %v, %v", ch, err)
	}
	if _, err := ParseAlgorithmChoice("allreduce=magic"); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("bad algorithm: %v", err)
	}
	t.Setenv(EnvAlgo, "tree")
	comms := localWorld(t, 4, Options{})
	if a := comms[0].Algorithm(CollAllReduce, 1<<30); a != Tree {
		t.Errorf("with %s=tree, allreduce of 1 GiB uses %v", EnvAlgo, a)
	}
}

// BenchmarkAllReduceInProcess measures the in-process transport (ranks as
// goroutines, zero-copy): go test -bench AllReduceInProcess ./comm.
func BenchmarkAllReduceInProcess(b *testing.B) {
	for _, p := range []int{2, 4} {
		for _, size := range []int{1 << 20, 16 << 20} {
			b.Run(fmt.Sprintf("p%d/%dMiB", p, size>>20), func(b *testing.B) {
				comms := localWorld(b, p, Options{})
				xs := make([]*tensor.Tensor, p)
				for r := range xs {
					xs[r], _ = tensor.New(tensor.Float32, tensor.Shape{size / 4})
				}
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					for _, err := range onEach(comms, func(c *Communicator) error {
						return c.AllReduce(context.Background(), xs[c.Rank()], xs[c.Rank()], Sum)
					}) {
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				// nccl-tests' bus bandwidth, beside Go's algorithm bandwidth (MB/s).
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(CollAllReduce.BusBandwidth(float64(size)/sec, p)/1e9, "busbw_GB/s")
			})
		}
	}
}
