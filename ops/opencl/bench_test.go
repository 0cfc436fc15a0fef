package opencl_test

import (
	"context"
	"testing"

	"github.com/gocann/gocann/tensor"
)

// benchNode times one node on the device: prepared once, inputs on the
// device, each iteration enqueues the kernel and synchronizes.
func benchNode(b *testing.B, c kcase) {
	e := setup(b)
	ctx := context.Background()
	dp, plan, err := e.reg.PrepareDevice(e.dev, c.node())
	if err != nil {
		b.Fatal(err)
	}
	in := make([]*tensor.Tensor, len(c.in))
	for i, x := range c.in {
		if in[i], err = x.CopyTo(ctx, e.s, e.pool); err != nil {
			b.Fatal(err)
		}
	}
	run := func() {
		out, err := dp.Run(ctx, e.s, e.pool, plan, in)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.s.Synchronize(ctx); err != nil {
			b.Fatal(err)
		}
		for _, o := range out {
			o.Free()
		}
	}
	run()
	for b.Loop() {
		run()
	}
}

func BenchmarkKernels(b *testing.B) {
	r := rng(b)
	for _, c := range []kcase{
		{name: "MatMul 128x256x256", op: "MatMul", opset: 13, in: []*tensor.Tensor{randF(r, -1, 1, 128, 256), randF(r, -1, 1, 256, 256)}},
		{name: "MatMul 512x512x512", op: "MatMul", opset: 13, in: []*tensor.Tensor{randF(r, -1, 1, 512, 512), randF(r, -1, 1, 512, 512)}},
		{name: "Add 128x256", op: "Add", opset: 14, in: []*tensor.Tensor{randF(r, -1, 1, 128, 256), randF(r, -1, 1, 256)}},
		{name: "Relu 64", op: "Relu", opset: 14, in: []*tensor.Tensor{randF(r, -1, 1, 64)}},
		{name: "Conv 3x3 64ch 56x56", op: "Conv", opset: 11, attrs: attrs{"pads": aIs(1, 1, 1, 1)}, in: []*tensor.Tensor{randF(r, -1, 1, 1, 64, 56, 56), randF(r, -1, 1, 64, 64, 3, 3)}},
		{name: "ReduceMean 128x256", op: "ReduceMean", opset: 13, attrs: attrs{"axes": aIs(-1)}, in: []*tensor.Tensor{randF(r, -1, 1, 128, 256)}},
		{name: "Softmax 4x128x128", op: "Softmax", opset: 13, in: []*tensor.Tensor{randF(r, -1, 1, 4, 128, 128)}},
	} {
		b.Run(c.name, func(b *testing.B) { benchNode(b, c) })
	}
}
