package standard

import (
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace,
// SpaceToDepth, Trilu and ReverseSequence: element movement.

func prepareTranspose(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	perm64 := n.Attrs.Ints("perm", nil)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	perm := make([]int, r)
	if perm64 == nil {
		for i := range perm {
			perm[i] = r - 1 - i
		}
	} else {
		if len(perm64) != r {
			return nil, n.Errorf("perm %v has %d entries for rank %d", perm64, len(perm64), r)
		}
		p, err := shapeNormAxes(n, perm64, r)
		if err != nil {
			return nil, err
		}
		perm = p
	}
	outShape := make(tensor.Shape, r)
	for i, p := range perm {
		outShape[i] = x.Shape[p]
	}
	k, ok := shapeStridedKernel(x.DType, func(in []*tensor.Tensor) (tensor.Shape, []int, []int, int, error) {
		s := in[0].Shape()
		if len(s) != r {
			return nil, nil, nil, 0, errorf("input rank %d, planned %d", len(s), r)
		}
		st := s.Strides()
		dims := make([]int, r)
		strides := make([]int, r)
		for i, p := range perm {
			dims[i] = s[p]
			strides[i] = st[p]
		}
		return tensor.Shape(dims), dims, strides, 0, nil
	})
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	// A permutation that only moves dimensions of size 1 keeps every
	// element where it is ([1, 128, 256] to [128, 1, 256]): a view.
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k, View: x.Shape.PermutesInPlace(perm)}, nil
}

func prepareConcat(n *ops.Node) (*ops.Plan, error) {
	first, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	var axis int64
	if n.Opset < 4 {
		axis = n.Attrs.Int("axis", 1)
	} else {
		n.Attrs.Require("axis")
		axis = n.Attrs.Int("axis", 0)
	}
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	r := len(first.Shape)
	ax, err := normAxis(n, axis, r)
	if err != nil {
		return nil, err
	}
	outShape := first.Shape.Clone()
	outShape[ax] = 0
	for i := range n.Inputs {
		t, err := shapeInput(n, i)
		if err != nil {
			return nil, err
		}
		if t.DType != first.DType {
			return nil, n.Errorf("input %d has type %s, input 0 has %s", i, t.DType, first.DType)
		}
		if len(t.Shape) != r {
			return nil, n.Errorf("input %d has rank %d, input 0 has %d", i, len(t.Shape), r)
		}
		for d := range r {
			switch {
			case d == ax:
				if t.Shape[d] < 0 || outShape[ax] < 0 {
					outShape[ax] = -1
				} else {
					outShape[ax] += t.Shape[d]
				}
			case t.Shape[d] >= 0 && outShape[d] >= 0 && t.Shape[d] != outShape[d]:
				return nil, n.Errorf("input %d has shape %v, input 0 has %v: only axis %d may differ", i, t.Shape, first.Shape, ax)
			case outShape[d] < 0:
				outShape[d] = t.Shape[d]
			}
		}
	}
	k, ok := shapePick(first.DType, shapeConcatK[shapeW1](ax), shapeConcatK[shapeW2](ax), shapeConcatK[shapeW4](ax),
		shapeConcatK[shapeW8](ax), shapeConcatK[shapeW16](ax), shapeConcatK[string](ax))
	if !ok {
		return nil, n.Errorf("unsupported type %s", first.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(first.DType, outShape)}, Kernel: k}, nil
}

func shapeConcatK[T any](ax int) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		outShape := in[0].Shape()
		outShape[ax] = 0
		for i, t := range in {
			s := t.Shape()
			if len(s) != len(outShape) {
				return errorf("input %d has rank %d", i, len(s))
			}
			for d := range s {
				if d != ax && s[d] != outShape[d] {
					return errorf("input %d has shape %v: only axis %d may differ", i, s, ax)
				}
			}
			outShape[ax] += s[ax]
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), outShape)
		if err != nil {
			return err
		}
		outer := shapeProd(outShape, 0, ax)
		rowOut := shapeProd(outShape, ax, len(outShape))
		off := 0
		for _, t := range in {
			x, err := shapeElems[T](t)
			if err != nil {
				return err
			}
			row := t.Len()
			if outer > 0 {
				row /= outer
			}
			if row == 0 {
				continue
			}
			env.ParallelFor(outer, max(1, 16384/row), func(lo, hi int) {
				for o := lo; o < hi; o++ {
					copy(y[o*rowOut+off:o*rowOut+off+row], x[o*row:(o+1)*row])
				}
			})
			off += row
		}
		return nil
	}
}

// shapeSplitSizes works out the part sizes of Split along a dim of size
// dim: explicit sizes, num_outputs (ceil-sized parts, opset 18) or equal parts.
func shapeSplitSizes(dim int, split []int64, haveSplit bool, numOutputs int, ceilParts bool) ([]int, error) {
	sizes := make([]int, numOutputs)
	if haveSplit {
		if len(split) != numOutputs {
			return nil, errorf("split has %d entries for %d outputs", len(split), numOutputs)
		}
		sum := 0
		for i, s := range split {
			if s < 0 || s > math.MaxInt32*(1<<20) {
				return nil, errorf("split size %d is negative", s)
			}
			sizes[i] = int(s)
			sum += int(s)
		}
		if dim >= 0 && sum != dim {
			return nil, errorf("split sizes %v sum to %d, axis has %d", split, sum, dim)
		}
		return sizes, nil
	}
	if dim < 0 {
		for i := range sizes {
			sizes[i] = -1
		}
		return sizes, nil
	}
	if ceilParts {
		part := (dim + numOutputs - 1) / numOutputs
		left := dim
		for i := range sizes {
			sizes[i] = min(part, left)
			left -= sizes[i]
		}
		return sizes, nil
	}
	if dim%numOutputs != 0 {
		return nil, errorf("cannot split %d into %d equal parts", dim, numOutputs)
	}
	for i := range sizes {
		sizes[i] = dim / numOutputs
	}
	return sizes, nil
}

func prepareSplit(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	axis := a.Int("axis", 0)
	var (
		split     []int64
		haveSplit bool
		known     = true
	)
	switch {
	case n.Opset < 13:
		split = a.Ints("split", nil)
		haveSplit = a.Has("split")
		if n.Opset < 2 && n.Input(1).Present() {
			haveSplit = true
			split, known, err = shapeIntsInput(n, 1)
		} else if len(n.Inputs) > 1 {
			return nil, n.Errorf("takes one input before opset 13")
		}
	default:
		if n.Input(1).Present() {
			haveSplit = true
			split, known, err = shapeIntsInput(n, 1)
		}
	}
	if err != nil {
		return nil, err
	}
	numOutputs := n.NumOutputs
	ceilParts := false
	if n.Opset >= 18 && a.Has("num_outputs") {
		if haveSplit {
			return nil, n.Errorf("give either split or num_outputs, not both")
		}
		if no := a.Int("num_outputs", 0); no != int64(n.NumOutputs) {
			return nil, n.Errorf("num_outputs is %d, the node has %d outputs", no, n.NumOutputs)
		}
		ceilParts = true
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	ax, err := normAxis(n, axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	outs := make([]ops.Type, numOutputs)
	var sizes []int
	if known {
		if sizes, err = shapeSplitSizes(x.Shape[ax], split, haveSplit, numOutputs, ceilParts); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	for i := range outs {
		s := x.Shape.Clone()
		s[ax] = -1
		if sizes != nil {
			s[ax] = sizes[i]
		}
		outs[i] = ops.TensorType(x.DType, s)
	}
	fixed := split
	k, ok := shapePick(x.DType, shapeSplitK[shapeW1](ax), shapeSplitK[shapeW2](ax), shapeSplitK[shapeW4](ax),
		shapeSplitK[shapeW8](ax), shapeSplitK[shapeW16](ax), shapeSplitK[string](ax))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	kern := func(env *ops.Env, in, out []*tensor.Tensor) error {
		sp := fixed
		if len(in) > 1 && in[1] != nil {
			v, err := intsOf(in[1])
			if err != nil {
				return err
			}
			sp = v
		}
		sz, err := shapeSplitSizes(in[0].Shape()[ax], sp, haveSplit, numOutputs, ceilParts)
		if err != nil {
			return err
		}
		return k(env, []*tensor.Tensor{in[0], shapeSizesTensor(sz)}, out)
	}
	return &ops.Plan{Outputs: outs, Kernel: kern}, nil
}

// shapeSizesTensor passes part sizes to a split kernel as an int64 tensor.
func shapeSizesTensor(sizes []int) *tensor.Tensor {
	v := make([]int64, len(sizes))
	for i, s := range sizes {
		v[i] = int64(s)
	}
	t, _ := tensor.FromSlice(v, len(v))
	return t
}

// shapeSplitK splits in[0] along ax into parts of the sizes held by in[1].
func shapeSplitK[T any](ax int) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		sizes, err := intsOf(in[1])
		if err != nil {
			return err
		}
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		s := in[0].Shape()
		outer := shapeProd(s, 0, ax)
		inner := shapeProd(s, ax+1, len(s))
		rowIn := s[ax] * inner
		off := 0
		for i, sz := range sizes {
			os := s.Clone()
			os[ax] = int(sz)
			y, err := shapeOutput[T](env, out, i, in[0].DType(), os)
			if err != nil {
				return err
			}
			row := int(sz) * inner
			if row > 0 {
				env.ParallelFor(outer, max(1, 16384/row), func(lo, hi int) {
					for o := lo; o < hi; o++ {
						copy(y[o*row:(o+1)*row], x[o*rowIn+off:o*rowIn+off+row])
					}
				})
			}
			off += row
		}
		return nil
	}
}

// shapeSliceSpec is a Slice request: per listed axis, start, end, step.
type shapeSliceSpec struct {
	starts, ends, axes, steps []int64
}

// view resolves the spec against a shape: the output shape, and the
// per-dim start and step in the input.
func (sp shapeSliceSpec) view(s tensor.Shape) (outShape tensor.Shape, begin, step []int, err error) {
	r := len(s)
	if len(sp.starts) != len(sp.ends) {
		return nil, nil, nil, errorf("%d starts and %d ends", len(sp.starts), len(sp.ends))
	}
	axes := sp.axes
	if axes == nil {
		axes = make([]int64, len(sp.starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if len(axes) != len(sp.starts) || (sp.steps != nil && len(sp.steps) != len(sp.starts)) {
		return nil, nil, nil, errorf("starts, ends, axes and steps differ in length")
	}
	outShape = s.Clone()
	begin = make([]int, r)
	step = make([]int, r)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i, a := range axes {
		if a < -int64(r) || a >= int64(r) {
			return nil, nil, nil, errorf("axis %d out of range for rank %d", a, r)
		}
		if a < 0 {
			a += int64(r)
		}
		if seen[a] {
			return nil, nil, nil, errorf("axis %d repeated", a)
		}
		seen[a] = true
		st := int64(1)
		if sp.steps != nil {
			st = sp.steps[i]
		}
		if st == 0 {
			return nil, nil, nil, errorf("step 0 on axis %d", a)
		}
		dim := int64(s[a])
		if dim < 0 {
			outShape[a] = -1
			continue
		}
		// A step beyond the dim takes one element: clamping it keeps the
		// arithmetic below from overflowing.
		st = max(min(st, dim+1), -dim-1)
		b, e := sp.starts[i], sp.ends[i]
		if b < 0 {
			b += dim
		}
		if e < 0 {
			e += dim
		}
		var cnt int64
		if st > 0 {
			b = min(max(b, 0), dim)
			e = min(max(e, 0), dim)
			if e > b {
				cnt = (e-b-1)/st + 1
			}
		} else {
			b = min(max(b, 0), dim-1)
			e = min(max(e, -1), dim-1)
			if b > e {
				cnt = (b-e-1)/(-st) + 1
			}
		}
		outShape[a] = int(cnt)
		begin[a] = int(b)
		step[a] = int(st)
	}
	return outShape, begin, step, nil
}

func prepareSlice(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	var sp shapeSliceSpec
	known := true
	if n.Opset < 10 {
		if len(n.Inputs) > 1 {
			return nil, n.Errorf("takes one input before opset 10")
		}
		n.Attrs.Require("starts", "ends")
		sp.starts = n.Attrs.Ints("starts", nil)
		sp.ends = n.Attrs.Ints("ends", nil)
		sp.axes = n.Attrs.Ints("axes", nil)
		if err := n.Attrs.Err(); err != nil {
			return nil, err
		}
	} else {
		if len(n.Inputs) < 3 {
			return nil, n.Errorf("starts and ends are required")
		}
		lists := []*[]int64{&sp.starts, &sp.ends, &sp.axes, &sp.steps}
		for i, l := range lists {
			if !n.Input(i + 1).Present() {
				if i < 2 {
					return nil, n.Errorf("input %d is required", i+1)
				}
				continue
			}
			v, ok, err := shapeIntsInput(n, i+1)
			if err != nil {
				return nil, err
			}
			if !ok {
				known = false
				continue
			}
			if v == nil {
				v = []int64{}
			}
			*l = v
		}
	}
	outShape := shapeUnknown(len(x.Shape))
	if known {
		if outShape, _, _, err = sp.view(x.Shape); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	fixed := sp
	k, ok := shapeStridedKernel(x.DType, func(in []*tensor.Tensor) (tensor.Shape, []int, []int, int, error) {
		sp := fixed
		if len(in) > 1 {
			lists := []*[]int64{&sp.starts, &sp.ends, &sp.axes, &sp.steps}
			for i, l := range lists {
				if i+1 < len(in) && in[i+1] != nil {
					v, err := intsOf(in[i+1])
					if err != nil {
						return nil, nil, nil, 0, err
					}
					*l = v
				}
			}
		}
		s := in[0].Shape()
		outShape, begin, step, err := sp.view(s)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		st := s.Strides()
		strides := make([]int, len(s))
		off := 0
		for i := range s {
			strides[i] = st[i] * step[i]
			if outShape[i] > 0 {
				off += begin[i] * st[i]
			}
		}
		return outShape, outShape, strides, off, nil
	})
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

func prepareExpand(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	st := n.Input(1)
	if !st.Present() || st.DType != tensor.Int64 || shapeVecLen(st) < 0 {
		return nil, n.Errorf("shape must be a 1-D int64 tensor of known length, got %s", st)
	}
	dims, known, err := shapeIntsInput(n, 1)
	if err != nil {
		return nil, err
	}
	expandShape := func(in tensor.Shape, dims []int64) (tensor.Shape, error) {
		s := make(tensor.Shape, len(dims))
		for i, d := range dims {
			if d < 0 || d > math.MaxInt32*(1<<20) {
				return nil, errorf("shape %v has a negative dimension", dims)
			}
			s[i] = int(d)
		}
		return broadcastShapes(in, s)
	}
	outShape := shapeUnknown(max(len(x.Shape), st.Shape[0]))
	if known {
		if outShape, err = expandShape(x.Shape, dims); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	k, ok := shapeStridedKernel(x.DType, func(in []*tensor.Tensor) (tensor.Shape, []int, []int, int, error) {
		d, err := intsOf(in[1])
		if err != nil {
			return nil, nil, nil, 0, err
		}
		s := in[0].Shape()
		os, err := expandShape(s, d)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		return os, os, shapeBcastStrides(s, os), 0, nil
	})
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

// shapeBcastStrides gives the strides of in viewed broadcast to out: 0
// along broadcast dims.
func shapeBcastStrides(in, out tensor.Shape) []int {
	st := make([]int, len(out))
	ist := in.Strides()
	off := len(out) - len(in)
	for i := range in {
		if in[i] != 1 || out[off+i] == 1 {
			st[off+i] = ist[i]
		}
	}
	return st
}

func prepareTile(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	// repeatsOf computes per-dim repeats from the run's inputs: Tile-1
	// takes a count (tiles) and an axis, later versions one repeat per dim.
	repeatsOf := func(rep, axis []int64) ([]int, error) {
		reps := make([]int, r)
		for i := range reps {
			reps[i] = 1
		}
		if n.Opset < 6 {
			if len(rep) != 1 || len(axis) != 1 {
				return nil, errorf("tiles and axis must be scalars")
			}
			a := axis[0]
			if a < 0 {
				a += int64(r)
			}
			if a < 0 || a >= int64(r) {
				return nil, errorf("axis %d out of range", axis[0])
			}
			if rep[0] < 0 {
				return nil, errorf("negative tiles %d", rep[0])
			}
			reps[a] = int(rep[0])
			return reps, nil
		}
		if len(rep) != r {
			return nil, errorf("repeats has %d entries for rank %d", len(rep), r)
		}
		for i, v := range rep {
			if v < 0 || v > math.MaxInt32 {
				return nil, errorf("repeat %d is invalid", v)
			}
			reps[i] = int(v)
		}
		return reps, nil
	}
	if n.Opset < 6 && len(n.Inputs) != 3 {
		return nil, n.Errorf("Tile-1 takes input, tiles and axis")
	}
	if n.Opset >= 6 && len(n.Inputs) != 2 {
		return nil, n.Errorf("takes input and repeats")
	}
	outShape := shapeUnknown(r)
	rep, ok1, err := shapeIntsInput(n, 1)
	if err != nil {
		return nil, err
	}
	axis, ok2 := []int64{0}, true
	if n.Opset < 6 {
		if axis, ok2, err = shapeIntsInput(n, 2); err != nil {
			return nil, err
		}
	}
	if ok1 && ok2 {
		reps, err := repeatsOf(rep, axis)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		for i, d := range x.Shape {
			outShape[i] = d * reps[i]
			if d < 0 {
				outShape[i] = -1
			}
		}
		if err := outShape.Validate(); shapeStatic(outShape) && err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	k, ok := shapePick(x.DType, shapeTileK[shapeW1](), shapeTileK[shapeW2](), shapeTileK[shapeW4](),
		shapeTileK[shapeW8](), shapeTileK[shapeW16](), shapeTileK[string]())
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	kern := func(env *ops.Env, in, out []*tensor.Tensor) error {
		rep, err := intsOf(in[1])
		if err != nil {
			return err
		}
		axis := []int64{0}
		if len(in) > 2 && in[2] != nil {
			if axis, err = intsOf(in[2]); err != nil {
				return err
			}
		}
		reps, err := repeatsOf(rep, axis)
		if err != nil {
			return err
		}
		return k(env, []*tensor.Tensor{in[0], shapeSizesTensor(reps)}, out)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: kern}, nil
}

// shapeTileK tiles in[0] by the per-dim repeats in in[1]: each output row
// (the last dim) is the source row repeated, and the source row of an
// output row is found with an odometer taken modulo the input dims.
func shapeTileK[T any]() ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		reps64, err := intsOf(in[1])
		if err != nil {
			return err
		}
		s := in[0].Shape()
		os := s.Clone()
		for i := range os {
			os[i] *= int(reps64[i])
		}
		if err := os.Validate(); err != nil {
			return errorf("%v", err)
		}
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		if len(y) == 0 {
			return nil
		}
		r := len(s)
		if r == 0 {
			y[0] = x[0]
			return nil
		}
		inner, outInner := s[r-1], os[r-1]
		rows := len(y) / outInner
		st := s.Strides()
		env.ParallelFor(rows, max(1, 16384/outInner), func(lo, hi int) {
			idx := make([]int, r-1)
			rem := lo
			for d := r - 2; d >= 0; d-- {
				idx[d] = rem % os[d]
				rem /= os[d]
			}
			for row := lo; row < hi; row++ {
				base := 0
				for d := range idx {
					base += (idx[d] % s[d]) * st[d]
				}
				src := x[base : base+inner]
				o := y[row*outInner : (row+1)*outInner]
				for j := 0; j < outInner; j += inner {
					copy(o[j:j+inner], src)
				}
				for d := r - 2; d >= 0; d-- {
					idx[d]++
					if idx[d] < os[d] {
						break
					}
					idx[d] = 0
				}
			}
		})
		return nil
	}
}

func prepareDepthToSpace(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	n.Attrs.Require("blocksize")
	b := n.Attrs.Int("blocksize", 0)
	mode := "DCR"
	if n.Opset >= 11 {
		mode = n.Attrs.String("mode", "DCR")
	}
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if mode != "DCR" && mode != "CRD" {
		return nil, n.Errorf("mode %q is neither DCR nor CRD", mode)
	}
	if b <= 0 || b > math.MaxInt32 {
		return nil, n.Errorf("blocksize %d must be positive", b)
	}
	if len(x.Shape) != 4 {
		return nil, n.Errorf("input must be 4-D, got %s", x)
	}
	bs := int(b)
	shapeOf := func(s tensor.Shape) (tensor.Shape, error) {
		if s[1] >= 0 && s[1]%(bs*bs) != 0 {
			return nil, errorf("channels %d not divisible by blocksize² %d", s[1], bs*bs)
		}
		o := tensor.Shape{s[0], s[1] / (bs * bs), s[2] * bs, s[3] * bs}
		for i, d := range s {
			if d < 0 {
				o[i] = -1
			}
		}
		return o, nil
	}
	outShape, err := shapeOf(x.Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k, ok := shapeStridedKernel(x.DType, func(in []*tensor.Tensor) (tensor.Shape, []int, []int, int, error) {
		s := in[0].Shape()
		os, err := shapeOf(s)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		N, C, H, W := s[0], os[1], s[2], s[3]
		// The input as 6-D, then the output's walk order: DCR reads
		// [N, b1, b2, C', H, W] as [N, C', H, b1, W, b2]; CRD reads
		// [N, C', b1, b2, H, W] in the same output order.
		var in6 tensor.Shape
		var perm []int
		if mode == "DCR" {
			in6 = tensor.Shape{N, bs, bs, C, H, W}
			perm = []int{0, 3, 4, 1, 5, 2}
		} else {
			in6 = tensor.Shape{N, C, bs, bs, H, W}
			perm = []int{0, 1, 4, 2, 5, 3}
		}
		st := in6.Strides()
		dims := make([]int, 6)
		strides := make([]int, 6)
		for i, p := range perm {
			dims[i] = in6[p]
			strides[i] = st[p]
		}
		return os, dims, strides, 0, nil
	})
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

func prepareSpaceToDepth(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	n.Attrs.Require("blocksize")
	b := n.Attrs.Int("blocksize", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if b <= 0 || b > math.MaxInt32 {
		return nil, n.Errorf("blocksize %d must be positive", b)
	}
	if len(x.Shape) != 4 {
		return nil, n.Errorf("input must be 4-D, got %s", x)
	}
	bs := int(b)
	shapeOf := func(s tensor.Shape) (tensor.Shape, error) {
		if (s[2] >= 0 && s[2]%bs != 0) || (s[3] >= 0 && s[3]%bs != 0) {
			return nil, errorf("spatial dims %v not divisible by blocksize %d", s[2:], bs)
		}
		o := tensor.Shape{s[0], s[1] * bs * bs, s[2] / bs, s[3] / bs}
		for i, d := range s {
			if d < 0 {
				o[i] = -1
			}
		}
		return o, nil
	}
	outShape, err := shapeOf(x.Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k, ok := shapeStridedKernel(x.DType, func(in []*tensor.Tensor) (tensor.Shape, []int, []int, int, error) {
		s := in[0].Shape()
		os, err := shapeOf(s)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		// [N, C, H', b1, W', b2] read as [N, b1, b2, C, H', W'].
		in6 := tensor.Shape{s[0], s[1], os[2], bs, os[3], bs}
		perm := []int{0, 3, 5, 1, 2, 4}
		st := in6.Strides()
		dims := make([]int, 6)
		strides := make([]int, 6)
		for i, p := range perm {
			dims[i] = in6[p]
			strides[i] = st[p]
		}
		return os, dims, strides, 0, nil
	})
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

func prepareTrilu(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, n.Errorf("input must have rank >= 2, got %s", x)
	}
	if k := n.Input(1); k.Present() {
		if k.DType != tensor.Int64 || (!k.UnknownRank && k.Shape.NumElements() != 1) {
			return nil, n.Errorf("k must be an int64 scalar, got %s", k)
		}
	}
	upper := n.Attrs.Int("upper", 1) != 0
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	k, ok := shapePick(x.DType, shapeTriluK[shapeW1](upper), shapeTriluK[shapeW2](upper), shapeTriluK[shapeW4](upper),
		shapeTriluK[shapeW8](upper), shapeTriluK[shapeW16](upper), shapeTriluK[string](upper))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, x.Shape.Clone())}, Kernel: k}, nil
}

func shapeTriluK[T any](upper bool) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		var k int64
		if len(in) > 1 && in[1] != nil {
			v, err := intsOf(in[1])
			if err != nil {
				return err
			}
			if len(v) != 1 {
				return errorf("k must be a scalar")
			}
			k = v[0]
		}
		s := in[0].Shape()
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), s)
		if err != nil {
			return err
		}
		r := len(s)
		rows, cols := s[r-2], s[r-1]
		if rows*cols == 0 {
			return nil
		}
		var zero T
		mats := len(x) / (rows * cols)
		env.ParallelFor(mats*rows, max(1, 16384/cols), func(lo, hi int) {
			for row := lo; row < hi; row++ {
				i := int64(row % rows)
				// Upper keeps j >= i+k; lower keeps j <= i+k.
				cut := min(max(i+k, 0), int64(cols))
				xr, yr := x[row*cols:(row+1)*cols], y[row*cols:(row+1)*cols]
				if upper {
					for j := range yr[:cut] {
						yr[j] = zero
					}
					copy(yr[cut:], xr[cut:])
				} else {
					c := min(max(i+k+1, 0), int64(cols))
					copy(yr[:c], xr[:c])
					for j := c; j < int64(cols); j++ {
						yr[j] = zero
					}
				}
			}
		})
		return nil
	}
}

func prepareReverseSequence(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Int64}); err != nil {
		return nil, err
	}
	batchAxis := n.Attrs.Int("batch_axis", 1)
	timeAxis := n.Attrs.Int("time_axis", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, n.Errorf("input must have rank >= 2, got %s", x)
	}
	if !((batchAxis == 0 && timeAxis == 1) || (batchAxis == 1 && timeAxis == 0)) {
		return nil, n.Errorf("batch_axis and time_axis must be 0 and 1 in some order, got %d and %d", batchAxis, timeAxis)
	}
	if l := n.Inputs[1]; shapeVecLen(l) < 0 && !(len(l.Shape) == 1 && l.Shape[0] < 0) {
		return nil, n.Errorf("sequence_lens must be 1-D, got %s", l)
	}
	ba, ta := int(batchAxis), int(timeAxis)
	k, ok := shapePick(x.DType, shapeRevSeqK[shapeW1](ba, ta), shapeRevSeqK[shapeW2](ba, ta), shapeRevSeqK[shapeW4](ba, ta),
		shapeRevSeqK[shapeW8](ba, ta), shapeRevSeqK[shapeW16](ba, ta), shapeRevSeqK[string](ba, ta))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, x.Shape.Clone())}, Kernel: k}, nil
}

func shapeRevSeqK[T any](ba, ta int) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		s := in[0].Shape()
		lens, err := intsOf(in[1])
		if err != nil {
			return err
		}
		batch, steps := s[ba], s[ta]
		if len(lens) != batch {
			return errorf("sequence_lens has %d entries for batch %d", len(lens), batch)
		}
		for _, l := range lens {
			if l < 0 || l > int64(steps) {
				return errorf("sequence length %d out of range [0, %d]", l, steps)
			}
		}
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), s)
		if err != nil {
			return err
		}
		inner := shapeProd(s, 2, len(s))
		st := s.Strides()
		env.ParallelFor(batch*steps, max(1, 16384/max(inner, 1)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				b, t := i/steps, i%steps
				src := t
				if l := int(lens[b]); t < l {
					src = l - 1 - t
				}
				do := b*st[ba] + t*st[ta]
				so := b*st[ba] + src*st[ta]
				copy(y[do:do+inner], x[so:so+inner])
			}
		})
		return nil
	}
}
