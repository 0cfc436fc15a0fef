package passes_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
)

// convNet adds x [1,2,5,5] → Conv (3 output channels, 3x3, pad 1,
// optional bias) and returns the Conv's output.
func convNet(t testing.TB, b *builder, bias bool) string {
	r := rand.New(rand.NewPCG(3, 4))
	x := b.input("x", 1, 2, 5, 5)
	in := []string{x, b.init("w", randF32(t, r, 3, 2, 3, 3))}
	if bias {
		in = append(in, b.init("b", randF32(t, r, 3)))
	}
	return b.op("Conv", "conv", attrs("pads", ints(1, 1, 1, 1)), in...)
}

func batchNorm(t testing.TB, b *builder, x string, a map[string]ops.Attr) string {
	return b.op("BatchNormalization", "bn", a, x,
		b.init("gamma", f32(t, []float32{0.5, 2, -1}, 3)), b.init("beta", f32(t, []float32{0.1, -0.2, 0.3}, 3)),
		b.init("mean", f32(t, []float32{1, -1, 0.5}, 3)), b.init("var", f32(t, []float32{0.25, 4, 1}, 3)))
}

func TestConvFolding(t *testing.T) {
	noteFolded := func(want string) func(t *testing.T, m *graph.Model, rep *passes.Report) {
		return func(t *testing.T, m *graph.Model, rep *passes.Report) {
			if !strings.Contains(rep.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, rep)
			}
		}
	}
	runPassCases(t, []passCase{
		{name: "BatchNormalization after Conv with bias", build: func(t testing.TB, b *builder) {
			b.output(batchNorm(t, b, convNet(t, b, true), attrs("epsilon", attrF(1e-3))))
		}, wantOps: []string{"Conv"}, check: noteFolded(`folded BatchNormalization "BatchNormalization_bn" into Conv "Conv_conv"`)},
		{name: "BatchNormalization after Conv without bias, then Relu", build: func(t testing.TB, b *builder) {
			b.output(b.op("Relu", "y", nil, batchNorm(t, b, convNet(t, b, false), nil)))
		}, wantOps: []string{"Conv", "Relu"}},
		{name: "Conv, BatchNormalization, Mul and Add by per-channel constants", build: func(t testing.TB, b *builder) {
			y := batchNorm(t, b, convNet(t, b, true), nil)
			y = b.op("Mul", "m", nil, b.init("k", f32(t, []float32{2, 3, 4}, 3, 1, 1)), y)
			y = b.op("Add", "a", nil, y, b.init("s", f32(t, []float32{1, 2, 3}, 1, 3, 1, 1)))
			b.output(b.op("Add", "y", nil, y, b.init("scalar", f32(t, []float32{0.5}, 1))))
		}, wantOps: []string{"Conv"}},
		{name: "Mul varying along a spatial axis stays", build: func(t testing.TB, b *builder) {
			b.output(b.op("Mul", "y", nil, convNet(t, b, true), b.init("k", f32(t, []float32{1, 2, 3, 4, 5}, 5))))
		}, wantOps: []string{"Conv", "Mul"}},
		{name: "Add that widens the output stays", build: func(t testing.TB, b *builder) {
			b.output(b.op("Add", "y", nil, convNet(t, b, true), b.init("k", f32(t, []float32{1, 2}, 2, 1, 1, 1))))
		}, wantOps: []string{"Conv", "Add"}},
		{name: "Conv output read twice stays", build: func(t testing.TB, b *builder) {
			c := convNet(t, b, true)
			b.output(batchNorm(t, b, c, nil), b.op("Relu", "r", nil, c))
		}, wantOps: []string{"Conv", "BatchNormalization", "Relu"}},
		{name: "weights shared with another Conv are copied", build: func(t testing.TB, b *builder) {
			c := convNet(t, b, true)
			other := b.op("Conv", "conv2", attrs("pads", ints(1, 1, 1, 1)), b.input("x2", 1, 2, 5, 5), "w", "b")
			b.output(batchNorm(t, b, c, nil), other)
		}, wantOps: []string{"Conv", "Conv"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			if m.Graph.Nodes[1].Inputs[1] != "w" && m.Graph.Nodes[0].Inputs[1] != "w" {
				t.Error("the other Conv's weights changed")
			}
		}},
		{name: "Mul by a non-constant stays", build: func(t testing.TB, b *builder) {
			b.output(b.op("Mul", "y", nil, convNet(t, b, true), b.input("k", 1, 3, 1, 1)))
		}, wantOps: []string{"Conv", "Mul"}},
	})
}

// TestConvFoldingTrainingBatchNorm: a training-mode BatchNormalization
// (it normalizes with the batch's own statistics) is left alone.
func TestConvFoldingTrainingBatchNorm(t *testing.T) {
	b := newBuilder()
	y := batchNorm(t, b, convNet(t, b, true), attrs("training_mode", attrInt(1)))
	b.output(y)
	m := b.model()
	optimize(t, m, 1)
	if got := opTypes(m.Graph); len(got) != 2 {
		t.Errorf("nodes %v", got)
	}
}
