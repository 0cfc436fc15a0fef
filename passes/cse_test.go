package passes_test

import (
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/passes"
)

func TestCommonSubexpressionElimination(t *testing.T) {
	runPassCases(t, []passCase{
		{name: "same op on the same input", build: func(t testing.TB, b *builder) {
			x := b.input("x", 4)
			b.output(b.op("Add", "y", nil, b.op("Relu", "r1", nil, x), b.op("Relu", "r2", nil, x)))
		}, wantOps: []string{"Relu", "Add"}},
		{name: "chains merge in one sweep", build: func(t testing.TB, b *builder) {
			x := b.input("x", 4)
			a := b.op("Sigmoid", "a2", nil, b.op("Relu", "a1", nil, x))
			c := b.op("Sigmoid", "c2", nil, b.op("Relu", "c1", nil, x))
			b.output(b.op("Mul", "y", nil, a, c))
		}, wantOps: []string{"Relu", "Sigmoid", "Mul"}},
		{name: "different attributes do not merge", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3)
			s1 := b.op("Softmax", "s1", attrs("axis", attrInt(0)), x)
			s2 := b.op("Softmax", "s2", attrs("axis", attrInt(1)), x)
			b.output(b.op("Add", "y", nil, s1, s2))
		}, wantOps: []string{"Softmax", "Softmax", "Add"}},
		{name: "equal constants under different names", build: func(t testing.TB, b *builder) {
			x := b.input("x", 3)
			a := b.op("Add", "a", nil, x, b.init("k1", f32(t, []float32{1, 2, 3}, 3)))
			c := b.op("Add", "c", nil, x, b.init("k2", f32(t, []float32{1, 2, 3}, 3)))
			b.output(b.op("Mul", "y", nil, a, c))
		}, wantOps: []string{"Add", "Mul"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			if len(m.Graph.Initializers) != 1 {
				t.Errorf("%d initializers left", len(m.Graph.Initializers))
			}
		}},
		{name: "two graph outputs stay two values", build: func(t testing.TB, b *builder) {
			x := b.input("x", 4)
			b.output(b.op("Relu", "y1", nil, x), b.op("Relu", "y2", nil, x))
		}, wantOps: []string{"Relu", "Relu"}},
		{name: "a duplicate that is a graph output takes over the name", build: func(t testing.TB, b *builder) {
			x := b.input("x", 4)
			r := b.op("Relu", "r", nil, x)
			b.output(b.op("Neg", "n", nil, r), b.op("Relu", "y", nil, x))
		}, wantOps: []string{"Relu", "Neg"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			if m.Graph.Nodes[0].Outputs[0] != "y" || m.Graph.Nodes[1].Inputs[0] != "y" {
				t.Errorf("nodes %v %v", m.Graph.Nodes[0].Outputs, m.Graph.Nodes[1].Inputs)
			}
		}},
		{name: "random operators never merge", build: func(t testing.TB, b *builder) {
			x := b.input("x", 4)
			r1 := b.op("RandomUniformLike", "r1", nil, x)
			r2 := b.op("RandomUniformLike", "r2", nil, x)
			// Both terms are 0 whatever the draws, so the outputs compare.
			z1 := b.op("Mul", "z1", nil, x, b.op("Sub", "d1", nil, r1, r1))
			z2 := b.op("Mul", "z2", nil, x, b.op("Sub", "d2", nil, r2, r2))
			b.output(b.op("Add", "y", nil, z1, z2))
		}, wantOps: []string{"RandomUniformLike", "RandomUniformLike", "Sub", "Mul", "Sub", "Mul", "Add"}},
	})
}
