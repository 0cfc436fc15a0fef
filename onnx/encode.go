package onnx

import (
	"fmt"
	"os"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// ExternalRef locates the element bytes of a tensor stored outside the
// protobuf, as ONNX's external data does: Length bytes at Offset in
// Location (a path relative to the model's directory, or whatever a
// custom container makes of it).
type ExternalRef struct {
	Location       string
	Offset, Length int64
}

// ExternalWriter decides where a tensor of the model being encoded is
// stored. It returns ok false to keep the tensor inside the protobuf;
// otherwise it has stored (or will store) t's element bytes, little-endian,
// at ref. name is the initializer's name, or "" for a tensor attribute.
// String tensors are never offered: ONNX keeps them inside.
type ExternalWriter func(name string, t *tensor.Tensor) (ref ExternalRef, ok bool, err error)

// EncodeOption adjusts EncodeModel.
type EncodeOption func(*encoder)

// WithExternalWriter stores tensors outside the protobuf where w says so
// (initializers and tensor attributes of every graph, subgraphs included).
func WithExternalWriter(w ExternalWriter) EncodeOption {
	return func(e *encoder) { e.external = w }
}

// encoder carries EncodeModel's options through the recursive conversion.
type encoder struct {
	external ExternalWriter
}

// EncodeModel serializes a model as an ONNX ModelProto, weights inline
// unless WithExternalWriter places them elsewhere. Tools that build models
// in Go (the sample trainer, tests) and the compiled model format use it.
func EncodeModel(m *graph.Model, opts ...EncodeOption) ([]byte, error) {
	e := &encoder{}
	for _, opt := range opts {
		if opt != nil {
			opt(e)
		}
	}
	mp, err := e.model(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode model: %w", err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode model: %w", err)
	}
	return b, nil
}

// WriteModelFile writes EncodeModel's bytes to path.
func WriteModelFile(path string, m *graph.Model, opts ...EncodeOption) error {
	b, err := EncodeModel(m, opts...)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// modelToProto converts m with weights inline.
func modelToProto(m *graph.Model) (*onnxpb.ModelProto, error) { return (&encoder{}).model(m) }

// tensor converts t, storing it externally when the writer says so.
func (e *encoder) tensor(name string, t *tensor.Tensor) (*onnxpb.TensorProto, error) {
	if e.external == nil || t == nil || t.DType() == tensor.String {
		return tensorToProto(name, t)
	}
	ref, ok, err := e.external(name, t)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if !ok {
		return tensorToProto(name, t)
	}
	if ref.Length != t.NumBytes() || ref.Offset < 0 {
		return nil, fmt.Errorf("tensor %q: external writer placed %d bytes at offset %d, want %d: %w", name, ref.Length, ref.Offset, t.NumBytes(), runtime.ErrInvalidArgument)
	}
	p := &onnxpb.TensorProto{
		DataType:     proto.Int32(int32(t.DType())),
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
		ExternalData: []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(ref.Location)},
			{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(ref.Offset, 10))},
			{Key: proto.String("length"), Value: proto.String(strconv.FormatInt(ref.Length, 10))},
		},
	}
	if name != "" {
		p.Name = proto.String(name)
	}
	shape := t.Shape()
	p.Dims = make([]int64, len(shape))
	for i, d := range shape {
		p.Dims[i] = int64(d)
	}
	return p, nil
}

func (e *encoder) model(m *graph.Model) (*onnxpb.ModelProto, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("no graph: %w", runtime.ErrInvalidArgument)
	}
	ir := m.IRVersion
	if ir == 0 {
		ir = 8 // ONNX 1.10+, which opsets up to 15 and sequences/optionals need
	}
	mp := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(ir),
		ProducerName:    proto.String(m.ProducerName),
		ProducerVersion: proto.String(m.ProducerVersion),
	}
	domains := make([]string, 0, len(m.Opsets))
	for d := range m.Opsets {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	for _, d := range domains {
		mp.OpsetImport = append(mp.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(d), Version: proto.Int64(int64(m.Opsets[d]))})
	}
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(m.Metadata[k])})
	}
	g, err := e.graph(m.Graph)
	if err != nil {
		return nil, err
	}
	mp.Graph = g
	return mp, nil
}

func (e *encoder) graph(g *graph.Graph) (*onnxpb.GraphProto, error) {
	gp := &onnxpb.GraphProto{Name: proto.String(g.Name)}
	names := make([]string, 0, len(g.Initializers))
	for name := range g.Initializers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tp, err := e.tensor(name, g.Initializers[name])
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		gp.Initializer = append(gp.Initializer, tp)
	}
	for _, vi := range g.Inputs {
		gp.Input = append(gp.Input, valueInfoToProto(vi))
	}
	for _, vi := range g.Outputs {
		gp.Output = append(gp.Output, valueInfoToProto(vi))
	}
	vnames := make([]string, 0, len(g.ValueInfo))
	for name := range g.ValueInfo {
		vnames = append(vnames, name)
	}
	sort.Strings(vnames)
	for _, name := range vnames {
		gp.ValueInfo = append(gp.ValueInfo, valueInfoToProto(g.ValueInfo[name]))
	}
	for _, n := range g.Nodes {
		np, err := e.node(n)
		if err != nil {
			return nil, fmt.Errorf("node %v: %w", n, err)
		}
		gp.Node = append(gp.Node, np)
	}
	return gp, nil
}

func valueInfoToProto(vi *graph.ValueInfo) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(vi.Name), Type: typeToProto(vi.Type, vi.DimParams)}
}

func typeToProto(t ops.Type, params []string) *onnxpb.TypeProto {
	switch t.Kind {
	case ops.KindSequence, ops.KindOptional:
		var elem *onnxpb.TypeProto
		if t.Elem != nil {
			elem = typeToProto(*t.Elem, nil)
		}
		if t.Kind == ops.KindSequence {
			return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{ElemType: elem}}}
		}
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_OptionalType{OptionalType: &onnxpb.TypeProto_Optional{ElemType: elem}}}
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(t.DType))}
	if !t.UnknownRank {
		sh := &onnxpb.TensorShapeProto{}
		for i, d := range t.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d >= 0:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			case i < len(params) && params[i] != "":
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: params[i]}
			}
			sh.Dim = append(sh.Dim, dim)
		}
		tt.Shape = sh
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
}

func (e *encoder) node(n *graph.Node) (*onnxpb.NodeProto, error) {
	np := &onnxpb.NodeProto{
		Name:   proto.String(n.Name),
		OpType: proto.String(n.OpType),
		Input:  append([]string(nil), n.Inputs...),
		Output: append([]string(nil), n.Outputs...),
	}
	if n.Domain != "" {
		np.Domain = proto.String(n.Domain)
	}
	names := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ap, err := e.attr(k, n.Attrs[k])
		if err != nil {
			return nil, err
		}
		np.Attribute = append(np.Attribute, ap)
	}
	gnames := make([]string, 0, len(n.Graphs))
	for k := range n.Graphs {
		gnames = append(gnames, k)
	}
	sort.Strings(gnames)
	for _, k := range gnames {
		gp, err := e.graph(n.Graphs[k])
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		np.Attribute = append(np.Attribute, &onnxpb.AttributeProto{Name: proto.String(k), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: gp})
	}
	lnames := make([]string, 0, len(n.GraphLists))
	for k := range n.GraphLists {
		lnames = append(lnames, k)
	}
	sort.Strings(lnames)
	for _, k := range lnames {
		ap := &onnxpb.AttributeProto{Name: proto.String(k), Type: onnxpb.AttributeProto_GRAPHS.Enum()}
		for _, g := range n.GraphLists[k] {
			gp, err := e.graph(g)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", k, err)
			}
			ap.Graphs = append(ap.Graphs, gp)
		}
		np.Attribute = append(np.Attribute, ap)
	}
	return np, nil
}

func (e *encoder) attr(name string, a ops.Attr) (*onnxpb.AttributeProto, error) {
	ap := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_AttributeType(a.Type).Enum()}
	switch a.Type {
	case ops.AttrFloat:
		ap.F = proto.Float32(a.Float)
	case ops.AttrInt:
		ap.I = proto.Int64(a.Int)
	case ops.AttrString:
		ap.S = []byte(a.String)
	case ops.AttrTensor:
		tp, err := e.tensor("", a.Tensor)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		ap.T = tp
	case ops.AttrFloats:
		ap.Floats = append([]float32(nil), a.Floats...)
	case ops.AttrInts:
		ap.Ints = append([]int64(nil), a.Ints...)
	case ops.AttrStrings:
		for _, s := range a.Strings {
			ap.Strings = append(ap.Strings, []byte(s))
		}
	case ops.AttrTensors:
		for _, t := range a.Tensors {
			tp, err := e.tensor("", t)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", name, err)
			}
			ap.Tensors = append(ap.Tensors, tp)
		}
	case ops.AttrTypeProto:
		if a.TypeVal == nil {
			return nil, fmt.Errorf("attribute %q: no type: %w", name, runtime.ErrInvalidArgument)
		}
		ap.Tp = typeToProto(*a.TypeVal, nil)
	default:
		return nil, fmt.Errorf("attribute %q of type %s cannot be encoded: %w", name, a.Type, runtime.ErrUnsupported)
	}
	return ap, nil
}
