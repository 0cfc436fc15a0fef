package onnx

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// MaxOpset is the newest version of the default ONNX domain GoCANN reads.
const MaxOpset = 21

// maxModelBytes is protobuf's 2 GiB message limit; larger weights must be
// stored as external data.
const maxModelBytes = math.MaxInt32

// maxGraphDepth bounds nested subgraphs (If inside Loop inside ...), so
// that a hostile file cannot exhaust the stack.
const maxGraphDepth = 64

// LoadModel reads an ONNX model file. External data is resolved in the
// file's directory and may not leave it.
func LoadModel(path string, opts ...Option) (*graph.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	all := append([]Option{WithBaseDir(filepath.Dir(path))}, opts...)
	var r io.Reader = f
	var fileBytes int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxModelBytes {
		// One buffer of the file's size: io.ReadAll would grow one by
		// doubling, leaving up to the file's size again as garbage.
		b := make([]byte, fi.Size())
		if _, err := io.ReadFull(f, b); err != nil {
			return nil, fmt.Errorf("onnx: %s: %w", path, err)
		}
		r, fileBytes = &exactReader{b: b}, fi.Size()
	}
	m, err := readModel(r, newOptions(all))
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	if fileBytes >= 4<<20 {
		// The file's bytes and the decoded message are garbage now, as big
		// as the weights: collect them so that what the model allocates
		// next reuses their memory instead of growing the process.
		goruntime.GC()
	}
	return m, nil
}

// ReadModel reads a model from r to its end. External data is read only
// when WithBaseDir is given.
func ReadModel(r io.Reader, opts ...Option) (*graph.Model, error) {
	m, err := readModel(r, newOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return m, nil
}

// DecodeModel decodes a serialized ModelProto.
func DecodeModel(b []byte, opts ...Option) (*graph.Model, error) {
	return ReadModel(bytes.NewReader(b), opts...)
}

// exactReader hands readModel a file already read whole.
type exactReader struct{ b []byte }

func (r *exactReader) Read(p []byte) (int, error) { return 0, io.EOF }

func readModel(r io.Reader, o *options) (*graph.Model, error) {
	var b []byte
	if er, ok := r.(*exactReader); ok {
		b, er.b = er.b, nil
	} else {
		var err error
		if b, err = io.ReadAll(io.LimitReader(r, maxModelBytes+1)); err != nil {
			return nil, fmt.Errorf("read model: %w", err)
		}
	}
	if len(b) > maxModelBytes {
		return nil, fmt.Errorf("model larger than 2 GiB (store weights as external data): %w", ErrInvalidModel)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		return nil, fmt.Errorf("not a valid ONNX model (protobuf: %v): %w", err, ErrInvalidModel)
	}
	return modelFromProto(&mp, o)
}

func modelFromProto(mp *onnxpb.ModelProto, o *options) (*graph.Model, error) {
	if mp.GetGraph() == nil {
		return nil, fmt.Errorf("model has no graph (empty or not an ONNX file): %w", ErrInvalidModel)
	}
	m := &graph.Model{
		Opsets:          map[string]int{},
		IRVersion:       mp.GetIrVersion(),
		ProducerName:    mp.GetProducerName(),
		ProducerVersion: mp.GetProducerVersion(),
		Metadata:        map[string]string{},
	}
	for _, kv := range mp.GetMetadataProps() {
		m.Metadata[kv.GetKey()] = kv.GetValue()
	}
	for _, imp := range mp.GetOpsetImport() {
		d := ops.NormalizeDomain(imp.GetDomain())
		v := imp.GetVersion()
		if v < 1 || v > math.MaxInt32 {
			return nil, fmt.Errorf("opset import %q version %d: %w", imp.GetDomain(), v, ErrInvalidModel)
		}
		m.Opsets[d] = int(v)
	}
	if len(mp.GetOpsetImport()) == 0 {
		// IR version 1 and 2 models predate opset_import; they mean opset 1.
		m.Opsets[""] = 1
	}
	if v := m.Opsets[""]; v > MaxOpset {
		return nil, fmt.Errorf("opset %d of the default domain is newer than the newest supported (%d): %w", v, MaxOpset, runtime.ErrUnsupported)
	}
	if len(mp.GetFunctions()) > 0 {
		if err := inlineFunctions(mp, m.Opsets); err != nil {
			return nil, err
		}
	}
	g, err := graphFromProto(mp.GetGraph(), o, 0)
	if err != nil {
		return nil, err
	}
	if err := g.Sort(nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
	}
	m.Graph = g
	return m, nil
}

func graphFromProto(gp *onnxpb.GraphProto, o *options, depth int) (*graph.Graph, error) {
	if depth > maxGraphDepth {
		return nil, fmt.Errorf("subgraphs nested deeper than %d: %w", maxGraphDepth, ErrInvalidModel)
	}
	g := &graph.Graph{
		Name:         gp.GetName(),
		Initializers: map[string]*tensor.Tensor{},
		ValueInfo:    map[string]*graph.ValueInfo{},
	}
	for _, tp := range gp.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			return nil, fmt.Errorf("graph %q: initializer without a name: %w", g.Name, ErrInvalidModel)
		}
		if _, dup := g.Initializers[name]; dup {
			return nil, fmt.Errorf("graph %q: initializer %q given twice: %w", g.Name, name, ErrInvalidModel)
		}
		t, err := tensorFromProto(tp, o)
		if err != nil {
			return nil, fmt.Errorf("graph %q: initializer %q: %w", g.Name, name, err)
		}
		g.Initializers[name] = t
	}
	for _, sp := range gp.GetSparseInitializer() {
		name := sp.GetValues().GetName()
		if name == "" {
			return nil, fmt.Errorf("graph %q: sparse initializer without a name: %w", g.Name, ErrInvalidModel)
		}
		if _, dup := g.Initializers[name]; dup {
			return nil, fmt.Errorf("graph %q: initializer %q given twice: %w", g.Name, name, ErrInvalidModel)
		}
		t, err := sparseToDense(sp, o)
		if err != nil {
			return nil, fmt.Errorf("graph %q: sparse initializer %q: %w", g.Name, name, err)
		}
		g.Initializers[name] = t
	}
	var err error
	if g.Inputs, err = valueInfos(gp.GetInput(), g.Name, "input"); err != nil {
		return nil, err
	}
	if g.Outputs, err = valueInfos(gp.GetOutput(), g.Name, "output"); err != nil {
		return nil, err
	}
	vis, err := valueInfos(gp.GetValueInfo(), g.Name, "value_info")
	if err != nil {
		return nil, err
	}
	for _, vi := range vis {
		g.ValueInfo[vi.Name] = vi
	}
	seenInput := map[string]bool{}
	for _, in := range g.Inputs {
		if seenInput[in.Name] {
			return nil, fmt.Errorf("graph %q: input %q listed twice: %w", g.Name, in.Name, ErrInvalidModel)
		}
		seenInput[in.Name] = true
	}
	for i, np := range gp.GetNode() {
		n, err := nodeFromProto(np, o, depth)
		if err != nil {
			label := np.GetName()
			if label == "" {
				label = fmt.Sprintf("#%d", i)
			}
			return nil, fmt.Errorf("graph %q: node %s (%s): %w", g.Name, label, np.GetOpType(), err)
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}

func valueInfos(list []*onnxpb.ValueInfoProto, graphName, what string) ([]*graph.ValueInfo, error) {
	out := make([]*graph.ValueInfo, 0, len(list))
	for _, vp := range list {
		if vp.GetName() == "" {
			return nil, fmt.Errorf("graph %q: %s without a name: %w", graphName, what, ErrInvalidModel)
		}
		vi := &graph.ValueInfo{Name: vp.GetName()}
		if vp.GetType() != nil {
			t, params, err := typeFromProto(vp.GetType(), 0)
			if err != nil {
				return nil, fmt.Errorf("graph %q: %s %q: %w", graphName, what, vp.GetName(), err)
			}
			vi.Type, vi.DimParams = t, params
		} else {
			vi.Type = ops.Type{Kind: ops.KindTensor, UnknownRank: true}
		}
		out = append(out, vi)
	}
	return out, nil
}

// typeFromProto converts a TypeProto; dims without a value are -1 and
// their symbolic names are returned alongside.
func typeFromProto(tp *onnxpb.TypeProto, depth int) (ops.Type, []string, error) {
	if depth > maxGraphDepth {
		return ops.Type{}, nil, fmt.Errorf("type nested too deeply: %w", ErrInvalidModel)
	}
	switch v := tp.GetValue().(type) {
	case *onnxpb.TypeProto_TensorType:
		dt := tensor.DType(v.TensorType.GetElemType())
		if dt != tensor.Undefined && !dt.Valid() {
			return ops.Type{}, nil, fmt.Errorf("element type %d: %w", dt, runtime.ErrUnsupported)
		}
		t := ops.Type{Kind: ops.KindTensor, DType: dt}
		sh := v.TensorType.GetShape()
		if sh == nil {
			t.UnknownRank = true
			return t, nil, nil
		}
		if len(sh.GetDim()) > maxRank {
			return ops.Type{}, nil, fmt.Errorf("rank %d: %w", len(sh.GetDim()), ErrInvalidModel)
		}
		t.Shape = make(tensor.Shape, len(sh.GetDim()))
		var params []string
		for i, d := range sh.GetDim() {
			t.Shape[i] = -1
			switch dv := d.GetValue().(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				if dv.DimValue < 0 || dv.DimValue > math.MaxInt32*int64(1024) {
					return ops.Type{}, nil, fmt.Errorf("dimension %d is %d: %w", i, dv.DimValue, ErrInvalidModel)
				}
				t.Shape[i] = int(dv.DimValue)
			case *onnxpb.TensorShapeProto_Dimension_DimParam:
				if params == nil {
					params = make([]string, len(sh.GetDim()))
				}
				params[i] = dv.DimParam
			}
		}
		return t, params, nil
	case *onnxpb.TypeProto_SequenceType:
		t := ops.Type{Kind: ops.KindSequence}
		if et := v.SequenceType.GetElemType(); et != nil {
			elem, _, err := typeFromProto(et, depth+1)
			if err != nil {
				return ops.Type{}, nil, err
			}
			t.Elem, t.DType = &elem, elem.DType
		}
		return t, nil, nil
	case *onnxpb.TypeProto_OptionalType:
		t := ops.Type{Kind: ops.KindOptional}
		if et := v.OptionalType.GetElemType(); et != nil {
			elem, _, err := typeFromProto(et, depth+1)
			if err != nil {
				return ops.Type{}, nil, err
			}
			t.Elem, t.DType = &elem, elem.DType
		}
		return t, nil, nil
	case *onnxpb.TypeProto_MapType:
		return ops.Type{}, nil, fmt.Errorf("map types are not supported yet: %w", runtime.ErrUnsupported)
	case *onnxpb.TypeProto_SparseTensorType:
		return ops.Type{}, nil, fmt.Errorf("sparse tensor types are not supported yet: %w", runtime.ErrUnsupported)
	case nil:
		return ops.Type{Kind: ops.KindTensor, UnknownRank: true}, nil, nil
	}
	return ops.Type{}, nil, fmt.Errorf("unknown type kind: %w", runtime.ErrUnsupported)
}

func nodeFromProto(np *onnxpb.NodeProto, o *options, depth int) (*graph.Node, error) {
	if np.GetOpType() == "" {
		return nil, fmt.Errorf("node without an op_type: %w", ErrInvalidModel)
	}
	n := &graph.Node{
		Name:    np.GetName(),
		Domain:  ops.NormalizeDomain(np.GetDomain()),
		OpType:  np.GetOpType(),
		Inputs:  append([]string(nil), np.GetInput()...),
		Outputs: append([]string(nil), np.GetOutput()...),
		Attrs:   map[string]ops.Attr{},
	}
	for _, ap := range np.GetAttribute() {
		name := ap.GetName()
		if name == "" {
			return nil, fmt.Errorf("attribute without a name: %w", ErrInvalidModel)
		}
		if _, dup := n.Attrs[name]; dup || n.Graphs[name] != nil || n.GraphLists[name] != nil {
			return nil, fmt.Errorf("attribute %q given twice: %w", name, ErrInvalidModel)
		}
		if ap.GetRefAttrName() != "" {
			return nil, fmt.Errorf("attribute %q refers to a function attribute outside a function: %w", name, ErrInvalidModel)
		}
		typ := ap.GetType()
		if typ == onnxpb.AttributeProto_UNDEFINED {
			typ = guessAttrType(ap)
		}
		switch typ {
		case onnxpb.AttributeProto_GRAPH:
			if ap.GetG() == nil {
				return nil, fmt.Errorf("attribute %q: graph missing: %w", name, ErrInvalidModel)
			}
			g, err := graphFromProto(ap.GetG(), o, depth+1)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", name, err)
			}
			if n.Graphs == nil {
				n.Graphs = map[string]*graph.Graph{}
			}
			n.Graphs[name] = g
			continue
		case onnxpb.AttributeProto_GRAPHS:
			var list []*graph.Graph
			for _, gp := range ap.GetGraphs() {
				g, err := graphFromProto(gp, o, depth+1)
				if err != nil {
					return nil, fmt.Errorf("attribute %q: %w", name, err)
				}
				list = append(list, g)
			}
			if n.GraphLists == nil {
				n.GraphLists = map[string][]*graph.Graph{}
			}
			n.GraphLists[name] = list
			continue
		}
		a, err := attrFromProto(ap, typ, o)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		n.Attrs[name] = a
	}
	return n, nil
}

// guessAttrType infers the type of attributes from files written before
// the type field existed (IR version 1), from which value is set.
func guessAttrType(ap *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	switch {
	case ap.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case ap.I != nil:
		return onnxpb.AttributeProto_INT
	case ap.S != nil:
		return onnxpb.AttributeProto_STRING
	case ap.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case ap.G != nil:
		return onnxpb.AttributeProto_GRAPH
	case len(ap.Floats) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(ap.Ints) > 0:
		return onnxpb.AttributeProto_INTS
	case len(ap.Strings) > 0:
		return onnxpb.AttributeProto_STRINGS
	case len(ap.Tensors) > 0:
		return onnxpb.AttributeProto_TENSORS
	case len(ap.Graphs) > 0:
		return onnxpb.AttributeProto_GRAPHS
	}
	return onnxpb.AttributeProto_UNDEFINED
}

func attrFromProto(ap *onnxpb.AttributeProto, typ onnxpb.AttributeProto_AttributeType, o *options) (ops.Attr, error) {
	a := ops.Attr{Type: ops.AttrType(typ)}
	switch typ {
	case onnxpb.AttributeProto_FLOAT:
		a.Float = ap.GetF()
	case onnxpb.AttributeProto_INT:
		a.Int = ap.GetI()
	case onnxpb.AttributeProto_STRING:
		a.String = string(ap.GetS())
	case onnxpb.AttributeProto_TENSOR:
		if ap.GetT() == nil {
			return a, fmt.Errorf("tensor missing: %w", ErrInvalidModel)
		}
		t, err := tensorFromProto(ap.GetT(), o)
		if err != nil {
			return a, err
		}
		a.Tensor = t
	case onnxpb.AttributeProto_FLOATS:
		a.Floats = append([]float32{}, ap.GetFloats()...)
	case onnxpb.AttributeProto_INTS:
		a.Ints = append([]int64{}, ap.GetInts()...)
	case onnxpb.AttributeProto_STRINGS:
		a.Strings = make([]string, len(ap.GetStrings()))
		for i, s := range ap.GetStrings() {
			a.Strings[i] = string(s)
		}
	case onnxpb.AttributeProto_TENSORS:
		for _, tp := range ap.GetTensors() {
			t, err := tensorFromProto(tp, o)
			if err != nil {
				return a, err
			}
			a.Tensors = append(a.Tensors, t)
		}
	case onnxpb.AttributeProto_TYPE_PROTO:
		if ap.GetTp() == nil {
			return a, fmt.Errorf("type missing: %w", ErrInvalidModel)
		}
		t, _, err := typeFromProto(ap.GetTp(), 0)
		if err != nil {
			return a, err
		}
		a.TypeVal = &t
	case onnxpb.AttributeProto_SPARSE_TENSOR:
		t, err := sparseToDense(ap.GetSparseTensor(), o)
		if err != nil {
			return a, err
		}
		a.Tensor = t
	case onnxpb.AttributeProto_SPARSE_TENSORS:
		return a, fmt.Errorf("sparse_tensors attributes are not supported yet: %w", runtime.ErrUnsupported)
	case onnxpb.AttributeProto_TYPE_PROTOS:
		return a, fmt.Errorf("type_protos attributes are not supported yet: %w", runtime.ErrUnsupported)
	default:
		return a, fmt.Errorf("attribute type %d: %w", typ, ErrInvalidModel)
	}
	return a, nil
}
