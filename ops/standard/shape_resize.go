package standard

import (
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Resize (10, 11, 13, 18, 19) and Upsample (7, 9, 10). Interpolation is
// separable: every axis gets a table of source taps and weights per output
// coordinate, computed once per run as the ONNX reference implementation
// defines them, and linear and cubic resizing apply the tables one axis at
// a time (skipping axes left unchanged) in float64. Nearest resizing is a
// gather through per-axis index maps and works for every element type.

type shapeResizeCfg struct {
	mode       string // nearest, linear, cubic
	ctm        string // coordinate_transformation_mode
	nearest    string // nearest_mode; "legacy" is Upsample's and Resize-10's
	cubicA     float64
	exclude    bool
	extrap     float64
	antialias  bool
	axes       []int64 // nil: all
	policy     string  // keep_aspect_ratio_policy
	scalesIn   int     // input holding scales (-1: none)
	sizesIn    int     // input holding sizes (-1: none)
	roiIn      int     // input holding roi (-1: none)
	attrScales []float64
}

func prepareResize(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	cfg := shapeResizeCfg{mode: a.String("mode", "nearest"), scalesIn: -1, sizesIn: -1, roiIn: -1, policy: "stretch"}
	if n.Opset < 11 {
		if len(n.Inputs) != 2 {
			return nil, n.Errorf("Resize-10 takes X and scales")
		}
		cfg.ctm, cfg.nearest, cfg.scalesIn = "asymmetric", "legacy", 1
	} else {
		cfg.ctm = a.String("coordinate_transformation_mode", "half_pixel")
		cfg.nearest = a.String("nearest_mode", "round_prefer_floor")
		cfg.cubicA = float64(a.Float("cubic_coeff_a", -0.75))
		cfg.exclude = a.Int("exclude_outside", 0) != 0
		cfg.extrap = float64(a.Float("extrapolation_value", 0))
		cfg.roiIn = 1
		if n.Opset >= 18 {
			cfg.antialias = a.Int("antialias", 0) != 0
			cfg.axes = a.Ints("axes", nil)
			cfg.policy = a.String("keep_aspect_ratio_policy", "stretch")
		}
		// Empty scales or sizes tensors count as absent (opset 11 needs a placeholder).
		if t := n.Input(2); t.Present() && !(len(t.Shape) == 1 && t.Shape[0] == 0) {
			cfg.scalesIn = 2
		}
		if t := n.Input(3); t.Present() && !(len(t.Shape) == 1 && t.Shape[0] == 0) {
			cfg.sizesIn = 3
		}
		if (cfg.scalesIn < 0) == (cfg.sizesIn < 0) {
			return nil, n.Errorf("exactly one of scales and sizes must be given")
		}
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	return shapeResizePlan(n, x, cfg)
}

func prepareUpsample(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	cfg := shapeResizeCfg{mode: a.String("mode", "nearest"), ctm: "asymmetric", nearest: "legacy", scalesIn: -1, sizesIn: -1, roiIn: -1, policy: "stretch"}
	if cfg.mode == "bilinear" {
		cfg.mode = "linear"
	}
	if n.Opset < 9 {
		if len(n.Inputs) != 1 {
			return nil, n.Errorf("Upsample-7 takes one input")
		}
		a.Require("scales")
		for _, s := range a.Floats("scales", nil) {
			cfg.attrScales = append(cfg.attrScales, float64(s))
		}
	} else {
		if len(n.Inputs) != 2 {
			return nil, n.Errorf("takes X and scales")
		}
		cfg.scalesIn = 1
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	if cfg.mode != "nearest" && cfg.mode != "linear" {
		return nil, n.Errorf("mode %q is neither nearest nor linear", cfg.mode)
	}
	return shapeResizePlan(n, x, cfg)
}

func shapeResizePlan(n *ops.Node, x ops.Type, cfg shapeResizeCfg) (*ops.Plan, error) {
	switch cfg.mode {
	case "nearest", "linear", "cubic":
	default:
		return nil, n.Errorf("unknown mode %q", cfg.mode)
	}
	switch cfg.ctm {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn":
	case "half_pixel_symmetric":
		if n.Opset < 19 {
			return nil, n.Errorf("half_pixel_symmetric needs opset 19")
		}
	default:
		return nil, n.Errorf("unknown coordinate_transformation_mode %q", cfg.ctm)
	}
	switch cfg.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "legacy":
	default:
		return nil, n.Errorf("unknown nearest_mode %q", cfg.nearest)
	}
	switch cfg.policy {
	case "stretch", "not_larger", "not_smaller":
	default:
		return nil, n.Errorf("unknown keep_aspect_ratio_policy %q", cfg.policy)
	}
	if cfg.mode == "cubic" && n.Opset < 11 {
		return nil, n.Errorf("cubic mode needs opset 11")
	}
	r := len(x.Shape)
	if cfg.axes != nil {
		if _, err := shapeNormAxes(n, cfg.axes, r); err != nil {
			return nil, err
		}
	}
	if cfg.mode != "nearest" && !x.DType.IsFloat() && !x.DType.IsInteger() {
		return nil, n.Errorf("%s mode needs a numeric type, got %s", cfg.mode, x.DType)
	}
	if cfg.ctm == "tf_crop_and_resize" && !n.Input(cfg.roiIn).Present() {
		return nil, n.Errorf("tf_crop_and_resize needs roi")
	}
	// Plan the output shape when the scales or sizes are known now.
	outShape := shapeUnknown(r)
	get := func(i int) *tensor.Tensor {
		if i < 0 {
			return nil
		}
		return n.Input(i).Value
	}
	if (cfg.scalesIn < 0 || get(cfg.scalesIn) != nil) && (cfg.sizesIn < 0 || get(cfg.sizesIn) != nil) && shapeStatic(x.Shape) {
		os, _, err := cfg.sizes(x.Shape, get(cfg.scalesIn), get(cfg.sizesIn))
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		outShape = os
	}
	k, err := cfg.kernel(x.DType)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

// sizes computes the output shape and the per-axis scale factors.
func (c *shapeResizeCfg) sizes(in tensor.Shape, scalesT, sizesT *tensor.Tensor) (tensor.Shape, []float64, error) {
	r := len(in)
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if c.axes != nil {
		axes = axes[:len(c.axes)]
		for i, a := range c.axes {
			if a < 0 {
				a += int64(r)
			}
			axes[i] = int(a)
		}
	}
	out := in.Clone()
	scales := make([]float64, r)
	for i := range scales {
		scales[i] = 1
	}
	if sizesT != nil {
		if sizesT.DType() != tensor.Int64 {
			return nil, nil, errorf("sizes must be int64")
		}
		sz, err := intsOf(sizesT)
		if err != nil {
			return nil, nil, err
		}
		if len(sz) != len(axes) {
			return nil, nil, errorf("%d sizes for %d axes", len(sz), len(axes))
		}
		for i, a := range axes {
			if sz[i] < 0 || sz[i] > math.MaxInt32 {
				return nil, nil, errorf("size %d out of range", sz[i])
			}
			if in[a] == 0 && sz[i] != 0 {
				return nil, nil, errorf("cannot resize an empty axis to %d", sz[i])
			}
			out[a] = int(sz[i])
			if in[a] > 0 {
				scales[a] = float64(sz[i]) / float64(in[a])
			}
		}
		if c.policy != "stretch" && len(axes) > 0 {
			s := scales[axes[0]]
			for _, a := range axes[1:] {
				if c.policy == "not_larger" {
					s = min(s, scales[a])
				} else {
					s = max(s, scales[a])
				}
			}
			for _, a := range axes {
				scales[a] = s
				out[a] = int(s*float64(in[a]) + 0.5)
			}
		}
	} else {
		var sc []float64
		if scalesT != nil {
			v, err := shapeFloatsOf(scalesT)
			if err != nil {
				return nil, nil, err
			}
			sc = v
		} else {
			sc = c.attrScales
		}
		if len(sc) != len(axes) {
			return nil, nil, errorf("%d scales for %d axes", len(sc), len(axes))
		}
		for i, a := range axes {
			s := sc[i]
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, nil, errorf("scale %g must be positive", s)
			}
			scales[a] = s
			o := math.Floor(s * float64(in[a]))
			if o > math.MaxInt32 {
				return nil, nil, errorf("output dim %g too large", o)
			}
			out[a] = int(o)
		}
	}
	if err := out.Validate(); err != nil {
		return nil, nil, errorf("%v", err)
	}
	return out, scales, nil
}

// shapeTaps is one axis's resampling table: output coordinate j reads
// idx[j*w : (j+1)*w] with weights wt (w taps per coordinate); outside
// marks coordinates that take the extrapolation value.
type shapeTaps struct {
	w        int
	idx      []int
	wt       []float64
	outside  []bool
	identity bool
}

// taps builds the table of one axis of input length in, output length out
// and scale factor s; roiStart/roiEnd serve tf_crop_and_resize.
func (c *shapeResizeCfg) taps(in, out int, s, roiStart, roiEnd float64) shapeTaps {
	var t shapeTaps
	t.outside = make([]bool, out)
	outW := s * float64(in) // the reference's (possibly fractional) output length
	coord := func(j int) (float64, bool) {
		x := float64(j)
		switch c.ctm {
		case "align_corners":
			if outW == 1 {
				return 0, false
			}
			return x * float64(in-1) / (outW - 1), false
		case "asymmetric":
			return x / s, false
		case "tf_half_pixel_for_nn":
			return (x + 0.5) / s, false
		case "pytorch_half_pixel":
			if outW == 1 {
				return -0.5, false
			}
			return (x+0.5)/s - 0.5, false
		case "half_pixel_symmetric":
			adj := float64(out) / outW
			center := float64(in) / 2
			return center*(1-adj) + (x+0.5)/s - 0.5, false
		case "tf_crop_and_resize":
			var xo float64
			if outW == 1 {
				xo = (roiEnd - roiStart) * float64(in-1) / 2
			} else {
				xo = x * (roiEnd - roiStart) * float64(in-1) / (outW - 1)
			}
			xo += roiStart * float64(in-1)
			return xo, xo < 0 || xo > float64(in-1)
		}
		return (x+0.5)/s - 0.5, false // half_pixel
	}
	clampIdx := func(i int) int { return min(max(i, 0), in-1) }
	if c.mode == "nearest" {
		t.w = 1
		t.idx = make([]int, out)
		t.wt = nil
		for j := range out {
			xo, outside := coord(j)
			t.outside[j] = outside
			var i int
			fl := math.Floor(xo)
			ratio := xo - fl
			switch c.nearest {
			case "legacy":
				// Upsample and Resize-10: floor when enlarging, ceil when shrinking.
				if s < 1 {
					i = int(math.Ceil(xo))
				} else {
					i = int(fl)
				}
			case "round_prefer_floor":
				i = int(fl)
				if ratio > 0.5 {
					i++
				}
			case "round_prefer_ceil":
				i = int(fl)
				if ratio >= 0.5 {
					i++
				}
			case "floor":
				i = int(fl)
			case "ceil":
				i = int(math.Ceil(xo))
			}
			t.idx[j] = clampIdx(i)
		}
		t.identity = in == out && !c.anyOutside(t.outside)
		for j := 0; t.identity && j < out; j++ {
			t.identity = t.idx[j] == j
		}
		return t
	}
	// Linear and cubic: the reference's neighbourhood is x_int + i for i in
	// [start, start+w), x_int = ceil(x)-1 and ratio = x - x_int in (0, 1].
	sc := 1.0
	if c.antialias {
		sc = min(s, 1)
	}
	var start int
	if c.mode == "linear" {
		start = int(math.Floor(-1/sc)) + 1
		t.w = 2 - 2*start
	} else {
		start = int(math.Floor(-2/sc)) + 1
		t.w = 2 - 2*start
	}
	t.idx = make([]int, out*t.w)
	t.wt = make([]float64, out*t.w)
	A := c.cubicA
	cubic := func(x float64) float64 {
		x = math.Abs(x)
		switch {
		case x <= 1:
			return ((A+2)*x-(A+3))*x*x + 1
		case x < 2:
			return ((A*x-5*A)*x+8*A)*x - 4*A
		}
		return 0
	}
	t.identity = in == out
	for j := range out {
		xo, outside := coord(j)
		t.outside[j] = outside
		xi := math.Ceil(xo) - 1
		ratio := xo - xi
		idx, wt := t.idx[j*t.w:(j+1)*t.w], t.wt[j*t.w:(j+1)*t.w]
		sum := 0.0
		for k := range t.w {
			i := start + k
			var w float64
			if c.mode == "linear" {
				w = max(0, min(1, 1-math.Abs((float64(i)-ratio)*sc)))
			} else {
				w = cubic((float64(i) - ratio) * sc)
			}
			p := int(xi) + i
			if c.exclude && (p < 0 || p >= in) {
				w = 0
			}
			idx[k] = clampIdx(p)
			wt[k] = w
			sum += w
		}
		// The plain kernels sum to 1 already; antialiased and exclude_outside
		// ones are normalized, as the reference does.
		if (c.antialias || c.exclude) && sum != 0 {
			for k := range wt {
				wt[k] /= sum
			}
		}
		if t.identity {
			for k := range wt {
				if wt[k] != 0 && (idx[k] != j || wt[k] != 1) {
					t.identity = false
				}
			}
		}
	}
	if c.anyOutside(t.outside) {
		t.identity = false
	}
	return t
}

func (c *shapeResizeCfg) anyOutside(o []bool) bool {
	for _, v := range o {
		if v {
			return true
		}
	}
	return false
}

// tables resolves the run's inputs into the output shape and one tap
// table per axis.
func (c *shapeResizeCfg) tables(in []*tensor.Tensor) (tensor.Shape, []shapeTaps, error) {
	get := func(i int) *tensor.Tensor {
		if i < 0 || i >= len(in) {
			return nil
		}
		return in[i]
	}
	s := in[0].Shape()
	r := len(s)
	os, scales, err := c.sizes(s, get(c.scalesIn), get(c.sizesIn))
	if err != nil {
		return nil, nil, err
	}
	roi := make([]float64, 2*r)
	for i := range r {
		roi[r+i] = 1
	}
	if c.ctm == "tf_crop_and_resize" {
		rt := get(c.roiIn)
		if rt == nil {
			return nil, nil, errorf("tf_crop_and_resize needs roi")
		}
		v, err := shapeFloatsOf(rt)
		if err != nil {
			return nil, nil, err
		}
		if c.axes != nil {
			if len(v) != 2*len(c.axes) {
				return nil, nil, errorf("roi has %d values for %d axes", len(v), len(c.axes))
			}
			for i, a := range c.axes {
				if a < 0 {
					a += int64(r)
				}
				roi[a], roi[r+int(a)] = v[i], v[len(c.axes)+i]
			}
		} else {
			if len(v) != 2*r {
				return nil, nil, errorf("roi has %d values for rank %d", len(v), r)
			}
			copy(roi, v)
		}
	}
	tabs := make([]shapeTaps, r)
	for d := range r {
		if s[d] == 0 || os[d] == 0 {
			tabs[d] = shapeTaps{identity: s[d] == os[d], outside: make([]bool, os[d])}
			continue
		}
		tabs[d] = c.taps(s[d], os[d], scales[d], roi[d], roi[r+d])
	}
	return os, tabs, nil
}

func (c *shapeResizeCfg) kernel(dt tensor.DType) (ops.Kernel, error) {
	cfg := *c
	if cfg.mode == "nearest" {
		var fill *tensor.Tensor
		if dt != tensor.String {
			f, err := shapeScalarOf(dt, cfg.extrap)
			if err != nil {
				return nil, err
			}
			fill = f
		}
		k, ok := shapePick(dt, shapeNearestK[shapeW1](&cfg, fill), shapeNearestK[shapeW2](&cfg, fill), shapeNearestK[shapeW4](&cfg, fill),
			shapeNearestK[shapeW8](&cfg, fill), shapeNearestK[shapeW16](&cfg, fill), shapeNearestK[string](&cfg, fill))
		if !ok {
			return nil, errorf("unsupported type %s", dt)
		}
		return k, nil
	}
	switch dt {
	case tensor.Float32:
		return shapeInterpK[float32](&cfg), nil
	case tensor.Float64:
		return shapeInterpK[float64](&cfg), nil
	case tensor.Float16, tensor.BFloat16:
		return halfAsFloat32(dt, shapeInterpK[float32](&cfg)), nil
	case tensor.Int8:
		return shapeInterpK[int8](&cfg), nil
	case tensor.Int16:
		return shapeInterpK[int16](&cfg), nil
	case tensor.Int32:
		return shapeInterpK[int32](&cfg), nil
	case tensor.Int64:
		return shapeInterpK[int64](&cfg), nil
	case tensor.Uint8:
		return shapeInterpK[uint8](&cfg), nil
	case tensor.Uint16:
		return shapeInterpK[uint16](&cfg), nil
	case tensor.Uint32:
		return shapeInterpK[uint32](&cfg), nil
	case tensor.Uint64:
		return shapeInterpK[uint64](&cfg), nil
	}
	return nil, errorf("unsupported type %s", dt)
}

// shapeNearestK gathers through the per-axis index maps; elements on a
// coordinate outside the crop take the extrapolation value.
func shapeNearestK[T any](c *shapeResizeCfg, fill *tensor.Tensor) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		os, tabs, err := c.tables(in)
		if err != nil {
			return err
		}
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		var ext T
		if fill != nil {
			f, err := shapeElems[T](fill)
			if err != nil {
				return err
			}
			ext = f[0]
		}
		if len(y) == 0 {
			return nil
		}
		r := len(os)
		if r == 0 {
			y[0] = x[0]
			return nil
		}
		st := in[0].Shape().Strides()
		inner := os[r-1]
		last := tabs[r-1]
		rows := len(y) / inner
		env.ParallelFor(rows, max(1, 16384/inner), func(lo, hi int) {
			idx := make([]int, r-1)
			rem := lo
			for d := r - 2; d >= 0; d-- {
				idx[d] = rem % os[d]
				rem /= os[d]
			}
			for row := lo; row < hi; row++ {
				o := y[row*inner : (row+1)*inner]
				base, outside := 0, false
				for d, i := range idx {
					outside = outside || tabs[d].outside[i]
					base += tabs[d].idx[i] * st[d]
				}
				for j := range o {
					if outside || last.outside[j] {
						o[j] = ext
					} else {
						o[j] = x[base+last.idx[j]]
					}
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

// shapeInterpK resamples in float64, one changed axis at a time.
func shapeInterpK[T shapeOrdered](c *shapeResizeCfg) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		os, tabs, err := c.tables(in)
		if err != nil {
			return err
		}
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		yt, err := env.Output(out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		y, err := tensor.View[T](yt)
		if err != nil {
			return err
		}
		if len(y) == 0 {
			return nil
		}
		cur := make([]float64, len(x))
		for i, v := range x {
			cur[i] = float64(v)
		}
		shape := in[0].Shape()
		for d := range shape {
			t := tabs[d]
			if t.identity {
				continue
			}
			outer, n, inner := shapeAxisLines(shape, d)
			m := os[d]
			next := make([]float64, outer*m*inner)
			env.ParallelFor(outer*m, max(1, 4096/max(inner*t.w, 1)), func(lo, hi int) {
				for line := lo; line < hi; line++ {
					o, j := line/m, line%m
					dst := next[line*inner : (line+1)*inner]
					clear(dst)
					for k := range t.w {
						w := t.wt[j*t.w+k]
						if w == 0 {
							continue
						}
						src := cur[(o*n+t.idx[j*t.w+k])*inner:][:inner]
						for i := range dst {
							dst[i] += w * src[i]
						}
					}
				}
			})
			cur = next
			shape = shape.Clone()
			shape[d] = m
		}
		lo, hi := shapeIntRange[T]()
		isInt := !math.IsInf(lo, -1)
		r := len(os)
		// Write out, with the extrapolation value where any axis is outside
		// the crop, and rounding and saturation for integer types.
		inner := os[r-1]
		rows := len(y) / max(inner, 1)
		env.ParallelFor(rows, max(1, 16384/max(inner, 1)), func(rlo, rhi int) {
			idx := make([]int, r-1)
			rem := rlo
			for d := r - 2; d >= 0; d-- {
				idx[d] = rem % os[d]
				rem /= os[d]
			}
			for row := rlo; row < rhi; row++ {
				outside := false
				for d, i := range idx {
					outside = outside || tabs[d].outside[i]
				}
				for j := range inner {
					v := cur[row*inner+j]
					if outside || tabs[r-1].outside[j] {
						v = c.extrap
					}
					if isInt {
						v = min(max(math.RoundToEven(v), lo), hi)
					}
					y[row*inner+j] = T(v)
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

// shapeIntRange is T's value range as float64 (infinite for floats).
func shapeIntRange[T shapeOrdered]() (float64, float64) {
	var z T
	switch any(z).(type) {
	case int8:
		return math.MinInt8, math.MaxInt8
	case int16:
		return math.MinInt16, math.MaxInt16
	case int32:
		return math.MinInt32, math.MaxInt32
	case int64:
		return math.MinInt64, math.MaxInt64
	case uint8:
		return 0, math.MaxUint8
	case uint16:
		return 0, math.MaxUint16
	case uint32:
		return 0, math.MaxUint32
	case uint64:
		return 0, math.MaxUint64
	}
	return math.Inf(-1), math.Inf(1)
}
