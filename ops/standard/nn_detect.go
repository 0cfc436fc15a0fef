package standard

import (
	"math"
	"sort"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// RoiAlign, NonMaxSuppression, GridSample and Det. RoiAlign and
// GridSample follow ONNX Runtime's CPU kernels, which the ONNX reference
// implementation mirrors.

func prepareRoiAlign(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0, 1); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1); err != nil {
		return nil, err
	}
	if err := checkType(n, 2, []tensor.DType{tensor.Int64}); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 2); err != nil {
		return nil, err
	}
	xs, rs, bs := n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape
	if len(xs) != 4 {
		return nil, n.Errorf("X must be N x C x H x W, got %v", xs)
	}
	if len(rs) != 2 || rs[1] != 4 {
		return nil, n.Errorf("rois must be num_rois x 4, got %v", rs)
	}
	if len(bs) != 1 || bs[0] != rs[0] {
		return nil, n.Errorf("batch_indices must be [%d], got %v", rs[0], bs)
	}
	at := n.Attrs
	ctm := "output_half_pixel"
	if n.Opset >= 16 {
		ctm = at.String("coordinate_transformation_mode", "half_pixel")
	}
	mode := at.String("mode", "avg")
	oh := at.Int("output_height", 1)
	ow := at.Int("output_width", 1)
	sr := at.Int("sampling_ratio", 0)
	scale := float64(at.Float("spatial_scale", 1))
	if err := at.Err(); err != nil {
		return nil, err
	}
	if ctm != "half_pixel" && ctm != "output_half_pixel" {
		return nil, n.Errorf("unknown coordinate_transformation_mode %q", ctm)
	}
	if mode != "avg" && mode != "max" {
		return nil, n.Errorf("unknown mode %q", mode)
	}
	if oh < 1 || ow < 1 || sr < 0 || oh > 1<<20 || ow > 1<<20 {
		return nil, n.Errorf("bad output size %dx%d or sampling_ratio %d", oh, ow, sr)
	}
	out := tensor.Shape{rs[0], xs[1], int(oh), int(ow)}
	if err := nnCheckSize(n, out); err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	cfg := nnRoiCfg{half: ctm == "half_pixel", max: mode == "max", oh: int(oh), ow: int(ow), sr: int(sr), scale: scale,
		n: xs[0], c: xs[1], h: xs[2], w: xs[3]}
	k, err := nnFloat(n, dt, nnRoiAlignKernel[float32](cfg, out), nnRoiAlignKernel[float64](cfg, out))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

type nnRoiCfg struct {
	half, max  bool
	oh, ow, sr int
	scale      float64
	n, c, h, w int
}

type nnRoiSample struct {
	pos [4]int
	w   [4]float64
}

func nnRoiAlignKernel[T float32 | float64](cfg nnRoiCfg, out tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		rois, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		bidx, err := tensor.View[int64](in[2])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		for _, b := range bidx {
			if b < 0 || b >= int64(cfg.n) {
				return errorf("RoiAlign: batch index %d out of range [0, %d)", b, cfg.n)
			}
		}
		H, W := cfg.h, cfg.w
		if H == 0 || W == 0 {
			clear(y)
			return nil
		}
		env.ParallelFor(len(bidx), 1, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				off := 0.0
				if cfg.half {
					off = 0.5
				}
				x1 := float64(rois[r*4])*cfg.scale - off
				y1 := float64(rois[r*4+1])*cfg.scale - off
				x2 := float64(rois[r*4+2])*cfg.scale - off
				y2 := float64(rois[r*4+3])*cfg.scale - off
				rw, rh := x2-x1, y2-y1
				if !cfg.half {
					rw, rh = max(rw, 1), max(rh, 1)
				}
				bh, bw := rh/float64(cfg.oh), rw/float64(cfg.ow)
				gh, gw := cfg.sr, cfg.sr
				if cfg.sr == 0 {
					gh, gw = int(math.Ceil(rh/float64(cfg.oh))), int(math.Ceil(rw/float64(cfg.ow)))
				}
				count := float64(max(gh*gw, 1))
				// Bilinear samples per output bin, shared by every channel.
				samples := make([]nnRoiSample, 0, cfg.oh*cfg.ow*gh*gw)
				for ph := 0; ph < cfg.oh; ph++ {
					for pw := 0; pw < cfg.ow; pw++ {
						for iy := 0; iy < gh; iy++ {
							yy := y1 + float64(ph)*bh + (float64(iy)+0.5)*bh/float64(gh)
							for ix := 0; ix < gw; ix++ {
								xx := x1 + float64(pw)*bw + (float64(ix)+0.5)*bw/float64(gw)
								samples = append(samples, nnBilinearSample(yy, xx, H, W))
							}
						}
					}
				}
				per := gh * gw
				b := int(bidx[r])
				for c := 0; c < cfg.c; c++ {
					xc := x[(b*cfg.c+c)*H*W : (b*cfg.c+c+1)*H*W]
					yc := y[(r*cfg.c+c)*cfg.oh*cfg.ow : (r*cfg.c+c+1)*cfg.oh*cfg.ow]
					for bin := range yc {
						ss := samples[bin*per : (bin+1)*per]
						var acc float64
						first := true
						for _, s := range ss {
							if cfg.max {
								v := max(s.w[0]*float64(xc[s.pos[0]]), s.w[1]*float64(xc[s.pos[1]]),
									s.w[2]*float64(xc[s.pos[2]]), s.w[3]*float64(xc[s.pos[3]]))
								if first || v > acc {
									acc = v
								}
								first = false
								continue
							}
							acc += s.w[0]*float64(xc[s.pos[0]]) + s.w[1]*float64(xc[s.pos[1]]) +
								s.w[2]*float64(xc[s.pos[2]]) + s.w[3]*float64(xc[s.pos[3]])
						}
						if !cfg.max {
							acc /= count
						}
						yc[bin] = T(acc)
					}
				}
			}
		})
		return nil
	}
}

// nnBilinearSample is RoiAlign's bilinear tap at (y, x): zero weights
// outside [-1, size], clamped at the borders.
func nnBilinearSample(y, x float64, H, W int) nnRoiSample {
	var s nnRoiSample
	if y < -1 || y > float64(H) || x < -1 || x > float64(W) {
		return s
	}
	y, x = max(y, 0), max(x, 0)
	yl, xl := int(y), int(x)
	var yh, xh int
	if yl >= H-1 {
		yl, yh, y = H-1, H-1, float64(H-1)
	} else {
		yh = yl + 1
	}
	if xl >= W-1 {
		xl, xh, x = W-1, W-1, float64(W-1)
	} else {
		xh = xl + 1
	}
	ly, lx := y-float64(yl), x-float64(xl)
	hy, hx := 1-ly, 1-lx
	s.pos = [4]int{yl*W + xl, yl*W + xh, yh*W + xl, yh*W + xh}
	s.w = [4]float64{hy * hx, hy * lx, ly * hx, ly * lx}
	return s
}

func prepareNMS(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, []tensor.DType{tensor.Float32}); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, []tensor.DType{tensor.Float32}); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 0); err != nil {
		return nil, err
	}
	if err := nnStatic(n, 1); err != nil {
		return nil, err
	}
	bs, ss := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(bs) != 3 || bs[2] != 4 {
		return nil, n.Errorf("boxes must be batch x spatial x 4, got %v", bs)
	}
	if len(ss) != 3 || ss[0] != bs[0] || ss[2] != bs[1] {
		return nil, n.Errorf("scores %v do not match boxes %v", ss, bs)
	}
	if t := n.Input(2); t.Present() && t.DType != tensor.Int64 {
		return nil, n.Errorf("max_output_boxes_per_class must be int64")
	}
	for i := 3; i < 5; i++ {
		if t := n.Input(i); t.Present() && t.DType != tensor.Float32 {
			return nil, n.Errorf("input %d must be float32", i)
		}
	}
	center := n.Attrs.Int("center_point_box", 0)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if center != 0 && center != 1 {
		return nil, n.Errorf("center_point_box must be 0 or 1, got %d", center)
	}
	batches, classes, spatial := ss[0], ss[1], ss[2]
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		boxes, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		scores, err := tensor.View[float32](in[1])
		if err != nil {
			return err
		}
		var maxOut int64
		iou, thr := float32(0), float32(math.Inf(-1))
		if t := nnAt(in, 2); t != nil && t.Len() > 0 {
			v, err := tensor.View[int64](t)
			if err != nil {
				return err
			}
			maxOut = v[0]
		}
		if t := nnAt(in, 3); t != nil && t.Len() > 0 {
			v, err := tensor.View[float32](t)
			if err != nil {
				return err
			}
			iou = v[0]
		}
		hasThr := false
		if t := nnAt(in, 4); t != nil && t.Len() > 0 {
			v, err := tensor.View[float32](t)
			if err != nil {
				return err
			}
			thr, hasThr = v[0], true
		}
		if iou < 0 || iou > 1 {
			return errorf("NonMaxSuppression: iou_threshold %v outside [0, 1]", iou)
		}
		maxOut = min(maxOut, int64(spatial))
		var sel []int64
		corners := func(b, i int) (y1, x1, y2, x2 float32) {
			v := boxes[(b*spatial+i)*4 : (b*spatial+i)*4+4]
			if center == 1 {
				xc, yc, w, h := v[0], v[1], v[2], v[3]
				return yc - h/2, xc - w/2, yc + h/2, xc + w/2
			}
			return min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])
		}
		overlaps := func(b, i, j int) bool {
			ay1, ax1, ay2, ax2 := corners(b, i)
			by1, bx1, by2, bx2 := corners(b, j)
			ih := min(ay2, by2) - max(ay1, by1)
			iw := min(ax2, bx2) - max(ax1, bx1)
			if ih <= 0 || iw <= 0 {
				return false
			}
			inter := ih * iw
			union := (ay2-ay1)*(ax2-ax1) + (by2-by1)*(bx2-bx1) - inter
			if union <= 0 {
				return false
			}
			return inter/union > iou
		}
		for b := 0; b < batches && maxOut > 0; b++ {
			for c := 0; c < classes; c++ {
				sc := scores[(b*classes+c)*spatial : (b*classes+c+1)*spatial]
				var cand []int
				for i, s := range sc {
					if !hasThr || s > thr {
						cand = append(cand, i)
					}
				}
				sort.SliceStable(cand, func(i, j int) bool { return sc[cand[i]] > sc[cand[j]] })
				var kept []int
				for _, i := range cand {
					if int64(len(kept)) >= maxOut {
						break
					}
					ok := true
					for _, j := range kept {
						if overlaps(b, i, j) {
							ok = false
							break
						}
					}
					if ok {
						kept = append(kept, i)
						sel = append(sel, int64(b), int64(c), int64(i))
					}
				}
			}
		}
		y, err := nnOut[int64](env, out, 0, tensor.Shape{len(sel) / 3, 3})
		if err != nil {
			return err
		}
		copy(y, sel)
		return nil
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Int64, tensor.Shape{-1, 3})}, Kernel: k}, nil
}

func prepareGridSample(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0, 1); err != nil {
		return nil, err
	}
	xs, gs := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(xs) != 4 || len(gs) != 4 || gs[3] != 2 || gs[0] != xs[0] {
		return nil, n.Errorf("GridSample supports X N x C x H x W with grid N x H_out x W_out x 2; got %v and %v", xs, gs)
	}
	at := n.Attrs
	align := at.Int("align_corners", 0) != 0
	defMode := "bilinear"
	if n.Opset >= 20 {
		defMode = "linear"
	}
	mode := at.String("mode", defMode)
	pad := at.String("padding_mode", "zeros")
	if err := at.Err(); err != nil {
		return nil, err
	}
	switch mode {
	case "linear", "bilinear":
		mode = "linear"
	case "cubic", "bicubic":
		mode = "cubic"
	case "nearest":
	default:
		return nil, n.Errorf("unknown mode %q", mode)
	}
	if pad != "zeros" && pad != "border" && pad != "reflection" {
		return nil, n.Errorf("unknown padding_mode %q", pad)
	}
	out := tensor.Shape{xs[0], xs[1], gs[1], gs[2]}
	dt := n.Inputs[0].DType
	cfg := nnGridCfg{align: align, mode: mode, pad: pad, n: xs[0], c: xs[1], h: xs[2], w: xs[3], oh: gs[1], ow: gs[2]}
	k, err := nnFloat(n, dt, nnGridSampleKernel[float32](cfg, out), nnGridSampleKernel[float64](cfg, out))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

type nnGridCfg struct {
	align              bool
	mode, pad          string
	n, c, h, w, oh, ow int
}

func nnGsDenorm(v float64, size int, align bool) float64 {
	if align {
		return (v + 1) / 2 * float64(size-1)
	}
	return ((v+1)*float64(size) - 1) / 2
}

func nnGsReflect(x, lo, hi float64) float64 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	if x < lo {
		dx := lo - x
		k := int(dx / rng)
		r := dx - float64(k)*rng
		if k%2 == 0 {
			return lo + r
		}
		return hi - r
	}
	if x > hi {
		dx := x - hi
		k := int(dx / rng)
		r := dx - float64(k)*rng
		if k%2 == 0 {
			return hi - r
		}
		return lo + r
	}
	return x
}

func nnCubicCoeffs(t float64) [4]float64 {
	const a = -0.75
	x := math.Abs(t)
	return [4]float64{
		((a*(x+1)-5*a)*(x+1)+8*a)*(x+1) - 4*a,
		((a+2)*x-(a+3))*x*x + 1,
		((a+2)*(1-x)-(a+3))*(1-x)*(1-x) + 1,
		((a*(2-x)-5*a)*(2-x)+8*a)*(2-x) - 4*a,
	}
}

func nnGridSampleKernel[T float32 | float64](cfg nnGridCfg, out tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		grid, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		H, W := cfg.h, cfg.w
		if H == 0 || W == 0 {
			clear(y)
			return nil
		}
		xmin, ymin, xmax, ymax := -0.5, -0.5, float64(W)-0.5, float64(H)-0.5
		if cfg.align {
			xmin, ymin, xmax, ymax = 0, 0, float64(W-1), float64(H-1)
		}
		pixel := func(img []T, r, c int) float64 {
			switch cfg.pad {
			case "zeros":
				if r < 0 || r >= H || c < 0 || c >= W {
					return 0
				}
			case "border":
				r, c = min(max(r, 0), H-1), min(max(c, 0), W-1)
			default:
				c = int(nnGsReflect(float64(c), xmin, xmax))
				r = int(nnGsReflect(float64(r), ymin, ymax))
				r, c = min(max(r, 0), H-1), min(max(c, 0), W-1)
			}
			return float64(img[r*W+c])
		}
		env.ParallelFor(cfg.n*cfg.c, 1, func(lo, hi int) {
			for nc := lo; nc < hi; nc++ {
				b := nc / cfg.c
				img := x[nc*H*W : (nc+1)*H*W]
				dst := y[nc*cfg.oh*cfg.ow : (nc+1)*cfg.oh*cfg.ow]
				g := grid[b*cfg.oh*cfg.ow*2:]
				for i := range dst {
					gx := nnGsDenorm(float64(g[2*i]), W, cfg.align)
					gy := nnGsDenorm(float64(g[2*i+1]), H, cfg.align)
					if cfg.mode == "nearest" {
						gx, gy = math.RoundToEven(gx), math.RoundToEven(gy)
					}
					if gx < xmin || gx > xmax || gy < ymin || gy > ymax {
						switch cfg.pad {
						case "border":
							gx, gy = min(max(gx, 0), float64(W-1)), min(max(gy, 0), float64(H-1))
						case "reflection":
							gx, gy = nnGsReflect(gx, xmin, xmax), nnGsReflect(gy, ymin, ymax)
						}
					}
					switch cfg.mode {
					case "nearest":
						gx, gy = math.RoundToEven(gx), math.RoundToEven(gy)
						dst[i] = T(pixel(img, int(gy), int(gx)))
					case "linear":
						x1, y1 := math.Floor(gx), math.Floor(gy)
						c1, r1 := int(x1), int(y1)
						p11, p12 := pixel(img, r1, c1), pixel(img, r1, c1+1)
						p21, p22 := pixel(img, r1+1, c1), pixel(img, r1+1, c1+1)
						dx1, dy1 := gx-x1, gy-y1
						dx2, dy2 := 1-dx1, 1-dy1
						dst[i] = T(dy2*(dx2*p11+dx1*p12) + dy1*(dx2*p21+dx1*p22))
					default:
						x0, y0 := math.Floor(gx)-1, math.Floor(gy)-1
						cx := nnCubicCoeffs(gx - x0 - 1)
						cy := nnCubicCoeffs(gy - y0 - 1)
						var v float64
						for r := 0; r < 4; r++ {
							var row float64
							for c := 0; c < 4; c++ {
								row += cx[c] * pixel(img, int(y0)+r, int(x0)+c)
							}
							v += cy[r] * row
						}
						dst[i] = T(v)
					}
				}
			}
		})
		return nil
	}
}

func prepareDet(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape
	if len(xs) < 2 || xs[len(xs)-1] != xs[len(xs)-2] {
		return nil, n.Errorf("Det needs square matrices in the last two dims, got %v", xs)
	}
	out := xs[:len(xs)-2].Clone()
	m := xs[len(xs)-1]
	dt := n.Inputs[0].DType
	k, err := nnFloat(n, dt, nnDetKernel[float32](m, out), nnDetKernel[float64](m, out))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, out)}, Kernel: k}, nil
}

// nnDetKernel computes determinants by LU decomposition with partial
// pivoting, in float64.
func nnDetKernel[T float32 | float64](m int, out tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, outs []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, outs, 0, out)
		if err != nil {
			return err
		}
		a := make([]float64, m*m)
		for b := range y {
			for i := range a {
				a[i] = float64(x[b*m*m+i])
			}
			det := 1.0
			for c := 0; c < m; c++ {
				p := c
				for r := c + 1; r < m; r++ {
					if math.Abs(a[r*m+c]) > math.Abs(a[p*m+c]) {
						p = r
					}
				}
				if a[p*m+c] == 0 {
					det = 0
					break
				}
				if p != c {
					for j := 0; j < m; j++ {
						a[p*m+j], a[c*m+j] = a[c*m+j], a[p*m+j]
					}
					det = -det
				}
				piv := a[c*m+c]
				det *= piv
				for r := c + 1; r < m; r++ {
					f := a[r*m+c] / piv
					for j := c; j < m; j++ {
						a[r*m+j] -= f * a[c*m+j]
					}
				}
			}
			y[b] = T(det)
		}
		return nil
	}
}
