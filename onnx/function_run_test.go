package onnx_test

import (
	"context"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/tensor"
)

// The inlined functions compute what they should: y = Leaky(2x, 0.5) + Leaky(x, 0.01).
func TestInlinedFunctionsRun(t *testing.T) {
	b, err := proto.Marshal(onnx.FunctionModel())
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.LoadBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x, _ := tensor.FromSlice([]float32{-2, 3})
	outs, err := m.Run(context.Background(), map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tensor.ToSlice[float32](outs[0])
	want := []float32{-2.02, 9}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Errorf("y = %v, want %v", got, want)
		}
	}
}
