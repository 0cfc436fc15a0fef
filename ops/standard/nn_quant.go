package standard

import (
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear
// and the integer / quantized products (MatMulInteger, QLinearMatMul; the
// convolutions are in nn_conv.go).

var nnQuantTypes = []tensor.DType{tensor.Uint8, tensor.Int8}

// nnInt8s widens an 8-bit (or int32) tensor to int32.
func nnInt8s(t *tensor.Tensor) ([]int32, error) {
	switch t.DType() {
	case tensor.Uint8:
		v, err := tensor.View[uint8](t)
		if err != nil {
			return nil, err
		}
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out, nil
	case tensor.Int8:
		v, err := tensor.View[int8](t)
		if err != nil {
			return nil, err
		}
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out, nil
	case tensor.Int32:
		return tensor.ToSlice[int32](t)
	case tensor.Uint16:
		v, err := tensor.View[uint16](t)
		if err != nil {
			return nil, err
		}
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out, nil
	case tensor.Int16:
		v, err := tensor.View[int16](t)
		if err != nil {
			return nil, err
		}
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out, nil
	}
	return nil, errorf("unsupported quantized type %s", t.DType())
}

// nnFloats reads a float tensor (any float type) as float32.
func nnFloats(t *tensor.Tensor) ([]float32, error) {
	switch t.DType() {
	case tensor.Float32:
		return tensor.View[float32](t)
	case tensor.Float64:
		v, err := tensor.View[float64](t)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out, nil
	case tensor.Float16, tensor.BFloat16:
		w, err := widen(t)
		if err != nil {
			return nil, err
		}
		return tensor.View[float32](w)
	}
	return nil, errorf("want a float tensor, got %s", t.DType())
}

// nnSubZeroPoint subtracts a zero point from a batch of rows x cols
// matrices: zp is empty (none), a scalar, or one value per row (perRow) or
// per column.
func nnSubZeroPoint(v []int32, zp []int32, rows, cols int, perRow bool) error {
	switch {
	case len(zp) == 0:
		return nil
	case len(zp) == 1:
		z := zp[0]
		for i := range v {
			v[i] -= z
		}
		return nil
	case perRow:
		if len(zp) != rows {
			return errorf("zero point has %d values, want 1 or %d", len(zp), rows)
		}
		for i := range v {
			v[i] -= zp[(i/cols)%rows]
		}
	default:
		if len(zp) != cols {
			return errorf("zero point has %d values, want 1 or %d", len(zp), cols)
		}
		for i := range v {
			v[i] -= zp[i%cols]
		}
	}
	return nil
}

func prepareMatMulInteger(n *ops.Node) (*ops.Plan, error) {
	for _, i := range []int{0, 1} {
		if err := checkType(n, i, nnQuantTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, i); err != nil {
			return nil, err
		}
	}
	for _, i := range []int{2, 3} {
		if zt := n.Input(i); zt.Present() {
			if zt.DType != n.Inputs[i-2].DType {
				return nil, n.Errorf("zero point %d has type %s, want %s", i, zt.DType, n.Inputs[i-2].DType)
			}
			if len(zt.Shape) > 1 {
				return nil, n.Errorf("zero point %d must be a scalar or a vector, got %v", i, zt.Shape)
			}
		}
	}
	p, err := nnMatMulShape(n, n.Inputs[0].Shape, n.Inputs[1].Shape)
	if err != nil {
		return nil, err
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		acc, err := nnIntMatMul(env, p, in[0], in[1], in[2], in[3])
		if err != nil {
			return err
		}
		c, err := nnOut[int32](env, out, 0, p.out)
		if err != nil {
			return err
		}
		copy(c, acc)
		return nil
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Int32, p.out)}, Kernel: k}, nil
}

// nnIntMatMul computes the int32 product (A - azp) x (B - bzp) with the
// batching of p. azp is per row of A, bzp per column of B, or scalars.
func nnIntMatMul(env *ops.Env, p *nnMatMulPlan, at, bt, azt, bzt *tensor.Tensor) ([]int32, error) {
	a, err := nnInt8s(at)
	if err != nil {
		return nil, err
	}
	b, err := nnInt8s(bt)
	if err != nil {
		return nil, err
	}
	var az, bz []int32
	if azt != nil {
		if az, err = nnInt8s(azt); err != nil {
			return nil, err
		}
	}
	if bzt != nil {
		if bz, err = nnInt8s(bzt); err != nil {
			return nil, err
		}
	}
	if err := nnSubZeroPoint(a, az, p.m, p.k, true); err != nil {
		return nil, err
	}
	if err := nnSubZeroPoint(b, bz, p.k, p.n, false); err != nil {
		return nil, err
	}
	c := make([]int32, p.batch*p.m*p.n)
	for t := 0; t < p.batch; t++ {
		ao, bo := t*p.m*p.k, 0
		if !p.foldRows {
			ao, bo = p.aOff[t], p.bOff[t]
		}
		nnGemmGeneric(env, false, false, p.m, p.n, p.k, 1, a[ao:], p.k, b[bo:], p.n, 0, c[t*p.m*p.n:], p.n)
	}
	return c, nil
}

// nnRoundEven rounds half to even, as ONNX quantization requires.
func nnRoundEven(x float32) float32 { return float32(math.RoundToEven(float64(x))) }

// nnQRange is the range of the quantized type dt, for saturation.
func nnQRange(dt tensor.DType) (lo, hi float32) {
	switch dt {
	case tensor.Int8:
		return -128, 127
	case tensor.Uint16:
		return 0, 65535
	case tensor.Int16:
		return -32768, 32767
	case tensor.Int32:
		return math.MinInt32, math.MaxInt32
	}
	return 0, 255
}

// nnStoreQuant writes float values already rounded and offset into a
// quantized output of type dt, saturating.
func nnStoreQuant(t *tensor.Tensor, vals []float32) error {
	lo, hi := nnQRange(t.DType())
	clamp := func(v float32) float32 { return min(max(v, lo), hi) }
	switch t.DType() {
	case tensor.Uint8:
		o, err := tensor.View[uint8](t)
		if err != nil {
			return err
		}
		for i, v := range vals {
			o[i] = uint8(clamp(v))
		}
	case tensor.Int8:
		o, err := tensor.View[int8](t)
		if err != nil {
			return err
		}
		for i, v := range vals {
			o[i] = int8(clamp(v))
		}
	case tensor.Uint16:
		o, err := tensor.View[uint16](t)
		if err != nil {
			return err
		}
		for i, v := range vals {
			o[i] = uint16(clamp(v))
		}
	case tensor.Int16:
		o, err := tensor.View[int16](t)
		if err != nil {
			return err
		}
		for i, v := range vals {
			o[i] = int16(clamp(v))
		}
	case tensor.Int32:
		o, err := tensor.View[int32](t)
		if err != nil {
			return err
		}
		for i, v := range vals {
			f := float64(v)
			o[i] = int32(min(max(f, math.MinInt32), math.MaxInt32))
		}
	default:
		return errorf("unsupported quantized type %s", t.DType())
	}
	return nil
}

func prepareQLinearMatMul(n *ops.Node) (*ops.Plan, error) {
	// inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
	for _, i := range []int{0, 3} {
		if err := checkType(n, i, nnQuantTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, i); err != nil {
			return nil, err
		}
	}
	for _, i := range []int{1, 4, 6} {
		if err := checkType(n, i, floatTypes); err != nil {
			return nil, err
		}
	}
	if err := checkType(n, 7, nnQuantTypes); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 2); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 3, 5); err != nil {
		return nil, err
	}
	p, err := nnMatMulShape(n, n.Inputs[0].Shape, n.Inputs[3].Shape)
	if err != nil {
		return nil, err
	}
	odt := n.Inputs[7].DType
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		acc, err := nnIntMatMul(env, p, in[0], in[3], in[2], in[5])
		if err != nil {
			return err
		}
		as, err := nnFloats(in[1])
		if err != nil {
			return err
		}
		bs, err := nnFloats(in[4])
		if err != nil {
			return err
		}
		ys, err := nnFloats(in[6])
		if err != nil {
			return err
		}
		yz, err := nnInt8s(in[7])
		if err != nil {
			return err
		}
		if len(ys) != 1 || len(yz) != 1 {
			return errorf("QLinearMatMul: y_scale and y_zero_point must be scalars")
		}
		if (len(as) != 1 && len(as) != p.m) || (len(bs) != 1 && len(bs) != p.n) {
			return errorf("QLinearMatMul: a_scale has %d values, b_scale %d: want scalars or per row/column", len(as), len(bs))
		}
		vals := make([]float32, len(acc))
		for i, v := range acc {
			row := (i / p.n) % p.m
			col := i % p.n
			sa, sb := as[0], bs[0]
			if len(as) > 1 {
				sa = as[row]
			}
			if len(bs) > 1 {
				sb = bs[col]
			}
			vals[i] = nnRoundEven(float32(v)*sa*sb/ys[0]) + float32(yz[0])
		}
		y, err := env.Output(out, 0, odt, p.out)
		if err != nil {
			return err
		}
		return nnStoreQuant(y, vals)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(odt, p.out)}, Kernel: k}, nil
}

// nnAxisParam is a scale or zero point (a scalar, or 1-D along axis) as a
// function of the flat index into x.
type nnAxisParam struct {
	vals        []float32
	n, inner    int // per-axis: values along axis, elements after it
	perAxis     bool
	constScalar float32
}

func (p *nnAxisParam) at(i int) float32 {
	if !p.perAxis {
		return p.constScalar
	}
	return p.vals[(i/p.inner)%p.n]
}

func nnMakeAxisParam(vals []float32, xs tensor.Shape, axis int) (*nnAxisParam, error) {
	if len(vals) == 1 {
		return &nnAxisParam{constScalar: vals[0]}, nil
	}
	if axis < 0 || axis >= len(xs) || xs[axis] != len(vals) {
		return nil, errorf("per-axis parameter has %d values, input %v at axis %d", len(vals), xs, axis)
	}
	return &nnAxisParam{vals: vals, n: len(vals), inner: xs[axis+1:].NumElements(), perAxis: true}, nil
}

// nnQuantAxis reads the axis attribute (opset 13+) and checks block_size.
func nnQuantAxis(n *ops.Node, rank int) (int, error) {
	axis := n.Attrs.Int("axis", 1)
	bs := n.Attrs.Int("block_size", 0)
	if err := n.Attrs.Err(); err != nil {
		return 0, err
	}
	if bs != 0 {
		return 0, n.Errorf("blocked quantization (block_size %d) is not supported", bs)
	}
	sc := n.Input(1).Shape
	if len(sc) == 0 || nnProd(sc) == 1 {
		return 0, nil // per-tensor: axis is ignored
	}
	if len(sc) != 1 {
		return 0, n.Errorf("scale must be a scalar or 1-D, got %v", sc)
	}
	return normAxis(n, axis, rank)
}

var nnQuantOutTypes = []tensor.DType{tensor.Uint8, tensor.Int8, tensor.Uint16, tensor.Int16}

func prepareQuantizeLinear(n *ops.Node) (*ops.Plan, error) {
	xTypes := []tensor.DType{tensor.Float32, tensor.Int32}
	if n.Opset >= 19 {
		xTypes = append(xTypes, tensor.Float16, tensor.BFloat16)
	}
	if err := checkType(n, 0, xTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, floatTypes); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 0); err != nil {
		return nil, err
	}
	odt := tensor.Uint8
	if zt := n.Input(2); zt.Present() {
		if err := checkType(n, 2, nnQuantOutTypes); err != nil {
			return nil, err
		}
		odt = zt.DType
		if !zt.Shape.Equal(n.Inputs[1].Shape) && nnProd(zt.Shape) != nnProd(n.Inputs[1].Shape) {
			return nil, n.Errorf("zero point %v and scale %v differ in shape", zt.Shape, n.Inputs[1].Shape)
		}
	} else if n.Opset >= 21 {
		if d := n.Attrs.Int("output_dtype", 0); d != 0 {
			odt = tensor.DType(d)
			if err := n.Attrs.Err(); err != nil {
				return nil, err
			}
		}
	}
	xs := n.Inputs[0].Shape.Clone()
	axis, err := nnQuantAxis(n, len(xs))
	if err != nil {
		return nil, err
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		var x []float32
		if in[0].DType() == tensor.Int32 {
			iv, err := tensor.View[int32](in[0])
			if err != nil {
				return err
			}
			x = make([]float32, len(iv))
			for i, v := range iv {
				x[i] = float32(v)
			}
		} else if x, err = nnFloats(in[0]); err != nil {
			return err
		}
		sv, err := nnFloats(in[1])
		if err != nil {
			return err
		}
		sc, err := nnMakeAxisParam(sv, xs, axis)
		if err != nil {
			return err
		}
		zp := &nnAxisParam{}
		if len(in) > 2 && in[2] != nil {
			zi, err := nnInt8s(in[2])
			if err != nil {
				return err
			}
			zf := make([]float32, len(zi))
			for i, v := range zi {
				zf[i] = float32(v)
			}
			if zp, err = nnMakeAxisParam(zf, xs, axis); err != nil {
				return err
			}
		}
		vals := make([]float32, len(x))
		for i, v := range x {
			vals[i] = nnRoundEven(v/sc.at(i)) + zp.at(i)
		}
		y, err := env.Output(out, 0, odt, xs)
		if err != nil {
			return err
		}
		return nnStoreQuant(y, vals)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(odt, xs)}, Kernel: k}, nil
}

func prepareDequantizeLinear(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, append([]tensor.DType{tensor.Int32}, nnQuantOutTypes...)); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, floatTypes); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 0); err != nil {
		return nil, err
	}
	if n.Input(2).Present() {
		if err := checkSameType(n, 0, 2); err != nil {
			return nil, err
		}
	}
	xs := n.Inputs[0].Shape.Clone()
	axis, err := nnQuantAxis(n, len(xs))
	if err != nil {
		return nil, err
	}
	odt := tensor.Float32
	if n.Opset >= 19 {
		odt = n.Inputs[1].DType // the scale's type
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := nnInt8s(in[0])
		if err != nil {
			return err
		}
		sv, err := nnFloats(in[1])
		if err != nil {
			return err
		}
		sc, err := nnMakeAxisParam(sv, xs, axis)
		if err != nil {
			return err
		}
		zp := &nnAxisParam{}
		if len(in) > 2 && in[2] != nil {
			zi, err := nnInt8s(in[2])
			if err != nil {
				return err
			}
			zf := make([]float32, len(zi))
			for i, v := range zi {
				zf[i] = float32(v)
			}
			if zp, err = nnMakeAxisParam(zf, xs, axis); err != nil {
				return err
			}
		}
		vals := make([]float64, len(x))
		for i, v := range x {
			vals[i] = float64((float32(v) - zp.at(i)) * sc.at(i))
		}
		y, err := env.Output(out, 0, odt, xs)
		if err != nil {
			return err
		}
		return storeFloat64s(y, vals)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(odt, xs)}, Kernel: k}, nil
}

func prepareDynamicQuantizeLinear(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, []tensor.DType{tensor.Float32}); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 0); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape.Clone()
	outs := []ops.Type{ops.TensorType(tensor.Uint8, xs), ops.TensorType(tensor.Float32, tensor.Shape{}), ops.TensorType(tensor.Uint8, tensor.Shape{})}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		var lo, hi float32
		for _, v := range x {
			lo, hi = min(lo, v), max(hi, v)
		}
		scale := (hi - lo) / 255
		var zp float32
		if scale != 0 {
			zp = min(max(nnRoundEven(-lo/scale), 0), 255)
		}
		vals := make([]float32, len(x))
		if scale != 0 {
			for i, v := range x {
				vals[i] = nnRoundEven(v/scale) + zp
			}
		}
		y, err := env.Output(out, 0, tensor.Uint8, xs)
		if err != nil {
			return err
		}
		if err := nnStoreQuant(y, vals); err != nil {
			return err
		}
		st, err := nnOut[float32](env, out, 1, tensor.Shape{})
		if err != nil {
			return err
		}
		st[0] = scale
		zt, err := nnOut[uint8](env, out, 2, tensor.Shape{})
		if err != nil {
			return err
		}
		zt[0] = uint8(zp)
		return nil
	}
	return &ops.Plan{Outputs: outs, Kernel: k}, nil
}
