package passes_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

func TestDeadCodeElimination(t *testing.T) {
	cases := []struct {
		name      string
		build     func(b *builder)
		wantOps   []string
		wantInits int
	}{
		{"dead chain goes", func(b *builder) {
			x := b.input("x", 2, 3)
			y := b.op("Relu", "y", nil, x)
			d := b.op("Neg", "d", nil, x)
			b.op("Abs", "d2", nil, d)
			b.init("unused", f32(t, []float32{1}, 1))
			b.output(y)
		}, []string{"Relu"}, 0},
		{"outputs and their producers stay", func(b *builder) {
			x := b.input("x", 2)
			b.output(b.op("Relu", "y", nil, x), b.op("Neg", "z", nil, x))
		}, []string{"Relu", "Neg"}, 0},
		{"initializer read by a node stays", func(b *builder) {
			x := b.input("x", 2)
			w := b.init("w", f32(t, []float32{1, 2}, 2))
			b.output(b.op("Add", "y", nil, x, w))
		}, []string{"Add"}, 1},
		{"a value read only by a subgraph stays", func(b *builder) {
			x := b.input("x", 2)
			c := b.typedInput("c", 9)
			v := b.op("Neg", "v", nil, x)
			body := &graph.Graph{Name: "then", Outputs: []*graph.ValueInfo{{Name: "t"}},
				Nodes: []*graph.Node{{OpType: "Relu", Inputs: []string{v}, Outputs: []string{"t"}}}}
			other := &graph.Graph{Name: "else", Outputs: []*graph.ValueInfo{{Name: "e"}},
				Nodes: []*graph.Node{{OpType: "Abs", Inputs: []string{x}, Outputs: []string{"e"}}}}
			b.g.Nodes = append(b.g.Nodes, &graph.Node{OpType: "If", Inputs: []string{c}, Outputs: []string{"y"},
				Graphs: map[string]*graph.Graph{"then_branch": body, "else_branch": other}})
			b.output("y")
		}, []string{"Neg", "If"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder()
			tc.build(b)
			m := b.model()
			if _, err := passes.Optimize(m, passes.Options{Level: 1, Passes: nil}); err != nil {
				t.Fatal(err)
			}
			if got := opTypes(m.Graph); !slices.Equal(got, tc.wantOps) {
				t.Errorf("nodes %v, want %v", got, tc.wantOps)
			}
			if len(m.Graph.Initializers) != tc.wantInits {
				t.Errorf("%d initializers, want %d", len(m.Graph.Initializers), tc.wantInits)
			}
		})
	}
}

// TestReplaceValue checks the helper that every bypassing pass relies on:
// graph outputs keep their names.
func TestReplaceValue(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 4)
	r := b.op("Relu", "r", nil, x)
	y := b.op("Identity", "y", nil, r)
	b.output(y)
	m := b.model()
	want := runModel(t, b.model(), feedX(t))
	bypass := passes.Pass{Name: "bypass", Level: 1, Run: func(c *passes.Context) (bool, error) {
		for _, n := range c.Nodes() {
			if n.OpType == "Identity" {
				if !c.ReplaceValue(n.Outputs[0], n.Inputs[0]) {
					t.Fatal("ReplaceValue refused a produced value")
				}
				c.RemoveNode(n)
				return true, nil
			}
		}
		return false, nil
	}}
	if _, err := passes.Optimize(m, passes.Options{Level: 1, Passes: []passes.Pass{bypass}}); err != nil {
		t.Fatal(err)
	}
	if got := opTypes(m.Graph); !slices.Equal(got, []string{"Relu"}) {
		t.Fatalf("nodes %v", got)
	}
	if m.Graph.Outputs[0].Name != "y" || m.Graph.Nodes[0].Outputs[0] != "y" {
		t.Fatalf("output renamed: %v, node writes %v", m.Graph.Outputs[0].Name, m.Graph.Nodes[0].Outputs)
	}
	checkSame(t, runModel(t, m, feedX(t)), want)

	// An Identity from a graph input to an output cannot go.
	b = newBuilder()
	b.output(b.op("Identity", "y", nil, b.input("x", 4)))
	m = b.model()
	refused := passes.Pass{Name: "bypass", Level: 1, Run: func(c *passes.Context) (bool, error) {
		n := c.Nodes()[0]
		if c.ReplaceValue(n.Outputs[0], n.Inputs[0]) {
			t.Error("ReplaceValue renamed a graph input")
		}
		return false, nil
	}}
	if _, err := passes.Optimize(m, passes.Options{Level: 1, Passes: []passes.Pass{refused}}); err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.Nodes) != 1 {
		t.Fatal("Identity removed")
	}
}

func feedX(t *testing.T) map[string]*tensor.Tensor {
	return map[string]*tensor.Tensor{"x": randF32(t, rand.New(rand.NewPCG(1, 2)), 4)}
}
