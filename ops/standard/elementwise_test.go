package standard

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// ewT builds a tensor from a slice and a shape, failing the test on error.
func ewT[T tensor.Element](t *testing.T, data []T, shape ...int) *tensor.Tensor {
	t.Helper()
	if shape == nil {
		shape = []int{len(data)}
	}
	x, err := tensor.FromSlice(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func ewScalar[T tensor.Element](t *testing.T, v T) *tensor.Tensor {
	t.Helper()
	return ewT(t, []T{v}, []int{}...)
}

// ewRun prepares op at the opset for these inputs (nil: omitted) and runs
// its kernel on a two-worker pool.
func ewRun(t *testing.T, op string, opset int, attrs map[string]ops.Attr, nout int, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	o, err := reg.Lookup("", op, opset)
	if err != nil {
		t.Fatal(err)
	}
	types := make([]ops.Type, len(in))
	for i, x := range in {
		if x != nil {
			types[i] = ops.TypeOf(x)
			types[i].Value = nil
		}
	}
	n := &ops.Node{OpType: op, Opset: opset, Attrs: ops.NewAttrs(attrs), Inputs: types, NumOutputs: nout}
	plan, err := ops.PrepareOp(o, n)
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(plan.Outputs))
	for i, ot := range plan.Outputs {
		if ot.Static() {
			if out[i], err = tensor.New(ot.DType, ot.Shape); err != nil {
				t.Fatal(err)
			}
		}
	}
	w := cpu.NewWorkers(2)
	defer w.Close()
	if err := plan.Kernel(&ops.Env{Workers: w}, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func ewInt(v int64) ops.Attr     { return ops.Attr{Type: ops.AttrInt, Int: v} }
func ewFloat(v float32) ops.Attr { return ops.Attr{Type: ops.AttrFloat, Float: v} }
func ewStr(v string) ops.Attr    { return ops.Attr{Type: ops.AttrString, String: v} }

func ewValues[T tensor.Element](t *testing.T, x *tensor.Tensor) []T {
	t.Helper()
	v, err := tensor.ToSlice[T](x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestElementwiseErrors(t *testing.T) {
	f32 := ewT(t, []float32{1, 2, 3})
	i32 := ewT(t, []int32{1, 0, 3})
	u8 := ewT(t, []uint8{1, 2, 3})
	str := ewT(t, []string{"a", "b", "c"})
	b := ewT(t, []bool{true, false, true})
	cases := []struct {
		name  string
		op    string
		opset int
		attrs map[string]ops.Attr
		nout  int
		in    []*tensor.Tensor
	}{
		{"abs of strings", "Abs", 13, nil, 1, []*tensor.Tensor{str}},
		{"sqrt of ints", "Sqrt", 13, nil, 1, []*tensor.Tensor{i32}},
		{"neg of unsigned", "Neg", 13, nil, 1, []*tensor.Tensor{u8}},
		{"relu of ints before 14", "Relu", 13, nil, 1, []*tensor.Tensor{i32}},
		{"not of floats", "Not", 1, nil, 1, []*tensor.Tensor{f32}},
		{"bitwise not of floats", "BitwiseNot", 18, nil, 1, []*tensor.Tensor{f32}},
		{"gelu bad approximate", "Gelu", 20, map[string]ops.Attr{"approximate": ewStr("erf")}, 1, []*tensor.Tensor{f32}},
		{"celu zero alpha", "Celu", 12, map[string]ops.Attr{"alpha": ewFloat(0)}, 1, []*tensor.Tensor{f32}},
		{"elu alpha of wrong type", "Elu", 6, map[string]ops.Attr{"alpha": ewInt(1)}, 1, []*tensor.Tensor{f32}},
		{"isnan of ints", "IsNaN", 13, nil, 1, []*tensor.Tensor{i32}},
		{"mod by zero", "Mod", 13, nil, 1, []*tensor.Tensor{i32, i32}},
		{"mod fmod=1 by zero", "Mod", 13, map[string]ops.Attr{"fmod": ewInt(1)}, 1, []*tensor.Tensor{i32, i32}},
		{"mod float without fmod", "Mod", 13, nil, 1, []*tensor.Tensor{f32, f32}},
		{"mod fmod=2", "Mod", 13, map[string]ops.Attr{"fmod": ewInt(2)}, 1, []*tensor.Tensor{u8, u8}},
		{"mod mixed types", "Mod", 13, nil, 1, []*tensor.Tensor{u8, i32}},
		{"bitshift no direction", "BitShift", 11, nil, 1, []*tensor.Tensor{u8, u8}},
		{"bitshift bad direction", "BitShift", 11, map[string]ops.Attr{"direction": ewStr("UP")}, 1, []*tensor.Tensor{u8, u8}},
		{"bitshift signed", "BitShift", 11, map[string]ops.Attr{"direction": ewStr("LEFT")}, 1, []*tensor.Tensor{i32, i32}},
		{"bitwise and floats", "BitwiseAnd", 18, nil, 1, []*tensor.Tensor{f32, f32}},
		{"bitwise or not broadcastable", "BitwiseOr", 18, nil, 1, []*tensor.Tensor{u8, ewT(t, []uint8{1, 2})}},
		{"pow zero to negative", "Pow", 15, nil, 1, []*tensor.Tensor{ewT(t, []int32{0}), ewT(t, []int32{-1})}},
		{"pow of strings", "Pow", 15, nil, 1, []*tensor.Tensor{str, f32}},
		{"pow uint8 base", "Pow", 15, nil, 1, []*tensor.Tensor{u8, u8}},
		{"pow mixed types before 12", "Pow", 7, nil, 1, []*tensor.Tensor{f32, i32}},
		{"pow not broadcastable", "Pow", 13, nil, 1, []*tensor.Tensor{f32, ewT(t, []float32{1, 2})}},
		{"prelu slope too big", "PRelu", 16, nil, 1, []*tensor.Tensor{f32, ewT(t, []float32{1, 2, 3, 4}, 4)}},
		{"prelu slope wider than x", "PRelu", 16, nil, 1, []*tensor.Tensor{f32, ewT(t, []float32{1, 2, 3, 4, 5, 6}, 2, 3)}},
		{"prelu type mismatch", "PRelu", 16, nil, 1, []*tensor.Tensor{f32, ewT(t, []float64{1})}},
		{"max shapes differ before 8", "Max", 6, nil, 1, []*tensor.Tensor{f32, ewT(t, []float32{1})}},
		{"max not broadcastable", "Max", 13, nil, 1, []*tensor.Tensor{f32, ewT(t, []float32{1, 2})}},
		{"max mixed types", "Max", 13, nil, 1, []*tensor.Tensor{f32, i32}},
		{"sum of ints", "Sum", 13, nil, 1, []*tensor.Tensor{i32, i32}},
		{"min of ints before 12", "Min", 8, nil, 1, []*tensor.Tensor{i32}},
		{"clip bound not scalar", "Clip", 13, nil, 1, []*tensor.Tensor{f32, f32}},
		{"clip bound of another type", "Clip", 13, nil, 1, []*tensor.Tensor{f32, ewScalar(t, 1.0)}},
		{"clip inputs before 11", "Clip", 6, nil, 1, []*tensor.Tensor{f32, ewScalar(t, float32(0))}},
		{"clip ints before 12", "Clip", 11, nil, 1, []*tensor.Tensor{i32}},
		{"where condition not bool", "Where", 16, nil, 1, []*tensor.Tensor{i32, f32, f32}},
		{"where types differ", "Where", 16, nil, 1, []*tensor.Tensor{b, f32, i32}},
		{"where not broadcastable", "Where", 16, nil, 1, []*tensor.Tensor{b, f32, ewT(t, []float32{1, 2})}},
		{"cast without to", "Cast", 13, nil, 1, []*tensor.Tensor{f32}},
		{"cast to unknown type", "Cast", 13, map[string]ops.Attr{"to": ewInt(99)}, 1, []*tensor.Tensor{f32}},
		{"cast to complex", "Cast", 13, map[string]ops.Attr{"to": ewInt(int64(tensor.Complex64))}, 1, []*tensor.Tensor{f32}},
		{"cast bad type name", "Cast", 1, map[string]ops.Attr{"to": ewStr("QUATERNION")}, 1, []*tensor.Tensor{f32}},
		{"cast unparsable string", "Cast", 13, map[string]ops.Attr{"to": ewInt(int64(tensor.Float32))}, 1, []*tensor.Tensor{str}},
		{"cast unparsable int", "Cast", 13, map[string]ops.Attr{"to": ewInt(int64(tensor.Int64))}, 1, []*tensor.Tensor{ewT(t, []string{"12x"})}},
		{"castlike to complex", "CastLike", 15, nil, 1, []*tensor.Tensor{f32, ewT(t, []complex64{1})}},
		{"dropout ratio 1 in training", "Dropout", 13, nil, 1, []*tensor.Tensor{f32, ewScalar(t, float32(1)), ewScalar(t, true)}},
		{"dropout negative ratio in training", "Dropout", 13, nil, 1, []*tensor.Tensor{f32, ewScalar(t, float32(-0.5)), ewScalar(t, true)}},
		{"dropout of ints", "Dropout", 13, nil, 1, []*tensor.Tensor{i32}},
		{"dropout training_mode not bool", "Dropout", 13, nil, 1, []*tensor.Tensor{f32, nil, f32}},
		{"dropout training_mode not scalar", "Dropout", 13, nil, 1, []*tensor.Tensor{f32, nil, b}},
		{"dropout inputs before 12", "Dropout", 10, nil, 1, []*tensor.Tensor{f32, ewScalar(t, float32(0.5))}},
		{"shrink of strings", "Shrink", 9, nil, 1, []*tensor.Tensor{str}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := ewRun(t, c.op, c.opset, c.attrs, c.nout, c.in...)
			if err == nil {
				t.Fatalf("no error; output %v", out)
			}
			if !errors.Is(err, ops.ErrInvalidNode) {
				t.Errorf("error %v does not wrap ErrInvalidNode", err)
			}
		})
	}
}

// ewCheck runs a case and compares its first output with want.
func ewCheck[T tensor.Element](t *testing.T, op string, opset int, attrs map[string]ops.Attr, want []T, in ...*tensor.Tensor) {
	t.Helper()
	out, err := ewRun(t, op, opset, attrs, 1, in...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	got := ewValues[T](t, out[0])
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", op, got, want)
	}
	for i := range got {
		g, w := any(got[i]), any(want[i])
		if gf, ok := g.(float32); ok {
			g, w = float64(gf), float64(w.(float32))
		}
		if gf, ok := g.(float64); ok {
			wf := w.(float64)
			if math.IsNaN(wf) && math.IsNaN(gf) || math.Abs(gf-wf) <= 1e-6*max(1, math.Abs(wf)) {
				continue
			}
		}
		if g != w {
			t.Fatalf("%s: got %v, want %v", op, got, want)
		}
	}
}

func TestElementwiseValues(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	t.Run("round half to even", func(t *testing.T) {
		ewCheck(t, "Round", 11, nil, []float32{0, 2, 2, -2, -0, 1}, ewT(t, []float32{0.5, 1.5, 2.5, -2.5, -0.4, 0.6}))
	})
	t.Run("integer abs neg sign relu", func(t *testing.T) {
		x := ewT(t, []int8{-128, -3, 0, 5})
		ewCheck(t, "Abs", 13, nil, []int8{-128, 3, 0, 5}, x)
		ewCheck(t, "Neg", 13, nil, []int8{-128, 3, 0, -5}, x)
		ewCheck(t, "Sign", 13, nil, []int8{-1, -1, 0, 1}, x)
		ewCheck(t, "Relu", 14, nil, []int8{0, 0, 0, 5}, x)
		ewCheck(t, "Abs", 13, nil, []uint64{math.MaxUint64, 0}, ewT(t, []uint64{math.MaxUint64, 0}))
		ewCheck(t, "Sign", 13, nil, []uint16{1, 0}, ewT(t, []uint16{7, 0}))
		ewCheck(t, "BitwiseNot", 18, nil, []uint8{0xfe, 0}, ewT(t, []uint8{1, 0xff}))
	})
	t.Run("float special values", func(t *testing.T) {
		x := ewT(t, []float32{nan, inf, -inf, -1, 0})
		ewCheck(t, "Sign", 13, nil, []float32{nan, 1, -1, -1, 0}, x)
		ewCheck(t, "IsNaN", 13, nil, []bool{true, false, false, false, false}, x)
		ewCheck(t, "IsInf", 10, nil, []bool{false, true, true, false, false}, x)
		ewCheck(t, "IsInf", 10, map[string]ops.Attr{"detect_negative": ewInt(0)}, []bool{false, true, false, false, false}, x)
		ewCheck(t, "IsInf", 10, map[string]ops.Attr{"detect_positive": ewInt(0)}, []bool{false, false, true, false, false}, x)
		ewCheck(t, "Sigmoid", 13, nil, []float32{nan, 1, 0, float32(1 / (1 + math.E)), 0.5}, x)
		ewCheck(t, "Softplus", 1, nil, []float32{nan, inf, 0, float32(math.Log1p(math.Exp(-1))), float32(math.Ln2)}, x)
		ewCheck(t, "Softplus", 1, nil, []float32{1000}, ewT(t, []float32{1000}))
	})
	t.Run("activations", func(t *testing.T) {
		x := ewT(t, []float32{-2, -0.25, 0, 0.25, 2})
		ewCheck(t, "LeakyRelu", 16, nil, []float32{-0.02, -0.0025, 0, 0.25, 2}, x)
		ewCheck(t, "ThresholdedRelu", 10, map[string]ops.Attr{"alpha": ewFloat(0.25)}, []float32{0, 0, 0, 0, 2}, x)
		ewCheck(t, "HardSwish", 14, nil, []float32{-2 * (1.0 / 6), -0.25 * (0.5 - 0.25/6), 0, 0.25 * (0.5 + 0.25/6), 2 * (0.5 + 2.0/6)}, x)
		ewCheck(t, "Shrink", 9, map[string]ops.Attr{"lambd": ewFloat(0.5), "bias": ewFloat(1)}, []float32{-1, 0, 0, 0, 1}, x)
		g := func(v float64) float32 { return float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2))) }
		ewCheck(t, "Gelu", 20, nil, []float32{g(-2), g(-0.25), 0, g(0.25), g(2)}, x)
		gt := func(v float64) float32 {
			return float32(0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))))
		}
		ewCheck(t, "Gelu", 20, map[string]ops.Attr{"approximate": ewStr("tanh")}, []float32{gt(-2), gt(-0.25), 0, gt(0.25), gt(2)}, x)
		ewCheck(t, "Shrink", 9, map[string]ops.Attr{"lambd": ewFloat(1.5), "bias": ewFloat(1)}, []int32{-4, 0, 0, 0, 4}, ewT(t, []int32{-5, -1, 0, 1, 5}))
	})
	t.Run("half types", func(t *testing.T) {
		h := []tensor.F16{tensor.Float16FromFloat32(-1.5), tensor.Float16FromFloat32(4)}
		ewCheck(t, "Abs", 13, nil, []tensor.F16{tensor.Float16FromFloat32(1.5), tensor.Float16FromFloat32(4)}, ewT(t, h))
		ewCheck(t, "Sqrt", 13, nil, []tensor.BF16{tensor.BFloat16FromFloat32(2)}, ewT(t, []tensor.BF16{tensor.BFloat16FromFloat32(4)}))
		ewCheck(t, "Max", 13, nil, []tensor.F16{tensor.Float16FromFloat32(2), tensor.Float16FromFloat32(4)}, ewT(t, h), ewScalar(t, tensor.Float16FromFloat32(2)))
	})
	t.Run("mod sign rules", func(t *testing.T) {
		a, b := ewT(t, []int32{7, -7, 7, -7, math.MinInt32}), ewT(t, []int32{3, 3, -3, -3, -1})
		ewCheck(t, "Mod", 13, nil, []int32{1, 2, -2, -1, 0}, a, b)
		ewCheck(t, "Mod", 13, map[string]ops.Attr{"fmod": ewInt(1)}, []int32{1, -1, 1, -1, 0}, a, b)
		ewCheck(t, "Mod", 13, map[string]ops.Attr{"fmod": ewInt(1)}, []float64{1.5, -1.5}, ewT(t, []float64{7.5, -7.5}), ewScalar(t, 3.0))
		ewCheck(t, "Mod", 13, nil, []uint8{1, 0}, ewT(t, []uint8{7, 6}), ewScalar(t, uint8(3)))
	})
	t.Run("pow", func(t *testing.T) {
		ewCheck(t, "Pow", 15, nil, []int64{1024, 0, -1, 1, 1, 1 << 62}, ewT(t, []int64{2, 3, -1, 1, 7, 2}), ewT(t, []int64{10, -1, -3, -5, 0, 62}))
		ewCheck(t, "Pow", 15, nil, []int32{2, 1, 3}, ewT(t, []int32{4, 2, 10}), ewT(t, []float32{0.5, 0.5, 0.5}))
		ewCheck(t, "Pow", 15, nil, []float32{8, 1}, ewT(t, []float32{2, 2}), ewT(t, []uint64{3, 0}))
		ewCheck(t, "Pow", 15, nil, []float32{9, 0.25}, ewT(t, []float32{3, 2}), ewT(t, []int8{2, -2}))
		// Opset 1 broadcasting is opt-in, aligned at axis.
		ewCheck(t, "Pow", 1, map[string]ops.Attr{"broadcast": ewInt(1), "axis": ewInt(0)}, []float32{1, 1, 4, 4}, ewT(t, []float32{1, 1, 2, 2}, 2, 2), ewT(t, []float32{0, 2}))
	})
	t.Run("bitshift and bitwise", func(t *testing.T) {
		ewCheck(t, "BitShift", 11, map[string]ops.Attr{"direction": ewStr("LEFT")}, []uint8{2, 0, 0}, ewT(t, []uint8{1, 128, 1}), ewT(t, []uint8{1, 1, 9}))
		ewCheck(t, "BitShift", 11, map[string]ops.Attr{"direction": ewStr("RIGHT")}, []uint64{1, 0}, ewT(t, []uint64{1 << 63, 1}), ewT(t, []uint64{63, 64}))
		ewCheck(t, "BitwiseXor", 18, nil, []int16{6, -1}, ewT(t, []int16{3, 0}), ewT(t, []int16{5, -1}))
		ewCheck(t, "BitwiseAnd", 18, nil, []int16{1, 0}, ewT(t, []int16{3, 0}), ewScalar(t, int16(5)))
	})
	t.Run("prelu", func(t *testing.T) {
		x := ewT(t, []float32{-1, 1, -1, 1, -2, -2}, 1, 2, 3)
		ewCheck(t, "PRelu", 16, nil, []float32{-0.1, 1, -0.3, 1, -0.4, -0.6}, x, ewT(t, []float32{0.1, 0.2, 0.3}))
		// Before opset 7 a 1-D slope of the channel count is per channel.
		ewCheck(t, "PRelu", 6, nil, []float32{-0.1, 1, -0.1, 1, -0.4, -0.4}, x, ewT(t, []float32{0.1, 0.2}))
		ewCheck(t, "PRelu", 16, nil, []int64{-2, 3}, ewT(t, []int64{-1, 3}), ewScalar(t, int64(2)))
	})
	t.Run("variadic", func(t *testing.T) {
		a := ewT(t, []float32{1, nan, 3, 4}, 2, 2)
		b := ewT(t, []float32{2, 1}, 2, 1)
		c := ewT(t, []float32{0, 10})
		ewCheck(t, "Max", 13, nil, []float32{2, nan, 3, 10}, a, b, c)
		ewCheck(t, "Min", 13, nil, []float32{0, nan, 0, 1}, a, b, c)
		ewCheck(t, "Sum", 13, nil, []float32{3, nan, 4, 15}, a, b, c)
		ewCheck(t, "Mean", 13, nil, []float32{1, nan, 4.0 / 3, 5}, a, b, c)
		ewCheck(t, "Sum", 6, nil, []float32{2, 4}, ewT(t, []float32{1, 2}), ewT(t, []float32{1, 2}))
		ewCheck(t, "Max", 12, nil, []uint64{math.MaxUint64, 3}, ewT(t, []uint64{math.MaxUint64, 1}), ewScalar(t, uint64(3)))
		ewCheck(t, "Min", 13, nil, []int8{-5}, ewT(t, []int8{-5}))
	})
	t.Run("clip", func(t *testing.T) {
		x := ewT(t, []float32{-5, 0, 5, nan})
		ewCheck(t, "Clip", 13, nil, []float32{-1, 0, 1, nan}, x, ewScalar(t, float32(-1)), ewScalar(t, float32(1)))
		ewCheck(t, "Clip", 13, nil, []float32{-5, 0, 1, nan}, x, nil, ewScalar(t, float32(1)))
		ewCheck(t, "Clip", 13, nil, []float32{2, 2, 2, nan}, x, ewScalar(t, float32(3)), ewScalar(t, float32(2)))
		ewCheck(t, "Clip", 6, map[string]ops.Attr{"min": ewFloat(-2)}, []float32{-2, 0, 5, nan}, x)
		ewCheck(t, "Clip", 12, nil, []int32{-1, 0, 4}, ewT(t, []int32{-5, 0, 4}), ewScalar(t, int32(-1)))
		ewCheck(t, "Clip", 13, nil, []float32{-5, 0, 5}, ewT(t, []float32{-5, 0, 5}))
	})
	t.Run("where", func(t *testing.T) {
		cond := ewT(t, []bool{true, false}, 2, 1)
		x := ewT(t, []string{"a", "b"}, 1, 2)
		y := ewScalar(t, "z")
		ewCheck(t, "Where", 16, nil, []string{"a", "b", "z", "z"}, cond, x, y)
		ewCheck(t, "Where", 9, nil, []int64{1, 2, 0, 0}, cond, ewT(t, []int64{1, 2}, 1, 2), ewScalar(t, int64(0)))
	})
}

func TestElementwiseCast(t *testing.T) {
	to := func(dt tensor.DType) map[string]ops.Attr { return map[string]ops.Attr{"to": ewInt(int64(dt))} }
	nan, inf := math.NaN(), math.Inf(1)
	ewCheck(t, "Cast", 13, to(tensor.String),
		[]string{"0.5", "1.0", "-0.0", "1e-05", "123456.0", "1e+20", "NaN", "INF", "-INF", "0.1"},
		ewT(t, []float32{0.5, 1, float32(math.Copysign(0, -1)), 1e-5, 123456, 1e20, float32(nan), float32(inf), float32(-inf), 0.1}))
	ewCheck(t, "Cast", 13, to(tensor.String), []string{"0.1", "0.30000000000000004"}, ewT(t, []float64{0.1, math.Nextafter(0.3, 1)}))
	ewCheck(t, "Cast", 13, to(tensor.String), []string{"0.1", "65500.0"}, ewT(t, []tensor.F16{tensor.Float16FromFloat32(0.1), tensor.Float16FromFloat32(65504)}))
	ewCheck(t, "Cast", 13, to(tensor.String), []string{"-3", "127"}, ewT(t, []int8{-3, 127}))
	ewCheck(t, "Cast", 13, to(tensor.String), []string{"18446744073709551615"}, ewT(t, []uint64{math.MaxUint64}))
	ewCheck(t, "Cast", 13, to(tensor.String), []string{"1", "0"}, ewT(t, []bool{true, false}))
	ewCheck(t, "Cast", 13, to(tensor.Float32), []float32{1.5, -2e-5, 1e8, float32(nan), float32(inf), float32(-inf), float32(inf), float32(inf)},
		ewT(t, []string{"1.5", " -2E-5 ", "1e8", "NaN", "INF", "-INF", "+INF", "1e60"}))
	ewCheck(t, "Cast", 13, to(tensor.Int64), []int64{-42, 7, 3}, ewT(t, []string{"-42", "7", "3.9"}))
	ewCheck(t, "Cast", 13, to(tensor.Uint64), []uint64{math.MaxUint64}, ewT(t, []string{"18446744073709551615"}))
	ewCheck(t, "Cast", 13, to(tensor.Bool), []bool{true, false, true, false}, ewT(t, []string{"true", "0", "2.5", "False"}))
	ewCheck(t, "Cast", 13, to(tensor.Int32), []int32{1, -1, 0}, ewT(t, []float32{1.9, -1.9, -0.5}))
	ewCheck(t, "Cast", 13, to(tensor.Uint8), []uint8{255, 1}, ewT(t, []int32{-1, 257}))
	ewCheck(t, "Cast", 13, to(tensor.Bool), []bool{true, false, true}, ewT(t, []float64{nan, 0, -0.5}))
	ewCheck(t, "Cast", 13, to(tensor.Float32), []float32{1, 0}, ewT(t, []bool{true, false}))
	ewCheck(t, "Cast", 13, to(tensor.Float16), []tensor.F16{tensor.Float16FromFloat32(0.5), 0x7c00}, ewT(t, []float64{0.5, 1e6}))
	ewCheck(t, "Cast", 13, to(tensor.BFloat16), []tensor.BF16{tensor.BFloat16FromFloat32(3)}, ewT(t, []tensor.F16{tensor.Float16FromFloat32(3)}))
	ewCheck(t, "Cast", 13, to(tensor.Int64), []int64{-7}, ewT(t, []tensor.BF16{tensor.BFloat16FromFloat32(-7.5)}))
	ewCheck(t, "Cast", 13, to(tensor.String), []string{"x"}, ewT(t, []string{"x"}))
	ewCheck(t, "Cast", 1, map[string]ops.Attr{"to": ewStr("DOUBLE")}, []float64{2}, ewT(t, []int32{2}))
	ewCheck(t, "CastLike", 15, nil, []int16{3}, ewT(t, []float32{3.7}), ewT(t, []int16{0}))
	ewCheck(t, "Cast", 13, to(tensor.Float64), []float64{}, ewT(t, []float32{}, 0, 3))
	// A float printed and parsed back is the same float.
	xs := []float32{0.1, 1.0 / 3, 1e-30, 3.4028235e38, 16777217, 1.17549435e-38, -2.5e-7}
	out, err := ewRun(t, "Cast", 13, to(tensor.String), 1, ewT(t, xs))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ewRun(t, "Cast", 13, to(tensor.Float32), 1, out[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := ewValues[float32](t, back[0]); !reflect.DeepEqual(got, xs) {
		t.Errorf("round trip: %v via %v, want %v", got, ewValues[string](t, out[0]), xs)
	}
}

func TestElementwiseIdentityAndDropout(t *testing.T) {
	ewCheck(t, "Identity", 13, nil, []string{"a", "b"}, ewT(t, []string{"a", "b"}))
	ewCheck(t, "Identity", 1, nil, []complex64{1 + 2i}, ewT(t, []complex64{1 + 2i}))

	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	seq := &ops.Sequence{DType: tensor.Float32, Tensors: []*tensor.Tensor{ewT(t, []float32{1})}}
	st, _ := ops.TypeOfValue(seq)
	o, _ := reg.Lookup("", "Identity", 16)
	plan, err := ops.PrepareOp(o, &ops.Node{OpType: "Identity", Opset: 16, Inputs: []ops.Type{st}, NumOutputs: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Eval(context.Background(), &ops.Env{}, []ops.Value{seq})
	if err != nil || res[0] != ops.Value(seq) {
		t.Fatalf("Identity of a sequence: %v, %v", res, err)
	}
	o13, _ := reg.Lookup("", "Identity", 13)
	if _, err := ops.PrepareOp(o13, &ops.Node{OpType: "Identity", Opset: 13, Inputs: []ops.Type{st}, NumOutputs: 1}); err == nil {
		t.Error("Identity-13 took a sequence")
	}

	x := ewT(t, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	// Inference: a copy and an all-true mask (of T before opset 10).
	out, err := ewRun(t, "Dropout", 7, map[string]ops.Attr{"ratio": ewFloat(0.9)}, 2, x)
	if err != nil {
		t.Fatal(err)
	}
	if got := ewValues[float32](t, out[0]); !reflect.DeepEqual(got, ewValues[float32](t, x)) {
		t.Errorf("Dropout-7 output %v", got)
	}
	if got := ewValues[float32](t, out[1]); !reflect.DeepEqual(got, []float32{1, 1, 1, 1, 1, 1, 1, 1}) {
		t.Errorf("Dropout-7 mask %v", got)
	}
	out, err = ewRun(t, "Dropout", 13, nil, 2, x, ewScalar(t, float32(0.5)))
	if err != nil {
		t.Fatal(err)
	}
	if got := ewValues[bool](t, out[1]); !reflect.DeepEqual(got, []bool{true, true, true, true, true, true, true, true}) {
		t.Errorf("Dropout-13 mask %v", got)
	}
	// Training with a seed: reproducible, kept values scaled by 1/(1-ratio).
	attrs := map[string]ops.Attr{"seed": ewInt(3)}
	run := func() ([]float32, []bool) {
		out, err := ewRun(t, "Dropout", 13, attrs, 2, x, ewScalar(t, 0.5), ewScalar(t, true))
		if err != nil {
			t.Fatal(err)
		}
		return ewValues[float32](t, out[0]), ewValues[bool](t, out[1])
	}
	y1, m1 := run()
	y2, m2 := run()
	if !reflect.DeepEqual(y1, y2) || !reflect.DeepEqual(m1, m2) {
		t.Errorf("seeded dropout differs between runs: %v %v", y1, y2)
	}
	for i, v := range ewValues[float32](t, x) {
		if m1[i] && y1[i] != 2*v || !m1[i] && y1[i] != 0 {
			t.Errorf("element %d: mask %v, output %v from %v", i, m1[i], y1[i], v)
		}
	}
	// Half precision passes through float32.
	h := ewT(t, []tensor.F16{tensor.Float16FromFloat32(1.5)})
	out, err = ewRun(t, "Dropout", 6, nil, 2, h)
	if err != nil {
		t.Fatal(err)
	}
	if got := ewValues[tensor.F16](t, out[1]); got[0].Float32() != 1 {
		t.Errorf("Dropout-6 half mask %v", got)
	}
}

// TestElementwiseMTMatchesNumpy checks the seeded generator against
// numpy: np.random.seed(0); np.random.random_sample(3).
func TestElementwiseMTMatchesNumpy(t *testing.T) {
	var mt dropoutMT
	mt.init(0)
	want := []float64{0.5488135039273248, 0.7151893663724195, 0.6027633760716439}
	for i, w := range want {
		if got := mt.float64(); got != w {
			t.Errorf("draw %d: %v, want %v", i, got, w)
		}
	}
}

// TestElementwiseLarge runs big inputs through the parallel paths.
func TestElementwiseLarge(t *testing.T) {
	const n = 100003
	a := make([]float32, n)
	for i := range a {
		a[i] = float32(i%17) - 8
	}
	x := ewT(t, a, n)
	out, err := ewRun(t, "Relu", 14, nil, 1, x)
	if err != nil {
		t.Fatal(err)
	}
	got := ewValues[float32](t, out[0])
	for i, v := range a {
		if got[i] != max(v, 0) {
			t.Fatalf("Relu element %d: %v", i, got[i])
		}
	}
	out, err = ewRun(t, "Max", 13, nil, 1, x, ewScalar(t, float32(0)), ewT(t, a[:1], 1))
	if err != nil {
		t.Fatal(err)
	}
	got = ewValues[float32](t, out[0])
	for i, v := range a {
		if got[i] != max(v, 0) {
			t.Fatalf("Max element %d: %v", i, got[i])
		}
	}
}

// TestElementwiseUnknownDims prepares with unknown dimensions: the kernels
// read the shapes at run time and allocate their outputs.
func TestElementwiseUnknownDims(t *testing.T) {
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	x := ewT(t, []float32{-1, 2, -3, 4, -5, 6}, 2, 3)
	row := ewT(t, []float32{1, 2, 3}, 3)
	ch := ewT(t, []float32{0.5, 2}, 2)
	x3 := ewT(t, []float32{-1, 2, -3, 4, -5, 6}, 1, 2, 3)
	cond := ewT(t, []bool{true, false, true}, 3)
	cases := []struct {
		op    string
		opset int
		attrs map[string]ops.Attr
		in    []*tensor.Tensor
		want  []float32
	}{
		{"Relu", 14, nil, []*tensor.Tensor{x}, []float32{0, 2, 0, 4, 0, 6}},
		{"Pow", 15, nil, []*tensor.Tensor{x, row}, []float32{-1, 4, -27, 4, 25, 216}},
		{"Max", 13, nil, []*tensor.Tensor{x, row}, []float32{1, 2, 3, 4, 2, 6}},
		{"Where", 16, nil, []*tensor.Tensor{cond, x, row}, []float32{-1, 2, -3, 4, 2, 6}},
		{"PRelu", 6, nil, []*tensor.Tensor{x3, ch}, []float32{-0.5, 2, -1.5, 4, -10, 6}},
		{"Clip", 13, nil, []*tensor.Tensor{x, ewScalar(t, float32(0))}, []float32{0, 2, 0, 4, 0, 6}},
		{"Cast", 13, map[string]ops.Attr{"to": ewInt(int64(tensor.Float32))}, []*tensor.Tensor{x}, []float32{-1, 2, -3, 4, -5, 6}},
	}
	for _, c := range cases {
		types := make([]ops.Type, len(c.in))
		for i, v := range c.in {
			types[i] = ops.TensorType(v.DType(), v.Shape().Clone())
			if v.Rank() > 0 {
				types[i].Shape[0] = -1
			}
		}
		o, err := reg.Lookup("", c.op, c.opset)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := ops.PrepareOp(o, &ops.Node{OpType: c.op, Opset: c.opset, Attrs: ops.NewAttrs(c.attrs), Inputs: types, NumOutputs: 1})
		if err != nil {
			t.Errorf("%s: %v", c.op, err)
			continue
		}
		shapes := make([]tensor.Shape, len(c.in))
		for i, v := range c.in {
			shapes[i] = v.Shape()
		}
		wantShape, err := broadcastShapes(shapes...)
		if err != nil { // PRelu's channel slope
			wantShape = shapes[0]
		}
		out := make([]*tensor.Tensor, 1)
		if err := plan.Kernel(&ops.Env{}, c.in, out); err != nil {
			t.Errorf("%s: %v", c.op, err)
			continue
		}
		if got := ewValues[float32](t, out[0]); !reflect.DeepEqual(got, c.want) || !out[0].Shape().Equal(wantShape) {
			t.Errorf("%s: got %v%v, want %v", c.op, out[0].Shape(), got, c.want)
		}
	}
}

// Pow with a scalar exponent of 2 or 3 takes the vector multiply path; it
// must agree with math.Pow (NaN and infinities included) and broadcast a
// [1] exponent like any other.
func TestPowScalarFloat32(t *testing.T) {
	base := []float32{0, -0.0, 1.5, -2, 3e19, -3e19, 1e-30, float32(math.Inf(-1)), float32(math.NaN()), 7}
	for _, e := range []float32{2, 3, 0.5, -1} {
		want := make([]float32, len(base))
		for i, b := range base {
			want[i] = float32(math.Pow(float64(b), float64(e)))
		}
		ewCheck(t, "Pow", 15, nil, want, ewT(t, base, 2, 5), ewScalar(t, e))
		ewCheck(t, "Pow", 15, nil, want, ewT(t, base, 2, 5), ewT(t, []float32{e}, 1))
		if e == float32(int64(e)) {
			ewCheck(t, "Pow", 15, nil, want, ewT(t, base, 2, 5), ewScalar(t, int64(e)))
		}
	}
	// A [1] exponent raises a scalar base to a [1] result.
	ewCheck(t, "Pow", 15, nil, []float32{8}, ewScalar(t, float32(2)), ewT(t, []float32{3}, 1))
}
