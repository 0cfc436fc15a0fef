package onnx

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/tensor"
)

func vinfo(name string) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(tensor.Float32)), Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}}}}}}}}
}

// FunctionModel is y = Leaky(x + x, alpha=0.5) + Leaky(x, default alpha),
// where Leaky is a model-local function (domain "local") wrapping
// LeakyRelu with a referenced attribute, and Twice calls Leaky again.
func FunctionModel() *onnxpb.ModelProto {
	leaky := &onnxpb.FunctionProto{
		Name: proto.String("Leaky"), Domain: proto.String("local"),
		Input: []string{"a"}, Output: []string{"b"}, Attribute: []string{"alpha"},
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Node: []*onnxpb.NodeProto{{OpType: proto.String("LeakyRelu"), Input: []string{"a"}, Output: []string{"b"},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("alpha"), RefAttrName: proto.String("alpha"), Type: onnxpb.AttributeProto_FLOAT.Enum()}}}},
	}
	twice := &onnxpb.FunctionProto{
		Name: proto.String("Twice"), Domain: proto.String("local"),
		Input: []string{"p"}, Output: []string{"q"},
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}, {Domain: proto.String("local"), Version: proto.Int64(1)}},
		Node: []*onnxpb.NodeProto{
			{OpType: proto.String("Add"), Input: []string{"p", "p"}, Output: []string{"t"}},
			{OpType: proto.String("Leaky"), Domain: proto.String("local"), Input: []string{"t"}, Output: []string{"q"},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("alpha"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0.5)}}},
		},
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}, {Domain: proto.String("local"), Version: proto.Int64(1)}},
		Functions:   []*onnxpb.FunctionProto{leaky, twice},
		Graph: &onnxpb.GraphProto{
			Name:   proto.String("g"),
			Input:  []*onnxpb.ValueInfoProto{vinfo("x")},
			Output: []*onnxpb.ValueInfoProto{vinfo("y")},
			Node: []*onnxpb.NodeProto{
				{OpType: proto.String("Twice"), Domain: proto.String("local"), Input: []string{"x"}, Output: []string{"u"}},
				{OpType: proto.String("Leaky"), Domain: proto.String("local"), Input: []string{"x"}, Output: []string{"v"}},
				{OpType: proto.String("Add"), Input: []string{"u", "v"}, Output: []string{"y"}},
			},
		},
	}
}

func TestInlineFunctions(t *testing.T) {
	b, _ := proto.Marshal(FunctionModel())
	m, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	alphas := map[string]bool{}
	for _, n := range m.Graph.Nodes {
		types = append(types, n.OpType)
		if n.OpType == "LeakyRelu" {
			a, ok := n.Attrs["alpha"]
			alphas[map[bool]string{true: "0.5", false: "default"}[ok && a.Float == 0.5]] = true
		}
	}
	if len(types) != 4 || !alphas["0.5"] || !alphas["default"] {
		t.Errorf("inlined nodes %v, alphas %v", types, alphas)
	}
}

func TestInlineRejects(t *testing.T) {
	rec := FunctionModel()
	// Leaky calls itself: recursion must stop with an error.
	rec.Functions[0].Node = append(rec.Functions[0].Node, &onnxpb.NodeProto{OpType: proto.String("Leaky"), Domain: proto.String("local"), Input: []string{"b"}, Output: []string{"c"}})
	b, _ := proto.Marshal(rec)
	if _, err := DecodeModel(b); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("recursive function: %v", err)
	}
	clash := FunctionModel()
	clash.Functions[0].OpsetImport[0].Version = proto.Int64(13)
	b, _ = proto.Marshal(clash)
	if _, err := DecodeModel(b); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("opset clash: %v", err)
	}
	tooMany := FunctionModel()
	tooMany.Graph.Node[1].Input = []string{"x", "x"}
	b, _ = proto.Marshal(tooMany)
	if _, err := DecodeModel(b); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("too many inputs: %v", err)
	}
}
