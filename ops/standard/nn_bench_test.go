package standard

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// nnBenchNode prepares one node on random inputs for benchmarks.
func nnBenchNode(b *testing.B, op string, opset int, attrs map[string]ops.Attr, shapes ...tensor.Shape) (ops.Kernel, []*tensor.Tensor, []*tensor.Tensor) {
	b.Helper()
	reg, err := NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	in := make([]*tensor.Tensor, len(shapes))
	types := make([]ops.Type, len(shapes))
	for i, s := range shapes {
		t, _ := tensor.New(tensor.Float32, s)
		v, _ := tensor.View[float32](t)
		for j := range v {
			v[j] = float32(j%13) * 0.1
		}
		in[i] = t
		types[i] = ops.TensorType(tensor.Float32, s)
	}
	o, err := reg.Lookup("", op, opset)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := ops.PrepareOp(o, &ops.Node{OpType: op, Opset: opset, Attrs: ops.NewAttrs(attrs), Inputs: types, NumOutputs: 1})
	if err != nil {
		b.Fatal(err)
	}
	out := []*tensor.Tensor{nil}
	out[0], _ = tensor.New(tensor.Float32, plan.Outputs[0].Shape)
	return plan.Kernel, in, out
}

func BenchmarkNNConv1T(b *testing.B) {
	ints := func(v ...int64) ops.Attr { return ops.Attr{Type: ops.AttrInts, Ints: v} }
	for _, c := range []struct {
		x, w   tensor.Shape
		s, p   int64
		groups int64
	}{
		{tensor.Shape{1, 3, 224, 224}, tensor.Shape{32, 3, 3, 3}, 2, 1, 1},
		{tensor.Shape{1, 144, 56, 56}, tensor.Shape{144, 1, 5, 5}, 2, 2, 144},
		{tensor.Shape{1, 32, 112, 112}, tensor.Shape{32, 1, 3, 3}, 1, 1, 32},
		{tensor.Shape{1, 64, 56, 56}, tensor.Shape{64, 64, 3, 3}, 1, 1, 1},
		{tensor.Shape{1, 16, 112, 112}, tensor.Shape{96, 16, 1, 1}, 1, 0, 1},
	} {
		attrs := map[string]ops.Attr{"strides": ints(c.s, c.s), "pads": ints(c.p, c.p, c.p, c.p), "group": {Type: ops.AttrInt, Int: c.groups}}
		k, in, out := nnBenchNode(b, "Conv", 13, attrs, c.x, c.w, tensor.Shape{c.w[0]})
		macs := out[0].Shape().NumElements() * c.w[1:].NumElements()
		b.Run(fmt.Sprintf("%v*%v", c.x, c.w), func(b *testing.B) {
			b.SetBytes(int64(2 * macs))
			for range b.N {
				if err := k(nil, in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNNSoftmax(b *testing.B) {
	k, in, out := nnBenchNode(b, "Softmax", 13, nil, tensor.Shape{1, 4, 128, 128})
	b.SetBytes(4 * 128 * 128 * 4)
	for range b.N {
		if err := k(nil, in, out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNNConvResNet runs ResNet-18's convolutions (3x3, pad 1, the
// stem and the strided ones) on GOMAXPROCS threads: run with -cpu 1,2 to
// see how they scale. The metric is GFLOP/s of the convolution itself.
func BenchmarkNNConvResNet(b *testing.B) {
	ints := func(v ...int64) ops.Attr { return ops.Attr{Type: ops.AttrInts, Ints: v} }
	w := cpu.NewWorkers(runtime.GOMAXPROCS(0))
	defer w.Close()
	env := &ops.Env{Workers: w}
	for _, c := range []struct {
		x, w tensor.Shape
		s, p int64
	}{
		{tensor.Shape{1, 3, 224, 224}, tensor.Shape{64, 3, 7, 7}, 2, 3},
		{tensor.Shape{1, 64, 56, 56}, tensor.Shape{64, 64, 3, 3}, 1, 1},
		{tensor.Shape{1, 64, 56, 56}, tensor.Shape{128, 64, 3, 3}, 2, 1},
		{tensor.Shape{1, 128, 28, 28}, tensor.Shape{128, 128, 3, 3}, 1, 1},
		{tensor.Shape{1, 256, 14, 14}, tensor.Shape{256, 256, 3, 3}, 1, 1},
		{tensor.Shape{1, 512, 7, 7}, tensor.Shape{512, 512, 3, 3}, 1, 1},
		{tensor.Shape{1, 128, 28, 28}, tensor.Shape{256, 128, 1, 1}, 2, 0},
	} {
		attrs := map[string]ops.Attr{"strides": ints(c.s, c.s), "pads": ints(c.p, c.p, c.p, c.p)}
		k, in, out := nnBenchNode(b, "Conv", 13, attrs, c.x, c.w, tensor.Shape{c.w[0]})
		flops := 2 * float64(out[0].Shape().NumElements()*c.w[1:].NumElements())
		b.Run(fmt.Sprintf("%v*%v/s%d", c.x[1:], c.w, c.s), func(b *testing.B) {
			for range b.N {
				if err := k(env, in, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
