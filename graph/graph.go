// Package graph is GoCANN's graph IR: a model as nodes over named values,
// with symbolic shapes, independent of the file format it came from. The
// ONNX importer builds it; the graph engine's passes rewrite it; executors
// plan it onto devices.
package graph

import (
	"fmt"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Graph is a computation: nodes in topological order over named values.
// Subgraphs (bodies of If, Loop, Scan) are Graphs too and may read values of
// the graphs that enclose them by name.
type Graph struct {
	Name string
	// Inputs are the values a caller feeds, in order. Outputs are the values
	// a run returns, in order.
	Inputs, Outputs []*ValueInfo
	// Initializers are constant values (weights). An initializer that is
	// also listed in Inputs is a default the caller may override.
	Initializers map[string]*tensor.Tensor
	// ValueInfo holds what the file declared of intermediate values.
	ValueInfo map[string]*ValueInfo
	Nodes     []*Node
}

// ValueInfo names a value and what is known of its type.
type ValueInfo struct {
	Name string
	Type ops.Type
	// DimParams names the symbolic dimensions (e.g. "batch"), parallel to
	// Type.Shape; "" where the dimension is fixed or anonymous.
	DimParams []string
}

// Node is one operator application.
type Node struct {
	Name   string
	Domain string
	OpType string
	// Inputs and Outputs are value names; "" marks an omitted optional one.
	Inputs, Outputs []string
	// Attrs holds every attribute except graph-valued ones.
	Attrs map[string]ops.Attr
	// Graphs and GraphLists hold graph-valued attributes (If's branches,
	// Loop's and Scan's bodies).
	Graphs     map[string]*Graph
	GraphLists map[string][]*Graph
}

func (n *Node) String() string {
	if n.Name != "" {
		return fmt.Sprintf("%s %q", n.OpType, n.Name)
	}
	return n.OpType
}

// Model is a graph with the operator-set versions it was written against.
type Model struct {
	Graph *Graph
	// Opsets maps each operator domain ("" for the default ONNX domain) to
	// the version the model imports.
	Opsets map[string]int
	// Producer and metadata as recorded in the file.
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	Metadata        map[string]string
}

// Opset returns the imported version of domain, or 0 if not imported.
func (m *Model) Opset(domain string) int {
	return m.Opsets[ops.NormalizeDomain(domain)]
}
