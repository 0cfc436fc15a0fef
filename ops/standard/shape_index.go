package standard

import (
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Gather, GatherElements, GatherND, Scatter, ScatterElements, ScatterND,
// OneHot, NonZero and Compress. Indices are checked before anything is
// written: an out-of-range index is an error, a negative one counts from
// the end of its axis.

var shapeIndexTypes = []tensor.DType{tensor.Int32, tensor.Int64}

// shapeIndices reads an index tensor, wrapping negative indices against
// dim and failing on any outside [-dim, dim).
func shapeIndices(t *tensor.Tensor, dim int) ([]int, error) {
	v, err := intsOf(t)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(v))
	d := int64(dim)
	for i, x := range v {
		if x < -d || x >= d {
			return nil, errorf("index %d out of range [%d, %d)", x, -d, d)
		}
		if x < 0 {
			x += d
		}
		out[i] = int(x)
	}
	return out, nil
}

// shapeGatherRows copies y[o, j, :] = x[o, idx[j], :] for every outer o.
func shapeGatherRows[T any](env *ops.Env, y, x []T, outer, dim, inner int, idx []int) {
	m := len(idx)
	if inner == 0 || m == 0 {
		return
	}
	env.ParallelFor(outer*m, max(1, 16384/inner), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, j := r/m, r%m
			src := (o*dim + idx[j]) * inner
			copy(y[r*inner:(r+1)*inner], x[src:src+inner])
		}
	})
}

func prepareGather(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, shapeIndexTypes); err != nil {
		return nil, err
	}
	idx, err := shapeInput(n, 1)
	if err != nil {
		return nil, err
	}
	axis := n.Attrs.Int("axis", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 {
		return nil, n.Errorf("data must have rank >= 1")
	}
	ax, err := normAxis(n, axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	outShape := append(append(x.Shape[:ax:ax].Clone(), idx.Shape...), x.Shape[ax+1:]...)
	k, ok := shapePick(x.DType, shapeGatherK[shapeW1](ax), shapeGatherK[shapeW2](ax), shapeGatherK[shapeW4](ax),
		shapeGatherK[shapeW8](ax), shapeGatherK[shapeW16](ax), shapeGatherK[string](ax))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

func shapeGatherK[T any](ax int) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		s := in[0].Shape()
		idx, err := shapeIndices(in[1], s[ax])
		if err != nil {
			return err
		}
		os := append(append(s[:ax:ax].Clone(), in[1].Shape()...), s[ax+1:]...)
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		shapeGatherRows(env, y, x, shapeProd(s, 0, ax), s[ax], shapeProd(s, ax+1, len(s)), idx)
		return nil
	}
}

func prepareGatherElements(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, shapeIndexTypes); err != nil {
		return nil, err
	}
	idx, err := shapeInput(n, 1)
	if err != nil {
		return nil, err
	}
	axis := n.Attrs.Int("axis", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 || len(idx.Shape) != len(x.Shape) {
		return nil, n.Errorf("data %s and indices %s must have the same rank >= 1", x, idx)
	}
	ax, err := normAxis(n, axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	k, ok := shapePick(x.DType, shapeGatherElemK[shapeW1](ax), shapeGatherElemK[shapeW2](ax), shapeGatherElemK[shapeW4](ax),
		shapeGatherElemK[shapeW8](ax), shapeGatherElemK[shapeW16](ax), shapeGatherElemK[string](ax))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, idx.Shape.Clone())}, Kernel: k}, nil
}

// shapeElemOffsets maps every element of an index tensor of shape is
// (same rank as data shape ds) to the data offset it addresses along ax:
// the element's own position with its coordinate on ax replaced by the
// index. Used by GatherElements and ScatterElements.
func shapeElemOffsets(ds, is tensor.Shape, ax int, indices *tensor.Tensor) ([]int, error) {
	if len(ds) != len(is) {
		return nil, errorf("indices %v and data %v differ in rank", is, ds)
	}
	for d := range ds {
		if d != ax && is[d] > ds[d] {
			return nil, errorf("indices %v exceed data %v on axis %d", is, ds, d)
		}
	}
	idx, err := shapeIndices(indices, ds[ax])
	if err != nil {
		return nil, err
	}
	offs := make([]int, len(idx))
	if len(idx) == 0 {
		return offs, nil
	}
	st := ds.Strides()
	r := len(is)
	pos := make([]int, r)
	base := 0 // offset of pos in data, leaving out ax
	for e := range idx {
		offs[e] = base + idx[e]*st[ax]
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			if d != ax {
				base += st[d]
			}
			if pos[d] < is[d] {
				break
			}
			if d != ax {
				base -= pos[d] * st[d]
			}
			pos[d] = 0
		}
	}
	return offs, nil
}

func shapeGatherElemK[T any](ax int) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		offs, err := shapeElemOffsets(in[0].Shape(), in[1].Shape(), ax, in[1])
		if err != nil {
			return err
		}
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), in[1].Shape())
		if err != nil {
			return err
		}
		env.ParallelFor(len(y), 16384, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				y[i] = x[offs[i]]
			}
		})
		return nil
	}
}

// shapeNDOffsets resolves GatherND/ScatterND index tuples: for each tuple
// (of the last dim of indices) the data offset of the slice it selects,
// the slice length and the number of tuples per batch.
func shapeNDOffsets(ds, is tensor.Shape, batchDims int, indices *tensor.Tensor) (offs []int, slice int, err error) {
	q, r := len(is), len(ds)
	if q < 1 {
		return nil, 0, errorf("indices must have rank >= 1")
	}
	k := is[q-1]
	b := batchDims
	if b < 0 || b >= min(q, r) {
		return nil, 0, errorf("batch_dims %d out of range", b)
	}
	if k < 1 || k > r-b {
		return nil, 0, errorf("index tuples of length %d for data of rank %d and %d batch dims", k, r, b)
	}
	for d := range b {
		if ds[d] != is[d] {
			return nil, 0, errorf("batch dims of data %v and indices %v differ", ds, is)
		}
	}
	v, err := intsOf(indices)
	if err != nil {
		return nil, 0, err
	}
	st := ds.Strides()
	slice = shapeProd(ds, b+k, r)
	batches := shapeProd(ds, 0, b)
	batchStride := shapeProd(ds, b, r)
	tuples := len(v) / k
	per := 0
	if batches > 0 {
		per = tuples / batches
	}
	offs = make([]int, tuples)
	for t := range tuples {
		off := 0
		if per > 0 {
			off = (t / per) * batchStride
		}
		for j := range k {
			x := v[t*k+j]
			dim := int64(ds[b+j])
			if x < -dim || x >= dim {
				return nil, 0, errorf("index %d out of range [%d, %d) on axis %d", x, -dim, dim, b+j)
			}
			if x < 0 {
				x += dim
			}
			off += int(x) * st[b+j]
		}
		offs[t] = off
	}
	return offs, slice, nil
}

func prepareGatherND(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Int64}); err != nil {
		return nil, err
	}
	idx, err := shapeInput(n, 1)
	if err != nil {
		return nil, err
	}
	b := int64(0)
	if n.Opset >= 12 {
		b = n.Attrs.Int("batch_dims", 0)
	}
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	q, r := len(idx.Shape), len(x.Shape)
	if q < 1 || r < 1 || b < 0 || b >= int64(min(q, r)) {
		return nil, n.Errorf("data %s, indices %s and batch_dims %d do not fit", x, idx, b)
	}
	bd := int(b)
	outShape := func(ds, is tensor.Shape) tensor.Shape {
		k := is[len(is)-1]
		s := is[:len(is)-1].Clone()
		if k < 0 || bd+k > len(ds) {
			return append(s, -1)
		}
		return append(s, ds[bd+k:]...)
	}
	if k := idx.Shape[q-1]; k >= 0 && (k < 1 || k > r-bd) {
		return nil, n.Errorf("index tuples of length %d for data of rank %d and batch_dims %d", k, r, bd)
	}
	os := outShape(x.Shape, idx.Shape)
	if idx.Shape[q-1] < 0 {
		os = nil // the rank depends on the tuple length
	}
	k, ok := shapePick(x.DType, shapeGatherNDK[shapeW1](bd), shapeGatherNDK[shapeW2](bd), shapeGatherNDK[shapeW4](bd),
		shapeGatherNDK[shapeW8](bd), shapeGatherNDK[shapeW16](bd), shapeGatherNDK[string](bd))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{shapeType(x.DType, os)}, Kernel: k}, nil
}

func shapeGatherNDK[T any](bd int) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		ds, is := in[0].Shape(), in[1].Shape()
		offs, slice, err := shapeNDOffsets(ds, is, bd, in[1])
		if err != nil {
			return err
		}
		os := append(is[:len(is)-1].Clone(), ds[bd+is[len(is)-1]:]...)
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		if slice == 0 {
			return nil
		}
		env.ParallelFor(len(offs), max(1, 16384/slice), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				copy(y[t*slice:(t+1)*slice], x[offs[t]:offs[t]+slice])
			}
		})
		return nil
	}
}

// shapeScatterReduction reads and checks the reduction attribute.
func shapeScatterReduction(n *ops.Node) (string, error) {
	red := "none"
	if n.Opset >= 16 && n.OpType != "Scatter" {
		red = n.Attrs.String("reduction", "none")
	}
	if err := n.Attrs.Err(); err != nil {
		return "", err
	}
	switch red {
	case "none":
	case "add", "mul":
	case "max", "min":
		if n.Opset < 18 {
			return "", n.Errorf("reduction %q needs opset 18", red)
		}
	default:
		return "", n.Errorf("unknown reduction %q", red)
	}
	return red, nil
}

func prepareScatterElements(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, shapeIndexTypes); err != nil {
		return nil, err
	}
	idx, _ := shapeInput(n, 1)
	upd, err := shapeInput(n, 2)
	if err != nil {
		return nil, err
	}
	if upd.DType != x.DType {
		return nil, n.Errorf("updates have type %s, data %s", upd.DType, x.DType)
	}
	axis := n.Attrs.Int("axis", 0)
	red, err := shapeScatterReduction(n)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 || len(idx.Shape) != len(x.Shape) || !idx.Shape.Equal(upd.Shape) {
		return nil, n.Errorf("data %s, indices %s and updates %s: ranks must match and indices and updates have one shape", x, idx, upd)
	}
	ax, err := normAxis(n, axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	apply, err := shapeScatterApply(x.DType, red)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		if !in[1].Shape().Equal(in[2].Shape()) {
			return errorf("indices %v and updates %v differ in shape", in[1].Shape(), in[2].Shape())
		}
		offs, err := shapeElemOffsets(in[0].Shape(), in[1].Shape(), ax, in[1])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, in[0].DType(), in[0].Shape())
		if err != nil {
			return err
		}
		if err := shapeCopyAll(y, in[0]); err != nil {
			return err
		}
		return apply(y, in[2], offs, 1)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, x.Shape.Clone())}, Kernel: k}, nil
}

func prepareScatterND(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Int64}); err != nil {
		return nil, err
	}
	idx, _ := shapeInput(n, 1)
	upd, err := shapeInput(n, 2)
	if err != nil {
		return nil, err
	}
	if upd.DType != x.DType {
		return nil, n.Errorf("updates have type %s, data %s", upd.DType, x.DType)
	}
	red, err := shapeScatterReduction(n)
	if err != nil {
		return nil, err
	}
	if err := shapeScatterNDShapes(x.Shape, idx.Shape, upd.Shape); err != nil && shapeStatic(idx.Shape) {
		return nil, n.Errorf("%v", err)
	}
	apply, err := shapeScatterApply(x.DType, red)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		ds, is := in[0].Shape(), in[1].Shape()
		if err := shapeScatterNDShapes(ds, is, in[2].Shape()); err != nil {
			return err
		}
		offs, slice, err := shapeNDOffsets(ds, is, 0, in[1])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, in[0].DType(), ds)
		if err != nil {
			return err
		}
		if err := shapeCopyAll(y, in[0]); err != nil {
			return err
		}
		return apply(y, in[2], offs, slice)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, x.Shape.Clone())}, Kernel: k}, nil
}

// shapeScatterNDShapes checks updates.shape == indices.shape[:-1] + data.shape[k:].
func shapeScatterNDShapes(ds, is, us tensor.Shape) error {
	q := len(is)
	if q < 1 || len(ds) < 1 {
		return errorf("data and indices must have rank >= 1")
	}
	k := is[q-1]
	if k < 1 || k > len(ds) {
		return errorf("index tuples of length %d for data of rank %d", k, len(ds))
	}
	want := append(is[:q-1].Clone(), ds[k:]...)
	if !want.Equal(us) {
		return errorf("updates have shape %v, want %v", us, want)
	}
	return nil
}

// shapeScatterFn writes updates into y: y[offs[i]+j] = f(y[...], u[i*slice+j]).
type shapeScatterFn func(y, u *tensor.Tensor, offs []int, slice int) error

func shapeScatterApply(dt tensor.DType, red string) (shapeScatterFn, error) {
	if red == "none" {
		f, ok := shapePick(dt, shapeScatterSet[shapeW1], shapeScatterSet[shapeW2], shapeScatterSet[shapeW4],
			shapeScatterSet[shapeW8], shapeScatterSet[shapeW16], shapeScatterSet[string])
		if !ok {
			return nil, errorf("unsupported type %s", dt)
		}
		return f, nil
	}
	switch dt {
	case tensor.Float32:
		return shapeScatterRed(shapeReduceFn[float32](red)), nil
	case tensor.Float64:
		return shapeScatterRed(shapeReduceFn[float64](red)), nil
	case tensor.Int8:
		return shapeScatterRed(shapeReduceFn[int8](red)), nil
	case tensor.Int16:
		return shapeScatterRed(shapeReduceFn[int16](red)), nil
	case tensor.Int32:
		return shapeScatterRed(shapeReduceFn[int32](red)), nil
	case tensor.Int64:
		return shapeScatterRed(shapeReduceFn[int64](red)), nil
	case tensor.Uint8:
		return shapeScatterRed(shapeReduceFn[uint8](red)), nil
	case tensor.Uint16:
		return shapeScatterRed(shapeReduceFn[uint16](red)), nil
	case tensor.Uint32:
		return shapeScatterRed(shapeReduceFn[uint32](red)), nil
	case tensor.Uint64:
		return shapeScatterRed(shapeReduceFn[uint64](red)), nil
	case tensor.Float16:
		f := shapeReduceFn[float32](red)
		return shapeScatterRed(func(a, b tensor.F16) tensor.F16 { return tensor.Float16FromFloat32(f(a.Float32(), b.Float32())) }), nil
	case tensor.BFloat16:
		f := shapeReduceFn[float32](red)
		return shapeScatterRed(func(a, b tensor.BF16) tensor.BF16 { return tensor.BFloat16FromFloat32(f(a.Float32(), b.Float32())) }), nil
	case tensor.Bool:
		// add and max are logical or; mul and min are logical and.
		if red == "add" || red == "max" {
			return shapeScatterRed(func(a, b bool) bool { return a || b }), nil
		}
		return shapeScatterRed(func(a, b bool) bool { return a && b }), nil
	}
	return nil, errorf("reduction %s is not defined for %s", red, dt)
}

func shapeReduceFn[T number](red string) func(a, b T) T {
	switch red {
	case "add":
		return func(a, b T) T { return a + b }
	case "mul":
		return func(a, b T) T { return a * b }
	case "max":
		return func(a, b T) T { return max(a, b) }
	}
	return func(a, b T) T { return min(a, b) }
}

func shapeScatterSet[T any](yt, ut *tensor.Tensor, offs []int, slice int) error {
	y, err := shapeElems[T](yt)
	if err != nil {
		return err
	}
	u, err := shapeElems[T](ut)
	if err != nil {
		return err
	}
	if len(u) < len(offs)*slice {
		return errorf("%d updates for %d slices of %d", len(u), len(offs), slice)
	}
	for i, o := range offs {
		copy(y[o:o+slice], u[i*slice:(i+1)*slice])
	}
	return nil
}

func shapeScatterRed[T tensor.Element](f func(a, b T) T) shapeScatterFn {
	return func(yt, ut *tensor.Tensor, offs []int, slice int) error {
		y, err := tensor.View[T](yt)
		if err != nil {
			return err
		}
		u, err := tensor.View[T](ut)
		if err != nil {
			return err
		}
		if len(u) < len(offs)*slice {
			return errorf("%d updates for %d slices of %d", len(u), len(offs), slice)
		}
		for i, o := range offs {
			ys, us := y[o:o+slice], u[i*slice:(i+1)*slice]
			for j := range ys {
				ys[j] = f(ys[j], us[j])
			}
		}
		return nil
	}
}

func prepareOneHot(n *ops.Node) (*ops.Plan, error) {
	idx, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 0, numericTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, numericTypes); err != nil {
		return nil, err
	}
	vals, err := shapeInput(n, 2)
	if err != nil {
		return nil, err
	}
	if len(vals.Shape) != 1 || (vals.Shape[0] >= 0 && vals.Shape[0] != 2) {
		return nil, n.Errorf("values must be a 2-element vector [off, on], got %s", vals)
	}
	if d := n.Inputs[1]; !d.UnknownRank && d.Shape.NumElements() != 1 {
		return nil, n.Errorf("depth must hold one element, got %s", d)
	}
	axis := n.Attrs.Int("axis", -1)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	r := len(idx.Shape) + 1
	ax, err := normAxis(n, axis, r)
	if err != nil {
		return nil, err
	}
	depth := -1
	if dv := n.Inputs[1].Value; dv != nil {
		d, err := shapeOneHotDepth(dv)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		depth = d
	}
	outShape := append(append(idx.Shape[:ax:ax].Clone(), depth), idx.Shape[ax:]...)
	negOK := n.Opset >= 11
	k, ok := shapePick(vals.DType, shapeOneHotK[shapeW1](ax, negOK), shapeOneHotK[shapeW2](ax, negOK), shapeOneHotK[shapeW4](ax, negOK),
		shapeOneHotK[shapeW8](ax, negOK), shapeOneHotK[shapeW16](ax, negOK), shapeOneHotK[string](ax, negOK))
	if !ok {
		return nil, n.Errorf("unsupported type %s", vals.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(vals.DType, outShape)}, Kernel: k}, nil
}

// shapeOneHotDepth reads depth (any numeric type, truncated) and rejects
// depths below 1.
func shapeOneHotDepth(t *tensor.Tensor) (int, error) {
	f, err := shapeFloatsOf(t)
	if err != nil {
		return 0, err
	}
	if len(f) != 1 {
		return 0, errorf("depth must hold one element")
	}
	d := math.Trunc(f[0])
	if !(d >= 1) || d > math.MaxInt32 {
		return 0, errorf("depth %g out of range", f[0])
	}
	return int(d), nil
}

func shapeOneHotK[T any](ax int, negOK bool) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		depth, err := shapeOneHotDepth(in[1])
		if err != nil {
			return err
		}
		is := in[0].Shape()
		os := append(append(is[:ax:ax].Clone(), depth), is[ax:]...)
		if err := os.Validate(); err != nil {
			return errorf("%v", err)
		}
		idx, err := shapeFloatsOf(in[0])
		if err != nil {
			return err
		}
		vals, err := shapeElems[T](in[2])
		if err != nil {
			return err
		}
		if len(vals) != 2 {
			return errorf("values must hold 2 elements")
		}
		off, on := vals[0], vals[1]
		y, err := shapeOutput[T](env, out, 0, in[2].DType(), os)
		if err != nil {
			return err
		}
		for i := range y {
			y[i] = off
		}
		inner := shapeProd(is, ax, len(is))
		// Indices outside [-depth, depth) give an all-off row, as the spec says.
		for e, v := range idx {
			c := int64(math.Trunc(v))
			if c < 0 && negOK {
				c += int64(depth)
			}
			if c < 0 || c >= int64(depth) || math.IsNaN(v) {
				continue
			}
			o, i := e/max(inner, 1), e%max(inner, 1)
			y[(o*depth+int(c))*inner+i] = on
		}
		return nil
	}
}

func prepareNonZero(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	var k ops.Kernel
	switch x.DType {
	case tensor.Bool, tensor.Int8, tensor.Uint8:
		k = shapeNonZeroK(func(v shapeW1) bool { return v != 0 })
	case tensor.Int16, tensor.Uint16:
		k = shapeNonZeroK(func(v shapeW2) bool { return v != 0 })
	case tensor.Float16, tensor.BFloat16:
		k = shapeNonZeroK(func(v shapeW2) bool { return v&0x7fff != 0 })
	case tensor.Int32, tensor.Uint32:
		k = shapeNonZeroK(func(v shapeW4) bool { return v != 0 })
	case tensor.Float32:
		k = shapeNonZeroK(func(v shapeW4) bool { return v&0x7fffffff != 0 })
	case tensor.Int64, tensor.Uint64:
		k = shapeNonZeroK(func(v shapeW8) bool { return v != 0 })
	case tensor.Float64:
		k = shapeNonZeroK(func(v shapeW8) bool { return v&(1<<63-1) != 0 })
	case tensor.Complex64:
		k = shapeNonZeroK(func(v shapeW8) bool { return v&0x7fffffff7fffffff != 0 })
	case tensor.Complex128:
		k = shapeNonZeroK(func(v shapeW16) bool { return v[0]&(1<<63-1) != 0 || v[1]&(1<<63-1) != 0 })
	case tensor.String:
		k = shapeNonZeroK(func(v string) bool { return v != "" })
	default:
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Int64, tensor.Shape{len(x.Shape), -1})}, Kernel: k}, nil
}

func shapeNonZeroK[T any](nz func(T) bool) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		cnt := 0
		for _, v := range x {
			if nz(v) {
				cnt++
			}
		}
		s := in[0].Shape()
		r := len(s)
		yt, err := env.Output(out, 0, tensor.Int64, tensor.Shape{r, cnt})
		if err != nil {
			return err
		}
		y, err := tensor.View[int64](yt)
		if err != nil {
			return err
		}
		if r == 0 {
			return nil
		}
		pos := make([]int64, r)
		j := 0
		for _, v := range x {
			if nz(v) {
				for d := range r {
					y[d*cnt+j] = pos[d]
				}
				j++
			}
			for d := r - 1; d >= 0; d-- {
				pos[d]++
				if pos[d] < int64(s[d]) {
					break
				}
				pos[d] = 0
			}
		}
		return nil
	}
}

func prepareCompress(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Bool}); err != nil {
		return nil, err
	}
	if c := n.Inputs[1]; !c.UnknownRank && len(c.Shape) != 1 {
		return nil, n.Errorf("condition must be 1-D, got %s", c)
	}
	hasAxis := n.Attrs.Has("axis")
	axis := n.Attrs.Int("axis", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	ax := -1
	outShape := tensor.Shape{-1}
	if hasAxis {
		if ax, err = normAxis(n, axis, len(x.Shape)); err != nil {
			return nil, err
		}
		outShape = x.Shape.Clone()
		outShape[ax] = -1
	}
	k, ok := shapePick(x.DType, shapeCompressK[shapeW1](ax), shapeCompressK[shapeW2](ax), shapeCompressK[shapeW4](ax),
		shapeCompressK[shapeW8](ax), shapeCompressK[shapeW16](ax), shapeCompressK[string](ax))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

// shapeCompressK keeps the slices along ax (every element when ax < 0)
// whose condition is true; a condition shorter than the axis drops the
// rest, a longer one may only be false past its end.
func shapeCompressK[T any](ax int) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		cond, err := tensor.View[bool](in[1])
		if err != nil {
			return err
		}
		s := in[0].Shape()
		outer, dim, inner := 1, len(s), 1
		if ax < 0 {
			dim = in[0].Len()
		} else {
			outer, dim, inner = shapeProd(s, 0, ax), s[ax], shapeProd(s, ax+1, len(s))
		}
		var idx []int
		for i, c := range cond {
			if !c {
				continue
			}
			if i >= dim {
				return errorf("condition of length %d selects past the axis's %d", len(cond), dim)
			}
			idx = append(idx, i)
		}
		os := tensor.Shape{len(idx)}
		if ax >= 0 {
			os = s.Clone()
			os[ax] = len(idx)
		}
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		shapeGatherRows(env, y, x, outer, dim, inner, idx)
		return nil
	}
}
