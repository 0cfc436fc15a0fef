package passes_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

func TestPackWeights(t *testing.T) {
	nr := kernels.PackedNR()
	// Each case is built twice (optimized and reference): the same
	// weights both times.
	w := func(t testing.TB, dims ...int) *tensor.Tensor {
		return randF32(t, rand.New(rand.NewPCG(uint64(dims[0]), uint64(dims[len(dims)-1]))), dims...)
	}
	packed := func(n int) func(t *testing.T, m *graph.Model, rep *passes.Report) {
		return func(t *testing.T, m *graph.Model, rep *passes.Report) {
			got := 0
			for _, nd := range m.Graph.Nodes {
				if a, ok := nd.Attrs["packed_b"]; ok {
					got++
					if a.Int != int64(nr) {
						t.Errorf("%v: packed_b %d, want %d", nd, a.Int, nr)
					}
					if s := m.Graph.Initializers[nd.Inputs[1]].Shape(); len(s) != 3 || s[2] != nr {
						t.Errorf("%v: packed B of shape %v", nd, s)
					}
				}
			}
			if got != n {
				t.Errorf("%d nodes packed, want %d\n%s", got, n, rep)
			}
		}
	}
	runPassCases(t, []passCase{
		{name: "MatMul by constant weights", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("MatMul", "y", nil, b.input("x", -1, 5, 40), b.init("w", w(t, 40, 8*nr+5))))
		}, wantOps: []string{"FusedMatMul"}, check: packed(1)},
		{name: "fused MatMul, bias and GELU keep their epilogue", level: 3, build: func(t testing.TB, b *builder) {
			y := b.op("MatMul", "mm", nil, b.input("x", 2, 4, 33), b.init("w", w(t, 33, 2*nr)))
			y = b.op("Add", "a", nil, y, b.init("bias", w(t, 2*nr)))
			b.output(b.op("Relu", "y", nil, y))
		}, wantOps: []string{"FusedMatMul"}, check: packed(1)},
		{name: "level 2 leaves the layout alone", level: 2, build: func(t testing.TB, b *builder) {
			b.output(b.op("MatMul", "y", nil, b.input("x", 4, 16), b.init("w", w(t, 16, 2*nr))))
		}, wantOps: []string{"MatMul"}, check: packed(0)},
		{name: "weights read twice stay", level: 3, build: func(t testing.TB, b *builder) {
			wt := b.init("w", w(t, 16, 2*nr))
			b.output(b.op("MatMul", "y", nil, b.input("x", 4, 16), wt), b.op("MatMul", "z", nil, b.input("u", 4, 16), wt))
		}, wantOps: []string{"MatMul", "MatMul"}, check: packed(0)},
		{name: "narrow weights stay (padding)", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("MatMul", "y", nil, b.input("x", 4, 16), b.init("w", w(t, 16, 3))))
		}, wantOps: []string{"MatMul"}, check: packed(0)},
		{name: "activations times activations stay", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("MatMul", "y", nil, b.input("x", 4, 16), b.input("v", 16, 2*nr)))
		}, wantOps: []string{"MatMul"}, check: packed(0)},
		{name: "vector times matrix stays (few rows)", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("MatMul", "y", nil, b.input("x", 24), b.init("w", w(t, 24, 8*nr+3))))
		}, wantOps: []string{"MatMul"}, check: packed(0)},
		{name: "classifier Gemm of one row stays", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("Gemm", "y", attrs("transB", attrInt(1)), b.input("x", 1, 40), b.init("w", w(t, 8*nr, 40)), b.init("c", w(t, 8*nr))))
		}, wantOps: []string{"Gemm"}, check: packed(0)},
		{name: "classifier with a dynamic batch stays", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("Gemm", "y", attrs("transB", attrInt(1)), b.input("x", -1, 40), b.init("w", w(t, 8*nr, 40)), b.init("c", w(t, 8*nr))))
		}, wantOps: []string{"Gemm"}, check: packed(0)},
		{name: "rows of a batch count", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("MatMul", "y", nil, b.input("x", 4, 2, 24), b.init("w", w(t, 24, 8*nr+3))))
		}, wantOps: []string{"FusedMatMul"}, check: packed(1)},
		{name: "Gemm with transposed weights and a bias (a linear layer)", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("Gemm", "y", attrs("transB", attrInt(1)), b.input("x", 9, 40), b.init("w", w(t, 8*nr+5, 40)), b.init("c", w(t, 8*nr+5))))
		}, wantOps: []string{"FusedMatMul"}, check: packed(1)},
		{name: "Gemm with alpha and no C", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("Gemm", "y", attrs("alpha", attrF(0.5)), b.input("x", 9, 24), b.init("w", w(t, 24, 3*nr))))
		}, wantOps: []string{"FusedMatMul"}, check: packed(1)},
		{name: "Gemm with a matrix C stays", level: 3, build: func(t testing.TB, b *builder) {
			b.output(b.op("Gemm", "y", nil, b.input("x", 4, 24), b.init("w", w(t, 24, 2*nr)), b.input("c", 4, 2*nr)))
		}, wantOps: []string{"Gemm"}, check: packed(0)},
		{name: "Gemm with beta or transA stays", level: 3, build: func(t testing.TB, b *builder) {
			y := b.op("Gemm", "y", attrs("beta", attrF(2)), b.input("x", 4, 24), b.init("w", w(t, 24, 2*nr)), b.init("c", w(t, 2*nr)))
			z := b.op("Gemm", "z", attrs("transA", attrInt(1)), b.input("u", 24, 4), b.init("v", w(t, 24, 2*nr+1)))
			b.output(y, z)
		}, wantOps: []string{"Gemm", "Gemm"}, check: packed(0)},
	})
}

// TestPackWeightsInPlace: with OwnsConstants, weights whose packed form
// has their size are packed over their own memory, unless another
// initializer views that memory; the results do not change either way.
func TestPackWeightsInPlace(t *testing.T) {
	nr := kernels.PackedNR()
	for _, alias := range []bool{false, true} {
		build := func() (*graph.Model, *tensor.Tensor, *tensor.Tensor) {
			b := newBuilder()
			w := randF32(t, rand.New(rand.NewPCG(1, 2)), 24, 2*nr)
			y := b.op("MatMul", "y", nil, b.input("x", 8, 24), b.init("w", w))
			var view *tensor.Tensor
			if alias {
				var err error
				if view, err = w.Reshape(tensor.Shape{24 * 2 * nr}); err != nil {
					t.Fatal(err)
				}
				b.output(y, b.op("Add", "z", nil, b.input("u", 24*2*nr), b.init("wflat", view)))
			} else {
				b.output(y)
			}
			return b.model(), w, view
		}
		ref, _, _ := build()
		m, w, view := build()
		var before []float32
		if view != nil {
			before, _ = tensor.ToSlice[float32](view)
		}
		if _, err := passes.Optimize(m, passes.Options{Level: 3, Ops: registry(t), OwnsConstants: true}); err != nil {
			t.Fatal(err)
		}
		var packed *tensor.Tensor
		for _, n := range m.Graph.Nodes {
			if _, ok := n.Attrs["packed_b"]; ok {
				packed = m.Graph.Initializers[n.Inputs[1]]
			}
		}
		if packed == nil {
			t.Fatalf("alias=%v: not packed", alias)
		}
		pb, _ := packed.HostBytes()
		wb, _ := w.HostBytes()
		if same := &pb[0] == &wb[0]; same == alias {
			t.Errorf("alias=%v: packed in place %v", alias, same)
		}
		if view != nil {
			after, _ := tensor.ToSlice[float32](view)
			for i := range before {
				if after[i] != before[i] {
					t.Fatalf("the view of the weights changed at %d", i)
				}
			}
		}
		feeds := randomFeeds(t, m.Graph)
		checkSame(t, runModel(t, m, feeds), runModel(t, ref, feeds))
	}
}
