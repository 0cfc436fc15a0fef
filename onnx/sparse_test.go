package onnx

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

func int64Proto(name string, dims []int64, vals ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(tensor.Int64)), Dims: dims, Int64Data: vals}
}

func TestSparseToDense(t *testing.T) {
	floats := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(tensor.Float32)), Dims: []int64{3}, FloatData: []float32{1, 2, 3}}
	strs := &onnxpb.TensorProto{Name: proto.String("s"), DataType: proto.Int32(int32(tensor.String)), Dims: []int64{1}, StringData: [][]byte{[]byte("x")}}
	tests := []struct {
		name    string
		sp      *onnxpb.SparseTensorProto
		want    string
		wantErr bool
	}{
		{name: "linear indices", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{3}, 0, 4, 5), Dims: []int64{2, 3}},
			want: "[1 0 0 0 2 3]"},
		{name: "coordinate indices", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{3, 2}, 0, 1, 1, 0, 1, 2), Dims: []int64{2, 3}},
			want: "[0 1 0 2 0 3]"},
		{name: "strings", sp: &onnxpb.SparseTensorProto{Values: strs, Indices: int64Proto("", []int64{1}, 1), Dims: []int64{3}},
			want: `[ x ]`},
		{name: "index out of range", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{3}, 0, 4, 6), Dims: []int64{2, 3}}, wantErr: true},
		{name: "negative index", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{3}, -1, 1, 2), Dims: []int64{2, 3}}, wantErr: true},
		{name: "coordinate out of range", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{3, 2}, 0, 3, 1, 0, 1, 2), Dims: []int64{2, 3}}, wantErr: true},
		{name: "index shape mismatch", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{2}, 0, 1), Dims: []int64{2, 3}}, wantErr: true},
		{name: "no indices", sp: &onnxpb.SparseTensorProto{Values: floats, Dims: []int64{2, 3}}, wantErr: true},
		{name: "negative dims", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{3}, 0, 1, 2), Dims: []int64{-2, 3}}, wantErr: true},
		{name: "absurd dims", sp: &onnxpb.SparseTensorProto{Values: floats, Indices: int64Proto("", []int64{3}, 0, 1, 2), Dims: []int64{1 << 40, 1 << 20}}, wantErr: true},
		{name: "no values", sp: &onnxpb.SparseTensorProto{Dims: []int64{3}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := sparseToDense(tt.sp, newOptions(nil))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; got %v", d)
				}
				if !errors.Is(err, ErrInvalidModel) && !errors.Is(err, runtime.ErrUnsupported) {
					t.Errorf("error without a sentinel: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if d.DType() == tensor.String {
				s, _ := d.Strings()
				got = fmt.Sprint(s)
			} else {
				v, _ := tensor.ToSlice[float32](d)
				got = fmt.Sprint(v)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
