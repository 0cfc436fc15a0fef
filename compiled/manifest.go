package compiled

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
)

// Manifest describes a compiled model: what it was built from, by which
// tool, for which target, and what it holds. It is stored as JSON and is
// what `cann inspect` prints.
type Manifest struct {
	FormatVersion int       `json:"format_version"`
	Tool          Tool      `json:"tool"`
	Created       time.Time `json:"created"`
	Source        Source    `json:"source"`
	// Opsets maps each operator domain ("" for ONNX's default) to the
	// version the graph imports.
	Opsets map[string]int `json:"opsets"`
	// OptLevel is the optimization level the passes ran at (0: none).
	OptLevel int `json:"opt_level"`
	// Shapes fixes input dimensions the graph was specialized for.
	Shapes  map[string][]int64 `json:"shapes,omitempty"`
	Target  Target             `json:"target"`
	Inputs  []Value            `json:"inputs"`
	Outputs []Value            `json:"outputs"`
	// Nodes counts every node, those of subgraphs included; OpCounts
	// splits them by operator ("Conv", "com.gocann.FusedConv").
	Nodes    int            `json:"nodes"`
	OpCounts map[string]int `json:"op_counts"`
	Weights  Weights        `json:"weights"`
}

// Tool is the GoCANN build that wrote the file.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Go      string `json:"go,omitempty"`
	Commit  string `json:"commit,omitempty"`
}

// Source is the model file the compiled model was made from.
type Source struct {
	File     string `json:"file,omitempty"` // base name
	SHA256   string `json:"sha256,omitempty"`
	Bytes    int64  `json:"bytes,omitempty"`
	Producer string `json:"producer,omitempty"` // e.g. "pytorch 2.5"
}

// Target is what the model was compiled for. A machine that is not of
// Arch or lacks one of CPUFeatures refuses the file.
type Target struct {
	Device      string   `json:"device"`
	Arch        string   `json:"arch"`
	CPUFeatures []string `json:"cpu_features"`
}

// Value is a graph input or output.
type Value struct {
	Name string `json:"name"`
	// Type is the ONNX type as GoCANN prints it: "float32[? 3 224 224]".
	Type string `json:"type"`
	// DimParams names symbolic dimensions, parallel to the shape.
	DimParams []string `json:"dim_params,omitempty"`
}

// Weights summarizes the weights section.
type Weights struct {
	Tensors int   `json:"tensors"` // in the section
	Bytes   int64 `json:"bytes"`   // of tensor data, padding excluded
	// Inline counts the small and string tensors kept inside the graph.
	Inline      int   `json:"inline"`
	InlineBytes int64 `json:"inline_bytes"`
}

func (m *Manifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("compiled: manifest: %w", err)
	}
	return append(b, '\n'), nil
}

func decodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %v: %w", err, ErrCorrupt)
	}
	if m.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("manifest says format version %d, header %d: %w", m.FormatVersion, FormatVersion, ErrCorrupt)
	}
	return &m, nil
}

// describe fills the manifest's fields that come from the graph itself.
func (m *Manifest) describe(g *graph.Model) {
	m.Opsets = map[string]int{}
	for d, v := range g.Opsets {
		m.Opsets[d] = v
	}
	m.Inputs = values(g.Graph.Inputs)
	m.Outputs = values(g.Graph.Outputs)
	m.OpCounts = map[string]int{}
	m.Nodes = 0
	countOps(g.Graph, m.OpCounts, &m.Nodes)
	if p := strings.TrimSpace(g.ProducerName + " " + g.ProducerVersion); p != "" && m.Source.Producer == "" {
		m.Source.Producer = p
	}
}

func values(vs []*graph.ValueInfo) []Value {
	out := make([]Value, len(vs))
	for i, v := range vs {
		out[i] = Value{Name: v.Name, Type: v.Type.String()}
		for _, p := range v.DimParams {
			if p != "" {
				out[i].DimParams = v.DimParams
				break
			}
		}
	}
	return out
}

// OpName is how the manifest names an operator: its type, prefixed with
// its domain outside the default ONNX one.
func OpName(domain, opType string) string {
	if d := ops.NormalizeDomain(domain); d != "" {
		return d + "." + opType
	}
	return opType
}

func countOps(g *graph.Graph, counts map[string]int, total *int) {
	for _, n := range g.Nodes {
		counts[OpName(n.Domain, n.OpType)]++
		*total++
		for _, sg := range n.Graphs {
			countOps(sg, counts, total)
		}
		for _, list := range n.GraphLists {
			for _, sg := range list {
				countOps(sg, counts, total)
			}
		}
	}
}
