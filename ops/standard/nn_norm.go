package standard

import (
	"github.com/gocann/gocann/kernels"
	"math"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Normalizations: BatchNormalization, InstanceNormalization,
// LayerNormalization, GroupNormalization, LRN and
// MeanVarianceNormalization. Statistics are accumulated in float64.

// nnFloatInputs checks inputs idx are float tensors.
func nnFloatInputs(n *ops.Node, idx ...int) error {
	for _, i := range idx {
		if !n.Input(i).Present() {
			continue
		}
		if err := checkType(n, i, floatTypes); err != nil {
			return err
		}
		if err := nnStatic(n, i); err != nil {
			return err
		}
	}
	return nil
}

// nnCheckLen fails unless input i holds exactly want elements.
func nnCheckLen(n *ops.Node, i, want int) error {
	if s := n.Inputs[i].Shape; s.NumElements() != want {
		return n.Errorf("input %d has shape %v, want %d elements", i, s, want)
	}
	return nil
}

func prepareBatchNorm(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0, 1, 2, 3, 4); err != nil {
		return nil, err
	}
	for i := 1; i < 5; i++ {
		if !n.Input(i).Present() {
			return nil, n.Errorf("input %d is required", i)
		}
	}
	if n.Opset < 15 {
		if err := checkSameType(n, 0, 1, 2, 3, 4); err != nil {
			return nil, err
		}
	}
	xs := n.Inputs[0].Shape
	if len(xs) < 2 {
		return nil, n.Errorf("X must have rank >= 2, got %v", xs)
	}
	at := n.Attrs
	eps := float64(at.Float("epsilon", 1e-5))
	momentum := float64(at.Float("momentum", 0.9))
	training := at.Int("training_mode", 0) != 0
	spatial := at.Int("spatial", 1) != 0
	if err := at.Err(); err != nil {
		return nil, err
	}
	if n.Opset < 14 && n.NumOutputs > 1 {
		training = true // before 14, extra outputs mean training statistics
	}
	if n.Opset >= 14 && !training && n.NumOutputs > 1 {
		return nil, n.Errorf("outputs beyond Y require training_mode")
	}
	c := xs[1]
	planes, size := xs[0], xs[2:].NumElements()
	chans := c
	if !spatial && n.Opset < 9 {
		// Per-activation statistics: every element of a sample has its own.
		chans, size = xs[1:].NumElements(), 1
	}
	for i := 1; i < 5; i++ {
		if err := nnCheckLen(n, i, chans); err != nil {
			return nil, err
		}
	}
	dt := n.Inputs[0].DType
	outs := []ops.Type{ops.TensorType(dt, xs.Clone())}
	statShape := tensor.Shape{chans}
	for i := 1; i < n.NumOutputs; i++ {
		sdt := n.Inputs[3].DType
		if i >= 3 {
			sdt = dt
		}
		outs = append(outs, ops.TensorType(sdt, statShape))
	}
	k, err := nnFloat(n, dt, nnBatchNormKernel[float32](planes, chans, size, eps, momentum, training, xs.Clone()),
		nnBatchNormKernel[float64](planes, chans, size, eps, momentum, training, xs.Clone()))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: outs, Kernel: k}, nil
}

func nnBatchNormKernel[T float32 | float64](planes, chans, size int, eps, momentum float64, training bool, shape tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		params := make([][]float32, 4)
		for i := range params {
			if params[i], err = nnFloats(in[1+i]); err != nil {
				return err
			}
		}
		scale, bias, mean, vr := params[0], params[1], params[2], params[3]
		y, err := nnOut[T](env, out, 0, shape)
		if err != nil {
			return err
		}
		m := make([]float64, chans)
		v := make([]float64, chans)
		if training {
			cnt := float64(planes * size)
			for ch := 0; ch < chans; ch++ {
				var s, s2 float64
				for p := 0; p < planes; p++ {
					for _, xv := range x[(p*chans+ch)*size : (p*chans+ch+1)*size] {
						s += float64(xv)
					}
				}
				mu := s / cnt
				for p := 0; p < planes; p++ {
					for _, xv := range x[(p*chans+ch)*size : (p*chans+ch+1)*size] {
						d := float64(xv) - mu
						s2 += d * d
					}
				}
				m[ch], v[ch] = mu, s2/cnt
			}
		} else {
			for ch := range m {
				m[ch], v[ch] = float64(mean[ch]), float64(vr[ch])
			}
		}
		env.ParallelFor(planes*chans, max(1, 16384/max(size, 1)), func(lo, hi int) {
			for pc := lo; pc < hi; pc++ {
				ch := pc % chans
				a := float64(scale[ch]) / math.Sqrt(v[ch]+eps)
				b := float64(bias[ch]) - m[ch]*a
				aa, bb := T(a), T(b)
				ys := y[pc*size : (pc+1)*size]
				for i, xv := range x[pc*size : (pc+1)*size] {
					ys[i] = xv*aa + bb
				}
			}
		})
		if training && len(out) > 1 {
			rm := make([]float64, chans)
			rv := make([]float64, chans)
			for ch := range rm {
				rm[ch] = float64(mean[ch])*momentum + m[ch]*(1-momentum)
				rv[ch] = float64(vr[ch])*momentum + v[ch]*(1-momentum)
			}
			stats := [][]float64{rm, rv, m, v}
			for i := 1; i < len(out); i++ {
				dt := in[3].DType()
				if i >= 3 {
					dt = in[0].DType()
				}
				t, err := env.Output(out, i, dt, tensor.Shape{chans})
				if err != nil {
					return err
				}
				if err := storeFloat64s(t, stats[i-1]); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func prepareInstanceNorm(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0, 1, 2); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1, 2); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape
	if len(xs) < 3 {
		return nil, n.Errorf("X must have rank >= 3, got %v", xs)
	}
	eps := float64(n.Attrs.Float("epsilon", 1e-5))
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	c := xs[1]
	if err := nnCheckLen(n, 1, c); err != nil {
		return nil, err
	}
	if err := nnCheckLen(n, 2, c); err != nil {
		return nil, err
	}
	size := xs[2:].NumElements()
	dt := n.Inputs[0].DType
	k, err := nnFloat(n, dt, nnGroupNormKernel[float32](xs[0], c, c, size, eps, false, xs.Clone()),
		nnGroupNormKernel[float64](xs[0], c, c, size, eps, false, xs.Clone()))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, xs.Clone())}, Kernel: k}, nil
}

func prepareGroupNorm(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0, 1, 2); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1, 2); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape
	if len(xs) < 2 {
		return nil, n.Errorf("X must have rank >= 2, got %v", xs)
	}
	at := n.Attrs
	eps := float64(at.Float("epsilon", 1e-5))
	at.Require("num_groups")
	groups := at.Int("num_groups", 1)
	if err := at.Err(); err != nil {
		return nil, err
	}
	c := xs[1]
	if groups < 1 || int64(c)%groups != 0 {
		return nil, n.Errorf("num_groups %d does not divide the %d channels", groups, c)
	}
	g := int(groups)
	// Opset 18 had one scale and bias per group; 21 has one per channel.
	perGroup := n.Opset < 21
	want := c
	if perGroup {
		want = g
	}
	if err := nnCheckLen(n, 1, want); err != nil {
		return nil, err
	}
	if err := nnCheckLen(n, 2, want); err != nil {
		return nil, err
	}
	size := xs[2:].NumElements()
	dt := n.Inputs[0].DType
	k, err := nnFloat(n, dt, nnGroupNormKernel[float32](xs[0], c, g, size, eps, perGroup, xs.Clone()),
		nnGroupNormKernel[float64](xs[0], c, g, size, eps, perGroup, xs.Clone()))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, xs.Clone())}, Kernel: k}, nil
}

// nnGroupNormKernel normalizes each group of c/groups channels of each
// sample, then applies a per-channel (or per-group) scale and bias.
// Instance normalization is the case groups == c.
func nnGroupNormKernel[T float32 | float64](batch, c, groups, size int, eps float64, perGroup bool, shape tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		scale, err := nnFloats(in[1])
		if err != nil {
			return err
		}
		bias, err := nnFloats(in[2])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, out, 0, shape)
		if err != nil {
			return err
		}
		cg := c / groups
		gsize := cg * size
		env.ParallelFor(batch*groups, 1, func(lo, hi int) {
			for bg := lo; bg < hi; bg++ {
				xs := x[bg*gsize : (bg+1)*gsize]
				var s float64
				for _, v := range xs {
					s += float64(v)
				}
				mu := s / float64(max(gsize, 1))
				var s2 float64
				for _, v := range xs {
					d := float64(v) - mu
					s2 += d * d
				}
				inv := 1 / math.Sqrt(s2/float64(max(gsize, 1))+eps)
				g := bg % groups
				for ci := 0; ci < cg; ci++ {
					ch := g*cg + ci
					pi := ch
					if perGroup {
						pi = g
					}
					a := float64(scale[pi]) * inv
					b := float64(bias[pi]) - mu*a
					aa, bb := T(a), T(b)
					ys := y[bg*gsize+ci*size : bg*gsize+(ci+1)*size]
					for i, v := range xs[ci*size : (ci+1)*size] {
						ys[i] = v*aa + bb
					}
				}
			}
		})
		return nil
	}
}

func prepareLayerNorm(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0, 1, 2); err != nil {
		return nil, err
	}
	if err := checkSameType(n, 0, 1, 2); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape
	at := n.Attrs
	axis := at.Int("axis", -1)
	eps := float64(at.Float("epsilon", 1e-5))
	stash := at.Int("stash_type", 1)
	if err := at.Err(); err != nil {
		return nil, err
	}
	if stash != 1 && stash != 11 && stash != 10 && stash != 16 {
		return nil, n.Errorf("unsupported stash_type %d", stash)
	}
	ax, err := normAxis(n, axis, len(xs))
	if err != nil {
		return nil, err
	}
	inner := xs[ax:]
	for i := 1; i <= 2; i++ {
		if !n.Input(i).Present() {
			continue
		}
		if _, err := nnUnidirectional(n.Inputs[i].Shape, inner); err != nil {
			return nil, n.Errorf("input %d of shape %v does not broadcast to %v", i, n.Inputs[i].Shape, inner)
		}
	}
	rows, size := xs[:ax].NumElements(), inner.NumElements()
	dt := n.Inputs[0].DType
	statShape := xs.Clone()
	for i := ax; i < len(statShape); i++ {
		statShape[i] = 1
	}
	outs := []ops.Type{ops.TensorType(dt, xs.Clone())}
	// Mean and InvStdDev are of the stash type (float32 by default).
	sdt := tensor.DType(stash)
	for i := 1; i < n.NumOutputs; i++ {
		outs = append(outs, ops.TensorType(sdt, statShape))
	}
	sh := xs.Clone()
	var scaleShape, biasShape tensor.Shape
	if n.Input(1).Present() {
		scaleShape = n.Inputs[1].Shape.Clone()
	}
	if n.Input(2).Present() {
		biasShape = n.Inputs[2].Shape.Clone()
	}
	k, err := nnFloat(n, dt, nnLayerNormKernel[float32](rows, size, eps, sh, inner.Clone(), scaleShape, biasShape, statShape, sdt),
		nnLayerNormKernel[float64](rows, size, eps, sh, inner.Clone(), scaleShape, biasShape, statShape, sdt))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: outs, Kernel: k}, nil
}

// nnUnidirectional checks that s broadcasts to target (numpy rules, one way).
func nnUnidirectional(s, target tensor.Shape) (bool, error) {
	if len(s) > len(target) {
		return false, errorf("rank too high")
	}
	for i, d := range s {
		if t := target[len(target)-len(s)+i]; d != 1 && d != t {
			return false, errorf("dim mismatch")
		}
	}
	return true, nil
}

// nnExpandFloats reads a float parameter and broadcasts it to target.
func nnExpandFloats(t *tensor.Tensor, s, target tensor.Shape) ([]float32, error) {
	v, err := nnFloats(t)
	if err != nil {
		return nil, err
	}
	if s.Equal(target) {
		return v, nil
	}
	out := make([]float32, target.NumElements())
	expandInto(out, v, target, s)
	return out, nil
}

func nnLayerNormKernel[T float32 | float64](rows, size int, eps float64, shape, inner, scaleShape, biasShape, statShape tensor.Shape, sdt tensor.DType) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		var scale, bias []float32
		if in[1] != nil {
			if scale, err = nnExpandFloats(in[1], scaleShape, inner); err != nil {
				return err
			}
		}
		if len(in) > 2 && in[2] != nil {
			if bias, err = nnExpandFloats(in[2], biasShape, inner); err != nil {
				return err
			}
		}
		y, err := nnOut[T](env, out, 0, shape)
		if err != nil {
			return err
		}
		means := make([]float64, rows)
		invs := make([]float64, rows)
		env.ParallelFor(rows, max(1, 8192/max(size, 1)), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				xs := x[r*size : (r+1)*size]
				ys := y[r*size : (r+1)*size]
				if x32, ok := any(xs).([]float32); ok {
					means[r], invs[r] = kernels.LayerNormF32(any(ys).([]float32), x32, scale, bias, eps)
					continue
				}
				var s float64
				for _, v := range xs {
					s += float64(v)
				}
				mu := s / float64(max(size, 1))
				var s2 float64
				for _, v := range xs {
					d := float64(v) - mu
					s2 += d * d
				}
				inv := 1 / math.Sqrt(s2/float64(max(size, 1))+eps)
				means[r], invs[r] = mu, inv
				m, iv := T(mu), T(inv)
				for i, v := range xs {
					z := (v - m) * iv
					if scale != nil {
						z *= T(scale[i])
					}
					if bias != nil {
						z += T(bias[i])
					}
					ys[i] = z
				}
			}
		})
		for i, st := range [][]float64{means, invs} {
			if len(out) <= i+1 {
				break
			}
			t, err := env.Output(out, i+1, sdt, statShape)
			if err != nil {
				return err
			}
			if err := storeFloat64s(t, st); err != nil {
				return err
			}
		}
		return nil
	}
}

func prepareLRN(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape
	if len(xs) < 2 {
		return nil, n.Errorf("X must have rank >= 2, got %v", xs)
	}
	at := n.Attrs
	alpha := float64(at.Float("alpha", 1e-4))
	beta := float64(at.Float("beta", 0.75))
	bias := float64(at.Float("bias", 1))
	at.Require("size")
	size := at.Int("size", 1)
	if err := at.Err(); err != nil {
		return nil, err
	}
	if size < 1 {
		return nil, n.Errorf("size must be positive, got %d", size)
	}
	c, inner := xs[1], xs[2:].NumElements()
	dt := n.Inputs[0].DType
	sh := xs.Clone()
	k, err := nnFloat(n, dt, nnLRNKernel[float32](xs[0], c, inner, int(size), alpha, beta, bias, sh),
		nnLRNKernel[float64](xs[0], c, inner, int(size), alpha, beta, bias, sh))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, sh)}, Kernel: k}, nil
}

func nnLRNKernel[T float32 | float64](batch, c, inner, size int, alpha, beta, bias float64, shape tensor.Shape) ops.Kernel {
	lo := (size - 1) / 2
	hi := size - 1 - lo
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, out, 0, shape)
		if err != nil {
			return err
		}
		env.ParallelFor(batch*c, 1, func(a, b int) {
			for bc := a; bc < b; bc++ {
				bi, ch := bc/c, bc%c
				c0, c1 := max(0, ch-lo), min(c-1, ch+hi)
				for i := 0; i < inner; i++ {
					var s float64
					for cc := c0; cc <= c1; cc++ {
						v := float64(x[(bi*c+cc)*inner+i])
						s += v * v
					}
					idx := bc*inner + i
					y[idx] = T(float64(x[idx]) / math.Pow(bias+alpha/float64(size)*s, beta))
				}
			}
		})
		return nil
	}
}

func prepareMVN(n *ops.Node) (*ops.Plan, error) {
	if err := nnFloatInputs(n, 0); err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Shape
	axesA := n.Attrs.Ints("axes", []int64{0, 2, 3})
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	r := len(xs)
	reduced := make([]bool, r)
	for _, a := range axesA {
		ax, err := normAxis(n, a, r)
		if err != nil {
			return nil, err
		}
		reduced[ax] = true
	}
	dt := n.Inputs[0].DType
	sh := xs.Clone()
	k, err := nnFloat(n, dt, nnMVNKernel[float32](sh, reduced), nnMVNKernel[float64](sh, reduced))
	if err != nil {
		return nil, err
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, sh)}, Kernel: k}, nil
}

// nnMVNKernel computes (x - mean) / (std + 1e-9) over the reduced axes,
// as the operator's function body does.
func nnMVNKernel[T float32 | float64](shape tensor.Shape, reduced []bool) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[T](env, out, 0, shape)
		if err != nil {
			return err
		}
		// Map each element to its statistics slot (the kept axes).
		r := len(shape)
		slots := 1
		for d := 0; d < r; d++ {
			if !reduced[d] {
				slots *= shape[d]
			}
		}
		slotOf := make([]int, len(x))
		idx := make([]int, r)
		for i := range x {
			s := 0
			for d := 0; d < r; d++ {
				if !reduced[d] {
					s = s*shape[d] + idx[d]
				}
			}
			slotOf[i] = s
			for d := r - 1; d >= 0; d-- {
				idx[d]++
				if idx[d] < shape[d] {
					break
				}
				idx[d] = 0
			}
		}
		sum := make([]float64, slots)
		sq := make([]float64, slots)
		cnt := make([]float64, slots)
		for i, v := range x {
			s := slotOf[i]
			sum[s] += float64(v)
			sq[s] += float64(v) * float64(v)
			cnt[s]++
		}
		for i, v := range x {
			s := slotOf[i]
			mu := sum[s] / cnt[s]
			vr := max(sq[s]/cnt[s]-mu*mu, 0)
			y[i] = T((float64(v) - mu) / (math.Sqrt(vr) + 1e-9))
		}
		return nil
	}
}
