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

// nnZeroPointRows subtracts a zero point from a batch of rows x cols
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

// nnSaturate clamps to the range of the quantized type dt.
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
