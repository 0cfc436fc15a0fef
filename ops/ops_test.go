package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/gocann/gocann/tensor"
)

func identityOp(domain string, since int) *Op {
	return &Op{Domain: domain, Name: "Id", Since: since, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1,
		Prepare: func(n *Node) (*Plan, error) {
			return &Plan{Outputs: []Type{n.Inputs[0]}, Kernel: func(*Env, []*tensor.Tensor, []*tensor.Tensor) error { return nil }}, nil
		}}
}

func TestLookupPicksVersionInForce(t *testing.T) {
	r := NewRegistry()
	v1, v6, v13 := identityOp("", 1), identityOp("ai.onnx", 6), identityOp("", 13)
	if err := r.Register(v13, v1, v6); err != nil {
		t.Fatal(err)
	}
	for opset, want := range map[int]*Op{1: v1, 5: v1, 6: v6, 12: v6, 13: v13, 21: v13} {
		got, err := r.Lookup("ai.onnx", "Id", opset)
		if err != nil || got != want {
			t.Errorf("opset %d: got version %v, err %v; want %d", opset, got, err, want.Since)
		}
	}
	custom := identityOp("com.example", 2)
	if err := r.Register(custom); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup("com.example", "Id", 1); !errors.Is(err, ErrUnknownOp) || !strings.Contains(err.Error(), "first defined in opset 2") {
		t.Errorf("before first version: %v", err)
	}
	if _, err := r.Lookup("", "Nope", 13); !errors.Is(err, ErrUnknownOp) {
		t.Errorf("unknown: %v", err)
	}
	if err := r.Register(identityOp("", 6)); err == nil {
		t.Error("duplicate version accepted")
	}
	if err := r.Register(&Op{Name: "NoPrepare", Since: 1}); err == nil {
		t.Error("op without Prepare accepted")
	}
	if n := len(r.Ops()); n != 4 {
		t.Errorf("Ops() has %d entries", n)
	}
}

func TestArityChecked(t *testing.T) {
	r := NewRegistry()
	r.Register(identityOp("", 1))
	in := TensorType(tensor.Float32, tensor.Shape{2})
	for name, n := range map[string]*Node{
		"no inputs":   {OpType: "Id", Opset: 1, NumOutputs: 1},
		"two inputs":  {OpType: "Id", Opset: 1, NumOutputs: 1, Inputs: []Type{in, in}},
		"two outputs": {OpType: "Id", Opset: 1, NumOutputs: 2, Inputs: []Type{in}},
	} {
		if _, err := r.Prepare(n); !errors.Is(err, ErrInvalidNode) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestAttrs(t *testing.T) {
	a := NewAttrs(map[string]Attr{
		"axis":  {Type: AttrInt, Int: -1},
		"eps":   {Type: AttrFloat, Float: 0.5},
		"mode":  {Type: AttrString, String: "edge"},
		"perm":  {Type: AttrInts, Ints: []int64{1, 0}},
		"wrong": {Type: AttrFloat, Float: 1},
	})
	if a.Int("axis", 0) != -1 || a.Float("eps", 0) != 0.5 || a.String("mode", "") != "edge" || len(a.Ints("perm", nil)) != 2 {
		t.Error("accessors returned wrong values")
	}
	if a.Int("missing", 7) != 7 || a.Err() != nil {
		t.Error("default not used")
	}
	a.Int("wrong", 0) // a float read as an int
	if err := a.Err(); !errors.Is(err, ErrInvalidNode) || !strings.Contains(err.Error(), `"wrong" is float, want int`) {
		t.Errorf("type mismatch: %v", err)
	}
	b := NewAttrs(nil)
	b.Require("to")
	if !errors.Is(b.Err(), ErrInvalidNode) {
		t.Errorf("required: %v", b.Err())
	}
}

func TestTypeString(t *testing.T) {
	for want, typ := range map[string]Type{
		"float32[2 ?]":       TensorType(tensor.Float32, tensor.Shape{2, -1}),
		"int64[]":            TensorType(tensor.Int64, tensor.Shape{}),
		"absent":             {},
		"seq(float32[?])":    {Kind: KindSequence, Elem: &Type{DType: tensor.Float32, UnknownRank: true}},
		"optional(int32[3])": {Kind: KindOptional, Elem: &Type{DType: tensor.Int32, Shape: tensor.Shape{3}}},
	} {
		if got := typ.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestEnvOutputLimit(t *testing.T) {
	env := &Env{MaxTensorBytes: 1024}
	out := make([]*tensor.Tensor, 1)
	if _, err := env.Output(out, 0, tensor.Float32, tensor.Shape{1 << 20}); err == nil {
		t.Error("allocation over the limit accepted")
	}
	y, err := env.Output(out, 0, tensor.Float32, tensor.Shape{16})
	if err != nil || out[0] != y {
		t.Fatalf("Output: %v", err)
	}
	if _, err := env.Output(out, 0, tensor.Float32, tensor.Shape{8}); err == nil {
		t.Error("a preallocated output of another shape was accepted")
	}
}
