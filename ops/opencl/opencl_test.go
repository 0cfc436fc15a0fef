package opencl_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/gocann/gocann/ops"
	clops "github.com/gocann/gocann/ops/opencl"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	clrt "github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/tensor"
)

// Every kernel is checked against the CPU operator (ops/standard) on the
// same random inputs: the CPU operators are themselves checked against the
// ONNX backend test data, so agreement here ties the kernels to those
// references.

type env struct {
	dev     *clrt.Device
	s       runtime.Stream
	pool    *runtime.Pool
	reg     *ops.Registry
	workers *cpu.Workers
}

// testEnv is shared by the package's tests, so that each kernel program is
// compiled once per run (the cache directory is private to the run unless
// GOCANN_CACHE_DIR names one).
var testEnv struct {
	e   *env
	err error
	dir string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e := testEnv.e; e != nil {
		e.pool.Close()
		e.s.Close()
		e.workers.Close()
		e.dev.Backend().Close()
	}
	if testEnv.dir != "" {
		os.RemoveAll(testEnv.dir)
	}
	os.Exit(code)
}

func setup(tb testing.TB) *env {
	tb.Helper()
	if testEnv.e == nil && testEnv.err == nil {
		testEnv.err = openEnv()
	}
	if testEnv.err != nil {
		if errors.Is(testEnv.err, runtime.ErrNotFound) && os.Getenv("GOCANN_REQUIRE_OPENCL") == "" {
			tb.Skipf("no OpenCL device: %v", testEnv.err)
		}
		tb.Fatal(testEnv.err)
	}
	return testEnv.e
}

func openEnv() error {
	dir := ""
	if os.Getenv("GOCANN_CACHE_DIR") == "" {
		d, err := os.MkdirTemp("", "gocann-opencl-test")
		if err != nil {
			return err
		}
		testEnv.dir, dir = d, d
	}
	b, err := clrt.New(clrt.Options{CacheDir: dir})
	if err != nil {
		return err
	}
	dev, err := b.Device(0)
	if err != nil {
		b.Close()
		return err
	}
	s, err := dev.NewStream()
	if err != nil {
		b.Close()
		return err
	}
	pool, err := runtime.NewPool(dev, runtime.PoolOptions{})
	if err != nil {
		b.Close()
		return err
	}
	reg, err := standard.NewRegistry()
	if err != nil {
		return err
	}
	if err := clops.Register(reg); err != nil {
		return err
	}
	testEnv.e = &env{dev: dev, s: s, pool: pool, reg: reg, workers: cpu.NewWorkers(2)}
	return nil
}

type attrs = map[string]ops.Attr

func aI(v int64) ops.Attr     { return ops.Attr{Type: ops.AttrInt, Int: v} }
func aF(v float32) ops.Attr   { return ops.Attr{Type: ops.AttrFloat, Float: v} }
func aS(v string) ops.Attr    { return ops.Attr{Type: ops.AttrString, String: v} }
func aIs(v ...int64) ops.Attr { return ops.Attr{Type: ops.AttrInts, Ints: v} }
func aT(v *tensor.Tensor) ops.Attr {
	return ops.Attr{Type: ops.AttrTensor, Tensor: v}
}

// kcase is one node run on the CPU and on the device.
type kcase struct {
	name   string
	op     string
	opset  int
	attrs  attrs
	in     []*tensor.Tensor // nil: an omitted optional input
	consts []int            // inputs whose contents are known when preparing
	nout   int              // default 1
	rtol   float64          // default 1e-3 (atol 1e-5)
}

func (c kcase) node() *ops.Node {
	types := make([]ops.Type, len(c.in))
	for i, x := range c.in {
		if x == nil {
			continue
		}
		types[i] = ops.TensorType(x.DType(), x.Shape())
		for _, k := range c.consts {
			if k == i {
				types[i].Value = x
			}
		}
	}
	nout := c.nout
	if nout == 0 {
		nout = 1
	}
	return &ops.Node{Name: c.name, OpType: c.op, Opset: c.opset, Attrs: ops.NewAttrs(c.attrs), Inputs: types, NumOutputs: nout}
}

// cpuRun runs the node's CPU kernel.
func (e *env) cpuRun(t *testing.T, c kcase) []*tensor.Tensor {
	t.Helper()
	o, err := e.reg.Lookup("", c.op, c.opset)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := ops.PrepareOp(o, c.node())
	if err != nil {
		t.Fatalf("CPU prepare: %v", err)
	}
	out := make([]*tensor.Tensor, len(plan.Outputs))
	for i, ot := range plan.Outputs {
		if out[i], err = tensor.New(ot.DType, ot.Shape); err != nil {
			t.Fatal(err)
		}
	}
	if err := plan.Kernel(&ops.Env{Workers: e.workers}, c.in, out); err != nil {
		t.Fatalf("CPU kernel: %v", err)
	}
	return out
}

// devRun prepares the node for the device and runs it; the error is the
// device's (prepare or run), outputs are on the host.
func (e *env) devRun(t *testing.T, c kcase) ([]*tensor.Tensor, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dp, plan, err := e.reg.PrepareDevice(e.dev, c.node())
	if err != nil {
		return nil, err
	}
	// Value inputs (Reshape's shape…) may stay on the host, as an engine
	// leaves them; every other input goes to the device.
	op, err := e.reg.Lookup("", c.op, c.opset)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]*tensor.Tensor, len(c.in))
	for i, x := range c.in {
		if x == nil {
			continue
		}
		isValue := false
		for _, k := range op.ValueInputs {
			isValue = isValue || k == i
		}
		if isValue {
			in[i] = x
			continue
		}
		if in[i], err = x.CopyTo(ctx, e.s, e.pool); err != nil {
			t.Fatal(err)
		}
		defer in[i].Free()
	}
	out, err := dp.Run(ctx, e.s, e.pool, plan, in)
	if err != nil {
		return nil, err
	}
	if err := e.s.Synchronize(ctx); err != nil {
		return nil, err
	}
	host := make([]*tensor.Tensor, len(out))
	for i, o := range out {
		if host[i], err = o.ToHost(ctx, e.s); err != nil {
			t.Fatal(err)
		}
		if !dp.View {
			o.Free()
		}
	}
	return host, nil
}

func (e *env) check(t *testing.T, c kcase) {
	t.Helper()
	want := e.cpuRun(t, c)
	got, err := e.devRun(t, c)
	if err != nil {
		t.Fatalf("device: %v", err)
	}
	rtol := c.rtol
	if rtol == 0 {
		rtol = 1e-3
	}
	for i := range want {
		compare(t, fmt.Sprintf("output %d", i), got[i], want[i], rtol)
	}
}

func values(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	conv := func(v any, err error) []float64 {
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		switch s := v.(type) {
		case []float32:
			for _, x := range s {
				out = append(out, float64(x))
			}
		case []float64:
			out = s
		case []int32:
			for _, x := range s {
				out = append(out, float64(x))
			}
		case []int64:
			for _, x := range s {
				out = append(out, float64(x))
			}
		case []bool:
			for _, x := range s {
				if x {
					out = append(out, 1)
				} else {
					out = append(out, 0)
				}
			}
		case []uint8:
			for _, x := range s {
				out = append(out, float64(x))
			}
		}
		return out
	}
	switch x.DType() {
	case tensor.Float32:
		return conv(tensor.ToSlice[float32](x))
	case tensor.Float64:
		return conv(tensor.ToSlice[float64](x))
	case tensor.Int32:
		return conv(tensor.ToSlice[int32](x))
	case tensor.Int64:
		return conv(tensor.ToSlice[int64](x))
	case tensor.Bool:
		return conv(tensor.ToSlice[bool](x))
	case tensor.Uint8:
		return conv(tensor.ToSlice[uint8](x))
	}
	t.Fatalf("no comparison for %s", x.DType())
	return nil
}

// compare checks dtype, shape and values: floats within atol 1e-5 + rtol,
// everything else exactly; NaNs must match NaNs.
func compare(t *testing.T, what string, got, want *tensor.Tensor, rtol float64) {
	t.Helper()
	if got.DType() != want.DType() || !got.Shape().Equal(want.Shape()) {
		t.Fatalf("%s: got %s%v, want %s%v", what, got.DType(), got.Shape(), want.DType(), want.Shape())
	}
	g, w := values(t, got), values(t, want)
	bad := 0
	for i := range w {
		ok := g[i] == w[i] || (math.IsNaN(g[i]) && math.IsNaN(w[i]))
		if !ok && want.DType().IsFloat() {
			ok = math.Abs(g[i]-w[i]) <= 1e-5+rtol*math.Abs(w[i])
		}
		if !ok {
			if bad < 5 {
				t.Errorf("%s: element %d of %d: got %v, want %v", what, i, len(w), g[i], w[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(w))
	}
}

// rng is seeded per test so failures reproduce.
func rng(t testing.TB) *rand.Rand {
	var h uint64
	for _, c := range t.Name() {
		h = h*31 + uint64(c)
	}
	return rand.New(rand.NewPCG(h, 1))
}

func randF(r *rand.Rand, lo, hi float32, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float32()
	}
	x, err := tensor.FromSlice(v, shape...)
	if err != nil {
		panic(err)
	}
	return x
}

func randI[T int32 | int64](r *rand.Rand, lo, hi int, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]T, n)
	for i := range v {
		v[i] = T(lo + r.IntN(hi-lo+1))
	}
	x, err := tensor.FromSlice(v, shape...)
	if err != nil {
		panic(err)
	}
	return x
}

func randB(r *rand.Rand, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]bool, n)
	for i := range v {
		v[i] = r.IntN(2) == 1
	}
	x, err := tensor.FromSlice(v, shape...)
	if err != nil {
		panic(err)
	}
	return x
}

func ints(v ...int64) *tensor.Tensor {
	x, err := tensor.FromSlice(v, len(v))
	if err != nil {
		panic(err)
	}
	return x
}

func scalarF(v float32) *tensor.Tensor { return tensor.Scalar(v) }

func run(t *testing.T, cases []kcase) {
	e := setup(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { e.check(t, c) })
	}
}
