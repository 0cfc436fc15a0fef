package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Binary elementwise operators with numpy broadcasting: arithmetic,
// comparison and logic. Each is a row below; the kernels are generic
// functions instantiated per element type by the dispatch switches.

type number interface {
	int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64
}

type integer interface {
	int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64
}

func binaryOps() []def {
	arith := func(name string, since []int, types []tensor.DType) def {
		return def{name: name, since: since, inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
			prepare: prepareArith(name, types), doc: "elementwise " + name + " with broadcasting"}
	}
	cmp := func(name string, since []int, types []tensor.DType) def {
		return def{name: name, since: since, inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
			prepare: prepareCompare(name, types), doc: "elementwise " + name + " with broadcasting, to bool"}
	}
	logic := func(name string, since []int) def {
		return def{name: name, since: since, inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
			prepare: prepareLogic(name), doc: "elementwise logical " + name}
	}
	cmpTypes := append(append([]tensor.DType{}, numericTypes...), tensor.Bool, tensor.String)
	return []def{
		arith("Add", []int{1, 6, 7, 13, 14}, numericTypes),
		arith("Sub", []int{1, 6, 7, 13, 14}, numericTypes),
		arith("Mul", []int{1, 6, 7, 13, 14}, numericTypes),
		arith("Div", []int{1, 6, 7, 13, 14}, numericTypes),
		cmp("Equal", []int{1, 7, 11, 13}, cmpTypes),
		cmp("Less", []int{1, 7, 9, 13}, numericTypes),
		cmp("Greater", []int{1, 7, 9, 13}, numericTypes),
		cmp("LessOrEqual", []int{12, 16}, numericTypes),
		cmp("GreaterOrEqual", []int{12, 16}, numericTypes),
		logic("And", []int{1, 7}),
		logic("Or", []int{1, 7}),
		logic("Xor", []int{1, 7}),
	}
}

// binaryShape checks that inputs 0 and 1 share a type from allowed and
// returns the broadcast output shape. Opsets before 7 broadcast only when
// the "broadcast" attribute is set, aligning B at "axis" (legacy rule).
func binaryShape(n *ops.Node, allowed []tensor.DType) (tensor.Shape, error) {
	if err := checkType(n, 0, allowed); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, allowed); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1); err != nil {
		return nil, err
	}
	a, b := n.Inputs[0], n.Inputs[1]
	if a.UnknownRank || b.UnknownRank {
		return nil, n.Errorf("inputs of unknown rank")
	}
	if n.Opset < 7 { // before opset 7, broadcasting was opt-in
		attrs := n.Attrs
		bc := attrs.Int("broadcast", 0)
		axis := attrs.Int("axis", -1)
		if err := attrs.Err(); err != nil {
			return nil, err
		}
		if bc == 0 {
			if !a.Shape.Equal(b.Shape) {
				return nil, n.Errorf("shapes %v and %v differ and broadcast is not set", a.Shape, b.Shape)
			}
			return a.Shape.Clone(), nil
		}
		legacy, err := legacyBroadcast(n, a.Shape, b.Shape, axis)
		if err != nil {
			return nil, err
		}
		n.Inputs[1].Shape = legacy
		return a.Shape.Clone(), nil
	}
	out, err := broadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return out, nil
}

// legacyBroadcast expresses opset-1/6 broadcasting of B into A at axis as
// a numpy shape for B (B padded with ones on the right).
func legacyBroadcast(n *ops.Node, a, b tensor.Shape, axis int64) (tensor.Shape, error) {
	if len(b) > len(a) {
		return nil, n.Errorf("legacy broadcast: B %v has higher rank than A %v", b, a)
	}
	start := len(a) - len(b)
	if axis != -1 || n.Attrs.Has("axis") {
		ax, err := normAxis(n, axis, len(a))
		if err != nil {
			return nil, err
		}
		start = ax
	}
	if start+len(b) > len(a) {
		return nil, n.Errorf("legacy broadcast: B %v does not fit A %v at axis %d", b, a, start)
	}
	s := make(tensor.Shape, len(a)-start)
	for i := range s {
		s[i] = 1
	}
	for i, d := range b {
		if d != 1 && d != a[start+i] {
			return nil, n.Errorf("legacy broadcast: B %v does not match A %v at axis %d", b, a, start)
		}
		s[i] = d
	}
	return s, nil
}

func prepareArith(name string, allowed []tensor.DType) func(*ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		out, err := binaryShape(n, allowed)
		if err != nil {
			return nil, err
		}
		dt := n.Inputs[0].DType
		aShape, bShape := n.Inputs[0].Shape.Clone(), n.Inputs[1].Shape.Clone()
		var k ops.Kernel
		switch dt {
		case tensor.Float32:
			k = arith32Kernel(name, aShape, bShape, out)
		case tensor.Float64:
			k = binaryKernel(aShape, bShape, out, floatArith[float64](name))
		case tensor.Float16, tensor.BFloat16:
			k = halfAsFloat32(dt, binaryKernel(aShape, bShape, out, floatArith[float32](name)))
		case tensor.Int8:
			k = intArithKernel[int8](name, aShape, bShape, out)
		case tensor.Int16:
			k = intArithKernel[int16](name, aShape, bShape, out)
		case tensor.Int32:
			k = intArithKernel[int32](name, aShape, bShape, out)
		case tensor.Int64:
			k = intArithKernel[int64](name, aShape, bShape, out)
		case tensor.Uint8:
			k = intArithKernel[uint8](name, aShape, bShape, out)
		case tensor.Uint16:
			k = intArithKernel[uint16](name, aShape, bShape, out)
		case tensor.Uint32:
			k = intArithKernel[uint32](name, aShape, bShape, out)
		case tensor.Uint64:
			k = intArithKernel[uint64](name, aShape, bShape, out)
		default:
			return nil, n.Errorf("unsupported type %s", dt)
		}
		// binaryMap writes every element; the float kernels go through it.
		plan := &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k, Overwrites: dt.IsFloat()}
		if dt.IsFloat() {
			// An input of the output's shape is read at the position written.
			plan.InPlace = sameShapeInputs(n, out, 0, 1)
		}
		return plan, nil
	}
}

func floatArith[T float32 | float64](name string) func(a, b T) T {
	switch name {
	case "Add":
		return func(a, b T) T { return a + b }
	case "Sub":
		return func(a, b T) T { return a - b }
	case "Mul":
		return func(a, b T) T { return a * b }
	case "Div":
		return func(a, b T) T { return a / b }
	}
	panic("standard: no float arithmetic " + name) // a programmer error in the tables above
}

// intArithKernel is integer arithmetic with wrap-around; division by zero
// is reported as an error rather than crashing the process.
func intArithKernel[T integer](name string, aShape, bShape, out tensor.Shape) ops.Kernel {
	var f func(a, b T) T
	switch name {
	case "Add":
		f = func(a, b T) T { return a + b }
	case "Sub":
		f = func(a, b T) T { return a - b }
	case "Mul":
		f = func(a, b T) T { return a * b }
	case "Div":
		div := binaryKernel(aShape, bShape, out, func(a, b T) T { return a / b })
		return func(env *ops.Env, in, outs []*tensor.Tensor) error {
			bs, err := tensor.View[T](in[1])
			if err != nil {
				return err
			}
			for _, v := range bs {
				if v == 0 {
					return errorf("Div: integer division by zero")
				}
			}
			return div(env, in, outs)
		}
	}
	return binaryKernel(aShape, bShape, out, f)
}

// binaryKernel returns a kernel computing out = f(in0, in1) elementwise,
// for inputs and output of the element types A, B and O.
func binaryKernel[A, B, O tensor.Element](aShape, bShape, outShape tensor.Shape, f func(A, B) O) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		a, err := tensor.View[A](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[B](in[1])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, tensor.DTypeOf[O](), outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[O](y)
		if err != nil {
			return err
		}
		binaryMap(env, o, a, b, outShape, aShape, bShape, f)
		return nil
	}
}

func prepareCompare(name string, allowed []tensor.DType) func(*ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		out, err := binaryShape(n, allowed)
		if err != nil {
			return nil, err
		}
		dt := n.Inputs[0].DType
		a, b := n.Inputs[0].Shape.Clone(), n.Inputs[1].Shape.Clone()
		var k ops.Kernel
		switch dt {
		case tensor.Float32:
			k = compareKernel[float32](name, a, b, out)
		case tensor.Float64:
			k = compareKernel[float64](name, a, b, out)
		case tensor.Float16, tensor.BFloat16:
			k = halfAsFloat32(dt, compareKernel[float32](name, a, b, out))
		case tensor.Int8:
			k = compareKernel[int8](name, a, b, out)
		case tensor.Int16:
			k = compareKernel[int16](name, a, b, out)
		case tensor.Int32:
			k = compareKernel[int32](name, a, b, out)
		case tensor.Int64:
			k = compareKernel[int64](name, a, b, out)
		case tensor.Uint8:
			k = compareKernel[uint8](name, a, b, out)
		case tensor.Uint16:
			k = compareKernel[uint16](name, a, b, out)
		case tensor.Uint32:
			k = compareKernel[uint32](name, a, b, out)
		case tensor.Uint64:
			k = compareKernel[uint64](name, a, b, out)
		case tensor.Bool:
			k = binaryKernel(a, b, out, func(x, y bool) bool { return x == y })
		case tensor.String:
			k = stringEqualKernel(a, b, out)
		default:
			return nil, n.Errorf("unsupported type %s", dt)
		}
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Bool, out)}, Kernel: k}, nil
	}
}

func compareKernel[T number](name string, a, b, out tensor.Shape) ops.Kernel {
	var f func(x, y T) bool
	switch name {
	case "Equal":
		f = func(x, y T) bool { return x == y }
	case "Less":
		f = func(x, y T) bool { return x < y }
	case "Greater":
		f = func(x, y T) bool { return x > y }
	case "LessOrEqual":
		f = func(x, y T) bool { return x <= y }
	case "GreaterOrEqual":
		f = func(x, y T) bool { return x >= y }
	}
	return binaryKernel(a, b, out, f)
}

func stringEqualKernel(aShape, bShape, outShape tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		a, err := in[0].Strings()
		if err != nil {
			return err
		}
		b, err := in[1].Strings()
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, tensor.Bool, outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[bool](y)
		if err != nil {
			return err
		}
		binaryMap(env, o, a, b, outShape, aShape, bShape, func(x, y string) bool { return x == y })
		return nil
	}
}

func prepareLogic(name string) func(*ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		out, err := binaryShape(n, []tensor.DType{tensor.Bool})
		if err != nil {
			return nil, err
		}
		var f func(x, y bool) bool
		switch name {
		case "And":
			f = func(x, y bool) bool { return x && y }
		case "Or":
			f = func(x, y bool) bool { return x || y }
		case "Xor":
			f = func(x, y bool) bool { return x != y }
		}
		k := binaryKernel(n.Inputs[0].Shape.Clone(), n.Inputs[1].Shape.Clone(), out, f)
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Bool, out)}, Kernel: k}, nil
	}
}

// arith32Kernel is float32 Add, Sub, Mul or Div: binaryMap with the
// operation chosen per row rather than called per element.
func arith32Kernel(name string, aShape, bShape, outShape tensor.Shape) ops.Kernel {
	// The shapes are the plan's: the broadcast plan is made once, here.
	p := newBcastPlan(outShape, aShape, bShape)
	op, f := arith32Ops[name], floatArith[float32](name) // once, not per row
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		a, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		o, err := nnOut[float32](env, out, 0, outShape)
		if err != nil {
			return err
		}
		if p.n == 0 {
			return nil
		}
		inner := p.inner()
		sa, sb := p.strides[0][len(p.dims)-1], p.strides[1][len(p.dims)-1]
		grain := max(1, 16384/inner)
		if p.rows() <= grain { // one chunk: no closure to allocate
			var offs [2]int
			for row := range p.rows() {
				p.offsets(row, offs[:])
				arith32Row(op, f, o[row*inner:row*inner+inner], a, b, offs[0], offs[1], sa, sb)
			}
			return nil
		}
		env.ParallelFor(p.rows(), grain, func(lo, hi int) {
			var offs [2]int
			for row := lo; row < hi; row++ {
				p.offsets(row, offs[:])
				arith32Row(op, f, o[row*inner:row*inner+inner], a, b, offs[0], offs[1], sa, sb)
			}
		})
		return nil
	}
}

// arith32Ops maps the operator names arith32Kernel serves to kernels' ops.
var arith32Ops = map[string]kernels.BinaryOp{"Add": kernels.Add, "Sub": kernels.Sub, "Mul": kernels.Mul, "Div": kernels.Div}

// arith32Row computes o[i] = a[ia+i*sa] op b[ib+i*sb]: the vector kernels
// when each input is contiguous or a broadcast scalar, otherwise a strided
// loop of f (op's scalar form).
func arith32Row(op kernels.BinaryOp, f func(a, b float32) float32, o, a, b []float32, ia, ib, sa, sb int) {
	n := len(o)
	switch {
	case sa == 1 && sb == 1:
		kernels.BinaryF32(op, o, a[ia:ia+n], b[ib:ib+n])
	case sa == 1 && sb == 0:
		kernels.BinaryScalarF32(op, o, a[ia:ia+n], b[ib])
	case sa == 0 && sb == 1:
		kernels.ScalarBinaryF32(op, o, a[ia], b[ib:ib+n])
	default:
		for i := range o {
			o[i] = f(a[ia], b[ib])
			ia += sa
			ib += sb
		}
	}
}
