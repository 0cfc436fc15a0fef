package standard

import (
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
	p := &nnConvPlan{w: w, batch: xs[0], c: c, m: m, g: g, xShape: xs.Clone()}
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
		nnConvRun(env, p, x, w, b, y)
		return nil
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
func nnConvRun[T number](env *ops.Env, p *nnConvPlan, x, w, b, y []T) {
	if xf, ok := any(x).([]float32); ok && p.depthwise {
		nnDepthwise2D(env, p, xf, any(w).([]float32), any(b).([]float32), any(y).([]float32), nil)
		return
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
			}
			nnGemmBiasT(env, mg, outS, kk, wg, kk, src, outS, yg, outS, bg)
		}
	}
}

// nnDepthwise2D is the direct 2-D convolution with one input channel per
// group (and any channel multiplier), parallel over output channels. post,
// when not nil, finishes each output plane (image x channel bc, at y[off:])
// while it is still in cache (FusedConv's residual and activation).
func nnDepthwise2D(env *ops.Env, p *nnConvPlan, x, w, b, y []float32, post func(bc, off int, plane []float32)) {
	win := p.w
	H, W := win.in[0], win.in[1]
	OH, OW := win.out[0], win.out[1]
	KH, KW := win.k[0], win.k[1]
	sh, sw := win.s[0], win.s[1]
	dh, dw := win.d[0], win.d[1]
	ph, pw := win.pb[0], win.pb[1]
	mult := p.m / p.g
	fast3 := KH == 3 && KW == 3 && dh == 1 && dw == 1
	env.ParallelFor(p.batch*p.m, 1, func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			bi, oc := bc/p.m, bc%p.m
			ic := oc / mult
			xc := x[(bi*p.c+ic)*H*W : (bi*p.c+ic+1)*H*W]
			yc := y[bc*OH*OW : (bc+1)*OH*OW]
			wk := w[oc*KH*KW : (oc+1)*KH*KW]
			var bias float32
			if b != nil {
				bias = b[oc]
			}
			var rows, wrows [][]float32
			for oh := 0; oh < OH; oh++ {
				yrow := yc[oh*OW : (oh+1)*OW]
				ih0 := oh*sh - ph
				if fast3 && ih0 >= 0 && ih0+2 < H {
					nnDepthwise3Row(yrow, xc[ih0*W:(ih0+3)*W], W, sw, pw, wk, bias)
					continue
				}
				rows, wrows = rows[:0], wrows[:0]
				for kh := 0; kh < KH; kh++ {
					if ih := ih0 + kh*dh; ih >= 0 && ih < H {
						rows = append(rows, xc[ih*W:(ih+1)*W])
						wrows = append(wrows, wk[kh*KW:(kh+1)*KW])
					}
				}
				nnDepthwiseRow(yrow, rows, wrows, W, sw, pw, dw, bias)
			}
			if post != nil {
				post(bc, bc*OH*OW, yc)
			}
		}
	})
}

// nnDepthwiseRow computes one output row of a depthwise convolution from
// the input rows its window covers (rows) and their weights (wrows),
// summing each output in a register.
func nnDepthwiseRow(y []float32, rows, wrows [][]float32, W, sw, pw, dw int, bias float32) {
	if len(rows) == 0 {
		for i := range y {
			y[i] = bias
		}
		return
	}
	KW := len(wrows[0])
	span := (KW-1)*dw + 1
	// Columns whose taps all lie inside the row.
	lo, hi := nnRange(len(y), sw, -pw, W)
	lo2, hi2 := nnRange(len(y), sw, span-1-pw, W)
	lo, hi = max(lo, lo2), min(hi, hi2)
	if lo >= hi {
		lo, hi = len(y), len(y)
	}
	edge := func(ow int) {
		s := bias
		for r, xr := range rows {
			wr := wrows[r]
			for kw, wv := range wr {
				if iw := ow*sw - pw + kw*dw; iw >= 0 && iw < W {
					s += wv * xr[iw]
				}
			}
		}
		y[ow] = s
	}
	for ow := 0; ow < lo; ow++ {
		edge(ow)
	}
	if dw == 1 {
		for ow := lo; ow < hi; ow++ {
			i := ow*sw - pw
			s := bias
			for r, xr := range rows {
				xs := xr[i : i+KW]
				for kw, wv := range wrows[r][:len(xs)] {
					s += wv * xs[kw]
				}
			}
			y[ow] = s
		}
	} else {
		for ow := lo; ow < hi; ow++ {
			i := ow*sw - pw
			s := bias
			for r, xr := range rows {
				for kw, wv := range wrows[r] {
					s += wv * xr[i+kw*dw]
				}
			}
			y[ow] = s
		}
	}
	for ow := max(hi, lo); ow < len(y); ow++ {
		edge(ow)
	}
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
	nnConvRun(env, &q, x, w, b, y)
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

// nnDepthwise3Row computes one output row of a 3x3 depthwise convolution
// (unit dilation) from the three input rows x (3 x W), keeping the nine
// weights and the sum in registers for the columns whose taps are all
// inside the row, and taking the others tap by tap.
func nnDepthwise3Row(y, x []float32, W, sw, pw int, wk []float32, bias float32) {
	w := (*[9]float32)(wk[:9])
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	r0, r1, r2 := x[:W], x[W:2*W], x[2*W:3*W]
	// Columns whose taps iw = ow*sw - pw + {0,1,2} all lie in [0, W).
	lo, hi := nnRange(len(y), sw, -pw, W)
	lo2, hi2 := nnRange(len(y), sw, 2-pw, W)
	lo, hi = max(lo, lo2), min(hi, hi2)
	edge := func(ow int) {
		s := bias
		for kw := 0; kw < 3; kw++ {
			iw := ow*sw - pw + kw
			if iw < 0 || iw >= W {
				continue
			}
			s += w[kw]*r0[iw] + w[3+kw]*r1[iw] + w[6+kw]*r2[iw]
		}
		y[ow] = s
	}
	if lo >= hi {
		for ow := range y {
			edge(ow)
		}
		return
	}
	for ow := 0; ow < lo; ow++ {
		edge(ow)
	}
	for ow := lo; ow < hi; ow++ {
		i := ow*sw - pw
		a, b, c := r0[i:i+3:i+3], r1[i:i+3:i+3], r2[i:i+3:i+3]
		y[ow] = bias + w0*a[0] + w1*a[1] + w2*a[2] + w3*b[0] + w4*b[1] + w5*b[2] + w6*c[0] + w7*c[1] + w8*c[2]
	}
	for ow := hi; ow < len(y); ow++ {
		edge(ow)
	}
}
