package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// valMsg builds a SequenceProto or OptionalProto from fields: a string is
// the name (1), a uint64 the elem_type (2), and [2]any{num, []byte} a
// length-delimited value field.
func valMsg(fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		switch f := f.(type) {
		case string:
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendString(b, f)
		case uint64:
			b = protowire.AppendTag(b, 2, protowire.VarintType)
			b = protowire.AppendVarint(b, f)
		case [2]any:
			b = protowire.AppendTag(b, protowire.Number(f[0].(int)), protowire.BytesType)
			b = protowire.AppendBytes(b, f[1].([]byte))
		}
	}
	return b
}

func valTensor(t *testing.T, vals []float32, shape ...int) []byte {
	t.Helper()
	tn, err := tensor.FromSlice(vals, shape...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeTensor("", tn)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func valInt32Tensor(t *testing.T, vals []int32, shape ...int) []byte {
	t.Helper()
	tn, err := tensor.FromSlice(vals, shape...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeTensor("", tn)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	valF32        = ops.Type{Kind: ops.KindTensor, DType: tensor.Float32, UnknownRank: true}
	valSeqF32     = ops.Type{Kind: ops.KindSequence, DType: tensor.Float32, Elem: &valF32}
	valOptF32     = ops.Type{Kind: ops.KindOptional, DType: tensor.Float32, Elem: &valF32}
	valOptSeqF32  = ops.Type{Kind: ops.KindOptional, DType: tensor.Float32, Elem: &valSeqF32}
	valSeqUnknown = ops.Type{Kind: ops.KindSequence}
	valOptUnknown = ops.Type{Kind: ops.KindOptional}
)

func TestDecodeValue(t *testing.T) {
	one := valTensor(t, []float32{1, 2}, 2)
	two := valTensor(t, []float32{3}, 1)
	ints := valInt32Tensor(t, []int32{7}, 1)
	tests := []struct {
		name string
		b    []byte
		typ  ops.Type
		// check inspects a successful result; nil with wantErr set.
		check   func(t *testing.T, v ops.Value)
		wantErr error
	}{
		{name: "sequence", b: valMsg("s", uint64(1), [2]any{3, one}, [2]any{3, two}), typ: valSeqF32,
			check: func(t *testing.T, v ops.Value) {
				s := v.(*ops.Sequence)
				if s.DType != tensor.Float32 || len(s.Tensors) != 2 || !s.Tensors[1].Shape().Equal(tensor.Shape{1}) {
					t.Errorf("got %s with %d tensors", s.DType, len(s.Tensors))
				}
			}},
		{name: "empty sequence takes the declared type", b: valMsg("s", uint64(1)), typ: valSeqF32,
			check: func(t *testing.T, v ops.Value) {
				if s := v.(*ops.Sequence); s.DType != tensor.Float32 || len(s.Tensors) != 0 {
					t.Errorf("got %s with %d tensors", s.DType, len(s.Tensors))
				}
			}},
		{name: "undeclared sequence type comes from the tensors", b: valMsg(uint64(1), [2]any{3, ints}), typ: valSeqUnknown,
			check: func(t *testing.T, v ops.Value) {
				if s := v.(*ops.Sequence); s.DType != tensor.Int32 {
					t.Errorf("got %s", s.DType)
				}
			}},
		{name: "sequence of mixed types", b: valMsg(uint64(1), [2]any{3, one}, [2]any{3, ints}), typ: valSeqUnknown, wantErr: ErrInvalidModel},
		{name: "sequence element not the declared type", b: valMsg(uint64(1), [2]any{3, ints}), typ: valSeqF32, wantErr: ErrInvalidModel},
		{name: "nested sequences", b: valMsg(uint64(3), [2]any{5, valMsg(uint64(1), [2]any{3, one})}), typ: valSeqUnknown, wantErr: runtime.ErrUnsupported},
		{name: "sequence of maps", b: valMsg(uint64(4)), typ: valSeqUnknown, wantErr: runtime.ErrUnsupported},
		{name: "sparse tensors", b: valMsg(uint64(2), [2]any{4, []byte{}}), typ: valSeqUnknown, wantErr: runtime.ErrUnsupported},
		{name: "tensors without elem_type", b: valMsg([2]any{3, one}), typ: valSeqF32, wantErr: ErrInvalidModel},
		{name: "bad element tensor", b: valMsg(uint64(1), [2]any{3, []byte{0xff}}), typ: valSeqF32, wantErr: ErrInvalidModel},
		{name: "truncated", b: valMsg("s", uint64(1), [2]any{3, one})[:10], typ: valSeqF32, wantErr: ErrInvalidModel},
		{name: "elem_type with the wrong wire type", b: protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{1}), typ: valSeqF32, wantErr: ErrInvalidModel},
		{name: "unknown fields are skipped", b: protowire.AppendVarint(protowire.AppendTag(valMsg(uint64(1)), 99, protowire.VarintType), 5), typ: valSeqF32,
			check: func(t *testing.T, v ops.Value) {}},

		{name: "optional tensor", b: valMsg("o", uint64(1), [2]any{3, one}), typ: valOptF32,
			check: func(t *testing.T, v ops.Value) {
				o := v.(*ops.Optional)
				if tn, ok := o.Value.(*tensor.Tensor); !ok || tn.Len() != 2 || o.Elem.Kind != ops.KindTensor {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "optional sequence", b: valMsg(uint64(3), [2]any{5, valMsg(uint64(1), [2]any{3, one})}), typ: valOptSeqF32,
			check: func(t *testing.T, v ops.Value) {
				o := v.(*ops.Optional)
				if s, ok := o.Value.(*ops.Sequence); !ok || len(s.Tensors) != 1 || o.Elem.Kind != ops.KindSequence {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "empty optional, undefined elem_type", b: valMsg("o", uint64(0)), typ: valOptSeqF32,
			check: func(t *testing.T, v ops.Value) {
				o := v.(*ops.Optional)
				if o.Value != nil || o.Elem.Kind != ops.KindSequence || o.Elem.DType != tensor.Float32 {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "empty optional, elem_type set", b: valMsg(uint64(1)), typ: valOptUnknown,
			check: func(t *testing.T, v ops.Value) {
				o := v.(*ops.Optional)
				if o.Value != nil || o.Elem.Kind != ops.KindTensor {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "undeclared optional sequence", b: valMsg(uint64(3), [2]any{5, valMsg(uint64(1), [2]any{3, ints})}), typ: valOptUnknown,
			check: func(t *testing.T, v ops.Value) {
				o := v.(*ops.Optional)
				if o.Elem.Kind != ops.KindSequence || o.Elem.DType != tensor.Int32 {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "optional holds a sequence, model declares a tensor", b: valMsg(uint64(3), [2]any{5, valMsg(uint64(1))}), typ: valOptF32, wantErr: ErrInvalidModel},
		{name: "optional elem_type contradicts its value", b: valMsg(uint64(3), [2]any{3, one}), typ: valOptUnknown, wantErr: ErrInvalidModel},
		{name: "optional tensor of the wrong type", b: valMsg(uint64(1), [2]any{3, ints}), typ: valOptF32, wantErr: ErrInvalidModel},
		{name: "optional with two values", b: valMsg(uint64(1), [2]any{3, one}, [2]any{3, two}), typ: valOptF32, wantErr: ErrInvalidModel},
		{name: "optional optional", b: valMsg(uint64(5), [2]any{7, valMsg(uint64(0))}), typ: valOptUnknown, wantErr: runtime.ErrUnsupported},
		{name: "optional map", b: valMsg(uint64(4), [2]any{6, []byte{}}), typ: valOptUnknown, wantErr: runtime.ErrUnsupported},

		{name: "tensor", b: one, typ: valF32,
			check: func(t *testing.T, v ops.Value) {
				if tn := v.(*tensor.Tensor); tn.Len() != 2 {
					t.Errorf("got %v", tn)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, v, err := DecodeValue(tc.b, tc.typ)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, v)
		})
	}
}

// TestReadValueFileTestData reads every input and output file of the ONNX
// test cases whose model declares a sequence or an optional, and checks a
// few of them against what they are known to hold.
func TestReadValueFileTestData(t *testing.T) {
	models, _ := filepath.Glob(filepath.Join(onnxTestData, "*", "*", "model.onnx"))
	if len(models) == 0 {
		t.Skipf("ONNX test data not installed at %s", onnxTestData)
	}
	got := map[string]ops.Value{}
	read := 0
	for _, mp := range models {
		m, err := LoadModel(mp)
		if err != nil {
			continue // models this importer rejects are checked elsewhere
		}
		sets, _ := filepath.Glob(filepath.Join(filepath.Dir(mp), "test_data_set_*"))
		for _, set := range sets {
			for _, io := range []struct {
				prefix string
				infos  []*ops.Type
			}{{"input_", valTypes(m.Graph.Inputs)}, {"output_", valTypes(m.Graph.Outputs)}} {
				for i, typ := range io.infos {
					if typ.Kind == ops.KindTensor {
						continue
					}
					path := filepath.Join(set, fmt.Sprintf("%s%d.pb", io.prefix, i))
					if _, err := os.Stat(path); err != nil {
						continue
					}
					rel, _ := filepath.Rel(onnxTestData, path)
					v, err := ReadValueFile(path, *typ)
					if err != nil {
						t.Errorf("%s: %v", rel, err)
						continue
					}
					read++
					got[rel] = v
				}
			}
		}
	}
	if read == 0 {
		t.Fatal("no sequence or optional files found")
	}
	t.Logf("%d sequence and optional files read", read)

	seq := func(rel string) *ops.Sequence {
		t.Helper()
		s, ok := got[rel].(*ops.Sequence)
		if !ok {
			t.Fatalf("%s: got %T, want a sequence", rel, got[rel])
		}
		return s
	}
	opt := func(rel string) *ops.Optional {
		t.Helper()
		o, ok := got[rel].(*ops.Optional)
		if !ok {
			t.Fatalf("%s: got %T, want an optional", rel, got[rel])
		}
		return o
	}
	// An empty sequence: its element type is the model's.
	if s := seq("node/test_loop13_seq/test_data_set_0/input_2.pb"); len(s.Tensors) != 0 || s.DType != tensor.Float32 {
		t.Errorf("test_loop13_seq input 2: %d %s tensors, want an empty float32 sequence", len(s.Tensors), s.DType)
	}
	// Sequences of [1], [1 2], ... [1 2 3 4 5].
	if s := seq("node/test_loop13_seq/test_data_set_0/output_0.pb"); len(s.Tensors) != 5 {
		t.Errorf("test_loop13_seq output: %d tensors, want 5", len(s.Tensors))
	} else {
		for i, tn := range s.Tensors {
			v, err := tensor.ToSlice[float32](tn)
			if err != nil || len(v) != i+1 || v[i] != float32(i+1) {
				t.Errorf("test_loop13_seq output element %d: %v (%v)", i, v, err)
			}
		}
	}
	// An empty optional: UNDEFINED elem_type and no value.
	if o := opt("node/test_optional_has_element_empty/test_data_set_0/input_0.pb"); o.Value != nil || o.Elem.Kind != ops.KindTensor || o.Elem.DType != tensor.Int32 {
		t.Errorf("test_optional_has_element_empty input: %+v, want an empty optional of int32 tensors", o)
	}
	// An optional sequence holding one int32 [1 2 3 4].
	o := opt("node/test_optional_get_element_sequence/test_data_set_0/input_0.pb")
	if s, ok := o.Value.(*ops.Sequence); !ok || len(s.Tensors) != 1 || s.DType != tensor.Int32 {
		t.Errorf("test_optional_get_element_sequence input: %+v", o)
	} else if v, _ := tensor.ToSlice[int32](s.Tensors[0]); len(v) != 4 || v[3] != 4 {
		t.Errorf("test_optional_get_element_sequence input values %v", v)
	}
	// An optional tensor.
	if o := opt("node/test_optional_has_element/test_data_set_0/input_0.pb"); o.Value == nil {
		t.Errorf("test_optional_has_element input is empty")
	} else if v, _ := tensor.ToSlice[float32](o.Value.(*tensor.Tensor)); len(v) != 4 || v[0] != 1 {
		t.Errorf("test_optional_has_element input values %v", v)
	}
	// Every sequence file of the suite holds tensors of its declared type.
	for rel, v := range got {
		if s, ok := v.(*ops.Sequence); ok && strings.HasPrefix(rel, "simple/") && s.DType == tensor.Undefined {
			t.Errorf("%s: sequence without an element type", rel)
		}
	}
}

func valTypes(vis []*graph.ValueInfo) []*ops.Type {
	out := make([]*ops.Type, len(vis))
	for i, v := range vis {
		out[i] = &v.Type
	}
	return out
}
