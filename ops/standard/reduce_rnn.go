package standard

import (
	"math"
	"strings"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Recurrent networks: RNN, GRU and LSTM.

func reduceRNNOps() []def {
	return []def{
		{name: "RNN", since: []int{1, 7, 14}, inputs: [2]int{3, 6}, outputs: [2]int{0, 2},
			prepare: reducePrepareRNN("RNN"), doc: "simple recurrent network (Elman)"},
		{name: "GRU", since: []int{1, 3, 7, 14}, inputs: [2]int{3, 6}, outputs: [2]int{0, 2},
			prepare: reducePrepareRNN("GRU"), doc: "gated recurrent unit network"},
		{name: "LSTM", since: []int{1, 7, 14}, inputs: [2]int{3, 8}, outputs: [2]int{0, 3},
			prepare: reducePrepareRNN("LSTM"), doc: "long short-term memory network"},
	}
}

// reduceRNNAct is one activation function of a recurrent cell.
type reduceRNNAct struct {
	kind        int
	alpha, beta float64
}

const (
	reduceRNNRelu = iota
	reduceRNNTanh
	reduceRNNSigmoid
	reduceRNNAffine
	reduceRNNLeakyRelu
	reduceRNNThresholdedRelu
	reduceRNNScaledTanh
	reduceRNNHardSigmoid
	reduceRNNElu
	reduceRNNSoftsign
	reduceRNNSoftplus
)

// reduceRNNActs maps lower-case activation names to their kind, how many of
// alpha and beta they read, and their defaults.
var reduceRNNActs = map[string]struct {
	kind, params int
	alpha, beta  float64
}{
	"relu":            {reduceRNNRelu, 0, 0, 0},
	"tanh":            {reduceRNNTanh, 0, 0, 0},
	"sigmoid":         {reduceRNNSigmoid, 0, 0, 0},
	"affine":          {reduceRNNAffine, 2, 1, 0},
	"leakyrelu":       {reduceRNNLeakyRelu, 1, 0.01, 0},
	"thresholdedrelu": {reduceRNNThresholdedRelu, 1, 1, 0},
	"scaledtanh":      {reduceRNNScaledTanh, 2, 1, 1},
	"hardsigmoid":     {reduceRNNHardSigmoid, 2, 0.2, 0.5},
	"elu":             {reduceRNNElu, 1, 1, 0},
	"softsign":        {reduceRNNSoftsign, 0, 0, 0},
	"softplus":        {reduceRNNSoftplus, 0, 0, 0},
}

func (a reduceRNNAct) f(x float64) float64 {
	switch a.kind {
	case reduceRNNRelu:
		return max(x, 0)
	case reduceRNNTanh:
		return math.Tanh(x)
	case reduceRNNSigmoid:
		if x >= 0 {
			return 1 / (1 + math.Exp(-x))
		}
		e := math.Exp(x)
		return e / (1 + e)
	case reduceRNNAffine:
		return a.alpha*x + a.beta
	case reduceRNNLeakyRelu:
		if x < 0 {
			return a.alpha * x
		}
		return x
	case reduceRNNThresholdedRelu:
		if x > a.alpha {
			return x
		}
		return 0
	case reduceRNNScaledTanh:
		return a.alpha * math.Tanh(a.beta*x)
	case reduceRNNHardSigmoid:
		return max(0, min(1, a.alpha*x+a.beta))
	case reduceRNNElu:
		if x < 0 {
			return a.alpha * (math.Exp(x) - 1)
		}
		return x
	case reduceRNNSoftsign:
		return x / (1 + math.Abs(x))
	case reduceRNNSoftplus:
		if x > 30 {
			return x
		}
		return math.Log1p(math.Exp(x))
	}
	return x
}

// reduceRNNSpec is a prepared recurrent node.
type reduceRNNSpec struct {
	cell                 string
	gates                int // per-step gate blocks: 1 RNN, 3 GRU, 4 LSTM
	hidden, input        int
	seq, batch, dirs     int
	reverse              bool // single direction, reversed
	acts                 []reduceRNNAct
	perDir               int // activations per direction
	clip                 float64
	layout               int
	linearBeforeReset    bool
	inputForget          bool
	yShape, hShape       tensor.Shape
	hasB, hasP           bool
	hasInitH, hasInitC   bool
	hasSeqLens           bool
	numOutputs           int
	seqLenIn, initHIn    int
	initCIn, peepholesIn int
}

func reducePrepareRNN(cell string) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		s := &reduceRNNSpec{cell: cell, seqLenIn: 4, initHIn: 5, initCIn: 6, peepholesIn: 7}
		var defActs []string
		switch cell {
		case "RNN":
			s.gates, s.perDir, defActs = 1, 1, []string{"Tanh"}
		case "GRU":
			s.gates, s.perDir, defActs = 3, 2, []string{"Sigmoid", "Tanh"}
		default:
			s.gates, s.perDir, defActs = 4, 3, []string{"Sigmoid", "Tanh", "Tanh"}
		}
		a := n.Attrs
		hidden := a.Int("hidden_size", -1)
		dir := a.String("direction", "forward")
		names := a.Strings("activations", nil)
		alphas := a.Floats("activation_alpha", nil)
		betas := a.Floats("activation_beta", nil)
		hasClip := a.Has("clip")
		clip := a.Float("clip", 0)
		if n.Opset >= 14 {
			s.layout = int(a.Int("layout", 0))
		}
		if cell == "GRU" && n.Opset >= 3 {
			s.linearBeforeReset = a.Int("linear_before_reset", 0) != 0
		}
		if cell == "LSTM" {
			s.inputForget = a.Int("input_forget", 0) != 0
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		switch dir {
		case "forward":
			s.dirs = 1
		case "reverse":
			s.dirs, s.reverse = 1, true
		case "bidirectional":
			s.dirs = 2
		default:
			return nil, n.Errorf("direction %q: want forward, reverse or bidirectional", dir)
		}
		if s.layout != 0 && s.layout != 1 {
			return nil, n.Errorf("layout %d: want 0 or 1", s.layout)
		}
		s.clip = math.Inf(1)
		if hasClip {
			if !(clip > 0) {
				return nil, n.Errorf("clip %v must be positive", clip)
			}
			s.clip = float64(clip)
		}
		// Activations: per direction, consuming alpha and beta in order
		// for the functions that take them.
		if names == nil {
			for range s.dirs {
				names = append(names, defActs...)
			}
		} else if len(names) == s.perDir && s.dirs == 2 {
			names = append(names, names...)
		}
		if len(names) != s.perDir*s.dirs {
			return nil, n.Errorf("%d activations given, want %d", len(names), s.perDir*s.dirs)
		}
		for _, name := range names {
			info, ok := reduceRNNActs[strings.ToLower(name)]
			if !ok {
				return nil, n.Errorf("unsupported activation %q", name)
			}
			act := reduceRNNAct{kind: info.kind, alpha: info.alpha, beta: info.beta}
			if info.params >= 1 && len(alphas) > 0 {
				act.alpha, alphas = float64(alphas[0]), alphas[1:]
			}
			if info.params >= 2 && len(betas) > 0 {
				act.beta, betas = float64(betas[0]), betas[1:]
			}
			s.acts = append(s.acts, act)
		}
		// Inputs: X, W, R, B, sequence_lens, initial_h (, initial_c, P).
		types := []tensor.DType{tensor.Float16, tensor.Float32, tensor.Float64}
		for _, i := range []int{0, 1, 2, 3, 5, 6, 7} {
			if i < len(n.Inputs) && (i < 3 || n.Inputs[i].Present()) {
				if err := checkType(n, i, types); err != nil {
					return nil, err
				}
				if err := checkSameType(n, 0, i); err != nil {
					return nil, err
				}
				if !n.Inputs[i].Static() {
					return nil, n.Errorf("input %d needs a known shape, got %s", i, n.Inputs[i])
				}
			}
		}
		x, w, r := n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape
		if len(x) != 3 || len(w) != 3 || len(r) != 3 {
			return nil, n.Errorf("X, W and R must be 3-D, got %v, %v, %v", x, w, r)
		}
		if s.layout == 0 {
			s.seq, s.batch = x[0], x[1]
		} else {
			s.batch, s.seq = x[0], x[1]
		}
		s.input = x[2]
		if hidden < 0 {
			hidden = int64(r[2])
		}
		if hidden <= 0 {
			return nil, n.Errorf("hidden_size %d must be positive", hidden)
		}
		s.hidden = int(hidden)
		gh := s.gates * s.hidden
		if !w.Equal(tensor.Shape{s.dirs, gh, s.input}) {
			return nil, n.Errorf("W has shape %v, want [%d %d %d]", w, s.dirs, gh, s.input)
		}
		if !r.Equal(tensor.Shape{s.dirs, gh, s.hidden}) {
			return nil, n.Errorf("R has shape %v, want [%d %d %d]", r, s.dirs, gh, s.hidden)
		}
		if b := n.Input(3); b.Present() {
			s.hasB = true
			if !b.Shape.Equal(tensor.Shape{s.dirs, 2 * gh}) {
				return nil, n.Errorf("B has shape %v, want [%d %d]", b.Shape, s.dirs, 2*gh)
			}
		}
		if sl := n.Input(4); sl.Present() {
			s.hasSeqLens = true
			if err := checkType(n, 4, []tensor.DType{tensor.Int32}); err != nil {
				return nil, err
			}
			if sl.UnknownRank || !sl.Shape.Equal(tensor.Shape{s.batch}) {
				return nil, n.Errorf("sequence_lens has shape %s, want [%d]", sl, s.batch)
			}
		}
		stateShape := tensor.Shape{s.dirs, s.batch, s.hidden}
		if s.layout == 1 {
			stateShape = tensor.Shape{s.batch, s.dirs, s.hidden}
		}
		for _, i := range []int{5, 6} {
			if t := n.Input(i); t.Present() {
				if i == 6 && cell != "LSTM" {
					return nil, n.Errorf("%s takes no input %d", cell, i)
				}
				if !t.Shape.Equal(stateShape) {
					return nil, n.Errorf("initial state (input %d) has shape %v, want %v", i, t.Shape, stateShape)
				}
			}
		}
		s.hasInitH = n.Input(5).Present()
		s.hasInitC = n.Input(6).Present()
		if p := n.Input(7); p.Present() {
			s.hasP = true
			if !p.Shape.Equal(tensor.Shape{s.dirs, 3 * s.hidden}) {
				return nil, n.Errorf("P has shape %v, want [%d %d]", p.Shape, s.dirs, 3*s.hidden)
			}
		}
		s.yShape = tensor.Shape{s.seq, s.dirs, s.batch, s.hidden}
		if s.layout == 1 {
			s.yShape = tensor.Shape{s.batch, s.seq, s.dirs, s.hidden}
		}
		s.hShape = stateShape
		s.numOutputs = n.NumOutputs
		dt := n.Inputs[0].DType
		outs := make([]ops.Type, n.NumOutputs)
		for i := range outs {
			if i == 0 {
				outs[i] = ops.TensorType(dt, s.yShape.Clone())
			} else {
				outs[i] = ops.TensorType(dt, s.hShape.Clone())
			}
		}
		var k ops.Kernel
		switch dt {
		case tensor.Float32:
			k = reduceRNNKernel[float32](s)
		case tensor.Float64:
			k = reduceRNNKernel[float64](s)
		default:
			k = halfAsFloat32(dt, reduceRNNKernel[float32](s))
		}
		return &ops.Plan{Outputs: outs, Kernel: k}, nil
	}
}

// reduceMatMulABt computes c[i][j] (+)= sum_k a[i][k] * b[j][k] for row-major
// a (m×k) and b (n×k).
func reduceMatMulABt[T float32 | float64](env *ops.Env, c, a, b []T, m, n, k int, accumulate bool) {
	grain := max(1, 32768/max(1, n*k))
	env.ParallelFor(m, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ar := a[i*k : i*k+k]
			cr := c[i*n : i*n+n]
			for j := range cr {
				br := b[j*k : j*k+k]
				var s0, s1, s2, s3 T
				p := 0
				for ; p+4 <= k; p += 4 {
					s0 += ar[p] * br[p]
					s1 += ar[p+1] * br[p+1]
					s2 += ar[p+2] * br[p+2]
					s3 += ar[p+3] * br[p+3]
				}
				for ; p < k; p++ {
					s0 += ar[p] * br[p]
				}
				if accumulate {
					cr[j] += (s0 + s1) + (s2 + s3)
				} else {
					cr[j] = (s0 + s1) + (s2 + s3)
				}
			}
		}
	})
}

func reduceRNNKernel[T float32 | float64](s *reduceRNNSpec) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		view := func(i int) ([]T, error) {
			if i >= len(in) || in[i] == nil {
				return nil, nil
			}
			return tensor.View[T](in[i])
		}
		x, err := view(0)
		if err != nil {
			return err
		}
		w, err := view(1)
		if err != nil {
			return err
		}
		r, err := view(2)
		if err != nil {
			return err
		}
		bias, err := view(3)
		if err != nil {
			return err
		}
		initH, err := view(s.initHIn)
		if err != nil {
			return err
		}
		var initC, peep []T
		if s.cell == "LSTM" {
			if initC, err = view(s.initCIn); err != nil {
				return err
			}
			if peep, err = view(s.peepholesIn); err != nil {
				return err
			}
		}
		seqLens := make([]int, s.batch)
		for b := range seqLens {
			seqLens[b] = s.seq
		}
		if s.hasSeqLens && len(in) > 4 && in[4] != nil {
			sl, err := tensor.View[int32](in[4])
			if err != nil {
				return err
			}
			for b, v := range sl {
				if v < 0 || int(v) > s.seq {
					return errorf("sequence_lens[%d] = %d out of range [0, %d]", b, v, s.seq)
				}
				seqLens[b] = int(v)
			}
		}
		outs := make([][]T, 3)
		for i := 0; i < s.numOutputs && i < 3; i++ {
			shape := s.hShape
			if i == 0 {
				shape = s.yShape
			}
			t, err := env.Output(out, i, tensor.DTypeOf[T](), shape)
			if err != nil {
				return err
			}
			if outs[i], err = tensor.View[T](t); err != nil {
				return err
			}
			clear(outs[i])
		}
		H, G, B, D := s.hidden, s.gates, s.batch, s.dirs
		gh := G * H
		// Per step: xt gathers each row's input at its time step and xw
		// holds xt·W^T; stepping keeps the scratch memory at batch size.
		xt := make([]T, B*s.input)
		xw := make([]T, B*gh)
		rec := make([]T, B*gh)
		h := make([]T, B*H)
		c := make([]T, B*H)
		rh := make([]T, B*H) // GRU: r ⊙ h
		z, rr, hh := make([]float64, H), make([]float64, H), make([]float64, H)
		for d := range D {
			wd := w[d*gh*s.input : (d+1)*gh*s.input]
			rd := r[d*gh*H : (d+1)*gh*H]
			var wb, rb []T
			if bias != nil {
				wb = bias[d*2*gh : d*2*gh+gh]
				rb = bias[d*2*gh+gh : (d+1)*2*gh]
			}
			stateIdx := func(b int) int { // offset of (d, b) in a state tensor
				if s.layout == 0 {
					return (d*B + b) * H
				}
				return (b*D + d) * H
			}
			clear(h)
			clear(c)
			for b := range B {
				if initH != nil {
					copy(h[b*H:(b+1)*H], initH[stateIdx(b):stateIdx(b)+H])
				}
				if initC != nil {
					copy(c[b*H:(b+1)*H], initC[stateIdx(b):stateIdx(b)+H])
				}
			}
			acts := s.acts[d*s.perDir : (d+1)*s.perDir]
			var pi, po, pf []T
			if peep != nil {
				p := peep[d*3*H : (d+1)*3*H]
				pi, po, pf = p[:H], p[H:2*H], p[2*H:]
			}
			reverse := s.reverse || d == 1
			// timeOf is the time step row b reads at this step; ok is
			// false past the row's sequence length.
			timeOf := func(b, step int) (t int, ok bool) {
				L := seqLens[b]
				if step >= L {
					return 0, false
				}
				if reverse {
					return L - 1 - step, true
				}
				return step, true
			}
			for step := range s.seq {
				for b := range B {
					if t, ok := timeOf(b, step); ok {
						row := t*B + b
						if s.layout == 1 {
							row = b*s.seq + t
						}
						copy(xt[b*s.input:(b+1)*s.input], x[row*s.input:(row+1)*s.input])
					}
				}
				reduceMatMulABt(env, xw, xt, wd, B, gh, s.input, false)
				// The recurrent product for all rows; rows past their
				// sequence length are left unchanged below.
				if s.cell == "GRU" && !s.linearBeforeReset {
					// z and r first: h's block needs r ⊙ h.
					for b := range B {
						hr := h[b*H : (b+1)*H]
						reduceMatMulABt(nil, rec[b*gh:b*gh+2*H], hr, rd[:2*H*H], 1, 2*H, H, false)
					}
				} else {
					reduceMatMulABt(env, rec, h, rd, B, gh, H, false)
				}
				for b := range B {
					t, ok := timeOf(b, step)
					if !ok {
						continue
					}
					pre := xw[b*gh : (b+1)*gh]
					rc := rec[b*gh : (b+1)*gh]
					hb := h[b*H : (b+1)*H]
					cb := c[b*H : (b+1)*H]
					gate := func(blk, j int) float64 { // pre-activation without the recurrent part
						v := float64(pre[blk*H+j])
						if wb != nil {
							v += float64(wb[blk*H+j]) + float64(rb[blk*H+j])
						}
						return v
					}
					clip := func(v float64) float64 { return max(-s.clip, min(s.clip, v)) }
					switch s.cell {
					case "RNN":
						for j := range H {
							hb[j] = T(acts[0].f(clip(gate(0, j) + float64(rc[j]))))
						}
					case "GRU":
						for j := range H {
							z[j] = acts[0].f(clip(gate(0, j) + float64(rc[j])))
							rr[j] = acts[0].f(clip(gate(1, j) + float64(rc[H+j])))
						}
						if s.linearBeforeReset {
							for j := range H {
								rec := float64(rc[2*H+j])
								xv := float64(pre[2*H+j])
								if wb != nil {
									rec += float64(rb[2*H+j])
									xv += float64(wb[2*H+j])
								}
								hh[j] = acts[1].f(clip(xv + rr[j]*rec))
							}
						} else {
							rhb := rh[b*H : (b+1)*H]
							for j := range H {
								rhb[j] = T(rr[j] * float64(hb[j]))
							}
							reduceMatMulABt(nil, rc[2*H:3*H], rhb, rd[2*H*H:], 1, H, H, false)
							for j := range H {
								hh[j] = acts[1].f(clip(gate(2, j) + float64(rc[2*H+j])))
							}
						}
						for j := range H {
							hb[j] = T((1-z[j])*hh[j] + z[j]*float64(hb[j]))
						}
					case "LSTM":
						for j := range H {
							cPrev := float64(cb[j])
							vi := gate(0, j) + float64(rc[j])
							vo := gate(1, j) + float64(rc[H+j])
							vf := gate(2, j) + float64(rc[2*H+j])
							vc := gate(3, j) + float64(rc[3*H+j])
							if pi != nil {
								vi += float64(pi[j]) * cPrev
								vf += float64(pf[j]) * cPrev
							}
							ig := acts[0].f(clip(vi))
							var fg float64
							if s.inputForget {
								fg = 1 - ig
							} else {
								fg = acts[0].f(clip(vf))
							}
							cc := acts[1].f(clip(vc))
							cNew := fg*cPrev + ig*cc
							if po != nil {
								vo += float64(po[j]) * cNew
							}
							og := acts[0].f(clip(vo))
							cb[j] = T(cNew)
							hb[j] = T(og * acts[2].f(cNew))
						}
					}
					if y := outs[0]; y != nil {
						var off int
						if s.layout == 0 {
							off = ((t*D+d)*B + b) * H
						} else {
							off = ((b*s.seq+t)*D + d) * H
						}
						copy(y[off:off+H], hb)
					}
				}
			}
			for b := range B {
				if outs[1] != nil {
					copy(outs[1][stateIdx(b):stateIdx(b)+H], h[b*H:(b+1)*H])
				}
				if outs[2] != nil {
					copy(outs[2][stateIdx(b):stateIdx(b)+H], c[b*H:(b+1)*H])
				}
			}
		}
		return nil
	}
}
