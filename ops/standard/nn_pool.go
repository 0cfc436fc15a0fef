package standard

import (
	"github.com/gocann/gocann/kernels"
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Pooling: MaxPool, AveragePool, LpPool, their global forms, MaxUnpool.
// Every window is enumerated through nnTaps: per dim and output
// coordinate, the input coordinates the window covers.

// nnTaps lists, per spatial dim and output coordinate, the in-range input
// coordinates of the window and how many of its taps lie inside the
// padded extent (for count_include_pad).
type nnTaps struct {
	pos    [][][]int
	padded [][]int
}

func nnMakeTaps(w *nnWindow) *nnTaps {
	r := w.rank()
	t := &nnTaps{pos: make([][][]int, r), padded: make([][]int, r)}
	for d := 0; d < r; d++ {
		t.pos[d] = make([][]int, w.out[d])
		t.padded[d] = make([]int, w.out[d])
		for o := 0; o < w.out[d]; o++ {
			start := o*w.s[d] - w.pb[d]
			for j := 0; j < w.k[d]; j++ {
				p := start + j*w.d[d]
				if p >= 0 && p < w.in[d] {
					t.pos[d][o] = append(t.pos[d][o], p)
				}
				if p >= -w.pb[d] && p < w.in[d]+w.pe[d] {
					t.padded[d][o]++
				}
			}
		}
	}
	return t
}

// nnPoolLoop calls body for every plane and output position with the flat
// offsets (within the plane) of the window's in-range inputs, and the
// count of taps inside the padded extent. Parallel over planes.
func nnPoolLoop(env *ops.Env, w *nnWindow, planes int, body func(plane, o int, offs []int, padded int)) {
	taps := nnMakeTaps(w)
	r := w.rank()
	outS := nnProd(w.out)
	strides := make([]int, r)
	acc := 1
	for d := r - 1; d >= 0; d-- {
		strides[d] = acc
		acc *= w.in[d]
	}
	win := nnProd(w.k)
	env.ParallelFor(planes, max(1, 4096/max(1, outS*win)), func(lo, hi int) {
		od := make([]int, r)
		ti := make([]int, r)
		offs := make([]int, 0, win)
		for plane := lo; plane < hi; plane++ {
			clear(od)
			for o := 0; o < outS; o++ {
				offs = offs[:0]
				padded := 1
				empty := false
				for d := 0; d < r; d++ {
					padded *= taps.padded[d][od[d]]
					if len(taps.pos[d][od[d]]) == 0 {
						empty = true
					}
				}
				if !empty {
					clear(ti)
					for {
						off := 0
						for d := 0; d < r; d++ {
							off += taps.pos[d][od[d]][ti[d]] * strides[d]
						}
						offs = append(offs, off)
						d := r - 1
						for ; d >= 0; d-- {
							ti[d]++
							if ti[d] < len(taps.pos[d][od[d]]) {
								break
							}
							ti[d] = 0
						}
						if d < 0 {
							break
						}
					}
				}
				body(plane, o, offs, padded)
				for d := r - 1; d >= 0; d-- {
					od[d]++
					if od[d] < w.out[d] {
						break
					}
					od[d] = 0
				}
			}
		}
	})
}

// nnPoolSetup reads X and kernel_shape and the window attributes.
func nnPoolSetup(n *ops.Node, ceil bool) (*nnWindow, tensor.Shape, error) {
	xs, err := nnSpatial(n, 0, 3)
	if err != nil {
		return nil, nil, err
	}
	r := len(xs) - 2
	ks := n.Attrs.Ints("kernel_shape", nil)
	if err := n.Attrs.Err(); err != nil {
		return nil, nil, err
	}
	if ks == nil {
		return nil, nil, n.Errorf("attribute kernel_shape is required")
	}
	k, err := nnIntsAttr(n, "kernel_shape", ks, r, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	w, err := nnWindowFor(n, []int(xs[2:].Clone()), k, ceil)
	if err != nil {
		return nil, nil, err
	}
	out := append(tensor.Shape{xs[0], xs[1]}, w.out...)
	return w, out, nil
}

var nnMaxPoolTypes = append([]tensor.DType{tensor.Int8, tensor.Uint8}, floatTypes...)

func prepareMaxPool(n *ops.Node) (*ops.Plan, error) {
	allowed := floatTypes
	if n.Opset >= 12 {
		allowed = nnMaxPoolTypes
	}
	if err := checkType(n, 0, allowed); err != nil {
		return nil, err
	}
	ceil := n.Attrs.Int("ceil_mode", 0) != 0
	order := n.Attrs.Int("storage_order", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if order != 0 && order != 1 {
		return nil, n.Errorf("storage_order must be 0 or 1, got %d", order)
	}
	w, out, err := nnPoolSetup(n, ceil)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	outs := []ops.Type{ops.TensorType(dt, out)}
	if n.NumOutputs > 1 {
		outs = append(outs, ops.TensorType(tensor.Int64, out))
	}
	var k ops.Kernel
	switch dt {
	case tensor.Int8:
		k = nnMaxPoolKernel[int8](w, out, order == 1)
	case tensor.Uint8:
		k = nnMaxPoolKernel[uint8](w, out, order == 1)
	default:
		k, err = nnFloat(n, dt, nnMaxPoolKernel[float32](w, out, order == 1), nnMaxPoolKernel[float64](w, out, order == 1))
	}
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: outs, Kernel: k}, nil
}

func nnMaxPoolKernel[T number](w *nnWindow, out tensor.Shape, colMajor bool) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		var idx []int64
		if len(outs) > 1 {
			if idx, err = nnOut[int64](env, outs, 1, out); err != nil {
				return err
			}
		}
		if w.rank() == 2 {
			if x32, ok := any(x).([]float32); ok && idx == nil {
				p := nnPool2DParams(w, out, false)
				return kernels.MaxPool2D(nnWorkers(env), &p, x32, any(y).([]float32))
			}
			nnPool2D(env, w, out[0]*out[1], x, y, idx, colMajor, false, false)
			return nil
		}
		inS, outS := nnProd(w.in), nnProd(w.out)
		nnPoolLoop(env, w, out[0]*out[1], func(plane, o int, offs []int, _ int) {
			xp := x[plane*inS : (plane+1)*inS]
			best, bi := T(0), -1
			for _, off := range offs {
				if v := xp[off]; bi < 0 || v > best {
					best, bi = v, off
				}
			}
			if bi < 0 { // a window entirely in the padding
				if _, ok := any(best).(float32); ok {
					best = T(math.Inf(-1))
				}
				bi = 0
			}
			y[plane*outS+o] = best
			if idx != nil {
				if colMajor {
					bi = nnColMajor(bi, w.in)
				}
				idx[plane*outS+o] = int64(plane*inS + bi)
			}
		})
		return nil
	}
}

// nnColMajor converts a row-major offset within dims to column-major.
func nnColMajor(off int, dims []int) int {
	r := len(dims)
	coords := make([]int, r)
	for d := r - 1; d >= 0; d-- {
		coords[d] = off % dims[d]
		off /= dims[d]
	}
	res, stride := 0, 1
	for d := 0; d < r; d++ {
		res += coords[d] * stride
		stride *= dims[d]
	}
	return res
}

func prepareAveragePool(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, floatTypes); err != nil {
		return nil, err
	}
	at := n.Attrs
	ceil := at.Int("ceil_mode", 0) != 0
	include := at.Int("count_include_pad", 0) != 0
	if n.Opset < 19 && at.Has("dilations") {
		return nil, n.Errorf("dilations are supported from opset 19")
	}
	if err := at.Err(); err != nil {
		return nil, err
	}
	w, out, err := nnPoolSetup(n, ceil)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	k, err := nnFloat(n, dt, nnAvgPoolKernel[float32](w, out, include), nnAvgPoolKernel[float64](w, out, include))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

func nnAvgPoolKernel[T float32 | float64](w *nnWindow, out tensor.Shape, include bool) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		if w.rank() == 2 {
			if x32, ok := any(x).([]float32); ok {
				p := nnPool2DParams(w, out, include)
				return kernels.AvgPool2D(nnWorkers(env), &p, x32, any(y).([]float32))
			}
			nnPool2D(env, w, out[0]*out[1], x, y, nil, false, true, include)
			return nil
		}
		inS, outS := nnProd(w.in), nnProd(w.out)
		nnPoolLoop(env, w, out[0]*out[1], func(plane, o int, offs []int, padded int) {
			xp := x[plane*inS : (plane+1)*inS]
			var s T
			for _, off := range offs {
				s += xp[off]
			}
			cnt := len(offs)
			if include {
				cnt = padded
			}
			if cnt == 0 {
				y[plane*outS+o] = T(math.NaN())
				return
			}
			y[plane*outS+o] = s / T(cnt)
		})
		return nil
	}
}

func prepareLpPool(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, floatTypes); err != nil {
		return nil, err
	}
	at := n.Attrs
	var p float64
	if n.Opset < 2 {
		p = float64(at.Float("p", 2))
	} else {
		p = float64(at.Int("p", 2))
	}
	ceil := at.Int("ceil_mode", 0) != 0
	if err := at.Err(); err != nil {
		return nil, err
	}
	if p <= 0 {
		return nil, n.Errorf("p must be positive, got %v", p)
	}
	w, out, err := nnPoolSetup(n, ceil)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	k, err := nnFloat(n, dt, nnLpPoolKernel[float32](w, out, p), nnLpPoolKernel[float64](w, out, p))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

func nnLpPoolKernel[T float32 | float64](w *nnWindow, out tensor.Shape, p float64) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		inS, outS := nnProd(w.in), nnProd(w.out)
		nnPoolLoop(env, w, out[0]*out[1], func(plane, o int, offs []int, _ int) {
			xp := x[plane*inS : (plane+1)*inS]
			var s float64
			for _, off := range offs {
				s += math.Pow(math.Abs(float64(xp[off])), p)
			}
			y[plane*outS+o] = T(math.Pow(s, 1/p))
		})
		return nil
	}
}

// Global pooling reduces all spatial dims of each plane.
func prepareGlobalPool(kind string) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		if err := checkType(n, 0, floatTypes); err != nil {
			return nil, err
		}
		xs, err := nnSpatial(n, 0, 2)
		if err != nil {
			return nil, err
		}
		p := 2.0
		if kind == "lp" {
			if n.Opset < 2 {
				p = float64(n.Attrs.Float("p", 2))
			} else {
				p = float64(n.Attrs.Int("p", 2))
			}
			if err := n.Attrs.Err(); err != nil {
				return nil, err
			}
			if p <= 0 {
				return nil, n.Errorf("p must be positive, got %v", p)
			}
		}
		out := xs.Clone()
		for i := 2; i < len(out); i++ {
			out[i] = 1
		}
		planes := xs[0] * xs[1]
		size := xs[2:].NumElements()
		dt := n.Inputs[0].DType
		k, err := nnFloat(n, dt, nnGlobalPoolKernel[float32](kind, p, planes, size, out), nnGlobalPoolKernel[float64](kind, p, planes, size, out))
		if err != nil {
			return nil, err
		}
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
	}
}

func nnGlobalPoolKernel[T float32 | float64](kind string, p float64, planes, size int, out tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		env.ParallelFor(planes, max(1, 16384/max(size, 1)), func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				xp := x[pl*size : (pl+1)*size]
				switch kind {
				case "avg":
					if x32, ok := any(xp).([]float32); ok {
						// Eight float64 partial sums: faster, and exact
						// enough for any plane size.
						y[pl] = T(kernels.SumF32(x32) / float64(size))
						continue
					}
					var s T
					for _, v := range xp {
						s += v
					}
					y[pl] = s / T(size)
				case "max":
					m := T(math.Inf(-1))
					for i, v := range xp {
						if i == 0 || v > m {
							m = v
						}
					}
					y[pl] = m
				default:
					var s float64
					for _, v := range xp {
						s += math.Pow(math.Abs(float64(v)), p)
					}
					y[pl] = T(math.Pow(s, 1/p))
				}
			}
		})
		return nil
	}
}

func prepareMaxUnpool(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, floatTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Int64}); err != nil {
		return nil, err
	}
	xs, err := nnSpatial(n, 0, 3)
	if err != nil {
		return nil, err
	}
	if err := nnStatic(n, 1); err != nil {
		return nil, err
	}
	if !n.Inputs[1].Shape.Equal(xs) {
		return nil, n.Errorf("indices %v must have the shape of X %v", n.Inputs[1].Shape, xs)
	}
	r := len(xs) - 2
	at := n.Attrs
	ks := at.Ints("kernel_shape", nil)
	padsA := at.Ints("pads", nil)
	stridesA := at.Ints("strides", nil)
	if err := at.Err(); err != nil {
		return nil, err
	}
	if ks == nil {
		return nil, n.Errorf("attribute kernel_shape is required")
	}
	k, err := nnIntsAttr(n, "kernel_shape", ks, r, 1, 1)
	if err != nil {
		return nil, err
	}
	s, err := nnIntsAttr(n, "strides", stridesA, r, 1, 1)
	if err != nil {
		return nil, err
	}
	pads, err := nnIntsAttr(n, "pads", padsA, 2*r, 0, 0)
	if err != nil {
		return nil, err
	}
	out := tensor.Shape{xs[0], xs[1]}
	for i := 0; i < r; i++ {
		out = append(out, (xs[2+i]-1)*s[i]+k[i]-pads[i]-pads[r+i])
	}
	// Indices address the default output shape; a given output_shape
	// keeps their coordinates.
	def := out.Clone()
	dt := n.Inputs[0].DType
	if st := n.Input(2); st.Present() {
		if st.Value == nil {
			// Known only when the kernel runs: plan unknown dims.
			dyn := make(tensor.Shape, len(out))
			for i := range dyn {
				dyn[i] = -1
			}
			def := out.Clone()
			k := func(env *ops.Env, in, outs []*tensor.Tensor) error {
				v, err := intsOf(in[2])
				if err != nil {
					return err
				}
				if len(v) != len(def) {
					return errorf("MaxUnpool: output_shape %v must have rank %d", v, len(def))
				}
				shape := make(tensor.Shape, len(v))
				for i, d := range v {
					if d < 0 || d > 1<<40 {
						return errorf("MaxUnpool: output_shape %v is invalid", v)
					}
					shape[i] = int(d)
				}
				if err := shape.Validate(); err != nil {
					return errorf("MaxUnpool: %v", err)
				}
				switch dt {
				case tensor.Float32:
					return nnMaxUnpoolKernel[float32](def, shape)(env, in, outs)
				case tensor.Float64:
					return nnMaxUnpoolKernel[float64](def, shape)(env, in, outs)
				}
				return halfAsFloat32(dt, nnMaxUnpoolKernel[float32](def, shape))(env, in, outs)
			}
			return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, dyn)}, Kernel: k}, nil
		}
		v, err := intsOf(st.Value)
		if err != nil {
			return nil, n.Errorf("output_shape: %v", err)
		}
		if len(v) != len(out) {
			return nil, n.Errorf("output_shape %v must have rank %d", v, len(out))
		}
		for i, d := range v {
			if d < 0 || d > 1<<40 {
				return nil, n.Errorf("output_shape %v is invalid", v)
			}
			out[i] = int(d)
		}
	}
	for i := 0; i < r+2; i++ {
		if out[i] < 0 {
			return nil, n.Errorf("output shape %v is invalid", out)
		}
	}
	if err := nnCheckSize(n, out); err != nil {
		return nil, err
	}
	kern, err := nnFloat(n, dt, nnMaxUnpoolKernel[float32](def, out), nnMaxUnpoolKernel[float64](def, out))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: kern}, nil
}

func nnMaxUnpoolKernel[T float32 | float64](def, out tensor.Shape) ops.Kernel {
	same := def.Equal(out)
	defN := def.NumElements()
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		idx, err := tensor.View[int64](in[1])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		clear(y)
		for i, v := range x {
			j := idx[i]
			if !same {
				if j < 0 || j >= int64(defN) {
					return errorf("MaxUnpool: index %d out of range [0, %d)", j, defN)
				}
				rem, off, stride := int(j), 0, 1
				for d := len(def) - 1; d >= 0; d-- {
					c := rem % def[d]
					rem /= def[d]
					if c >= out[d] {
						return errorf("MaxUnpool: index %d falls outside output shape %v", j, out)
					}
					off += c * stride
					stride *= out[d]
				}
				j = int64(off)
			}
			if j < 0 || j >= int64(len(y)) {
				return errorf("MaxUnpool: index %d out of range [0, %d)", j, len(y))
			}
			y[j] = v
		}
		return nil
	}
}

// nnPool2DParams describes a 2-D pooling window for the float32 kernels.
func nnPool2DParams(w *nnWindow, out tensor.Shape, include bool) kernels.Pool2D {
	return kernels.Pool2D{
		Planes: out[0] * out[1], H: w.in[0], W: w.in[1], KH: w.k[0], KW: w.k[1],
		StrideH: w.s[0], StrideW: w.s[1], DilH: w.d[0], DilW: w.d[1],
		PadTop: w.pb[0], PadLeft: w.pb[1], PadBottom: w.pe[0], PadRight: w.pe[1],
		OH: w.out[0], OW: w.out[1], IncludePad: include,
	}
}

// nnPool2D is the 2-D max (avg false) or average pooling loop without
// per-output indirection; idx receives argmax indices when not nil.
func nnPool2D[T number](env *ops.Env, w *nnWindow, planes int, x, y []T, idx []int64, colMajor, avg, include bool) {
	taps := nnMakeTaps(w)
	H, W := w.in[0], w.in[1]
	OH, OW := w.out[0], w.out[1]
	env.ParallelFor(planes, max(1, 4096/max(1, OH*OW*w.k[0]*w.k[1])), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp := x[pl*H*W : (pl+1)*H*W]
			yp := y[pl*OH*OW : (pl+1)*OH*OW]
			for oh := 0; oh < OH; oh++ {
				hs := taps.pos[0][oh]
				for ow := 0; ow < OW; ow++ {
					ws := taps.pos[1][ow]
					o := oh*OW + ow
					if avg {
						var s T
						for _, ih := range hs {
							row := xp[ih*W : (ih+1)*W]
							for _, iw := range ws {
								s += row[iw]
							}
						}
						cnt := len(hs) * len(ws)
						if include {
							cnt = taps.padded[0][oh] * taps.padded[1][ow]
						}
						if cnt == 0 {
							yp[o] = T(math.NaN())
						} else {
							yp[o] = s / T(cnt)
						}
						continue
					}
					best, bi := T(0), -1
					for _, ih := range hs {
						row := xp[ih*W : (ih+1)*W]
						for _, iw := range ws {
							if v := row[iw]; bi < 0 || v > best {
								best, bi = v, ih*W+iw
							}
						}
					}
					if bi < 0 {
						if _, ok := any(best).(float32); ok {
							best = T(math.Inf(-1))
						}
						bi = 0
					}
					yp[o] = best
					if idx != nil {
						if colMajor {
							bi = (bi%W)*H + bi/W
						}
						idx[pl*OH*OW+o] = int64(pl*H*W + bi)
					}
				}
			}
		}
	})
}
