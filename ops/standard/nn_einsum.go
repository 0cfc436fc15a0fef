package standard

import (
	"sort"
	"strings"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Einsum by direct loops: every operand gets a stride per label (the sum
// of the strides of the axes carrying it, which takes diagonals), the
// output labels are walked in parallel and the others summed.

type nnEinsumPlan struct {
	out      tensor.Shape
	outDims  []int   // sizes of the output labels
	sumDims  []int   // sizes of the summed labels
	outStr   [][]int // per operand, stride per output label
	sumStr   [][]int // per operand, stride per summed label
	operands int
}

// nnEinsumTerm turns a term into labels: letters map to their byte,
// ellipsis dims to 256+i counted from the right (so they align).
func nnEinsumTerm(n *ops.Node, term string, rank int) ([]int, error) {
	term = strings.TrimSpace(term)
	var labels []int
	ell := strings.Index(term, "...")
	if strings.Count(term, "...") > 1 {
		return nil, n.Errorf("einsum term %q has more than one ellipsis", term)
	}
	letters := func(s string) ([]int, error) {
		var l []int
		for _, c := range s {
			if c == ' ' {
				continue
			}
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return nil, n.Errorf("einsum term %q: bad character %q", term, c)
			}
			l = append(l, int(c))
		}
		return l, nil
	}
	if ell < 0 {
		l, err := letters(term)
		if err != nil {
			return nil, err
		}
		if rank >= 0 && len(l) != rank {
			return nil, n.Errorf("einsum term %q has %d labels for an input of rank %d", term, len(l), rank)
		}
		return l, nil
	}
	pre, err := letters(term[:ell])
	if err != nil {
		return nil, err
	}
	post, err := letters(term[ell+3:])
	if err != nil {
		return nil, err
	}
	ne := rank - len(pre) - len(post)
	if rank < 0 {
		ne = -1 // output term: filled in by the caller
	}
	if rank >= 0 && ne < 0 {
		return nil, n.Errorf("einsum term %q does not fit rank %d", term, rank)
	}
	labels = append(labels, pre...)
	for i := 0; i < ne; i++ {
		labels = append(labels, 256+ne-1-i)
	}
	if ne < 0 {
		labels = append(labels, -1) // marker for the output's ellipsis
	}
	labels = append(labels, post...)
	return labels, nil
}

func prepareEinsum(n *ops.Node) (*ops.Plan, error) {
	n.Attrs.Require("equation")
	eq := n.Attrs.String("equation", "")
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if len(n.Inputs) == 0 {
		return nil, n.Errorf("einsum needs inputs")
	}
	dt := n.Inputs[0].DType
	for i := range n.Inputs {
		if err := checkType(n, i, numericTypes); err != nil {
			return nil, err
		}
		if err := nnStatic(n, i); err != nil {
			return nil, err
		}
	}
	if err := checkSameType(n, 0, nnRange0(len(n.Inputs))...); err != nil {
		return nil, err
	}
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(n.Inputs) {
		return nil, n.Errorf("einsum equation %q has %d terms for %d inputs", eq, len(terms), len(n.Inputs))
	}
	size := map[int]int{}
	count := map[int]int{}
	maxEll := 0
	opLabels := make([][]int, len(terms))
	for i, t := range terms {
		s := n.Inputs[i].Shape
		l, err := nnEinsumTerm(n, t, len(s))
		if err != nil {
			return nil, err
		}
		opLabels[i] = l
		for j, lab := range l {
			d := s[j]
			if lab >= 256 {
				maxEll = max(maxEll, lab-255)
				if old, ok := size[lab]; ok && old != d {
					if old == 1 {
						size[lab] = d
					} else if d != 1 {
						return nil, n.Errorf("einsum: broadcast dims differ (%d vs %d)", old, d)
					}
				} else if !ok {
					size[lab] = d
				}
			} else if old, ok := size[lab]; ok && old != d {
				return nil, n.Errorf("einsum: label %q has sizes %d and %d", rune(lab), old, d)
			} else {
				size[lab] = d
			}
			count[lab]++
		}
	}
	var outLabels []int
	ellLabels := make([]int, maxEll)
	for i := range ellLabels {
		ellLabels[i] = 256 + maxEll - 1 - i
	}
	if explicit {
		l, err := nnEinsumTerm(n, rhs, -1)
		if err != nil {
			return nil, err
		}
		for _, lab := range l {
			if lab == -1 {
				outLabels = append(outLabels, ellLabels...)
				continue
			}
			if _, ok := size[lab]; !ok {
				return nil, n.Errorf("einsum output label %q is not in the inputs", rune(lab))
			}
			for _, o := range outLabels {
				if o == lab {
					return nil, n.Errorf("einsum output label %q repeated", rune(lab))
				}
			}
			outLabels = append(outLabels, lab)
		}
	} else {
		outLabels = append(outLabels, ellLabels...)
		var single []int
		for lab, c := range count {
			if c == 1 && lab < 256 {
				single = append(single, lab)
			}
		}
		sort.Ints(single)
		outLabels = append(outLabels, single...)
	}
	isOut := map[int]bool{}
	for _, l := range outLabels {
		isOut[l] = true
	}
	var sumLabels []int
	for lab := range size {
		if !isOut[lab] {
			sumLabels = append(sumLabels, lab)
		}
	}
	sort.Ints(sumLabels)
	p := &nnEinsumPlan{operands: len(terms)}
	for _, l := range outLabels {
		p.out = append(p.out, size[l])
		p.outDims = append(p.outDims, size[l])
	}
	for _, l := range sumLabels {
		p.sumDims = append(p.sumDims, size[l])
	}
	for i, l := range opLabels {
		s := n.Inputs[i].Shape
		st := s.Strides()
		strideOf := map[int]int{}
		for j, lab := range l {
			if s[j] == 1 && size[lab] != 1 {
				continue // broadcast
			}
			strideOf[lab] += st[j]
		}
		os := make([]int, len(outLabels))
		for j, lab := range outLabels {
			os[j] = strideOf[lab]
		}
		ss := make([]int, len(sumLabels))
		for j, lab := range sumLabels {
			ss[j] = strideOf[lab]
		}
		p.outStr = append(p.outStr, os)
		p.sumStr = append(p.sumStr, ss)
	}
	var k ops.Kernel
	var err error
	switch dt {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		k, err = nnFloat(n, dt, nnEinsumKernel[float32, float64](p), nil)
	case tensor.Float64:
		k = nnEinsumKernel[float64, float64](p)
	case tensor.Int8:
		k = nnEinsumKernel[int8, int64](p)
	case tensor.Int16:
		k = nnEinsumKernel[int16, int64](p)
	case tensor.Int32:
		k = nnEinsumKernel[int32, int64](p)
	case tensor.Int64:
		k = nnEinsumKernel[int64, int64](p)
	case tensor.Uint8:
		k = nnEinsumKernel[uint8, uint64](p)
	case tensor.Uint16:
		k = nnEinsumKernel[uint16, uint64](p)
	case tensor.Uint32:
		k = nnEinsumKernel[uint32, uint64](p)
	case tensor.Uint64:
		k = nnEinsumKernel[uint64, uint64](p)
	default:
		return nil, n.Errorf("unsupported type %s", dt)
	}
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, p.out)}, Kernel: k}, nil
}

func nnRange0(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

func nnEinsumKernel[T, A number](p *nnEinsumPlan) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		xs := make([][]T, len(in))
		for i, t := range in {
			v, err := tensor.View[T](t)
			if err != nil {
				return err
			}
			xs[i] = v
		}
		y, err := nnOut[T](env, out, 0, p.out)
		if err != nil {
			return err
		}
		nOut := nnProd(p.outDims)
		nSum := nnProd(p.sumDims)
		no := len(xs)
		env.ParallelFor(nOut, max(1, 4096/max(nSum, 1)), func(lo, hi int) {
			base := make([]int, no)
			offs := make([]int, no)
			idx := make([]int, len(p.sumDims))
			for o := lo; o < hi; o++ {
				// offsets of this output element
				rem := o
				clear(base)
				for d := len(p.outDims) - 1; d >= 0; d-- {
					c := rem % p.outDims[d]
					rem /= p.outDims[d]
					for i := 0; i < no; i++ {
						base[i] += c * p.outStr[i][d]
					}
				}
				var acc A
				if nSum > 0 {
					copy(offs, base)
					clear(idx)
					for {
						prod := A(xs[0][offs[0]])
						for i := 1; i < no; i++ {
							prod *= A(xs[i][offs[i]])
						}
						acc += prod
						d := len(idx) - 1
						for ; d >= 0; d-- {
							idx[d]++
							for i := 0; i < no; i++ {
								offs[i] += p.sumStr[i][d]
							}
							if idx[d] < p.sumDims[d] {
								break
							}
							for i := 0; i < no; i++ {
								offs[i] -= p.sumStr[i][d] * p.sumDims[d]
							}
							idx[d] = 0
						}
						if d < 0 {
							break
						}
					}
				}
				y[o] = T(acc)
			}
		})
		return nil
	}
}
