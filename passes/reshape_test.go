package passes_test

import (
	"slices"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/passes"
)

func TestTransposeElimination(t *testing.T) {
	runPassCases(t, []passCase{
		{name: "inverse transposes vanish", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3, 4)
			t1 := b.op("Transpose", "t1", attrs("perm", ints(1, 2, 0)), x)
			t2 := b.op("Transpose", "t2", attrs("perm", ints(2, 0, 1)), t1)
			b.output(b.op("Relu", "y", nil, t2))
		}, wantOps: []string{"Relu"}},
		{name: "transposes compose", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3, 4)
			t1 := b.op("Transpose", "t1", attrs("perm", ints(1, 0, 2)), x)
			b.output(b.op("Transpose", "y", attrs("perm", ints(0, 2, 1)), t1))
		}, wantOps: []string{"Transpose"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			n := m.Graph.Nodes[0]
			if n.Inputs[0] != "x" || !slices.Equal(n.Attrs["perm"].Ints, []int64{1, 2, 0}) {
				t.Errorf("Transpose reads %v with perm %v", n.Inputs, n.Attrs["perm"].Ints)
			}
		}},
		{name: "default perms reverse and compose to identity", build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 3, 4)
			t1 := b.op("Transpose", "t1", nil, x)
			b.output(b.op("Abs", "y", nil, b.op("Transpose", "t2", nil, t1)))
		}, wantOps: []string{"Abs"}},
		{name: "an identity permutation goes", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3)
			b.output(b.op("Abs", "y", nil, b.op("Transpose", "t", attrs("perm", ints(0, 1)), x)))
		}, wantOps: []string{"Abs"}},
		{name: "an inner transpose read elsewhere stays for that reader", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3)
			t1 := b.op("Transpose", "t1", nil, x)
			b.output(b.op("Abs", "y", nil, b.op("Transpose", "t2", nil, t1)), b.op("Neg", "z", nil, t1))
		}, wantOps: []string{"Transpose", "Abs", "Neg"}},
		{name: "moving unit dimensions is a reshape", build: func(t testing.TB, b *builder) {
			x := b.input("x", 1, 5, 1, 3)
			b.output(b.op("Abs", "y", nil, b.op("Transpose", "t", attrs("perm", ints(1, 2, 0, 3)), x)))
		}, wantOps: []string{"Reshape", "Abs"}},
		{name: "moving a unit dimension past others that swap stays", build: func(t testing.TB, b *builder) {
			x := b.input("x", 1, 5, 3)
			b.output(b.op("Abs", "y", nil, b.op("Transpose", "t", attrs("perm", ints(2, 0, 1)), x)))
		}, wantOps: []string{"Transpose", "Abs"}},
		{name: "a unit move of a dynamic shape stays", build: func(t testing.TB, b *builder) {
			x := b.input("x", 1, -1, 3)
			b.output(b.op("Abs", "y", nil, b.op("Transpose", "t", attrs("perm", ints(1, 0, 2)), x)))
		}, wantOps: []string{"Transpose", "Abs"}},
	})
}

func TestReshapeElimination(t *testing.T) {
	shape := func(t testing.TB, b *builder, name string, dims ...int64) string {
		return b.init(name, i64(t, dims, len(dims)))
	}
	runPassCases(t, []passCase{
		{name: "a chain collapses into one Reshape", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3, 4)
			r := b.op("Reshape", "r", nil, x, shape(t, b, "s1", 6, 4))
			u := b.op("Unsqueeze", "u", nil, r, shape(t, b, "ax", 0))
			f := b.op("Flatten", "f", attrs("axis", attrInt(1)), u)
			b.output(b.op("Relu", "y", nil, b.op("Squeeze", "q", nil, f, shape(t, b, "ax0", 0))))
		}, wantOps: []string{"Reshape", "Relu"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			if m.Graph.Nodes[0].Inputs[0] != "x" {
				t.Errorf("Reshape reads %v", m.Graph.Nodes[0].Inputs)
			}
		}},
		{name: "a reshape to the same shape goes", build: func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3)
			r := b.op("Reshape", "r", nil, b.op("Abs", "a", nil, x), shape(t, b, "s", 2, -1))
			b.output(b.op("Neg", "y", nil, r))
		}, wantOps: []string{"Abs", "Neg"}},
		{name: "symbolic dims: a constant target without 0 skips the inner reshape", build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 4)
			r := b.op("Reshape", "r", nil, x, shape(t, b, "s1", -1, 2, 2))
			b.output(b.op("Reshape", "y", nil, r, shape(t, b, "s2", -1, 4)))
		}, wantOps: []string{"Reshape"}},
		{name: "symbolic dims: a target with 0 copies the inner dims and stays", build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 4)
			r := b.op("Reshape", "r", nil, x, shape(t, b, "s1", -1, 2, 2))
			b.output(b.op("Reshape", "y", nil, r, shape(t, b, "s2", 0, -1)))
		}, wantOps: []string{"Reshape", "Reshape"}},
		{name: "symbolic dims: Unsqueeze of Squeeze stays", build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 1, 4)
			q := b.op("Squeeze", "q", nil, x, shape(t, b, "ax", 1))
			b.output(b.op("Unsqueeze", "y", nil, q, "ax"))
		}, wantOps: []string{"Squeeze", "Unsqueeze"}},
		{name: "fixed shapes let the symbolic chain collapse", shapes: map[string][]int64{"x": {3, 1, 4}}, build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 1, 4)
			q := b.op("Squeeze", "q", nil, x, shape(t, b, "ax", 1))
			b.output(b.op("Abs", "y", nil, b.op("Unsqueeze", "u", nil, q, "ax")))
		}, wantOps: []string{"Abs"}},
	})
}
