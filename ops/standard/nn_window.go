package standard

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// nnWindow is the geometry of a sliding window over the spatial dims of
// an N x C x D1 x ... x Dr tensor (convolution and pooling).
type nnWindow struct {
	in, k, s, d, pb, pe, out []int
}

func (w *nnWindow) rank() int { return len(w.in) }

func nnProd(v []int) int {
	p := 1
	for _, x := range v {
		p *= x
	}
	return p
}

// nnIntsAttr converts an ints attribute of want values (def each when
// absent), failing on values below minVal or absurdly large.
func nnIntsAttr(n *ops.Node, name string, v []int64, want int, def int, minVal int64) ([]int, error) {
	if v == nil {
		out := make([]int, want)
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(v) != want {
		return nil, n.Errorf("attribute %s has %d values, want %d", name, len(v), want)
	}
	out := make([]int, want)
	for i, x := range v {
		if x < minVal || x > 1<<30 {
			return nil, n.Errorf("attribute %s value %d out of range", name, x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// nnWindowFor reads auto_pad, pads, strides and dilations for a window of
// kernel k over spatial dims in. ceil selects pooling's ceil_mode output size.
func nnWindowFor(n *ops.Node, in, k []int, ceil bool) (*nnWindow, error) {
	r := len(in)
	at := n.Attrs
	autoPad := at.String("auto_pad", "NOTSET")
	pads := at.Ints("pads", nil)
	strides := at.Ints("strides", nil)
	dils := at.Ints("dilations", nil)
	if err := at.Err(); err != nil {
		return nil, err
	}
	w := &nnWindow{in: in, k: k}
	var err error
	if w.s, err = nnIntsAttr(n, "strides", strides, r, 1, 1); err != nil {
		return nil, err
	}
	if w.d, err = nnIntsAttr(n, "dilations", dils, r, 1, 1); err != nil {
		return nil, err
	}
	p, err := nnIntsAttr(n, "pads", pads, 2*r, 0, 0)
	if err != nil {
		return nil, err
	}
	w.pb, w.pe = p[:r], p[r:]
	w.out = make([]int, r)
	for i := 0; i < r; i++ {
		if k[i] < 1 {
			return nil, n.Errorf("kernel dim %d is %d", i, k[i])
		}
		ext := (k[i]-1)*w.d[i] + 1
		switch autoPad {
		case "NOTSET", "":
			span := in[i] + w.pb[i] + w.pe[i] - ext
			if span < 0 {
				return nil, n.Errorf("window %v (dilated %d) larger than padded input %v in dim %d", k, ext, in, i)
			}
			if ceil {
				w.out[i] = (span+w.s[i]-1)/w.s[i] + 1
				// The last window must start inside the input or the left padding.
				if (w.out[i]-1)*w.s[i] >= in[i]+w.pb[i] {
					w.out[i]--
				}
			} else {
				w.out[i] = span/w.s[i] + 1
			}
		case "VALID":
			w.pb[i], w.pe[i] = 0, 0
			if in[i] < ext {
				return nil, n.Errorf("window %v larger than input %v in dim %d", k, in, i)
			}
			if ceil {
				w.out[i] = (in[i]-ext+w.s[i]-1)/w.s[i] + 1
			} else {
				w.out[i] = (in[i]-ext)/w.s[i] + 1
			}
		case "SAME_UPPER", "SAME_LOWER":
			w.out[i] = (in[i] + w.s[i] - 1) / w.s[i]
			total := max(0, (w.out[i]-1)*w.s[i]+ext-in[i])
			if autoPad == "SAME_UPPER" {
				w.pb[i], w.pe[i] = total/2, total-total/2
			} else {
				w.pb[i], w.pe[i] = total-total/2, total/2
			}
		default:
			return nil, n.Errorf("unknown auto_pad %q", autoPad)
		}
		if w.out[i] < 0 {
			w.out[i] = 0
		}
	}
	if err := nnCheckSize(n, w.out); err != nil {
		return nil, err
	}
	return w, nil
}

// nnMaxOutput bounds the elements of a planned output, so that absurd
// attributes (pads of a billion) fail in Prepare instead of exhausting
// memory in the kernel.
const nnMaxOutput = 1 << 34

func nnCheckSize(n *ops.Node, dims []int) error {
	total := 1
	for _, d := range dims {
		if d > 0 && total > nnMaxOutput/d {
			return n.Errorf("output dims %v are too large", dims)
		}
		total *= max(d, 1)
	}
	return nil
}

// nnSpatial checks X is N x C x spatial... and returns the spatial dims.
func nnSpatial(n *ops.Node, i int, minRank int) (tensor.Shape, error) {
	if err := nnStatic(n, i); err != nil {
		return nil, err
	}
	s := n.Inputs[i].Shape
	if len(s) < minRank {
		return nil, n.Errorf("input %d must have rank >= %d (N x C x D1...), got %v", i, minRank, s)
	}
	return s, nil
}

// nnRange returns the output positions [lo, hi) along one dim whose input
// coordinate o*s + off lies in [0, size).
func nnRange(out, s, off, size int) (lo, hi int) {
	// o*s + off >= 0  => o >= ceil(-off/s)
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	// o*s + off <= size-1 => o <= floor((size-1-off)/s)
	if size-1-off < 0 {
		return lo, lo
	}
	hi = (size-1-off)/s + 1
	hi = min(hi, out)
	lo = min(lo, hi)
	return lo, hi
}

// nnIm2col fills col (channels*K rows of outS columns) with the windows
// of x (channels x in...), zero where the window falls in the padding.
func nnIm2col[T number](env *ops.Env, w *nnWindow, x []T, channels int, col []T) {
	r := w.rank()
	kSize := nnProd(w.k)
	outS := nnProd(w.out)
	inS := nnProd(w.in)
	outW := w.out[r-1]
	inW := w.in[r-1]
	outer := outS / max(outW, 1)
	if outW == 0 {
		return
	}
	env.ParallelFor(channels*kSize, max(1, 8192/max(outS, 1)), func(lo, hi int) {
		kk := make([]int, r)
		oi := make([]int, r)
		for row := lo; row < hi; row++ {
			c, kf := row/kSize, row%kSize
			for d := r - 1; d >= 0; d-- {
				kk[d] = kf % w.k[d]
				kf /= w.k[d]
			}
			xc := x[c*inS : (c+1)*inS]
			dst := col[row*outS : (row+1)*outS]
			offW := kk[r-1]*w.d[r-1] - w.pb[r-1]
			sW := w.s[r-1]
			wlo, whi := nnRange(outW, sW, offW, inW)
			for o := 0; o < outer; o++ {
				seg := dst[o*outW : (o+1)*outW]
				// Input offset of this row of outputs, or -1 if padding.
				of := o
				base := 0
				valid := true
				for d := r - 2; d >= 0; d-- {
					oi[d] = of % w.out[d]
					of /= w.out[d]
				}
				stride := inW
				for d := r - 2; d >= 0; d-- {
					pos := oi[d]*w.s[d] - w.pb[d] + kk[d]*w.d[d]
					if pos < 0 || pos >= w.in[d] {
						valid = false
						break
					}
					base += pos * stride
					stride *= w.in[d]
				}
				if !valid || wlo >= whi {
					clear(seg)
					continue
				}
				clear(seg[:wlo])
				clear(seg[whi:])
				src := xc[base:]
				if sW == 1 {
					copy(seg[wlo:whi], src[wlo+offW:whi+offW])
				} else {
					for ow := wlo; ow < whi; ow++ {
						seg[ow] = src[ow*sW+offW]
					}
				}
			}
		}
	})
}

// nnCol2im adds col (channels*K rows of inS columns, the transposed
// convolution's per-input contributions) into y (channels x out...).
func nnCol2im[T number](env *ops.Env, w *nnWindow, col []T, channels int, y []T) {
	// Here w.in is the transposed convolution's input (the columns) and
	// w.out its output: output o = i*s - pb + k*d.
	r := w.rank()
	kSize := nnProd(w.k)
	inS := nnProd(w.in)
	outS := nnProd(w.out)
	inW := w.in[r-1]
	outW := w.out[r-1]
	if inW == 0 {
		return
	}
	outer := inS / inW
	env.ParallelFor(channels, 1, func(lo, hi int) {
		kk := make([]int, r)
		ii := make([]int, r)
		for c := lo; c < hi; c++ {
			yc := y[c*outS : (c+1)*outS]
			for kf0 := 0; kf0 < kSize; kf0++ {
				kf := kf0
				for d := r - 1; d >= 0; d-- {
					kk[d] = kf % w.k[d]
					kf /= w.k[d]
				}
				src := col[(c*kSize+kf0)*inS : (c*kSize+kf0+1)*inS]
				offW := kk[r-1]*w.d[r-1] - w.pb[r-1]
				sW := w.s[r-1]
				// input positions i with 0 <= i*sW + offW < outW
				ilo, ihi := nnRange(inW, sW, offW, outW)
				for o := 0; o < outer; o++ {
					of := o
					for d := r - 2; d >= 0; d-- {
						ii[d] = of % w.in[d]
						of /= w.in[d]
					}
					base, stride, valid := 0, outW, true
					for d := r - 2; d >= 0; d-- {
						pos := ii[d]*w.s[d] - w.pb[d] + kk[d]*w.d[d]
						if pos < 0 || pos >= w.out[d] {
							valid = false
							break
						}
						base += pos * stride
						stride *= w.out[d]
					}
					if !valid {
						continue
					}
					seg := src[o*inW : (o+1)*inW]
					dst := yc[base:]
					for i := ilo; i < ihi; i++ {
						dst[i*sW+offW] += seg[i]
					}
				}
			}
		}
	})
}
