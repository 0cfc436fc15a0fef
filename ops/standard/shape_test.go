package standard_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// shapeCase runs one node of the shape family on the given inputs (nil:
// an omitted optional input).
type shapeCase struct {
	name   string
	op     string
	opset  int
	attrs  map[string]ops.Attr
	inputs []*tensor.Tensor
	nout   int
}

func ai(v int64) ops.Attr     { return ops.Attr{Type: ops.AttrInt, Int: v} }
func af(v float32) ops.Attr   { return ops.Attr{Type: ops.AttrFloat, Float: v} }
func as(v string) ops.Attr    { return ops.Attr{Type: ops.AttrString, String: v} }
func ais(v ...int64) ops.Attr { return ops.Attr{Type: ops.AttrInts, Ints: v} }
func afs(v ...float32) ops.Attr {
	return ops.Attr{Type: ops.AttrFloats, Floats: v}
}

func tt[T tensor.Element](t testing.TB, data []T, shape ...int) *tensor.Tensor {
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

func i64s(t testing.TB, v ...int64) *tensor.Tensor { return tt(t, v) }

var shapeReg = func() *ops.Registry {
	r, err := standard.NewRegistry()
	if err != nil {
		panic(err)
	}
	return r
}()

// run prepares and runs the node the way the engine does: value inputs
// carry their contents into Prepare (unless hideValues), other inputs only
// their types; static outputs are preallocated. With workers, parallel
// loops run on a pool.
func (c shapeCase) run(hideValues bool, workers *cpu.Workers) (outs []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC: %v", r)
		}
	}()
	opset := c.opset
	if opset == 0 {
		opset = 17
	}
	nout := c.nout
	if nout == 0 {
		nout = 1
	}
	op, err := shapeReg.Lookup("", c.op, opset)
	if err != nil {
		return nil, err
	}
	n := &ops.Node{OpType: c.op, Opset: opset, Attrs: ops.NewAttrs(c.attrs), NumOutputs: nout}
	for i, x := range c.inputs {
		if x == nil {
			n.Inputs = append(n.Inputs, ops.Type{})
			continue
		}
		ty := ops.TypeOf(x)
		if hideValues || !slices.Contains(op.ValueInputs, i) {
			ty.Value = nil
		}
		n.Inputs = append(n.Inputs, ty)
	}
	plan, err := ops.PrepareOp(op, n)
	if err != nil {
		return nil, err
	}
	outs = make([]*tensor.Tensor, len(plan.Outputs))
	for i, ot := range plan.Outputs {
		if ot.Static() {
			if outs[i], err = tensor.New(ot.DType, ot.Shape); err != nil {
				return nil, err
			}
		}
	}
	if err := plan.Kernel(&ops.Env{Workers: workers}, c.inputs, outs); err != nil {
		return nil, err
	}
	return outs, nil
}

// prepareSymbolic prepares the node with every input dim unknown (-1),
// and again with input ranks unknown, no contents given: Prepare may fail
// but must not panic.
func (c shapeCase) prepareSymbolic() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC: %v", r)
		}
	}()
	opset := c.opset
	if opset == 0 {
		opset = 17
	}
	nout := max(c.nout, 1)
	op, err := shapeReg.Lookup("", c.op, opset)
	if err != nil {
		return nil
	}
	for _, rankKnown := range []bool{true, false} {
		n := &ops.Node{OpType: c.op, Opset: opset, Attrs: ops.NewAttrs(c.attrs), NumOutputs: nout}
		for _, x := range c.inputs {
			if x == nil {
				n.Inputs = append(n.Inputs, ops.Type{})
				continue
			}
			ty := ops.Type{Kind: ops.KindTensor, DType: x.DType(), UnknownRank: !rankKnown}
			if rankKnown {
				ty.Shape = make(tensor.Shape, x.Rank())
				for i := range ty.Shape {
					ty.Shape[i] = -1
				}
			}
			n.Inputs = append(n.Inputs, ty)
		}
		ops.PrepareOp(op, n)
	}
	return nil
}

func TestShapeErrors(t *testing.T) {
	f32 := func(shape ...int) *tensor.Tensor {
		x, _ := tensor.New(tensor.Float32, shape)
		return x
	}
	cases := []shapeCase{
		{name: "gather index too large", op: "Gather", inputs: []*tensor.Tensor{f32(3, 2), i64s(t, 0, 3)}},
		{name: "gather index too small", op: "Gather", inputs: []*tensor.Tensor{f32(3, 2), i64s(t, -4)}},
		{name: "gather int32 index", op: "Gather", attrs: map[string]ops.Attr{"axis": ai(1)}, inputs: []*tensor.Tensor{f32(3, 2), tt(t, []int32{2})}},
		{name: "gather float indices", op: "Gather", inputs: []*tensor.Tensor{f32(3, 2), tt(t, []float32{0})}},
		{name: "gather bad axis", op: "Gather", attrs: map[string]ops.Attr{"axis": ai(2)}, inputs: []*tensor.Tensor{f32(3, 2), i64s(t, 0)}},
		{name: "gatherelements index", op: "GatherElements", inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{0, 2, 1, 0}, 2, 2)}},
		{name: "gatherelements larger indices", op: "GatherElements", attrs: map[string]ops.Attr{"axis": ai(0)}, inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{0, 0, 0}, 1, 3)}},
		{name: "gathernd index", op: "GatherND", inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{0, 5}, 1, 2)}},
		{name: "gathernd tuple too long", op: "GatherND", inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{0, 0, 0}, 1, 3)}},
		{name: "gathernd batch_dims", op: "GatherND", attrs: map[string]ops.Attr{"batch_dims": ai(2)}, inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{0, 0}, 1, 2)}},
		{name: "scatterelements index", op: "ScatterElements", inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{3}, 1, 1), f32(1, 1)}},
		{name: "scatter (opset 9) index", op: "Scatter", opset: 9, inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{-3}, 1, 1), f32(1, 1)}},
		{name: "scatterelements shapes", op: "ScatterElements", inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{0}, 1, 1), f32(1, 2)}},
		{name: "scatterelements max before 18", op: "ScatterElements", opset: 16, attrs: map[string]ops.Attr{"reduction": as("max")}, inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{0}, 1, 1), f32(1, 1)}},
		{name: "scatternd index", op: "ScatterND", inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{2}, 1, 1), f32(1, 2)}},
		{name: "scatternd updates shape", op: "ScatterND", inputs: []*tensor.Tensor{f32(2, 2), tt(t, []int64{1}, 1, 1), f32(1, 3)}},
		{name: "scatternd string reduction", op: "ScatterND", opset: 18, attrs: map[string]ops.Attr{"reduction": as("add")},
			inputs: []*tensor.Tensor{tt(t, []string{"a", "b"}), tt(t, []int64{1}, 1, 1), tt(t, []string{"c"})}},
		{name: "onehot depth 0", op: "OneHot", inputs: []*tensor.Tensor{i64s(t, 1), i64s(t, 0), f32(2)}},
		{name: "onehot depth negative", op: "OneHot", inputs: []*tensor.Tensor{i64s(t, 1), tt(t, []float32{-3}), f32(2)}},
		{name: "onehot values", op: "OneHot", inputs: []*tensor.Tensor{i64s(t, 1), i64s(t, 3), f32(3)}},
		{name: "reshape two -1", op: "Reshape", inputs: []*tensor.Tensor{f32(2, 3), i64s(t, -1, -1)}},
		{name: "reshape count", op: "Reshape", inputs: []*tensor.Tensor{f32(2, 3), i64s(t, 4, 2)}},
		{name: "reshape zero past rank", op: "Reshape", inputs: []*tensor.Tensor{f32(6), i64s(t, 6, 0)}},
		{name: "reshape allowzero with -1", op: "Reshape", opset: 14, attrs: map[string]ops.Attr{"allowzero": ai(1)}, inputs: []*tensor.Tensor{f32(2, 3), i64s(t, 0, -1)}},
		{name: "squeeze non-1 axis", op: "Squeeze", inputs: []*tensor.Tensor{f32(2, 1), i64s(t, 0)}},
		{name: "squeeze axes attr at 13", op: "Squeeze", attrs: map[string]ops.Attr{"axes": ais(1)}, inputs: []*tensor.Tensor{f32(2, 1), i64s(t, 0)}},
		{name: "unsqueeze repeated axis", op: "Unsqueeze", inputs: []*tensor.Tensor{f32(2), i64s(t, 0, 0)}},
		{name: "unsqueeze no axes", op: "Unsqueeze", opset: 11, inputs: []*tensor.Tensor{f32(2)}},
		{name: "transpose repeated perm", op: "Transpose", attrs: map[string]ops.Attr{"perm": ais(0, 0)}, inputs: []*tensor.Tensor{f32(2, 3)}},
		{name: "transpose short perm", op: "Transpose", attrs: map[string]ops.Attr{"perm": ais(0)}, inputs: []*tensor.Tensor{f32(2, 3)}},
		{name: "concat shapes", op: "Concat", attrs: map[string]ops.Attr{"axis": ai(0)}, inputs: []*tensor.Tensor{f32(2, 3), f32(2, 2)}},
		{name: "concat no axis", op: "Concat", inputs: []*tensor.Tensor{f32(2, 3), f32(2, 3)}},
		{name: "concat types", op: "Concat", attrs: map[string]ops.Attr{"axis": ai(0)}, inputs: []*tensor.Tensor{f32(2), i64s(t, 1)}},
		{name: "split sizes", op: "Split", inputs: []*tensor.Tensor{f32(5), i64s(t, 2, 2)}, nout: 2},
		{name: "split uneven", op: "Split", inputs: []*tensor.Tensor{f32(5)}, nout: 2},
		{name: "split num_outputs mismatch", op: "Split", opset: 18, attrs: map[string]ops.Attr{"num_outputs": ai(3)}, inputs: []*tensor.Tensor{f32(5)}, nout: 2},
		{name: "slice step 0", op: "Slice", inputs: []*tensor.Tensor{f32(5), i64s(t, 0), i64s(t, 5), i64s(t, 0), i64s(t, 0)}},
		{name: "slice repeated axis", op: "Slice", inputs: []*tensor.Tensor{f32(5, 5), i64s(t, 0, 0), i64s(t, 5, 5), i64s(t, 0, 0)}},
		{name: "slice axis out of range", op: "Slice", inputs: []*tensor.Tensor{f32(5), i64s(t, 0), i64s(t, 5), i64s(t, 1)}},
		{name: "pad wrap before 19", op: "Pad", opset: 18, attrs: map[string]ops.Attr{"mode": as("wrap")}, inputs: []*tensor.Tensor{f32(3), i64s(t, 1, 1)}},
		{name: "pad reflect empty", op: "Pad", attrs: map[string]ops.Attr{"mode": as("reflect")}, inputs: []*tensor.Tensor{f32(0), i64s(t, 1, 1)}},
		{name: "pad crop too much", op: "Pad", inputs: []*tensor.Tensor{f32(3), i64s(t, -2, -2)}},
		{name: "pad count", op: "Pad", inputs: []*tensor.Tensor{f32(3, 3), i64s(t, 1, 1)}},
		{name: "pad mode", op: "Pad", attrs: map[string]ops.Attr{"mode": as("mirror")}, inputs: []*tensor.Tensor{f32(3), i64s(t, 1, 1)}},
		{name: "topk k too large", op: "TopK", inputs: []*tensor.Tensor{f32(3), i64s(t, 4)}, nout: 2},
		{name: "topk k negative", op: "TopK", inputs: []*tensor.Tensor{f32(3), i64s(t, -1)}, nout: 2},
		{name: "argmax empty axis", op: "ArgMax", inputs: []*tensor.Tensor{f32(0, 2)}},
		{name: "constant sparse", op: "Constant", attrs: map[string]ops.Attr{"sparse_value": {Type: ops.AttrSparseTensor}}},
		{name: "constant none", op: "Constant"},
		{name: "constant two", op: "Constant", attrs: map[string]ops.Attr{"value_int": ai(1), "value_float": af(1)}},
		{name: "constant value_int before 12", op: "Constant", opset: 11, attrs: map[string]ops.Attr{"value_int": ai(1)}},
		{name: "constantofshape negative", op: "ConstantOfShape", inputs: []*tensor.Tensor{i64s(t, 2, -1)}},
		{name: "tile negative", op: "Tile", inputs: []*tensor.Tensor{f32(2), i64s(t, -1)}},
		{name: "tile count", op: "Tile", inputs: []*tensor.Tensor{f32(2), i64s(t, 1, 1)}},
		{name: "expand incompatible", op: "Expand", inputs: []*tensor.Tensor{f32(3), i64s(t, 2)}},
		{name: "range delta 0", op: "Range", inputs: []*tensor.Tensor{tt(t, []int64{0}, []int{}...), tt(t, []int64{5}, []int{}...), tt(t, []int64{0}, []int{}...)}},
		{name: "cumsum axis", op: "CumSum", inputs: []*tensor.Tensor{f32(3), i64s(t, 1)}},
		{name: "reversesequence length", op: "ReverseSequence", inputs: []*tensor.Tensor{f32(3, 2), i64s(t, 4, 1)}},
		{name: "reversesequence axes", op: "ReverseSequence", attrs: map[string]ops.Attr{"batch_axis": ai(1), "time_axis": ai(1)}, inputs: []*tensor.Tensor{f32(3, 2), i64s(t, 1, 1)}},
		{name: "compress long condition", op: "Compress", attrs: map[string]ops.Attr{"axis": ai(0)}, inputs: []*tensor.Tensor{f32(2), tt(t, []bool{false, false, true})}},
		{name: "depthtospace channels", op: "DepthToSpace", attrs: map[string]ops.Attr{"blocksize": ai(2)}, inputs: []*tensor.Tensor{f32(1, 3, 2, 2)}},
		{name: "depthtospace mode", op: "DepthToSpace", attrs: map[string]ops.Attr{"blocksize": ai(2), "mode": as("XYZ")}, inputs: []*tensor.Tensor{f32(1, 4, 2, 2)}},
		{name: "spacetodepth spatial", op: "SpaceToDepth", attrs: map[string]ops.Attr{"blocksize": ai(2)}, inputs: []*tensor.Tensor{f32(1, 1, 3, 2)}},
		{name: "resize scales and sizes", op: "Resize", inputs: []*tensor.Tensor{f32(1, 1, 2, 2), nil, tt(t, []float32{1, 1, 2, 2}), i64s(t, 1, 1, 4, 4)}},
		{name: "resize neither", op: "Resize", inputs: []*tensor.Tensor{f32(1, 1, 2, 2), nil, nil, nil}},
		{name: "resize mode", op: "Resize", attrs: map[string]ops.Attr{"mode": as("area")}, inputs: []*tensor.Tensor{f32(1, 1, 2, 2), nil, tt(t, []float32{1, 1, 2, 2})}},
		{name: "resize negative scale", op: "Resize", inputs: []*tensor.Tensor{f32(1, 1, 2, 2), nil, tt(t, []float32{1, 1, -2, 2})}},
		{name: "resize scales count", op: "Resize", inputs: []*tensor.Tensor{f32(1, 1, 2, 2), nil, tt(t, []float32{2, 2})}},
		{name: "resize linear strings", op: "Resize", attrs: map[string]ops.Attr{"mode": as("linear")}, inputs: []*tensor.Tensor{tt(t, []string{"a", "b"}), nil, tt(t, []float32{2})}},
		{name: "trilu rank 1", op: "Trilu", opset: 14, inputs: []*tensor.Tensor{f32(3)}},
		{name: "eyelike rank 3", op: "EyeLike", inputs: []*tensor.Tensor{f32(2, 2, 2)}},
		{name: "flatten axis", op: "Flatten", attrs: map[string]ops.Attr{"axis": ai(3)}, inputs: []*tensor.Tensor{f32(2, 2)}},
		{name: "unique axis", op: "Unique", attrs: map[string]ops.Attr{"axis": ai(2)}, inputs: []*tensor.Tensor{f32(2, 2)}},
		{name: "attribute of wrong type", op: "Gather", attrs: map[string]ops.Attr{"axis": as("0")}, inputs: []*tensor.Tensor{f32(3), i64s(t, 0)}},
	}
	for _, c := range cases {
		if err := c.prepareSymbolic(); err != nil {
			t.Errorf("%s: symbolic prepare: %v", c.name, err)
		}
		for _, hide := range []bool{false, true} {
			_, err := c.run(hide, nil)
			if err == nil {
				t.Errorf("%s (values hidden: %v): no error", c.name, hide)
				continue
			}
			if msg := err.Error(); len(msg) >= 6 && msg[:6] == "PANIC:" {
				t.Errorf("%s (values hidden: %v): %v", c.name, hide, err)
				continue
			}
			if !errors.Is(err, ops.ErrInvalidNode) && !errors.Is(err, runtime.ErrUnsupported) && !errors.Is(err, ops.ErrUnknownOp) {
				t.Errorf("%s: error %v wraps neither ErrInvalidNode nor ErrUnsupported", c.name, err)
			}
		}
	}
	// sparse_value is reported as unsupported, not as a malformed node.
	_, err := shapeCase{op: "Constant", attrs: map[string]ops.Attr{"sparse_value": {Type: ops.AttrSparseTensor}}}.run(false, nil)
	if !errors.Is(err, runtime.ErrUnsupported) {
		t.Errorf("Constant sparse_value: got %v, want ErrUnsupported", err)
	}
}

// shapeCheck compares an output's type, shape and contents.
func shapeCheck[T interface {
	tensor.Element
	comparable
}](t *testing.T, what string, got *tensor.Tensor, shape []int, want []T) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no output", what)
		return
	}
	if !got.Shape().Equal(shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), shape)
		return
	}
	v, err := tensor.ToSlice[T](got)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	for i := range want {
		if v[i] != want[i] && !(isNaN(v[i]) && isNaN(want[i])) {
			t.Errorf("%s: got %v, want %v", what, v, want)
			return
		}
	}
}

func isNaN[T comparable](v T) bool {
	switch x := any(v).(type) {
	case float32:
		return x != x
	case float64:
		return x != x
	}
	return false
}

// runBoth runs c with value inputs known and unknown at planning time,
// inline and on a worker pool, and checks that all four agree.
func runBoth(t *testing.T, c shapeCase) []*tensor.Tensor {
	t.Helper()
	if err := c.prepareSymbolic(); err != nil {
		t.Fatalf("%s: symbolic prepare: %v", c.name, err)
	}
	w := cpu.NewWorkers(4)
	defer w.Close()
	var first []*tensor.Tensor
	for _, hide := range []bool{false, true} {
		for _, pool := range []*cpu.Workers{nil, w} {
			outs, err := c.run(hide, pool)
			if err != nil {
				t.Fatalf("%s (values hidden: %v): %v", c.name, hide, err)
			}
			if first == nil {
				first = outs
				continue
			}
			for i := range outs {
				if !outs[i].Shape().Equal(first[i].Shape()) || fmt.Sprint(outs[i]) != fmt.Sprint(first[i]) {
					t.Fatalf("%s: runs disagree on output %d: %v vs %v", c.name, i, outs[i], first[i])
				}
			}
		}
	}
	return first
}

func TestShapeValues(t *testing.T) {
	nan := float32(math.NaN())

	y := runBoth(t, shapeCase{name: "gather negative", op: "Gather", attrs: map[string]ops.Attr{"axis": ai(1)},
		inputs: []*tensor.Tensor{tt(t, []int32{1, 2, 3, 4, 5, 6}, 2, 3), tt(t, []int32{-1, 0}, 2)}})
	shapeCheck(t, "gather negative", y[0], []int{2, 2}, []int32{3, 1, 6, 4})

	y = runBoth(t, shapeCase{name: "gather strings", op: "Gather",
		inputs: []*tensor.Tensor{tt(t, []string{"a", "b", "c"}), tt(t, []int64{2, 0, 2}, 3, 1)}})
	shapeCheck(t, "gather strings", y[0], []int{3, 1}, []string{"c", "a", "c"})

	y = runBoth(t, shapeCase{name: "slice negative step", op: "Slice",
		inputs: []*tensor.Tensor{tt(t, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), i64s(t, math.MaxInt64), i64s(t, math.MinInt64), i64s(t, 0), i64s(t, -3)}})
	shapeCheck(t, "slice negative step", y[0], []int{4}, []int64{9, 6, 3, 0})

	y = runBoth(t, shapeCase{name: "slice huge step", op: "Slice",
		inputs: []*tensor.Tensor{tt(t, []int64{0, 1, 2, 3, 4, 5}, 2, 3), i64s(t, 1), i64s(t, 100), i64s(t, -1), i64s(t, math.MaxInt64)}})
	shapeCheck(t, "slice huge step", y[0], []int{2, 1}, []int64{1, 4})

	y = runBoth(t, shapeCase{name: "slice-1 attrs", op: "Slice", opset: 1,
		attrs:  map[string]ops.Attr{"starts": ais(1, 0), "ends": ais(2, -1), "axes": ais(0, 1)},
		inputs: []*tensor.Tensor{tt(t, []int64{0, 1, 2, 3, 4, 5}, 2, 3)}})
	shapeCheck(t, "slice-1 attrs", y[0], []int{1, 2}, []int64{3, 4})

	y = runBoth(t, shapeCase{name: "pad wrap", op: "Pad", opset: 19, attrs: map[string]ops.Attr{"mode": as("wrap")},
		inputs: []*tensor.Tensor{tt(t, []float32{1, 2, 3}), i64s(t, 2, 4)}})
	shapeCheck(t, "pad wrap", y[0], []int{9}, []float32{2, 3, 1, 2, 3, 1, 2, 3, 1})

	y = runBoth(t, shapeCase{name: "pad reflect crop", op: "Pad", attrs: map[string]ops.Attr{"mode": as("reflect")},
		inputs: []*tensor.Tensor{tt(t, []float32{1, 2, 3, 4}), i64s(t, -1, 2)}})
	shapeCheck(t, "pad reflect crop", y[0], []int{5}, []float32{2, 3, 4, 3, 2})

	y = runBoth(t, shapeCase{name: "pad axes", op: "Pad", opset: 18,
		inputs: []*tensor.Tensor{tt(t, []int32{1, 2, 3, 4}, 2, 2), i64s(t, 1, 0), tt(t, []int32{9}, []int{}...), i64s(t, -1)}})
	shapeCheck(t, "pad axes", y[0], []int{2, 3}, []int32{9, 1, 2, 9, 3, 4})

	y = runBoth(t, shapeCase{name: "pad-2 edge bool", op: "Pad", opset: 2, attrs: map[string]ops.Attr{"pads": ais(0, 1, 0, 1), "mode": as("edge")},
		inputs: []*tensor.Tensor{tt(t, []bool{true, false}, 1, 2)}})
	shapeCheck(t, "pad-2 edge bool", y[0], []int{1, 4}, []bool{true, true, false, false})

	y = runBoth(t, shapeCase{name: "split-18 uneven", op: "Split", opset: 18, attrs: map[string]ops.Attr{"num_outputs": ai(3)},
		inputs: []*tensor.Tensor{tt(t, []int64{1, 2, 3, 4, 5, 6, 7})}, nout: 3})
	shapeCheck(t, "split-18 part 0", y[0], []int{3}, []int64{1, 2, 3})
	shapeCheck(t, "split-18 part 2", y[2], []int{1}, []int64{7})

	y = runBoth(t, shapeCase{name: "topk ties", op: "TopK",
		inputs: []*tensor.Tensor{tt(t, []float32{1, 3, 3, nan, 2, 3}), i64s(t, 4)}, nout: 2})
	shapeCheck(t, "topk ties values", y[0], []int{4}, []float32{nan, 3, 3, 3})
	shapeCheck(t, "topk ties indices", y[1], []int{4}, []int64{3, 1, 2, 5})

	y = runBoth(t, shapeCase{name: "topk smallest", op: "TopK", attrs: map[string]ops.Attr{"largest": ai(0), "axis": ai(0)},
		inputs: []*tensor.Tensor{tt(t, []int32{5, 1, 1, 1, 3, 0}, 3, 2), i64s(t, 2)}, nout: 2})
	shapeCheck(t, "topk smallest values", y[0], []int{2, 2}, []int32{1, 0, 3, 1})
	shapeCheck(t, "topk smallest indices", y[1], []int{2, 2}, []int64{1, 2, 2, 0})

	y = runBoth(t, shapeCase{name: "topk-1 float16", op: "TopK", opset: 1, attrs: map[string]ops.Attr{"k": ai(1)},
		inputs: []*tensor.Tensor{tt(t, []tensor.F16{tensor.Float16FromFloat32(1), tensor.Float16FromFloat32(-2)})}, nout: 2})
	shapeCheck(t, "topk-1 float16", y[1], []int{1}, []int64{0})

	y = runBoth(t, shapeCase{name: "argmax nan last", op: "ArgMax", opset: 12, attrs: map[string]ops.Attr{"select_last_index": ai(1), "keepdims": ai(0)},
		inputs: []*tensor.Tensor{tt(t, []float32{1, 7, 7, 2})}})
	shapeCheck(t, "argmax last", y[0], []int{}, []int64{2})

	y = runBoth(t, shapeCase{name: "argmin nan", op: "ArgMin", inputs: []*tensor.Tensor{tt(t, []float32{1, nan, -7, nan})}})
	shapeCheck(t, "argmin nan", y[0], []int{1}, []int64{1})

	y = runBoth(t, shapeCase{name: "unique strings unsorted", op: "Unique", attrs: map[string]ops.Attr{"sorted": ai(0)},
		inputs: []*tensor.Tensor{tt(t, []string{"b", "a", "b", "c", "a"})}, nout: 4})
	shapeCheck(t, "unique Y", y[0], []int{3}, []string{"b", "a", "c"})
	shapeCheck(t, "unique indices", y[1], []int{3}, []int64{0, 1, 3})
	shapeCheck(t, "unique inverse", y[2], []int{5}, []int64{0, 1, 0, 2, 1})
	shapeCheck(t, "unique counts", y[3], []int{3}, []int64{2, 2, 1})

	y = runBoth(t, shapeCase{name: "unique axis", op: "Unique", attrs: map[string]ops.Attr{"axis": ai(1)},
		inputs: []*tensor.Tensor{tt(t, []int64{2, 1, 2, 0, 3, 0}, 2, 3)}, nout: 4})
	shapeCheck(t, "unique axis Y", y[0], []int{2, 2}, []int64{1, 2, 3, 0})
	shapeCheck(t, "unique axis inverse", y[2], []int{3}, []int64{1, 0, 1})

	y = runBoth(t, shapeCase{name: "transpose strings", op: "Transpose", attrs: map[string]ops.Attr{"perm": ais(1, 0)},
		inputs: []*tensor.Tensor{tt(t, []string{"a", "b", "c", "d", "e", "f"}, 2, 3)}})
	shapeCheck(t, "transpose strings", y[0], []int{3, 2}, []string{"a", "d", "b", "e", "c", "f"})

	y = runBoth(t, shapeCase{name: "shape slice", op: "Shape", opset: 15, attrs: map[string]ops.Attr{"start": ai(-2), "end": ai(100)},
		inputs: []*tensor.Tensor{tt(t, make([]float32, 24), 2, 3, 4)}})
	shapeCheck(t, "shape slice", y[0], []int{2}, []int64{3, 4})

	y = runBoth(t, shapeCase{name: "scatternd max", op: "ScatterND", opset: 18, attrs: map[string]ops.Attr{"reduction": as("max")},
		inputs: []*tensor.Tensor{tt(t, []float32{1, 5, 3}), tt(t, []int64{1, 1, -1}, 3, 1), tt(t, []float32{7, 2, 0})}})
	shapeCheck(t, "scatternd max", y[0], []int{3}, []float32{1, 7, 3})

	y = runBoth(t, shapeCase{name: "scatterelements mul", op: "ScatterElements", opset: 16, attrs: map[string]ops.Attr{"reduction": as("mul"), "axis": ai(1)},
		inputs: []*tensor.Tensor{tt(t, []int32{1, 2, 3, 4}, 2, 2), tt(t, []int64{1, 1}, 2, 1), tt(t, []int32{3, 5}, 2, 1)}})
	shapeCheck(t, "scatterelements mul", y[0], []int{2, 2}, []int32{1, 6, 3, 20})

	y = runBoth(t, shapeCase{name: "nonzero negative zero", op: "NonZero",
		inputs: []*tensor.Tensor{tt(t, []float32{float32(math.Copysign(0, -1)), 1, 0, 2}, 2, 2)}})
	shapeCheck(t, "nonzero", y[0], []int{2, 2}, []int64{0, 1, 1, 1})

	y = runBoth(t, shapeCase{name: "onehot out of range", op: "OneHot", attrs: map[string]ops.Attr{"axis": ai(0)},
		inputs: []*tensor.Tensor{i64s(t, 1, -1, 5), tt(t, []float32{3}, []int{}...), tt(t, []int32{0, 1})}})
	shapeCheck(t, "onehot", y[0], []int{3, 3}, []int32{0, 0, 0, 1, 0, 0, 0, 1, 0})

	y = runBoth(t, shapeCase{name: "resize antialias", op: "Resize", opset: 18, attrs: map[string]ops.Attr{"mode": as("linear"), "antialias": ai(1)},
		inputs: []*tensor.Tensor{tt(t, []float32{1, 2, 3, 4}), nil, tt(t, []float32{0.5})}})
	shapeCheck(t, "resize antialias", y[0], []int{2}, []float32{1.625, 3.375})

	y = runBoth(t, shapeCase{name: "resize aspect", op: "Resize", opset: 18,
		attrs:  map[string]ops.Attr{"axes": ais(2, 3), "keep_aspect_ratio_policy": as("not_larger")},
		inputs: []*tensor.Tensor{tt(t, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 1, 1, 2, 4), nil, nil, i64s(t, 3, 3)}})
	if got := y[0].Shape(); !got.Equal(tensor.Shape{1, 1, 2, 3}) {
		t.Errorf("resize aspect: shape %v, want [1 1 2 3]", got)
	}

	y = runBoth(t, shapeCase{name: "resize uint8 linear", op: "Resize", attrs: map[string]ops.Attr{"mode": as("linear"), "coordinate_transformation_mode": as("align_corners")},
		inputs: []*tensor.Tensor{tt(t, []uint8{0, 255}), nil, nil, i64s(t, 3)}})
	shapeCheck(t, "resize uint8", y[0], []int{3}, []uint8{0, 128, 255})

	y = runBoth(t, shapeCase{name: "resize nearest strings", op: "Resize", opset: 13,
		inputs: []*tensor.Tensor{tt(t, []string{"a", "b"}), nil, tt(t, []float32{2})}})
	shapeCheck(t, "resize nearest strings", y[0], []int{4}, []string{"a", "a", "b", "b"})

	y = runBoth(t, shapeCase{name: "upsample-7", op: "Upsample", opset: 7, attrs: map[string]ops.Attr{"scales": afs(1, 3)},
		inputs: []*tensor.Tensor{tt(t, []int64{1, 2}, 1, 2)}})
	shapeCheck(t, "upsample-7", y[0], []int{1, 6}, []int64{1, 1, 1, 2, 2, 2})

	y = runBoth(t, shapeCase{name: "tile-1", op: "Tile", opset: 1,
		inputs: []*tensor.Tensor{tt(t, []int64{1, 2}, 1, 2), tt(t, []int64{2}, []int{}...), tt(t, []int64{0}, []int{}...)}})
	shapeCheck(t, "tile-1", y[0], []int{2, 2}, []int64{1, 2, 1, 2})

	y = runBoth(t, shapeCase{name: "cumsum reverse exclusive", op: "CumSum", attrs: map[string]ops.Attr{"reverse": ai(1), "exclusive": ai(1)},
		inputs: []*tensor.Tensor{tt(t, []int32{1, 2, 3, 4, 5, 6}, 2, 3), tt(t, []int32{1}, []int{}...)}})
	shapeCheck(t, "cumsum", y[0], []int{2, 3}, []int32{5, 3, 0, 11, 6, 0})

	y = runBoth(t, shapeCase{name: "constant strings", op: "Constant", opset: 12, attrs: map[string]ops.Attr{"value_strings": {Type: ops.AttrStrings, Strings: []string{"x", "y"}}}})
	shapeCheck(t, "constant strings", y[0], []int{2}, []string{"x", "y"})

	y = runBoth(t, shapeCase{name: "reshape allowzero", op: "Reshape", opset: 14, attrs: map[string]ops.Attr{"allowzero": ai(1)},
		inputs: []*tensor.Tensor{tt(t, []float32{}, 0, 3), i64s(t, 3, 0)}})
	shapeCheck(t, "reshape allowzero", y[0], []int{3, 0}, []float32{})

	y = runBoth(t, shapeCase{name: "squeeze-1 attr", op: "Squeeze", opset: 1, attrs: map[string]ops.Attr{"axes": ais(0)},
		inputs: []*tensor.Tensor{tt(t, []float32{1, 2}, 1, 2, 1)}})
	shapeCheck(t, "squeeze-1", y[0], []int{2, 1}, []float32{1, 2})

	y = runBoth(t, shapeCase{name: "trilu lower k", op: "Trilu", opset: 14, attrs: map[string]ops.Attr{"upper": ai(0)},
		inputs: []*tensor.Tensor{tt(t, []int64{1, 2, 3, 4, 5, 6}, 2, 3), i64s(t, -1)}})
	shapeCheck(t, "trilu lower", y[0], []int{2, 3}, []int64{0, 0, 0, 4, 0, 0})
}

// TestShapeTransposeLarge checks the strided copy against a direct
// computation on shapes big enough to be split across workers.
func TestShapeTransposeLarge(t *testing.T) {
	for _, tc := range []struct {
		dims  []int
		perms [][]int64
	}{
		{[]int{3, 37, 5, 41}, [][]int64{{3, 1, 0, 2}, {0, 2, 1, 3}, {2, 3, 0, 1}, {3, 2, 1, 0}}},
		{[]int{70, 45}, [][]int64{{1, 0}}},
		{[]int{2, 33, 9, 65}, [][]int64{{0, 3, 1, 2}, {3, 0, 2, 1}}},
	} {
		dims := tc.dims
		n := 1
		for _, d := range dims {
			n *= d
		}
		data := make([]int32, n)
		for i := range data {
			data[i] = int32(i)
		}
		x := tt(t, data, dims...)
		st := tensor.Shape(dims).Strides()
		r := len(dims)
		for _, p := range tc.perms {
			y := runBoth(t, shapeCase{name: fmt.Sprint("transpose ", p), op: "Transpose", attrs: map[string]ops.Attr{"perm": ais(p...)}, inputs: []*tensor.Tensor{x}})
			got, _ := tensor.ToSlice[int32](y[0])
			os := y[0].Shape()
			idx := make([]int, r)
			for i, v := range got {
				rem := i
				for d := r - 1; d >= 0; d-- {
					idx[d] = rem % os[d]
					rem /= os[d]
				}
				src := 0
				for d := range r {
					src += idx[d] * st[p[d]]
				}
				if v != int32(src) {
					t.Fatalf("dims %v perm %v: element %d is %d, want %d", dims, p, i, v, src)
				}
			}
		}
	}
}

// Transpose is a view exactly when its permutation keeps the dimensions
// larger than 1 in order, and the kernel, which the engine may skip,
// agrees with the view: the same elements in the same order.
func TestTransposeUnitMoveIsView(t *testing.T) {
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	op, err := reg.Lookup("", "Transpose", 13)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		shape tensor.Shape
		perm  []int64
		view  bool
	}{
		{tensor.Shape{1, 128, 8}, []int64{1, 0, 2}, true},
		{tensor.Shape{4, 1, 1, 3}, []int64{0, 2, 3, 1}, true},
		{tensor.Shape{2, 1, 3}, []int64{2, 1, 0}, false},
		{tensor.Shape{2, 3}, []int64{1, 0}, false},
		{tensor.Shape{-1, 1, 3}, []int64{1, 0, 2}, false},
	} {
		n := &ops.Node{OpType: "Transpose", Opset: 13, Attrs: ops.NewAttrs(map[string]ops.Attr{"perm": {Type: ops.AttrInts, Ints: c.perm}}),
			Inputs: []ops.Type{ops.TensorType(tensor.Float32, c.shape)}, NumOutputs: 1}
		plan, err := ops.PrepareOp(op, n)
		if err != nil {
			t.Fatal(err)
		}
		if plan.View != c.view {
			t.Errorf("%v perm %v: view %v, want %v", c.shape, c.perm, plan.View, c.view)
		}
		if !c.view {
			continue
		}
		x, _ := tensor.New(tensor.Float32, c.shape)
		xv, _ := tensor.View[float32](x)
		for i := range xv {
			xv[i] = float32(i)
		}
		out := []*tensor.Tensor{nil}
		out[0], _ = tensor.New(tensor.Float32, plan.Outputs[0].Shape)
		if err := plan.Kernel(nil, []*tensor.Tensor{x}, out); err != nil {
			t.Fatal(err)
		}
		yv, _ := tensor.View[float32](out[0])
		for i := range yv {
			if yv[i] != xv[i] {
				t.Fatalf("%v perm %v: y[%d] = %v, want %v", c.shape, c.perm, i, yv[i], xv[i])
			}
		}
	}
}
