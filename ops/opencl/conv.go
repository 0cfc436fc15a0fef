package opencl

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	clrt "github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/tensor"
)

// window is the geometry of a 1-D or 2-D sliding window (convolution,
// pooling), in the kernels' 2-D form: a 1-D window has H = KH = 1.
type window struct {
	h, w, oh, ow     int64
	kh, kw           int64
	sh, sw, dh, dw   int64
	ph, pw, phe, pwe int64 // leading and trailing pads
}

// windowFor reads auto_pad, pads, strides and dilations (the CPU operator
// has validated them) for spatial input dims in, kernel k and the planned
// output dims out.
func windowFor(n *ops.Node, in, k, out []int) (*window, error) {
	r := len(in)
	if r < 1 || r > 2 {
		return nil, unsupported("%d spatial dimensions (kernels take 1 or 2)", r)
	}
	at := n.Attrs
	autoPad := at.String("auto_pad", "NOTSET")
	get := func(name string, want int, def int64) []int64 {
		v := at.Ints(name, nil)
		if len(v) != want {
			v = make([]int64, want)
			for i := range v {
				v[i] = def
			}
		}
		return v
	}
	s, d, p := get("strides", r, 1), get("dilations", r, 1), get("pads", 2*r, 0)
	if err := at.Err(); err != nil {
		return nil, err
	}
	pb, pe := p[:r], p[r:]
	for i := range r {
		ext := int64(k[i]-1)*d[i] + 1
		switch autoPad {
		case "VALID":
			pb[i], pe[i] = 0, 0
		case "SAME_UPPER", "SAME_LOWER":
			total := max(0, int64(out[i]-1)*s[i]+ext-int64(in[i]))
			if autoPad == "SAME_UPPER" {
				pb[i], pe[i] = total/2, total-total/2
			} else {
				pb[i], pe[i] = total-total/2, total/2
			}
		case "NOTSET", "":
		default:
			return nil, unsupported("auto_pad %q", autoPad)
		}
	}
	w := &window{h: 1, oh: 1, kh: 1, sh: 1, dh: 1}
	if r == 2 {
		w.h, w.oh, w.kh, w.sh, w.dh, w.ph, w.phe = int64(in[0]), int64(out[0]), int64(k[0]), s[0], d[0], pb[0], pe[0]
	}
	j := r - 1
	w.w, w.ow, w.kw, w.sw, w.dw, w.pw, w.pwe = int64(in[j]), int64(out[j]), int64(k[j]), s[j], d[j], pb[j], pe[j]
	return w, nil
}

// prepareConv runs 1-D and 2-D convolutions, grouped and depthwise
// included: an implicit GEMM tiled in local memory, or, where each output
// has little to reduce over and few channels per group (depthwise), one
// work item per output.
func prepareConv(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	if err := floatOnly(dev, dt); err != nil {
		return nil, err
	}
	x, wt, out := n.Inputs[0].Shape, n.Inputs[1].Shape, plan.Outputs[0].Shape
	if len(x) < 3 || len(x) > 4 {
		return nil, unsupported("Conv of rank %d (kernels take 1-D and 2-D)", len(x))
	}
	groups := n.Attrs.Int("group", 1)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	win, err := windowFor(n, x[2:], wt[2:], out[2:])
	if err != nil {
		return nil, err
	}
	N, C, CO := int64(x[0]), int64(x[1]), int64(wt[0])
	cg, cog := C/groups, CO/groups
	p := structBytes(N, C, win.h, win.w, CO, win.oh, win.ow, win.kh, win.kw,
		win.sh, win.sw, win.ph, win.pw, win.dh, win.dw, groups, cg, cog)
	hasBias := n.Input(2).Present()
	direct := cog < 16
	var k *clrt.Kernel
	var t tiling
	if direct {
		defs, err := typeDefines(dev, dt)
		if err != nil {
			return nil, err
		}
		if k, err = kernelOf(dev, "gemm.cl", defs, "conv_direct"); err != nil {
			return nil, err
		}
	} else if k, t, err = gemmKernel(dev, dt, "conv"); err != nil {
		return nil, err
	}
	total := N * CO * win.oh * win.ow
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		if total == 0 {
			return nil
		}
		a, err := args(in[0], in[1], out[0])
		if err != nil {
			return err
		}
		bias, has := in[0], int32(0)
		if hasBias {
			bias, has = in[2], 1
		}
		bb, bo, err := arg(bias)
		if err != nil {
			return err
		}
		a = append(a, bb, bo, has, int32(0), p)
		if direct {
			return launch1D(s, k, total, a...)
		}
		rts := t.rts()
		return s.Launch(clrt.Launch{
			Kernel: k,
			Global: []int{int(ceilDiv(win.oh*win.ow, int64(t.ts))) * rts, int(ceilDiv(cog, int64(t.ts))) * rts, int(N * groups)},
			Local:  []int{rts, rts, 1},
			Args:   a,
		})
	})}, nil
}

// preparePool runs MaxPool and AveragePool over 1-D and 2-D windows.
func preparePool(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error) {
	dev, err := device(rd)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].DType
	if err := floatOnly(dev, dt); err != nil {
		return nil, err
	}
	if len(plan.Outputs) > 1 {
		return nil, unsupported("MaxPool's Indices output")
	}
	x, out := n.Inputs[0].Shape, plan.Outputs[0].Shape
	if len(x) < 3 || len(x) > 4 {
		return nil, unsupported("pooling of rank %d (kernels take 1-D and 2-D)", len(x))
	}
	ks := n.Attrs.Ints("kernel_shape", nil)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	k := make([]int, len(ks))
	for i, v := range ks {
		k[i] = int(v)
	}
	win, err := windowFor(n, x[2:], k, out[2:])
	if err != nil {
		return nil, err
	}
	isMax := n.OpType == "MaxPool"
	if isMax && n.Attrs.Int("storage_order", 0) != 0 {
		return nil, unsupported("storage_order")
	}
	nc := int64(x[0] * x[1])
	p := structBytes(nc, win.h, win.w, win.oh, win.ow, win.kh, win.kw, win.sh, win.sw, win.ph, win.pw, win.dh, win.dw, win.phe, win.pwe)
	defs, err := typeDefines(dev, dt)
	if err != nil {
		return nil, err
	}
	name := "avg_pool"
	if isMax {
		name = "max_pool"
	}
	kern, err := kernelOf(dev, "pool.cl", defs, name)
	if err != nil {
		return nil, err
	}
	include := int32(n.Attrs.Int("count_include_pad", 0))
	total := nc * win.oh * win.ow
	return &ops.DevicePlan{Kernel: guard(n, plan, func(s runtime.Stream, in, out []*tensor.Tensor) error {
		a, err := args(in[0], out[0])
		if err != nil {
			return err
		}
		a = append(a, p)
		if !isMax {
			a = append(a, include)
		}
		return launch1D(s, kern, total, a...)
	})}, nil
}
