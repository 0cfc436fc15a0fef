package standard

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Col2Im and CenterCropPad: operators that move blocks of a tensor.

// extraCol2ImAttrs are Col2Im's attributes for n spatial dims.
type extraCol2ImAttrs struct {
	dil, pads, str []int
}

// extraCol2ImGeom is a Col2Im problem with its sizes known.
type extraCol2ImGeom struct {
	img, blk, nblk []int // image size, block size, blocks per axis
	kprod, lprod   int   // elements per block, number of blocks
}

func extraCol2ImGeometry(a extraCol2ImAttrs, imgT, blkT *tensor.Tensor) (*extraCol2ImGeom, error) {
	img, err := intsOf(imgT)
	if err != nil {
		return nil, err
	}
	blk, err := intsOf(blkT)
	if err != nil {
		return nil, err
	}
	nd := len(a.dil)
	if len(img) != nd || len(blk) != nd {
		return nil, errorf("Col2Im: image_shape %v and block_shape %v must have %d values", img, blk, nd)
	}
	g := &extraCol2ImGeom{img: make([]int, nd), blk: make([]int, nd), nblk: make([]int, nd), kprod: 1, lprod: 1}
	for d := 0; d < nd; d++ {
		if img[d] < 1 || img[d] > 1<<30 || blk[d] < 1 || blk[d] > 1<<30 {
			return nil, errorf("Col2Im: image_shape %v and block_shape %v must be positive", img, blk)
		}
		g.img[d], g.blk[d] = int(img[d]), int(blk[d])
		span := a.dil[d]*(g.blk[d]-1) + 1
		padded := g.img[d] + a.pads[d] + a.pads[nd+d]
		if padded < span {
			return nil, errorf("Col2Im: block %v with dilations %v does not fit image %v padded by %v", blk, a.dil, img, a.pads)
		}
		g.nblk[d] = (padded-span)/a.str[d] + 1
		if g.kprod > 1<<40/g.blk[d] || g.lprod > 1<<40/g.nblk[d] {
			return nil, errorf("Col2Im: block_shape %v is too large", blk)
		}
		g.kprod *= g.blk[d]
		g.lprod *= g.nblk[d]
	}
	return g, nil
}

// outShape checks the input's shape [N, C*kprod, L] and returns [N, C, image...].
func (g *extraCol2ImGeom) outShape(in tensor.Shape) (tensor.Shape, error) {
	if in[1]%g.kprod != 0 {
		return nil, errorf("Col2Im: input dim 1 (%d) is not a multiple of the block size %d", in[1], g.kprod)
	}
	if in[2] != g.lprod {
		return nil, errorf("Col2Im: input has %d blocks, image %v with block %v gives %d", in[2], g.img, g.blk, g.lprod)
	}
	return append(tensor.Shape{in[0], in[1] / g.kprod}, g.img...), nil
}

func extraPrepareCol2Im(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, numericTypes); err != nil {
		return nil, err
	}
	if err := extraKnown(n, 0); err != nil {
		return nil, err
	}
	for i := 1; i <= 2; i++ {
		if err := checkType(n, i, []tensor.DType{tensor.Int64}); err != nil {
			return nil, err
		}
		if err := extraKnown(n, i); err != nil {
			return nil, err
		}
	}
	xs, is, bs := n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape
	if len(xs) != 3 {
		return nil, n.Errorf("input must be N x (C * block size) x L, got %v", xs)
	}
	if len(is) != 1 || len(bs) != 1 || is[0] != bs[0] || is[0] < 1 {
		return nil, n.Errorf("image_shape %v and block_shape %v must be 1-D of one length", is, bs)
	}
	nd := is[0]
	var a extraCol2ImAttrs
	var err error
	if a.dil, err = extraInts(n, "dilations", nd, 1, 1); err != nil {
		return nil, err
	}
	if a.pads, err = extraInts(n, "pads", 2*nd, 0, 0); err != nil {
		return nil, err
	}
	if a.str, err = extraInts(n, "strides", nd, 1, 1); err != nil {
		return nil, err
	}
	out := make(tensor.Shape, nd+2)
	for i := range out {
		out[i] = -1
	}
	out[0] = xs[0]
	if iv, bv := n.Inputs[1].Value, n.Inputs[2].Value; iv != nil && bv != nil {
		g, err := extraCol2ImGeometry(a, iv, bv)
		if err != nil {
			return nil, err
		}
		if out, err = g.outShape(xs); err != nil {
			return nil, err
		}
		if err := nnCheckSize(n, out); err != nil {
			return nil, err
		}
	}
	dt := n.Inputs[0].DType
	var k ops.Kernel
	switch dt {
	case tensor.Float32:
		k = extraCol2ImKernel[float32](a)
	case tensor.Float64:
		k = extraCol2ImKernel[float64](a)
	case tensor.Float16, tensor.BFloat16:
		k = halfAsFloat32(dt, extraCol2ImKernel[float32](a))
	case tensor.Int8:
		k = extraCol2ImKernel[int8](a)
	case tensor.Int16:
		k = extraCol2ImKernel[int16](a)
	case tensor.Int32:
		k = extraCol2ImKernel[int32](a)
	case tensor.Int64:
		k = extraCol2ImKernel[int64](a)
	case tensor.Uint8:
		k = extraCol2ImKernel[uint8](a)
	case tensor.Uint16:
		k = extraCol2ImKernel[uint16](a)
	case tensor.Uint32:
		k = extraCol2ImKernel[uint32](a)
	case tensor.Uint64:
		k = extraCol2ImKernel[uint64](a)
	default:
		return nil, n.Errorf("unsupported type %s", dt)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

// extraCol2ImKernel adds every column element into the image pixel it was
// taken from; elements that fall in the padding are dropped. Each (batch,
// channel) image is independent, so they run in parallel.
func extraCol2ImKernel[T number](a extraCol2ImAttrs) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		g, err := extraCol2ImGeometry(a, in[1], in[2])
		if err != nil {
			return err
		}
		shape, err := g.outShape(in[0].Shape())
		if err != nil {
			return err
		}
		col, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, out, 0, shape)
		if err != nil {
			return err
		}
		images := shape[0] * shape[1]
		if images == 0 {
			return nil
		}
		nd := len(g.img)
		// With an image to fill the input holds kprod*lprod elements, which
		// bounds the tables below.
		// pos[d][k*nblk[d]+l] is the image coordinate on axis d of block
		// element k of block l, or -1 in the padding.
		pos := make([][]int, nd)
		for d := 0; d < nd; d++ {
			pos[d] = make([]int, g.blk[d]*g.nblk[d])
			for k := 0; k < g.blk[d]; k++ {
				for l := 0; l < g.nblk[d]; l++ {
					p := l*a.str[d] - a.pads[d] + k*a.dil[d]
					if p < 0 || p >= g.img[d] {
						p = -1
					}
					pos[d][k*g.nblk[d]+l] = p
				}
			}
		}
		imgSize := 1
		for _, d := range g.img {
			imgSize *= d
		}
		env.ParallelFor(images, 1, func(lo, hi int) {
			kidx := make([]int, nd)
			lidx := make([]int, nd)
			for im := lo; im < hi; im++ {
				dst := y[im*imgSize : (im+1)*imgSize]
				clear(dst)
				src := col[im*g.kprod*g.lprod : (im+1)*g.kprod*g.lprod]
				clear(kidx)
				for k := 0; k < g.kprod; k++ {
					row := src[k*g.lprod : (k+1)*g.lprod]
					clear(lidx)
					for l := range row {
						off, ok := 0, true
						for d := 0; d < nd; d++ {
							p := pos[d][kidx[d]*g.nblk[d]+lidx[d]]
							if p < 0 {
								ok = false
								break
							}
							off = off*g.img[d] + p
						}
						if ok {
							dst[off] += row[l]
						}
						for d := nd - 1; d >= 0; d-- { // next block, row-major
							if lidx[d]++; lidx[d] < g.nblk[d] {
								break
							}
							lidx[d] = 0
						}
					}
					for d := nd - 1; d >= 0; d-- { // next block element
						if kidx[d]++; kidx[d] < g.blk[d] {
							break
						}
						kidx[d] = 0
					}
				}
			}
		})
		return nil
	}
}

func extraPrepareCenterCropPad(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, allTypes); err != nil {
		return nil, err
	}
	if err := extraKnown(n, 0); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Int32, tensor.Int64}); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape
	rank := len(xs)
	axesAttr := n.Attrs.Ints("axes", nil)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	axes := make([]int, 0, rank)
	if axesAttr == nil {
		for i := 0; i < rank; i++ {
			axes = append(axes, i)
		}
	} else {
		seen := make([]bool, rank)
		for _, a := range axesAttr {
			ax, err := normAxis(n, a, rank)
			if err != nil {
				return nil, err
			}
			if seen[ax] {
				return nil, n.Errorf("axis %d given twice in %v", ax, axesAttr)
			}
			seen[ax] = true
			axes = append(axes, ax)
		}
	}
	if st := n.Inputs[1]; !st.UnknownRank && (len(st.Shape) != 1 || (st.Shape[0] >= 0 && st.Shape[0] != len(axes))) {
		return nil, n.Errorf("shape must be 1-D with %d values (one per axis), got %s", len(axes), st)
	}
	out := xs.Clone()
	for _, ax := range axes {
		out[ax] = -1
	}
	if v := n.Inputs[1].Value; v != nil {
		s, err := extraCropShape(v, xs, axes)
		if err != nil {
			return nil, err
		}
		out = s
		if err := nnCheckSize(n, out); err != nil {
			return nil, err
		}
	}
	dt := n.Inputs[0].DType
	k := func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x := in[0]
		shape, err := extraCropShape(in[1], x.Shape(), axes)
		if err != nil {
			return err
		}
		y, err := env.Output(outs, 0, dt, shape)
		if err != nil {
			return err
		}
		r := len(shape)
		srcOff, dstOff, cnt := make([]int, r), make([]int, r), make([]int, r)
		for i := 0; i < r; i++ {
			a, b := x.Shape()[i], shape[i]
			if b <= a { // crop: the window starts (a-b)/2 in
				srcOff[i], cnt[i] = (a-b)/2, b
			} else { // pad: the input lands (b-a)/2 in
				dstOff[i], cnt[i] = (b-a)/2, a
			}
		}
		if dt == tensor.String {
			src, err := tensor.View[string](x)
			if err != nil {
				return err
			}
			dst, err := tensor.View[string](y)
			if err != nil {
				return err
			}
			clear(dst)
			extraCopyBox(dst, src, shape, x.Shape(), dstOff, srcOff, cnt, 1)
			return nil
		}
		src, ok1 := x.HostBytes()
		dst, ok2 := y.HostBytes()
		if !ok1 || !ok2 {
			return errorf("CenterCropPad: tensors are not host-readable")
		}
		clear(dst)
		extraCopyBox(dst, src, shape, x.Shape(), dstOff, srcOff, cnt, dt.Size())
		return nil
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

// extraCropShape is the input shape with the axes set to the sizes in t.
func extraCropShape(t *tensor.Tensor, in tensor.Shape, axes []int) (tensor.Shape, error) {
	v, err := intsOf(t)
	if err != nil {
		return nil, err
	}
	if len(v) != len(axes) {
		return nil, errorf("CenterCropPad: shape has %d values for %d axes", len(v), len(axes))
	}
	out := in.Clone()
	for i, ax := range axes {
		if v[i] < 0 || v[i] > 1<<40 {
			return nil, errorf("CenterCropPad: bad size %d for axis %d", v[i], ax)
		}
		out[ax] = int(v[i])
	}
	return out, nil
}

// extraCopyBox copies the box of cnt elements starting at srcOff in src to
// dstOff in dst (row-major tensors of the given shapes). unit is the size
// of an element in the slices' terms: bytes per element, or 1 for strings.
func extraCopyBox[T any](dst, src []T, dstShape, srcShape tensor.Shape, dstOff, srcOff, cnt []int, unit int) {
	r := len(cnt)
	for _, c := range cnt {
		if c == 0 {
			return
		}
	}
	if r == 0 {
		copy(dst[:unit], src[:unit])
		return
	}
	ds, ss := dstShape.Strides(), srcShape.Strides()
	run := cnt[r-1] * unit
	idx := make([]int, r-1)
	for {
		d, s := dstOff[r-1], srcOff[r-1]
		for i := 0; i < r-1; i++ {
			d += (dstOff[i] + idx[i]) * ds[i]
			s += (srcOff[i] + idx[i]) * ss[i]
		}
		copy(dst[d*unit:d*unit+run], src[s*unit:s*unit+run])
		i := r - 2
		for ; i >= 0; i-- {
			if idx[i]++; idx[i] < cnt[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}
