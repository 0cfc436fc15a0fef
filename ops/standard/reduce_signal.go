package standard

import (
	"math"
	"math/bits"
	"math/cmplx"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Signal processing: DFT, STFT, the window functions and MelWeightMatrix.

func reduceSignalOps() []def {
	window := func(name string) def {
		return def{name: name, since: []int{17}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			valueInputs: []int{0}, prepare: reducePrepareWindow(name), doc: name + " window function"}
	}
	return []def{
		{name: "DFT", since: []int{17, 20}, inputs: [2]int{1, 3}, outputs: [2]int{1, 1},
			valueInputs: []int{1, 2}, prepare: reducePrepareDFT, doc: "discrete Fourier transform along one axis"},
		{name: "STFT", since: []int{17}, inputs: [2]int{2, 4}, outputs: [2]int{1, 1},
			valueInputs: []int{1, 3}, prepare: reducePrepareSTFT, doc: "short-time Fourier transform"},
		window("HannWindow"),
		window("HammingWindow"),
		window("BlackmanWindow"),
		{name: "MelWeightMatrix", since: []int{17}, inputs: [2]int{5, 5}, outputs: [2]int{1, 1},
			valueInputs: []int{0, 1, 2, 3, 4}, prepare: reducePrepareMel,
			doc: "weight matrix mapping a linear spectrum onto the mel scale"},
	}
}

var reduceSignalTypes = []tensor.DType{tensor.Float16, tensor.BFloat16, tensor.Float32, tensor.Float64}

// reduceFFT is a planned complex FFT of one length: iterative radix-2 for
// powers of two, Bluestein's chirp-z transform over a radix-2 FFT for the
// others, so every length costs O(n log n).
type reduceFFT struct {
	n     int
	rev   []int        // radix-2: bit-reversal permutation
	tw    []complex128 // radix-2: e^{-2πik/n}, k < n/2
	chirp []complex128 // Bluestein: e^{-iπk²/n}
	bhat  []complex128 // Bluestein: FFT of the conjugate chirp filter
	sub   *reduceFFT   // Bluestein: the power-of-two FFT
}

func reduceNewFFT(n int) *reduceFFT {
	p := &reduceFFT{n: n}
	if n <= 1 {
		return p
	}
	if n&(n-1) == 0 {
		lg := bits.TrailingZeros(uint(n))
		p.rev = make([]int, n)
		for i := range p.rev {
			p.rev[i] = int(bits.Reverse(uint(i)) >> (bits.UintSize - lg))
		}
		p.tw = make([]complex128, n/2)
		for k := range p.tw {
			s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
			p.tw[k] = complex(c, s)
		}
		return p
	}
	m := 1
	for m < 2*n-1 {
		m <<= 1
	}
	p.sub = reduceNewFFT(m)
	p.chirp = make([]complex128, n)
	for k := range p.chirp {
		// k² mod 2n keeps the angle exact for large k.
		q := (uint64(k) * uint64(k)) % uint64(2*n)
		s, c := math.Sincos(-math.Pi * float64(q) / float64(n))
		p.chirp[k] = complex(c, s)
	}
	p.bhat = make([]complex128, m)
	p.bhat[0] = cmplx.Conj(p.chirp[0])
	for k := 1; k < n; k++ {
		p.bhat[k] = cmplx.Conj(p.chirp[k])
		p.bhat[m-k] = cmplx.Conj(p.chirp[k])
	}
	p.sub.forward(p.bhat, nil)
	return p
}

// forward transforms x in place; scratch (Bluestein only) needs
// scratchLen elements or is allocated.
func (p *reduceFFT) forward(x []complex128, scratch []complex128) {
	if p.n <= 1 {
		return
	}
	if p.sub == nil {
		for i, j := range p.rev {
			if i < j {
				x[i], x[j] = x[j], x[i]
			}
		}
		n := p.n
		for size := 2; size <= n; size <<= 1 {
			half, step := size/2, n/size
			for start := 0; start < n; start += size {
				for k := range half {
					t := p.tw[k*step] * x[start+k+half]
					u := x[start+k]
					x[start+k] = u + t
					x[start+k+half] = u - t
				}
			}
		}
		return
	}
	m := p.sub.n
	if len(scratch) < m {
		scratch = make([]complex128, m)
	}
	a := scratch[:m]
	for k := range p.n {
		a[k] = x[k] * p.chirp[k]
	}
	clear(a[p.n:])
	p.sub.forward(a, nil)
	for k := range a {
		a[k] *= p.bhat[k]
	}
	p.sub.inverseUnscaled(a)
	inv := 1 / float64(m)
	for k := range p.n {
		x[k] = a[k] * p.chirp[k] * complex(inv, 0)
	}
}

func (p *reduceFFT) scratchLen() int {
	if p.sub != nil {
		return p.sub.n
	}
	return 0
}

// inverseUnscaled computes n times the inverse DFT in place.
func (p *reduceFFT) inverseUnscaled(x []complex128) {
	for i := range x[:p.n] {
		x[i] = cmplx.Conj(x[i])
	}
	p.forward(x, nil)
	for i := range x[:p.n] {
		x[i] = cmplx.Conj(x[i])
	}
}

// transform is forward, or the inverse DFT scaled by 1/n.
func (p *reduceFFT) transform(x []complex128, inverse bool, scratch []complex128) {
	if !inverse {
		p.forward(x, scratch)
		return
	}
	for i := range x[:p.n] {
		x[i] = cmplx.Conj(x[i])
	}
	p.forward(x, scratch)
	s := 1 / float64(p.n)
	for i := range x[:p.n] {
		x[i] = cmplx.Conj(x[i]) * complex(s, 0)
	}
}

// reduceDFTSpec is a prepared DFT: signals of length inLen along axis (of the
// shape without the trailing real/imaginary dimension), transformed at
// length n and keeping outLen bins.
type reduceDFTSpec struct {
	shape     tensor.Shape // input shape
	axis      int
	inLen, n  int
	outLen    int
	inverse   bool
	complexIn bool
	outShape  tensor.Shape
	onesided  bool
	opset     int
}

func reducePrepareDFT(n *ops.Node) (*ops.Plan, error) {
	a := n.Attrs
	inverse := a.Int("inverse", 0) != 0
	onesided := a.Int("onesided", 0) != 0
	axis := int64(1)
	if n.Opset < 20 {
		axis = a.Int("axis", 1)
	} else if a.Has("axis") {
		a.Fail("opset 20 takes axis as an input")
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	if err := checkType(n, 0, reduceSignalTypes); err != nil {
		return nil, err
	}
	x := n.Inputs[0]
	if !x.Static() {
		return nil, n.Errorf("input needs a known shape, got %s", x)
	}
	r := len(x.Shape)
	if r < 2 || (x.Shape[r-1] != 1 && x.Shape[r-1] != 2) {
		return nil, n.Errorf("input shape %v: want rank >= 2 with a last dimension of 1 (real) or 2 (complex)", x.Shape)
	}
	s := &reduceDFTSpec{shape: x.Shape.Clone(), inverse: inverse, onesided: onesided, complexIn: x.Shape[r-1] == 2, opset: n.Opset}
	dynamic := false
	if n.Opset >= 20 {
		axis = -2
		if t := n.Input(2); t.Present() {
			v, ok, err := reduceScalarInt(n, 2)
			if err != nil {
				return nil, err
			}
			if ok {
				axis = v
			} else {
				dynamic = true
			}
		}
	}
	dftLen := int64(-1)
	if n.Input(1).Present() {
		v, ok, err := reduceScalarInt(n, 1)
		if err != nil {
			return nil, err
		}
		if ok {
			if v < 1 {
				return nil, n.Errorf("dft_length %d must be positive", v)
			}
			dftLen = v
		} else {
			dynamic = true
		}
	}
	outType := ops.TensorType(x.DType, nil)
	if dynamic {
		shape := x.Shape.Clone()
		for i := range shape[:r-1] {
			shape[i] = -1
		}
		shape[r-1] = 2
		outType.Shape = shape
	} else {
		if err := s.resolve(axis, dftLen); err != nil {
			return nil, n.Errorf("%v", err)
		}
		outType.Shape = s.outShape
	}
	var k ops.Kernel
	switch x.DType {
	case tensor.Float32:
		k = reduceDFTKernel[float32](s, axis, dftLen)
	case tensor.Float64:
		k = reduceDFTKernel[float64](s, axis, dftLen)
	default:
		k = halfAsFloat32(x.DType, reduceDFTKernel[float32](s, axis, dftLen))
	}
	return &ops.Plan{Outputs: []ops.Type{outType}, Kernel: k}, nil
}

// resolve fixes the axis and lengths; dftLen < 0 means the axis length
// (callers reject negative dft_length inputs first).
func (s *reduceDFTSpec) resolve(axis, dftLen int64) error {
	r := len(s.shape)
	if axis < 0 {
		axis += int64(r)
	}
	if axis < 0 || axis > int64(r-2) {
		return errorf("axis out of range for input rank %d (the last dimension holds real and imaginary parts)", r)
	}
	s.axis = int(axis)
	s.inLen = s.shape[s.axis]
	s.n = s.inLen
	if dftLen >= 0 {
		if dftLen < 1 || dftLen > math.MaxInt32 {
			return errorf("dft_length %d must be positive", dftLen)
		}
		s.n = int(dftLen)
	}
	s.outLen = s.n
	if s.onesided {
		s.outLen = s.n/2 + 1
	}
	s.outShape = s.shape.Clone()
	s.outShape[s.axis] = s.outLen
	s.outShape[r-1] = 2
	return nil
}

func reduceDFTKernel[T float32 | float64](plan *reduceDFTSpec, planAxis, planLen int64) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		// Copies: concurrent runs share the plan.
		s, axis, dftLen := *plan, planAxis, planLen
		if len(in) > 1 && in[1] != nil {
			v, err := reduceIntScalarAt(in[1], "dft_length")
			if err != nil {
				return err
			}
			if v < 1 {
				return errorf("dft_length %d must be positive", v)
			}
			dftLen = v
		}
		if s.opset >= 20 && len(in) > 2 && in[2] != nil {
			v, err := reduceIntScalarAt(in[2], "axis")
			if err != nil {
				return err
			}
			axis = v
		}
		if err := s.resolve(axis, dftLen); err != nil {
			return err
		}
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, in[0].DType(), s.outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		r := len(s.shape)
		comps := s.shape[r-1]
		outer := s.shape[:s.axis].NumElements()
		inner := s.shape[s.axis+1 : r-1].NumElements()
		fft := reduceNewFFT(s.n)
		copyLen := min(s.inLen, s.n)
		env.ParallelFor(outer*inner, max(1, 4096/max(1, s.n)), func(lo, hi int) {
			buf := make([]complex128, s.n)
			scratch := make([]complex128, fft.scratchLen())
			for sig := lo; sig < hi; sig++ {
				a, b := sig/inner, sig%inner
				clear(buf)
				for k := range copyLen {
					off := ((a*s.inLen+k)*inner + b) * comps
					if comps == 2 {
						buf[k] = complex(float64(x[off]), float64(x[off+1]))
					} else {
						buf[k] = complex(float64(x[off]), 0)
					}
				}
				fft.transform(buf, s.inverse, scratch)
				for k := range s.outLen {
					off := ((a*s.outLen+k)*inner + b) * 2
					o[off] = T(real(buf[k]))
					o[off+1] = T(imag(buf[k]))
				}
			}
		})
		return nil
	}
}

// reduceSTFTSpec is a prepared STFT.
type reduceSTFTSpec struct {
	batch, sigLen, comps int
	step, frameLen       int
	winLen               int
	frames, bins         int
	onesided             bool
}

func reducePrepareSTFT(n *ops.Node) (*ops.Plan, error) {
	onesided := n.Attrs.Int("onesided", 1) != 0
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if err := checkType(n, 0, reduceSignalTypes); err != nil {
		return nil, err
	}
	x := n.Inputs[0]
	if !x.Static() || len(x.Shape) != 3 || (x.Shape[2] != 1 && x.Shape[2] != 2) {
		return nil, n.Errorf("signal must have a known shape [batch, length, 1 or 2], got %s", x)
	}
	s := &reduceSTFTSpec{batch: x.Shape[0], sigLen: x.Shape[1], comps: x.Shape[2], onesided: onesided}
	step, ok, err := reduceScalarInt(n, 1)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, n.Errorf("frame_step must be known when planning")
	}
	s.winLen = -1
	if w := n.Input(2); w.Present() {
		if err := checkType(n, 2, reduceSignalTypes); err != nil {
			return nil, err
		}
		if err := checkSameType(n, 0, 2); err != nil {
			return nil, err
		}
		if w.UnknownRank || len(w.Shape) != 1 || w.Shape[0] < 0 {
			return nil, n.Errorf("window must be 1-D of known length, got %s", w)
		}
		s.winLen = w.Shape[0]
	}
	frameLen := int64(-1)
	if n.Input(3).Present() {
		v, ok, err := reduceScalarInt(n, 3)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, n.Errorf("frame_length must be known when planning")
		}
		frameLen = v
	}
	switch {
	case frameLen >= 0:
	case s.winLen >= 0:
		frameLen = int64(s.winLen)
	default:
		frameLen = int64(s.sigLen)
	}
	if s.winLen < 0 {
		s.winLen = int(min(frameLen, math.MaxInt32))
	}
	if step < 1 {
		return nil, n.Errorf("frame_step %d must be positive", step)
	}
	if frameLen < 1 || frameLen > int64(s.sigLen) {
		return nil, n.Errorf("frame_length %d must be in [1, signal length %d]", frameLen, s.sigLen)
	}
	if s.winLen > s.sigLen {
		return nil, n.Errorf("window length %d exceeds the signal length %d", s.winLen, s.sigLen)
	}
	s.step, s.frameLen = int(min(step, math.MaxInt32)), int(frameLen)
	s.frames = (s.sigLen-s.frameLen)/s.step + 1
	s.bins = s.frameLen
	if onesided {
		s.bins = s.frameLen/2 + 1
	}
	outShape := tensor.Shape{s.batch, s.frames, s.bins, 2}
	var k ops.Kernel
	switch x.DType {
	case tensor.Float32:
		k = reduceSTFTKernel[float32](s, outShape)
	case tensor.Float64:
		k = reduceSTFTKernel[float64](s, outShape)
	default:
		k = halfAsFloat32(x.DType, reduceSTFTKernel[float32](s, outShape))
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(x.DType, outShape)}, Kernel: k}, nil
}

func reduceSTFTKernel[T float32 | float64](s *reduceSTFTSpec, outShape tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[T](in[0])
		if err != nil {
			return err
		}
		var win []T
		if len(in) > 2 && in[2] != nil {
			if win, err = tensor.View[T](in[2]); err != nil {
				return err
			}
		}
		y, err := env.Output(out, 0, in[0].DType(), outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[T](y)
		if err != nil {
			return err
		}
		fft := reduceNewFFT(s.frameLen)
		// A frame holds winLen samples (zero past the signal's end),
		// weighted by the window, then padded or cut to frameLen.
		take := min(s.winLen, s.frameLen)
		env.ParallelFor(s.batch*s.frames, max(1, 4096/max(1, s.frameLen)), func(lo, hi int) {
			buf := make([]complex128, s.frameLen)
			scratch := make([]complex128, fft.scratchLen())
			for f := lo; f < hi; f++ {
				b, fr := f/s.frames, f%s.frames
				clear(buf)
				start := fr * s.step
				for k := 0; k < take && start+k < s.sigLen; k++ {
					off := (b*s.sigLen + start + k) * s.comps
					w := 1.0
					if win != nil {
						w = float64(win[k])
					}
					if s.comps == 2 {
						buf[k] = complex(float64(x[off])*w, float64(x[off+1])*w)
					} else {
						buf[k] = complex(float64(x[off])*w, 0)
					}
				}
				fft.forward(buf, scratch)
				base := f * s.bins * 2
				for k := range s.bins {
					o[base+2*k] = T(real(buf[k]))
					o[base+2*k+1] = T(imag(buf[k]))
				}
			}
		})
		return nil
	}
}

// reduceOutputTypes is what output_datatype may name for windows and
// MelWeightMatrix: every numeric type.
var reduceOutputTypes = append([]tensor.DType{tensor.Float16, tensor.BFloat16, tensor.Float32, tensor.Float64}, intTypes...)

func reduceOutputType(n *ops.Node) (tensor.DType, error) {
	dt := tensor.DType(n.Attrs.Int("output_datatype", int64(tensor.Float32)))
	if err := n.Attrs.Err(); err != nil {
		return 0, err
	}
	for _, t := range reduceOutputTypes {
		if t == dt {
			return dt, nil
		}
	}
	return 0, n.Errorf("output_datatype %d is not a numeric type", int(dt))
}

func reducePrepareWindow(name string) func(n *ops.Node) (*ops.Plan, error) {
	return func(n *ops.Node) (*ops.Plan, error) {
		periodic := n.Attrs.Int("periodic", 1) != 0
		dt, err := reduceOutputType(n)
		if err != nil {
			return nil, err
		}
		size, ok, err := reduceScalarInt(n, 0)
		if err != nil {
			return nil, err
		}
		if !n.Input(0).Present() {
			return nil, n.Errorf("size is required")
		}
		shape := tensor.Shape{-1}
		if ok {
			if size < 0 || size > math.MaxInt32 {
				return nil, n.Errorf("size %d out of range", size)
			}
			shape = tensor.Shape{int(size)}
		}
		k := func(env *ops.Env, in, out []*tensor.Tensor) error {
			size, err := reduceIntScalarAt(in[0], "size")
			if err != nil {
				return err
			}
			if size < 0 || size > math.MaxInt32 {
				return errorf("size %d out of range", size)
			}
			// The output first: it checks the size before any work.
			y, err := env.Output(out, 0, dt, tensor.Shape{int(size)})
			if err != nil {
				return err
			}
			vals := make([]float64, size)
			den := float64(size)
			if !periodic {
				den = float64(size - 1)
			}
			for i := range vals {
				if den == 0 {
					vals[i] = 1 // a one-point symmetric window
					continue
				}
				x := 2 * math.Pi * float64(i) / den
				switch name {
				case "HannWindow":
					vals[i] = 0.5 - 0.5*math.Cos(x)
				case "HammingWindow":
					const alpha = 25.0 / 46.0
					vals[i] = alpha - (1-alpha)*math.Cos(x)
				default:
					vals[i] = 0.42 - 0.5*math.Cos(x) + 0.08*math.Cos(2*x)
				}
			}
			return storeFloat64s(y, vals)
		}
		return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, shape)}, Kernel: k}, nil
	}
}

// reduceFloatAt reads a one-element float tensor.
func reduceFloatAt(t *tensor.Tensor, what string) (float64, error) {
	if t.Len() != 1 {
		return 0, errorf("%s must hold one value, got %d", what, t.Len())
	}
	switch t.DType() {
	case tensor.Float32:
		v, err := tensor.View[float32](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0]), nil
	case tensor.Float64:
		v, err := tensor.View[float64](t)
		if err != nil {
			return 0, err
		}
		return v[0], nil
	case tensor.Float16:
		v, err := tensor.View[tensor.F16](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0].Float32()), nil
	case tensor.BFloat16:
		v, err := tensor.View[tensor.BF16](t)
		if err != nil {
			return 0, err
		}
		return float64(v[0].Float32()), nil
	}
	return 0, errorf("%s has type %s, want a float type", what, t.DType())
}

func reducePrepareMel(n *ops.Node) (*ops.Plan, error) {
	dt, err := reduceOutputType(n)
	if err != nil {
		return nil, err
	}
	for i := range 3 {
		if err := checkType(n, i, []tensor.DType{tensor.Int32, tensor.Int64}); err != nil {
			return nil, err
		}
	}
	for i := 3; i < 5; i++ {
		if err := checkType(n, i, reduceSignalTypes); err != nil {
			return nil, err
		}
	}
	shape := tensor.Shape{-1, -1}
	mel, ok1, err := reduceScalarInt(n, 0)
	if err != nil {
		return nil, err
	}
	dftLen, ok2, err := reduceScalarInt(n, 1)
	if err != nil {
		return nil, err
	}
	if ok1 && ok2 {
		if mel < 1 || dftLen < 1 || mel > math.MaxInt32 || dftLen > math.MaxInt32 {
			return nil, n.Errorf("num_mel_bins %d and dft_length %d must be positive", mel, dftLen)
		}
		shape = tensor.Shape{int(dftLen/2 + 1), int(mel)}
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		var ints [3]int64
		for i := range ints {
			v, err := reduceIntScalarAt(in[i], "input")
			if err != nil {
				return err
			}
			ints[i] = v
		}
		mel, dftLen, rate := ints[0], ints[1], ints[2]
		if mel < 1 || dftLen < 1 || rate < 1 || mel > math.MaxInt32 || dftLen > math.MaxInt32 {
			return errorf("num_mel_bins %d, dft_length %d and sample_rate %d must be positive", mel, dftLen, rate)
		}
		lo, err := reduceFloatAt(in[3], "lower_edge_hertz")
		if err != nil {
			return err
		}
		hi, err := reduceFloatAt(in[4], "upper_edge_hertz")
		if err != nil {
			return err
		}
		if !(lo >= 0 && lo <= hi) {
			return errorf("edges %v, %v: want 0 <= lower <= upper", lo, hi)
		}
		y, err := env.Output(out, 0, dt, tensor.Shape{int(dftLen/2 + 1), int(mel)})
		if err != nil {
			return err
		}
		vals, err := reduceMelWeights(int(mel), int(dftLen), float64(rate), lo, hi)
		if err != nil {
			return err
		}
		return storeFloat64s(y, vals)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(dt, shape)}, Kernel: k}, nil
}

// reduceMelWeights builds the [dftLen/2+1, mel] triangular filter bank the way
// the ONNX specification does: mel_bins+2 edges evenly spaced in mel
// (step (high-low)/(mel+2)), mapped to spectrogram bins with
// floor((dft_length+1)*hz/sample_rate).
func reduceMelWeights(mel, dftLen int, rate, lo, hi float64) ([]float64, error) {
	bins := dftLen/2 + 1
	toMel := func(hz float64) float64 { return 2595 * math.Log10(1+hz/700) }
	loMel, hiMel := toMel(lo), toMel(hi)
	step := (hiMel - loMel) / float64(mel+2)
	edges := make([]int, mel+2)
	for i := range edges {
		hz := 700 * (math.Pow(10, (float64(i)*step+loMel)/2595) - 1)
		edges[i] = int(math.Floor(float64(dftLen+1) * hz / rate))
	}
	out := make([]float64, bins*mel)
	set := func(j, i int, v float64) error {
		if j < 0 || j >= bins {
			return errorf("mel filter %d reaches bin %d, past the %d spectrogram bins (sample_rate too small for upper_edge_hertz)", i, j, bins)
		}
		out[j*mel+i] = v
		return nil
	}
	for i := range mel {
		left, center, right := edges[i], edges[i+1], edges[i+2]
		if center == left {
			if err := set(center, i, 1); err != nil {
				return nil, err
			}
		} else {
			for j := left; j <= center; j++ {
				if err := set(j, i, float64(j-left)/float64(center-left)); err != nil {
					return nil, err
				}
			}
		}
		for j := center; j < right; j++ {
			if err := set(j, i, float64(right-j)/float64(right-center)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
