package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gocann/gocann/comm"
	"github.com/gocann/gocann/tensor"
)

func commCommand() *command {
	return &command{
		name:    "comm",
		summary: "collective communication: bench (bandwidth of all-reduce and friends)",
		usage: `cann comm bench [--op allreduce|allgather|reducescatter|broadcast|reduce|alltoall] [--sizes 1K,1M,64M] [--dtype float32] [--iterations N] [--warmup N] [--algo auto|ring|tree|rhd] [--format text|json]

Measures a collective across the ranks of a job started by any launcher:
cann launch -n 4 -- cann comm bench, mpirun -n 4 cann comm bench (MPICH),
Open MPI, srun, or torchrun-style variables. Each size is checked for a
correct result first, then timed over --iterations calls after --warmup.
Rank 0 prints one row per size, as nccl-tests defines them: size_bytes is
the largest buffer of a rank (for allgather the gathered output, for
reducescatter the input), time_us the slowest rank's mean time per call,
algbw_gbps = size_bytes / time, busbw_gbps = algbw times the fraction of
the data a link must carry (2(n-1)/n for allreduce, (n-1)/n for allgather,
reducescatter and alltoall, 1 for broadcast and reduce), comparable across
world sizes. GOCANN_COMM_ALGO and GOCANN_COMM_TIMEOUT apply.`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			op := fs.String("op", "allreduce", "collective: allreduce, allgather, reducescatter, broadcast, reduce or alltoall")
			sizes := fs.String("sizes", "1K,1M,64M", "comma-separated sizes in bytes, with K, M or G (binary) suffixes")
			dtype := fs.String("dtype", "float32", "element type")
			iters := fs.Int("iterations", 20, "timed calls per size")
			warmup := fs.Int("warmup", 5, "untimed calls per size before timing")
			algo := fs.String("algo", "", "force an algorithm (default: GOCANN_COMM_ALGO, else the cost model)")
			format := fs.String("format", "text", "output `format`: text or json")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) != 1 || args[0] != "bench" {
					return fmt.Errorf("want the subcommand bench, got %q: %w", args, errUsage)
				}
				coll, err := comm.ParseCollective(*op)
				if err != nil || coll == comm.CollBarrier || coll == comm.CollSendRecv {
					return fmt.Errorf("--op %q: want allreduce, allgather, reducescatter, broadcast, reduce or alltoall: %w", *op, errUsage)
				}
				dt, err := tensor.ParseDType(*dtype)
				if err != nil || dt == tensor.String || dt == tensor.Bool || dt.IsComplex() {
					return fmt.Errorf("--dtype %q: want a real number type: %w", *dtype, errUsage)
				}
				sz, err := parseSizes(*sizes)
				if err != nil {
					return fmt.Errorf("--sizes: %v: %w", err, errUsage)
				}
				if *iters < 1 || *warmup < 0 {
					return fmt.Errorf("--iterations must be positive and --warmup not negative: %w", errUsage)
				}
				if *format != "text" && *format != "json" {
					return fmt.Errorf("unknown format %q (want text or json): %w", *format, errUsage)
				}
				return commBench(ctx, ios, benchSpec{coll: coll, dt: dt, sizes: sz, iters: *iters, warmup: *warmup, algo: *algo, format: *format})
			}
		},
	}
}

type benchSpec struct {
	coll          comm.Collective
	dt            tensor.DType
	sizes         []int64
	iters, warmup int
	algo, format  string
}

// parseSizes reads "1K,1M,64M" (binary units; B optional).
func parseSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		f = strings.TrimSuffix(strings.TrimSuffix(f, "IB"), "B")
		mult := int64(1)
		switch {
		case strings.HasSuffix(f, "K"):
			mult = 1 << 10
		case strings.HasSuffix(f, "M"):
			mult = 1 << 20
		case strings.HasSuffix(f, "G"):
			mult = 1 << 30
		}
		if mult > 1 {
			f = f[:len(f)-1]
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 || n > (1<<40)/mult {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// benchRow is one line of output; the JSON names are the columns'.
type benchRow struct {
	Op        string  `json:"op"`
	DType     string  `json:"dtype"`
	Ranks     int     `json:"ranks"`
	Algorithm string  `json:"algorithm"`
	SizeBytes int64   `json:"size_bytes"`
	Count     int     `json:"count"`
	TimeUS    float64 `json:"time_us"`
	AlgBW     float64 `json:"algbw_gbps"`
	BusBW     float64 `json:"busbw_gbps"`
}

func commBench(ctx context.Context, ios ioStreams, sp benchSpec) error {
	cfg, err := comm.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	opts, err := comm.OptionsFromEnv(comm.Options{Algorithm: sp.algo}, os.Getenv)
	if err != nil {
		return err
	}
	c, err := comm.Init(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	p, es := c.Size(), int64(sp.dt.Size())
	var rows []benchRow
	for _, size := range sp.sizes {
		// Whole elements, and for the calls that cut their buffer in one
		// block per rank, a multiple of the world size.
		unit := es
		if sp.coll == comm.CollAllGather || sp.coll == comm.CollReduceScatter || sp.coll == comm.CollAllToAll {
			unit *= int64(p)
		}
		total := int(size / unit * unit / es) // elements of the largest buffer
		call, count, err := benchCall(c, sp, total)
		if err != nil {
			c.Abort(err)
			return err
		}
		if err := call(ctx, true); err != nil {
			c.Abort(err)
			return fmt.Errorf("%v of %d bytes: %w", sp.coll, size, err)
		}
		for range sp.warmup {
			if err := call(ctx, false); err != nil {
				return err
			}
		}
		if err := c.Barrier(ctx); err != nil {
			return err
		}
		start := time.Now()
		for range sp.iters {
			if err := call(ctx, false); err != nil {
				return err
			}
		}
		perCall := time.Since(start).Seconds() / float64(sp.iters)
		slowest, err := maxOver(ctx, c, perCall)
		if err != nil {
			return err
		}
		bytes := int64(total) * es
		algbw := float64(bytes) / slowest / 1e9
		rows = append(rows, benchRow{
			Op: sp.coll.String(), DType: sp.dt.String(), Ranks: p,
			Algorithm: c.AlgorithmFor(sp.coll, sp.dt, count).String(),
			SizeBytes: bytes, Count: total, TimeUS: slowest * 1e6,
			AlgBW: algbw, BusBW: sp.coll.BusBandwidth(algbw, p),
		})
		if c.Rank() == 0 && sp.format == "text" {
			if len(rows) == 1 {
				fmt.Fprintf(ios.stdout, "# cann comm bench: %v, %v, %d ranks\n", sp.coll, sp.dt, p)
			}
			writeBenchText(ios, rows[len(rows)-1], len(rows) == 1)
		}
	}
	if c.Rank() == 0 && sp.format == "json" {
		enc := json.NewEncoder(ios.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return nil
}

func writeBenchText(ios ioStreams, r benchRow, header bool) {
	tw := tabwriter.NewWriter(ios.stdout, 12, 0, 2, ' ', tabwriter.AlignRight)
	if header {
		fmt.Fprintln(tw, "size_bytes\tcount\talgorithm\ttime_us\talgbw_gbps\tbusbw_gbps\t")
	}
	fmt.Fprintf(tw, "%d\t%d\t%s\t%.1f\t%.3f\t%.3f\t\n", r.SizeBytes, r.Count, r.Algorithm, r.TimeUS, r.AlgBW, r.BusBW)
	tw.Flush()
}

// maxOver is the largest of every rank's v.
func maxOver(ctx context.Context, c *comm.Communicator, v float64) (float64, error) {
	t, err := tensor.FromSlice([]float64{v})
	if err != nil {
		return 0, err
	}
	if err := c.AllReduce(ctx, t, t, comm.Max); err != nil {
		return 0, err
	}
	out, err := tensor.ToSlice[float64](t)
	if err != nil {
		return 0, err
	}
	return out[0], nil
}

// benchCall prepares the buffers of one size and returns the call, which
// checks its result when asked. total is the element count of the
// largest buffer; count is the call's own count (as comm's headers say).
func benchCall(c *comm.Communicator, sp benchSpec, total int) (call func(ctx context.Context, check bool) error, count int, err error) {
	p, r := c.Size(), c.Rank()
	// Small integers: sums over the ranks are exact in every type.
	value := func(rank, i int) float64 { return float64((rank + i) % 3) }
	fill := func(n, rank, base int) (*tensor.Tensor, error) {
		v := make([]float64, n)
		for i := range v {
			v[i] = value(rank, base+i)
		}
		return fromFloat64(sp.dt, v)
	}
	sum := func(i int) float64 {
		s := 0.0
		for q := range p {
			s += value(q, i)
		}
		return s
	}
	verify := func(t *tensor.Tensor, want func(i int) float64) error {
		got, err := toFloat64(t)
		if err != nil {
			return err
		}
		for i, g := range got {
			if w := want(i); g != w {
				return fmt.Errorf("wrong result on rank %d: element %d is %v, want %v", r, i, g, w)
			}
		}
		return nil
	}
	zeros := func(n int) (*tensor.Tensor, error) { return tensor.New(sp.dt, tensor.Shape{n}) }
	var send, recv *tensor.Tensor
	mk := func(s, rv func() (*tensor.Tensor, error)) error {
		var err error
		if send, err = s(); err != nil {
			return err
		}
		recv, err = rv()
		return err
	}
	switch sp.coll {
	case comm.CollAllReduce, comm.CollReduce:
		count = total
		err = mk(func() (*tensor.Tensor, error) { return fill(total, r, 0) }, func() (*tensor.Tensor, error) { return zeros(total) })
		call = func(ctx context.Context, check bool) error {
			var err error
			if sp.coll == comm.CollAllReduce {
				err = c.AllReduce(ctx, send, recv, comm.Sum)
			} else {
				err = c.Reduce(ctx, send, recv, comm.Sum, 0)
			}
			if err != nil || !check || sp.coll == comm.CollReduce && r != 0 {
				return err
			}
			return verify(recv, sum)
		}
	case comm.CollBroadcast:
		count = total
		err = mk(func() (*tensor.Tensor, error) { return fill(total, r, 0) }, func() (*tensor.Tensor, error) { return nil, nil })
		call = func(ctx context.Context, check bool) error {
			if err := c.Broadcast(ctx, send, 0); err != nil || !check {
				return err
			}
			return verify(send, func(i int) float64 { return value(0, i) })
		}
	case comm.CollAllGather:
		count = total / p
		err = mk(func() (*tensor.Tensor, error) { return fill(count, r, 0) }, func() (*tensor.Tensor, error) { return zeros(total) })
		call = func(ctx context.Context, check bool) error {
			if err := c.AllGather(ctx, send, recv); err != nil || !check {
				return err
			}
			return verify(recv, func(i int) float64 { return value(i/count, i%count) })
		}
	case comm.CollReduceScatter:
		count = total / p
		err = mk(func() (*tensor.Tensor, error) { return fill(total, r, 0) }, func() (*tensor.Tensor, error) { return zeros(count) })
		call = func(ctx context.Context, check bool) error {
			if err := c.ReduceScatter(ctx, send, recv, comm.Sum); err != nil || !check {
				return err
			}
			return verify(recv, func(i int) float64 { return sum(r*count + i) })
		}
	case comm.CollAllToAll:
		count = total
		b := total / p
		err = mk(func() (*tensor.Tensor, error) { return fill(total, r, 0) }, func() (*tensor.Tensor, error) { return zeros(total) })
		call = func(ctx context.Context, check bool) error {
			if err := c.AllToAll(ctx, send, recv); err != nil || !check {
				return err
			}
			// Block q of recv is block r of rank q's send.
			return verify(recv, func(i int) float64 { return value(i/b, r*b+i%b) })
		}
	default:
		return nil, 0, fmt.Errorf("cannot bench %v: %w", sp.coll, errUsage)
	}
	return call, count, err
}

// fromFloat64 makes a host tensor of dt from exact small values.
func fromFloat64(dt tensor.DType, v []float64) (*tensor.Tensor, error) {
	switch dt {
	case tensor.Float32:
		return tensor.FromSlice(convert(v, func(x float64) float32 { return float32(x) }))
	case tensor.Float64:
		return tensor.FromSlice(v)
	case tensor.Float16:
		return tensor.FromSlice(convert(v, func(x float64) tensor.F16 { return tensor.Float16FromFloat32(float32(x)) }))
	case tensor.BFloat16:
		return tensor.FromSlice(convert(v, func(x float64) tensor.BF16 { return tensor.BFloat16FromFloat32(float32(x)) }))
	case tensor.Int8:
		return tensor.FromSlice(convert(v, func(x float64) int8 { return int8(x) }))
	case tensor.Int16:
		return tensor.FromSlice(convert(v, func(x float64) int16 { return int16(x) }))
	case tensor.Int32:
		return tensor.FromSlice(convert(v, func(x float64) int32 { return int32(x) }))
	case tensor.Int64:
		return tensor.FromSlice(convert(v, func(x float64) int64 { return int64(x) }))
	case tensor.Uint8:
		return tensor.FromSlice(convert(v, func(x float64) uint8 { return uint8(x) }))
	case tensor.Uint16:
		return tensor.FromSlice(convert(v, func(x float64) uint16 { return uint16(x) }))
	case tensor.Uint32:
		return tensor.FromSlice(convert(v, func(x float64) uint32 { return uint32(x) }))
	case tensor.Uint64:
		return tensor.FromSlice(convert(v, func(x float64) uint64 { return uint64(x) }))
	}
	return nil, fmt.Errorf("cannot bench %v: %w", dt, errUsage)
}

// toFloat64 reads a host tensor of a real type.
func toFloat64(t *tensor.Tensor) ([]float64, error) {
	switch t.DType() {
	case tensor.Float32:
		return viewAs(t, func(x float32) float64 { return float64(x) })
	case tensor.Float64:
		return viewAs(t, func(x float64) float64 { return x })
	case tensor.Float16:
		return viewAs(t, func(x tensor.F16) float64 { return float64(x.Float32()) })
	case tensor.BFloat16:
		return viewAs(t, func(x tensor.BF16) float64 { return float64(x.Float32()) })
	case tensor.Int8:
		return viewAs(t, func(x int8) float64 { return float64(x) })
	case tensor.Int16:
		return viewAs(t, func(x int16) float64 { return float64(x) })
	case tensor.Int32:
		return viewAs(t, func(x int32) float64 { return float64(x) })
	case tensor.Int64:
		return viewAs(t, func(x int64) float64 { return float64(x) })
	case tensor.Uint8:
		return viewAs(t, func(x uint8) float64 { return float64(x) })
	case tensor.Uint16:
		return viewAs(t, func(x uint16) float64 { return float64(x) })
	case tensor.Uint32:
		return viewAs(t, func(x uint32) float64 { return float64(x) })
	case tensor.Uint64:
		return viewAs(t, func(x uint64) float64 { return float64(x) })
	}
	return nil, fmt.Errorf("cannot read %v: %w", t.DType(), errUsage)
}

func viewAs[T tensor.Element](t *tensor.Tensor, f func(T) float64) ([]float64, error) {
	v, err := tensor.View[T](t)
	if err != nil {
		return nil, err
	}
	return convert(v, f), nil
}

func convert[S, T any](v []S, f func(S) T) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = f(x)
	}
	return out
}
