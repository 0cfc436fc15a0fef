package standard_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/tensor"
)

// controlGraph is a Subgraph whose body is a Go function.
type controlGraph struct {
	nin, nout int
	types     []ops.Type
	fn        func(ctx context.Context, in []ops.Value) ([]ops.Value, error)
}

func (g *controlGraph) NumInputs() int          { return g.nin }
func (g *controlGraph) NumOutputs() int         { return g.nout }
func (g *controlGraph) OutputTypes() []ops.Type { return g.types }
func (g *controlGraph) Run(ctx context.Context, in []ops.Value) ([]ops.Value, error) {
	if len(in) != g.nin {
		return nil, fmt.Errorf("graph given %d inputs, takes %d", len(in), g.nin)
	}
	return g.fn(ctx, in)
}

func controlAttrGraph(g ops.Subgraph) ops.Attr { return ops.Attr{Type: ops.AttrGraph, Graph: g} }
func controlAttrInt(v int64) ops.Attr          { return ops.Attr{Type: ops.AttrInt, Int: v} }
func controlAttrInts(v ...int64) ops.Attr      { return ops.Attr{Type: ops.AttrInts, Ints: v} }

func controlF32(t *testing.T, vals []float32, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(vals, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func controlI64(t *testing.T, vals []int64, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(vals, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func controlSeq(ts ...*tensor.Tensor) *ops.Sequence {
	s := &ops.Sequence{DType: tensor.Float32}
	if len(ts) > 0 {
		s.DType = ts[0].DType()
	}
	s.Tensors = ts
	return s
}

// controlRun prepares op at opset with the types of in (a nil value is an
// omitted input) and evaluates it. A Prepare error is returned with
// prepared false.
func controlRun(t *testing.T, op string, opset int, attrs map[string]ops.Attr, nout int, in ...ops.Value) (out []ops.Value, prepared bool, err error) {
	t.Helper()
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	o, err := reg.Lookup("", op, opset)
	if err != nil {
		t.Fatal(err)
	}
	types := make([]ops.Type, len(in))
	for i, v := range in {
		if types[i], err = ops.TypeOfValue(v); err != nil {
			t.Fatal(err)
		}
		types[i].Value = nil
	}
	n := &ops.Node{OpType: op, Opset: opset, Attrs: ops.NewAttrs(attrs), Inputs: types, NumOutputs: nout}
	plan, err := ops.PrepareOp(o, n)
	if err != nil {
		t.Logf("%s: %v", op, err)
		if !errors.Is(err, ops.ErrInvalidNode) {
			t.Errorf("prepare error %v does not wrap ErrInvalidNode", err)
		}
		return nil, false, err
	}
	if plan.Eval == nil {
		t.Fatalf("%s: plan has no Eval", op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err = plan.Eval(ctx, &ops.Env{}, in)
	if err != nil {
		t.Logf("%s: %v", op, err) // errors are expected by most callers; -v shows them
	}
	if err == nil && len(out) != nout {
		t.Fatalf("%s: %d outputs, want %d", op, len(out), nout)
	}
	return out, true, err
}

// controlWant compares a tensor's shape and float32 or int64 values.
func controlWant(t *testing.T, what string, v ops.Value, shape tensor.Shape, vals any) {
	t.Helper()
	x, ok := v.(*tensor.Tensor)
	if !ok {
		t.Fatalf("%s: got %T, want a tensor", what, v)
	}
	if !x.Shape().Equal(shape) {
		t.Fatalf("%s: shape %v, want %v", what, x.Shape(), shape)
	}
	var got any
	switch vals.(type) {
	case []float32:
		got, _ = tensor.ToSlice[float32](x)
	case []int64:
		got, _ = tensor.ToSlice[int64](x)
	case []bool:
		got, _ = tensor.ToSlice[bool](x)
	}
	if !reflect.DeepEqual(got, vals) {
		t.Fatalf("%s: values %v, want %v", what, got, vals)
	}
}

func controlBranch(v ...ops.Value) *controlGraph {
	return &controlGraph{nout: len(v), types: make([]ops.Type, len(v)), fn: func(context.Context, []ops.Value) ([]ops.Value, error) { return v, nil }}
}

func TestControlIf(t *testing.T) {
	a, b := controlF32(t, []float32{1}, 1), controlF32(t, []float32{2, 3}, 2)
	branches := map[string]ops.Attr{"then_branch": controlAttrGraph(controlBranch(a)), "else_branch": controlAttrGraph(controlBranch(b))}
	for _, c := range []struct {
		cond bool
		want *tensor.Tensor
	}{{true, a}, {false, b}} {
		out, _, err := controlRun(t, "If", 11, branches, 1, tensor.Scalar(c.cond))
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != c.want {
			t.Errorf("cond %v chose the wrong branch", c.cond)
		}
	}
	// A one-element condition of rank 1 is accepted.
	if _, _, err := controlRun(t, "If", 13, branches, 1, tensor.Scalar(true)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		attrs    map[string]ops.Attr
		nout     int
		cond     ops.Value
		prepared bool
	}{
		{"cond not bool", branches, 1, tensor.Scalar(int64(1)), false},
		{"cond a sequence", branches, 1, controlSeq(), false},
		{"cond of two elements", branches, 1, func() ops.Value { x, _ := tensor.FromSlice([]bool{true, false}, 2); return x }(), false},
		{"no else branch", map[string]ops.Attr{"then_branch": branches["then_branch"]}, 1, tensor.Scalar(true), false},
		{"branch is not a graph", map[string]ops.Attr{"then_branch": controlAttrInt(1), "else_branch": branches["else_branch"]}, 1, tensor.Scalar(true), false},
		{"output count differs", branches, 2, tensor.Scalar(true), false},
		{"branch takes inputs", map[string]ops.Attr{"then_branch": controlAttrGraph(&controlGraph{nin: 1, nout: 1, fn: nil}), "else_branch": branches["else_branch"]}, 1, tensor.Scalar(true), false},
		{"branch fails", map[string]ops.Attr{"then_branch": controlAttrGraph(&controlGraph{nout: 1, types: []ops.Type{{}}, fn: func(context.Context, []ops.Value) ([]ops.Value, error) {
			return nil, errors.New("boom")
		}}), "else_branch": branches["else_branch"]}, 1, tensor.Scalar(true), true},
		{"branch returns too few values", map[string]ops.Attr{"then_branch": controlAttrGraph(&controlGraph{nout: 1, types: []ops.Type{{}}, fn: func(context.Context, []ops.Value) ([]ops.Value, error) {
			return nil, nil
		}}), "else_branch": branches["else_branch"]}, 1, tensor.Scalar(true), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, prepared, err := controlRun(t, "If", 16, tc.attrs, tc.nout, tc.cond)
			if err == nil {
				t.Fatal("no error")
			}
			if prepared != tc.prepared {
				t.Fatalf("prepared %v, want %v: %v", prepared, tc.prepared, err)
			}
		})
	}
}

func TestControlIfTypes(t *testing.T) {
	f := func(shape ...int) ops.Type { return ops.TensorType(tensor.Float32, shape) }
	then := &controlGraph{nout: 2, types: []ops.Type{f(2, 3), f(2)}}
	els := &controlGraph{nout: 2, types: []ops.Type{f(2, 4), f(2, 1)}}
	reg, _ := standard.NewRegistry()
	op, _ := reg.Lookup("", "If", 11)
	n := &ops.Node{OpType: "If", Opset: 11, NumOutputs: 2, Inputs: []ops.Type{ops.TensorType(tensor.Bool, nil)},
		Attrs: ops.NewAttrs(map[string]ops.Attr{"then_branch": controlAttrGraph(then), "else_branch": controlAttrGraph(els)})}
	plan, err := ops.PrepareOp(op, n)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Outputs[0].String(); got != "float32[2 ?]" {
		t.Errorf("output 0 planned %s, want float32[2 ?]", got)
	}
	if !plan.Outputs[1].UnknownRank || plan.Outputs[1].DType != tensor.Float32 {
		t.Errorf("output 1 planned %s, want float32 of unknown rank", plan.Outputs[1])
	}
}

// controlCountBody is a Loop body with one loop-carried value y and one
// scan output: y += x[i]; scan = y; cond = y < limit.
func controlCountBody(t *testing.T, limit float32) *controlGraph {
	return &controlGraph{nin: 3, nout: 3, types: []ops.Type{{}, ops.TensorType(tensor.Float32, tensor.Shape{1}), ops.TensorType(tensor.Float32, tensor.Shape{1})},
		fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
			i, _ := tensor.ToSlice[int64](in[0].(*tensor.Tensor))
			y, _ := tensor.ToSlice[float32](in[2].(*tensor.Tensor))
			next := y[0] + float32(i[0]+1)
			out, _ := tensor.FromSlice([]float32{next}, 1)
			return []ops.Value{tensor.Scalar(next < limit), out, out}, nil
		}}
}

func TestControlLoop(t *testing.T) {
	y0 := controlF32(t, []float32{0}, 1)
	body := map[string]ops.Attr{"body": controlAttrGraph(controlCountBody(t, 100))}
	tests := []struct {
		name      string
		opset     int
		m, cond   ops.Value
		body      ops.Subgraph
		wantY     []float32
		wantScans []float32
	}{
		{"trip count", 11, tensor.Scalar(int64(4)), nil, nil, []float32{10}, []float32{1, 3, 6, 10}},
		{"trip count and true condition", 13, tensor.Scalar(int64(3)), tensor.Scalar(true), nil, []float32{6}, []float32{1, 3, 6}},
		{"condition stops it", 16, tensor.Scalar(int64(100)), tensor.Scalar(true), controlCountBody(t, 6), []float32{6}, []float32{1, 3, 6}},
		{"while loop", 21, nil, tensor.Scalar(true), controlCountBody(t, 10), []float32{10}, []float32{1, 3, 6, 10}},
		{"false condition runs nothing", 11, tensor.Scalar(int64(5)), tensor.Scalar(false), nil, []float32{0}, []float32{}},
		{"zero trip count runs nothing", 1, tensor.Scalar(int64(0)), tensor.Scalar(true), nil, []float32{0}, []float32{}},
		{"negative trip count runs nothing", 11, tensor.Scalar(int64(-3)), nil, nil, []float32{0}, []float32{}},
		{"without cond input the body's condition is ignored", 11, tensor.Scalar(int64(3)), nil, controlCountBody(t, 0), []float32{6}, []float32{1, 3, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attrs := body
			if tc.body != nil {
				attrs = map[string]ops.Attr{"body": controlAttrGraph(tc.body)}
			}
			out, _, err := controlRun(t, "Loop", tc.opset, attrs, 2, tc.m, tc.cond, y0)
			if err != nil {
				t.Fatal(err)
			}
			controlWant(t, "y", out[0], tensor.Shape{1}, tc.wantY)
			controlWant(t, "scan", out[1], tensor.Shape{len(tc.wantScans), 1}, tc.wantScans)
		})
	}
}

func TestControlLoopErrors(t *testing.T) {
	y0 := controlF32(t, []float32{0}, 1)
	good := controlAttrGraph(controlCountBody(t, 100))
	changing := &controlGraph{nin: 3, nout: 3, types: make([]ops.Type, 3), fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
		i, _ := tensor.ToSlice[int64](in[0].(*tensor.Tensor))
		s, _ := tensor.New(tensor.Float32, tensor.Shape{int(i[0]) + 1})
		return []ops.Value{tensor.Scalar(true), in[2], s}, nil
	}}
	kindChange := &controlGraph{nin: 3, nout: 3, types: make([]ops.Type, 3), fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
		return []ops.Value{tensor.Scalar(true), controlSeq(), in[2]}, nil
	}}
	badCond := &controlGraph{nin: 3, nout: 3, types: make([]ops.Type, 3), fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
		return []ops.Value{tensor.Scalar(int64(1)), in[2], in[2]}, nil
	}}
	seqScan := &controlGraph{nin: 3, nout: 3, types: make([]ops.Type, 3), fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
		return []ops.Value{tensor.Scalar(true), in[2], controlSeq()}, nil
	}}
	tests := []struct {
		name     string
		attrs    map[string]ops.Attr
		nout     int
		in       []ops.Value
		prepared bool
	}{
		{"M not int64", map[string]ops.Attr{"body": good}, 2, []ops.Value{tensor.Scalar(int32(3)), nil, y0}, false},
		{"M not a scalar", map[string]ops.Attr{"body": good}, 2, []ops.Value{controlI64(t, []int64{1, 2}, 2), nil, y0}, false},
		{"cond not bool", map[string]ops.Attr{"body": good}, 2, []ops.Value{nil, tensor.Scalar(int64(1)), y0}, false},
		{"no body", nil, 2, []ops.Value{tensor.Scalar(int64(3)), nil, y0}, false},
		{"body input count", map[string]ops.Attr{"body": good}, 2, []ops.Value{tensor.Scalar(int64(3)), nil, y0, y0}, false},
		{"body output count", map[string]ops.Attr{"body": good}, 3, []ops.Value{tensor.Scalar(int64(3)), nil, y0}, false},
		{"scan output changes shape", map[string]ops.Attr{"body": controlAttrGraph(changing)}, 2, []ops.Value{tensor.Scalar(int64(3)), nil, y0}, true},
		{"loop-carried value changes kind", map[string]ops.Attr{"body": controlAttrGraph(kindChange)}, 2, []ops.Value{tensor.Scalar(int64(3)), nil, y0}, true},
		{"body condition not bool", map[string]ops.Attr{"body": controlAttrGraph(badCond)}, 2, []ops.Value{tensor.Scalar(int64(3)), tensor.Scalar(true), y0}, true},
		{"scan output not a tensor", map[string]ops.Attr{"body": controlAttrGraph(seqScan)}, 2, []ops.Value{tensor.Scalar(int64(3)), nil, y0}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, prepared, err := controlRun(t, "Loop", 13, tc.attrs, tc.nout, tc.in...)
			if err == nil {
				t.Fatal("no error")
			}
			if prepared != tc.prepared {
				t.Fatalf("prepared %v, want %v: %v", prepared, tc.prepared, err)
			}
		})
	}
}

// An endless loop (no trip count, no condition) ends with its context.
func TestControlLoopCancel(t *testing.T) {
	reg, _ := standard.NewRegistry()
	op, _ := reg.Lookup("", "Loop", 13)
	// The body's condition says stop, but without a cond input it is
	// ignored; the scan output gives the node its one required output.
	body := &controlGraph{nin: 2, nout: 2, types: make([]ops.Type, 2), fn: func(context.Context, []ops.Value) ([]ops.Value, error) {
		return []ops.Value{tensor.Scalar(false), tensor.Scalar(float32(1))}, nil
	}}
	n := &ops.Node{OpType: "Loop", Opset: 13, NumOutputs: 1, Inputs: []ops.Type{{}, {}},
		Attrs: ops.NewAttrs(map[string]ops.Attr{"body": controlAttrGraph(body)})}
	plan, err := ops.PrepareOp(op, n)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := plan.Eval(ctx, &ops.Env{}, []ops.Value{nil, nil}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
}

// A loop over sequences (opset 13): the body appends its iteration number.
func TestControlLoopSequence(t *testing.T) {
	body := &controlGraph{nin: 3, nout: 2, types: make([]ops.Type, 2), fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
		s := in[2].(*ops.Sequence)
		i := in[0].(*tensor.Tensor)
		return []ops.Value{tensor.Scalar(true), &ops.Sequence{DType: tensor.Int64, Tensors: append(append([]*tensor.Tensor(nil), s.Tensors...), i)}}, nil
	}}
	out, _, err := controlRun(t, "Loop", 13, map[string]ops.Attr{"body": controlAttrGraph(body)}, 1,
		tensor.Scalar(int64(3)), nil, &ops.Sequence{DType: tensor.Int64})
	if err != nil {
		t.Fatal(err)
	}
	s := out[0].(*ops.Sequence)
	if len(s.Tensors) != 3 {
		t.Fatalf("%d tensors, want 3", len(s.Tensors))
	}
	controlWant(t, "element 2", s.Tensors[2], tensor.Shape{}, []int64{2})
}

// controlSumBody is a Scan body: state += x; scan output = state.
func controlSumBody(elem tensor.Shape) *controlGraph {
	return &controlGraph{nin: 2, nout: 2, types: []ops.Type{ops.TensorType(tensor.Float32, elem), ops.TensorType(tensor.Float32, elem)},
		fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
			s, _ := tensor.ToSlice[float32](in[0].(*tensor.Tensor))
			x, _ := tensor.ToSlice[float32](in[1].(*tensor.Tensor))
			if len(s) != len(x) {
				return nil, fmt.Errorf("state %d elements, input %d", len(s), len(x))
			}
			for i := range s {
				s[i] += x[i]
			}
			o, _ := tensor.FromSlice(s, in[0].(*tensor.Tensor).Shape()...)
			return []ops.Value{o, o}, nil
		}}
}

func TestControlScan(t *testing.T) {
	x := controlF32(t, []float32{1, 2, 3, 4, 5, 6}, 3, 2) // 3 steps of [2] along axis 0, 2 of [3] along axis 1
	tests := []struct {
		name    string
		opset   int
		attrs   map[string]ops.Attr
		init    *tensor.Tensor
		elem    tensor.Shape
		wantY   []float32
		wantZ   []float32
		zShape  tensor.Shape
		wantErr bool
	}{
		{name: "forward", opset: 9, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2},
			wantY: []float32{9, 12}, wantZ: []float32{1, 2, 4, 6, 9, 12}, zShape: tensor.Shape{3, 2}},
		{name: "reverse input", opset: 9, attrs: map[string]ops.Attr{"scan_input_directions": controlAttrInts(1)}, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2},
			wantY: []float32{9, 12}, wantZ: []float32{5, 6, 8, 10, 9, 12}, zShape: tensor.Shape{3, 2}},
		{name: "reverse output", opset: 9, attrs: map[string]ops.Attr{"scan_output_directions": controlAttrInts(1)}, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2},
			wantY: []float32{9, 12}, wantZ: []float32{9, 12, 4, 6, 1, 2}, zShape: tensor.Shape{3, 2}},
		{name: "input axis 1, output axis 1", opset: 9, attrs: map[string]ops.Attr{"scan_input_axes": controlAttrInts(1), "scan_output_axes": controlAttrInts(1)}, init: controlF32(t, []float32{0, 0, 0}, 3), elem: tensor.Shape{3},
			wantY: []float32{3, 7, 11}, wantZ: []float32{1, 3, 3, 7, 5, 11}, zShape: tensor.Shape{3, 2}},
		{name: "negative axes", opset: 11, attrs: map[string]ops.Attr{"scan_input_axes": controlAttrInts(-1), "scan_output_axes": controlAttrInts(-1)}, init: controlF32(t, []float32{0, 0, 0}, 3), elem: tensor.Shape{3},
			wantY: []float32{3, 7, 11}, wantZ: []float32{1, 3, 3, 7, 5, 11}, zShape: tensor.Shape{3, 2}},
		{name: "negative axes before 11", opset: 9, attrs: map[string]ops.Attr{"scan_input_axes": controlAttrInts(-1)}, init: controlF32(t, []float32{0, 0, 0}, 3), elem: tensor.Shape{3}, wantErr: true},
		{name: "axis out of range", opset: 11, attrs: map[string]ops.Attr{"scan_input_axes": controlAttrInts(2)}, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2}, wantErr: true},
		{name: "output axis out of range", opset: 11, attrs: map[string]ops.Attr{"scan_output_axes": controlAttrInts(2)}, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2}, wantErr: true},
		{name: "bad direction", opset: 11, attrs: map[string]ops.Attr{"scan_input_directions": controlAttrInts(2)}, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2}, wantErr: true},
		{name: "too many axes", opset: 11, attrs: map[string]ops.Attr{"scan_input_axes": controlAttrInts(0, 0)}, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2}, wantErr: true},
		{name: "bad num_scan_inputs", opset: 11, attrs: map[string]ops.Attr{"num_scan_inputs": controlAttrInt(3)}, init: controlF32(t, []float32{0, 0}, 2), elem: tensor.Shape{2}, wantErr: true},
		{name: "body fails on a wrong state", opset: 11, init: controlF32(t, []float32{0, 0, 0}, 3), elem: tensor.Shape{3}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attrs := map[string]ops.Attr{"body": controlAttrGraph(controlSumBody(tc.elem)), "num_scan_inputs": controlAttrInt(1)}
			for k, v := range tc.attrs {
				attrs[k] = v
			}
			out, _, err := controlRun(t, "Scan", tc.opset, attrs, 2, tc.init, x)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			controlWant(t, "y", out[0], tc.init.Shape(), tc.wantY)
			controlWant(t, "z", out[1], tc.zShape, tc.wantZ)
		})
	}
	// Scan inputs of different lengths.
	attrs := map[string]ops.Attr{"body": controlAttrGraph(&controlGraph{nin: 2, nout: 1, types: make([]ops.Type, 1)}), "num_scan_inputs": controlAttrInt(2)}
	if _, _, err := controlRun(t, "Scan", 11, attrs, 1, x, controlF32(t, []float32{1, 2}, 1, 2)); err == nil {
		t.Error("scan inputs of different lengths: no error")
	}
	// No steps: an empty scan output shaped by the body's declaration.
	attrs = map[string]ops.Attr{"body": controlAttrGraph(controlSumBody(tensor.Shape{2})), "num_scan_inputs": controlAttrInt(1)}
	out, _, err := controlRun(t, "Scan", 16, attrs, 2, controlF32(t, []float32{0, 0}, 2), controlF32(t, nil, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "empty z", out[1], tensor.Shape{0, 2}, []float32{})
}

func TestControlScan8(t *testing.T) {
	// Batch of 2, 3 steps of [2].
	x := controlF32(t, []float32{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}, 2, 3, 2)
	init := controlF32(t, []float32{0, 0, 0, 0}, 2, 2)
	attrs := func(extra map[string]ops.Attr) map[string]ops.Attr {
		a := map[string]ops.Attr{"body": controlAttrGraph(controlSumBody(tensor.Shape{2})), "num_scan_inputs": controlAttrInt(1)}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	out, _, err := controlRun(t, "Scan", 8, attrs(nil), 2, nil, init, x)
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "y", out[0], tensor.Shape{2, 2}, []float32{9, 12, 90, 120})
	controlWant(t, "z", out[1], tensor.Shape{2, 3, 2}, []float32{1, 2, 4, 6, 9, 12, 10, 20, 40, 60, 90, 120})

	// sequence_lens: the second entry stops after one step, the rest of its
	// scan output is zeros; reverse scans only the valid steps.
	lens := controlI64(t, []int64{3, 1}, 2)
	out, _, err = controlRun(t, "Scan", 8, attrs(map[string]ops.Attr{"directions": controlAttrInts(1)}), 2, lens, init, x)
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "y", out[0], tensor.Shape{2, 2}, []float32{9, 12, 10, 20})
	controlWant(t, "z", out[1], tensor.Shape{2, 3, 2}, []float32{5, 6, 8, 10, 9, 12, 10, 20, 0, 0, 0, 0})

	for name, in := range map[string][]ops.Value{
		"sequence_lens too long":  {controlI64(t, []int64{4, 1}, 2), init, x},
		"sequence_lens negative":  {controlI64(t, []int64{-1, 1}, 2), init, x},
		"sequence_lens too short": {controlI64(t, []int64{1}, 1), init, x},
		"batch sizes differ":      {nil, controlF32(t, []float32{0, 0}, 1, 2), x},
		"scan input of rank 1":    {nil, init, controlF32(t, []float32{1, 2}, 2)},
	} {
		if _, _, err := controlRun(t, "Scan", 8, attrs(nil), 2, in...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestControlSequenceOps(t *testing.T) {
	a, b, c := controlF32(t, []float32{1}, 1), controlF32(t, []float32{2, 3}, 2), controlF32(t, []float32{4}, 1)
	seq := controlSeq(a, b)
	one := func(op string, opset int, attrs map[string]ops.Attr, in ...ops.Value) ops.Value {
		t.Helper()
		out, _, err := controlRun(t, op, opset, attrs, 1, in...)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return out[0]
	}
	tensors := func(v ops.Value) []*tensor.Tensor {
		t.Helper()
		s, ok := v.(*ops.Sequence)
		if !ok {
			t.Fatalf("got %T, want a sequence", v)
		}
		return s.Tensors
	}

	if s := one("SequenceEmpty", 11, map[string]ops.Attr{"dtype": controlAttrInt(int64(tensor.Int64))}).(*ops.Sequence); s.DType != tensor.Int64 || len(s.Tensors) != 0 {
		t.Errorf("SequenceEmpty: %+v", s)
	}
	if s := one("SequenceEmpty", 11, nil).(*ops.Sequence); s.DType != tensor.Float32 {
		t.Errorf("SequenceEmpty default dtype %s", s.DType)
	}
	if got := tensors(one("SequenceConstruct", 11, nil, a, b, c)); len(got) != 3 || got[2] != c {
		t.Errorf("SequenceConstruct: %v", got)
	}
	if got := tensors(one("SequenceInsert", 11, nil, seq, c)); len(got) != 3 || got[2] != c {
		t.Errorf("SequenceInsert at the end: %v", got)
	}
	if got := tensors(one("SequenceInsert", 11, nil, seq, c, tensor.Scalar(int32(-2)))); len(got) != 3 || got[0] != c {
		t.Errorf("SequenceInsert at -2: %v", got)
	}
	if got := tensors(one("SequenceInsert", 11, nil, seq, c, tensor.Scalar(int64(2)))); len(got) != 3 || got[2] != c {
		t.Errorf("SequenceInsert at n: %v", got)
	}
	if len(seq.Tensors) != 2 {
		t.Fatal("SequenceInsert changed its input")
	}
	if got := one("SequenceAt", 11, nil, seq, tensor.Scalar(int64(-1))); got != b {
		t.Errorf("SequenceAt -1 gave %v", got)
	}
	if got := tensors(one("SequenceErase", 11, nil, seq)); len(got) != 1 || got[0] != a {
		t.Errorf("SequenceErase default: %v", got)
	}
	if got := tensors(one("SequenceErase", 11, nil, seq, tensor.Scalar(int64(0)))); len(got) != 1 || got[0] != b {
		t.Errorf("SequenceErase 0: %v", got)
	}
	controlWant(t, "SequenceLength", one("SequenceLength", 11, nil, seq), tensor.Shape{}, []int64{2})

	errs := []struct {
		name     string
		op       string
		attrs    map[string]ops.Attr
		in       []ops.Value
		prepared bool
	}{
		{"SequenceEmpty bad dtype", "SequenceEmpty", map[string]ops.Attr{"dtype": controlAttrInt(999)}, nil, false},
		{"SequenceEmpty undefined dtype", "SequenceEmpty", map[string]ops.Attr{"dtype": controlAttrInt(0)}, nil, false},
		{"SequenceConstruct mixed types", "SequenceConstruct", nil, []ops.Value{a, tensor.Scalar(int64(1))}, false},
		{"SequenceConstruct of a sequence", "SequenceConstruct", nil, []ops.Value{seq}, false},
		{"SequenceInsert wrong type", "SequenceInsert", nil, []ops.Value{seq, tensor.Scalar(int64(1))}, false},
		{"SequenceInsert into a tensor", "SequenceInsert", nil, []ops.Value{a, c}, false},
		{"SequenceInsert position out of range", "SequenceInsert", nil, []ops.Value{seq, c, tensor.Scalar(int64(3))}, true},
		{"SequenceInsert position below range", "SequenceInsert", nil, []ops.Value{seq, c, tensor.Scalar(int64(-3))}, true},
		{"SequenceInsert float position", "SequenceInsert", nil, []ops.Value{seq, c, tensor.Scalar(float32(1))}, false},
		{"SequenceInsert position not scalar", "SequenceInsert", nil, []ops.Value{seq, c, controlI64(t, []int64{0, 1}, 2)}, false},
		{"SequenceAt out of range", "SequenceAt", nil, []ops.Value{seq, tensor.Scalar(int64(2))}, true},
		{"SequenceAt below range", "SequenceAt", nil, []ops.Value{seq, tensor.Scalar(int64(-3))}, true},
		{"SequenceAt of an empty sequence", "SequenceAt", nil, []ops.Value{controlSeq(), tensor.Scalar(int64(0))}, true},
		{"SequenceErase empty", "SequenceErase", nil, []ops.Value{controlSeq()}, true},
		{"SequenceErase out of range", "SequenceErase", nil, []ops.Value{seq, tensor.Scalar(int64(2))}, true},
		{"SequenceLength of a tensor", "SequenceLength", nil, []ops.Value{a}, false},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, prepared, err := controlRun(t, tc.op, 11, tc.attrs, 1, tc.in...)
			if err == nil {
				t.Fatal("no error")
			}
			if prepared != tc.prepared {
				t.Fatalf("prepared %v, want %v: %v", prepared, tc.prepared, err)
			}
		})
	}
}

func TestControlSplitConcat(t *testing.T) {
	x := controlF32(t, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2, 5)
	split := func(attrs map[string]ops.Attr, in ...ops.Value) ([]*tensor.Tensor, error) {
		out, _, err := controlRun(t, "SplitToSequence", 11, attrs, 1, in...)
		if err != nil {
			return nil, err
		}
		return out[0].(*ops.Sequence).Tensors, nil
	}
	axis1 := map[string]ops.Attr{"axis": controlAttrInt(1)}
	parts, err := split(axis1, x, tensor.Scalar(int64(2)))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("scalar split: %d parts, want 3", len(parts))
	}
	controlWant(t, "part 0", parts[0], tensor.Shape{2, 2}, []float32{1, 2, 6, 7})
	controlWant(t, "last part", parts[2], tensor.Shape{2, 1}, []float32{5, 10})

	parts, err = split(axis1, x, controlI64(t, []int64{1, 0, 4}, 3))
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "empty part", parts[1], tensor.Shape{2, 0}, []float32{})
	controlWant(t, "part of 4", parts[2], tensor.Shape{2, 4}, []float32{2, 3, 4, 5, 7, 8, 9, 10})

	parts, err = split(map[string]ops.Attr{"axis": controlAttrInt(-2), "keepdims": controlAttrInt(0)}, x)
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "squeezed row", parts[1], tensor.Shape{5}, []float32{6, 7, 8, 9, 10})
	parts, err = split(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "kept row", parts[0], tensor.Shape{1, 5}, []float32{1, 2, 3, 4, 5})

	for name, c := range map[string]struct {
		attrs map[string]ops.Attr
		in    []ops.Value
	}{
		"split does not add up": {axis1, []ops.Value{x, controlI64(t, []int64{1, 2}, 2)}},
		"split too long":        {axis1, []ops.Value{x, controlI64(t, []int64{4, 4, -3}, 3)}},
		"negative split":        {axis1, []ops.Value{x, controlI64(t, []int64{6, -1}, 2)}},
		"zero scalar split":     {axis1, []ops.Value{x, tensor.Scalar(int64(0))}},
		"split of rank 2":       {axis1, []ops.Value{x, controlI64(t, []int64{5}, 1, 1)}},
		"float split":           {axis1, []ops.Value{x, tensor.Scalar(float32(1))}},
		"axis out of range":     {map[string]ops.Attr{"axis": controlAttrInt(2)}, []ops.Value{x}},
		"scalar input":          {nil, []ops.Value{tensor.Scalar(float32(1))}},
	} {
		if _, err := split(c.attrs, c.in...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	concat := func(attrs map[string]ops.Attr, s *ops.Sequence) (ops.Value, error) {
		out, _, err := controlRun(t, "ConcatFromSequence", 11, attrs, 1, s)
		if err != nil {
			return nil, err
		}
		return out[0], nil
	}
	p, q := controlF32(t, []float32{1, 2, 3, 4}, 2, 2), controlF32(t, []float32{5, 6}, 2, 1)
	got, err := concat(axis1, controlSeq(p, q))
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "concat axis 1", got, tensor.Shape{2, 3}, []float32{1, 2, 5, 3, 4, 6})
	got, err = concat(map[string]ops.Attr{"axis": controlAttrInt(-1), "new_axis": controlAttrInt(1)}, controlSeq(p, p))
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "stack at -1", got, tensor.Shape{2, 2, 2}, []float32{1, 1, 2, 2, 3, 3, 4, 4})
	got, err = concat(map[string]ops.Attr{"axis": controlAttrInt(0), "new_axis": controlAttrInt(1)}, controlSeq(p, p))
	if err != nil {
		t.Fatal(err)
	}
	controlWant(t, "stack at 0", got, tensor.Shape{2, 2, 2}, []float32{1, 2, 3, 4, 1, 2, 3, 4})
	for name, c := range map[string]struct {
		attrs map[string]ops.Attr
		s     *ops.Sequence
	}{
		"empty sequence":      {axis1, controlSeq()},
		"shapes differ":       {map[string]ops.Attr{"axis": controlAttrInt(0)}, controlSeq(p, q)},
		"stacking differ":     {map[string]ops.Attr{"axis": controlAttrInt(0), "new_axis": controlAttrInt(1)}, controlSeq(p, q)},
		"ranks differ":        {axis1, controlSeq(p, controlF32(t, []float32{1}, 1))},
		"axis out of range":   {map[string]ops.Attr{"axis": controlAttrInt(2)}, controlSeq(p)},
		"new axis too far":    {map[string]ops.Attr{"axis": controlAttrInt(3), "new_axis": controlAttrInt(1)}, controlSeq(p)},
		"bad new_axis":        {map[string]ops.Attr{"axis": controlAttrInt(0), "new_axis": controlAttrInt(2)}, controlSeq(p)},
		"axis missing":        {nil, controlSeq(p)},
		"mixed element types": {axis1, &ops.Sequence{DType: tensor.Float32, Tensors: []*tensor.Tensor{p, controlI64(t, []int64{1, 2}, 2, 1)}}},
	} {
		if _, err := concat(c.attrs, c.s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestControlSequenceMap(t *testing.T) {
	// body(x, y, k) = (x + y + k, shape of x)
	body := &controlGraph{nin: 3, nout: 2, types: []ops.Type{ops.TensorType(tensor.Float32, nil), ops.TensorType(tensor.Int64, tensor.Shape{1})},
		fn: func(_ context.Context, in []ops.Value) ([]ops.Value, error) {
			x, _ := tensor.ToSlice[float32](in[0].(*tensor.Tensor))
			y, _ := tensor.ToSlice[float32](in[1].(*tensor.Tensor))
			k, _ := tensor.ToSlice[float32](in[2].(*tensor.Tensor))
			r := tensor.Scalar(x[0] + y[0] + k[0])
			n, _ := tensor.FromSlice([]int64{int64(len(x))}, 1)
			return []ops.Value{r, n}, nil
		}}
	attrs := map[string]ops.Attr{"body": controlAttrGraph(body)}
	xs := controlSeq(controlF32(t, []float32{1}, 1), controlF32(t, []float32{2, 0}, 2))
	ys := controlSeq(controlF32(t, []float32{10}, 1), controlF32(t, []float32{20}, 1))
	k := tensor.Scalar(float32(100))
	out, _, err := controlRun(t, "SequenceMap", 17, attrs, 2, xs, ys, k)
	if err != nil {
		t.Fatal(err)
	}
	sums, shapes := out[0].(*ops.Sequence), out[1].(*ops.Sequence)
	controlWant(t, "sum 1", sums.Tensors[1], tensor.Shape{}, []float32{122})
	controlWant(t, "shape 1", shapes.Tensors[1], tensor.Shape{1}, []int64{2})
	if shapes.DType != tensor.Int64 {
		t.Errorf("shapes sequence of %s", shapes.DType)
	}
	// An empty input maps to empty sequences of the declared types.
	out, _, err = controlRun(t, "SequenceMap", 17, attrs, 2, controlSeq(), controlSeq(), k)
	if err != nil {
		t.Fatal(err)
	}
	if s := out[1].(*ops.Sequence); len(s.Tensors) != 0 || s.DType != tensor.Int64 {
		t.Errorf("empty map: %+v", s)
	}
	for name, in := range map[string][]ops.Value{
		"lengths differ":     {xs, controlSeq(controlF32(t, []float32{1}, 1)), k},
		"first not sequence": {k, ys, k},
		"inputs short":       {xs, ys},
	} {
		if _, _, err := controlRun(t, "SequenceMap", 17, attrs, 2, in...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := controlRun(t, "SequenceMap", 17, attrs, 1, xs, ys, k); err == nil {
		t.Error("output count differs from the body's: no error")
	}
}

func TestControlOptional(t *testing.T) {
	x := controlF32(t, []float32{1, 2}, 2)
	seqType := ops.Type{Kind: ops.KindSequence, DType: tensor.Int32, Elem: &ops.Type{Kind: ops.KindTensor, DType: tensor.Int32, UnknownRank: true}}
	typeAttr := map[string]ops.Attr{"type": {Type: ops.AttrTypeProto, TypeVal: &seqType}}

	out, _, err := controlRun(t, "Optional", 15, nil, 1, x)
	if err != nil {
		t.Fatal(err)
	}
	full := out[0].(*ops.Optional)
	if full.Value != x || full.Elem.Kind != ops.KindTensor || full.Elem.DType != tensor.Float32 {
		t.Errorf("Optional(x): %+v", full)
	}
	out, _, err = controlRun(t, "Optional", 15, typeAttr, 1)
	if err != nil {
		t.Fatal(err)
	}
	empty := out[0].(*ops.Optional)
	if empty.Value != nil || empty.Elem.Kind != ops.KindSequence || empty.Elem.DType != tensor.Int32 {
		t.Errorf("Optional(type=seq): %+v", empty)
	}

	has := func(opset int, in ...ops.Value) (bool, error) {
		out, _, err := controlRun(t, "OptionalHasElement", opset, nil, 1, in...)
		if err != nil {
			return false, err
		}
		b, _ := tensor.ToSlice[bool](out[0].(*tensor.Tensor))
		return b[0], nil
	}
	for _, c := range []struct {
		name  string
		opset int
		in    []ops.Value
		want  bool
	}{
		{"full", 15, []ops.Value{full}, true},
		{"empty", 15, []ops.Value{empty}, false},
		{"tensor", 18, []ops.Value{x}, true},
		{"sequence", 18, []ops.Value{controlSeq(x)}, true},
		{"omitted", 18, []ops.Value{nil}, false},
		{"no input", 18, nil, false},
	} {
		got, err := has(c.opset, c.in...)
		if err != nil {
			t.Errorf("OptionalHasElement %s: %v", c.name, err)
		} else if got != c.want {
			t.Errorf("OptionalHasElement %s = %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := has(15, nil); err == nil {
		t.Error("OptionalHasElement-15 without input: no error")
	}

	get := func(opset int, in ops.Value) (ops.Value, bool, error) {
		out, prepared, err := controlRun(t, "OptionalGetElement", opset, nil, 1, in)
		if err != nil {
			return nil, prepared, err
		}
		return out[0], true, nil
	}
	if v, _, err := get(15, full); err != nil || v != x {
		t.Errorf("OptionalGetElement(full) = %v, %v", v, err)
	}
	if v, _, err := get(18, x); err != nil || v != x {
		t.Errorf("OptionalGetElement-18(tensor) = %v, %v", v, err)
	}
	if _, prepared, err := get(15, empty); err == nil || !prepared {
		t.Errorf("OptionalGetElement(empty): %v (prepared %v), want a run-time error", err, prepared)
	}
	if _, prepared, err := get(18, nil); err == nil || prepared {
		t.Errorf("OptionalGetElement(nothing): %v (prepared %v), want a prepare error", err, prepared)
	}

	for name, c := range map[string]struct {
		attrs map[string]ops.Attr
		in    []ops.Value
	}{
		"no input, no type":            {nil, nil},
		"type not a type":              {map[string]ops.Attr{"type": controlAttrInt(1)}, nil},
		"optional of optional":         {nil, []ops.Value{full}},
		"optional type of an optional": {map[string]ops.Attr{"type": {Type: ops.AttrTypeProto, TypeVal: &ops.Type{Kind: ops.KindOptional}}}, nil},
	} {
		if _, _, err := controlRun(t, "Optional", 15, c.attrs, 1, c.in...); err == nil {
			t.Errorf("Optional %s: no error", name)
		} else if !strings.Contains(err.Error(), "Optional") {
			t.Errorf("Optional %s: error %q does not name the node", name, err)
		}
	}
}
