package standard

import (
	"fmt"
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// Constant, ConstantOfShape, Shape, Size, Reshape, Flatten, Squeeze,
// Unsqueeze, EyeLike and Range.

func prepareConstant(n *ops.Node) (*ops.Plan, error) {
	a := n.Attrs
	var given []string
	for _, name := range []string{"value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings"} {
		if a.Has(name) {
			given = append(given, name)
		}
	}
	if len(given) != 1 {
		return nil, n.Errorf("exactly one value attribute must be given, got %v", given)
	}
	var (
		t   *tensor.Tensor
		err error
	)
	switch given[0] {
	case "value":
		t = a.Tensor("value")
		if t == nil && a.Err() == nil {
			return nil, n.Errorf("attribute value holds no tensor")
		}
	case "sparse_value":
		// The importer densifies sparse tensors; an attribute without its
		// dense form came from somewhere that could not.
		if v, ok := a.Map()["sparse_value"]; ok && v.Type == ops.AttrSparseTensor && v.Tensor != nil {
			t = v.Tensor
		} else {
			return nil, fmt.Errorf("%s: sparse_value without a dense tensor: %w", n.OpType, runtime.ErrUnsupported)
		}
	case "value_float":
		t = tensor.Scalar(a.Float("value_float", 0))
	case "value_floats":
		v := a.Floats("value_floats", nil)
		t, err = tensor.FromSlice(append([]float32{}, v...), len(v))
	case "value_int":
		t = tensor.Scalar(a.Int("value_int", 0))
	case "value_ints":
		v := a.Ints("value_ints", nil)
		t, err = tensor.FromSlice(append([]int64{}, v...), len(v))
	case "value_string":
		t = tensor.Scalar(a.String("value_string", ""))
	case "value_strings":
		v := a.Strings("value_strings", nil)
		t, err = tensor.FromSlice(append([]string{}, v...), len(v))
	}
	if e := a.Err(); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if n.Opset < 12 && given[0] != "value" {
		return nil, n.Errorf("attribute %s needs opset 12", given[0])
	}
	return &ops.Plan{
		Outputs: []ops.Type{ops.TypeOf(t)},
		Kernel: func(env *ops.Env, in, out []*tensor.Tensor) error {
			y, err := env.Output(out, 0, t.DType(), t.Shape())
			if err != nil {
				return err
			}
			return shapeCopyAll(y, t)
		},
	}, nil
}

func prepareConstantOfShape(n *ops.Node) (*ops.Plan, error) {
	in, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if in.DType != tensor.Int64 || len(in.Shape) != 1 {
		return nil, n.Errorf("input must be a 1-D int64 tensor, got %s", in)
	}
	val := n.Attrs.Tensor("value")
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if val == nil {
		val = tensor.Scalar(float32(0))
	}
	if val.Len() != 1 {
		return nil, n.Errorf("value must hold one element, has %d", val.Len())
	}
	dt := val.DType()
	outShape := shapeUnknown(in.Shape[0])
	dims, ok, err := shapeIntsInput(n, 0)
	if err != nil {
		return nil, err
	}
	if ok {
		if outShape, err = shapeDims(dims); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	fill, found := shapePick(dt, shapeFillK[shapeW1](val), shapeFillK[shapeW2](val), shapeFillK[shapeW4](val),
		shapeFillK[shapeW8](val), shapeFillK[shapeW16](val), shapeFillK[string](val))
	if !found {
		return nil, n.Errorf("unsupported type %s", dt)
	}
	return &ops.Plan{Outputs: []ops.Type{shapeType(dt, outShape)}, Kernel: fill}, nil
}

// shapeDims turns int64 dims into a shape, rejecting negative dims.
func shapeDims(dims []int64) (tensor.Shape, error) {
	s := make(tensor.Shape, len(dims))
	for i, d := range dims {
		if d < 0 || d > math.MaxInt32*int64(1<<20) {
			return nil, errorf("dimension %d is %d", i, d)
		}
		s[i] = int(d)
	}
	if err := s.Validate(); err != nil {
		return nil, errorf("%v", err)
	}
	return s, nil
}

// shapeFillK fills output 0, of the shape held by input 0, with val's element.
func shapeFillK[T any](val *tensor.Tensor) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		dims, err := intsOf(in[0])
		if err != nil {
			return err
		}
		shape, err := shapeDims(dims)
		if err != nil {
			return err
		}
		v, err := shapeElems[T](val)
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, val.DType(), shape)
		if err != nil {
			return err
		}
		x := v[0]
		for i := range y {
			y[i] = x
		}
		return nil
	}
}

func prepareShape(n *ops.Node) (*ops.Plan, error) {
	in := n.Input(0)
	if !in.Present() || in.Kind != ops.KindTensor {
		return nil, n.Errorf("input must be a tensor, got %s", in)
	}
	start, end := int64(0), int64(math.MaxInt64)
	if n.Opset >= 15 {
		start = n.Attrs.Int("start", 0)
		end = n.Attrs.Int("end", math.MaxInt64)
		if err := n.Attrs.Err(); err != nil {
			return nil, err
		}
	}
	bounds := func(rank int) (int, int) {
		clamp := func(v int64) int {
			if v < 0 {
				v += int64(rank)
			}
			return int(min(max(v, 0), int64(rank)))
		}
		lo, hi := clamp(start), clamp(end)
		return lo, max(hi, lo)
	}
	outType := ops.TensorType(tensor.Int64, tensor.Shape{-1})
	if !in.UnknownRank {
		lo, hi := bounds(len(in.Shape))
		outType.Shape = tensor.Shape{hi - lo}
		if shapeStatic(in.Shape) {
			v := make([]int64, hi-lo)
			for i := range v {
				v[i] = int64(in.Shape[lo+i])
			}
			if t, err := tensor.FromSlice(v, len(v)); err == nil {
				outType.Value = t
			}
		}
	}
	return &ops.Plan{Outputs: []ops.Type{outType}, Kernel: func(env *ops.Env, in, out []*tensor.Tensor) error {
		s := in[0].Shape()
		lo, hi := bounds(len(s))
		y, err := env.Output(out, 0, tensor.Int64, tensor.Shape{hi - lo})
		if err != nil {
			return err
		}
		v, err := tensor.View[int64](y)
		if err != nil {
			return err
		}
		for i := range v {
			v[i] = int64(s[lo+i])
		}
		return nil
	}}, nil
}

func prepareSize(n *ops.Node) (*ops.Plan, error) {
	in := n.Input(0)
	if !in.Present() || in.Kind != ops.KindTensor {
		return nil, n.Errorf("input must be a tensor, got %s", in)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Int64, tensor.Shape{})}, Kernel: func(env *ops.Env, in, out []*tensor.Tensor) error {
		y, err := env.Output(out, 0, tensor.Int64, tensor.Shape{})
		if err != nil {
			return err
		}
		v, err := tensor.View[int64](y)
		if err != nil {
			return err
		}
		v[0] = int64(in[0].Len())
		return nil
	}}, nil
}

// shapeReshape computes Reshape's output shape: 0 copies the input dim
// (unless allowzero), one -1 takes what is left.
func shapeReshape(in tensor.Shape, spec []int64, allowZero bool) (tensor.Shape, error) {
	out := make(tensor.Shape, len(spec))
	infer := -1
	known := 1
	for i, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, errorf("shape %v has more than one -1", spec)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, errorf("shape %v copies dim %d of an input of rank %d", spec, i, len(in))
			}
			out[i] = in[i]
		case d < 0:
			return nil, errorf("shape %v has a negative dimension", spec)
		default:
			if d > math.MaxInt32*int64(1<<20) {
				return nil, errorf("shape %v is too large", spec)
			}
			out[i] = int(d)
		}
		if out[i] < 0 {
			return nil, errorf("input dim unknown")
		}
		known *= out[i]
	}
	total := in.NumElements()
	if infer >= 0 {
		if known == 0 {
			if total != 0 {
				return nil, errorf("cannot infer -1 in %v for %d elements", spec, total)
			}
			out[infer] = 0
		} else {
			if total%known != 0 {
				return nil, errorf("cannot reshape %v to %v", in, spec)
			}
			out[infer] = total / known
		}
	}
	if out.NumElements() != total {
		return nil, errorf("cannot reshape %v (%d elements) to %v", in, total, spec)
	}
	return out, nil
}

func prepareReshape(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	allowZero := false
	if n.Opset >= 14 {
		allowZero = n.Attrs.Int("allowzero", 0) != 0
	}
	var spec []int64
	known := false
	if n.Opset < 5 {
		spec = n.Attrs.Ints("shape", nil)
		known = true
		if !n.Attrs.Has("shape") {
			return nil, n.Errorf("attribute shape is required")
		}
	} else {
		if len(n.Inputs) < 2 {
			return nil, n.Errorf("input shape is required")
		}
		t := n.Input(1)
		if !t.Present() || t.DType != tensor.Int64 || len(t.Shape) != 1 {
			return nil, n.Errorf("shape must be a 1-D int64 tensor, got %s", t)
		}
		spec, known, err = shapeIntsInput(n, 1)
		if err != nil {
			return nil, err
		}
	}
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	var outShape tensor.Shape
	switch {
	case known && shapeStatic(x.Shape):
		if outShape, err = shapeReshape(x.Shape, spec, allowZero); err != nil {
			return nil, n.Errorf("%v", err)
		}
	case known:
		outShape = shapeUnknown(len(spec))
	default:
		outShape = shapeUnknown(shapeVecLen(n.Input(1)))
	}
	attrSpec := spec
	k := shapeCopyKernel(func(in []*tensor.Tensor) (tensor.Shape, error) {
		s := attrSpec
		if n := len(in); n > 1 && in[1] != nil {
			v, err := intsOf(in[1])
			if err != nil {
				return nil, err
			}
			s = v
		}
		return shapeReshape(in[0].Shape(), s, allowZero)
	})
	return &ops.Plan{Outputs: []ops.Type{shapeType(x.DType, outShape)}, Kernel: k, Overwrites: true, View: true}, nil
}

func prepareFlatten(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	axis := n.Attrs.Int("axis", 1)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	r := int64(len(x.Shape))
	if axis < 0 && n.Opset >= 11 {
		axis += r
	}
	if axis < 0 || axis > r {
		return nil, n.Errorf("axis %d out of range for rank %d", n.Attrs.Int("axis", 1), r)
	}
	ax := int(axis)
	flat := func(s tensor.Shape) tensor.Shape {
		a, b := 1, 1
		for i, d := range s {
			if d < 0 {
				if i < ax {
					a = -1
				} else {
					b = -1
				}
				continue
			}
			if i < ax && a >= 0 {
				a *= d
			} else if i >= ax && b >= 0 {
				b *= d
			}
		}
		return tensor.Shape{a, b}
	}
	k := shapeCopyKernel(func(in []*tensor.Tensor) (tensor.Shape, error) { return flat(in[0].Shape()), nil })
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, flat(x.Shape))}, Kernel: k, Overwrites: true, View: true}, nil
}

// shapeAxesArg reads axes given as an attribute (before opset 13) or as
// input 1 (from 13). ok is false when the input's contents are unknown.
func shapeAxesArg(n *ops.Node, inputFrom int) (axes []int64, given, ok bool, err error) {
	if n.Opset < inputFrom {
		if len(n.Inputs) > 1 {
			return nil, false, false, n.Errorf("takes one input before opset %d", inputFrom)
		}
		axes = n.Attrs.Ints("axes", nil)
		if err := n.Attrs.Err(); err != nil {
			return nil, false, false, err
		}
		return axes, n.Attrs.Has("axes"), true, nil
	}
	if !n.Input(1).Present() {
		return nil, false, true, nil
	}
	// A scalar axes tensor means one axis: ONNX Runtime accepts it, and
	// Loop bodies in the ONNX test data rely on it.
	if in := n.Input(1); shapeVecLen(in) < 0 && !(!in.UnknownRank && len(in.Shape) == 0) {
		return nil, false, false, n.Errorf("axes must be a 1-D tensor of known length, got %s", n.Input(1))
	}
	axes, ok, err = shapeIntsInput(n, 1)
	return axes, true, ok, err
}

func shapeSqueeze(s tensor.Shape, axes []int64, given bool) (tensor.Shape, error) {
	r := len(s)
	drop := make([]bool, r)
	// An empty axes list squeezes every size-1 dim, as when it is omitted
	// (what ONNX Runtime does).
	if given && len(axes) > 0 {
		for _, a := range axes {
			if a < -int64(r) || a >= int64(r) {
				return nil, errorf("axis %d out of range for rank %d", a, r)
			}
			if a < 0 {
				a += int64(r)
			}
			if s[a] != 1 && s[a] >= 0 {
				return nil, errorf("cannot squeeze axis %d of size %d", a, s[a])
			}
			drop[a] = true
		}
	} else {
		for i, d := range s {
			drop[i] = d == 1
		}
	}
	out := tensor.Shape{}
	for i, d := range s {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

func prepareSqueeze(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	axes, given, ok, err := shapeAxesArg(n, 13)
	if err != nil {
		return nil, err
	}
	var outShape tensor.Shape
	if ok {
		if outShape, err = shapeSqueeze(x.Shape, axes, given); err != nil {
			return nil, n.Errorf("%v", err)
		}
	} else {
		outShape = shapeUnknown(len(x.Shape) - shapeVecLen(n.Input(1)))
		if len(x.Shape) < shapeVecLen(n.Input(1)) {
			return nil, n.Errorf("more axes than dims")
		}
	}
	fixed := axes
	k := shapeCopyKernel(func(in []*tensor.Tensor) (tensor.Shape, error) {
		a, g := fixed, given
		if len(in) > 1 && in[1] != nil {
			v, err := intsOf(in[1])
			if err != nil {
				return nil, err
			}
			a, g = v, true
		}
		return shapeSqueeze(in[0].Shape(), a, g)
	})
	return &ops.Plan{Outputs: []ops.Type{shapeType(x.DType, outShape)}, Kernel: k, Overwrites: true, View: true}, nil
}

func shapeUnsqueeze(s tensor.Shape, axes []int64) (tensor.Shape, error) {
	r := len(s) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		if a < -int64(r) || a >= int64(r) {
			return nil, errorf("axis %d out of range for rank %d", a, r)
		}
		if a < 0 {
			a += int64(r)
		}
		if ins[a] {
			return nil, errorf("axis %d repeated", a)
		}
		ins[a] = true
	}
	out := make(tensor.Shape, r)
	j := 0
	for i := range out {
		if ins[i] {
			out[i] = 1
		} else {
			out[i] = s[j]
			j++
		}
	}
	return out, nil
}

func prepareUnsqueeze(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	axes, given, ok, err := shapeAxesArg(n, 13)
	if err != nil {
		return nil, err
	}
	if !given {
		return nil, n.Errorf("axes are required")
	}
	var outShape tensor.Shape
	if ok {
		if outShape, err = shapeUnsqueeze(x.Shape, axes); err != nil {
			return nil, n.Errorf("%v", err)
		}
	} else {
		outShape = shapeUnknown(len(x.Shape) + shapeVecLen(n.Input(1)))
	}
	fixed := axes
	k := shapeCopyKernel(func(in []*tensor.Tensor) (tensor.Shape, error) {
		a := fixed
		if len(in) > 1 && in[1] != nil {
			v, err := intsOf(in[1])
			if err != nil {
				return nil, err
			}
			a = v
		}
		return shapeUnsqueeze(in[0].Shape(), a)
	})
	return &ops.Plan{Outputs: []ops.Type{shapeType(x.DType, outShape)}, Kernel: k, Overwrites: true, View: true}, nil
}

func prepareEyeLike(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) != 2 {
		return nil, n.Errorf("input must be 2-D, got %s", x)
	}
	dt := x.DType
	if n.Attrs.Has("dtype") {
		dt = tensor.DType(n.Attrs.Int("dtype", 0))
	}
	k := n.Attrs.Int("k", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if dt == tensor.String || !dt.Valid() {
		return nil, n.Errorf("unsupported output type %s", dt)
	}
	one, err := shapeScalarOf(dt, 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	kern, _ := shapePick(dt, shapeEyeK[shapeW1](dt, k, one), shapeEyeK[shapeW2](dt, k, one), shapeEyeK[shapeW4](dt, k, one),
		shapeEyeK[shapeW8](dt, k, one), shapeEyeK[shapeW16](dt, k, one), nil)
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, x.Shape.Clone())}, Kernel: kern}, nil
}

func shapeEyeK[T any](dt tensor.DType, k int64, one *tensor.Tensor) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		s := in[0].Shape()
		y, err := shapeOutput[T](env, out, 0, dt, s)
		if err != nil {
			return err
		}
		o, err := shapeElems[T](one)
		if err != nil {
			return err
		}
		var zero T
		for i := range y {
			y[i] = zero
		}
		rows, cols := s[0], s[1]
		for i := range rows {
			j := int64(i) + k
			if j >= 0 && j < int64(cols) {
				y[i*cols+int(j)] = o[0]
			}
		}
		return nil
	}
}

var shapeRangeTypes = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int16, tensor.Int32, tensor.Int64}

func prepareRange(n *ops.Node) (*ops.Plan, error) {
	for i := range 3 {
		if err := checkType(n, i, shapeRangeTypes); err != nil {
			return nil, err
		}
		if t := n.Inputs[i]; !t.UnknownRank && t.Shape.NumElements() != 1 {
			return nil, n.Errorf("input %d must be a scalar, got %s", i, t)
		}
	}
	if err := checkSameType(n, 0, 1, 2); err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	outShape := tensor.Shape{-1}
	if n.Inputs[0].Value != nil && n.Inputs[1].Value != nil && n.Inputs[2].Value != nil {
		cnt, err := shapeRangeCount(n.Inputs[0].Value, n.Inputs[1].Value, n.Inputs[2].Value)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		outShape[0] = cnt
	}
	var k ops.Kernel
	switch dt {
	case tensor.Float32:
		k = shapeRangeK[float32]()
	case tensor.Float64:
		k = shapeRangeK[float64]()
	case tensor.Int16:
		k = shapeRangeK[int16]()
	case tensor.Int32:
		k = shapeRangeK[int32]()
	case tensor.Int64:
		k = shapeRangeK[int64]()
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, outShape)}, Kernel: k}, nil
}

// shapeRangeCount is max(ceil((limit-start)/delta), 0).
func shapeRangeCount(start, limit, delta *tensor.Tensor) (int, error) {
	if start.DType().IsInteger() {
		s, err1 := shapeScalarInt(start)
		l, err2 := shapeScalarInt(limit)
		d, err3 := shapeScalarInt(delta)
		if err1 != nil || err2 != nil || err3 != nil {
			return 0, errorf("bad Range inputs")
		}
		if d == 0 {
			return 0, errorf("Range delta is 0")
		}
		diff := l - s
		if (diff > 0) != (d > 0) || diff == 0 {
			return 0, nil
		}
		c := diff / d
		if diff%d != 0 {
			c++
		}
		if c > math.MaxInt32*(1<<16) {
			return 0, errorf("Range of %d elements is too large", c)
		}
		return int(c), nil
	}
	s, err1 := shapeFloatsOf(start)
	l, err2 := shapeFloatsOf(limit)
	d, err3 := shapeFloatsOf(delta)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, errorf("bad Range inputs")
	}
	if d[0] == 0 || math.IsNaN(d[0]) || math.IsNaN(s[0]) || math.IsNaN(l[0]) {
		return 0, errorf("Range delta is 0 or a bound is NaN")
	}
	c := math.Ceil((l[0] - s[0]) / d[0])
	if c <= 0 {
		return 0, nil
	}
	if c > math.MaxInt32*(1<<16) {
		return 0, errorf("Range of %g elements is too large", c)
	}
	return int(c), nil
}

// shapeScalarInt reads a one-element numeric tensor as an int64.
func shapeScalarInt(t *tensor.Tensor) (int64, error) {
	if t.Len() != 1 {
		return 0, errorf("want one element, got %d", t.Len())
	}
	if t.DType() == tensor.Int64 {
		v, err := tensor.View[int64](t)
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}
	f, err := shapeFloatsOf(t)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f[0]) || math.Abs(f[0]) > math.MaxInt64/2 {
		return 0, errorf("value %g is not a valid integer", f[0])
	}
	return int64(f[0]), nil
}

func shapeRangeK[T int16 | int32 | int64 | float32 | float64]() ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		cnt, err := shapeRangeCount(in[0], in[1], in[2])
		if err != nil {
			return err
		}
		s, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		d, err := tensor.View[T](in[2])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, in[0].DType(), tensor.Shape{cnt})
		if err != nil {
			return err
		}
		v, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		// start + i*delta, as the spec defines it, rather than an
		// accumulating sum that drifts for floats.
		start, delta := s[0], d[0]
		for i := range v {
			v[i] = start + T(i)*delta
		}
		return nil
	}
}
