package standard

import (
	"math"
	"unsafe"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// LpNormalization, MaxRoiPool, DeformConv and AffineGrid.

type extraFloat interface{ float32 | float64 }

func extraPrepareLpNorm(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, floatTypes); err != nil {
		return nil, err
	}
	if err := extraKnown(n, 0); err != nil {
		return nil, err
	}
	axis := n.Attrs.Int("axis", -1)
	p := n.Attrs.Int("p", 2)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if p != 1 && p != 2 {
		return nil, n.Errorf("p must be 1 or 2, got %d", p)
	}
	x := n.Inputs[0]
	ax, err := normAxis(n, axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	outer, inner := 1, 1
	for _, d := range x.Shape[:ax] {
		outer *= d
	}
	for _, d := range x.Shape[ax+1:] {
		inner *= d
	}
	size := x.Shape[ax]
	k, err := extraFloatKernel(n, x.DType,
		extraLpNormKernel[float32](outer, size, inner, p == 1),
		extraLpNormKernel[float64](outer, size, inner, p == 1))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, x.Shape.Clone())}, Kernel: k}, nil
}

// extraLpNormKernel normalizes each vector along the axis; a zero vector
// stays zero (the ONNX tests define 0/0 as 0 here).
func extraLpNormKernel[T extraFloat](outer, size, inner int, l1 bool) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, out, 0, in[0].Shape())
		if err != nil {
			return err
		}
		env.ParallelFor(outer*inner, max(1, 4096/max(size, 1)), func(lo, hi int) {
			for v := lo; v < hi; v++ {
				base := (v/inner)*size*inner + v%inner
				var norm float64
				for i := 0; i < size; i++ {
					e := float64(x[base+i*inner])
					if l1 {
						norm += math.Abs(e)
					} else {
						norm += e * e
					}
				}
				if !l1 {
					norm = math.Sqrt(norm)
				}
				for i := 0; i < size; i++ {
					j := base + i*inner
					if norm == 0 {
						y[j] = 0
					} else {
						y[j] = T(float64(x[j]) / norm)
					}
				}
			}
		})
		return nil
	}
}

func extraPrepareMaxRoiPool(n *ops.Node) (*ops.Plan, error) {
	for i := 0; i < 2; i++ {
		if err := checkType(n, i, floatTypes); err != nil {
			return nil, err
		}
		if err := extraKnown(n, i); err != nil {
			return nil, err
		}
	}
	if err := checkSameType(n, 0, 1); err != nil {
		return nil, err
	}
	a := n.Attrs
	a.Require("pooled_shape")
	pooled := a.Ints("pooled_shape", nil)
	scale := a.Float("spatial_scale", 1)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if len(pooled) != 2 || pooled[0] < 1 || pooled[1] < 1 || pooled[0] > 1<<20 || pooled[1] > 1<<20 {
		return nil, n.Errorf("pooled_shape must be two positive sizes, got %v", pooled)
	}
	if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
		return nil, n.Errorf("spatial_scale %v is not finite", scale)
	}
	xs, rs := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(xs) != 4 {
		return nil, n.Errorf("X must be N x C x H x W, got %v", xs)
	}
	if len(rs) != 2 || rs[1] != 5 {
		return nil, n.Errorf("rois must be num_rois x 5, got %v", rs)
	}
	out := tensor.Shape{rs[0], xs[1], int(pooled[0]), int(pooled[1])}
	if err := nnCheckSize(n, out); err != nil {
		return nil, err
	}
	cfg := extraRoiCfg{ph: int(pooled[0]), pw: int(pooled[1]), scale: float64(scale), n: xs[0], c: xs[1], h: xs[2], w: xs[3], rois: rs[0]}
	dt := n.Inputs[0].DType
	k, err := extraFloatKernel(n, dt, extraMaxRoiPoolKernel[float32](cfg, out), extraMaxRoiPoolKernel[float64](cfg, out))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

type extraRoiCfg struct {
	ph, pw           int
	scale            float64
	n, c, h, w, rois int
}

// extraRoundCoord rounds half away from zero (C's round, as Caffe and
// ONNX Runtime do), clamped so that absurd coordinates cannot overflow.
func extraRoundCoord(v float64) int {
	return int(math.Round(math.Max(-1<<40, math.Min(1<<40, v))))
}

// extraMaxRoiPoolKernel follows ONNX Runtime's (Caffe's) RoI pooling: ROI
// corners are rounded to pixels, each bin covers floor..ceil of its share of
// the ROI, and an empty bin gives 0. Bin arithmetic is done in T, as there.
func extraMaxRoiPoolKernel[T extraFloat](cfg extraRoiCfg, outShape tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		rois, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, out, 0, outShape)
		if err != nil {
			return err
		}
		for r := 0; r < cfg.rois; r++ {
			b := float64(rois[r*5])
			if math.IsNaN(b) || b <= -1 || b >= float64(cfg.n) { // truncated to an index below
				return errorf("MaxRoiPool: roi %d has batch index %v, batch size is %d", r, b, cfg.n)
			}
			for j := 1; j < 5; j++ {
				if v := float64(rois[r*5+j]); math.IsNaN(v) || math.IsInf(v, 0) {
					return errorf("MaxRoiPool: roi %d has a coordinate %v", r, v)
				}
			}
		}
		plane := cfg.h * cfg.w
		bins := cfg.ph * cfg.pw
		env.ParallelFor(cfg.rois*cfg.c, 1, func(lo, hi int) {
			hs, he := make([]int, cfg.ph), make([]int, cfg.ph)
			ws, we := make([]int, cfg.pw), make([]int, cfg.pw)
			lastRoi := -1
			for rc := lo; rc < hi; rc++ {
				r, c := rc/cfg.c, rc%cfg.c
				roi := rois[r*5 : r*5+5]
				if r != lastRoi {
					lastRoi = r
					scale := T(cfg.scale)
					sw := extraRoundCoord(float64(roi[1] * scale))
					sh := extraRoundCoord(float64(roi[2] * scale))
					ew := extraRoundCoord(float64(roi[3] * scale))
					eh := extraRoundCoord(float64(roi[4] * scale))
					binH := T(max(eh-sh+1, 1)) / T(cfg.ph) // malformed ROIs are forced to one pixel
					binW := T(max(ew-sw+1, 1)) / T(cfg.pw)
					for i := range hs {
						hs[i] = min(max(int(math.Floor(float64(T(i)*binH)))+sh, 0), cfg.h)
						he[i] = min(max(int(math.Ceil(float64(T(i+1)*binH)))+sh, 0), cfg.h)
					}
					for i := range ws {
						ws[i] = min(max(int(math.Floor(float64(T(i)*binW)))+sw, 0), cfg.w)
						we[i] = min(max(int(math.Ceil(float64(T(i+1)*binW)))+sw, 0), cfg.w)
					}
				}
				src := x[(int(roi[0])*cfg.c+c)*plane:][:plane]
				dst := y[rc*bins : (rc+1)*bins]
				for i := 0; i < cfg.ph; i++ {
					for j := 0; j < cfg.pw; j++ {
						if he[i] <= hs[i] || we[j] <= ws[j] {
							dst[i*cfg.pw+j] = 0
							continue
						}
						m := T(math.Inf(-1))
						for yy := hs[i]; yy < he[i]; yy++ {
							for _, v := range src[yy*cfg.w+ws[j] : yy*cfg.w+we[j]] {
								if v > m || v != v { // NaN propagates
									m = v
								}
							}
						}
						dst[i*cfg.pw+j] = m
					}
				}
			}
		})
		return nil
	}
}

func extraPrepareDeformConv(n *ops.Node) (*ops.Plan, error) {
	for _, i := range []int{0, 1, 2, 3, 4} {
		if i >= 3 && !n.Input(i).Present() {
			continue
		}
		if err := checkType(n, i, floatTypes); err != nil {
			return nil, err
		}
		if err := extraKnown(n, i); err != nil {
			return nil, err
		}
	}
	if err := checkSameType(n, 0, 1, 2, 3, 4); err != nil {
		return nil, err
	}
	xs, ws, os := n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape
	if len(xs) != 4 || len(ws) != 4 || len(os) != 4 {
		return nil, n.Errorf("only 2-D DeformConv is supported: X %v, W %v and offset %v must be 4-D", xs, ws, os)
	}
	a := n.Attrs
	group := a.Int("group", 1)
	og := a.Int("offset_group", 1)
	ks := a.Ints("kernel_shape", nil)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if ks != nil && (len(ks) != 2 || ks[0] != int64(ws[2]) || ks[1] != int64(ws[3])) {
		return nil, n.Errorf("kernel_shape %v does not match W %v", ks, ws)
	}
	dil, err := extraInts(n, "dilations", 2, 1, 1)
	if err != nil {
		return nil, err
	}
	str, err := extraInts(n, "strides", 2, 1, 1)
	if err != nil {
		return nil, err
	}
	pads, err := extraInts(n, "pads", 4, 0, 0)
	if err != nil {
		return nil, err
	}
	N, C, H, W := xs[0], xs[1], xs[2], xs[3]
	oc, kh, kw := ws[0], ws[2], ws[3]
	if group < 1 || og < 1 || int64(C) != int64(ws[1])*group || int64(oc)%group != 0 || int64(C)%og != 0 {
		return nil, n.Errorf("X %v, W %v, group %d and offset_group %d do not fit", xs, ws, group, og)
	}
	if kh < 1 || kw < 1 {
		return nil, n.Errorf("empty kernel %v", ws)
	}
	oh := (H+pads[0]+pads[2]-(dil[0]*(kh-1)+1))/str[0] + 1
	ow := (W+pads[1]+pads[3]-(dil[1]*(kw-1)+1))/str[1] + 1
	if oh < 1 || ow < 1 {
		return nil, n.Errorf("kernel %dx%d with dilations %v does not fit input %dx%d padded by %v", kh, kw, dil, H, W, pads)
	}
	kk := kh * kw
	if want := (tensor.Shape{N, int(og) * kk * 2, oh, ow}); !os.Equal(want) {
		return nil, n.Errorf("offset has shape %v, want %v", os, want)
	}
	if b := n.Input(3); b.Present() && !b.Shape.Equal(tensor.Shape{oc}) {
		return nil, n.Errorf("B has shape %v, want [%d]", b.Shape, oc)
	}
	if m := n.Input(4); m.Present() && !m.Shape.Equal(tensor.Shape{N, int(og) * kk, oh, ow}) {
		return nil, n.Errorf("mask has shape %v, want %v", m.Shape, tensor.Shape{N, int(og) * kk, oh, ow})
	}
	out := tensor.Shape{N, oc, oh, ow}
	if err := nnCheckSize(n, out); err != nil {
		return nil, err
	}
	cfg := extraDeformCfg{n: N, c: C, h: H, w: W, oc: oc, kh: kh, kw: kw, oh: oh, ow: ow,
		group: int(group), og: int(og), sh: str[0], sw: str[1], dh: dil[0], dw: dil[1], ph: pads[0], pw: pads[1]}
	dt := n.Inputs[0].DType
	k, err := extraFloatKernel(n, dt, extraDeformConvKernel[float32](cfg, out), extraDeformConvKernel[float64](cfg, out))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

type extraDeformCfg struct {
	n, c, h, w, oc, kh, kw, oh, ow int
	group, og                      int
	sh, sw, dh, dw, ph, pw         int
}

// extraBilinear samples a plane at a real pixel position; neighbours outside
// the plane count as zero (GridSample with align_corners=1 and zeros
// padding, as the ONNX reference and torchvision sample).
func extraBilinear[T extraFloat](p []T, h, w int, y, x T) T {
	if !(y > -1 && y < T(h) && x > -1 && x < T(w)) { // also rejects NaN
		return 0
	}
	y0, x0 := int(math.Floor(float64(y))), int(math.Floor(float64(x)))
	ly, lx := y-T(y0), x-T(x0)
	var v T
	if y0 >= 0 {
		if x0 >= 0 {
			v += (1 - ly) * (1 - lx) * p[y0*w+x0]
		}
		if x0+1 < w {
			v += (1 - ly) * lx * p[y0*w+x0+1]
		}
	}
	if y0+1 < h {
		if x0 >= 0 {
			v += ly * (1 - lx) * p[(y0+1)*w+x0]
		}
		if x0+1 < w {
			v += ly * lx * p[(y0+1)*w+x0+1]
		}
	}
	return v
}

// extraDeformConvKernel gathers, per image, the deformed (and masked)
// samples into columns [C*kh*kw, oh*ow] and multiplies each group's
// weights with its rows of them.
func extraDeformConvKernel[T extraFloat](cfg extraDeformCfg, outShape tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		wt, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		off, err := tensor.View[T](in[2])
		if err != nil {
			return err
		}
		var bias, mask []T
		if len(in) > 3 && in[3] != nil {
			if bias, err = tensor.View[T](in[3]); err != nil {
				return err
			}
		}
		if len(in) > 4 && in[4] != nil {
			if mask, err = tensor.View[T](in[4]); err != nil {
				return err
			}
		}
		y, err := nnOut[T](env, out, 0, outShape)
		if err != nil {
			return err
		}
		kk := cfg.kh * cfg.kw
		ohw := cfg.oh * cfg.ow
		rows := cfg.c * kk
		var zero T
		if err := extraCheckBytes(env, "DeformConv columns", int64(unsafe.Sizeof(zero)), rows, ohw); err != nil {
			return err
		}
		cols := make([]T, rows*ohw)
		cPerOG := cfg.c / cfg.og
		cPerG := cfg.c / cfg.group
		ocPerG := cfg.oc / cfg.group
		plane := cfg.h * cfg.w
		for b := 0; b < cfg.n; b++ {
			env.ParallelFor(rows, 1, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					c, k := r/kk, r%kk
					ki, kj := k/cfg.kw, k%cfg.kw
					g := c / cPerOG
					src := x[(b*cfg.c+c)*plane:][:plane]
					offH := off[((b*cfg.og+g)*kk*2+k*2)*ohw:][:ohw]
					offW := off[((b*cfg.og+g)*kk*2+k*2+1)*ohw:][:ohw]
					var m []T
					if mask != nil {
						m = mask[((b*cfg.og+g)*kk+k)*ohw:][:ohw]
					}
					dst := cols[r*ohw : (r+1)*ohw]
					for i := 0; i < cfg.oh; i++ {
						py := T(i*cfg.sh - cfg.ph + ki*cfg.dh)
						for j := 0; j < cfg.ow; j++ {
							p := i*cfg.ow + j
							px := T(j*cfg.sw - cfg.pw + kj*cfg.dw)
							v := extraBilinear(src, cfg.h, cfg.w, py+offH[p], px+offW[p])
							if m != nil {
								v *= m[p]
							}
							dst[p] = v
						}
					}
				}
			})
			env.ParallelFor(cfg.oc, 1, func(lo, hi int) {
				for o := lo; o < hi; o++ {
					dst := y[(b*cfg.oc+o)*ohw:][:ohw]
					var b0 T
					if bias != nil {
						b0 = bias[o]
					}
					for p := range dst {
						dst[p] = b0
					}
					g := o / ocPerG
					wrow := wt[o*cPerG*kk : (o+1)*cPerG*kk]
					base := g * cPerG * kk
					for q, wv := range wrow {
						if wv == 0 {
							continue
						}
						col := cols[(base+q)*ohw : (base+q+1)*ohw]
						for p, cv := range col {
							dst[p] += wv * cv
						}
					}
				}
			})
		}
		return nil
	}
}

func extraPrepareAffineGrid(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, floatTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Int64}); err != nil {
		return nil, err
	}
	if err := extraKnown(n, 0); err != nil {
		return nil, err
	}
	align := n.Attrs.Int("align_corners", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if align != 0 && align != 1 {
		return nil, n.Errorf("align_corners must be 0 or 1, got %d", align)
	}
	ts, ss := n.Inputs[0].Shape, n.Inputs[1].Shape
	if !n.Inputs[1].UnknownRank && (len(ss) != 1 || (ss[0] >= 0 && ss[0] != 4 && ss[0] != 5)) {
		return nil, n.Errorf("size must hold 4 (N, C, H, W) or 5 (N, C, D, H, W) values, got shape %v", ss)
	}
	if len(ts) != 3 || !((ts[1] == 2 && ts[2] == 3) || (ts[1] == 3 && ts[2] == 4)) {
		return nil, n.Errorf("theta must be N x 2 x 3 or N x 3 x 4, got %v", ts)
	}
	nd := ts[1] // spatial dims: 2 or 3
	if !n.Inputs[1].UnknownRank && ss[0] >= 0 && ss[0] != nd+2 {
		return nil, n.Errorf("theta %v needs a size of %d values, got %d", ts, nd+2, ss[0])
	}
	out := make(tensor.Shape, nd+2)
	out[0], out[nd+1] = ts[0], nd
	for i := 1; i <= nd; i++ {
		out[i] = -1
	}
	if v := n.Inputs[1].Value; v != nil {
		sp, err := extraAffineSize(v, ts[0], nd)
		if err != nil {
			return nil, err
		}
		copy(out[1:], sp)
		if err := nnCheckSize(n, out); err != nil {
			return nil, err
		}
	}
	dt := n.Inputs[0].DType
	k, err := extraFloatKernel(n, dt, extraAffineGridKernel[float32](nd, align == 1), extraAffineGridKernel[float64](nd, align == 1))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

// extraAffineSize checks the size input against theta's batch and returns
// the spatial sizes (D,) H, W.
func extraAffineSize(t *tensor.Tensor, batch, nd int) ([]int, error) {
	v, err := intsOf(t)
	if err != nil {
		return nil, err
	}
	if len(v) != nd+2 {
		return nil, errorf("size has %d values, theta needs %d", len(v), nd+2)
	}
	if v[0] != int64(batch) {
		return nil, errorf("size gives batch %d, theta has %d", v[0], batch)
	}
	sp := make([]int, nd)
	for i, d := range v[2:] {
		if d < 0 || d > 1<<31 {
			return nil, errorf("size %v has a bad spatial size", v)
		}
		sp[i] = int(d)
	}
	if v[1] < 0 {
		return nil, errorf("size %v has a negative channel count", v)
	}
	return sp, nil
}

// extraAffineBase is the normalized coordinate of pixel i of n in [-1, 1]:
// pixel centres (align_corners=0) or corners (1); a single pixel is 0,
// as in PyTorch's affine_grid.
func extraAffineBase[T extraFloat](i, n int, align bool) T {
	if n <= 1 {
		return 0
	}
	if align {
		return T(-1 + 2*float64(i)/float64(n-1))
	}
	return T((2*float64(i)+1)/float64(n) - 1)
}

func extraAffineGridKernel[T extraFloat](nd int, align bool) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		theta, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		batch := in[0].Shape()[0]
		sp, err := extraAffineSize(in[1], batch, nd)
		if err != nil {
			return err
		}
		shape := append(append(tensor.Shape{batch}, sp...), nd)
		var zero T
		if err := extraCheckBytes(env, "AffineGrid", int64(unsafe.Sizeof(zero)), shape...); err != nil {
			return err
		}
		g, err := nnOut[T](env, out, 0, shape)
		if err != nil {
			return err
		}
		d, h, w := 1, sp[nd-2], sp[nd-1]
		if nd == 3 {
			d = sp[0]
		}
		// Base coordinates per axis, computed once.
		xs, ys, zs := make([]T, w), make([]T, h), make([]T, d)
		for i := range xs {
			xs[i] = extraAffineBase[T](i, w, align)
		}
		for i := range ys {
			ys[i] = extraAffineBase[T](i, h, align)
		}
		for i := range zs {
			zs[i] = extraAffineBase[T](i, d, align)
		}
		per := d * h * w
		env.ParallelFor(batch*d*h, max(1, 4096/max(w, 1)), func(lo, hi int) {
			for row := lo; row < hi; row++ {
				b, rest := row/(d*h), row%(d*h)
				z, yy := rest/h, rest%h
				dst := g[(b*per+rest*w)*nd:][:w*nd]
				if nd == 2 {
					t := theta[b*6 : b*6+6]
					y := ys[yy]
					for j, x := range xs {
						dst[2*j] = t[0]*x + t[1]*y + t[2]
						dst[2*j+1] = t[3]*x + t[4]*y + t[5]
					}
					continue
				}
				t := theta[b*12 : b*12+12]
				y, zc := ys[yy], zs[z]
				for j, x := range xs {
					dst[3*j] = t[0]*x + t[1]*y + t[2]*zc + t[3]
					dst[3*j+1] = t[4]*x + t[5]*y + t[6]*zc + t[7]
					dst[3*j+2] = t[8]*x + t[9]*y + t[10]*zc + t[11]
				}
			}
		})
		return nil
	}
}
