package onnx

import (
	"fmt"
	"os"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
)

// EncodeModel serializes a model as an ONNX ModelProto, weights inline.
// Tools that build models in Go (the sample trainer, tests) use it.
func EncodeModel(m *graph.Model) ([]byte, error) {
	mp, err := modelToProto(m)
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
func WriteModelFile(path string, m *graph.Model) error {
	b, err := EncodeModel(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func modelToProto(m *graph.Model) (*onnxpb.ModelProto, error) {
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
	g, err := graphToProto(m.Graph)
	if err != nil {
		return nil, err
	}
	mp.Graph = g
	return mp, nil
}

func graphToProto(g *graph.Graph) (*onnxpb.GraphProto, error) {
	gp := &onnxpb.GraphProto{Name: proto.String(g.Name)}
	names := make([]string, 0, len(g.Initializers))
	for name := range g.Initializers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tp, err := tensorToProto(name, g.Initializers[name])
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
		np, err := nodeToProto(n)
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

func nodeToProto(n *graph.Node) (*onnxpb.NodeProto, error) {
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
		ap, err := attrToProto(k, n.Attrs[k])
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
		gp, err := graphToProto(n.Graphs[k])
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
			gp, err := graphToProto(g)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", k, err)
			}
			ap.Graphs = append(ap.Graphs, gp)
		}
		np.Attribute = append(np.Attribute, ap)
	}
	return np, nil
}

func attrToProto(name string, a ops.Attr) (*onnxpb.AttributeProto, error) {
	ap := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_AttributeType(a.Type).Enum()}
	switch a.Type {
	case ops.AttrFloat:
		ap.F = proto.Float32(a.Float)
	case ops.AttrInt:
		ap.I = proto.Int64(a.Int)
	case ops.AttrString:
		ap.S = []byte(a.String)
	case ops.AttrTensor:
		tp, err := tensorToProto("", a.Tensor)
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
			tp, err := tensorToProto("", t)
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
