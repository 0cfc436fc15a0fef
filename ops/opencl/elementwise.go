package opencl

import (
	"fmt"
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// unaryOp describes an elementwise function of one input: its kernel in
// unary.cl and how its attributes become the kernel's p0 and p1.
type unaryOp struct {
	name     string
	versions []int
	kernel   string
	ints     bool // also on int32 and int64
	params   func(n *ops.Node) (p0, p1 float64, err error)
}

func noParams(*ops.Node) (float64, float64, error) { return 0, 0, nil }

func attrParams(names []string, defs []float32) func(n *ops.Node) (float64, float64, error) {
	return func(n *ops.Node) (float64, float64, error) {
		var p [2]float64
		for i, name := range names {
			p[i] = float64(n.Attrs.Float(name, defs[i]))
		}
		return p[0], p[1], n.Attrs.Err()
	}
}

func unaryOps() []unaryOp {
	u := func(name string, versions []int, kernel string) unaryOp {
		return unaryOp{name: name, versions: versions, kernel: kernel, params: noParams}
	}
	withInts := func(o unaryOp) unaryOp { o.ints = true; return o }
	with := func(o unaryOp, names []string, defs []float32) unaryOp {
		o.params = attrParams(names, defs)
		return o
	}
	return []unaryOp{
		withInts(u("Relu", []int{6, 13, 14}, "relu")),
		with(u("LeakyRelu", []int{6, 16}, "leaky_relu"), []string{"alpha"}, []float32{0.01}),
		with(u("Elu", []int{6}, "elu"), []string{"alpha"}, []float32{1}),
		with(u("Selu", []int{6}, "selu"), []string{"alpha", "gamma"}, []float32{1.67326319217681884765625, 1.05070102214813232421875}),
		with(u("Celu", []int{12}, "celu"), []string{"alpha"}, []float32{1}),
		u("Sigmoid", []int{6, 13}, "sigmoid"),
		with(u("HardSigmoid", []int{6}, "hard_sigmoid"), []string{"alpha", "beta"}, []float32{0.2, 0.5}),
		u("HardSwish", []int{14}, "hard_swish"),
		u("Tanh", []int{6, 13}, "tanh_"),
		u("Erf", []int{9, 13}, "erf_"),
		u("Exp", []int{6, 13}, "exp_"),
		u("Log", []int{6, 13}, "log_"),
		u("Sqrt", []int{6, 13}, "sqrt_"),
		u("Reciprocal", []int{6, 13}, "reciprocal"),
		withInts(u("Neg", []int{6, 13}, "neg")),
		withInts(u("Abs", []int{6, 13}, "abs_")),
		u("Floor", []int{6, 13}, "floor_"),
		u("Ceil", []int{6, 13}, "ceil_"),
		u("Round", []int{11}, "round_"),
		u("Sin", []int{7}, "sin_"),
		u("Cos", []int{7}, "cos_"),
		u("Tan", []int{7}, "tan_"),
		u("Softplus", []int{1}, "softplus"),
		u("Softsign", []int{1}, "softsign"),
		u("Mish", []int{18}, "mish"),
		withInts(u("Sign", []int{9, 13}, "sign_")),
		with(u("ThresholdedRelu", []int{10}, "thresholded_relu"), []string{"alpha"}, []float32{1}),
		{name: "Gelu", versions: []int{20}, params: noParams},
		{name: "Clip", versions: []int{6, 11, 12, 13}, ints: true, params: noParams},
	}
}

func (o unaryOp) deviceOp() *ops.DeviceOp {
	return &ops.DeviceOp{Backend: backendName, Name: o.name, Versions: o.versions, Prepare: o.prepare}
}

func (o unaryOp) prepare(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	isInt := dt == tensor.Int32 || dt == tensor.Int64
	if !(isInt && o.ints) {
		if err := floatOnly(dev, dt); err != nil {
			return nil, err
		}
	}
	p0, p1, err := o.params(n)
	if err != nil {
		return nil, err
	}
	kernel := o.kernel
	switch o.name {
	case "Gelu":
		switch a := n.Attrs.String("approximate", "none"); a {
		case "none":
			kernel = "gelu"
		case "tanh":
			kernel = "gelu_tanh"
		default:
			return nil, unsupported("approximate=%q", a)
		}
	case "Clip":
		kernel = "clip"
		p0, p1, err = clipBounds(n, dt)
		if err != nil {
			return nil, err
		}
	}
	defs, err := typeDefines(dev, dt)
	if err != nil {
		return nil, err
	}
	k, err := kernelOf(dev, "unary.cl", defs, kernel)
	if err != nil {
		return nil, err
	}
	a0, a1 := scalar(dt, p0), scalar(dt, p1)
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0])
		if err != nil {
			return err
		}
		return launch1D(s, k, int64(out[0].Len()), append(a, int64(out[0].Len()), a0, a1)...)
	}, 1, 2)}, nil
}

// clipBounds reads Clip's bounds: attributes before opset 11, then the
// optional inputs min and max, which must be known when preparing.
func clipBounds(n *ops.Node, dt tensor.DType) (float64, float64, error) {
	lo, hi := math.Inf(-1), math.Inf(1)
	switch dt {
	case tensor.Int32:
		lo, hi = math.MinInt32, math.MaxInt32
	case tensor.Int64:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	if n.Opset < 11 {
		lo = float64(n.Attrs.Float("min", float32(math.Inf(-1))))
		hi = float64(n.Attrs.Float("max", float32(math.Inf(1))))
		return lo, hi, n.Attrs.Err()
	}
	for i, p := range []*float64{&lo, &hi} {
		t := n.Input(i + 1)
		if !t.Present() {
			continue
		}
		if t.Value == nil {
			return 0, 0, unsupported("Clip bound %d not known when preparing", i+1)
		}
		v, err := scalarValue(t.Value)
		if err != nil {
			return 0, 0, err
		}
		*p = v
	}
	return lo, hi, nil
}

// scalarValue reads a one-element tensor known at planning time.
func scalarValue(t *tensor.Tensor) (float64, error) {
	if t.Len() != 1 {
		return 0, unsupported("a %d-element bound", t.Len())
	}
	switch t.DType() {
	case tensor.Float32:
		v, err := tensor.ToSlice[float32](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0]), nil
	case tensor.Float64:
		v, err := tensor.ToSlice[float64](t)
		if err != nil {
			return 0, err
		}
		return v[0], nil
	case tensor.Int32:
		v, err := tensor.ToSlice[int32](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0]), nil
	case tensor.Int64:
		v, err := tensor.ToSlice[int64](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0]), nil
	}
	return 0, unsupported("a %s scalar", t.DType())
}

// int64Values reads an integer tensor known at planning time.
func int64Values(t *tensor.Tensor) ([]int64, error) {
	switch t.DType() {
	case tensor.Int64:
		return tensor.ToSlice[int64](t)
	case tensor.Int32:
		v, err := tensor.ToSlice[int32](t)
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, nil
	}
	return nil, unsupported("%s values", t.DType())
}

// binaryOp is an elementwise function of two inputs with broadcasting.
type binaryOp struct {
	name     string
	versions []int
	kernel   string
	types    func(tensor.DType) bool
	check    bool // kernel may set the error flag (integer division by zero)
}

func arithTypes(dt tensor.DType) bool {
	switch dt {
	case tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64:
		return true
	}
	return false
}

func floatTypes(dt tensor.DType) bool { return dt == tensor.Float32 || dt == tensor.Float64 }

func boolType(dt tensor.DType) bool { return dt == tensor.Bool }

func cmpTypes(dt tensor.DType) bool { return arithTypes(dt) || dt == tensor.Bool }

func binaryOps() []binaryOp {
	b := func(name string, versions []int, kernel string, types func(tensor.DType) bool) binaryOp {
		return binaryOp{name: name, versions: versions, kernel: kernel, types: types}
	}
	div := b("Div", []int{7, 13, 14}, "div", arithTypes)
	div.check = true
	mod := b("Mod", []int{10, 13}, "mod", arithTypes)
	mod.check = true
	return []binaryOp{
		b("Add", []int{7, 13, 14}, "add", arithTypes),
		b("Sub", []int{7, 13, 14}, "sub", arithTypes),
		b("Mul", []int{7, 13, 14}, "mul", arithTypes),
		div,
		b("Pow", []int{7, 12, 13, 15}, "pow", floatTypes),
		mod,
		b("PRelu", []int{7, 9, 16}, "prelu", floatTypes),
		b("Max", []int{8, 12, 13}, "maximum", arithTypes),
		b("Min", []int{8, 12, 13}, "minimum", arithTypes),
		b("Sum", []int{8, 13}, "add", arithTypes),
		b("Equal", []int{7, 11, 13}, "equal", cmpTypes),
		b("Less", []int{7, 9, 13}, "less", arithTypes),
		b("LessOrEqual", []int{12, 16}, "less_equal", arithTypes),
		b("Greater", []int{7, 9, 13}, "greater", arithTypes),
		b("GreaterOrEqual", []int{12, 16}, "greater_equal", arithTypes),
		b("And", []int{7}, "and_", boolType),
		b("Or", []int{7}, "or_", boolType),
		b("Xor", []int{7}, "xor_", boolType),
	}
}

func (o binaryOp) deviceOp() *ops.DeviceOp {
	return &ops.DeviceOp{Backend: backendName, Name: o.name, Versions: o.versions, Prepare: o.prepare}
}

func (o binaryOp) prepare(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	if len(n.Inputs) != 2 {
		return nil, unsupported("%d inputs (device kernels take 2)", len(n.Inputs))
	}
	dt := n.Inputs[0].DType
	if n.Inputs[1].DType != dt || !o.types(dt) {
		return nil, unsupported("element types %s and %s", dt, n.Inputs[1].DType)
	}
	if o.name == "Mod" && floatTypes(dt) != (n.Attrs.Int("fmod", 0) == 1) {
		return nil, unsupported("Mod with fmod=%d on %s", n.Attrs.Int("fmod", 0), dt)
	}
	var defs string
	if dt == tensor.Bool {
		defs = "-DT=uchar -DLOGIC"
	} else if defs, err = typeDefines(dev, dt); err != nil {
		return nil, err
	}
	outShape := plan.Outputs[0].Shape
	a, b := n.Inputs[0].Shape, n.Inputs[1].Shape
	same := a.Equal(outShape) && b.Equal(outShape)
	name := o.kernel
	var sh []byte
	if !same {
		name += "_bc"
		st, err := newShapeT(dims64(outShape), broadcastStrides(a, outShape), broadcastStrides(b, outShape))
		if err != nil {
			return nil, err
		}
		sh = st.bytes()
	}
	k, err := kernelOf(dev, "binary.cl", defs, name)
	if err != nil {
		return nil, err
	}
	check := o.check && !floatTypes(dt)
	label := fmt.Sprintf("%s: integer division by zero", o.name)
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], in[1], out[0])
		if err != nil {
			return err
		}
		flag, err := newErrFlag(s, check)
		if err != nil {
			return err
		}
		a = append(a, int64(out[0].Len()), flag.buf)
		if sh != nil {
			a = append(a, sh)
		}
		if err := launch1D(s, k, int64(out[0].Len()), a...); err != nil {
			flag.buf.Free()
			return err
		}
		return flag.check(s, label)
	})}, nil
}

// prepareNot is logical negation of a bool tensor.
func prepareNot(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	if n.Inputs[0].DType != tensor.Bool {
		return nil, unsupported("element type %s", n.Inputs[0].DType)
	}
	k, err := kernelOf(dev, "binary.cl", "-DT=uchar -DLOGIC", "not_")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0])
		if err != nil {
			return err
		}
		return launch1D(s, k, int64(out[0].Len()), append(a, int64(out[0].Len()))...)
	})}, nil
}

// prepareWhere selects between two tensors of any element type by a bool
// condition, all three broadcast.
func prepareWhere(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	et := bitsType(n.Inputs[1].DType)
	if et == "" || n.Inputs[0].DType != tensor.Bool {
		return nil, unsupported("Where on %s", n.Inputs[1].DType)
	}
	out := plan.Outputs[0].Shape
	st, err := newShapeT(dims64(out), broadcastStrides(n.Inputs[0].Shape, out), broadcastStrides(n.Inputs[1].Shape, out), broadcastStrides(n.Inputs[2].Shape, out))
	if err != nil {
		return nil, err
	}
	sh := st.bytes()
	k, err := kernelOf(dev, "copy.cl", "-DE="+et+" -DIDX=long", "where_")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], in[1], in[2], out[0])
		if err != nil {
			return err
		}
		return launch1D(s, k, int64(out[0].Len()), append(a, int64(out[0].Len()), sh)...)
	})}, nil
}

// prepareCast converts between numeric and bool element types.
func prepareCast(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	from, to := n.Inputs[0].DType, plan.Outputs[0].DType
	src, dst := ctype(from), ctype(to)
	if src == "" || dst == "" {
		return nil, unsupported("Cast from %s to %s", from, to)
	}
	for _, dt := range []tensor.DType{from, to} {
		if dt == tensor.Float64 && !dev.Properties().HasFeature("fp64") {
			return nil, unsupported("float64 on a device without fp64")
		}
	}
	if from.IsFloat() && !to.IsFloat() && to != tensor.Bool {
		// C leaves out-of-range float-to-integer conversions undefined; the
		// CPU operator defines them. Stay on the CPU rather than differ.
		return nil, unsupported("Cast from %s to %s", from, to)
	}
	defs := "-DSRC=" + src + " -DDST=" + dst
	if to == tensor.Bool {
		defs += " -DTO_BOOL"
	}
	if from == tensor.Float64 || to == tensor.Float64 {
		defs += " -DUSE_FP64"
	}
	k, err := kernelOf(dev, "cast.cl", defs, "cast")
	if err != nil {
		return nil, err
	}
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0])
		if err != nil {
			return err
		}
		return launch1D(s, k, int64(out[0].Len()), append(a, int64(out[0].Len()))...)
	})}, nil
}
