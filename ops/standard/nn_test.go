package standard

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

type nnAttrs = map[string]ops.Attr

func nnI(v int64) ops.Attr      { return ops.Attr{Type: ops.AttrInt, Int: v} }
func nnF(v float32) ops.Attr    { return ops.Attr{Type: ops.AttrFloat, Float: v} }
func nnS(v string) ops.Attr     { return ops.Attr{Type: ops.AttrString, String: v} }
func nnIs(v ...int64) ops.Attr  { return ops.Attr{Type: ops.AttrInts, Ints: v} }
func nnSs(v ...string) ops.Attr { return ops.Attr{Type: ops.AttrStrings, Strings: v} }
func nnT[T tensor.Element](t *testing.T, v []T, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(v, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// nnRun prepares and runs one node; value inputs carry their contents.
func nnRun(t *testing.T, op string, opset int, attrs nnAttrs, nout int, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
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
		}
	}
	plan, err := ops.PrepareOp(o, &ops.Node{OpType: op, Opset: opset, Attrs: ops.NewAttrs(attrs), Inputs: types, NumOutputs: nout})
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, nout)
	for i, ot := range plan.Outputs {
		if ot.Static() {
			out[i], _ = tensor.New(ot.DType, ot.Shape)
		}
	}
	w := cpu.NewWorkers(2)
	defer w.Close()
	if err := plan.Kernel(&ops.Env{Workers: w}, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func nnRandT(rng *rand.Rand, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	t, _ := tensor.FromSlice(v, shape...)
	return t
}

func nnClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// The operators must reject bad nodes with errors, never panic.
func TestNNPrepareErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return nnRandT(rand.New(rand.NewSource(1)), shape...) }
	i64 := func(v ...int64) *tensor.Tensor { x, _ := tensor.FromSlice(v, len(v)); return x }
	cases := []struct {
		name  string
		op    string
		opset int
		attrs nnAttrs
		nout  int
		in    []*tensor.Tensor
	}{
		{"matmul inner", "MatMul", 13, nil, 1, []*tensor.Tensor{f(2, 3), f(4, 2)}},
		{"matmul batch", "MatMul", 13, nil, 1, []*tensor.Tensor{f(2, 2, 3), f(3, 3, 2)}},
		{"gemm rank", "Gemm", 13, nil, 1, []*tensor.Tensor{f(2, 3, 1), f(3, 2)}},
		{"gemm C shape", "Gemm", 13, nil, 1, []*tensor.Tensor{f(2, 3), f(3, 2), f(3, 2)}},
		{"gemm no C before 11", "Gemm", 9, nil, 1, []*tensor.Tensor{f(2, 3), f(3, 2)}},
		{"conv channels", "Conv", 11, nil, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 2, 3, 3)}},
		{"conv group", "Conv", 11, nnAttrs{"group": nnI(2)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv group zero", "Conv", 11, nnAttrs{"group": nnI(0)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv auto_pad", "Conv", 11, nnAttrs{"auto_pad": nnS("BOGUS")}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv kernel_shape", "Conv", 11, nnAttrs{"kernel_shape": nnIs(2, 2)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv pads len", "Conv", 11, nnAttrs{"pads": nnIs(1, 1)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv negative pads", "Conv", 11, nnAttrs{"pads": nnIs(-1, 0, 0, 0)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv zero stride", "Conv", 11, nnAttrs{"strides": nnIs(0, 1)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv window too big", "Conv", 11, nil, 1, []*tensor.Tensor{f(1, 3, 2, 2), f(2, 3, 3, 3)}},
		{"conv bias", "Conv", 11, nil, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3), f(3)}},
		{"conv attr type", "Conv", 11, nnAttrs{"group": nnF(1)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"convtranspose channels", "ConvTranspose", 11, nil, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 2, 3, 3)}},
		{"maxpool no kernel", "MaxPool", 12, nil, 1, []*tensor.Tensor{f(1, 1, 4, 4)}},
		{"maxpool storage_order", "MaxPool", 12, nnAttrs{"kernel_shape": nnIs(2, 2), "storage_order": nnI(3)}, 1, []*tensor.Tensor{f(1, 1, 4, 4)}},
		{"avgpool dilations early", "AveragePool", 11, nnAttrs{"kernel_shape": nnIs(2, 2), "dilations": nnIs(2, 2)}, 1, []*tensor.Tensor{f(1, 1, 4, 4)}},
		{"pool rank", "MaxPool", 12, nnAttrs{"kernel_shape": nnIs(2)}, 1, []*tensor.Tensor{f(4, 4)}},
		{"lppool p", "LpPool", 18, nnAttrs{"kernel_shape": nnIs(2, 2), "p": nnI(0)}, 1, []*tensor.Tensor{f(1, 1, 4, 4)}},
		{"batchnorm params", "BatchNormalization", 15, nil, 1, []*tensor.Tensor{f(1, 3, 2, 2), f(2), f(3), f(3), f(3)}},
		{"instancenorm params", "InstanceNormalization", 6, nil, 1, []*tensor.Tensor{f(1, 3, 2, 2), f(2), f(3)}},
		{"layernorm axis", "LayerNormalization", 17, nnAttrs{"axis": nnI(3)}, 1, []*tensor.Tensor{f(2, 3), f(3)}},
		{"layernorm scale", "LayerNormalization", 17, nil, 1, []*tensor.Tensor{f(2, 3), f(4)}},
		{"groupnorm groups", "GroupNormalization", 18, nnAttrs{"num_groups": nnI(2)}, 1, []*tensor.Tensor{f(1, 3, 2), f(2), f(2)}},
		{"groupnorm missing", "GroupNormalization", 18, nil, 1, []*tensor.Tensor{f(1, 4, 2), f(2), f(2)}},
		{"lrn size", "LRN", 13, nnAttrs{"size": nnI(0)}, 1, []*tensor.Tensor{f(1, 3, 2, 2)}},
		{"mvn axes", "MeanVarianceNormalization", 13, nnAttrs{"axes": nnIs(5)}, 1, []*tensor.Tensor{f(1, 3, 2, 2)}},
		{"softmax axis", "Softmax", 13, nnAttrs{"axis": nnI(2)}, 1, []*tensor.Tensor{f(2, 3)}},
		{"softmax int", "Softmax", 13, nil, 1, []*tensor.Tensor{i64(1, 2)}},
		{"einsum terms", "Einsum", 12, nnAttrs{"equation": nnS("ij,jk->ik")}, 1, []*tensor.Tensor{f(2, 3)}},
		{"einsum rank", "Einsum", 12, nnAttrs{"equation": nnS("ijk->i")}, 1, []*tensor.Tensor{f(2, 3)}},
		{"einsum sizes", "Einsum", 12, nnAttrs{"equation": nnS("ij,ij->i")}, 1, []*tensor.Tensor{f(2, 3), f(2, 4)}},
		{"einsum output label", "Einsum", 12, nnAttrs{"equation": nnS("ij->k")}, 1, []*tensor.Tensor{f(2, 3)}},
		{"einsum char", "Einsum", 12, nnAttrs{"equation": nnS("i1->i")}, 1, []*tensor.Tensor{f(2, 3)}},
		{"einsum no equation", "Einsum", 12, nil, 1, []*tensor.Tensor{f(2, 3)}},
		{"nms boxes", "NonMaxSuppression", 11, nil, 1, []*tensor.Tensor{f(1, 2, 3), f(1, 1, 2)}},
		{"nms center", "NonMaxSuppression", 11, nnAttrs{"center_point_box": nnI(2)}, 1, []*tensor.Tensor{f(1, 2, 4), f(1, 1, 2)}},
		{"roialign rois", "RoiAlign", 16, nil, 1, []*tensor.Tensor{f(1, 1, 4, 4), f(2, 3), i64(0, 0)}},
		{"roialign mode", "RoiAlign", 16, nnAttrs{"mode": nnS("min")}, 1, []*tensor.Tensor{f(1, 1, 4, 4), f(1, 4), i64(0)}},
		{"gridsample mode", "GridSample", 16, nnAttrs{"mode": nnS("foo")}, 1, []*tensor.Tensor{f(1, 1, 4, 4), f(1, 2, 2, 2)}},
		{"gridsample grid", "GridSample", 16, nil, 1, []*tensor.Tensor{f(1, 1, 4, 4), f(1, 2, 2, 3)}},
		{"det square", "Det", 11, nil, 1, []*tensor.Tensor{f(2, 3)}},
		{"quantize block", "QuantizeLinear", 21, nnAttrs{"block_size": nnI(2)}, 1, []*tensor.Tensor{f(2, 4), f(2)}},
		{"maxunpool indices shape", "MaxUnpool", 11, nnAttrs{"kernel_shape": nnIs(2, 2)}, 1, []*tensor.Tensor{f(1, 1, 2, 2), i64(0, 1, 2)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := nnRun(t, c.op, c.opset, c.attrs, c.nout, c.in...)
			if err == nil {
				t.Fatalf("%s: no error", c.op)
			}
			if !strings.Contains(err.Error(), "invalid") && !strings.Contains(err.Error(), c.op) {
				t.Logf("error: %v", err)
			}
		})
	}
}

// Data-dependent problems are kernel errors.
func TestNNKernelErrors(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	idx := nnT(t, []int64{0, 1, 99, 3}, 1, 1, 2, 2)
	if _, err := nnRun(t, "MaxUnpool", 11, nnAttrs{"kernel_shape": nnIs(2, 2), "strides": nnIs(2, 2)}, 1, nnRandT(rng, 1, 1, 2, 2), idx); err == nil {
		t.Error("MaxUnpool: index out of range accepted")
	}
	if _, err := nnRun(t, "RoiAlign", 16, nil, 1, nnRandT(rng, 1, 1, 4, 4), nnT(t, []float32{0, 0, 1, 1}, 1, 4), nnT(t, []int64{3}, 1)); err == nil {
		t.Error("RoiAlign: batch index out of range accepted")
	}
	if _, err := nnRun(t, "QuantizeLinear", 13, nnAttrs{"axis": nnI(1)}, 1, nnRandT(rng, 2, 3), nnT(t, []float32{1, 2}, 2)); err == nil {
		t.Error("QuantizeLinear: per-axis scale of the wrong length accepted")
	}
	if _, err := nnRun(t, "NonMaxSuppression", 11, nil, 1, nnRandT(rng, 1, 2, 4), nnRandT(rng, 1, 1, 2), nnT(t, []int64{2}, 1), nnT(t, []float32{2}, 1)); err == nil {
		t.Error("NonMaxSuppression: iou_threshold 2 accepted")
	}
}

// nnRefConv is a direct N-d convolution for checking the GEMM and
// depthwise paths.
func nnRefConv(x, w []float32, b []float32, xs, ws []int, group int, win *nnWindow) []float32 {
	n, c, m := xs[0], xs[1], ws[0]
	cg, mg := c/group, m/group
	r := len(win.in)
	outS, inS, kS := nnProd(win.out), nnProd(win.in), nnProd(win.k)
	y := make([]float32, n*m*outS)
	oi := make([]int, r)
	ki := make([]int, r)
	for bi := 0; bi < n; bi++ {
		for oc := 0; oc < m; oc++ {
			g := oc / mg
			for o := 0; o < outS; o++ {
				rem := o
				for d := r - 1; d >= 0; d-- {
					oi[d] = rem % win.out[d]
					rem /= win.out[d]
				}
				var s float64
				if b != nil {
					s = float64(b[oc])
				}
				for ic := 0; ic < cg; ic++ {
					for kf := 0; kf < kS; kf++ {
						rem := kf
						for d := r - 1; d >= 0; d-- {
							ki[d] = rem % win.k[d]
							rem /= win.k[d]
						}
						off, ok := 0, true
						for d := 0; d < r; d++ {
							p := oi[d]*win.s[d] - win.pb[d] + ki[d]*win.d[d]
							if p < 0 || p >= win.in[d] {
								ok = false
								break
							}
							off = off*win.in[d] + p
						}
						if !ok {
							continue
						}
						s += float64(x[(bi*c+g*cg+ic)*inS+off]) * float64(w[(oc*cg+ic)*kS+kf])
					}
				}
				y[(bi*m+oc)*outS+o] = float32(s)
			}
		}
	}
	return y
}

func TestNNConvAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	cfgs := []struct {
		xs, ws            []int
		group             int
		strides, pads, dl []int64
		autoPad           string
	}{
		{[]int{1, 4, 9, 8}, []int{4, 1, 3, 3}, 4, []int64{1, 1}, []int64{1, 1, 1, 1}, []int64{1, 1}, ""},
		{[]int{2, 4, 9, 8}, []int{8, 1, 3, 3}, 4, []int64{2, 1}, []int64{0, 1, 2, 0}, []int64{1, 1}, ""},
		{[]int{1, 3, 11, 10}, []int{6, 1, 5, 5}, 3, []int64{2, 2}, []int64{2, 2, 2, 2}, []int64{1, 1}, ""},
		{[]int{1, 3, 11, 10}, []int{3, 1, 3, 2}, 3, []int64{1, 2}, []int64{1, 0, 1, 1}, []int64{2, 3}, ""},
		{[]int{1, 2, 3, 3}, []int{2, 1, 5, 5}, 2, []int64{1, 1}, []int64{2, 2, 2, 2}, []int64{1, 1}, ""},
		{[]int{1, 6, 7, 7}, []int{4, 3, 3, 3}, 2, []int64{1, 1}, nil, []int64{1, 1}, "SAME_LOWER"},
		{[]int{2, 5, 13}, []int{7, 5, 4}, 1, []int64{3}, []int64{2, 1}, []int64{2}, ""},
		{[]int{1, 4, 5, 6, 7}, []int{2, 2, 2, 3, 2}, 2, []int64{1, 2, 1}, []int64{0, 1, 0, 1, 0, 1}, []int64{1, 1, 2}, ""},
		{[]int{1, 8, 6, 6}, []int{5, 8, 1, 1}, 1, []int64{1, 1}, []int64{0, 0, 0, 0}, []int64{1, 1}, ""},
		// 1x1 with strides (subsampled, then a 1x1 product): odd sizes,
		// groups, a batch, more output channels than a tile.
		{[]int{2, 6, 9, 7}, []int{12, 3, 1, 1}, 2, []int64{2, 3}, []int64{0, 0, 0, 0}, []int64{1, 1}, ""},
		{[]int{1, 16, 14, 14}, []int{24, 16, 1, 1}, 1, []int64{2, 2}, []int64{0, 0, 0, 0}, []int64{1, 1}, ""},
	}
	for ci, c := range cfgs {
		x := nnRandT(rng, c.xs...)
		w := nnRandT(rng, c.ws...)
		b := nnRandT(rng, c.ws[0])
		attrs := nnAttrs{"group": nnI(int64(c.group)), "strides": nnIs(c.strides...), "dilations": nnIs(c.dl...)}
		if c.autoPad != "" {
			attrs["auto_pad"] = nnS(c.autoPad)
		} else {
			attrs["pads"] = nnIs(c.pads...)
		}
		out, err := nnRun(t, "Conv", 11, attrs, 1, x, w, b)
		if err != nil {
			t.Fatalf("cfg %d: %v", ci, err)
		}
		// The window the operator used, recomputed for the reference.
		xsT := make(tensor.Shape, len(c.xs))
		copy(xsT, c.xs)
		node := &ops.Node{OpType: "Conv", Opset: 11, Attrs: ops.NewAttrs(attrs), Inputs: []ops.Type{ops.TensorType(tensor.Float32, xsT)}}
		win, err := nnWindowFor(node, c.xs[2:], c.ws[2:], false)
		if err != nil {
			t.Fatal(err)
		}
		xv, _ := tensor.View[float32](x)
		wv, _ := tensor.View[float32](w)
		bv, _ := tensor.View[float32](b)
		want := nnRefConv(xv, wv, bv, c.xs, c.ws, c.group, win)
		got, _ := tensor.View[float32](out[0])
		nnClose(t, "conv", got, want, 1e-4)
	}
}

func TestNNSoftmaxVersions(t *testing.T) {
	x := nnT(t, []float32{1, 2, 3, 4, 5, 6}, 1, 2, 3)
	// Opset 11 at axis 1 normalizes over the 6 trailing values; 13 over the 2 along axis 1.
	o11, err := nnRun(t, "Softmax", 11, nnAttrs{"axis": nnI(1)}, 1, x)
	if err != nil {
		t.Fatal(err)
	}
	o13, err := nnRun(t, "Softmax", 13, nnAttrs{"axis": nnI(1)}, 1, x)
	if err != nil {
		t.Fatal(err)
	}
	v11, _ := tensor.View[float32](o11[0])
	v13, _ := tensor.View[float32](o13[0])
	var s11 float32
	for _, v := range v11 {
		s11 += v
	}
	if math.Abs(float64(s11-1)) > 1e-5 {
		t.Errorf("opset 11 softmax sums to %v over the coerced row", s11)
	}
	if math.Abs(float64(v13[0]+v13[3]-1)) > 1e-5 {
		t.Errorf("opset 13 softmax: %v", v13)
	}
}

func TestNNMatMulVectorsAndBroadcast(t *testing.T) {
	a := nnT(t, []float32{1, 2, 3}, 3)
	b := nnT(t, []float32{1, 0, 0, 1, 1, 1}, 3, 2)
	out, err := nnRun(t, "MatMul", 13, nil, 1, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Shape(); !got.Equal(tensor.Shape{2}) {
		t.Fatalf("shape %v", got)
	}
	v, _ := tensor.View[float32](out[0])
	nnClose(t, "vec-mat", v, []float32{4, 5}, 0)
	out, err = nnRun(t, "MatMul", 13, nil, 1, b, nnT(t, []float32{1, 2}, 2))
	if err != nil {
		t.Fatal(err)
	}
	v, _ = tensor.View[float32](out[0])
	nnClose(t, "mat-vec", v, []float32{1, 2, 3}, 0)
	// [2,1,2,3] x [3,3,2] -> [2,3,2,2]
	rng := rand.New(rand.NewSource(4))
	x, y := nnRandT(rng, 2, 1, 2, 3), nnRandT(rng, 3, 3, 2)
	out, err = nnRun(t, "MatMul", 13, nil, 1, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Shape(); !got.Equal(tensor.Shape{2, 3, 2, 2}) {
		t.Fatalf("shape %v", got)
	}
	xv, _ := tensor.View[float32](x)
	yv, _ := tensor.View[float32](y)
	got, _ := tensor.View[float32](out[0])
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			want := make([]float32, 4)
			kernels.SgemmReference(false, false, 2, 2, 3, 1, xv[i*6:], 3, yv[j*6:], 2, 0, want, 2, nil)
			nnClose(t, "batched", got[(i*3+j)*4:(i*3+j+1)*4], want, 1e-5)
		}
	}
	// Integer MatMul goes through the generic path.
	ia := nnT(t, []int32{1, 2, 3, 4}, 2, 2)
	out, err = nnRun(t, "MatMul", 13, nil, 1, ia, ia)
	if err != nil {
		t.Fatal(err)
	}
	iv, _ := tensor.View[int32](out[0])
	if iv[0] != 7 || iv[1] != 10 || iv[2] != 15 || iv[3] != 22 {
		t.Errorf("int32 matmul = %v", iv)
	}
}

func TestNNHalfConv(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	x := nnRandT(rng, 1, 2, 5, 5)
	w := nnRandT(rng, 3, 2, 3, 3)
	want, err := nnRun(t, "Conv", 11, nil, 1, x, w)
	if err != nil {
		t.Fatal(err)
	}
	h := func(t32 *tensor.Tensor) *tensor.Tensor {
		v, _ := tensor.View[float32](t32)
		o := make([]tensor.F16, len(v))
		for i, f := range v {
			o[i] = tensor.Float16FromFloat32(f)
		}
		r, _ := tensor.FromSlice(o, t32.Shape()...)
		return r
	}
	got, err := nnRun(t, "Conv", 11, nil, 1, h(x), h(w))
	if err != nil {
		t.Fatal(err)
	}
	gv, _ := tensor.View[tensor.F16](got[0])
	wv, _ := tensor.View[float32](want[0])
	for i := range gv {
		if d := math.Abs(float64(gv[i].Float32() - wv[i])); d > 0.05 {
			t.Fatalf("[%d] = %v, want %v", i, gv[i].Float32(), wv[i])
		}
	}
}

func TestNNEinsumDiagonalEllipsis(t *testing.T) {
	x := nnT(t, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3)
	out, err := nnRun(t, "Einsum", 12, nnAttrs{"equation": nnS("ii->i")}, 1, x)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := tensor.View[float32](out[0])
	nnClose(t, "diagonal", v, []float32{1, 5, 9}, 0)
	out, err = nnRun(t, "Einsum", 12, nnAttrs{"equation": nnS("ii")}, 1, x)
	if err != nil {
		t.Fatal(err)
	}
	v, _ = tensor.View[float32](out[0])
	nnClose(t, "trace", v, []float32{15}, 0)
	y := nnT(t, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2)
	out, err = nnRun(t, "Einsum", 12, nnAttrs{"equation": nnS("...ij,...jk->...ik")}, 1, y, y)
	if err != nil {
		t.Fatal(err)
	}
	v, _ = tensor.View[float32](out[0])
	nnClose(t, "ellipsis", v, []float32{7, 10, 15, 22, 67, 78, 91, 106}, 0)
}

func TestNNQuantizeRounding(t *testing.T) {
	x := nnT(t, []float32{0.5, 1.5, 2.5, -0.5, 300, -300}, 6)
	out, err := nnRun(t, "QuantizeLinear", 13, nil, 1, x, nnT(t, []float32{1}, 1), nnT(t, []int8{0}, 1))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := tensor.View[int8](out[0])
	want := []int8{0, 2, 2, 0, 127, -128}
	for i := range want {
		if v[i] != want[i] {
			t.Fatalf("quantized %v, want %v", v, want)
		}
	}
}

// MaxUnpool plans unknown dims when output_shape is not known in advance.
func TestNNMaxUnpoolDynamicShape(t *testing.T) {
	reg, _ := NewRegistry()
	o, _ := reg.Lookup("", "MaxUnpool", 11)
	x := nnT(t, []float32{5, 6, 7, 8}, 1, 1, 2, 2)
	idx := nnT(t, []int64{5, 7, 13, 15}, 1, 1, 2, 2)
	shape := nnT(t, []int64{1, 1, 5, 5}, 4)
	types := []ops.Type{ops.TypeOf(x), ops.TypeOf(idx), ops.TensorType(tensor.Int64, tensor.Shape{4})}
	plan, err := ops.PrepareOp(o, &ops.Node{OpType: "MaxUnpool", Opset: 11, Attrs: ops.NewAttrs(nnAttrs{"kernel_shape": nnIs(2, 2), "strides": nnIs(2, 2)}), Inputs: types, NumOutputs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Outputs[0].Static() {
		t.Fatalf("planned %v, want unknown dims", plan.Outputs[0])
	}
	out := []*tensor.Tensor{nil}
	if err := plan.Kernel(&ops.Env{}, []*tensor.Tensor{x, idx, shape}, out); err != nil {
		t.Fatal(err)
	}
	v, _ := tensor.View[float32](out[0])
	if !out[0].Shape().Equal(tensor.Shape{1, 1, 5, 5}) || v[6] != 5 || v[18] != 8 {
		t.Fatalf("got %v %v", out[0].Shape(), v)
	}
}

// Absurd sizes and empty images fail or give empty results, never panic.
func TestNNExtremeSizes(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	x := nnRandT(rng, 1, 1, 4, 4)
	if _, err := nnRun(t, "MaxPool", 12, nnAttrs{"kernel_shape": nnIs(2, 2), "pads": nnIs(1<<29, 1<<29, 1<<29, 1<<29)}, 1, x); err == nil {
		t.Error("MaxPool with huge pads accepted")
	}
	if _, err := nnRun(t, "ConvTranspose", 11, nnAttrs{"output_shape": nnIs(1<<30, 1<<30)}, 1, x, nnRandT(rng, 1, 1, 2, 2)); err == nil {
		t.Error("ConvTranspose with a huge output_shape accepted")
	}
	if _, err := nnRun(t, "RoiAlign", 16, nnAttrs{"output_height": nnI(1 << 20), "output_width": nnI(1 << 20)}, 1, x, nnRandT(rng, 4, 4), nnT(t, []int64{0, 0, 0, 0}, 4)); err == nil {
		t.Error("RoiAlign with a huge output accepted")
	}
	empty := nnRandT(rng, 1, 1, 0, 3)
	if _, err := nnRun(t, "RoiAlign", 16, nil, 1, empty, nnT(t, []float32{0, 0, 1, 1}, 1, 4), nnT(t, []int64{0}, 1)); err != nil {
		t.Errorf("RoiAlign on an empty image: %v", err)
	}
	if _, err := nnRun(t, "GridSample", 16, nnAttrs{"padding_mode": nnS("border")}, 1, empty, nnRandT(rng, 1, 2, 2, 2)); err != nil {
		t.Errorf("GridSample on an empty image: %v", err)
	}
	if _, err := nnRun(t, "Conv", 11, nnAttrs{"pads": nnIs(1, 1, 1, 1)}, 1, nnRandT(rng, 0, 2, 3, 3), nnRandT(rng, 2, 2, 3, 3)); err != nil {
		t.Errorf("Conv on an empty batch: %v", err)
	}
}

// A direct scatter-add transposed convolution, 2-D, with groups.
func TestNNConvTransposeGroups(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	const n, c, h, w, g, mg, kh, kw = 2, 4, 3, 4, 2, 3, 3, 2
	sh, sw, dh, dw := 2, 3, 2, 1
	pt, pl, pb, pr := 1, 0, 0, 1
	oph, opw := 1, 0
	x := nnRandT(rng, n, c, h, w)
	wt := nnRandT(rng, c, mg, kh, kw)
	b := nnRandT(rng, g*mg)
	attrs := nnAttrs{"group": nnI(g), "strides": nnIs(int64(sh), int64(sw)), "dilations": nnIs(int64(dh), int64(dw)),
		"pads": nnIs(int64(pt), int64(pl), int64(pb), int64(pr)), "output_padding": nnIs(int64(oph), int64(opw))}
	out, err := nnRun(t, "ConvTranspose", 11, attrs, 1, x, wt, b)
	if err != nil {
		t.Fatal(err)
	}
	oh := sh*(h-1) + oph + (kh-1)*dh + 1 - pt - pb
	ow := sw*(w-1) + opw + (kw-1)*dw + 1 - pl - pr
	if got := out[0].Shape(); !got.Equal(tensor.Shape{n, g * mg, oh, ow}) {
		t.Fatalf("shape %v", got)
	}
	xv, _ := tensor.View[float32](x)
	wv, _ := tensor.View[float32](wt)
	bv, _ := tensor.View[float32](b)
	want := make([]float32, n*g*mg*oh*ow)
	for bi := 0; bi < n; bi++ {
		for oc := 0; oc < g*mg; oc++ {
			for i := 0; i < oh*ow; i++ {
				want[(bi*g*mg+oc)*oh*ow+i] = bv[oc]
			}
		}
		for ic := 0; ic < c; ic++ {
			gi := ic / (c / g)
			for m := 0; m < mg; m++ {
				oc := gi*mg + m
				for ih := 0; ih < h; ih++ {
					for iw := 0; iw < w; iw++ {
						for a := 0; a < kh; a++ {
							for bb := 0; bb < kw; bb++ {
								y := ih*sh - pt + a*dh
								z := iw*sw - pl + bb*dw
								if y < 0 || y >= oh || z < 0 || z >= ow {
									continue
								}
								want[(bi*g*mg+oc)*oh*ow+y*ow+z] += xv[((bi*c+ic)*h+ih)*w+iw] * wv[((ic*mg+m)*kh+a)*kw+bb]
							}
						}
					}
				}
			}
		}
	}
	got, _ := tensor.View[float32](out[0])
	nnClose(t, "convtranspose", got, want, 1e-4)
}

// TestNNGemmBiasShapes checks Gemm's C in every broadcast shape, whether it
// goes into the GEMM's epilogue (vectors) or is expanded into Y first.
func TestNNGemmBiasShapes(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	const m, n, k = 5, 7, 3
	for _, cs := range [][]int{{n}, {1, n}, {m, 1}, {m, n}, {1}, {1, 1}} {
		for _, beta := range []float32{1, 0.5, 0} {
			a, b, c := nnRandT(rng, k, m), nnRandT(rng, k, n), nnRandT(rng, cs...)
			attrs := nnAttrs{"transA": {Type: ops.AttrInt, Int: 1}, "alpha": {Type: ops.AttrFloat, Float: 2}, "beta": {Type: ops.AttrFloat, Float: beta}}
			out, err := nnRun(t, "Gemm", 13, attrs, 1, a, b, c)
			if err != nil {
				t.Fatal(err)
			}
			av, _ := tensor.View[float32](a)
			bv, _ := tensor.View[float32](b)
			cv, _ := tensor.View[float32](c)
			want := make([]float32, m*n)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var s float32
					for p := 0; p < k; p++ {
						s += av[p*m+i] * bv[p*n+j]
					}
					ci := 0
					switch {
					case len(cs) == 1 && cs[0] == n:
						ci = j
					case len(cs) == 2:
						ci = (i%cs[0])*cs[1] + j%cs[1]
					}
					want[i*n+j] = 2*s + beta*cv[ci]
				}
			}
			got, _ := tensor.View[float32](out[0])
			nnClose(t, "gemm bias", got, want, 1e-5)
		}
	}
}
