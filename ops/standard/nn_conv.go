package standard

import (
	"math"
	"sync"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Conv, ConvTranspose, ConvInteger and QLinearConv. A convolution is one
// GEMM per image and group: W_g (M/g x C/g*K) times the im2col matrix of
// the input (C/g*K x output positions); pointwise convolutions multiply the
// input directly and depthwise 2-D convolutions take a direct path.

// nnConvPlan is a prepared convolution.
type nnConvPlan struct {
	w              *nnWindow
	batch, c, m, g int
	xShape, out    tensor.Shape
	pointwise      bool // 1x1 kernel, unit strides, no padding: im2col is the input itself
	depthwise      bool // 2-D with one input channel per group: direct loops

	// grid and rows hold the row offsets of B that kernels.SgemmRowsB
	// reads: of the padded grid (kernels.Im2col2D Offsets), and of the
	// input itself for a 1x1 convolution; computed by the first run that
	// needs them. nil when the plan was not made by nnConvSetup.
	grid, rows *nnOffsets
}

// nnOffsets memoizes row offsets in a plan.
type nnOffsets struct {
	once sync.Once
	offs []int
}

// get returns the memoized offsets, computing them with f the first time
// (every time when o is nil).
func (o *nnOffsets) get(f func() []int) []int {
	if o == nil {
		return f()
	}
	o.once.Do(func() { o.offs = f() })
	return o.offs
}

// gridOffsets returns g's padded-grid offsets.
func (p *nnConvPlan) gridOffsets(g *kernels.Im2col2D, hp, wp int) []int {
	return p.grid.get(func() []int { return g.Offsets(hp, wp) })
}

// nnPointwise computes the 1x1 convolution y = ep(w·x) of one group: x is
// k input planes of n values, y m output planes. The planes of x are read
// in place as the rows of B (kernels.SgemmRowsB) instead of being packed,
// unless their stride maps every row to the same few cache sets (a multiple
// of 2 KiB: 32x32 images, for one) or the product has few rows (the
// few-row kernels stream B as it is).
func nnPointwise(env *ops.Env, p *nnConvPlan, m, n, k int, w, x, y []float32, ep *kernels.Epilogue) {
	if m <= 8 || n*4%2048 == 0 {
		nnSgemm(env, false, false, m, n, k, 1, w, k, x, n, 0, y, n, ep)
		return
	}
	offs := p.rows.get(func() []int {
		o := make([]int, k)
		for i := range o {
			o[i] = i * n
		}
		return o
	})
	kernels.SgemmRowsB(nnWorkers(env), m, n, k, 1, w, k, x, offs, 0, y, n, ep)
}

// nnConvSetup validates X (input xi) and W (input wi) and the window
// attributes shared by Conv, ConvInteger and QLinearConv.
func nnConvSetup(n *ops.Node, xi, wi int) (*nnConvPlan, error) {
	xs, err := nnSpatial(n, xi, 3)
	if err != nil {
		return nil, err
	}
	ws, err := nnSpatial(n, wi, 3)
	if err != nil {
		return nil, err
	}
	if len(ws) != len(xs) {
		return nil, n.Errorf("X %v and W %v differ in rank", xs, ws)
	}
	at := n.Attrs
	group := at.Int("group", 1)
	ks := at.Ints("kernel_shape", nil)
	if err := at.Err(); err != nil {
		return nil, err
	}
	r := len(xs) - 2
	k := []int(ws[2:].Clone())
	if ks != nil {
		kk, err := nnIntsAttr(n, "kernel_shape", ks, r, 1, 1)
		if err != nil {
			return nil, err
		}
		for i := range kk {
			if kk[i] != k[i] {
				return nil, n.Errorf("kernel_shape %v differs from W %v", ks, ws)
			}
		}
	}
	c, m := xs[1], ws[0]
	if group < 1 || int64(c)%group != 0 || int64(m)%group != 0 {
		return nil, n.Errorf("group %d does not divide input channels %d and output channels %d", group, c, m)
	}
	g := int(group)
	if ws[1] != c/g {
		return nil, n.Errorf("W %v: dim 1 must be C/group = %d", ws, c/g)
	}
	w, err := nnWindowFor(n, []int(xs[2:].Clone()), k, false)
	if err != nil {
		return nil, err
	}
	p := &nnConvPlan{w: w, batch: xs[0], c: c, m: m, g: g, xShape: xs.Clone(), grid: new(nnOffsets), rows: new(nnOffsets)}
	p.out = append(tensor.Shape{xs[0], m}, w.out...)
	p.pointwise = true
	for i := 0; i < r; i++ {
		if w.k[i] != 1 || w.s[i] != 1 || w.pb[i] != 0 || w.pe[i] != 0 {
			p.pointwise = false
		}
	}
	p.depthwise = r == 2 && g == c && g > 1
	return p, nil
}

func prepareConv(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, floatTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, floatTypes); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1, 2); err != nil {
		return nil, err
	}
	p, err := nnConvSetup(n, 0, 1)
	if err != nil {
		return nil, err
	}
	if b := n.Input(2); b.Present() {
		if len(b.Shape) != 1 || b.Shape[0] != p.m {
			return nil, n.Errorf("bias B must have shape [%d], got %v", p.m, b.Shape)
		}
	}
	dt := n.Inputs[0].DType
	k, err := nnFloat(n, dt, nnConvKernel[float32](p), nnConvKernel[float64](p))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, p.out)}, Kernel: k, Overwrites: true}, nil
}

func nnConvKernel[T float32 | float64](p *nnConvPlan) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		w, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		var b []T
		if len(in) > 2 {
			if b, err = nnView[T](in[2]); err != nil {
				return err
			}
		}
		y, err := nnOut[T](env, out, 0, p.out)
		if err != nil {
			return err
		}
		return nnConvRun(env, p, x, w, b, y)
	}
}

// nnGemmT is C = A x B + beta*C for the element type (nnSgemm for float32).
func nnGemmT[T number](env *ops.Env, transA bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if af, ok := any(a).([]float32); ok {
		nnSgemm(env, transA, false, m, n, k, 1, af, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc, nil)
		return
	}
	nnGemmGeneric(env, transA, false, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// nnGemmBiasT is C = A x B + bias per row (bias may be nil).
func nnGemmBiasT[T number](env *ops.Env, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, bias []T) {
	if af, ok := any(a).([]float32); ok {
		var ep *kernels.Epilogue
		if bf, _ := any(bias).([]float32); bf != nil {
			ep = &kernels.Epilogue{RowBias: bf}
		}
		nnSgemm(env, false, false, m, n, k, 1, af, lda, any(b).([]float32), ldb, 0, any(c).([]float32), ldc, ep)
		return
	}
	var beta T
	if bias != nil {
		beta = 1
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] = bias[i]
			}
		}
	}
	nnGemmGeneric(env, false, false, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// nnScratch returns a scratch slice of n elements (pooled for float32) and
// its release function.
func nnScratch[T number](n int) ([]T, func()) {
	var zero T
	if _, ok := any(zero).(float32); ok {
		s, release := nnScratch32(n)
		return any(s).([]T), release
	}
	return make([]T, n), func() {}
}

// nnConvRun computes y = conv(x, w) + b for the plan; b may be nil.
func nnConvRun[T number](env *ops.Env, p *nnConvPlan, x, w, b, y []T) error {
	if xf, ok := any(x).([]float32); ok && p.depthwise {
		return nnDepthwise2D(env, p, xf, any(w).([]float32), any(b).([]float32), nil, any(y).([]float32), kernels.Activation{})
	}
	if xf, ok := any(x).([]float32); ok && !p.pointwise && len(p.w.k) == 2 {
		return nnConv2DPacked(env, p, xf, any(w).([]float32), any(b).([]float32), nil, any(y).([]float32), kernels.Activation{})
	}
	cg, mg := p.c/p.g, p.m/p.g
	kSize := nnProd(p.w.k)
	inS, outS := nnProd(p.w.in), nnProd(p.w.out)
	kk := cg * kSize
	var col []T
	if !p.pointwise {
		var release func()
		col, release = nnScratch[T](kk * outS)
		defer release()
	}
	for bi := 0; bi < p.batch; bi++ {
		for g := 0; g < p.g; g++ {
			xg := x[(bi*p.c+g*cg)*inS : (bi*p.c+(g+1)*cg)*inS]
			yg := y[(bi*p.m+g*mg)*outS : (bi*p.m+(g+1)*mg)*outS]
			wg := w[g*mg*kk : (g+1)*mg*kk]
			var bg []T
			if b != nil {
				bg = b[g*mg : (g+1)*mg]
			}
			src := xg
			if !p.pointwise {
				nnIm2col(env, p.w, xg, cg, col)
				src = col
			} else if xf, ok := any(xg).([]float32); ok {
				var ep *kernels.Epilogue
				if bg != nil {
					ep = &kernels.Epilogue{RowBias: any(bg).([]float32)}
				}
				nnPointwise(env, p, mg, outS, kk, any(wg).([]float32), xf, any(yg).([]float32), ep)
				continue
			}
			nnGemmBiasT(env, mg, outS, kk, wg, kk, src, outS, yg, outS, bg)
		}
	}
	return nil
}

// nnConv2DPacked is a float32 2-D convolution as one GEMM per image and
// group whose B, the im2col matrix, is packed straight from the image
// (kernels.SgemmPackedB) instead of being written out and read back:
// y = act(conv(x, w) + b + z), with the bias b and the residual z (of y's
// shape) optional, all applied in the GEMM's epilogue (FusedConv's).
func nnConv2DPacked(env *ops.Env, p *nnConvPlan, x, w, b, z, y []float32, act kernels.Activation) error {
	cg, mg := p.c/p.g, p.m/p.g
	win := p.w
	g := kernels.Im2col2D{
		C: cg, H: win.in[0], W: win.in[1], KH: win.k[0], KW: win.k[1],
		StrideH: win.s[0], StrideW: win.s[1], DilH: win.d[0], DilW: win.d[1],
		PadTop: win.pb[0], PadLeft: win.pb[1], OH: win.out[0], OW: win.out[1],
	}
	inS, outS, kk := win.in[0]*win.in[1], g.Cols(), g.Rows()
	if g.KH == 1 && g.KW == 1 && g.PadTop == 0 && g.PadLeft == 0 {
		return nnConv1x1Strided(env, p, &g, x, w, b, z, y, act)
	}
	// The padded grid (plain row copies instead of window gathers) when it
	// adds at most 1/8 more columns.
	hp, wp := g.PaddedGrid()
	grid := (wp-g.OW)*3 <= g.OW
	var xp, wide []float32
	var offs []int
	if grid {
		var release func()
		xp, release = nnScratch32(cg * g.PlaneSize(hp, wp))
		defer release()
		wide, release = nnScratch32(mg * g.OH * wp)
		defer release()
		offs = p.gridOffsets(&g, hp, wp)
	}
	for bi := 0; bi < p.batch; bi++ {
		for gi := 0; gi < p.g; gi++ {
			xg := x[(bi*p.c+gi*cg)*inS : (bi*p.c+(gi+1)*cg)*inS]
			yOff := (bi*p.m + gi*mg) * outS
			yg := y[yOff : yOff+mg*outS]
			wg := w[gi*mg*kk : (gi+1)*mg*kk]
			var zg []float32
			if z != nil {
				zg = z[yOff : yOff+mg*outS]
			}
			var ep *kernels.Epilogue
			if b != nil || act.Kind != kernels.ActNone {
				ep = &kernels.Epilogue{Act: act}
				if b != nil {
					ep.RowBias = b[gi*mg : (gi+1)*mg]
				}
			}
			if grid {
				g.FillPadded(nnWorkers(env), xp, xg, hp, wp)
				np := g.OH * wp
				if zg != nil && ep != nil {
					// The residual is laid out as y, not as the wide
					// grid: it is added as the rows are copied out, and
					// the activation after it.
					ep = &kernels.Epilogue{RowBias: ep.RowBias}
				}
				kernels.SgemmRowsB(nnWorkers(env), mg, np, kk, 1, wg, kk, xp, offs, 0, wide, np, ep)
				env.ParallelFor(mg*g.OH, max(1, 4096/g.OW), func(lo, hi int) {
					if zg == nil {
						kernels.CopyRows(yg[lo*g.OW:], g.OW, wide[lo*wp:], wp, hi-lo, g.OW)
						return
					}
					for r := lo; r < hi; r++ {
						row := yg[r*g.OW : (r+1)*g.OW]
						copy(row, wide[r*wp:])
						fusedAddTo(row, zg[r*g.OW:])
						act.Apply(row)
					}
				})
				continue
			}
			if zg != nil {
				if ep == nil {
					ep = &kernels.Epilogue{}
				}
				ep.Residual, ep.ResidualLD = zg, outS
			}
			pack, err := g.Packer(xg)
			if err != nil {
				return err
			}
			kernels.SgemmPackedB(nnWorkers(env), mg, outS, kk, 1, wg, kk, pack, 0, yg, outS, ep)
		}
	}
	return nil
}

// nnConv1x1Strided is a 1x1 convolution with strides and no padding (a
// ResNet downsample): the input is subsampled to the output grid, one
// small copy, and the product reads it as a 1x1 convolution does
// (nnPointwise), straight into y with the epilogue. The padded grid would
// split every plane into StrideH·StrideW phases to use one.
func nnConv1x1Strided(env *ops.Env, p *nnConvPlan, g *kernels.Im2col2D, x, w, b, z, y []float32, act kernels.Activation) error {
	cg, mg := p.c/p.g, p.m/p.g
	inS, outS := g.H*g.W, g.OH*g.OW
	sub, release := nnScratch32(cg * outS)
	defer release()
	for bi := 0; bi < p.batch; bi++ {
		for gi := 0; gi < p.g; gi++ {
			xg := x[(bi*p.c+gi*cg)*inS : (bi*p.c+(gi+1)*cg)*inS]
			env.ParallelFor(cg, max(1, 4096/max(outS, 1)), func(lo, hi int) {
				for c := lo; c < hi; c++ {
					for oh := 0; oh < g.OH; oh++ {
						src := xg[c*inS+oh*g.StrideH*g.W:]
						dst := sub[c*outS+oh*g.OW : c*outS+(oh+1)*g.OW]
						for ow := range dst {
							dst[ow] = src[ow*g.StrideW]
						}
					}
				}
			})
			yOff := (bi*p.m + gi*mg) * outS
			ep := &kernels.Epilogue{Act: act}
			if b != nil {
				ep.RowBias = b[gi*mg : (gi+1)*mg]
			}
			if z != nil {
				ep.Residual, ep.ResidualLD = z[yOff:yOff+mg*outS], outS
			}
			nnPointwise(env, p, mg, outS, cg, w[gi*mg*cg:(gi+1)*mg*cg], sub, y[yOff:yOff+mg*outS], ep)
		}
	}
	return nil
}

// nnDepthwise2D is the direct 2-D convolution with one input channel per
// group (and any channel multiplier): kernels.DepthwiseConv2D, then
// y = act(y + z) for FusedConv (z, the residual of y's shape, may be nil).
// ReLU and Clip without a residual are applied by the kernel itself, in
// registers; anything else takes one more pass over each output plane.
func nnDepthwise2D(env *ops.Env, p *nnConvPlan, x, w, b, z, y []float32, act kernels.Activation) error {
	win := p.w
	d := kernels.Depthwise2D{
		Batch: p.batch, C: p.c, H: win.in[0], W: win.in[1], Mult: p.m / p.g,
		KH: win.k[0], KW: win.k[1], StrideH: win.s[0], StrideW: win.s[1],
		DilH: win.d[0], DilW: win.d[1], PadTop: win.pb[0], PadLeft: win.pb[1],
		OH: win.out[0], OW: win.out[1],
	}
	if z == nil {
		switch act.Kind {
		case kernels.ActReLU:
			d.Clip, d.Lo, d.Hi = true, 0, float32(math.Inf(1))
			act = kernels.Activation{}
		case kernels.ActClip:
			d.Clip, d.Lo, d.Hi = true, act.A, act.B
			act = kernels.Activation{}
		}
	}
	if err := kernels.DepthwiseConv2D(nnWorkers(env), &d, x, w, b, y); err != nil {
		return err
	}
	if z == nil && act.Kind == kernels.ActNone {
		return nil
	}
	plane := win.out[0] * win.out[1]
	env.ParallelFor(p.batch*p.m, max(1, 16384/max(plane, 1)), func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			yc := y[bc*plane : (bc+1)*plane]
			if z != nil {
				fusedAddTo(yc, z[bc*plane:])
			}
			act.Apply(yc)
		}
	})
	return nil
}

// nnFloorDiv is division rounding toward negative infinity.
func nnFloorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func prepareConvTranspose(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, floatTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, floatTypes); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1, 2); err != nil {
		return nil, err
	}
	xs, err := nnSpatial(n, 0, 3)
	if err != nil {
		return nil, err
	}
	ws, err := nnSpatial(n, 1, 3)
	if err != nil {
		return nil, err
	}
	if len(ws) != len(xs) {
		return nil, n.Errorf("X %v and W %v differ in rank", xs, ws)
	}
	r := len(xs) - 2
	at := n.Attrs
	group := at.Int("group", 1)
	ks := at.Ints("kernel_shape", nil)
	autoPad := at.String("auto_pad", "NOTSET")
	outPadA := at.Ints("output_padding", nil)
	outShapeA := at.Ints("output_shape", nil)
	padsA := at.Ints("pads", nil)
	stridesA := at.Ints("strides", nil)
	dilsA := at.Ints("dilations", nil)
	if err := at.Err(); err != nil {
		return nil, err
	}
	c := xs[1]
	if group < 1 || int64(c)%group != 0 {
		return nil, n.Errorf("group %d does not divide input channels %d", group, c)
	}
	g := int(group)
	if ws[0] != c {
		return nil, n.Errorf("W %v: dim 0 must be the input channels %d", ws, c)
	}
	m := ws[1] * g
	k := []int(ws[2:].Clone())
	if ks != nil {
		kk, err := nnIntsAttr(n, "kernel_shape", ks, r, 1, 1)
		if err != nil {
			return nil, err
		}
		for i := range kk {
			if kk[i] != k[i] {
				return nil, n.Errorf("kernel_shape %v differs from W %v", ks, ws)
			}
		}
	}
	w := &nnWindow{in: []int(xs[2:].Clone()), k: k}
	if w.s, err = nnIntsAttr(n, "strides", stridesA, r, 1, 1); err != nil {
		return nil, err
	}
	if w.d, err = nnIntsAttr(n, "dilations", dilsA, r, 1, 1); err != nil {
		return nil, err
	}
	op, err := nnIntsAttr(n, "output_padding", outPadA, r, 0, 0)
	if err != nil {
		return nil, err
	}
	pads, err := nnIntsAttr(n, "pads", padsA, 2*r, 0, 0)
	if err != nil {
		return nil, err
	}
	w.pb, w.pe = pads[:r], pads[r:]
	w.out = make([]int, r)
	var outShape []int
	if outShapeA != nil {
		if len(outShapeA) == r+2 {
			outShapeA = outShapeA[2:]
		}
		if outShape, err = nnIntsAttr(n, "output_shape", outShapeA, r, 0, 0); err != nil {
			return nil, err
		}
	} else if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
		outShape = make([]int, r)
		for i := range outShape {
			outShape[i] = w.in[i] * w.s[i]
		}
	} else if autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "" {
		return nil, n.Errorf("unknown auto_pad %q", autoPad)
	}
	for i := 0; i < r; i++ {
		ext := (k[i]-1)*w.d[i] + 1
		full := w.s[i]*(w.in[i]-1) + op[i] + ext
		if outShape != nil {
			total := full - outShape[i]
			if autoPad == "SAME_UPPER" {
				w.pb[i], w.pe[i] = nnFloorDiv(total, 2), total-nnFloorDiv(total, 2)
			} else {
				w.pb[i], w.pe[i] = total-nnFloorDiv(total, 2), nnFloorDiv(total, 2)
			}
			w.out[i] = outShape[i]
		} else {
			if autoPad == "VALID" {
				w.pb[i], w.pe[i] = 0, 0
			}
			w.out[i] = full - w.pb[i] - w.pe[i]
		}
		if w.out[i] < 0 {
			return nil, n.Errorf("output dim %d would be %d", i, w.out[i])
		}
	}
	if err := nnCheckSize(n, append([]int{xs[0], m}, w.out...)); err != nil {
		return nil, err
	}
	if b := n.Input(2); b.Present() {
		if len(b.Shape) != 1 || b.Shape[0] != m {
			return nil, n.Errorf("bias B must have shape [%d], got %v", m, b.Shape)
		}
	}
	p := &nnConvPlan{w: w, batch: xs[0], c: c, m: m, g: g, xShape: xs.Clone()}
	p.out = append(tensor.Shape{xs[0], m}, w.out...)
	dt := n.Inputs[0].DType
	kern, err := nnFloat(n, dt, nnConvTransposeKernel[float32](p), nnConvTransposeKernel[float64](p))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, p.out)}, Kernel: kern}, nil
}

func nnConvTransposeKernel[T float32 | float64](p *nnConvPlan) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		w, err := tensor.View[T](in[1])
		if err != nil {
			return err
		}
		var b []T
		if len(in) > 2 {
			if b, err = nnView[T](in[2]); err != nil {
				return err
			}
		}
		y, err := nnOut[T](env, out, 0, p.out)
		if err != nil {
			return err
		}
		cg, mg := p.c/p.g, p.m/p.g
		kSize := nnProd(p.w.k)
		inS, outS := nnProd(p.w.in), nnProd(p.w.out)
		col, release := nnScratch[T](mg * kSize * inS)
		defer release()
		for bi := 0; bi < p.batch; bi++ {
			for g := 0; g < p.g; g++ {
				xg := x[(bi*p.c+g*cg)*inS : (bi*p.c+(g+1)*cg)*inS]
				yg := y[(bi*p.m+g*mg)*outS : (bi*p.m+(g+1)*mg)*outS]
				wg := w[g*cg*mg*kSize : (g+1)*cg*mg*kSize]
				for i := 0; i < mg; i++ {
					var v T
					if b != nil {
						v = b[g*mg+i]
					}
					row := yg[i*outS : (i+1)*outS]
					for j := range row {
						row[j] = v
					}
				}
				// col (mg*K x inS) = Wg^T (Wg is cg x mg*K) x Xg (cg x inS)
				nnGemmT(env, true, mg*kSize, inS, cg, wg, mg*kSize, xg, inS, 0, col, inS)
				nnCol2im(env, p.w, col, mg, yg)
			}
		}
		return nil
	}
}

func prepareConvInteger(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, nnQuantTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 1, nnQuantTypes); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 2); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 1, 3); err != nil {
		return nil, err
	}
	p, err := nnConvSetup(n, 0, 1)
	if err != nil {
		return nil, err
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		acc, err := nnIntConv(env, p, in[0], in[1], nnAt(in, 2), nnAt(in, 3), nil)
		if err != nil {
			return err
		}
		y, err := nnOut[int32](env, out, 0, p.out)
		if err != nil {
			return err
		}
		copy(y, acc)
		return nil
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Int32, p.out)}, Kernel: k}, nil
}

// nnAt returns in[i], or nil when absent.
func nnAt(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// nnIntConv computes the exact int32 convolution of (x - xzp) and
// (w - wzp), wzp scalar or per output channel, plus an int32 bias.
func nnIntConv(env *ops.Env, p *nnConvPlan, xt, wt, xzt, wzt, bt *tensor.Tensor) ([]int32, error) {
	x, err := nnInt8s(xt)
	if err != nil {
		return nil, err
	}
	w, err := nnInt8s(wt)
	if err != nil {
		return nil, err
	}
	if xzt != nil {
		xz, err := nnInt8s(xzt)
		if err != nil {
			return nil, err
		}
		if len(xz) != 1 {
			return nil, errorf("x_zero_point must be a scalar, has %d values", len(xz))
		}
		for i := range x {
			x[i] -= xz[0]
		}
	}
	if wzt != nil {
		wz, err := nnInt8s(wzt)
		if err != nil {
			return nil, err
		}
		if err := nnSubZeroPoint(w, wz, p.m, len(w)/max(p.m, 1), true); err != nil {
			return nil, err
		}
	}
	var b []int32
	if bt != nil {
		if bt.DType() != tensor.Int32 || bt.Len() != p.m {
			return nil, errorf("bias must be int32 of %d values", p.m)
		}
		if b, err = tensor.View[int32](bt); err != nil {
			return nil, err
		}
	}
	y := make([]int32, p.out.NumElements())
	q := *p
	q.depthwise = false
	if err := nnConvRun(env, &q, x, w, b, y); err != nil {
		return nil, err
	}
	return y, nil
}

func prepareQLinearConv(n *ops.Node) (*ops.Plan, error) {
	// x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
	if err := checkType(n, 0, nnQuantTypes); err != nil {
		return nil, err
	}
	if err := checkType(n, 3, nnQuantTypes); err != nil {
		return nil, err
	}
	for _, i := range []int{1, 4, 6} {
		if err := checkType(n, i, floatTypes); err != nil {
			return nil, err
		}
	}
	if err := checkType(n, 7, nnQuantTypes); err != nil {
		return nil, err
	}
	if b := n.Input(8); b.Present() && b.DType != tensor.Int32 {
		return nil, n.Errorf("bias must be int32, got %s", b.DType)
	}
	p, err := nnConvSetup(n, 0, 3)
	if err != nil {
		return nil, err
	}
	odt := n.Inputs[7].DType
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		acc, err := nnIntConv(env, p, in[0], in[3], in[2], in[5], nnAt(in, 8))
		if err != nil {
			return err
		}
		xs, err := nnFloats(in[1])
		if err != nil {
			return err
		}
		ws, err := nnFloats(in[4])
		if err != nil {
			return err
		}
		ys, err := nnFloats(in[6])
		if err != nil {
			return err
		}
		yz, err := nnInt8s(in[7])
		if err != nil {
			return err
		}
		if len(xs) != 1 || len(ys) != 1 || len(yz) != 1 || (len(ws) != 1 && len(ws) != p.m) {
			return errorf("QLinearConv: scales and zero points must be scalars (w_scale may be per output channel)")
		}
		outS := nnProd(p.w.out)
		vals := make([]float32, len(acc))
		for i, v := range acc {
			s := ws[0]
			if len(ws) > 1 {
				s = ws[(i/outS)%p.m]
			}
			vals[i] = nnRoundEven(float32(v)*(xs[0]*s/ys[0])) + float32(yz[0])
		}
		y, err := env.Output(out, 0, odt, p.out)
		if err != nil {
			return err
		}
		return nnStoreQuant(y, vals)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(odt, p.out)}, Kernel: k}, nil
}
