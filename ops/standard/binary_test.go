package standard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// eager prepares one node of the standard set and runs it on a CPU stream.
type eager struct {
	t   *testing.T
	reg *ops.Registry
	s   runtime.Stream
	dev runtime.Device
}

func newEager(t *testing.T) *eager {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cpu.New(cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	s, err := b.Device().NewStream()
	if err != nil {
		t.Fatal(err)
	}
	return &eager{t: t, reg: reg, s: s, dev: b.Device()}
}

func (e *eager) prepare(op string, opset int, attrs map[string]ops.Attr, in ...*tensor.Tensor) (*ops.Executor, error) {
	types := make([]ops.Type, len(in))
	for i, t := range in {
		types[i] = ops.TypeOf(t)
	}
	return e.reg.Prepare(&ops.Node{OpType: op, Opset: opset, Attrs: ops.NewAttrs(attrs), Inputs: types, NumOutputs: 1})
}

func (e *eager) run(x *ops.Executor, in ...*tensor.Tensor) (*tensor.Tensor, error) {
	vals := make([]ops.Value, len(in))
	for i, t := range in {
		vals[i] = t
	}
	outs, err := x.Run(context.Background(), e.s, e.dev, vals...)
	if err != nil {
		return nil, err
	}
	if err := e.s.Synchronize(context.Background()); err != nil {
		return nil, err
	}
	return outs[0].(*tensor.Tensor), nil
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// The eager API: prepare once, run many times; new shapes prepare again.
func TestEagerAdd(t *testing.T) {
	e := newEager(t)
	f := must[*tensor.Tensor](t)
	a := f(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	b := f(tensor.FromSlice([]float32{10, 20, 30}, 3))
	x := must[*ops.Executor](t)(e.prepare("Add", 14, nil, a, b))
	if got := x.Outputs()[0].String(); got != "float32[2 3]" {
		t.Errorf("planned output %s", got)
	}
	for i := 0; i < 3; i++ {
		y := f(e.run(x, a, b))
		got := fmt.Sprint(must[[]float32](t)(tensor.ToSlice[float32](y)))
		if got != "[11 22 33 14 25 36]" {
			t.Fatalf("run %d: %s", i, got)
		}
	}
	col := f(tensor.FromSlice([]float32{100, 200}, 2, 1))
	y := f(e.run(x, a, col)) // a different shape for B: prepared again
	if got := fmt.Sprint(must[[]float32](t)(tensor.ToSlice[float32](y))); got != "[101 102 103 204 205 206]" {
		t.Errorf("broadcast column: %s", got)
	}
	if _, err := e.run(x, a, f(tensor.FromSlice([]int32{1, 2, 3}, 3))); !errors.Is(err, ops.ErrInvalidNode) {
		t.Errorf("dtype change: err = %v", err)
	}
}

func TestBinaryEdgeCases(t *testing.T) {
	e := newEager(t)
	f := must[*tensor.Tensor](t)
	ints := map[string]ops.Attr{"broadcast": {Type: ops.AttrInt, Int: 1}, "axis": {Type: ops.AttrInt, Int: 1}}
	tests := []struct {
		name    string
		op      string
		opset   int
		attrs   map[string]ops.Attr
		in      []*tensor.Tensor
		want    string
		wantErr string
	}{
		{name: "legacy broadcast at axis", op: "Add", opset: 6, attrs: ints,
			in:   []*tensor.Tensor{f(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 3)), f(tensor.FromSlice([]float32{10, 20}, 2))},
			want: "[11 12 13 24 25 26]"},
		{name: "legacy without broadcast needs equal shapes", op: "Add", opset: 6,
			in:      []*tensor.Tensor{f(tensor.FromSlice([]float32{1, 2}, 2)), f(tensor.FromSlice([]float32{1}, 1))},
			wantErr: "broadcast is not set"},
		{name: "not broadcastable", op: "Mul", opset: 14,
			in:      []*tensor.Tensor{f(tensor.FromSlice([]float32{1, 2, 3}, 3)), f(tensor.FromSlice([]float32{1, 2}, 2))},
			wantErr: "not broadcastable"},
		{name: "integer division by zero", op: "Div", opset: 14,
			in:      []*tensor.Tensor{f(tensor.FromSlice([]int32{4, 6}, 2)), f(tensor.FromSlice([]int32{2, 0}, 2))},
			wantErr: "division by zero"},
		{name: "integer division truncates", op: "Div", opset: 14,
			in:   []*tensor.Tensor{f(tensor.FromSlice([]int64{7, -7}, 2)), f(tensor.FromSlice([]int64{2, 2}, 2))},
			want: "[3 -3]"},
		{name: "uint8 wraps", op: "Add", opset: 14,
			in:   []*tensor.Tensor{f(tensor.FromSlice([]uint8{250}, 1)), f(tensor.FromSlice([]uint8{10}, 1))},
			want: "[4]"},
		{name: "string equality", op: "Equal", opset: 19,
			in:   []*tensor.Tensor{f(tensor.FromSlice([]string{"a", "b"}, 2)), f(tensor.FromSlice([]string{"a"}, 1))},
			want: "[true false]"},
		{name: "mixed types", op: "Sub", opset: 14,
			in:      []*tensor.Tensor{f(tensor.FromSlice([]float32{1}, 1)), f(tensor.FromSlice([]float64{1}, 1))},
			wantErr: "must match"},
		{name: "bool arithmetic", op: "Add", opset: 14,
			in:      []*tensor.Tensor{f(tensor.FromSlice([]bool{true}, 1)), f(tensor.FromSlice([]bool{true}, 1))},
			wantErr: "want one of"},
		{name: "float16 via float32", op: "Mul", opset: 14,
			in:   []*tensor.Tensor{f(tensor.FromSlice([]tensor.F16{tensor.Float16FromFloat32(1.5)}, 1)), f(tensor.FromSlice([]tensor.F16{tensor.Float16FromFloat32(2)}, 1))},
			want: "[3]"},
		{name: "empty", op: "Add", opset: 14,
			in:   []*tensor.Tensor{f(tensor.New(tensor.Float32, tensor.Shape{0, 3})), f(tensor.FromSlice([]float32{1, 2, 3}, 3))},
			want: "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := e.prepare(tt.op, tt.opset, tt.attrs, tt.in...)
			var y *tensor.Tensor
			if err == nil {
				y, err = e.run(x, tt.in...)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ops.ErrInvalidNode) {
					t.Fatalf("err = %v, want ErrInvalidNode containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := valuesString(t, y); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func valuesString(t *testing.T, y *tensor.Tensor) string {
	t.Helper()
	switch y.DType() {
	case tensor.Float32:
		return fmt.Sprint(must[[]float32](t)(tensor.ToSlice[float32](y)))
	case tensor.Int32:
		return fmt.Sprint(must[[]int32](t)(tensor.ToSlice[int32](y)))
	case tensor.Int64:
		return fmt.Sprint(must[[]int64](t)(tensor.ToSlice[int64](y)))
	case tensor.Uint8:
		return fmt.Sprint(must[[]uint8](t)(tensor.ToSlice[uint8](y)))
	case tensor.Bool:
		return fmt.Sprint(must[[]bool](t)(tensor.ToSlice[bool](y)))
	case tensor.Float16:
		v := must[[]tensor.F16](t)(tensor.ToSlice[tensor.F16](y))
		out := make([]float32, len(v))
		for i, h := range v {
			out[i] = h.Float32()
		}
		return fmt.Sprint(out)
	}
	return y.String()
}
