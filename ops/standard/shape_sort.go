package standard

import (
	"cmp"
	"slices"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// TopK, ArgMax, ArgMin, CumSum and Unique: operators that compare or
// accumulate element values.

// shapeOrdered are the element types compared by value.
type shapeOrdered interface {
	int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64
}

// shapeOrderedKernel instantiates mk for dt's Go type; float16 and
// bfloat16 run on float32 copies.
func shapeOrderedKernel(dt tensor.DType, mk shapeOrderedMaker) (ops.Kernel, bool) {
	switch dt {
	case tensor.Float32:
		return mk.f32(), true
	case tensor.Float64:
		return mk.f64(), true
	case tensor.Float16, tensor.BFloat16:
		return halfAsFloat32(dt, mk.f32()), true
	case tensor.Int8:
		return mk.i8(), true
	case tensor.Int16:
		return mk.i16(), true
	case tensor.Int32:
		return mk.i32(), true
	case tensor.Int64:
		return mk.i64(), true
	case tensor.Uint8:
		return mk.u8(), true
	case tensor.Uint16:
		return mk.u16(), true
	case tensor.Uint32:
		return mk.u32(), true
	case tensor.Uint64:
		return mk.u64(), true
	}
	return nil, false
}

// shapeOrderedMaker holds one kernel constructor per ordered type (Go has
// no generic function values, so each operator fills this table).
type shapeOrderedMaker struct {
	f32, f64, i8, i16, i32, i64, u8, u16, u32, u64 func() ops.Kernel
}

func shapeMaker[A any](arg A, f32 func(A) ops.Kernel, f64 func(A) ops.Kernel, i8 func(A) ops.Kernel, i16 func(A) ops.Kernel,
	i32 func(A) ops.Kernel, i64 func(A) ops.Kernel, u8 func(A) ops.Kernel, u16 func(A) ops.Kernel, u32 func(A) ops.Kernel, u64 func(A) ops.Kernel) shapeOrderedMaker {
	bind := func(f func(A) ops.Kernel) func() ops.Kernel { return func() ops.Kernel { return f(arg) } }
	return shapeOrderedMaker{bind(f32), bind(f64), bind(i8), bind(i16), bind(i32), bind(i64), bind(u8), bind(u16), bind(u32), bind(u64)}
}

// shapeCmpNaNHigh orders values with NaN above everything (and equal to NaN).
func shapeCmpNaNHigh[T shapeOrdered](a, b T) int {
	an, bn := a != a, b != b
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}

// shapeAxisLines splits a shape around an axis: outer lines, axis length,
// inner stride.
func shapeAxisLines(s tensor.Shape, ax int) (outer, n, inner int) {
	return shapeProd(s, 0, ax), s[ax], shapeProd(s, ax+1, len(s))
}

type shapeTopKArgs struct {
	ax              int
	largest, sorted bool
	k               int64 // from the attribute (opset 1); -1: input 1
}

func prepareTopK(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	axis := a.Int("axis", -1)
	args := shapeTopKArgs{largest: true, sorted: true, k: -1}
	if n.Opset >= 11 {
		args.largest = a.Int("largest", 1) != 0
		args.sorted = a.Int("sorted", 1) != 0
	}
	k := int64(-1)
	if n.Opset < 10 {
		a.Require("k")
		args.k = a.Int("k", 0)
		k = args.k
		if len(n.Inputs) > 1 {
			return nil, n.Errorf("takes one input before opset 10")
		}
	} else {
		if len(n.Inputs) < 2 {
			return nil, n.Errorf("input K is required")
		}
		if kt := n.Inputs[1]; kt.DType != tensor.Int64 || (!kt.UnknownRank && kt.Shape.NumElements() != 1) {
			return nil, n.Errorf("K must be a 1-element int64 tensor, got %s", kt)
		}
		v, ok, err := shapeIntsInput(n, 1)
		if err != nil {
			return nil, err
		}
		if ok {
			k = v[0]
		}
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 {
		return nil, n.Errorf("input must have rank >= 1")
	}
	if args.ax, err = normAxis(n, axis, len(x.Shape)); err != nil {
		return nil, err
	}
	outShape := x.Shape.Clone()
	outShape[args.ax] = -1
	if k >= 0 || n.Opset < 10 {
		if k < 0 || (x.Shape[args.ax] >= 0 && k > int64(x.Shape[args.ax])) {
			return nil, n.Errorf("k %d out of range for axis of %d", k, x.Shape[args.ax])
		}
		outShape[args.ax] = int(k)
	}
	kern, ok := shapeOrderedKernel(x.DType, shapeMaker(args, shapeTopKK[float32], shapeTopKK[float64], shapeTopKK[int8], shapeTopKK[int16],
		shapeTopKK[int32], shapeTopKK[int64], shapeTopKK[uint8], shapeTopKK[uint16], shapeTopKK[uint32], shapeTopKK[uint64]))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape), ops.TensorType(tensor.Int64, outShape.Clone())}, Kernel: kern}, nil
}

// shapeTopKK selects, per line along the axis, the k best elements; ties
// go to the lower index and NaN counts as the largest value. It keeps a
// heap of the k best seen (worst on top), so a line costs O(n log k).
func shapeTopKK[T shapeOrdered](args shapeTopKArgs) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		k := args.k
		if k < 0 {
			v, err := intsOf(in[1])
			if err != nil {
				return err
			}
			if len(v) != 1 {
				return errorf("K must hold one element")
			}
			k = v[0]
		}
		s := in[0].Shape()
		outer, n, inner := shapeAxisLines(s, args.ax)
		if k < 0 || k > int64(n) {
			return errorf("k %d out of range for axis of %d", k, n)
		}
		kk := int(k)
		os := s.Clone()
		os[args.ax] = kk
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		yv, err := env.Output(out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		yi, err := env.Output(out, 1, tensor.Int64, os)
		if err != nil {
			return err
		}
		vals, err := tensor.View[T](yv)
		if err != nil {
			return err
		}
		idxs, err := tensor.View[int64](yi)
		if err != nil {
			return err
		}
		if kk == 0 {
			return nil
		}
		env.ParallelFor(outer*inner, max(1, 4096/max(n, 1)), func(lo, hi int) {
			ln := shapeTopKLine[T]{x: x, inner: inner, largest: args.largest, heap: make([]int, 0, kk)}
			for line := lo; line < hi; line++ {
				o, i := line/inner, line%inner
				ln.base = o*n*inner + i
				ln.heap = ln.heap[:0]
				for j := range n {
					if len(ln.heap) < kk {
						ln.heap = append(ln.heap, j)
						ln.up(len(ln.heap) - 1)
					} else if ln.better(j, ln.heap[0]) {
						ln.heap[0] = j
						ln.down(0, kk)
					}
				}
				// Heapsort: moving the worst to the end each time leaves the
				// heap ordered best first.
				for end := kk - 1; end > 0; end-- {
					ln.heap[0], ln.heap[end] = ln.heap[end], ln.heap[0]
					ln.down(0, end)
				}
				ob := o*kk*inner + i
				for r, j := range ln.heap {
					vals[ob+r*inner] = x[ln.base+j*inner]
					idxs[ob+r*inner] = int64(j)
				}
			}
		})
		return nil
	}
}

// shapeTopKLine is one line of TopK's input and the heap of the best
// elements found so far, worst at the root.
type shapeTopKLine[T shapeOrdered] struct {
	x           []T
	base, inner int
	largest     bool
	heap        []int
}

// better reports whether element a of the line ranks before element b.
func (l *shapeTopKLine[T]) better(a, b int) bool {
	c := shapeCmpNaNHigh(l.x[l.base+a*l.inner], l.x[l.base+b*l.inner])
	if !l.largest {
		c = -c
	}
	return c > 0 || (c == 0 && a < b)
}

func (l *shapeTopKLine[T]) up(i int) {
	h := l.heap
	for i > 0 {
		p := (i - 1) / 2
		if !l.better(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

// down sifts h[i] within the first n entries.
func (l *shapeTopKLine[T]) down(i, n int) {
	h := l.heap
	for {
		c, w := 2*i+1, i
		if c < n && l.better(h[w], h[c]) {
			w = c
		}
		if c+1 < n && l.better(h[w], h[c+1]) {
			w = c + 1
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

type shapeArgArgs struct {
	ax                int
	keep, last, isMax bool
}

func prepareArgExtreme(isMax bool) func(*ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		x, err := shapeInput(n, 0)
		if err != nil {
			return nil, err
		}
		a := n.Attrs
		axis := a.Int("axis", 0)
		args := shapeArgArgs{keep: a.Int("keepdims", 1) != 0, isMax: isMax}
		if n.Opset >= 12 {
			args.last = a.Int("select_last_index", 0) != 0
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		if len(x.Shape) == 0 {
			return nil, n.Errorf("input must have rank >= 1")
		}
		if args.ax, err = normAxis(n, axis, len(x.Shape)); err != nil {
			return nil, err
		}
		kern, ok := shapeOrderedKernel(x.DType, shapeMaker(args, shapeArgK[float32], shapeArgK[float64], shapeArgK[int8], shapeArgK[int16],
			shapeArgK[int32], shapeArgK[int64], shapeArgK[uint8], shapeArgK[uint16], shapeArgK[uint32], shapeArgK[uint64]))
		if !ok {
			return nil, n.Errorf("unsupported type %s", x.DType)
		}
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Int64, shapeArgShape(x.Shape, args))}, Kernel: kern}, nil
	}
}

func shapeArgShape(s tensor.Shape, args shapeArgArgs) tensor.Shape {
	if args.keep {
		o := s.Clone()
		o[args.ax] = 1
		return o
	}
	return append(s[:args.ax:args.ax].Clone(), s[args.ax+1:]...)
}

// shapeArgK finds the index of the extreme element of each line; the
// first NaN wins, as in numpy, and ties go to the first (or, with
// select_last_index, the last) index.
func shapeArgK[T shapeOrdered](args shapeArgArgs) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		s := in[0].Shape()
		outer, n, inner := shapeAxisLines(s, args.ax)
		if n == 0 {
			return errorf("cannot take the extreme of an empty axis")
		}
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		yt, err := env.Output(out, 0, tensor.Int64, shapeArgShape(s, args))
		if err != nil {
			return err
		}
		y, err := tensor.View[int64](yt)
		if err != nil {
			return err
		}
		env.ParallelFor(outer*inner, max(1, 4096/n), func(lo, hi int) {
			for line := lo; line < hi; line++ {
				o, i := line/inner, line%inner
				base := o*n*inner + i
				best, bi := x[base], 0
				for j := 1; j < n; j++ {
					v := x[base+j*inner]
					var c int
					switch {
					case best != best:
						if v != v {
							c = 0
						} else {
							c = -1
						}
					case v != v:
						c = 1
					case args.isMax:
						c = cmp.Compare(v, best)
					default:
						c = cmp.Compare(best, v)
					}
					if c > 0 || (c == 0 && args.last) {
						best, bi = v, j
					}
				}
				y[line] = int64(bi)
			}
		})
		return nil
	}
}

type shapeCumArgs struct{ exclusive, reverse bool }

func prepareCumSum(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	if err := checkType(n, 1, shapeIndexTypes); err != nil {
		return nil, err
	}
	if ax := n.Inputs[1]; !ax.UnknownRank && ax.Shape.NumElements() != 1 {
		return nil, n.Errorf("axis must hold one element, got %s", ax)
	}
	args := shapeCumArgs{exclusive: n.Attrs.Int("exclusive", 0) != 0, reverse: n.Attrs.Int("reverse", 0) != 0}
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 {
		return nil, n.Errorf("input must have rank >= 1")
	}
	kern, ok := shapeOrderedKernel(x.DType, shapeMaker(args, shapeCumK[float32], shapeCumK[float64], shapeCumK[int8], shapeCumK[int16],
		shapeCumK[int32], shapeCumK[int64], shapeCumK[uint8], shapeCumK[uint16], shapeCumK[uint32], shapeCumK[uint64]))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, x.Shape.Clone())}, Kernel: kern}, nil
}

// shapeCumK accumulates whole inner rows at a time, so memory is walked
// in order whatever the axis.
func shapeCumK[T shapeOrdered](args shapeCumArgs) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		av, err := intsOf(in[1])
		if err != nil {
			return err
		}
		if len(av) != 1 {
			return errorf("axis must hold one element")
		}
		s := in[0].Shape()
		r := int64(len(s))
		if av[0] < -r || av[0] >= r {
			return errorf("axis %d out of range for rank %d", av[0], r)
		}
		ax := int((av[0] + r) % r)
		outer, n, inner := shapeAxisLines(s, ax)
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		yt, err := env.Output(out, 0, in[0].DType(), s)
		if err != nil {
			return err
		}
		y, err := tensor.View[T](yt)
		if err != nil {
			return err
		}
		env.ParallelFor(outer, max(1, 16384/max(n*inner, 1)), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				for t := range n {
					j, prev := t, t-1
					if args.reverse {
						j, prev = n-1-t, n-t
					}
					yr := y[(o*n+j)*inner : (o*n+j+1)*inner]
					xr := x[(o*n+j)*inner : (o*n+j+1)*inner]
					switch {
					case t == 0 && args.exclusive:
						clear(yr)
					case t == 0:
						copy(yr, xr)
					default:
						yp := y[(o*n+prev)*inner : (o*n+prev+1)*inner]
						src := xr
						if args.exclusive {
							src = x[(o*n+prev)*inner : (o*n+prev+1)*inner]
						}
						for i := range yr {
							yr[i] = yp[i] + src[i]
						}
					}
				}
			}
		})
		return nil
	}
}

type shapeUniqueArgs struct {
	sorted bool
	ax     int // -1: flatten
}

func prepareUnique(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	args := shapeUniqueArgs{sorted: a.Int("sorted", 1) != 0, ax: -1}
	hasAxis := a.Has("axis")
	axis := a.Int("axis", 0)
	if err := a.Err(); err != nil {
		return nil, err
	}
	yShape := tensor.Shape{-1}
	if hasAxis {
		if args.ax, err = normAxis(n, axis, len(x.Shape)); err != nil {
			return nil, err
		}
		yShape = x.Shape.Clone()
		yShape[args.ax] = -1
	}
	var kern ops.Kernel
	switch x.DType {
	case tensor.String:
		kern = shapeUniqueK[string](args)
	case tensor.Bool:
		kern = shapeUniqueK[uint8](args)
	default:
		var ok bool
		kern, ok = shapeOrderedKernel(x.DType, shapeMaker(args, shapeUniqueK[float32], shapeUniqueK[float64], shapeUniqueK[int8], shapeUniqueK[int16],
			shapeUniqueK[int32], shapeUniqueK[int64], shapeUniqueK[uint8], shapeUniqueK[uint16], shapeUniqueK[uint32], shapeUniqueK[uint64]))
		if !ok {
			return nil, n.Errorf("unsupported type %s", x.DType)
		}
	}
	outs := []ops.Type{ops.TensorType(x.DType, yShape)}
	for range n.NumOutputs - 1 {
		outs = append(outs, ops.TensorType(tensor.Int64, tensor.Shape{-1}))
	}
	return &ops.Plan{Outputs: outs, Kernel: kern}, nil
}

// shapeUniqueK sorts the elements (or slices along the axis, compared
// lexicographically) by value then position, groups equal runs, and
// orders the groups by value (sorted) or by first occurrence.
func shapeUniqueK[T cmp.Ordered](args shapeUniqueArgs) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		s := in[0].Shape()
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		outer, m, inner := 1, len(x), 1
		items := x // item j is items[j*l : (j+1)*l]
		if args.ax >= 0 {
			outer, m, inner = shapeAxisLines(s, args.ax)
			// Gather each slice into one contiguous run to compare them.
			items = make([]T, len(x))
			l := outer * inner
			for o := range outer {
				for j := range m {
					src := x[(o*m+j)*inner : (o*m+j+1)*inner]
					copy(items[j*l+o*inner:j*l+o*inner+inner], src)
				}
			}
		}
		l := 1
		if args.ax >= 0 {
			l = outer * inner
		}
		item := func(j int) []T { return items[j*l : (j+1)*l] }
		order := make([]int, m)
		for j := range order {
			order[j] = j
		}
		slices.SortFunc(order, func(a, b int) int {
			if c := slices.Compare(item(a), item(b)); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		var first, counts []int
		group := make([]int, m) // group of each item
		for i, j := range order {
			if i == 0 || slices.Compare(item(order[i-1]), item(j)) != 0 {
				first = append(first, j)
				counts = append(counts, 0)
			}
			g := len(first) - 1
			group[j] = g
			counts[g]++
		}
		u := len(first)
		pos := make([]int, u) // output position of each group
		for g := range pos {
			pos[g] = g
		}
		if !args.sorted {
			byFirst := make([]int, u)
			for g := range byFirst {
				byFirst[g] = g
			}
			slices.SortFunc(byFirst, func(a, b int) int { return cmp.Compare(first[a], first[b]) })
			for p, g := range byFirst {
				pos[g] = p
			}
		}
		sel := make([]int, u)
		for g, p := range pos {
			sel[p] = first[g]
		}
		ys := tensor.Shape{u}
		if args.ax >= 0 {
			ys = s.Clone()
			ys[args.ax] = u
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), ys)
		if err != nil {
			return err
		}
		shapeGatherRows(env, y, x, outer, m, inner, sel)
		ints := func(i, n int, f func(k int) int) error {
			if i >= len(out) {
				return nil
			}
			t, err := env.Output(out, i, tensor.Int64, tensor.Shape{n})
			if err != nil {
				return err
			}
			v, err := tensor.View[int64](t)
			if err != nil {
				return err
			}
			for k := range v {
				v[k] = int64(f(k))
			}
			return nil
		}
		if err := ints(1, u, func(p int) int { return sel[p] }); err != nil {
			return err
		}
		if err := ints(2, m, func(j int) int { return pos[group[j]] }); err != nil {
			return err
		}
		cnt := make([]int, u)
		for g, p := range pos {
			cnt[p] = counts[g]
		}
		return ints(3, u, func(p int) int { return cnt[p] })
	}
}
