package ops

import (
	"context"
	"fmt"

	"github.com/gocann/gocann/tensor"
)

// AttrType is an attribute's type; the numbers are ONNX's AttributeType.
type AttrType int

const (
	AttrUndefined AttrType = iota
	AttrFloat
	AttrInt
	AttrString
	AttrTensor
	AttrGraph
	AttrFloats
	AttrInts
	AttrStrings
	AttrTensors
	AttrGraphs
	AttrSparseTensor
	AttrSparseTensors
	AttrTypeProto
	AttrTypeProtos
)

var attrTypeNames = [...]string{"undefined", "float", "int", "string", "tensor", "graph", "floats", "ints", "strings", "tensors", "graphs", "sparse_tensor", "sparse_tensors", "type_proto", "type_protos"}

func (t AttrType) String() string {
	if t >= 0 && int(t) < len(attrTypeNames) {
		return attrTypeNames[t]
	}
	return fmt.Sprintf("AttrType(%d)", int(t))
}

// Attr is one attribute of a node; the field matching Type holds its value.
type Attr struct {
	Type    AttrType
	Float   float32
	Int     int64
	String  string
	Tensor  *tensor.Tensor // also the dense form of a SPARSE_TENSOR attribute
	Graph   Subgraph
	Floats  []float32
	Ints    []int64
	Strings []string
	Tensors []*tensor.Tensor
	Graphs  []Subgraph
	TypeVal *Type // TYPE_PROTO attributes
}

// Subgraph is the body of a control-flow operator (If, Loop, Scan). The
// executor that planned the node supplies it, bound to the outer scope the
// body may read.
type Subgraph interface {
	// NumInputs and NumOutputs are the body's formal parameter counts.
	NumInputs() int
	NumOutputs() int
	// OutputTypes are the types the body declares for its outputs (an
	// UnknownRank tensor of Undefined element type where it declares none),
	// for planning and for the empty results of loops that run zero times.
	OutputTypes() []Type
	// Run executes the body once on the given inputs.
	Run(ctx context.Context, inputs []Value) ([]Value, error)
}

// Attrs reads a node's attributes. Accessors take a default for optional
// attributes; the first mistake (a wrong type, a missing required
// attribute) is kept and reported by Err, so a Prepare function reads all its
// attributes and checks once:
//
//	a := n.Attrs()
//	axis := a.Int("axis", 1)
//	eps := a.Float("epsilon", 1e-5)
//	if err := a.Err(); err != nil { return nil, err }
type Attrs struct {
	m   map[string]Attr
	err error
}

// NewAttrs wraps a map of attributes.
func NewAttrs(m map[string]Attr) *Attrs { return &Attrs{m: m} }

// Err returns the first error met by an accessor.
func (a *Attrs) Err() error { return a.err }

// Has reports whether the attribute was given.
func (a *Attrs) Has(name string) bool { _, ok := a.m[name]; return ok }

// Map returns the attributes as given.
func (a *Attrs) Map() map[string]Attr { return a.m }

func (a *Attrs) get(name string, want AttrType) (Attr, bool) {
	v, ok := a.m[name]
	if !ok {
		return v, false
	}
	if v.Type != want {
		if a.err == nil {
			a.err = fmt.Errorf("attribute %q is %s, want %s: %w", name, v.Type, want, ErrInvalidNode)
		}
		return v, false
	}
	return v, true
}

// Require marks a missing attribute as an error.
func (a *Attrs) Require(names ...string) {
	for _, n := range names {
		if _, ok := a.m[n]; !ok && a.err == nil {
			a.err = fmt.Errorf("required attribute %q missing: %w", n, ErrInvalidNode)
		}
	}
}

func (a *Attrs) Int(name string, def int64) int64 {
	if v, ok := a.get(name, AttrInt); ok {
		return v.Int
	}
	return def
}

func (a *Attrs) Float(name string, def float32) float32 {
	if v, ok := a.get(name, AttrFloat); ok {
		return v.Float
	}
	return def
}

func (a *Attrs) String(name string, def string) string {
	if v, ok := a.get(name, AttrString); ok {
		return v.String
	}
	return def
}

// Ints returns the list, or def when absent.
func (a *Attrs) Ints(name string, def []int64) []int64 {
	if v, ok := a.get(name, AttrInts); ok {
		return v.Ints
	}
	return def
}

func (a *Attrs) Floats(name string, def []float32) []float32 {
	if v, ok := a.get(name, AttrFloats); ok {
		return v.Floats
	}
	return def
}

func (a *Attrs) Strings(name string, def []string) []string {
	if v, ok := a.get(name, AttrStrings); ok {
		return v.Strings
	}
	return def
}

// Tensor returns the tensor attribute, or nil when absent.
func (a *Attrs) Tensor(name string) *tensor.Tensor {
	if v, ok := a.get(name, AttrTensor); ok {
		return v.Tensor
	}
	return nil
}

// Graph returns the graph attribute, or nil when absent.
func (a *Attrs) Graph(name string) Subgraph {
	if v, ok := a.get(name, AttrGraph); ok {
		return v.Graph
	}
	return nil
}

// Fail records err (wrapped with ErrInvalidNode) unless an error is already kept;
// Prepare functions use it for their own attribute checks.
func (a *Attrs) Fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format+": %w", append(args, ErrInvalidNode)...)
	}
}
