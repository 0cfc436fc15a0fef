package standard

import (
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// Tests for the extra family. The expected values of the table tests are
// those of the ONNX backend test cases (onnx/backend/test/case/node/*.py),
// which the installed ONNX 1.12 test data predates.

type extraAttrs = map[string]ops.Attr

func extraI(v int64) ops.Attr     { return ops.Attr{Type: ops.AttrInt, Int: v} }
func extraF(v float32) ops.Attr   { return ops.Attr{Type: ops.AttrFloat, Float: v} }
func extraS(v string) ops.Attr    { return ops.Attr{Type: ops.AttrString, String: v} }
func extraIs(v ...int64) ops.Attr { return ops.Attr{Type: ops.AttrInts, Ints: v} }
func extraT[T tensor.Element](v []T, shape ...int) *tensor.Tensor {
	x, err := tensor.FromSlice(v, shape...)
	if err != nil {
		panic(err)
	}
	return x
}
func extraI64(v ...int64) *tensor.Tensor { return extraT(v, len(v)) }

func extraRange(n int, shape ...int) *tensor.Tensor {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return extraT(v, shape...)
}

// extraCall is one node run: the inputs' contents reach Prepare unless
// dynamic is set (as when a shape input is computed), and env bounds the
// outputs when set.
type extraCall struct {
	op      string
	opset   int
	attrs   extraAttrs
	nout    int
	dynamic bool
	env     *ops.Env
	in      []*tensor.Tensor
}

func (c extraCall) run() (outs []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC: %v", r)
		}
	}()
	reg, err := NewRegistry()
	if err != nil {
		return nil, err
	}
	o, err := reg.Lookup("", c.op, c.opset)
	if err != nil {
		return nil, err
	}
	types := make([]ops.Type, len(c.in))
	for i, x := range c.in {
		if x != nil {
			types[i] = ops.TypeOf(x)
			if c.dynamic {
				types[i].Value = nil
			}
		}
	}
	nout := max(c.nout, 1)
	plan, err := ops.PrepareOp(o, &ops.Node{OpType: c.op, Opset: c.opset, Attrs: ops.NewAttrs(c.attrs), Inputs: types, NumOutputs: nout})
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, nout)
	for i, ot := range plan.Outputs {
		if ot.Static() {
			if out[i], err = tensor.New(ot.DType, ot.Shape); err != nil {
				return nil, err
			}
		}
	}
	env := c.env
	if env == nil {
		env = &ops.Env{}
	}
	w := cpu.NewWorkers(2)
	defer w.Close()
	env.Workers = w
	if err := plan.Kernel(env, c.in, out); err != nil {
		return nil, err
	}
	for i, ot := range plan.Outputs {
		if out[i] == nil {
			return nil, fmt.Errorf("output %d not produced", i)
		}
		if ot.DType != out[i].DType() || len(ot.Shape) != out[i].Rank() {
			return nil, fmt.Errorf("output %d: planned %s, got %s%v", i, ot, out[i].DType(), out[i].Shape())
		}
		for d, n := range ot.Shape {
			if n >= 0 && n != out[i].Shape()[d] {
				return nil, fmt.Errorf("output %d: planned %s, got %v", i, ot, out[i].Shape())
			}
		}
	}
	return out, nil
}

func (c extraCall) mustRun(t *testing.T) []*tensor.Tensor {
	t.Helper()
	out, err := c.run()
	if err != nil {
		t.Fatalf("%s: %v", c.op, err)
	}
	return out
}

func extraFloats(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	switch x.DType() {
	case tensor.Float32:
		v, _ := tensor.View[float32](x)
		out := make([]float64, len(v))
		for i, f := range v {
			out[i] = float64(f)
		}
		return out
	case tensor.Float64:
		v, _ := tensor.View[float64](x)
		return append([]float64(nil), v...)
	case tensor.Float16:
		v, _ := tensor.View[tensor.F16](x)
		out := make([]float64, len(v))
		for i, f := range v {
			out[i] = float64(f.Float32())
		}
		return out
	}
	t.Fatalf("not a float tensor: %s", x.DType())
	return nil
}

func extraClose(t *testing.T, what string, got *tensor.Tensor, shape tensor.Shape, want []float64, tol float64) {
	t.Helper()
	if !got.Shape().Equal(shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), shape)
	}
	g := extraFloats(t, got)
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(want))
	}
	for i := range g {
		if d := math.Abs(g[i] - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(g[i]) != math.IsNaN(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v\ngot  %v\nwant %v", what, i, g[i], want[i], g, want)
		}
	}
}

func extraEqual[T tensor.Element](t *testing.T, what string, got *tensor.Tensor, shape tensor.Shape, want []T) {
	t.Helper()
	if !got.Shape().Equal(shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), shape)
	}
	g, err := tensor.ToSlice[T](got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(g) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("%s:\ngot  %q\nwant %q", what, fmt.Sprint(g), fmt.Sprint(want))
	}
}

// extraLpRef is a plain reference: x / ||x||_p along axis (0 for a zero norm).
func extraLpRef(x []float64, shape []int, axis, p int) []float64 {
	outer, inner := 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	n := shape[axis]
	y := make([]float64, len(x))
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			s := 0.0
			for k := 0; k < n; k++ {
				v := x[(o*n+k)*inner+i]
				if p == 1 {
					s += math.Abs(v)
				} else {
					s += v * v
				}
			}
			if p == 2 {
				s = math.Sqrt(s)
			}
			for k := 0; k < n; k++ {
				j := (o*n+k)*inner + i
				if s != 0 {
					y[j] = x[j] / s
				}
			}
		}
	}
	return y
}

func TestExtraLpNormalization(t *testing.T) {
	x3 := []float32{1, 2, 2, 3, 4, 0, 0, 5, 5, 6, 8, 0}
	x3d := []float64{1, 2, 2, 3, 4, 0, 0, 5, 5, 6, 8, 0}
	cases := []struct {
		name  string
		attrs extraAttrs
		x     *tensor.Tensor
		want  []float64
	}{
		{"l2 axis 0 (zero norm gives 0)", extraAttrs{"axis": extraI(0), "p": extraI(2)}, extraT(x3, 2, 2, 3), extraLpRef(x3d, []int{2, 2, 3}, 0, 2)},
		{"l2 axis 1", extraAttrs{"axis": extraI(1), "p": extraI(2)}, extraT([]float32{3, 4, 6, 8}, 2, 2), []float64{0.6, 0.8, 0.6, 0.8}},
		{"l1 axis 0", extraAttrs{"axis": extraI(0), "p": extraI(1)}, extraT([]float32{3, 4}, 2), []float64{3.0 / 7, 4.0 / 7}},
		{"l1 axis 1", extraAttrs{"axis": extraI(1), "p": extraI(1)}, extraT([]float32{3, 4, 6, 8}, 2, 2), []float64{3.0 / 7, 4.0 / 7, 6.0 / 14, 8.0 / 14}},
		{"l1 axis last", extraAttrs{"axis": extraI(-1), "p": extraI(1)}, extraT(x3, 2, 2, 3), extraLpRef(x3d, []int{2, 2, 3}, 2, 1)},
		{"default", nil, extraT(x3, 2, 2, 3), extraLpRef(x3d, []int{2, 2, 3}, 2, 2)},
		{"float64 axis 1", extraAttrs{"axis": extraI(1)}, extraT([]float64{1, 2, 2, 3, 4, 0, 0, 5, 5, 6, 8, 0}, 2, 2, 3), extraLpRef(x3d, []int{2, 2, 3}, 1, 2)},
	}
	for _, c := range cases {
		out := extraCall{op: "LpNormalization", opset: 1, attrs: c.attrs, in: []*tensor.Tensor{c.x}}.mustRun(t)
		extraClose(t, c.name, out[0], c.x.Shape(), c.want, 1e-6)
	}
	h := make([]tensor.F16, 4)
	for i, v := range []float32{3, 4, 6, 8} {
		h[i] = tensor.Float16FromFloat32(v)
	}
	out := extraCall{op: "LpNormalization", opset: 22, in: []*tensor.Tensor{extraT(h, 2, 2)}}.mustRun(t)
	extraClose(t, "float16", out[0], tensor.Shape{2, 2}, []float64{0.6, 0.8, 0.6, 0.8}, 1e-3)
}

func TestExtraMaxRoiPool(t *testing.T) {
	pool := func(ph, pw int64, scale float32) extraAttrs {
		return extraAttrs{"pooled_shape": extraIs(ph, pw), "spatial_scale": extraF(scale)}
	}
	x4 := extraRange(16, 1, 1, 4, 4)
	cases := []struct {
		name    string
		attrs   extraAttrs
		x, rois *tensor.Tensor
		shape   tensor.Shape
		want    []float64
	}{
		{"basic", pool(2, 2, 1), x4, extraT([]float32{0, 1, 1, 2, 2}, 1, 5), tensor.Shape{1, 1, 2, 2}, []float64{5, 6, 9, 10}},
		{"multi batch", pool(2, 2, 1), extraRange(64, 2, 2, 4, 4),
			extraT([]float32{0, 0, 0, 3, 3, 1, 1, 1, 3, 3, 0, 2, 2, 2, 2}, 3, 5), tensor.Shape{3, 2, 2, 2},
			[]float64{5, 7, 13, 15, 21, 23, 29, 31, 42, 43, 46, 47, 58, 59, 62, 63, 10, 10, 10, 10, 26, 26, 26, 26}},
		{"spatial scale", pool(2, 2, 0.5), extraRange(36, 1, 1, 6, 6), extraT([]float32{0, 1, 1, 9, 9}, 1, 5), tensor.Shape{1, 1, 2, 2}, []float64{21, 23, 33, 35}},
		{"out of bounds", pool(2, 2, 1), extraRange(9, 1, 1, 3, 3),
			extraT([]float32{0, -2, -2, 1, 1, 0, 5, 5, 7, 7, 0, -2.5, 0, 0.5, 2}, 3, 5), tensor.Shape{3, 1, 2, 2},
			[]float64{0, 0, 0, 4, 0, 0, 0, 0, 0, 4, 0, 7}},
		{"float64", pool(2, 2, 1), extraT([]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 1, 1, 4, 4),
			extraT([]float64{0, 1, 1, 2, 2}, 1, 5), tensor.Shape{1, 1, 2, 2}, []float64{5, 6, 9, 10}},
		{"negative input, non-square pool", pool(1, 3, 1), extraT([]float32{-6, -5, -4, -3, -2, -1}, 1, 1, 2, 3),
			extraT([]float32{0, -2, 0, 2, 1}, 1, 5), tensor.Shape{1, 1, 1, 3}, []float64{0, -2, -1}},
		{"float32 coordinate precision", pool(1, 1, 0.9999998807907104), extraT([]float32{10, 0}, 1, 1, 1, 2),
			extraT([]float32{0, 0.5000000596046448, 0, 1, 0}, 1, 5), tensor.Shape{1, 1, 1, 1}, []float64{0}},
		{"float64 round precision", pool(1, 1, 1), extraT([]float64{10, 0}, 1, 1, 1, 2),
			extraT([]float64{0, 0.49999999999999994, 0, 1, 0}, 1, 5), tensor.Shape{1, 1, 1, 1}, []float64{10}},
	}
	bin := make([]float64, 82)
	for i := range bin {
		bin[i] = 1
		if i < 42 {
			bin[i] = 10
		}
	}
	cases = append(cases, struct {
		name    string
		attrs   extraAttrs
		x, rois *tensor.Tensor
		shape   tensor.Shape
		want    []float64
	}{"float32 bin precision", pool(1, 82, 1), extraT([]float32{10, 1}, 1, 1, 1, 2), extraT([]float32{0, 0, 0, 1, 0}, 1, 5), tensor.Shape{1, 1, 1, 82}, bin})
	for _, c := range cases {
		out := extraCall{op: "MaxRoiPool", opset: 1, attrs: c.attrs, in: []*tensor.Tensor{c.x, c.rois}}.mustRun(t)
		extraClose(t, c.name, out[0], c.shape, c.want, 0)
	}
}

func TestExtraCol2Im(t *testing.T) {
	f := func(v ...float32) []float32 { return v }
	seq := func(lo, hi, step int) []float32 {
		var v []float32
		for i := lo; i <= hi; i += step {
			v = append(v, float32(i))
		}
		return v
	}
	// The pads case: row r of the (1, 5, 15) input is r+1, r+6, ..., r+71.
	var pads []float32
	for r := 1; r <= 5; r++ {
		pads = append(pads, seq(r, 75, 5)...)
	}
	// The 5-D case: rows 1..5 then 61..65, each stepping by 5 over 12 blocks.
	var in5 []float32
	for _, start := range []int{1, 2, 3, 4, 5, 61, 62, 63, 64, 65} {
		in5 = append(in5, seq(start, start+55, 5)...)
	}
	cases := []struct {
		name       string
		attrs      extraAttrs
		in         *tensor.Tensor
		img, block []int64
		shape      tensor.Shape
		want       []float32
	}{
		{"basic", nil,
			extraT(f(1, 6, 11, 16, 21, 2, 7, 12, 17, 22, 3, 8, 13, 18, 23, 4, 9, 14, 19, 24, 5, 0, 15, 20, 25), 1, 5, 5),
			[]int64{5, 5}, []int64{1, 5}, tensor.Shape{1, 1, 5, 5},
			f(1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25)},
		{"strides", extraAttrs{"strides": extraIs(2, 2)},
			extraT(f(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0), 1, 9, 4),
			[]int64{5, 5}, []int64{3, 3}, tensor.Shape{1, 1, 5, 5},
			f(0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 2, 1, 2, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0)},
		// Early copies of this case had 14 for [0, 4]; ONNX corrected it to 24.
		{"pads", extraAttrs{"pads": extraIs(0, 1, 0, 1)}, extraT(pads, 1, 5, 15),
			[]int64{5, 5}, []int64{1, 5}, tensor.Shape{1, 1, 5, 5},
			f(8, 21, 24, 27, 24, 38, 66, 69, 72, 54, 68, 111, 114, 117, 84, 98, 156, 159, 162, 114, 128, 201, 204, 207, 144)},
		{"dilations", extraAttrs{"dilations": extraIs(1, 5)},
			extraT(f(1, 5, 9, 13, 17, 2, 6, 10, 14, 18, 3, 7, 11, 15, 19, 4, 8, 12, 16, 20), 1, 4, 5),
			[]int64{6, 6}, []int64{2, 2}, tensor.Shape{1, 1, 6, 6},
			f(1, 0, 0, 0, 0, 2, 8, 0, 0, 0, 0, 10, 16, 0, 0, 0, 0, 18, 24, 0, 0, 0, 0, 26, 32, 0, 0, 0, 0, 34, 19, 0, 0, 0, 0, 20)},
		{"5d", nil, extraT(in5, 1, 10, 12), []int64{3, 4, 5}, []int64{1, 1, 5}, tensor.Shape{1, 2, 3, 4, 5}, seq(1, 120, 1)},
	}
	for _, c := range cases {
		for _, dynamic := range []bool{false, true} {
			out := extraCall{op: "Col2Im", opset: 18, attrs: c.attrs, dynamic: dynamic,
				in: []*tensor.Tensor{c.in, extraI64(c.img...), extraI64(c.block...)}}.mustRun(t)
			extraEqual(t, fmt.Sprintf("%s (dynamic %v)", c.name, dynamic), out[0], c.shape, c.want)
		}
	}
	// Integer data sums the same way.
	out := extraCall{op: "Col2Im", opset: 18, attrs: extraAttrs{"strides": extraIs(2, 2)},
		in: []*tensor.Tensor{extraT([]int32{0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}, 1, 9, 4),
			extraI64(5, 5), extraI64(3, 3)}}.mustRun(t)
	extraEqual(t, "int32", out[0], tensor.Shape{1, 1, 5, 5}, []int32{0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 2, 1, 2, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0})
}

func TestExtraCenterCropPad(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	randT := func(shape ...int) (*tensor.Tensor, []float32) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32() + 1 // never 0, so padding is visible
		}
		return extraT(v, shape...), v
	}
	// box builds the expected output: zeros, with x[src...] placed at dst... for a 3-D box.
	box := func(x []float32, xs, ys [3]int, src, dst, cnt [3]int) []float32 {
		y := make([]float32, ys[0]*ys[1]*ys[2])
		for i := 0; i < cnt[0]; i++ {
			for j := 0; j < cnt[1]; j++ {
				for k := 0; k < cnt[2]; k++ {
					y[((dst[0]+i)*ys[1]+dst[1]+j)*ys[2]+dst[2]+k] = x[((src[0]+i)*xs[1]+src[1]+j)*xs[2]+src[2]+k]
				}
			}
		}
		return y
	}
	cases := []struct {
		name     string
		axes     []int64
		xs, ys   [3]int
		shape    []int64
		src, dst [3]int
		cnt      [3]int
	}{
		// y = x[5:15, 1:8, :]
		{"crop", nil, [3]int{20, 10, 3}, [3]int{10, 7, 3}, []int64{10, 7, 3}, [3]int{5, 1, 0}, [3]int{}, [3]int{10, 7, 3}},
		// y[5:15, 1:8, :] = x
		{"pad", nil, [3]int{10, 7, 3}, [3]int{20, 10, 3}, []int64{20, 10, 3}, [3]int{}, [3]int{5, 1, 0}, [3]int{10, 7, 3}},
		// y[:, 1:9, :] = x[5:15, :, :]
		{"crop and pad", nil, [3]int{20, 8, 3}, [3]int{10, 10, 3}, []int64{10, 10, 3}, [3]int{5, 0, 0}, [3]int{0, 1, 0}, [3]int{10, 8, 3}},
		// y[:, :8, :] = x[5:15, :, :]
		{"axes hwc", []int64{0, 1}, [3]int{20, 8, 3}, [3]int{10, 9, 3}, []int64{10, 9}, [3]int{5, 0, 0}, [3]int{}, [3]int{10, 8, 3}},
		// y[:, :, :8] = x[:, 5:15, :]
		{"axes chw", []int64{1, 2}, [3]int{3, 20, 8}, [3]int{3, 10, 9}, []int64{10, 9}, [3]int{0, 5, 0}, [3]int{}, [3]int{3, 10, 8}},
		{"negative axes", []int64{-2, -1}, [3]int{3, 20, 8}, [3]int{3, 10, 9}, []int64{10, 9}, [3]int{0, 5, 0}, [3]int{}, [3]int{3, 10, 8}},
	}
	for _, c := range cases {
		x, xv := randT(c.xs[:]...)
		var attrs extraAttrs
		if c.axes != nil {
			attrs = extraAttrs{"axes": extraIs(c.axes...)}
		}
		want := box(xv, c.xs, c.ys, c.src, c.dst, c.cnt)
		for _, dynamic := range []bool{false, true} {
			out := extraCall{op: "CenterCropPad", opset: 18, attrs: attrs, dynamic: dynamic, in: []*tensor.Tensor{x, extraI64(c.shape...)}}.mustRun(t)
			extraEqual(t, c.name, out[0], tensor.Shape(c.ys[:]), want)
		}
	}
	// Other element types, and an int32 shape.
	s := extraT([]string{"a", "b", "c", "d", "e"}, 5)
	out := extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{s, extraT([]int32{8}, 1)}}.mustRun(t)
	extraEqual(t, "string pad", out[0], tensor.Shape{8}, []string{"", "a", "b", "c", "d", "e", "", ""})
	out = extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{s, extraT([]int32{2}, 1)}}.mustRun(t)
	extraEqual(t, "string crop", out[0], tensor.Shape{2}, []string{"b", "c"})
	out = extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{extraT([]int64{1, 2, 3, 4}, 2, 2), extraI64(3, 1)}}.mustRun(t)
	extraEqual(t, "int64", out[0], tensor.Shape{3, 1}, []int64{1, 3, 0})
	out = extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{extraT([]bool{true, true, false, true}, 4), extraI64(3)}}.mustRun(t)
	extraEqual(t, "bool (odd crop starts at floor)", out[0], tensor.Shape{3}, []bool{true, true, false})
	out = extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{tensor.Scalar("s"), extraI64()}}.mustRun(t)
	extraEqual(t, "scalar", out[0], tensor.Shape{}, []string{"s"})
	out = extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{extraT([]int64{1, 2, 3, 4}, 2, 2), extraI64(0, 2)}}.mustRun(t)
	extraEqual(t, "empty", out[0], tensor.Shape{0, 2}, []int64{})
}

func TestExtraDeformConv(t *testing.T) {
	x := extraRange(9, 1, 1, 3, 3)
	w := extraT([]float32{1, 1, 1, 1}, 1, 1, 2, 2)
	offset := func(shape []int, set map[[4]int]float32) *tensor.Tensor {
		v := make([]float32, shape[0]*shape[1]*shape[2]*shape[3])
		for k, val := range set {
			v[((k[0]*shape[1]+k[1])*shape[2]+k[2])*shape[3]+k[3]] = val
		}
		return extraT(v, shape...)
	}
	k22 := extraIs(2, 2)
	// With padding.
	out := extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"kernel_shape": k22, "pads": extraIs(1, 1, 1, 1)},
		in: []*tensor.Tensor{x, w, offset([]int{1, 8, 4, 4}, map[[4]int]float32{{0, 0, 0, 0}: 0.5, {0, 5, 1, 2}: -0.1})}}.mustRun(t)
	extraClose(t, "with padding", out[0], tensor.Shape{1, 1, 4, 4},
		[]float64{0, 1, 3, 2, 3, 8, 11.9, 7, 9, 20, 24, 13, 6, 13, 15, 8}, 1e-5)
	// Without padding.
	off2 := offset([]int{1, 8, 2, 2}, map[[4]int]float32{{0, 0, 0, 0}: 0.5, {0, 5, 0, 1}: -0.1})
	out = extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"kernel_shape": k22, "pads": extraIs(0, 0, 0, 0)},
		in: []*tensor.Tensor{x, w, off2}}.mustRun(t)
	extraClose(t, "without padding", out[0], tensor.Shape{1, 1, 2, 2}, []float64{9.5, 11.9, 20, 24}, 1e-5)
	// With mask and bias.
	mask := offset([]int{1, 4, 2, 2}, map[[4]int]float32{})
	mv, _ := tensor.View[float32](mask)
	for i := range mv {
		mv[i] = 1
	}
	mv[(2*2+1)*2+1] = 0.2 // mask[0, 2, 1, 1]
	out = extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"kernel_shape": k22, "pads": extraIs(0, 0, 0, 0)},
		in: []*tensor.Tensor{x, w, off2, extraT([]float32{1}, 1), mask}}.mustRun(t)
	extraClose(t, "mask and bias", out[0], tensor.Shape{1, 1, 2, 2}, []float64{10.5, 12.9, 21, 19.4}, 1e-5)
	// Two offset groups.
	xv := make([]float64, 18)
	for i := 0; i < 9; i++ {
		xv[i], xv[9+i] = float64(i), float64(8-i)
	}
	x2 := extraT(xv, 1, 2, 3, 3)
	w2 := extraT([]float64{1, 1, 1, 1, 1, 1, 1, 1}, 1, 2, 2, 2)
	ov := make([]float64, 16*4)
	ov[0] = 0.5           // offset[0, 0, 0, 0]
	ov[13*4+0*2+1] = -0.1 // offset[0, 13, 0, 1]
	out = extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"kernel_shape": k22, "pads": extraIs(0, 0, 0, 0), "offset_group": extraI(2)},
		in: []*tensor.Tensor{x2, w2, extraT(ov, 1, 16, 2, 2)}}.mustRun(t)
	extraClose(t, "offset groups (float64)", out[0], tensor.Shape{1, 1, 2, 2}, []float64{33.5, 32.1, 32, 32}, 1e-9)

	// With zero offsets DeformConv is Conv: check groups, strides and
	// dilations against a direct convolution.
	rng := rand.New(rand.NewSource(3))
	const N, C, H, W, OC, G, KH, KW = 2, 4, 7, 6, 6, 2, 3, 2
	xr := make([]float32, N*C*H*W)
	wr := make([]float32, OC*(C/G)*KH*KW)
	for i := range xr {
		xr[i] = rng.Float32()*2 - 1
	}
	for i := range wr {
		wr[i] = rng.Float32()*2 - 1
	}
	sh, sw, dh, dw, ph, pw := 2, 1, 1, 2, 1, 0
	oh := (H+2*ph-(dh*(KH-1)+1))/sh + 1
	ow := (W+2*pw-(dw*(KW-1)+1))/sw + 1
	want := make([]float64, N*OC*oh*ow)
	for n := 0; n < N; n++ {
		for o := 0; o < OC; o++ {
			g := o / (OC / G)
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					s := 0.0
					for c := 0; c < C/G; c++ {
						for ki := 0; ki < KH; ki++ {
							for kj := 0; kj < KW; kj++ {
								yy, xx := i*sh-ph+ki*dh, j*sw-pw+kj*dw
								if yy >= 0 && yy < H && xx >= 0 && xx < W {
									s += float64(xr[((n*C+g*(C/G)+c)*H+yy)*W+xx]) * float64(wr[((o*(C/G)+c)*KH+ki)*KW+kj])
								}
							}
						}
					}
					want[((n*OC+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
	out = extraCall{op: "DeformConv", opset: 19,
		attrs: extraAttrs{"group": extraI(G), "strides": extraIs(int64(sh), int64(sw)), "dilations": extraIs(int64(dh), int64(dw)), "pads": extraIs(int64(ph), int64(pw), int64(ph), int64(pw))},
		in:    []*tensor.Tensor{extraT(xr, N, C, H, W), extraT(wr, OC, C/G, KH, KW), extraT(make([]float32, N*2*KH*KW*oh*ow), N, 2*KH*KW, oh, ow)}}.mustRun(t)
	extraClose(t, "as conv", out[0], tensor.Shape{N, OC, oh, ow}, want, 1e-5)
}

// extraAffineRef builds the grid as PyTorch does: base coordinates from
// linspace(-1, 1, n), scaled by (n-1)/n without align_corners.
func extraAffineRef(theta []float64, n int, sizes []int, align bool) []float64 {
	lin := func(i, size int) float64 {
		if size <= 1 {
			return 0
		}
		v := -1 + 2*float64(i)/float64(size-1)
		if !align {
			v = v * float64(size-1) / float64(size)
		}
		return v
	}
	nd := len(sizes)
	var out []float64
	for b := 0; b < n; b++ {
		t := theta[b*nd*(nd+1):]
		if nd == 2 {
			for i := 0; i < sizes[0]; i++ {
				for j := 0; j < sizes[1]; j++ {
					base := []float64{lin(j, sizes[1]), lin(i, sizes[0]), 1}
					for r := 0; r < 2; r++ {
						out = append(out, t[r*3]*base[0]+t[r*3+1]*base[1]+t[r*3+2]*base[2])
					}
				}
			}
			continue
		}
		for d := 0; d < sizes[0]; d++ {
			for i := 0; i < sizes[1]; i++ {
				for j := 0; j < sizes[2]; j++ {
					base := []float64{lin(j, sizes[2]), lin(i, sizes[1]), lin(d, sizes[0]), 1}
					for r := 0; r < 3; r++ {
						s := 0.0
						for k := 0; k < 4; k++ {
							s += t[r*4+k] * base[k]
						}
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

func TestExtraAffineGrid(t *testing.T) {
	ident := extraT([]float32{1, 0, 0, 0, 1, 0}, 1, 2, 3)
	out := extraCall{op: "AffineGrid", opset: 20, in: []*tensor.Tensor{ident, extraI64(1, 1, 2, 3)}}.mustRun(t)
	extraClose(t, "identity", out[0], tensor.Shape{1, 2, 3, 2},
		[]float64{-2.0 / 3, -0.5, 0, -0.5, 2.0 / 3, -0.5, -2.0 / 3, 0.5, 0, 0.5, 2.0 / 3, 0.5}, 1e-6)
	out = extraCall{op: "AffineGrid", opset: 20, attrs: extraAttrs{"align_corners": extraI(1)}, in: []*tensor.Tensor{ident, extraI64(1, 1, 2, 3)}}.mustRun(t)
	extraClose(t, "identity aligned", out[0], tensor.Shape{1, 2, 3, 2},
		[]float64{-1, -1, 0, -1, 1, -1, -1, 1, 0, 1, 1, 1}, 1e-6)

	// The ONNX cases' shapes (N=2; H, W = 5, 6; D, H, W = 4, 5, 6) with
	// general matrices, against the reference above.
	rng := rand.New(rand.NewSource(11))
	for _, nd := range []int{2, 3} {
		th := make([]float64, 2*nd*(nd+1))
		for i := range th {
			th[i] = rng.Float64()*4 - 2
		}
		sizes := []int{5, 6}
		size := []int64{2, 3, 5, 6}
		if nd == 3 {
			sizes, size = []int{4, 5, 6}, []int64{2, 3, 4, 5, 6}
		}
		shape := append(append(tensor.Shape{2}, sizes...), nd)
		for _, align := range []bool{false, true} {
			a := extraAttrs{"align_corners": extraI(0)}
			if align {
				a["align_corners"] = extraI(1)
			}
			for _, dynamic := range []bool{false, true} {
				out := extraCall{op: "AffineGrid", opset: 20, attrs: a, dynamic: dynamic, in: []*tensor.Tensor{extraT(th, 2, nd, nd+1), extraI64(size...)}}.mustRun(t)
				extraClose(t, fmt.Sprintf("%dd align %v", nd, align), out[0], shape, extraAffineRef(th, 2, sizes, align), 1e-12)
			}
		}
	}
}

func TestExtraRegexFullMatch(t *testing.T) {
	out := extraCall{op: "RegexFullMatch", opset: 20, attrs: extraAttrs{"pattern": extraS(`www\.[\w.-]+\.\bcom\b`)},
		in: []*tensor.Tensor{extraT([]string{"www.google.com", "www.facebook.com", "www.bbc.co.uk"}, 3)}}.mustRun(t)
	extraEqual(t, "basic", out[0], tensor.Shape{3}, []bool{true, true, false})
	out = extraCall{op: "RegexFullMatch", opset: 20, attrs: extraAttrs{"pattern": extraS(`(\W|^)[\w.\-]{0,25}@(yahoo|gmail)\.com(\W|$)`)},
		in: []*tensor.Tensor{extraT([]string{"account@gmail.com", "account@hotmail.com", "not email", "account2@yahoo.com"}, 2, 2)}}.mustRun(t)
	extraEqual(t, "email domain", out[0], tensor.Shape{2, 2}, []bool{true, false, false, true})
	// A full match, not a partial one; alternation stays inside the anchors.
	out = extraCall{op: "RegexFullMatch", opset: 20, attrs: extraAttrs{"pattern": extraS(`ab|cd`)},
		in: []*tensor.Tensor{extraT([]string{"ab", "cd", "abcd", "xab", "", "ab\n"}, 6)}}.mustRun(t)
	extraEqual(t, "anchoring", out[0], tensor.Shape{6}, []bool{true, true, false, false, false, false})
	out = extraCall{op: "RegexFullMatch", opset: 20, attrs: extraAttrs{"pattern": extraS(`a*`)},
		in: []*tensor.Tensor{extraT([]string{}, 0, 3)}}.mustRun(t)
	extraEqual(t, "empty", out[0], tensor.Shape{0, 3}, []bool{})
}

func TestExtraStringConcat(t *testing.T) {
	s := func(v ...string) []string { return v }
	cases := []struct {
		name   string
		x, y   *tensor.Tensor
		shape  tensor.Shape
		result []string
	}{
		{"basic", extraT(s("abc", "def"), 2), extraT(s(".com", ".net"), 2), tensor.Shape{2}, s("abc.com", "def.net")},
		{"broadcasting", extraT(s("cat", "dog", "snake"), 3), extraT(s("s"), 1), tensor.Shape{3}, s("cats", "dogs", "snakes")},
		{"zero dimensional", tensor.Scalar("cat"), tensor.Scalar("s"), tensor.Shape{}, s("cats")},
		{"empty string", extraT(s("abc", ""), 2), extraT(s("", "abc"), 2), tensor.Shape{2}, s("abc", "abc")},
		{"utf8", extraT(s("的", "中"), 2), extraT(s("的", "中"), 2), tensor.Shape{2}, s("的的", "中中")},
		{"two-way broadcast", extraT(s("a", "b"), 2, 1), extraT(s("x", "y", "z"), 3), tensor.Shape{2, 3}, s("ax", "ay", "az", "bx", "by", "bz")},
	}
	for _, c := range cases {
		out := extraCall{op: "StringConcat", opset: 20, in: []*tensor.Tensor{c.x, c.y}}.mustRun(t)
		extraEqual(t, c.name, out[0], c.shape, c.result)
	}
}

func TestExtraStringSplit(t *testing.T) {
	s := func(v ...string) []string { return v }
	delim := func(d string) extraAttrs { return extraAttrs{"delimiter": extraS(d)} }
	cases := []struct {
		name   string
		attrs  extraAttrs
		x      *tensor.Tensor
		yShape tensor.Shape
		y      []string
		z      []int64
	}{
		{"basic", delim("."), extraT(s("abc.com", "def.net"), 2), tensor.Shape{2, 2}, s("abc", "com", "def", "net"), []int64{2, 2}},
		{"maxsplit", extraAttrs{"maxsplit": extraI(2)}, extraT(s("hello world", "def.net", "o n n x", "the quick brown fox"), 2, 2),
			tensor.Shape{2, 2, 3}, s("hello", "world", "", "def.net", "", "", "o", "n", "n x", "the", "quick", "brown fox"), []int64{2, 1, 3, 3}},
		{"consecutive delimiters", delim("-"), extraT(s("o-n-n--x-", "o-n----nx"), 2),
			tensor.Shape{2, 6}, s("o", "n", "n", "", "x", "", "o", "n", "", "", "", "nx"), []int64{6, 6}},
		{"empty string delimiter", delim(""), extraT(s("hello world !", "  hello   world !", " hello world   ! "), 3),
			tensor.Shape{3, 3}, s("hello", "world", "!", "hello", "world", "!", "hello", "world", "!"), []int64{3, 3, 3}},
		{"no delimiter", nil, extraT(s("hello world !", "  hello   world !", " hello world   ! "), 3),
			tensor.Shape{3, 3}, s("hello", "world", "!", "hello", "world", "!", "hello", "world", "!"), []int64{3, 3, 3}},
		{"empty tensor", nil, extraT(s(), 0), tensor.Shape{0, 0}, s(), []int64{}},
		// Python's str.split semantics in the corners.
		{"maxsplit 0", extraAttrs{"maxsplit": extraI(0)}, extraT(s("  a b  ", "x"), 2), tensor.Shape{2, 1}, s("a b  ", "x"), []int64{1, 1}},
		{"maxsplit rest keeps trailing space", extraAttrs{"maxsplit": extraI(1)}, extraT(s(" a  b  c ", "a "), 2), tensor.Shape{2, 2}, s("a", "b  c ", "a", ""), []int64{2, 1}},
		{"empty and blank strings", nil, extraT(s("", "   ", "a"), 3), tensor.Shape{3, 1}, s("", "", "a"), []int64{0, 0, 1}},
		{"empty string with delimiter", delim(","), extraT(s("", "a,"), 2), tensor.Shape{2, 2}, s("", "", "a", ""), []int64{1, 2}},
		{"unicode white space", nil, extraT(s("a\u3000b\u00a0c\x1fd\te"), 1), tensor.Shape{1, 5}, s("a", "b", "c", "d", "e"), []int64{5}},
		{"multi-byte delimiter", extraAttrs{"delimiter": extraS("<>"), "maxsplit": extraI(-1)}, extraT(s("1<>2<><>3"), 1), tensor.Shape{1, 4}, s("1", "2", "", "3"), []int64{4}},
		{"scalar", delim(" "), tensor.Scalar("a b"), tensor.Shape{2}, s("a", "b"), []int64{2}},
	}
	for _, c := range cases {
		out := extraCall{op: "StringSplit", opset: 20, attrs: c.attrs, nout: 2, in: []*tensor.Tensor{c.x}}.mustRun(t)
		extraEqual(t, c.name+" Y", out[0], c.yShape, c.y)
		extraEqual(t, c.name+" Z", out[1], c.x.Shape(), c.z)
	}
}

// The operators must reject bad nodes and bad data with errors, never panic.
func TestExtraErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return extraRange(n, shape...)
	}
	strs := extraT([]string{"a", "b"}, 2)
	small := &ops.Env{MaxTensorBytes: 1 << 10}
	cases := []struct {
		name string
		c    extraCall
	}{
		{"lpnorm p", extraCall{op: "LpNormalization", opset: 1, attrs: extraAttrs{"p": extraI(3)}, in: []*tensor.Tensor{f(2, 2)}}},
		{"lpnorm axis", extraCall{op: "LpNormalization", opset: 1, attrs: extraAttrs{"axis": extraI(2)}, in: []*tensor.Tensor{f(2, 2)}}},
		{"lpnorm int", extraCall{op: "LpNormalization", opset: 1, in: []*tensor.Tensor{extraI64(1, 2)}}},
		{"lpnorm scalar", extraCall{op: "LpNormalization", opset: 1, in: []*tensor.Tensor{tensor.Scalar[float32](1)}}},
		{"lpnorm attr type", extraCall{op: "LpNormalization", opset: 1, attrs: extraAttrs{"p": extraF(2)}, in: []*tensor.Tensor{f(2, 2)}}},

		{"roipool no pooled_shape", extraCall{op: "MaxRoiPool", opset: 1, in: []*tensor.Tensor{f(1, 1, 4, 4), f(1, 5)}}},
		{"roipool pooled_shape", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), f(1, 5)}}},
		{"roipool pooled zero", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(0, 2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), f(1, 5)}}},
		{"roipool rois shape", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2, 2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), f(1, 4)}}},
		{"roipool X rank", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2, 2)}, in: []*tensor.Tensor{f(1, 4, 4), f(1, 5)}}},
		{"roipool types", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2, 2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), extraT(make([]float64, 5), 1, 5)}}},
		{"roipool batch index", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2, 2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), extraT([]float32{1, 0, 0, 1, 1}, 1, 5)}}},
		{"roipool negative batch", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2, 2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), extraT([]float32{-1, 0, 0, 1, 1}, 1, 5)}}},
		{"roipool NaN", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2, 2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), extraT([]float32{0, float32(math.NaN()), 0, 1, 1}, 1, 5)}}},
		{"roipool Inf", extraCall{op: "MaxRoiPool", opset: 1, attrs: extraAttrs{"pooled_shape": extraIs(2, 2)}, in: []*tensor.Tensor{f(1, 1, 4, 4), extraT([]float32{0, 0, 0, float32(math.Inf(1)), 1}, 1, 5)}}},

		{"col2im block size", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{f(1, 5, 5), extraI64(5, 5), extraI64(2, 2)}}},
		{"col2im block count", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{f(1, 5, 4), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im block count dynamic", extraCall{op: "Col2Im", opset: 18, dynamic: true, in: []*tensor.Tensor{f(1, 5, 4), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im block too big", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{f(1, 36, 1), extraI64(5, 5), extraI64(6, 6)}}},
		{"col2im lengths", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{f(1, 5, 5), extraI64(5, 5, 1), extraI64(1, 5)}}},
		{"col2im pads", extraCall{op: "Col2Im", opset: 18, attrs: extraAttrs{"pads": extraIs(1, 1)}, in: []*tensor.Tensor{f(1, 5, 5), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im negative pads", extraCall{op: "Col2Im", opset: 18, attrs: extraAttrs{"pads": extraIs(-1, 0, 0, 0)}, in: []*tensor.Tensor{f(1, 5, 5), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im stride", extraCall{op: "Col2Im", opset: 18, attrs: extraAttrs{"strides": extraIs(0, 1)}, in: []*tensor.Tensor{f(1, 5, 5), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im dilation", extraCall{op: "Col2Im", opset: 18, attrs: extraAttrs{"dilations": extraIs(1, 0)}, in: []*tensor.Tensor{f(1, 5, 5), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im negative image", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{f(1, 5, 5), extraI64(-5, 5), extraI64(1, 5)}}},
		{"col2im zero block", extraCall{op: "Col2Im", opset: 18, dynamic: true, in: []*tensor.Tensor{f(1, 5, 5), extraI64(5, 5), extraI64(0, 5)}}},
		{"col2im rank", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{f(5, 5), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im int32 shape", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{f(1, 5, 5), extraT([]int32{5, 5}, 2), extraI64(1, 5)}}},
		{"col2im string", extraCall{op: "Col2Im", opset: 18, in: []*tensor.Tensor{extraT(make([]string, 25), 1, 5, 5), extraI64(5, 5), extraI64(1, 5)}}},
		{"col2im huge image", extraCall{op: "Col2Im", opset: 18, env: small, dynamic: true, in: []*tensor.Tensor{f(1, 1, 10000), extraI64(100, 100), extraI64(1, 1)}}},

		{"crop negative size", extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{f(4, 4), extraI64(-1, 2)}}},
		{"crop negative size dynamic", extraCall{op: "CenterCropPad", opset: 18, dynamic: true, in: []*tensor.Tensor{f(4, 4), extraI64(-1, 2)}}},
		{"crop shape length", extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{f(4, 4), extraI64(2)}}},
		{"crop duplicate axes", extraCall{op: "CenterCropPad", opset: 18, attrs: extraAttrs{"axes": extraIs(0, -2)}, in: []*tensor.Tensor{f(4, 4), extraI64(2, 2)}}},
		{"crop axis range", extraCall{op: "CenterCropPad", opset: 18, attrs: extraAttrs{"axes": extraIs(2)}, in: []*tensor.Tensor{f(4, 4), extraI64(2)}}},
		{"crop float shape", extraCall{op: "CenterCropPad", opset: 18, in: []*tensor.Tensor{f(4, 4), f(2)}}},
		{"crop huge pad", extraCall{op: "CenterCropPad", opset: 18, env: small, dynamic: true, in: []*tensor.Tensor{f(4, 4), extraI64(1<<20, 1<<20)}}},

		{"deform 1-D", extraCall{op: "DeformConv", opset: 19, in: []*tensor.Tensor{f(1, 1, 5), f(1, 1, 2), f(1, 2, 4)}}},
		{"deform offset shape", extraCall{op: "DeformConv", opset: 19, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), f(1, 4, 2, 2)}}},
		{"deform offset output size", extraCall{op: "DeformConv", opset: 19, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), f(1, 8, 3, 3)}}},
		{"deform mask shape", extraCall{op: "DeformConv", opset: 19, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), f(1, 8, 2, 2), nil, f(1, 8, 2, 2)}}},
		{"deform bias shape", extraCall{op: "DeformConv", opset: 19, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), f(1, 8, 2, 2), f(2)}}},
		{"deform group", extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"group": extraI(2)}, in: []*tensor.Tensor{f(1, 2, 3, 3), f(1, 2, 2, 2), f(1, 8, 2, 2)}}},
		{"deform offset_group", extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"offset_group": extraI(2)}, in: []*tensor.Tensor{f(1, 3, 3, 3), f(1, 3, 2, 2), f(1, 16, 2, 2)}}},
		{"deform offset_group zero", extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"offset_group": extraI(0)}, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), f(1, 8, 2, 2)}}},
		{"deform kernel_shape", extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"kernel_shape": extraIs(3, 3)}, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), f(1, 8, 2, 2)}}},
		{"deform kernel too big", extraCall{op: "DeformConv", opset: 19, in: []*tensor.Tensor{f(1, 1, 2, 2), f(1, 1, 3, 3), f(1, 18, 1, 1)}}},
		{"deform stride", extraCall{op: "DeformConv", opset: 19, attrs: extraAttrs{"strides": extraIs(0, 1)}, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), f(1, 8, 2, 2)}}},
		{"deform types", extraCall{op: "DeformConv", opset: 19, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 2, 2), extraT(make([]float64, 32), 1, 8, 2, 2)}}},

		{"affine theta shape", extraCall{op: "AffineGrid", opset: 20, in: []*tensor.Tensor{f(1, 2, 2), extraI64(1, 1, 2, 2)}}},
		{"affine size length", extraCall{op: "AffineGrid", opset: 20, in: []*tensor.Tensor{f(1, 2, 3), extraI64(1, 1, 2)}}},
		{"affine size for 3-D", extraCall{op: "AffineGrid", opset: 20, in: []*tensor.Tensor{f(1, 3, 4), extraI64(1, 1, 2, 2)}}},
		{"affine batch", extraCall{op: "AffineGrid", opset: 20, in: []*tensor.Tensor{f(1, 2, 3), extraI64(2, 1, 2, 2)}}},
		{"affine batch dynamic", extraCall{op: "AffineGrid", opset: 20, dynamic: true, in: []*tensor.Tensor{f(1, 2, 3), extraI64(2, 1, 2, 2)}}},
		{"affine negative size", extraCall{op: "AffineGrid", opset: 20, dynamic: true, in: []*tensor.Tensor{f(1, 2, 3), extraI64(1, 1, -2, 2)}}},
		{"affine align", extraCall{op: "AffineGrid", opset: 20, attrs: extraAttrs{"align_corners": extraI(2)}, in: []*tensor.Tensor{f(1, 2, 3), extraI64(1, 1, 2, 2)}}},
		{"affine huge", extraCall{op: "AffineGrid", opset: 20, env: small, dynamic: true, in: []*tensor.Tensor{f(1, 2, 3), extraI64(1, 1, 1<<20, 1<<20)}}},
		{"affine int32 size", extraCall{op: "AffineGrid", opset: 20, in: []*tensor.Tensor{f(1, 2, 3), extraT([]int32{1, 1, 2, 2}, 4)}}},

		{"regex invalid", extraCall{op: "RegexFullMatch", opset: 20, attrs: extraAttrs{"pattern": extraS(`(a`)}, in: []*tensor.Tensor{strs}}},
		{"regex perl lookahead", extraCall{op: "RegexFullMatch", opset: 20, attrs: extraAttrs{"pattern": extraS(`a(?=b)`)}, in: []*tensor.Tensor{strs}}},
		{"regex missing", extraCall{op: "RegexFullMatch", opset: 20, in: []*tensor.Tensor{strs}}},
		{"regex not strings", extraCall{op: "RegexFullMatch", opset: 20, attrs: extraAttrs{"pattern": extraS(`a`)}, in: []*tensor.Tensor{f(2)}}},
		{"concat shapes", extraCall{op: "StringConcat", opset: 20, in: []*tensor.Tensor{strs, extraT([]string{"a", "b", "c"}, 3)}}},
		{"concat types", extraCall{op: "StringConcat", opset: 20, in: []*tensor.Tensor{strs, f(2)}}},
		{"concat huge", extraCall{op: "StringConcat", opset: 20, env: small, in: []*tensor.Tensor{extraT([]string{string(make([]byte, 4096))}, 1, 1), extraT(make([]string, 10), 10)}}},
		{"split not strings", extraCall{op: "StringSplit", opset: 20, nout: 2, in: []*tensor.Tensor{f(2)}}},
		{"split attr type", extraCall{op: "StringSplit", opset: 20, nout: 2, attrs: extraAttrs{"delimiter": extraI(1)}, in: []*tensor.Tensor{strs}}},
		{"split huge", extraCall{op: "StringSplit", opset: 20, nout: 2, env: small, attrs: extraAttrs{"delimiter": extraS(",")},
			in: []*tensor.Tensor{extraT([]string{strings.Repeat(",", 100), "a"}, 2)}}},
	}
	for _, c := range cases {
		if _, err := c.c.run(); err == nil {
			t.Errorf("%s: no error", c.name)
		} else if strings.HasPrefix(err.Error(), "PANIC:") {
			t.Errorf("%s: %v", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}
