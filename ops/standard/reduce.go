package standard

import (
	"github.com/gocann/gocann/kernels"
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// The reduce family: the Reduce* operators (this file), the losses
// (reduce_loss.go), recurrent networks (reduce_rnn.go), signal processing
// (reduce_signal.go), random generators (reduce_random.go), text
// (reduce_text.go) and the training optimizers (reduce_train.go).

// reduceOps lists this family's operators.
func reduceOps() []def {
	red := func(name string, k reduceKind, since []int, axesInput int) def {
		return def{name: name, since: since, inputs: [2]int{1, 2}, outputs: [2]int{1, 1},
			valueInputs: []int{1}, prepare: reducePrepare(k, axesInput),
			doc: "reduces a tensor over axes: " + reduceDocs[k]}
	}
	list := []def{
		red("ReduceSum", reduceSum, []int{1, 11, 13}, 13),
		red("ReduceMean", reduceMean, []int{1, 11, 13, 18}, 18),
		red("ReduceProd", reduceProd, []int{1, 11, 13, 18}, 18),
		red("ReduceMax", reduceMax, []int{1, 11, 12, 13, 18, 20}, 18),
		red("ReduceMin", reduceMin, []int{1, 11, 12, 13, 18, 20}, 18),
		red("ReduceL1", reduceL1, []int{1, 11, 13, 18}, 18),
		red("ReduceL2", reduceL2, []int{1, 11, 13, 18}, 18),
		red("ReduceLogSum", reduceLogSum, []int{1, 11, 13, 18}, 18),
		red("ReduceLogSumExp", reduceLogSumExp, []int{1, 11, 13, 18}, 18),
		red("ReduceSumSquare", reduceSumSquare, []int{1, 11, 13, 18}, 18),
	}
	list = append(list, reduceLossOps()...)
	list = append(list, reduceRNNOps()...)
	list = append(list, reduceSignalOps()...)
	list = append(list, reduceRandomOps()...)
	list = append(list, reduceTextOps()...)
	return list
}

type reduceKind int

const (
	reduceSum reduceKind = iota
	reduceMean
	reduceProd
	reduceMax
	reduceMin
	reduceL1
	reduceL2
	reduceLogSum
	reduceLogSumExp
	reduceSumSquare
)

var reduceDocs = [...]string{
	reduceSum: "sum", reduceMean: "mean", reduceProd: "product", reduceMax: "maximum",
	reduceMin: "minimum", reduceL1: "sum of absolute values", reduceL2: "Euclidean norm",
	reduceLogSum: "log of the sum", reduceLogSumExp: "log of the sum of exponentials",
	reduceSumSquare: "sum of squares",
}

// reduceTypes is the element types a reduction accepts at an opset.
func reduceTypes(k reduceKind, opset int) []tensor.DType {
	types := []tensor.DType{tensor.Float16, tensor.Float32, tensor.Float64,
		tensor.Int32, tensor.Int64, tensor.Uint32, tensor.Uint64}
	if opset >= 13 {
		types = append(types, tensor.BFloat16)
	}
	if (k == reduceMax || k == reduceMin) && opset >= 12 {
		types = append(types, tensor.Int8, tensor.Uint8)
	}
	if (k == reduceMax || k == reduceMin) && opset >= 20 {
		types = append(types, tensor.Bool)
	}
	return types
}

// reduceSpec is what a reduction node asks for: the axes (nil when they
// come from an input whose contents are not yet known) and its flags.
type reduceSpec struct {
	kind      reduceKind
	axesInput bool // axes come from input 1 (opsets where it is an input)
	axes      []int64
	keepdims  bool
	noop      bool // noop_with_empty_axes
}

// resolve turns the requested axes into one flag per dimension; with no
// axes every dimension is reduced, unless noop_with_empty_axes asks for
// none.
func (s *reduceSpec) resolve(axes []int64, rank int) ([]bool, error) {
	red := make([]bool, rank)
	if len(axes) == 0 {
		if !s.noop {
			for i := range red {
				red[i] = true
			}
		}
		return red, nil
	}
	for _, a := range axes {
		if a < -int64(rank) || a >= int64(rank) {
			return nil, errorf("axis %d out of range for rank %d", a, rank)
		}
		if a < 0 {
			a += int64(rank)
		}
		if red[a] {
			return nil, errorf("axis %d repeated", a)
		}
		red[a] = true
	}
	return red, nil
}

func (s *reduceSpec) outShape(in tensor.Shape, red []bool) tensor.Shape {
	out := tensor.Shape{}
	for i, d := range in {
		switch {
		case !red[i]:
			out = append(out, d)
		case s.keepdims:
			out = append(out, 1)
		}
	}
	return out
}

func reducePrepare(k reduceKind, axesFrom int) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		a := n.Attrs
		spec := &reduceSpec{kind: k, axesInput: n.Opset >= axesFrom}
		spec.keepdims = a.Int("keepdims", 1) != 0
		if spec.axesInput {
			spec.noop = a.Int("noop_with_empty_axes", 0) != 0
			if a.Has("axes") {
				a.Fail("the axes attribute was replaced by an input in opset %d", axesFrom)
			}
		} else {
			spec.axes = a.Ints("axes", nil)
			if len(n.Inputs) > 1 {
				a.Fail("opset %d takes its axes as an attribute, not an input", n.Opset)
			}
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		if err := checkType(n, 0, reduceTypes(k, n.Opset)); err != nil {
			return nil, err
		}
		x := n.Inputs[0]
		if x.UnknownRank {
			return nil, n.Errorf("input of unknown rank")
		}
		known := true
		if spec.axesInput {
			if at := n.Input(1); at.Present() {
				if err := checkType(n, 1, []tensor.DType{tensor.Int64}); err != nil {
					return nil, err
				}
				if len(at.Shape) != 1 {
					return nil, n.Errorf("axes must be 1-D, got shape %v", at.Shape)
				}
				if at.Value != nil {
					v, err := intsOf(at.Value)
					if err != nil {
						return nil, n.Errorf("axes: %v", err)
					}
					spec.axes = v
				} else {
					known = false
				}
			}
		}
		var outType ops.Type
		if known {
			red, err := spec.resolve(spec.axes, len(x.Shape))
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			outType = ops.TensorType(x.DType, spec.outShape(x.Shape, red))
		} else if spec.keepdims {
			s := make(tensor.Shape, len(x.Shape))
			for i := range s {
				s[i] = -1
			}
			outType = ops.TensorType(x.DType, s)
		} else {
			outType = ops.Type{Kind: ops.KindTensor, DType: x.DType, UnknownRank: true}
		}
		var kern ops.Kernel
		switch x.DType {
		case tensor.Float32:
			kern = reduceKernel[float32, float64](spec)
		case tensor.Float64:
			kern = reduceKernel[float64, float64](spec)
		case tensor.Float16, tensor.BFloat16:
			kern = halfAsFloat32(x.DType, reduceKernel[float32, float64](spec))
		case tensor.Int8:
			kern = reduceKernel[int8, int64](spec)
		case tensor.Int32:
			kern = reduceKernel[int32, int64](spec)
		case tensor.Int64:
			kern = reduceKernel[int64, int64](spec)
		case tensor.Uint8:
			kern = reduceKernel[uint8, uint64](spec)
		case tensor.Uint32:
			kern = reduceKernel[uint32, uint64](spec)
		case tensor.Uint64:
			kern = reduceKernel[uint64, uint64](spec)
		case tensor.Bool:
			kern = reduceBoolKernel(spec)
		default:
			return nil, n.Errorf("unsupported type %s", x.DType)
		}
		return &ops.Plan{Outputs: []ops.Type{outType}, Kernel: kern}, nil
	}
}

// reduceLayout maps a reduction onto flat offsets: output element o reads
// x[outer[o] + inner[r]] for every r. When the innermost dimension is kept
// (run > 1), outputs come in runs of that length whose inputs are
// contiguous too, and outer holds one base per run.
type reduceLayout struct {
	outShape tensor.Shape
	outer    []int
	inner    []int
	run      int  // length of the contiguous kept innermost run (1: none)
	dense    bool // inner is 0, 1, ..., len-1
}

func reduceNewLayout(shape tensor.Shape, red []bool, outShape tensor.Shape) reduceLayout {
	l := reduceLayout{outShape: outShape, run: 1}
	strides := shape.Strides()
	// Merge the innermost kept dimension into runs when reductions remain
	// outside it: then every output run reads contiguous rows.
	last := len(shape) - 1
	keptDims, redDims := []int{}, []int{}
	for i := range shape {
		if red[i] {
			redDims = append(redDims, i)
		} else {
			keptDims = append(keptDims, i)
		}
	}
	if last >= 0 && !red[last] && shape[last] > 1 && len(redDims) > 0 {
		l.run = shape[last]
		keptDims = keptDims[:len(keptDims)-1]
	}
	l.outer = reduceOffsets(shape, strides, keptDims)
	l.inner = reduceOffsets(shape, strides, redDims)
	l.dense = true
	for i, o := range l.inner {
		if o != i {
			l.dense = false
			break
		}
	}
	return l
}

// reduceOffsets lists the flat offsets of every index over dims, in
// row-major order of those dims.
func reduceOffsets(shape tensor.Shape, strides []int, dims []int) []int {
	n := 1
	for _, d := range dims {
		n *= shape[d]
	}
	offs := make([]int, 0, n)
	if n == 0 {
		return offs
	}
	idx := make([]int, len(dims))
	off := 0
	for {
		offs = append(offs, off)
		k := len(dims) - 1
		for ; k >= 0; k-- {
			d := dims[k]
			idx[k]++
			off += strides[d]
			if idx[k] < shape[d] {
				break
			}
			off -= idx[k] * strides[d]
			idx[k] = 0
		}
		if k < 0 {
			return offs
		}
	}
}

// axesAt reads the axes a kernel must use: the attribute's, or the
// axes input's contents.
func (s *reduceSpec) axesAt(in []*tensor.Tensor) ([]int64, error) {
	if !s.axesInput || len(in) < 2 || in[1] == nil {
		return s.axes, nil
	}
	return intsOf(in[1])
}

func (s *reduceSpec) layout(in []*tensor.Tensor) (reduceLayout, error) {
	axes, err := s.axesAt(in)
	if err != nil {
		return reduceLayout{}, err
	}
	shape := in[0].Shape()
	red, err := s.resolve(axes, len(shape))
	if err != nil {
		return reduceLayout{}, err
	}
	return reduceNewLayout(shape, red, s.outShape(shape, red)), nil
}

// reduceAccum is the accumulator type: float64 for floats, 64-bit
// integers for integers (wrapping like the element type once narrowed).
type reduceAccum interface{ float64 | int64 | uint64 }

func reduceKernel[T number, A reduceAccum](s *reduceSpec) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		l, err := s.layout(in)
		if err != nil {
			return err
		}
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, in[0].DType(), l.outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		r := len(l.inner)
		if l.run > 1 {
			grain := max(1, 16384/max(1, r*l.run))
			env.ParallelFor(len(l.outer), grain, func(lo, hi int) {
				acc := make([]A, l.run)
				for j := lo; j < hi; j++ {
					reduceRun[T, A](s.kind, x, l.outer[j], l.inner, o[j*l.run:(j+1)*l.run], acc)
				}
			})
			return nil
		}
		if l.dense && r >= reduceSplitMin && len(l.outer) < 8 {
			// Few long rows: parallelize within each row instead.
			for j, base := range l.outer {
				o[j] = reduceOneSplit[T, A](env, s.kind, x[base:base+r])
			}
			return nil
		}
		grain := max(1, 16384/max(1, r))
		env.ParallelFor(len(l.outer), grain, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				if l.dense {
					o[j] = reduceOne[T, A](s.kind, x[l.outer[j]:l.outer[j]+r], 0, nil)
				} else {
					o[j] = reduceOne[T, A](s.kind, x, l.outer[j], l.inner)
				}
			}
		})
		return nil
	}
}

// reduceLowest and reduceHighest are the identities of Max and Min: the
// values an empty reduction gives (infinities for floats).
func reduceLowest[T number]() T {
	var z T
	switch p := any(&z).(type) {
	case *float32:
		*p = float32(math.Inf(-1))
	case *float64:
		*p = math.Inf(-1)
	case *int8:
		*p = math.MinInt8
	case *int16:
		*p = math.MinInt16
	case *int32:
		*p = math.MinInt32
	case *int64:
		*p = math.MinInt64
	}
	return z // unsigned: 0
}

func reduceHighest[T number]() T {
	var z T
	switch p := any(&z).(type) {
	case *float32:
		*p = float32(math.Inf(1))
	case *float64:
		*p = math.Inf(1)
	case *int8:
		*p = math.MaxInt8
	case *int16:
		*p = math.MaxInt16
	case *int32:
		*p = math.MaxInt32
	case *int64:
		*p = math.MaxInt64
	case *uint8:
		*p = math.MaxUint8
	case *uint16:
		*p = math.MaxUint16
	case *uint32:
		*p = math.MaxUint32
	case *uint64:
		*p = math.MaxUint64
	}
	return z
}

func reduceIsFloat[T number]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

// reduceOne reduces x[base+offs[i]] over i, or all of x when offs is nil.
func reduceOne[T number, A reduceAccum](k reduceKind, x []T, base int, offs []int) T {
	n := len(x)
	if offs != nil {
		n = len(offs)
	}
	at := func(i int) T {
		if offs == nil {
			return x[i]
		}
		return x[base+offs[i]]
	}
	switch k {
	case reduceMax:
		m := reduceLowest[T]()
		for i := 0; i < n; i++ {
			if v := at(i); v > m || v != v {
				m = v
				if v != v {
					break
				}
			}
		}
		return m
	case reduceMin:
		m := reduceHighest[T]()
		for i := 0; i < n; i++ {
			if v := at(i); v < m || v != v {
				m = v
				if v != v {
					break
				}
			}
		}
		return m
	case reduceLogSumExp:
		m := reduceLowest[T]()
		for i := 0; i < n; i++ {
			if v := at(i); v > m || v != v {
				m = v
			}
		}
		shift := reduceShift(m)
		s := 0.0
		for i := 0; i < n; i++ {
			s += math.Exp(float64(at(i)) - shift)
		}
		return T(math.Log(s) + shift)
	}
	return reduceFinish[T, A](k, reduceSums[T, A](k, x, base, offs), n)
}

// reduceShift is the offset LogSumExp subtracts before exponentiating:
// the maximum when finite, so large inputs do not overflow.
func reduceShift[T number](m T) float64 {
	s := float64(m)
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return 0
	}
	return s
}

// reduceSums accumulates the sum-like kinds (the sum of x, |x| or x²
// that Sum, Mean, L1, L2, LogSum and SumSquare finish from) and the
// product for Prod, over x[base+offs[i]] or all of x when offs is nil.
func reduceSums[T number, A reduceAccum](k reduceKind, x []T, base int, offs []int) A {
	n := len(x)
	if offs != nil {
		n = len(offs)
	}
	at := func(i int) T {
		if offs == nil {
			return x[i]
		}
		return x[base+offs[i]]
	}
	var acc A
	switch k {
	case reduceProd:
		acc = 1
		for i := 0; i < n; i++ {
			acc *= A(at(i))
		}
	case reduceL1:
		for i := 0; i < n; i++ {
			v := A(at(i))
			if v < 0 {
				v = -v
			}
			acc += v
		}
	case reduceL2, reduceSumSquare:
		for i := 0; i < n; i++ {
			v := A(at(i))
			acc += v * v
		}
	default:
		if offs == nil {
			if xf, ok := any(x).([]float32); ok {
				if _, wide := any(acc).(float64); wide {
					// Eight partial float64 sums (kernels.SumF32): the
					// same accuracy, without one long chain of adds.
					return A(kernels.SumF32(xf))
				}
			}
			for _, v := range x {
				acc += A(v)
			}
		} else {
			for _, o := range offs {
				acc += A(x[base+o])
			}
		}
	}
	return acc
}

// reduceSplitMin is the reduction length from which a contiguous
// reduction with few outputs is split across workers.
const reduceSplitMin = 1 << 16

// reduceOneSplit is reduceOne over all of x, in parallel chunks whose
// partial results combine: sums add, products multiply, extremes compare,
// and LogSumExp takes the maximum in a first pass.
func reduceOneSplit[T number, A reduceAccum](env *ops.Env, k reduceKind, x []T) T {
	const chunk = reduceSplitMin / 4
	nc := (len(x) + chunk - 1) / chunk
	part := func(i int) []T { return x[i*chunk : min(len(x), (i+1)*chunk)] }
	switch k {
	case reduceMax, reduceMin:
		ext := make([]T, nc)
		env.ParallelFor(nc, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				ext[i] = reduceOne[T, A](k, part(i), 0, nil)
			}
		})
		return reduceOne[T, A](k, ext, 0, nil)
	case reduceLogSumExp:
		shift := reduceShift(reduceOneSplit[T, A](env, reduceMax, x))
		sums := make([]float64, nc)
		env.ParallelFor(nc, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				s := 0.0
				for _, v := range part(i) {
					s += math.Exp(float64(v) - shift)
				}
				sums[i] = s
			}
		})
		total := 0.0
		for _, s := range sums {
			total += s
		}
		return T(math.Log(total) + shift)
	}
	accs := make([]A, nc)
	env.ParallelFor(nc, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			accs[i] = reduceSums[T, A](k, part(i), 0, nil)
		}
	})
	acc := accs[0]
	for _, a := range accs[1:] {
		if k == reduceProd {
			acc *= a
		} else {
			acc += a
		}
	}
	return reduceFinish[T, A](k, acc, len(x))
}

// reduceFinish turns a sum-like accumulator into the result.
func reduceFinish[T number, A reduceAccum](k reduceKind, acc A, n int) T {
	switch k {
	case reduceMean:
		if n == 0 {
			if reduceIsFloat[T]() {
				return T(math.NaN())
			}
			return 0
		}
		return T(acc / A(n))
	case reduceL2:
		return T(math.Sqrt(float64(acc)))
	case reduceLogSum:
		return T(math.Log(float64(acc)))
	}
	return T(acc)
}

// reduceRun computes a run of outputs whose inputs are contiguous rows:
// o[c] reduces x[base+inner[i]+c] over i.
func reduceRun[T number, A reduceAccum](k reduceKind, x []T, base int, inner []int, o []T, acc []A) {
	w := len(o)
	switch k {
	case reduceMax, reduceMin:
		init := reduceLowest[T]()
		if k == reduceMin {
			init = reduceHighest[T]()
		}
		for c := range o {
			o[c] = init
		}
		for _, off := range inner {
			row := x[base+off : base+off+w]
			if k == reduceMax {
				for c, v := range row {
					if v > o[c] || v != v {
						o[c] = v
					}
				}
			} else {
				for c, v := range row {
					if v < o[c] || v != v {
						o[c] = v
					}
				}
			}
		}
		// A NaN slot stays NaN: comparisons with NaN are false.
		return
	case reduceLogSumExp:
		for c := range o {
			o[c] = reduceLowest[T]()
		}
		for _, off := range inner {
			for c, v := range x[base+off : base+off+w] {
				if v > o[c] || v != v {
					o[c] = v
				}
			}
		}
		shift := make([]float64, w)
		sum := make([]float64, w)
		for c := range o {
			s := float64(o[c])
			if math.IsInf(s, 0) || math.IsNaN(s) {
				s = 0
			}
			shift[c] = s
		}
		for _, off := range inner {
			for c, v := range x[base+off : base+off+w] {
				sum[c] += math.Exp(float64(v) - shift[c])
			}
		}
		for c := range o {
			o[c] = T(math.Log(sum[c]) + shift[c])
		}
		return
	case reduceProd:
		for c := range acc {
			acc[c] = 1
		}
		for _, off := range inner {
			for c, v := range x[base+off : base+off+w] {
				acc[c] *= A(v)
			}
		}
	default:
		clear(acc)
		for _, off := range inner {
			row := x[base+off : base+off+w]
			switch k {
			case reduceL1:
				for c, v := range row {
					a := A(v)
					if a < 0 {
						a = -a
					}
					acc[c] += a
				}
			case reduceL2, reduceSumSquare:
				for c, v := range row {
					a := A(v)
					acc[c] += a * a
				}
			default:
				for c, v := range row {
					acc[c] += A(v)
				}
			}
		}
	}
	for c := range o {
		o[c] = reduceFinish[T, A](k, acc[c], len(inner))
	}
}

// reduceBoolKernel is ReduceMax (any) and ReduceMin (all) on booleans
// (opset 20).
func reduceBoolKernel(s *reduceSpec) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		l, err := s.layout(in)
		if err != nil {
			return err
		}
		x, err := tensor.View[bool](in[0])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, tensor.Bool, l.outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[bool](y)
		if err != nil {
			return err
		}
		all := s.kind == reduceMin
		for j, base := range l.outer {
			for c := 0; c < l.run; c++ {
				v := all
				for _, off := range l.inner {
					if x[base+off+c] != all {
						v = !all
						break
					}
				}
				o[j*l.run+c] = v
			}
		}
		return nil
	}
}

// reduceCheckRank fails unless input i has a known rank within [lo, hi]
// (hi < 0: no upper bound).
func reduceCheckRank(n *ops.Node, i, lo, hi int) error {
	t := n.Input(i)
	if t.UnknownRank {
		return n.Errorf("input %d has unknown rank", i)
	}
	if len(t.Shape) < lo || (hi >= 0 && len(t.Shape) > hi) {
		return n.Errorf("input %d has rank %d, want %d to %d", i, len(t.Shape), lo, hi)
	}
	return nil
}

// reduceScalarInt reads a known scalar (or one-element) integer input's
// value; ok is false when the contents are not known at planning time.
func reduceScalarInt(n *ops.Node, i int) (v int64, ok bool, err error) {
	t := n.Input(i)
	if !t.Present() {
		return 0, false, nil
	}
	if err := checkType(n, i, []tensor.DType{tensor.Int32, tensor.Int64}); err != nil {
		return 0, false, err
	}
	if !t.UnknownRank && t.Shape.NumElements() != 1 && t.Static() {
		return 0, false, n.Errorf("input %d must hold one value, got shape %v", i, t.Shape)
	}
	if t.Value == nil {
		return 0, false, nil
	}
	vals, err := intsOf(t.Value)
	if err != nil {
		return 0, false, n.Errorf("input %d: %v", i, err)
	}
	if len(vals) != 1 {
		return 0, false, n.Errorf("input %d must hold one value, got %d", i, len(vals))
	}
	return vals[0], true, nil
}

// reduceIntScalarAt reads a one-element integer tensor in a kernel.
func reduceIntScalarAt(t *tensor.Tensor, what string) (int64, error) {
	vals, err := intsOf(t)
	if err != nil {
		return 0, errorf("%s: %v", what, err)
	}
	if len(vals) != 1 {
		return 0, errorf("%s must hold one value, got %d", what, len(vals))
	}
	return vals[0], nil
}
