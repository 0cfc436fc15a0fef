package standard

import (
	"fmt"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// broadcastShapes applies ONNX (numpy) multidirectional broadcasting.
// Unknown dims (-1) broadcast against 1 as unknown and against n as n.
func broadcastShapes(shapes ...tensor.Shape) (tensor.Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(tensor.Shape, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			case d < 0:
				// unknown against a known o > 1: o, if the input is valid
			case o < 0:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v are not broadcastable (dim %d: %d vs %d): %w", shapes, off+i, o, d, ops.ErrInvalidNode)
			}
		}
	}
	return out, nil
}

// bcastPlan walks an output shape with one strided view per input, with
// adjacent dimensions merged where every input treats them alike, so that
// the innermost loop is as long as possible.
type bcastPlan struct {
	dims    []int   // merged output dims
	strides [][]int // per input, per merged dim: element stride (0 where broadcast)
	n       int     // output elements
}

func newBcastPlan(out tensor.Shape, ins ...tensor.Shape) bcastPlan {
	r := len(out)
	full := make([][]int, len(ins))
	for k, s := range ins {
		st := make([]int, r)
		acc := 1
		for i := len(s) - 1; i >= 0; i-- {
			o := r - len(s) + i
			if s[i] != 1 || out[o] == 1 {
				st[o] = acc
			}
			acc *= s[i]
		}
		full[k] = st
	}
	var p bcastPlan
	p.n = out.NumElements()
	p.strides = make([][]int, len(ins))
	for i := 0; i < r; i++ {
		if out[i] == 1 {
			continue // size-1 dims contribute nothing
		}
		// Merge into the previous dim when for every input stride[prev] == stride[i]*dim[i].
		if m := len(p.dims); m > 0 {
			ok := true
			for k := range ins {
				if p.strides[k][m-1] != full[k][i]*out[i] {
					ok = false
					break
				}
			}
			if ok {
				p.dims[m-1] *= out[i]
				for k := range ins {
					p.strides[k][m-1] = full[k][i]
				}
				continue
			}
		}
		p.dims = append(p.dims, out[i])
		for k := range ins {
			p.strides[k] = append(p.strides[k], full[k][i])
		}
	}
	if len(p.dims) == 0 {
		p.dims = []int{1}
		for k := range ins {
			p.strides[k] = []int{0}
		}
	}
	return p
}

// rows is the number of innermost runs and inner the length of each.
func (p *bcastPlan) rows() int  { return p.n / p.inner() }
func (p *bcastPlan) inner() int { return max(p.dims[len(p.dims)-1], 1) }

// offsets returns, for the first element of row, the offset into each input.
func (p *bcastPlan) offsets(row int, offs []int) {
	for k := range offs {
		offs[k] = 0
	}
	for d := len(p.dims) - 2; d >= 0 && row > 0; d-- {
		idx := row % p.dims[d]
		row /= p.dims[d]
		for k := range offs {
			offs[k] += idx * p.strides[k][d]
		}
	}
}

// binaryMap computes out[i] = f(a[ia], b[ib]) with broadcasting, in
// parallel over rows. The innermost loop has a fast path for each stride
// pattern (both contiguous, or one input fixed).
func binaryMap[A, B, O any](env *ops.Env, out []O, a []A, b []B, outShape, aShape, bShape tensor.Shape, f func(A, B) O) {
	p := newBcastPlan(outShape, aShape, bShape)
	if p.n == 0 {
		return
	}
	inner := p.inner()
	sa, sb := p.strides[0][len(p.dims)-1], p.strides[1][len(p.dims)-1]
	grain := max(1, 16384/inner)
	env.ParallelFor(p.rows(), grain, func(lo, hi int) {
		offs := make([]int, 2)
		for row := lo; row < hi; row++ {
			p.offsets(row, offs)
			o := out[row*inner : row*inner+inner]
			switch {
			case sa == 1 && sb == 1:
				x, y := a[offs[0]:offs[0]+inner], b[offs[1]:offs[1]+inner]
				for i := range o {
					o[i] = f(x[i], y[i])
				}
			case sa == 1 && sb == 0:
				x, y := a[offs[0]:offs[0]+inner], b[offs[1]]
				for i := range o {
					o[i] = f(x[i], y)
				}
			case sa == 0 && sb == 1:
				x, y := a[offs[0]], b[offs[1]:offs[1]+inner]
				for i := range o {
					o[i] = f(x, y[i])
				}
			default:
				ia, ib := offs[0], offs[1]
				for i := range o {
					o[i] = f(a[ia], b[ib])
					ia += sa
					ib += sb
				}
			}
		}
	})
}

// expandInto copies in, broadcast to outShape, into out (Expand, and the
// first input of variadic operators such as Sum and Max).
func expandInto[T any](out []T, in []T, outShape, inShape tensor.Shape) {
	p := newBcastPlan(outShape, inShape)
	if p.n == 0 {
		return
	}
	inner := p.inner()
	s := p.strides[0][len(p.dims)-1]
	offs := make([]int, 1)
	for row := 0; row < p.rows(); row++ {
		p.offsets(row, offs)
		o := out[row*inner : row*inner+inner]
		if s == 1 {
			copy(o, in[offs[0]:offs[0]+inner])
			continue
		}
		v := in[offs[0]]
		for i := range o {
			o[i] = v
		}
	}
}

// ternaryMap is binaryMap for three inputs (Where, Clip with tensors).
func ternaryMap[A, B, C, O any](env *ops.Env, out []O, a []A, b []B, c []C, outShape, aShape, bShape, cShape tensor.Shape, f func(A, B, C) O) {
	p := newBcastPlan(outShape, aShape, bShape, cShape)
	if p.n == 0 {
		return
	}
	inner := p.inner()
	last := len(p.dims) - 1
	sa, sb, sc := p.strides[0][last], p.strides[1][last], p.strides[2][last]
	env.ParallelFor(p.rows(), max(1, 16384/inner), func(lo, hi int) {
		offs := make([]int, 3)
		for row := lo; row < hi; row++ {
			p.offsets(row, offs)
			ia, ib, ic := offs[0], offs[1], offs[2]
			o := out[row*inner : row*inner+inner]
			for i := range o {
				o[i] = f(a[ia], b[ib], c[ic])
				ia += sa
				ib += sb
				ic += sc
			}
		}
	})
}
