package standard

import (
	"unsafe"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// The shape family: operators that build, reshape, move, index and select
// tensor elements. Most move elements without looking at them, so their
// kernels are generic over the element's width (shapeW1..shapeW16, or
// string) rather than its type: one instantiation serves int32, uint32 and
// float32 alike, and float16 and bfloat16 need no widening.
//
// Negative axes are accepted at every opset, although the spec allows them
// only from opset 11: PyTorch exports them at older opsets (test_GLU), and
// ONNX Runtime accepts them too.

// shapeOps lists this family's operators.
func shapeOps() []def {
	d := func(name string, since []int, in, out [2]int, values []int, p func(*ops.Node) (*ops.Plan, error), doc string) def {
		return def{name: name, since: since, inputs: in, outputs: out, valueInputs: values, prepare: p, doc: doc}
	}
	one := [2]int{1, 1}
	return []def{
		d("Constant", []int{1, 9, 11, 12, 13, 19, 21}, [2]int{0, 0}, one, nil, prepareConstant, "a constant tensor from an attribute"),
		d("ConstantOfShape", []int{9, 20, 21}, one, one, []int{0}, prepareConstantOfShape, "a tensor of the given shape filled with one value"),
		d("Shape", []int{1, 13, 15, 19, 21}, one, one, nil, prepareShape, "the shape of a tensor (a slice of it from 15)"),
		d("Size", []int{1, 13, 19, 21}, one, one, nil, prepareSize, "the number of elements of a tensor"),
		d("Reshape", []int{1, 5, 13, 14, 19, 21}, [2]int{1, 2}, one, []int{1}, prepareReshape, "the same elements under another shape"),
		d("Flatten", []int{1, 9, 11, 13, 21}, one, one, nil, prepareFlatten, "reshape to 2-D around an axis"),
		d("Squeeze", []int{1, 11, 13, 21}, [2]int{1, 2}, one, []int{1}, prepareSqueeze, "remove dimensions of size 1"),
		d("Unsqueeze", []int{1, 11, 13, 21}, [2]int{1, 2}, one, []int{1}, prepareUnsqueeze, "insert dimensions of size 1"),
		d("Transpose", []int{1, 13, 21}, one, one, nil, prepareTranspose, "permute dimensions"),
		d("Concat", []int{1, 4, 11, 13}, [2]int{1, -1}, one, nil, prepareConcat, "join tensors along an axis"),
		d("Split", []int{1, 2, 11, 13, 18}, [2]int{1, 2}, [2]int{1, -1}, []int{1}, prepareSplit, "split a tensor into parts along an axis"),
		d("Slice", []int{1, 10, 11, 13}, [2]int{1, 5}, one, []int{1, 2, 3, 4}, prepareSlice, "a strided sub-tensor"),
		d("Gather", []int{1, 11, 13}, [2]int{2, 2}, one, nil, prepareGather, "select slices along an axis by index"),
		d("GatherElements", []int{11, 13}, [2]int{2, 2}, one, nil, prepareGatherElements, "select elements along an axis by index"),
		d("GatherND", []int{11, 12, 13}, [2]int{2, 2}, one, nil, prepareGatherND, "select slices by index tuples"),
		d("Scatter", []int{9, 11}, [2]int{3, 3}, one, nil, prepareScatterElements, "deprecated alias of ScatterElements"),
		d("ScatterElements", []int{11, 13, 16, 18}, [2]int{3, 3}, one, nil, prepareScatterElements, "write elements along an axis by index"),
		d("ScatterND", []int{11, 13, 16, 18}, [2]int{3, 3}, one, nil, prepareScatterND, "write slices by index tuples"),
		d("Expand", []int{8, 13}, [2]int{2, 2}, one, []int{1}, prepareExpand, "broadcast to a shape"),
		d("Tile", []int{1, 6, 13}, [2]int{2, 3}, one, []int{1, 2}, prepareTile, "repeat a tensor along each axis"),
		d("Pad", []int{1, 2, 11, 13, 18, 19, 21}, [2]int{1, 4}, one, []int{1, 3}, preparePad, "pad (or crop) every axis"),
		d("Range", []int{11}, [2]int{3, 3}, one, []int{0, 1, 2}, prepareRange, "an arithmetic progression"),
		d("OneHot", []int{9, 11}, [2]int{3, 3}, one, []int{1}, prepareOneHot, "one-hot encoding of indices"),
		d("NonZero", []int{9, 13}, one, one, nil, prepareNonZero, "indices of the non-zero elements"),
		d("TopK", []int{1, 10, 11}, [2]int{1, 2}, [2]int{2, 2}, []int{1}, prepareTopK, "the k largest or smallest elements along an axis"),
		d("ArgMax", []int{1, 11, 12, 13}, one, one, nil, prepareArgExtreme(true), "index of the largest element along an axis"),
		d("ArgMin", []int{1, 11, 12, 13}, one, one, nil, prepareArgExtreme(false), "index of the smallest element along an axis"),
		d("Trilu", []int{14}, [2]int{1, 2}, one, nil, prepareTrilu, "upper or lower triangle of matrices"),
		d("DepthToSpace", []int{1, 11, 13}, one, one, nil, prepareDepthToSpace, "move channel blocks into spatial blocks"),
		d("SpaceToDepth", []int{1, 13}, one, one, nil, prepareSpaceToDepth, "move spatial blocks into channels"),
		d("EyeLike", []int{9}, one, one, nil, prepareEyeLike, "an identity-like matrix of the input's shape"),
		d("CumSum", []int{11, 14}, [2]int{2, 2}, one, nil, prepareCumSum, "cumulative sum along an axis"),
		d("ReverseSequence", []int{10}, [2]int{2, 2}, one, nil, prepareReverseSequence, "reverse a prefix of each batch entry along time"),
		d("Compress", []int{9, 11}, [2]int{2, 2}, one, nil, prepareCompress, "select slices where a condition holds"),
		d("Unique", []int{11}, one, [2]int{1, 4}, nil, prepareUnique, "unique elements or slices, with indices and counts"),
		d("Resize", []int{10, 11, 13, 18, 19}, [2]int{1, 4}, one, []int{1, 2, 3}, prepareResize, "resize by nearest, linear or cubic interpolation"),
		d("Upsample", []int{7, 9, 10}, [2]int{1, 2}, one, []int{1}, prepareUpsample, "deprecated: nearest or linear upsampling"),
	}
}

// Element types by width, for kernels that only move elements.
type (
	shapeW1  = uint8
	shapeW2  = uint16
	shapeW4  = uint32
	shapeW8  = uint64
	shapeW16 = [2]uint64
)

// shapePick returns the variant of a width-generic kernel that fits dt.
func shapePick[K any](dt tensor.DType, k1, k2, k4, k8, k16, ks K) (K, bool) {
	if dt == tensor.String {
		return ks, true
	}
	switch dt.Size() {
	case 1:
		return k1, true
	case 2:
		return k2, true
	case 4:
		return k4, true
	case 8:
		return k8, true
	case 16:
		return k16, true
	}
	var zero K
	return zero, false
}

// shapeElems views t's elements as T, a type of the same width (or string
// for string tensors), without copying.
func shapeElems[T any](t *tensor.Tensor) ([]T, error) {
	if t == nil {
		return nil, errorf("missing tensor")
	}
	if t.DType() == tensor.String {
		s, err := tensor.View[string](t)
		if err != nil {
			return nil, err
		}
		v, ok := any(s).([]T)
		if !ok {
			return nil, errorf("string tensor viewed as %T", *new(T))
		}
		return v, nil
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	if _, isStr := any(zero).(string); isStr || size != t.DType().Size() {
		return nil, errorf("%s tensor viewed as %T", t.DType(), zero)
	}
	b, ok := t.HostBytes()
	if !ok {
		return nil, errorf("%s tensor is not host-readable", t.DType())
	}
	n := t.Len()
	if n == 0 {
		return []T{}, nil
	}
	if len(b) < n*size {
		return nil, errorf("tensor storage too short")
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)%unsafe.Alignof(zero) != 0 {
		return nil, errorf("tensor storage is not aligned")
	}
	return unsafe.Slice((*T)(p), n), nil
}

// shapeOutput allocates (or fetches) output i and views it as T.
func shapeOutput[T any](env *ops.Env, out []*tensor.Tensor, i int, dt tensor.DType, shape tensor.Shape) ([]T, error) {
	y, err := env.Output(out, i, dt, shape)
	if err != nil {
		return nil, err
	}
	return shapeElems[T](y)
}

// shapeInput checks that input i is a present tensor of known rank and
// returns its type.
func shapeInput(n *ops.Node, i int) (ops.Type, error) {
	t := n.Input(i)
	if !t.Present() {
		return t, n.Errorf("input %d is required", i)
	}
	if t.Kind != ops.KindTensor {
		return t, n.Errorf("input %d must be a tensor, got %s", i, t)
	}
	if t.UnknownRank {
		return t, n.Errorf("input %d has unknown rank", i)
	}
	return t, nil
}

// shapeIntsInput reads the contents of an int32/int64 value input, or
// returns ok=false when they are not known at planning time.
func shapeIntsInput(n *ops.Node, i int) (vals []int64, ok bool, err error) {
	t := n.Input(i)
	if !t.Present() {
		return nil, false, nil
	}
	if t.Kind != ops.KindTensor || (t.DType != tensor.Int64 && t.DType != tensor.Int32) {
		return nil, false, n.Errorf("input %d must be an int32 or int64 tensor, got %s", i, t)
	}
	if t.Value == nil {
		return nil, false, nil
	}
	v, err := intsOf(t.Value)
	if err != nil {
		return nil, false, n.Errorf("input %d: %v", i, err)
	}
	return v, true, nil
}

// shapeUnknown returns a shape of the given rank with every dim unknown,
// or nil for an unknown (negative) rank.
func shapeUnknown(rank int) tensor.Shape {
	if rank < 0 {
		return nil
	}
	s := make(tensor.Shape, rank)
	for i := range s {
		s[i] = -1
	}
	return s
}

// shapeType is a tensor type whose rank is unknown when shape is nil.
func shapeType(dt tensor.DType, shape tensor.Shape) ops.Type {
	t := ops.TensorType(dt, shape)
	t.UnknownRank = shape == nil
	return t
}

// shapeVecLen is the length of a 1-D tensor type, or -1.
func shapeVecLen(t ops.Type) int {
	if t.UnknownRank || len(t.Shape) != 1 {
		return -1
	}
	return t.Shape[0]
}

// shapeStatic reports whether every dim is known.
func shapeStatic(s tensor.Shape) bool {
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

// shapeProd multiplies dims[lo:hi].
func shapeProd(dims []int, lo, hi int) int {
	p := 1
	for _, d := range dims[lo:hi] {
		p *= d
	}
	return p
}

// shapeNormAxes normalizes a list of axes against rank, rejecting
// out-of-range and repeated axes.
func shapeNormAxes(n *ops.Node, axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		ax, err := normAxis(n, a, rank)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, n.Errorf("axis %d repeated", a)
		}
		seen[ax] = true
		out[i] = ax
	}
	return out, nil
}

// shapeCopyKernel copies input 0 unchanged into an output of the shape
// that outShape computes from the run's inputs (Reshape, Flatten,
// Squeeze, Unsqueeze: the elements keep their order).
func shapeCopyKernel(outShape func(in []*tensor.Tensor) (tensor.Shape, error)) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		shape, err := outShape(in)
		if err != nil {
			return err
		}
		x := in[0]
		y, err := env.Output(out, 0, x.DType(), shape)
		if err != nil {
			return err
		}
		return shapeCopyAll(y, x)
	}
}

// shapeCopyAll copies all of src's elements into dst (same type and size).
func shapeCopyAll(dst, src *tensor.Tensor) error {
	if dst.DType() == tensor.String {
		d, err := shapeElems[string](dst)
		if err != nil {
			return err
		}
		s, err := shapeElems[string](src)
		if err != nil {
			return err
		}
		copy(d, s)
		return nil
	}
	d, ok1 := dst.HostBytes()
	s, ok2 := src.HostBytes()
	if !ok1 || !ok2 {
		return errorf("tensors are not host-readable")
	}
	if len(d) != len(s) {
		return errorf("copy of %d bytes into %d", len(s), len(d))
	}
	copy(d, s)
	return nil
}

// shapeStrided copies the elements of a strided view of src into dst,
// which is contiguous in the order of dims: dst[i0, i1, ...] =
// src[off + i0*strides[0] + i1*strides[1] + ...]. Transpose, Slice,
// Expand and DepthToSpace are all such views. Adjacent dims that are
// contiguous in src are merged and size-1 dims dropped first, so the inner
// loop is as long as possible and a copy when its stride is 1.
func shapeStrided[T any](env *ops.Env, dst, src []T, dims, strides []int, off int) {
	total := 1
	for _, d := range dims {
		total *= d
	}
	if total == 0 {
		return
	}
	var md, ms []int
	for i, d := range dims {
		if d == 1 {
			continue
		}
		if m := len(md); m > 0 && ms[m-1] == strides[i]*d {
			md[m-1] *= d
			ms[m-1] = strides[i]
			continue
		}
		md = append(md, d)
		ms = append(ms, strides[i])
	}
	if len(md) == 0 {
		dst[0] = src[off]
		return
	}
	last := len(md) - 1
	inner, step := md[last], ms[last]
	if step != 0 && step != 1 && inner >= 8 {
		// A transpose: if an outer dim is contiguous in src, copy in
		// square tiles so that neither side is walked with a long stride.
		for p := range last {
			if ms[p] == 1 && md[p] >= 8 {
				shapeTiled(env, dst, src, md, ms, off, p)
				return
			}
		}
	}
	rows := total / inner
	env.ParallelFor(rows, max(1, 16384/inner), func(lo, hi int) {
		// Odometer over the outer dims, started at row lo.
		idx := make([]int, last)
		base := off
		r := lo
		for d := last - 1; d >= 0; d-- {
			idx[d] = r % md[d]
			r /= md[d]
			base += idx[d] * ms[d]
		}
		for row := lo; row < hi; row++ {
			o := dst[row*inner : row*inner+inner]
			switch step {
			case 1:
				copy(o, src[base:base+inner])
			case 0:
				v := src[base]
				for i := range o {
					o[i] = v
				}
			default:
				s := base
				for i := range o {
					o[i] = src[s]
					s += step
				}
			}
			for d := last - 1; d >= 0; d-- {
				idx[d]++
				base += ms[d]
				if idx[d] < md[d] {
					break
				}
				base -= idx[d] * ms[d]
				idx[d] = 0
			}
		}
	})
}

// shapeTiled is shapeStrided for merged dims md/ms where dim p has source
// stride 1 and the last dim a larger one: every (other dims) x (tile of p)
// x (tile of last) block is copied with both its reads and writes within a
// few cache lines.
func shapeTiled[T any](env *ops.Env, dst, src []T, md, ms []int, off, p int) {
	const tile = 32
	last := len(md) - 1
	dstSt := make([]int, len(md))
	acc := 1
	for d := last; d >= 0; d-- {
		dstSt[d] = acc
		acc *= md[d]
	}
	others := 1
	for d := range last {
		if d != p {
			others *= md[d]
		}
	}
	ti, tj := (md[p]+tile-1)/tile, (md[last]+tile-1)/tile
	step := ms[last]
	env.ParallelFor(others*ti*tj, 4, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			j0 := (t % tj) * tile
			i0 := ((t / tj) % ti) * tile
			o := t / (tj * ti)
			sb, db := off, 0
			for d := last - 1; d >= 0; d-- {
				if d == p {
					continue
				}
				x := o % md[d]
				o /= md[d]
				sb += x * ms[d]
				db += x * dstSt[d]
			}
			i1, j1 := min(i0+tile, md[p]), min(j0+tile, md[last])
			for i := i0; i < i1; i++ {
				d := dst[db+i*dstSt[p]+j0 : db+i*dstSt[p]+j1]
				s := sb + i + j0*step
				for j := range d {
					d[j] = src[s]
					s += step
				}
			}
		}
	})
}

// shapeStridedKernel returns a kernel for a view computed from the run's
// input 0: view gives the output shape, the dims walked (in output order),
// the source strides and the start offset.
func shapeStridedKernel(dt tensor.DType, view func(in []*tensor.Tensor) (outShape tensor.Shape, dims, strides []int, off int, err error)) (ops.Kernel, bool) {
	return shapePick(dt,
		shapeStridedK[shapeW1](view), shapeStridedK[shapeW2](view), shapeStridedK[shapeW4](view),
		shapeStridedK[shapeW8](view), shapeStridedK[shapeW16](view), shapeStridedK[string](view))
}

func shapeStridedK[T any](view func(in []*tensor.Tensor) (tensor.Shape, []int, []int, int, error)) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		outShape, dims, strides, off, err := view(in)
		if err != nil {
			return err
		}
		src, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		dst, err := shapeOutput[T](env, out, 0, in[0].DType(), outShape)
		if err != nil {
			return err
		}
		shapeStrided(env, dst, src, dims, strides, off)
		return nil
	}
}

// shapeScalarOf returns a one-element tensor of type dt holding v
// converted (fill values given as floats, such as Pad's value attribute).
func shapeScalarOf(dt tensor.DType, v float64) (*tensor.Tensor, error) {
	switch dt {
	case tensor.Float32:
		return tensor.FromSlice([]float32{float32(v)})
	case tensor.Float64:
		return tensor.FromSlice([]float64{v})
	case tensor.Float16:
		return tensor.FromSlice([]tensor.F16{tensor.Float16FromFloat32(float32(v))})
	case tensor.BFloat16:
		return tensor.FromSlice([]tensor.BF16{tensor.BFloat16FromFloat32(float32(v))})
	case tensor.Int8:
		return tensor.FromSlice([]int8{int8(v)})
	case tensor.Int16:
		return tensor.FromSlice([]int16{int16(v)})
	case tensor.Int32:
		return tensor.FromSlice([]int32{int32(v)})
	case tensor.Int64:
		return tensor.FromSlice([]int64{int64(v)})
	case tensor.Uint8:
		return tensor.FromSlice([]uint8{uint8(v)})
	case tensor.Uint16:
		return tensor.FromSlice([]uint16{uint16(v)})
	case tensor.Uint32:
		return tensor.FromSlice([]uint32{uint32(v)})
	case tensor.Uint64:
		return tensor.FromSlice([]uint64{uint64(v)})
	case tensor.Bool:
		return tensor.FromSlice([]bool{v != 0})
	case tensor.Complex64:
		return tensor.FromSlice([]complex64{complex(float32(v), 0)})
	case tensor.Complex128:
		return tensor.FromSlice([]complex128{complex(v, 0)})
	case tensor.String:
		return tensor.FromSlice([]string{""})
	}
	return nil, errorf("no scalar of type %s", dt)
}

// shapeFloatsOf reads a numeric tensor's values as float64 (scales, roi,
// Range's bounds).
func shapeFloatsOf(t *tensor.Tensor) ([]float64, error) {
	conv := func(v []float64, err error) ([]float64, error) { return v, err }
	switch t.DType() {
	case tensor.Float32:
		return conv(shapeToF64[float32](t))
	case tensor.Float64:
		return conv(shapeToF64[float64](t))
	case tensor.Int8:
		return conv(shapeToF64[int8](t))
	case tensor.Int16:
		return conv(shapeToF64[int16](t))
	case tensor.Int32:
		return conv(shapeToF64[int32](t))
	case tensor.Int64:
		return conv(shapeToF64[int64](t))
	case tensor.Uint8:
		return conv(shapeToF64[uint8](t))
	case tensor.Uint16:
		return conv(shapeToF64[uint16](t))
	case tensor.Uint32:
		return conv(shapeToF64[uint32](t))
	case tensor.Uint64:
		return conv(shapeToF64[uint64](t))
	case tensor.Bool:
		b, err := tensor.View[bool](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(b))
		for i, x := range b {
			if x {
				out[i] = 1
			}
		}
		return out, nil
	case tensor.Float16:
		h, err := tensor.View[tensor.F16](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(h))
		for i, x := range h {
			out[i] = float64(x.Float32())
		}
		return out, nil
	case tensor.BFloat16:
		h, err := tensor.View[tensor.BF16](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(h))
		for i, x := range h {
			out[i] = float64(x.Float32())
		}
		return out, nil
	}
	return nil, errorf("want a numeric tensor, got %s", t.DType())
}

func shapeToF64[T number](t *tensor.Tensor) ([]float64, error) {
	v, err := tensor.View[T](t)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, nil
}
