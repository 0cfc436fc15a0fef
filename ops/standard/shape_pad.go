package standard

import (
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Pad: pads given as an attribute ("paddings" in opset 1, "pads" in 2)
// or as input 1 (from 11), with the constant as an attribute or input 2;
// axes (input 3) from 18 and wrap mode from 19. Negative pads crop, and the
// mode then applies to the cropped tensor, as the reference does.

func preparePad(n *ops.Node) (*ops.Plan, error) {
	x, err := shapeInput(n, 0)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	a := n.Attrs
	mode := a.String("mode", "constant")
	var (
		pads       []int64
		padsKnown  = true
		axes       []int64
		axesKnown  = true
		fill       *tensor.Tensor // opset < 11: from the value attribute
		wrapAllows = n.Opset >= 19
	)
	switch {
	case n.Opset < 2:
		a.Require("paddings")
		pads = a.Ints("paddings", nil)
	case n.Opset < 11:
		a.Require("pads")
		pads = a.Ints("pads", nil)
	}
	if n.Opset < 11 {
		if len(n.Inputs) > 1 {
			return nil, n.Errorf("takes one input before opset 11")
		}
		v := a.Float("value", 0)
		if err := a.Err(); err != nil {
			return nil, err
		}
		if fill, err = shapeScalarOf(x.DType, float64(v)); err != nil {
			return nil, n.Errorf("%v", err)
		}
	} else {
		if !n.Input(1).Present() {
			return nil, n.Errorf("input pads is required")
		}
		if pads, padsKnown, err = shapeIntsInput(n, 1); err != nil {
			return nil, err
		}
		if c := n.Input(2); c.Present() {
			if c.DType != x.DType {
				return nil, n.Errorf("constant_value has type %s, data has %s", c.DType, x.DType)
			}
			if !c.UnknownRank && c.Shape.NumElements() != 1 {
				return nil, n.Errorf("constant_value must hold one element, got %s", c)
			}
		}
		if n.Input(3).Present() {
			if n.Opset < 18 {
				return nil, n.Errorf("axes input needs opset 18")
			}
			if axes, axesKnown, err = shapeIntsInput(n, 3); err != nil {
				return nil, err
			}
		}
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	switch mode {
	case "constant", "reflect", "edge":
	case "wrap":
		if !wrapAllows {
			return nil, n.Errorf("mode wrap needs opset 19")
		}
	default:
		return nil, n.Errorf("unknown mode %q", mode)
	}
	outShape := shapeUnknown(r)
	if padsKnown && axesKnown {
		begin, end, err := shapePadSpec(r, pads, axes, axes != nil)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		for i, d := range x.Shape {
			if d < 0 {
				continue
			}
			if outShape[i] = d + begin[i] + end[i]; outShape[i] < 0 || -begin[i] > d || -end[i] > d {
				return nil, n.Errorf("pads %v crop more than axis %d holds", pads, i)
			}
		}
	}
	attrPads := pads
	k, ok := shapePick(x.DType, shapePadK[shapeW1](mode), shapePadK[shapeW2](mode), shapePadK[shapeW4](mode),
		shapePadK[shapeW8](mode), shapePadK[shapeW16](mode), shapePadK[string](mode))
	if !ok {
		return nil, n.Errorf("unsupported type %s", x.DType)
	}
	kern := func(env *ops.Env, in, out []*tensor.Tensor) error {
		p, ax, c := attrPads, []int64(nil), fill
		if len(in) > 1 && in[1] != nil {
			v, err := intsOf(in[1])
			if err != nil {
				return err
			}
			p = v
		}
		if len(in) > 2 && in[2] != nil {
			c = in[2]
		}
		if len(in) > 3 && in[3] != nil {
			v, err := intsOf(in[3])
			if err != nil {
				return err
			}
			ax = v
		}
		begin, end, err := shapePadSpec(r, p, ax, ax != nil)
		if err != nil {
			return err
		}
		b := make([]int64, 2*r)
		for i := range r {
			b[i], b[r+i] = int64(begin[i]), int64(end[i])
		}
		pt, _ := tensor.FromSlice(b, len(b))
		return k(env, []*tensor.Tensor{in[0], pt, c}, out)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: kern}, nil
}

// shapePadSpec turns pads (begins then ends, for every axis or for the
// listed axes) into per-axis begin and end pads.
func shapePadSpec(r int, pads, axes []int64, haveAxes bool) (begin, end []int, err error) {
	begin, end = make([]int, r), make([]int, r)
	if !haveAxes {
		axes = make([]int64, r)
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, nil, errorf("%d pads for %d axes", len(pads), len(axes))
	}
	seen := make([]bool, r)
	for i, a := range axes {
		if a < -int64(r) || a >= int64(r) {
			return nil, nil, errorf("axis %d out of range for rank %d", a, r)
		}
		if a < 0 {
			a += int64(r)
		}
		if seen[a] {
			return nil, nil, errorf("axis %d repeated", a)
		}
		seen[a] = true
		b, e := pads[i], pads[len(axes)+i]
		if b > math.MaxInt32 || e > math.MaxInt32 || b < -math.MaxInt32 || e < -math.MaxInt32 {
			return nil, nil, errorf("pad %d or %d is too large", b, e)
		}
		begin[a], end[a] = int(b), int(e)
	}
	return begin, end, nil
}

// shapePadMap maps each output index along one axis to its source index,
// or -1 where the constant goes.
func shapePadMap(mode string, dim, begin, end int) ([]int, error) {
	lo := max(0, -begin)
	hi := dim - max(0, -end)
	m := hi - lo
	pb := max(begin, 0)
	outLen := m + pb + max(end, 0)
	if m < 0 || outLen < 0 {
		return nil, errorf("pads %d, %d crop more than the axis's %d", begin, end, dim)
	}
	mp := make([]int, outLen)
	for o := range mp {
		rel := o - pb
		if rel >= 0 && rel < m {
			mp[o] = lo + rel
			continue
		}
		if mode == "constant" {
			mp[o] = -1
			continue
		}
		if m == 0 {
			return nil, errorf("mode %s cannot pad an empty axis", mode)
		}
		switch mode {
		case "edge":
			rel = min(max(rel, 0), m-1)
		case "wrap":
			rel = ((rel % m) + m) % m
		case "reflect":
			if m == 1 {
				rel = 0
				break
			}
			period := 2 * (m - 1)
			rel = ((rel % period) + period) % period
			if rel >= m {
				rel = period - rel
			}
		}
		mp[o] = lo + rel
	}
	return mp, nil
}

// shapePadK pads in[0] by the begin/end pads in in[1] (2r values) with the
// constant in[2].
func shapePadK[T any](mode string) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		p, err := intsOf(in[1])
		if err != nil {
			return err
		}
		var fill T
		if in[2] != nil {
			c, err := shapeElems[T](in[2])
			if err != nil {
				return err
			}
			if len(c) != 1 {
				return errorf("constant_value must hold one element")
			}
			fill = c[0]
		}
		s := in[0].Shape()
		r := len(s)
		maps := make([][]int, r)
		os := make(tensor.Shape, r)
		for d := range r {
			if maps[d], err = shapePadMap(mode, s[d], int(p[d]), int(p[r+d])); err != nil {
				return err
			}
			os[d] = len(maps[d])
		}
		x, err := shapeElems[T](in[0])
		if err != nil {
			return err
		}
		y, err := shapeOutput[T](env, out, 0, in[0].DType(), os)
		if err != nil {
			return err
		}
		if len(y) == 0 {
			return nil
		}
		if r == 0 {
			y[0] = x[0]
			return nil
		}
		st := s.Strides()
		last := maps[r-1]
		outInner := os[r-1]
		// The run of the last axis that copies straight from the input.
		pb := max(int(p[r-1]), 0)
		lo := max(0, -int(p[r-1]))
		mid := max(s[r-1]-lo-max(0, -int(p[2*r-1])), 0)
		rows := len(y) / outInner
		env.ParallelFor(rows, max(1, 16384/outInner), func(rlo, rhi int) {
			idx := make([]int, r-1)
			rem := rlo
			for d := r - 2; d >= 0; d-- {
				idx[d] = rem % os[d]
				rem /= os[d]
			}
			for row := rlo; row < rhi; row++ {
				o := y[row*outInner : (row+1)*outInner]
				base, inside := 0, true
				for d := range idx {
					src := maps[d][idx[d]]
					if src < 0 {
						inside = false
						break
					}
					base += src * st[d]
				}
				if !inside {
					for j := range o {
						o[j] = fill
					}
				} else {
					for j := 0; j < pb; j++ {
						if src := last[j]; src >= 0 {
							o[j] = x[base+src]
						} else {
							o[j] = fill
						}
					}
					copy(o[pb:pb+mid], x[base+lo:base+lo+mid])
					for j := pb + mid; j < outInner; j++ {
						if src := last[j]; src >= 0 {
							o[j] = x[base+src]
						} else {
							o[j] = fill
						}
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
