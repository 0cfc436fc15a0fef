package passes_test

import (
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

func TestIdentityElimination(t *testing.T) {
	runPassCases(t, []passCase{
		{name: "Identity between nodes", build: func(t testing.TB, b *builder) {
			i := b.op("Identity", "i", nil, b.op("Relu", "r", nil, b.input("x", 4)))
			b.output(b.op("Neg", "y", nil, i))
		}, wantOps: []string{"Relu", "Neg"}},
		{name: "Identity to a graph output keeps the output's name", build: func(t testing.TB, b *builder) {
			b.output(b.op("Identity", "y", nil, b.op("Relu", "r", nil, b.input("x", 4))))
		}, wantOps: []string{"Relu"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			if m.Graph.Nodes[0].Outputs[0] != "y" || m.Graph.Outputs[0].Name != "y" {
				t.Errorf("Relu writes %v, graph returns %q", m.Graph.Nodes[0].Outputs, m.Graph.Outputs[0].Name)
			}
		}},
		{name: "Identity from a graph input to an output stays", build: func(t testing.TB, b *builder) {
			b.output(b.op("Identity", "y", nil, b.input("x", 4)))
		}, wantOps: []string{"Identity"}},
		{name: "Identity from one output to another stays", build: func(t testing.TB, b *builder) {
			r := b.op("Relu", "r", nil, b.input("x", 4))
			b.output(r, b.op("Identity", "y", nil, r))
		}, wantOps: []string{"Relu", "Identity"}},
		{name: "inference Dropout", build: func(t testing.TB, b *builder) {
			d := &graph.Node{OpType: "Dropout", Inputs: []string{b.input("x", 4), b.init("ratio", tensor.Scalar(float32(0.5)))}, Outputs: []string{"d", "mask"}}
			b.g.Nodes = append(b.g.Nodes, d)
			b.output(b.op("Abs", "y", nil, "d"))
		}, wantOps: []string{"Abs"}},
		{name: "Dropout with training_mode false", build: func(t testing.TB, b *builder) {
			d := b.op("Dropout", "d", nil, b.input("x", 4), "", b.init("train", tensor.Scalar(false)))
			b.output(b.op("Abs", "y", nil, d))
		}, wantOps: []string{"Abs"}},
		{name: "Dropout whose mask is read stays", build: func(t testing.TB, b *builder) {
			d := &graph.Node{OpType: "Dropout", Inputs: []string{b.input("x", 4)}, Outputs: []string{"d", "mask"}}
			b.g.Nodes = append(b.g.Nodes, d)
			b.output(b.op("Abs", "y", nil, "d"), b.op("Not", "m", nil, "mask"))
		}, wantOps: []string{"Dropout", "Abs", "Not"}},
		{name: "Dropout with a run-time training_mode stays", build: func(t testing.TB, b *builder) {
			b.typedInput("train", tensor.Bool)
			b.g.Inputs[0].Type.Shape = tensor.Shape{}
			d := b.op("Dropout", "d", attrs("seed", attrInt(3)), b.input("x", 4), "", "train")
			b.output(b.op("Abs", "y", nil, d))
		}, wantOps: []string{"Dropout", "Abs"}},
		{name: "Identity inside a subgraph, output kept", build: func(t testing.TB, b *builder) {
			x := b.input("x", 4)
			c := b.typedInput("c", tensor.Bool)
			branch := func(name, op string) *graph.Graph {
				return &graph.Graph{Name: name, Outputs: []*graph.ValueInfo{{Name: name + "_out", Type: ops.TensorType(tensor.Float32, tensor.Shape{4})}},
					Nodes: []*graph.Node{
						{OpType: op, Inputs: []string{x}, Outputs: []string{name + "_h"}},
						{OpType: "Identity", Inputs: []string{name + "_h"}, Outputs: []string{name + "_out"}},
					}}
			}
			b.g.Nodes = append(b.g.Nodes, &graph.Node{OpType: "If", Inputs: []string{c}, Outputs: []string{"y"},
				Graphs: map[string]*graph.Graph{"then_branch": branch("then", "Relu"), "else_branch": branch("else", "Neg")}})
			b.output("y")
		}, wantOps: []string{"If"}, check: func(t *testing.T, m *graph.Model, _ *passes.Report) {
			for _, sub := range m.Graph.Nodes[0].Graphs {
				if len(sub.Nodes) != 1 || sub.Nodes[0].Outputs[0] != sub.Outputs[0].Name {
					t.Errorf("branch %s: %d nodes, writes %v, returns %q", sub.Name, len(sub.Nodes), sub.Nodes[0].Outputs, sub.Outputs[0].Name)
				}
			}
		}},
	})
}
