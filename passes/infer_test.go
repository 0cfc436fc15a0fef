package passes_test

import (
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

func TestShapeInference(t *testing.T) {
	tests := []struct {
		name   string
		build  func(t testing.TB, b *builder)
		shapes map[string][]int64
		want   map[string]string // value → type as ops.Type prints it; "" not inferred
	}{
		{"static chain", func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3)
			m := b.op("MatMul", "m", nil, x, b.init("w", f32(t, make([]float32, 12), 3, 4)))
			b.output(b.op("Transpose", "y", nil, b.op("Relu", "r", nil, m)))
		}, nil, map[string]string{"m": "float32[2 4]", "r": "float32[2 4]", "y": "float32[4 2]"}},
		{"symbolic dims stay unknown", func(t testing.TB, b *builder) {
			x := b.input("x", -1, 3)
			a := b.op("Add", "a", nil, x, b.init("k", f32(t, []float32{1, 2, 3}, 3)))
			b.output(b.op("Cast", "y", attrs("to", attrInt(int64(tensor.Int64))), a))
		}, nil, map[string]string{"a": "float32[? 3]", "y": "int64[? 3]"}},
		{"fixed shapes make them known", func(t testing.TB, b *builder) {
			x := b.input("x", -1, 3)
			b.output(b.op("Add", "y", nil, x, b.init("k", f32(t, []float32{1, 2, 3}, 3))))
		}, map[string][]int64{"x": {5, 3}}, map[string]string{"y": "float32[5 3]"}},
		{"data-dependent dims are unknown", func(t testing.TB, b *builder) {
			nz := b.op("NonZero", "nz", nil, b.input("x", 4))
			b.output(b.op("Transpose", "y", nil, nz))
		}, nil, map[string]string{"nz": "int64[1 ?]", "y": "int64[? 1]"}},
		{"a reshape to a run-time shape", func(t testing.TB, b *builder) {
			x := b.input("x", 6)
			s := b.typedInput("s", tensor.Int64, 2)
			b.output(b.op("Reshape", "y", nil, x, s))
		}, nil, map[string]string{"y": "float32[? ?]"}},
		{"a reshape to a constant shape", func(t testing.TB, b *builder) {
			x := b.input("x", 6)
			b.output(b.op("Reshape", "y", nil, x, b.init("s", i64(t, []int64{3, -1}, 2))))
		}, nil, map[string]string{"y": "float32[3 2]"}},
		{"an input of unknown rank gives element types at most", func(t testing.TB, b *builder) {
			b.g.Inputs = append(b.g.Inputs, &graph.ValueInfo{Name: "x", Type: ops.Type{Kind: ops.KindTensor, DType: tensor.Float32, UnknownRank: true}})
			b.output(b.op("Shape", "y", nil, "x"), b.op("Relu", "r", nil, "x"))
		}, nil, map[string]string{"y": "int64[?]", "r": ""}},
		{"nothing known of an input that fails to prepare", func(t testing.TB, b *builder) {
			x := b.input("x", 2, 3)
			bad := b.op("MatMul", "bad", nil, x, x) // [2 3]x[2 3]
			b.output(b.op("Relu", "y", nil, bad))
		}, nil, map[string]string{"bad": "", "y": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder()
			tc.build(t, b)
			m := b.model()
			// Declared types of intermediates are not trusted.
			m.Graph.ValueInfo["bad"] = &graph.ValueInfo{Name: "bad", Type: ops.TensorType(tensor.Float32, tensor.Shape{2, 2})}
			p := passes.Options{Level: 1, Ops: registry(t), Shapes: tc.shapes,
				Passes: []passes.Pass{{Name: "check", Level: 1, Run: func(c *passes.Context) (bool, error) {
					for v, want := range tc.want {
						typ, ok := c.Type(v)
						got := ""
						if ok {
							got = typ.String()
						}
						if got != want {
							t.Errorf("%s: %q, want %q", v, got, want)
						}
					}
					return false, nil
				}}}}
			if _, err := passes.Optimize(m, p); err != nil {
				t.Fatal(err)
			}
		})
	}
}
