package standard

import (
	"errors"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// Tests of the reduce family beyond the ONNX backend data: error paths,
// edge cases (empty reductions, dynamic axes, every RNN direction and
// option, FFT lengths) and the statistics of the random generators.

var reduceTestWorkers = cpu.NewWorkers(2)

// redNode describes one node to run.
type redNode struct {
	op     string
	opset  int
	domain string
	attrs  map[string]ops.Attr
	in     []*tensor.Tensor // nil entries are omitted inputs
	nOut   int
	// values lists the inputs whose contents Prepare sees (as the engine
	// passes constants and value inputs); nil: every input's.
	values []int
}

func redInt(v int64) ops.Attr         { return ops.Attr{Type: ops.AttrInt, Int: v} }
func redFloat(v float32) ops.Attr     { return ops.Attr{Type: ops.AttrFloat, Float: v} }
func redStr(v string) ops.Attr        { return ops.Attr{Type: ops.AttrString, String: v} }
func redInts(v ...int64) ops.Attr     { return ops.Attr{Type: ops.AttrInts, Ints: v} }
func redFloats(v ...float32) ops.Attr { return ops.Attr{Type: ops.AttrFloats, Floats: v} }
func redStrs(v ...string) ops.Attr    { return ops.Attr{Type: ops.AttrStrings, Strings: v} }

// run prepares and runs the node the way the engine does, returning the
// first error of either phase.
func (r redNode) run(t *testing.T) ([]*tensor.Tensor, error) {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	op, err := reg.Lookup(r.domain, r.op, r.opset)
	if err != nil {
		t.Fatal(err)
	}
	n := &ops.Node{Domain: r.domain, OpType: r.op, Opset: r.opset, Attrs: ops.NewAttrs(r.attrs), NumOutputs: max(r.nOut, 1)}
	for i, x := range r.in {
		if x == nil {
			n.Inputs = append(n.Inputs, ops.Type{})
			continue
		}
		ty := ops.TypeOf(x)
		if r.values != nil && !slices.Contains(r.values, i) {
			ty.Value = nil
		}
		n.Inputs = append(n.Inputs, ty)
	}
	plan, err := ops.PrepareOp(op, n)
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(plan.Outputs))
	for i, ot := range plan.Outputs {
		if ot.Static() {
			if out[i], err = tensor.New(ot.DType, ot.Shape); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := plan.Kernel(&ops.Env{Workers: reduceTestWorkers}, r.in, out); err != nil {
		return nil, err
	}
	for i, o := range out {
		if o == nil {
			t.Fatalf("output %d not set", i)
		}
		if ot := plan.Outputs[i]; !ot.UnknownRank && len(ot.Shape) != len(o.Shape()) {
			t.Fatalf("output %d: planned %s, got shape %v", i, ot, o.Shape())
		}
	}
	return out, nil
}

func (r redNode) must(t *testing.T) []*tensor.Tensor {
	t.Helper()
	out, err := r.run(t)
	if err != nil {
		t.Fatalf("%s: %v", r.op, err)
	}
	return out
}

func redF32(t *testing.T, data []float32, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func redT[T tensor.Element](t *testing.T, data []T, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromSlice(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func redVals(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	v, err := reduceFloats(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func redRandF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func redClose(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= tol*(1+math.Abs(b))
}

func redCheck(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !redClose(got[i], want[i], tol) {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestReduceErrors checks that bad nodes and bad data give errors, not panics.
func TestReduceErrors(t *testing.T) {
	x := redF32(t, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	i64 := func(v ...int64) *tensor.Tensor { return redT(t, v, len(v)) }
	scalar := func(v int64) *tensor.Tensor { return tensor.Scalar(v) }
	w := redF32(t, make([]float32, 1*4*3), 1, 4, 3)    // RNN W: hidden 4, input 3
	r := redF32(t, make([]float32, 1*4*4), 1, 4, 4)    // RNN R
	seqX := redF32(t, make([]float32, 2*2*3), 2, 2, 3) // seq 2, batch 2, input 3
	cases := []struct {
		name string
		node redNode
	}{
		{"reduce axis out of range", redNode{op: "ReduceSum", opset: 11, attrs: map[string]ops.Attr{"axes": redInts(2)}, in: []*tensor.Tensor{x}}},
		{"reduce repeated axis", redNode{op: "ReduceMax", opset: 11, attrs: map[string]ops.Attr{"axes": redInts(1, -1)}, in: []*tensor.Tensor{x}}},
		{"reduce axes input out of range", redNode{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{x, i64(5)}}},
		{"reduce axes input at run time", redNode{op: "ReduceMean", opset: 18, in: []*tensor.Tensor{x, i64(-3)}, values: []int{}}},
		{"reduce axes attribute at 18", redNode{op: "ReduceMean", opset: 18, attrs: map[string]ops.Attr{"axes": redInts(0)}, in: []*tensor.Tensor{x}}},
		{"reduce axes input at 11", redNode{op: "ReduceMean", opset: 11, in: []*tensor.Tensor{x, i64(0)}}},
		{"reduce axes of int32", redNode{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{x, redT(t, []int32{0}, 1)}}},
		{"reduce 2-D axes", redNode{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{x, redT(t, []int64{0}, 1, 1)}}},
		{"reduce bool before 20", redNode{op: "ReduceMax", opset: 18, in: []*tensor.Tensor{redT(t, []bool{true}, 1)}}},
		{"reduce int8 sum", redNode{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{redT(t, []int8{1}, 1)}}},
		{"reduce string", redNode{op: "ReduceMax", opset: 20, in: []*tensor.Tensor{redT(t, []string{"a"}, 1)}}},
		{"reduce keepdims string", redNode{op: "ReduceSum", opset: 11, attrs: map[string]ops.Attr{"keepdims": redStr("yes")}, in: []*tensor.Tensor{x}}},

		{"nll target out of range", redNode{op: "NegativeLogLikelihoodLoss", opset: 13, in: []*tensor.Tensor{x, i64(0, 3)}}},
		{"nll negative target", redNode{op: "NegativeLogLikelihoodLoss", opset: 13, in: []*tensor.Tensor{x, i64(-1, 0)}}},
		{"nll target shape", redNode{op: "NegativeLogLikelihoodLoss", opset: 13, in: []*tensor.Tensor{x, i64(0, 0, 0)}}},
		{"nll weight shape", redNode{op: "NegativeLogLikelihoodLoss", opset: 13, in: []*tensor.Tensor{x, i64(0, 1), redF32(t, []float32{1, 1}, 2)}}},
		{"nll bad reduction", redNode{op: "NegativeLogLikelihoodLoss", opset: 13, attrs: map[string]ops.Attr{"reduction": redStr("max")}, in: []*tensor.Tensor{x, i64(0, 1)}}},
		{"nll float target", redNode{op: "NegativeLogLikelihoodLoss", opset: 13, in: []*tensor.Tensor{x, x}}},
		{"sce 1-D scores", redNode{op: "SoftmaxCrossEntropyLoss", opset: 13, in: []*tensor.Tensor{i64(1), i64(0)}}},
		{"sce target out of range", redNode{op: "SoftmaxCrossEntropyLoss", opset: 13, attrs: map[string]ops.Attr{"ignore_index": redInt(-1)}, in: []*tensor.Tensor{x, i64(-2, 0)}, nOut: 2}},

		{"rnn bad direction", redNode{op: "RNN", opset: 14, attrs: map[string]ops.Attr{"direction": redStr("sideways")}, in: []*tensor.Tensor{seqX, w, r}}},
		{"rnn bad activation", redNode{op: "RNN", opset: 14, attrs: map[string]ops.Attr{"activations": redStrs("Swish")}, in: []*tensor.Tensor{seqX, w, r}}},
		{"rnn activation count", redNode{op: "LSTM", opset: 14, attrs: map[string]ops.Attr{"activations": redStrs("Tanh")}, in: []*tensor.Tensor{seqX, w, r}}},
		{"rnn W shape", redNode{op: "GRU", opset: 14, in: []*tensor.Tensor{seqX, w, r}}},
		{"rnn hidden_size mismatch", redNode{op: "RNN", opset: 14, attrs: map[string]ops.Attr{"hidden_size": redInt(5)}, in: []*tensor.Tensor{seqX, w, r}}},
		{"rnn bad layout", redNode{op: "RNN", opset: 14, attrs: map[string]ops.Attr{"layout": redInt(2)}, in: []*tensor.Tensor{seqX, w, r}}},
		{"rnn negative clip", redNode{op: "RNN", opset: 14, attrs: map[string]ops.Attr{"clip": redFloat(-1)}, in: []*tensor.Tensor{seqX, w, r}}},
		{"rnn sequence_lens too long", redNode{op: "RNN", opset: 14, in: []*tensor.Tensor{seqX, w, r, nil, redT(t, []int32{1, 3}, 2)}}},
		{"rnn sequence_lens negative", redNode{op: "RNN", opset: 14, in: []*tensor.Tensor{seqX, w, r, nil, redT(t, []int32{-1, 1}, 2)}}},
		{"rnn sequence_lens int64", redNode{op: "RNN", opset: 14, in: []*tensor.Tensor{seqX, w, r, nil, i64(1, 1)}}},
		{"rnn initial_h shape", redNode{op: "RNN", opset: 14, in: []*tensor.Tensor{seqX, w, r, nil, nil, redF32(t, make([]float32, 4), 1, 1, 4)}}},
		{"rnn mixed types", redNode{op: "RNN", opset: 14, in: []*tensor.Tensor{seqX, w, redT(t, make([]float64, 16), 1, 4, 4)}}},

		{"dft bad last dim", redNode{op: "DFT", opset: 17, in: []*tensor.Tensor{redF32(t, make([]float32, 6), 1, 2, 3)}}},
		{"dft axis on last dim", redNode{op: "DFT", opset: 17, attrs: map[string]ops.Attr{"axis": redInt(2)}, in: []*tensor.Tensor{redF32(t, make([]float32, 4), 1, 4, 1)}}},
		{"dft zero length", redNode{op: "DFT", opset: 17, in: []*tensor.Tensor{redF32(t, make([]float32, 4), 1, 4, 1), scalar(0)}}},
		{"dft length at run time", redNode{op: "DFT", opset: 17, in: []*tensor.Tensor{redF32(t, make([]float32, 4), 1, 4, 1), scalar(-4)}, values: []int{}}},
		{"dft axis attribute at 20", redNode{op: "DFT", opset: 20, attrs: map[string]ops.Attr{"axis": redInt(1)}, in: []*tensor.Tensor{redF32(t, make([]float32, 4), 1, 4, 1)}}},
		{"dft axis input out of range", redNode{op: "DFT", opset: 20, in: []*tensor.Tensor{redF32(t, make([]float32, 4), 1, 4, 1), nil, scalar(-1)}}},
		{"dft int input", redNode{op: "DFT", opset: 17, in: []*tensor.Tensor{redT(t, []int32{1, 2}, 1, 2, 1)}}},
		{"stft frame too long", redNode{op: "STFT", opset: 17, in: []*tensor.Tensor{redF32(t, make([]float32, 8), 1, 8, 1), scalar(2), nil, scalar(9)}}},
		{"stft zero step", redNode{op: "STFT", opset: 17, in: []*tensor.Tensor{redF32(t, make([]float32, 8), 1, 8, 1), scalar(0), nil, scalar(4)}}},
		{"stft 2-D signal", redNode{op: "STFT", opset: 17, in: []*tensor.Tensor{redF32(t, make([]float32, 8), 1, 8), scalar(1)}}},
		{"window negative size", redNode{op: "HannWindow", opset: 17, in: []*tensor.Tensor{scalar(-1)}}},
		{"window negative size at run time", redNode{op: "HammingWindow", opset: 17, in: []*tensor.Tensor{scalar(-1)}, values: []int{}}},
		{"window string output", redNode{op: "BlackmanWindow", opset: 17, attrs: map[string]ops.Attr{"output_datatype": redInt(8)}, in: []*tensor.Tensor{scalar(4)}}},
		{"window float size", redNode{op: "HannWindow", opset: 17, in: []*tensor.Tensor{tensor.Scalar(float32(4))}}},
		{"mel zero bins", redNode{op: "MelWeightMatrix", opset: 17, in: []*tensor.Tensor{scalar(0), scalar(16), scalar(8000), tensor.Scalar(float32(0)), tensor.Scalar(float32(4000))}}},
		{"mel edges reversed", redNode{op: "MelWeightMatrix", opset: 17, in: []*tensor.Tensor{scalar(4), scalar(16), scalar(8000), tensor.Scalar(float32(100)), tensor.Scalar(float32(50))}}},
		{"mel edge past nyquist", redNode{op: "MelWeightMatrix", opset: 17, in: []*tensor.Tensor{scalar(4), scalar(16), scalar(8000), tensor.Scalar(float32(0)), tensor.Scalar(float32(40000))}}},

		{"random normal no shape", redNode{op: "RandomNormal", opset: 1}},
		{"random normal int dtype", redNode{op: "RandomNormal", opset: 1, attrs: map[string]ops.Attr{"shape": redInts(2), "dtype": redInt(6)}}},
		{"random uniform low > high", redNode{op: "RandomUniform", opset: 1, attrs: map[string]ops.Attr{"shape": redInts(2), "low": redFloat(2), "high": redFloat(1)}}},
		{"random negative shape", redNode{op: "RandomUniform", opset: 1, attrs: map[string]ops.Attr{"shape": redInts(-2)}}},
		{"random like int input", redNode{op: "RandomUniformLike", opset: 1, in: []*tensor.Tensor{i64(1, 2)}}},
		{"bernoulli probability > 1", redNode{op: "Bernoulli", opset: 15, in: []*tensor.Tensor{redF32(t, []float32{0.5, 1.5}, 2)}}},
		{"bernoulli NaN probability", redNode{op: "Bernoulli", opset: 15, in: []*tensor.Tensor{redF32(t, []float32{float32(math.NaN())}, 1)}}},
		{"bernoulli string dtype", redNode{op: "Bernoulli", opset: 15, attrs: map[string]ops.Attr{"dtype": redInt(8)}, in: []*tensor.Tensor{redF32(t, []float32{0.5}, 1)}}},
		{"multinomial float dtype", redNode{op: "Multinomial", opset: 7, attrs: map[string]ops.Attr{"dtype": redInt(1)}, in: []*tensor.Tensor{x}}},
		{"multinomial 1-D", redNode{op: "Multinomial", opset: 7, in: []*tensor.Tensor{redF32(t, []float32{1, 2}, 2)}}},
		{"multinomial zero samples", redNode{op: "Multinomial", opset: 7, attrs: map[string]ops.Attr{"sample_size": redInt(0)}, in: []*tensor.Tensor{x}}},
		{"multinomial no classes", redNode{op: "Multinomial", opset: 7, in: []*tensor.Tensor{redF32(t, nil, 2, 0)}}},
		{"multinomial -inf row", redNode{op: "Multinomial", opset: 7, in: []*tensor.Tensor{redF32(t, []float32{float32(math.Inf(-1))}, 1, 1)}}},

		{"strnorm bad action", redNode{op: "StringNormalizer", opset: 10, attrs: map[string]ops.Attr{"case_change_action": redStr("TITLE")}, in: []*tensor.Tensor{redT(t, []string{"a"}, 1)}}},
		{"strnorm rank 2 batch", redNode{op: "StringNormalizer", opset: 10, in: []*tensor.Tensor{redT(t, []string{"a", "b"}, 2, 1)}}},
		{"strnorm ints", redNode{op: "StringNormalizer", opset: 10, in: []*tensor.Tensor{i64(1)}}},
		{"tfidf bad mode", redNode{op: "TfIdfVectorizer", opset: 9, attrs: redTfIdfAttrs("BM25", []int64{0}, []int64{0, 1}), in: []*tensor.Tensor{i64(1)}}},
		{"tfidf counts", redNode{op: "TfIdfVectorizer", opset: 9, attrs: redTfIdfAttrs("TF", []int64{0, 2}, []int64{0, 1, 2}), in: []*tensor.Tensor{i64(1)}}},
		{"tfidf missing attribute", redNode{op: "TfIdfVectorizer", opset: 9, attrs: map[string]ops.Attr{"mode": redStr("TF")}, in: []*tensor.Tensor{i64(1)}}},
		{"tfidf string input, int pool", redNode{op: "TfIdfVectorizer", opset: 9, attrs: redTfIdfAttrs("TF", []int64{0}, []int64{0, 1}), in: []*tensor.Tensor{redT(t, []string{"a"}, 1)}}},
		{"tfidf 3-D input", redNode{op: "TfIdfVectorizer", opset: 9, attrs: redTfIdfAttrs("TF", []int64{0}, []int64{0, 1}), in: []*tensor.Tensor{redT(t, []int64{1}, 1, 1, 1)}}},

		{"adagrad group count", redNode{op: "Adagrad", opset: 1, domain: reduceTrainingDomain, in: []*tensor.Tensor{tensor.Scalar(float32(0.1)), scalar(0), x, x}, nOut: 2}},
		{"adagrad output count", redNode{op: "Adagrad", opset: 1, domain: reduceTrainingDomain, in: []*tensor.Tensor{tensor.Scalar(float32(0.1)), scalar(0), x, x, x}, nOut: 3}},
		{"adam shape mismatch", redNode{op: "Adam", opset: 1, domain: reduceTrainingDomain, in: []*tensor.Tensor{tensor.Scalar(float32(0.1)), scalar(0), x, x, x, redF32(t, []float32{1}, 1)}, nOut: 3}},
		{"momentum missing attributes", redNode{op: "Momentum", opset: 1, domain: reduceTrainingDomain, in: []*tensor.Tensor{tensor.Scalar(float32(0.1)), scalar(0), x, x, x}, nOut: 2}},
		{"momentum bad mode", redNode{op: "Momentum", opset: 1, domain: reduceTrainingDomain, attrs: map[string]ops.Attr{
			"alpha": redFloat(0.9), "beta": redFloat(0.1), "norm_coefficient": redFloat(0), "mode": redStr("heavy")},
			in: []*tensor.Tensor{tensor.Scalar(float32(0.1)), scalar(0), x, x, x}, nOut: 2}},
		{"momentum int T", redNode{op: "Momentum", opset: 1, domain: reduceTrainingDomain, attrs: map[string]ops.Attr{
			"alpha": redFloat(0.9), "beta": redFloat(0.1), "norm_coefficient": redFloat(0), "mode": redStr("standard")},
			in: []*tensor.Tensor{tensor.Scalar(float32(0.1)), tensor.Scalar(int32(0)), x, x, x}, nOut: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.node.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ops.ErrInvalidNode) {
				t.Fatalf("error %v does not wrap ErrInvalidNode", err)
			}
		})
	}
}

func redTfIdfAttrs(mode string, counts, indexes []int64) map[string]ops.Attr {
	return map[string]ops.Attr{
		"mode": redStr(mode), "min_gram_length": redInt(1), "max_gram_length": redInt(2), "max_skip_count": redInt(0),
		"ngram_counts": redInts(counts...), "ngram_indexes": redInts(indexes...), "pool_int64s": redInts(1, 2, 3),
	}
}

// redNaive reduces x (of shape) over axes with a plain loop in float64.
func redNaive(k reduceKind, x []float64, shape []int, axes []int, keep bool) ([]float64, []int) {
	red := make([]bool, len(shape))
	for _, a := range axes {
		red[a] = true
	}
	var outShape []int
	for i, d := range shape {
		if !red[i] {
			outShape = append(outShape, d)
		} else if keep {
			outShape = append(outShape, 1)
		}
	}
	nOut := 1
	for i, d := range shape {
		if !red[i] {
			nOut *= d
		}
	}
	groups := make([][]float64, nOut)
	idx := make([]int, len(shape))
	for _, v := range x {
		o := 0
		for i, d := range shape {
			if !red[i] {
				o = o*d + idx[i]
			}
		}
		groups[o] = append(groups[o], v)
		for i := len(shape) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	out := make([]float64, nOut)
	for o, g := range groups {
		var s float64
		switch k {
		case reduceProd:
			s = 1
			for _, v := range g {
				s *= v
			}
		case reduceMax:
			s = math.Inf(-1)
			for _, v := range g {
				s = math.Max(s, v)
			}
		case reduceMin:
			s = math.Inf(1)
			for _, v := range g {
				s = math.Min(s, v)
			}
		case reduceLogSumExp:
			for _, v := range g {
				s += math.Exp(v)
			}
			s = math.Log(s)
		default:
			for _, v := range g {
				switch k {
				case reduceL1:
					s += math.Abs(v)
				case reduceL2, reduceSumSquare:
					s += v * v
				default:
					s += v
				}
			}
			switch k {
			case reduceMean:
				s /= float64(len(g))
			case reduceL2:
				s = math.Sqrt(s)
			case reduceLogSum:
				s = math.Log(s)
			}
		}
		out[o] = s
	}
	return out, outShape
}

var redNames = map[reduceKind]string{
	reduceSum: "ReduceSum", reduceMean: "ReduceMean", reduceProd: "ReduceProd", reduceMax: "ReduceMax",
	reduceMin: "ReduceMin", reduceL1: "ReduceL1", reduceL2: "ReduceL2", reduceLogSum: "ReduceLogSum",
	reduceLogSumExp: "ReduceLogSumExp", reduceSumSquare: "ReduceSumSquare",
}

// TestReduceAgainstNaive covers every kind on shapes that take each kernel
// path (contiguous rows, gathered elements, kept innermost runs), with the
// axes as an attribute and as an input known or unknown when planning.
func TestReduceAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][]int{{5}, {3, 4}, {2, 3, 4}, {2, 1, 3, 5}, {4, 0, 3}}
	for k, name := range redNames {
		for _, shape := range shapes {
			n := 1
			for _, d := range shape {
				n *= d
			}
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(rng.Float64()*2 + 0.1) // positive: LogSum is defined
				if k != reduceLogSum && rng.IntN(2) == 0 {
					data[i] = -data[i]
				}
			}
			x := redF32(t, data, shape...)
			xs := redVals(t, x)
			// every subset of axes, and none (all axes)
			for mask := 0; mask < 1<<len(shape); mask++ {
				var axes []int
				var axes64 []int64
				for i := range shape {
					if mask&(1<<i) != 0 {
						axes = append(axes, i)
						axes64 = append(axes64, int64(i-len(shape)*(i%2))) // some negative
					}
				}
				all := axes
				if len(axes) == 0 {
					all = make([]int, len(shape))
					for i := range all {
						all[i] = i
					}
				}
				for _, keep := range []bool{true, false} {
					want, wantShape := redNaive(k, xs, shape, all, keep)
					attrs := map[string]ops.Attr{"keepdims": redInt(map[bool]int64{true: 1, false: 0}[keep])}
					variants := []redNode{}
					old := redNode{op: name, opset: 11, attrs: redWith(attrs, "axes", redInts(axes64...)), in: []*tensor.Tensor{x}}
					if len(axes) == 0 {
						old.attrs = attrs
					}
					variants = append(variants, old)
					since := 18
					if k == reduceSum {
						since = 13
					}
					axesT := redT(t, axes64, len(axes64))
					variants = append(variants,
						redNode{op: name, opset: since, attrs: attrs, in: []*tensor.Tensor{x, axesT}},
						redNode{op: name, opset: since, attrs: attrs, in: []*tensor.Tensor{x, axesT}, values: []int{}})
					for vi, v := range variants {
						out := v.must(t)
						if !slices.Equal([]int(out[0].Shape()), wantShape) && !(len(wantShape) == 0 && len(out[0].Shape()) == 0) {
							t.Fatalf("%s %v axes %v keep %v variant %d: shape %v, want %v", name, shape, axes, keep, vi, out[0].Shape(), wantShape)
						}
						redCheck(t, name, redVals(t, out[0]), want, 1e-5)
					}
				}
			}
		}
	}
}

// TestReduceSplitRows covers long rows reduced in parallel chunks.
func TestReduceSplitRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	shape := []int{3, 70001}
	data := make([]float32, 3*70001)
	for i := range data {
		data[i] = float32(0.5 + rng.Float64()) // LogSum needs positive values
	}
	data[5] = 40 // a maximum in the first chunk
	x := redF32(t, data, shape...)
	xs := redVals(t, x)
	ints := make([]int64, len(data))
	for i := range ints {
		ints[i] = int64(rng.IntN(7)) - 3
	}
	xi := redT(t, ints, shape...)
	for k, name := range redNames {
		for _, axes := range [][]int{{1}, {0, 1}} {
			want, _ := redNaive(k, xs, shape, axes, false)
			var a64 []int64
			for _, a := range axes {
				a64 = append(a64, int64(a))
			}
			out := redNode{op: name, opset: 11, attrs: map[string]ops.Attr{"axes": redInts(a64...), "keepdims": redInt(0)}, in: []*tensor.Tensor{x}}.must(t)
			tol := 1e-6
			if k == reduceProd {
				tol = 1e-4 // products of 70000 factors: float32 inputs round differently
			}
			redCheck(t, name+" split", redVals(t, out[0]), want, tol)
			if k == reduceProd || k == reduceLogSum || k == reduceLogSumExp || k == reduceL2 {
				continue
			}
			// Integers wrap like their type, so compare with int64 sums.
			out = redNode{op: name, opset: 11, attrs: map[string]ops.Attr{"axes": redInts(a64...), "keepdims": redInt(0)}, in: []*tensor.Tensor{xi}}.must(t)
			got, _ := tensor.ToSlice[int64](out[0])
			wantI, _ := redNaive(k, redI64ToF64(ints), shape, axes, false)
			for i := range got {
				w := wantI[i]
				if k == reduceMean {
					w = math.Trunc(w)
				}
				if float64(got[i]) != w {
					t.Fatalf("%s int64 split: %d, want %v", name, got[i], w)
				}
			}
		}
	}
}

func redI64ToF64(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func redWith(m map[string]ops.Attr, k string, v ops.Attr) map[string]ops.Attr {
	c := map[string]ops.Attr{k: v}
	for a, b := range m {
		c[a] = b
	}
	return c
}

func TestReduceEmptyAndSpecial(t *testing.T) {
	empty := redF32(t, nil, 2, 0)
	axis1 := redT(t, []int64{1}, 1)
	inf := math.Inf(1)
	for k, want := range map[reduceKind]float64{
		reduceSum: 0, reduceMean: math.NaN(), reduceProd: 1, reduceMax: -inf, reduceMin: inf,
		reduceL1: 0, reduceL2: 0, reduceLogSum: -inf, reduceLogSumExp: -inf, reduceSumSquare: 0,
	} {
		since := 18
		if k == reduceSum {
			since = 13
		}
		out := redNode{op: redNames[k], opset: since, in: []*tensor.Tensor{empty, axis1}}.must(t)
		if !out[0].Shape().Equal(tensor.Shape{2, 1}) {
			t.Fatalf("%s: shape %v", redNames[k], out[0].Shape())
		}
		redCheck(t, redNames[k]+" over an empty axis", redVals(t, out[0]), []float64{want, want}, 0)
	}
	// Integers: empty Max is the lowest value.
	out := redNode{op: "ReduceMax", opset: 18, in: []*tensor.Tensor{redT(t, []int32{}, 2, 0), axis1}}.must(t)
	if v, _ := tensor.ToSlice[int32](out[0]); v[0] != math.MinInt32 {
		t.Fatalf("empty int32 ReduceMax = %v", v)
	}
	// noop_with_empty_axes: each element reduced alone.
	x := redF32(t, []float32{-2, 3}, 2)
	noop := map[string]ops.Attr{"noop_with_empty_axes": redInt(1)}
	for k, want := range map[reduceKind][]float64{
		reduceSum: {-2, 3}, reduceSumSquare: {4, 9}, reduceL1: {2, 3}, reduceMax: {-2, 3},
	} {
		since := 18
		if k == reduceSum {
			since = 13
		}
		for _, in := range [][]*tensor.Tensor{{x}, {x, redT(t, []int64{}, 0)}} {
			out := redNode{op: redNames[k], opset: since, attrs: noop, in: in}.must(t)
			redCheck(t, redNames[k]+" noop", redVals(t, out[0]), want, 0)
		}
	}
	// NaN propagates through Max and Min on both kernel paths.
	nan := float32(math.NaN())
	for _, shape := range [][]int{{2, 3}, {3, 2}} {
		xs := redF32(t, []float32{1, nan, 2, 3, 4, 5}, shape...)
		for _, op := range []string{"ReduceMax", "ReduceMin"} {
			out := redNode{op: op, opset: 11, attrs: map[string]ops.Attr{"axes": redInts(0)}, in: []*tensor.Tensor{xs}}.must(t)
			v := redVals(t, out[0])
			if !math.IsNaN(v[1]) {
				t.Fatalf("%s over %v: %v, want NaN at 1", op, shape, v)
			}
		}
	}
	// LogSumExp is stable for large inputs.
	big := redF32(t, []float32{1000, 1000}, 2)
	out = redNode{op: "ReduceLogSumExp", opset: 11, in: []*tensor.Tensor{big}}.must(t)
	redCheck(t, "logsumexp", redVals(t, out[0]), []float64{1000 + math.Ln2}, 1e-6)
	// Bool Max (any) and Min (all) at opset 20.
	b := redT(t, []bool{true, false, false, false}, 2, 2)
	for op, want := range map[string][]bool{"ReduceMax": {true, false}, "ReduceMin": {false, false}} {
		out := redNode{op: op, opset: 20, attrs: map[string]ops.Attr{"keepdims": redInt(0)}, in: []*tensor.Tensor{b, redT(t, []int64{1}, 1)}}.must(t)
		if got, _ := tensor.ToSlice[bool](out[0]); !slices.Equal(got, want) {
			t.Fatalf("%s bool: %v, want %v", op, got, want)
		}
	}
	// Integer kernels: wrap like the element type, mean truncates.
	ints := redT(t, []int64{7, -2, 4}, 3)
	for op, want := range map[string]int64{"ReduceSum": 9, "ReduceMean": 3, "ReduceProd": -56, "ReduceL1": 13, "ReduceSumSquare": 69, "ReduceL2": 8} {
		out := redNode{op: op, opset: 11, in: []*tensor.Tensor{ints}}.must(t)
		if got, _ := tensor.ToSlice[int64](out[0]); got[0] != want {
			t.Fatalf("%s int64 = %d, want %d", op, got[0], want)
		}
	}
	u8 := redT(t, []uint8{200, 100}, 2)
	out = redNode{op: "ReduceMax", opset: 13, in: []*tensor.Tensor{u8}}.must(t)
	if got, _ := tensor.ToSlice[uint8](out[0]); got[0] != 200 {
		t.Fatalf("uint8 max = %v", got)
	}
	// Half types go through float32.
	h := redT(t, []tensor.F16{tensor.Float16FromFloat32(1.5), tensor.Float16FromFloat32(2.5)}, 2)
	out = redNode{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{h}}.must(t)
	if got, _ := tensor.ToSlice[tensor.F16](out[0]); got[0].Float32() != 4 {
		t.Fatalf("float16 sum = %v", got[0].Float32())
	}
}

func TestLossIgnoreAndWeights(t *testing.T) {
	// log-probabilities for N=3, C=2
	x := redF32(t, []float32{-0.1, -2, -1, -0.5, -3, -0.05}, 3, 2)
	target := redT(t, []int64{0, -1, 1}, 3)
	w := redF32(t, []float32{2, 0.5}, 2)
	attrs := func(red string) map[string]ops.Attr {
		return map[string]ops.Attr{"reduction": redStr(red), "ignore_index": redInt(-1)}
	}
	cases := map[string]float64{
		"none": 0, "sum": 0.1*2 + 0.05*0.5, "mean": (0.1*2 + 0.05*0.5) / 2.5,
	}
	for red, want := range cases {
		out := redNode{op: "NegativeLogLikelihoodLoss", opset: 13, attrs: attrs(red), in: []*tensor.Tensor{x, target, w}}.must(t)
		got := redVals(t, out[0])
		if red == "none" {
			redCheck(t, "nll none", got, []float64{0.2, 0, 0.025}, 1e-6)
			continue
		}
		redCheck(t, "nll "+red, got, []float64{want}, 1e-6)
	}
	// SCE's log_prob output is the log softmax.
	out := redNode{op: "SoftmaxCrossEntropyLoss", opset: 13, attrs: attrs("mean"), in: []*tensor.Tensor{x, target}, nOut: 2}.must(t)
	lp := redVals(t, out[1])
	for r := range 3 {
		s := math.Exp(lp[2*r]) + math.Exp(lp[2*r+1])
		if !redClose(s, 1, 1e-6) {
			t.Fatalf("row %d of log_prob sums to %v", r, s)
		}
	}
	want := -(lp[0] + lp[5]) / 2
	redCheck(t, "sce mean", redVals(t, out[0]), []float64{want}, 1e-6)
}

// redRNNCase builds random RNN inputs.
type redRNNCase struct {
	cell                      string
	seq, batch, input, hidden int
	dirs                      int
	x, w, r, b, h0, c0, p     []float32
}

func redNewRNNCase(rng *rand.Rand, cell string, dirs int) *redRNNCase {
	g := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[cell]
	c := &redRNNCase{cell: cell, seq: 4, batch: 3, input: 2, hidden: 3, dirs: dirs}
	scaled := func(n int) []float32 {
		v := redRandF32(rng, n)
		for i := range v {
			v[i] *= 0.5
		}
		return v
	}
	c.x = scaled(c.seq * c.batch * c.input)
	c.w = scaled(dirs * g * c.hidden * c.input)
	c.r = scaled(dirs * g * c.hidden * c.hidden)
	c.b = scaled(dirs * 2 * g * c.hidden)
	c.h0 = scaled(dirs * c.batch * c.hidden)
	c.c0 = scaled(dirs * c.batch * c.hidden)
	c.p = scaled(dirs * 3 * c.hidden)
	return c
}

func (c *redRNNCase) node(t *testing.T, attrs map[string]ops.Attr, x []float32, seqLens []int32, layout int) redNode {
	g := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[c.cell]
	xs := []int{c.seq, c.batch, c.input}
	hs := []int{c.dirs, c.batch, c.hidden}
	h0, c0 := c.h0, c.c0
	if layout == 1 {
		xs = []int{c.batch, c.seq, c.input}
		hs = []int{c.batch, c.dirs, c.hidden}
		x = redTranspose01(x, c.seq, c.batch, c.input)
		h0 = redTranspose01(h0, c.dirs, c.batch, c.hidden)
		c0 = redTranspose01(c0, c.dirs, c.batch, c.hidden)
	}
	in := []*tensor.Tensor{redF32(t, x, xs...), redF32(t, c.w, c.dirs, g*c.hidden, c.input),
		redF32(t, c.r, c.dirs, g*c.hidden, c.hidden), redF32(t, c.b, c.dirs, 2*g*c.hidden), nil, redF32(t, h0, hs...)}
	if seqLens != nil {
		in[4] = redT(t, seqLens, len(seqLens))
	}
	nOut := 2
	if c.cell == "LSTM" {
		in = append(in, redF32(t, c0, hs...), redF32(t, c.p, c.dirs, 3*c.hidden))
		nOut = 3
	}
	a := map[string]ops.Attr{"hidden_size": redInt(int64(c.hidden)), "layout": redInt(int64(layout))}
	for k, v := range attrs {
		a[k] = v
	}
	return redNode{op: c.cell, opset: 14, attrs: a, in: in, nOut: nOut}
}

// redTranspose01 swaps the first two dims of a [a, b, c] array.
func redTranspose01(x []float32, a, b, c int) []float32 {
	out := make([]float32, len(x))
	for i := range a {
		for j := range b {
			copy(out[(j*a+i)*c:(j*a+i+1)*c], x[(i*b+j)*c:(i*b+j+1)*c])
		}
	}
	return out
}

// redReverseTime reverses the first `lens[b]` steps of each batch row of x [seq, batch, k].
func redReverseTime(x []float32, seq, batch, k int, lens []int) []float32 {
	out := slices.Clone(x)
	for b := range batch {
		L := lens[b]
		for s := range L {
			copy(out[(s*batch+b)*k:(s*batch+b+1)*k], x[((L-1-s)*batch+b)*k:((L-1-s)*batch+b+1)*k])
		}
	}
	return out
}

// TestRNNDirections checks the directions against each other: a reverse
// pass is a forward pass over the time-reversed input (per sequence
// length), bidirectional is both, and layout 1 is a transpose of layout 0.
func TestRNNDirections(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cell := range []string{"RNN", "GRU", "LSTM"} {
		for _, lbr := range []int64{0, 1} {
			if lbr == 1 && cell != "GRU" {
				continue
			}
			bi := redNewRNNCase(rng, cell, 2)
			half := func(v []float32, d int) []float32 { n := len(v) / 2; return v[d*n : (d+1)*n] }
			one := func(d int) *redRNNCase {
				c := *bi
				c.dirs = 1
				c.w, c.r, c.b, c.p = half(bi.w, d), half(bi.r, d), half(bi.b, d), half(bi.p, d)
				c.h0, c.c0 = half(bi.h0, d), half(bi.c0, d)
				return &c
			}
			extra := map[string]ops.Attr{}
			if cell == "GRU" {
				extra["linear_before_reset"] = redInt(lbr)
			}
			for _, lens := range [][]int{nil, {4, 2, 0}} {
				var sl []int32
				full := []int{4, 4, 4}
				if lens != nil {
					full = lens
					for _, l := range lens {
						sl = append(sl, int32(l))
					}
				}
				fw := one(0).node(t, extra, bi.x, sl, 0).must(t)
				rev := one(1).node(t, redWith(extra, "direction", redStr("reverse")), bi.x, sl, 0).must(t)
				// reverse == forward on reversed time, with Y reversed back
				fwRev := one(1).node(t, extra, redReverseTime(bi.x, 4, 3, 2, full), sl, 0).must(t)
				yr := redVals(t, rev[0])
				yf := redVals(t, fwRev[0])
				back := redReverseTime(redToF32(yf), 4, 3, 3, full)
				redCheck(t, cell+" reverse Y", yr, redToF64(back), 1e-5)
				for o := 1; o < len(rev); o++ {
					redCheck(t, cell+" reverse state", redVals(t, rev[o]), redVals(t, fwRev[o]), 1e-5)
				}
				// bidirectional == forward and reverse side by side
				both := bi.node(t, redWith(extra, "direction", redStr("bidirectional")), bi.x, sl, 0).must(t)
				yb := redVals(t, both[0])
				yfw, yrv := redVals(t, fw[0]), redVals(t, rev[0])
				for s := range 4 {
					for d, src := range [][]float64{yfw, yrv} {
						got := yb[(s*2+d)*9 : (s*2+d+1)*9]
						redCheck(t, cell+" bidirectional Y", got, src[s*9:(s+1)*9], 1e-5)
					}
				}
				for o := 1; o < len(both); o++ {
					st := redVals(t, both[o])
					redCheck(t, cell+" bidirectional state fw", st[:9], redVals(t, fw[o]), 1e-5)
					redCheck(t, cell+" bidirectional state rev", st[9:], redVals(t, rev[o]), 1e-5)
				}
				// Steps past a sequence's length are zero, and its state is
				// the one after its last step (the initial state if empty).
				if lens != nil {
					for s := 2; s < 4; s++ {
						for j := range 3 {
							if v := yfw[(s*3+1)*3+j]; v != 0 {
								t.Fatalf("%s: Y past sequence end is %v", cell, v)
							}
						}
					}
					redCheck(t, cell+" empty sequence state", redVals(t, fw[1])[6:9], redToF64(bi.h0[6:9]), 0)
					redCheck(t, cell+" state at length", redVals(t, fw[1])[3:6], yfw[(1*3+1)*3:(1*3+1)*3+3], 0)
				}
				// layout 1 is the transposed layout 0
				lay := bi.node(t, redWith(extra, "direction", redStr("bidirectional")), bi.x, sl, 1).must(t)
				ly := redToF32(redVals(t, lay[0])) // [batch, seq, dirs, hidden]; yb is [seq, dirs, batch, hidden]
				for s := range 4 {
					for d := range 2 {
						for b := range 3 {
							for j := range 3 {
								g := ly[((b*4+s)*2+d)*3+j]
								w := yb[((s*2+d)*3+b)*3+j]
								if !redClose(float64(g), w, 1e-6) {
									t.Fatalf("%s layout 1 Y[%d %d %d %d] = %v, want %v", cell, b, s, d, j, g, w)
								}
							}
						}
					}
				}
			}
		}
	}
}

func redToF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func redToF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestRNNCellMath checks one step of each cell against its equations,
// with clip, non-default activations and LSTM's input_forget.
func TestRNNCellMath(t *testing.T) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	// hidden 1, input 1, batch 1, one step: every product is a scalar.
	x := []float32{0.7}
	one := func(cell string, w, r, b []float32, h0 float32, c0 float32, attrs map[string]ops.Attr) []*tensor.Tensor {
		g := len(w)
		in := []*tensor.Tensor{redF32(t, x, 1, 1, 1), redF32(t, w, 1, g, 1), redF32(t, r, 1, g, 1), redF32(t, b, 1, 2*g), nil, redF32(t, []float32{h0}, 1, 1, 1)}
		nOut := 2
		if cell == "LSTM" {
			in = append(in, redF32(t, []float32{c0}, 1, 1, 1), redF32(t, []float32{0.3, -0.2, 0.1}, 1, 3))
			nOut = 3
		}
		return redNode{op: cell, opset: 14, attrs: attrs, in: in, nOut: nOut}.must(t)
	}
	// RNN with LeakyRelu(alpha) and clip
	out := one("RNN", []float32{2}, []float32{-1.5}, []float32{0.1, -0.2}, 0.9, 0, map[string]ops.Attr{
		"activations": redStrs("LeakyRelu"), "activation_alpha": redFloats(0.3), "clip": redFloat(0.5)})
	pre := math.Max(-0.5, math.Min(0.5, 2*0.7-1.5*0.9+0.1-0.2))
	want := pre
	if pre < 0 {
		want = 0.3 * pre
	}
	redCheck(t, "rnn leakyrelu", redVals(t, out[1]), []float64{want}, 1e-6)
	// GRU, both reset variants, with HardSigmoid(alpha, beta) gates
	w, r, b := []float32{0.5, -0.4, 0.3}, []float32{0.2, 0.6, -0.7}, []float32{0.1, 0.2, 0.3, -0.1, 0.05, 0.15}
	h0 := 0.4
	hs := func(v float64) float64 { return math.Max(0, math.Min(1, 0.25*v+0.4)) }
	z := hs(0.5*0.7 + 0.2*h0 + 0.1 - 0.1)
	rr := hs(-0.4*0.7 + 0.6*h0 + 0.2 + 0.05)
	for lbr, hh := range []float64{
		math.Tanh(0.3*0.7 + (-0.7)*(rr*h0) + 0.3 + 0.15),
		math.Tanh(0.3*0.7 + rr*((-0.7)*h0+0.15) + 0.3),
	} {
		out = one("GRU", w, r, b, float32(h0), 0, map[string]ops.Attr{"linear_before_reset": redInt(int64(lbr)),
			"activations": redStrs("HardSigmoid", "Tanh"), "activation_alpha": redFloats(0.25), "activation_beta": redFloats(0.4)})
		redCheck(t, "gru", redVals(t, out[1]), []float64{(1-z)*hh + z*h0}, 1e-6)
	}
	// LSTM with peepholes and input_forget
	w4, r4 := []float32{0.5, -0.4, 0.3, 0.2}, []float32{0.2, 0.6, -0.7, 0.1}
	b4 := []float32{0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4}
	c0 := 0.8
	for _, coupled := range []int64{0, 1} {
		out = one("LSTM", w4, r4, b4, float32(h0), float32(c0), map[string]ops.Attr{"input_forget": redInt(coupled)})
		i := sig(0.5*0.7 + 0.2*h0 + 0.1 - 0.1 + 0.3*c0)
		f := sig(0.3*0.7 + -0.7*h0 + 0.3 - 0.3 + 0.1*c0)
		if coupled == 1 {
			f = 1 - i
		}
		cc := math.Tanh(0.2*0.7 + 0.1*h0 + 0.4 - 0.4)
		c := f*c0 + i*cc
		o := sig(-0.4*0.7 + 0.6*h0 + 0.2 - 0.2 + -0.2*c)
		redCheck(t, "lstm h", redVals(t, out[1]), []float64{o * math.Tanh(c)}, 1e-6)
		redCheck(t, "lstm c", redVals(t, out[2]), []float64{c}, 1e-6)
	}
	// Every activation by name, case-insensitively, with its defaults.
	for name, f := range map[string]func(float64) float64{
		"relu": func(v float64) float64 { return math.Max(v, 0) }, "TANH": math.Tanh, "Sigmoid": sig,
		"Affine": func(v float64) float64 { return v }, "LeakyRelu": func(v float64) float64 { return math.Max(v, 0.01*v) },
		"ThresholdedRelu": func(v float64) float64 {
			if v > 1 {
				return v
			}
			return 0
		},
		"ScaledTanh":  math.Tanh,
		"HardSigmoid": func(v float64) float64 { return math.Max(0, math.Min(1, 0.2*v+0.5)) },
		"Elu": func(v float64) float64 {
			if v < 0 {
				return math.Exp(v) - 1
			}
			return v
		},
		"Softsign": func(v float64) float64 { return v / (1 + math.Abs(v)) },
		"Softplus": func(v float64) float64 { return math.Log1p(math.Exp(v)) },
	} {
		for _, wv := range []float32{-2, 3} {
			out = one("RNN", []float32{wv}, []float32{0}, []float32{0, 0}, 0, 0, map[string]ops.Attr{"activations": redStrs(name)})
			redCheck(t, "activation "+name, redVals(t, out[1]), []float64{f(float64(wv) * 0.7)}, 1e-6)
		}
	}
}

// redDFTNaive is the O(n²) DFT of x zero-padded or cut to n.
func redDFTNaive(x []complex128, n int, inverse bool) []complex128 {
	out := make([]complex128, n)
	sign := -1.0
	if inverse {
		sign = 1
	}
	for k := range n {
		var s complex128
		for j := 0; j < n && j < len(x); j++ {
			s += x[j] * cmplx.Rect(1, sign*2*math.Pi*float64(j*k%n)/float64(n))
		}
		if inverse {
			s /= complex(float64(n), 0)
		}
		out[k] = s
	}
	return out
}

func TestFFTLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 70; n++ {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		for _, inv := range []bool{false, true} {
			got := slices.Clone(x)
			reduceNewFFT(n).transform(got, inv, nil)
			want := redDFTNaive(x, n, inv)
			for k := range got {
				if cmplx.Abs(got[k]-want[k]) > 1e-9*float64(n) {
					t.Fatalf("n=%d inverse=%v bin %d: %v, want %v", n, inv, k, got[k], want[k])
				}
			}
		}
	}
}

func TestDFTOptions(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	// [batch 2, n 6, m 3, 2]: complex input, transform along axis 1 or 2
	data := redRandF32(rng, 2*6*3*2)
	x := redF32(t, data, 2, 6, 3, 2)
	signal := func(b, j, axis int) []complex128 { // the signal through (b, j) along axis
		var s []complex128
		if axis == 1 {
			for i := range 6 {
				o := ((b*6+i)*3 + j) * 2
				s = append(s, complex(float64(data[o]), float64(data[o+1])))
			}
		} else {
			for i := range 3 {
				o := ((b*6+j)*3 + i) * 2
				s = append(s, complex(float64(data[o]), float64(data[o+1])))
			}
		}
		return s
	}
	type variant struct {
		axis, length      int
		inverse, onesided bool
	}
	for _, v := range []variant{{1, 6, false, false}, {1, 6, true, false}, {1, 8, false, true}, {1, 4, false, false}, {2, 5, true, true}, {2, 3, false, false}} {
		for _, opset := range []int{17, 20} {
			attrs := map[string]ops.Attr{"inverse": redInt(redB2I(v.inverse)), "onesided": redInt(redB2I(v.onesided))}
			in := []*tensor.Tensor{x, tensor.Scalar(int64(v.length))}
			if opset == 17 {
				attrs["axis"] = redInt(int64(v.axis))
			} else {
				in = append(in, tensor.Scalar(int64(v.axis-4))) // negative axis
			}
			out := redNode{op: "DFT", opset: opset, attrs: attrs, in: in}.must(t)
			bins := v.length
			if v.onesided {
				bins = v.length/2 + 1
			}
			got := redVals(t, out[0])
			other := 3
			if v.axis == 2 {
				other = 6
			}
			for b := range 2 {
				for j := range other {
					want := redDFTNaive(signal(b, j, v.axis), v.length, v.inverse)
					for k := range bins {
						var o int
						if v.axis == 1 {
							o = ((b*bins+k)*3 + j) * 2
						} else {
							o = ((b*6+j)*bins + k) * 2
						}
						if !redClose(got[o], real(want[k]), 1e-5) || !redClose(got[o+1], imag(want[k]), 1e-5) {
							t.Fatalf("DFT-%d %+v: (%d %d %d) = %v%+vi, want %v", opset, v, b, j, k, got[o], got[o+1], want[k])
						}
					}
				}
			}
		}
	}
	// Contents known only at run time give the same answer.
	in := []*tensor.Tensor{x, tensor.Scalar(int64(4)), tensor.Scalar(int64(2))}
	a := redNode{op: "DFT", opset: 20, in: in}.must(t)
	b := redNode{op: "DFT", opset: 20, in: in, values: []int{}}.must(t)
	redCheck(t, "dynamic DFT", redVals(t, b[0]), redVals(t, a[0]), 0)
}

func redB2I(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestWindowsAndSTFT(t *testing.T) {
	// Windows in another output type, and the one-point symmetric window.
	out := redNode{op: "HannWindow", opset: 17, attrs: map[string]ops.Attr{"output_datatype": redInt(11)}, in: []*tensor.Tensor{tensor.Scalar(int32(4))}}.must(t)
	if out[0].DType() != tensor.Float64 {
		t.Fatalf("dtype %s", out[0].DType())
	}
	redCheck(t, "hann", redVals(t, out[0]), []float64{0, 0.5, 1, 0.5}, 1e-12)
	out = redNode{op: "BlackmanWindow", opset: 17, attrs: map[string]ops.Attr{"periodic": redInt(0)}, in: []*tensor.Tensor{tensor.Scalar(int64(1))}}.must(t)
	redCheck(t, "one-point window", redVals(t, out[0]), []float64{1}, 0)
	out = redNode{op: "HammingWindow", opset: 17, in: []*tensor.Tensor{tensor.Scalar(int64(0))}}.must(t)
	if out[0].Len() != 0 {
		t.Fatalf("empty window has %d values", out[0].Len())
	}
	// STFT frames equal DFTs of the windowed slices.
	rng := rand.New(rand.NewPCG(9, 10))
	sig := redRandF32(rng, 20)
	win := []float32{0.5, 1, 1, 0.5, 0.25}
	out = redNode{op: "STFT", opset: 17, attrs: map[string]ops.Attr{"onesided": redInt(0)},
		in: []*tensor.Tensor{redF32(t, sig, 1, 20, 1), tensor.Scalar(int64(3)), redF32(t, win, 5), tensor.Scalar(int64(5))}}.must(t)
	if !out[0].Shape().Equal(tensor.Shape{1, 6, 5, 2}) {
		t.Fatalf("STFT shape %v", out[0].Shape())
	}
	got := redVals(t, out[0])
	for f := range 6 {
		frame := make([]complex128, 5)
		for k := range 5 {
			frame[k] = complex(float64(sig[f*3+k])*float64(win[k]), 0)
		}
		want := redDFTNaive(frame, 5, false)
		for k := range 5 {
			o := (f*5 + k) * 2
			if !redClose(got[o], real(want[k]), 1e-5) || !redClose(got[o+1], imag(want[k]), 1e-5) {
				t.Fatalf("STFT frame %d bin %d", f, k)
			}
		}
	}
}

func TestRandomStatistics(t *testing.T) {
	const n = 20000
	stats := func(v []float64) (mean, variance float64) {
		for _, x := range v {
			mean += x
		}
		mean /= float64(len(v))
		for _, x := range v {
			variance += (x - mean) * (x - mean)
		}
		return mean, variance / float64(len(v))
	}
	normal := redNode{op: "RandomNormal", opset: 1, attrs: map[string]ops.Attr{"shape": redInts(n), "mean": redFloat(2), "scale": redFloat(3)}}
	m, v := stats(redVals(t, normal.must(t)[0]))
	if math.Abs(m-2) > 0.1 || math.Abs(v-9) > 0.5 {
		t.Fatalf("RandomNormal mean %v variance %v, want 2 and 9", m, v)
	}
	uniform := redNode{op: "RandomUniform", opset: 1, attrs: map[string]ops.Attr{"shape": redInts(100, n/100), "low": redFloat(-1), "high": redFloat(3), "dtype": redInt(11)}}
	u := uniform.must(t)[0]
	if u.DType() != tensor.Float64 || !u.Shape().Equal(tensor.Shape{100, n / 100}) {
		t.Fatalf("RandomUniform gave %s%v", u.DType(), u.Shape())
	}
	uv := redVals(t, u)
	m, v = stats(uv)
	if math.Abs(m-1) > 0.05 || math.Abs(v-16.0/12) > 0.1 {
		t.Fatalf("RandomUniform mean %v variance %v, want 1 and 4/3", m, v)
	}
	for _, x := range uv {
		if x < -1 || x >= 3 {
			t.Fatalf("RandomUniform value %v outside [-1, 3)", x)
		}
	}
	// -Like: shape and type of the input, or dtype.
	like := redNode{op: "RandomNormalLike", opset: 1, attrs: map[string]ops.Attr{"dtype": redInt(10)}, in: []*tensor.Tensor{redT(t, make([]int32, 6), 2, 3)}}.must(t)[0]
	if like.DType() != tensor.Float16 || !like.Shape().Equal(tensor.Shape{2, 3}) {
		t.Fatalf("RandomNormalLike gave %s%v", like.DType(), like.Shape())
	}
	ul := redNode{op: "RandomUniformLike", opset: 1, in: []*tensor.Tensor{redF32(t, make([]float32, n), n)}}.must(t)[0]
	m, _ = stats(redVals(t, ul))
	if ul.DType() != tensor.Float32 || math.Abs(m-0.5) > 0.02 {
		t.Fatalf("RandomUniformLike %s mean %v", ul.DType(), m)
	}
	// Bernoulli: frequency of ones near p; bool output.
	p := make([]float32, n)
	for i := range p {
		p[i] = float32(i%4) / 4 // 0, .25, .5, .75
	}
	bern := redNode{op: "Bernoulli", opset: 15, attrs: map[string]ops.Attr{"dtype": redInt(9)}, in: []*tensor.Tensor{redF32(t, p, n)}}.must(t)[0]
	bs, _ := tensor.ToSlice[bool](bern)
	var ones [4]int
	for i, x := range bs {
		if x {
			ones[i%4]++
		}
	}
	for k, c := range ones {
		if f := float64(c) / (n / 4); math.Abs(f-float64(k)/4) > 0.03 {
			t.Fatalf("Bernoulli p=%v gave frequency %v", float64(k)/4, f)
		}
	}
	// Multinomial: class frequencies near the softmax of the logits.
	logits := []float32{0, float32(math.Log(2)), float32(math.Log(5)), float32(math.Inf(-1))}
	mult := redNode{op: "Multinomial", opset: 7, attrs: map[string]ops.Attr{"sample_size": redInt(n), "dtype": redInt(7)}, in: []*tensor.Tensor{redF32(t, logits, 1, 4)}}.must(t)[0]
	idx, err := tensor.ToSlice[int64](mult)
	if err != nil {
		t.Fatal(err)
	}
	var hist [4]int
	for _, c := range idx {
		hist[c]++
	}
	for c, want := range []float64{0.125, 0.25, 0.625, 0} {
		if f := float64(hist[c]) / n; math.Abs(f-want) > 0.02 {
			t.Fatalf("Multinomial class %d frequency %v, want %v", c, f, want)
		}
	}
}

func TestRandomSeeds(t *testing.T) {
	node := func(seed *float32) redNode {
		a := map[string]ops.Attr{"shape": redInts(16)}
		if seed != nil {
			a["seed"] = redFloat(*seed)
		}
		return redNode{op: "RandomNormal", opset: 1, attrs: a}
	}
	s1, s2 := float32(1), float32(2)
	a := redVals(t, node(&s1).must(t)[0])
	b := redVals(t, node(&s1).must(t)[0])
	c := redVals(t, node(&s2).must(t)[0])
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different values")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same values")
	}
	// Without a seed, one node gives different values on every run.
	reg, _ := NewRegistry()
	op, _ := reg.Lookup("", "Bernoulli", 15)
	half := make([]float32, 64)
	for i := range half {
		half[i] = 0.5
	}
	x := redF32(t, half, 64)
	plan, err := ops.PrepareOp(op, &ops.Node{OpType: "Bernoulli", Opset: 15, Attrs: ops.NewAttrs(nil), Inputs: []ops.Type{ops.TypeOf(x)}, NumOutputs: 1})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]bool{}
	for range 4 {
		out := []*tensor.Tensor{nil}
		if err := plan.Kernel(&ops.Env{}, []*tensor.Tensor{x}, out); err != nil {
			t.Fatal(err)
		}
		v := redVals(t, out[0])
		runs[redBits(v)] = true
	}
	if len(runs) < 2 {
		t.Fatal("an unseeded node repeated its values")
	}
}

// redBits writes a 0/1 vector as a string key.
func redBits(v []float64) string {
	var b strings.Builder
	for _, x := range v {
		if x != 0 {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

func TestTextOptions(t *testing.T) {
	// Case-insensitive stop words, lower-casing, Turkish dotted capital I.
	in := redT(t, []string{"Stop", "İstanbul", "GO", "stop"}, 4)
	out := redNode{op: "StringNormalizer", opset: 10, attrs: map[string]ops.Attr{
		"stopwords": redStrs("STOP"), "case_change_action": redStr("LOWER"), "locale": redStr("tr_TR")}, in: []*tensor.Tensor{in}}.must(t)
	got, _ := out[0].Strings()
	if !slices.Equal(got, []string{"istanbul", "go"}) {
		t.Fatalf("StringNormalizer: %q", got)
	}
	// All removed from a [1, C] input: [1, 1] holding "".
	out = redNode{op: "StringNormalizer", opset: 10, attrs: map[string]ops.Attr{"stopwords": redStrs("a")}, in: []*tensor.Tensor{redT(t, []string{"a", "A"}, 1, 2)}}.must(t)
	if got, _ := out[0].Strings(); !out[0].Shape().Equal(tensor.Shape{1, 1}) || got[0] != "" {
		t.Fatalf("StringNormalizer empty: %v %q", out[0].Shape(), got)
	}
	// TfIdf with a string pool, IDF and TFIDF weights, a permuted index.
	attrs := map[string]ops.Attr{
		"min_gram_length": redInt(1), "max_gram_length": redInt(2), "max_skip_count": redInt(1),
		"ngram_counts": redInts(0, 2), "ngram_indexes": redInts(2, 0, 1),
		"pool_strings": redStrs("a", "b", "a", "b"), "weights": redFloats(0.5, 2, 3),
	}
	words := redT(t, []string{"a", "x", "b", "a", "b", "b"}, 2, 3)
	// row 0: a x b -> a:1, b:1, (a,b) with skip 1: 1
	// row 1: a b b -> a:1, b:2, (a,b) skip 0: 1, skip 1: 1
	for mode, want := range map[string][]float64{
		"TF":    {1, 1, 1, 2, 2, 1},
		"IDF":   {2, 3, 0.5, 2, 3, 0.5},
		"TFIDF": {2, 3, 0.5, 4, 6, 0.5},
	} {
		out := redNode{op: "TfIdfVectorizer", opset: 9, attrs: redWith(attrs, "mode", redStr(mode)), in: []*tensor.Tensor{words}}.must(t)
		redCheck(t, "tfidf "+mode, redVals(t, out[0]), want, 0)
	}
}

func TestTrainingUpdates(t *testing.T) {
	r, x, g, s := tensor.Scalar(0.1), redT(t, []float64{1, -2}, 2), redT(t, []float64{0.5, 0.25}, 2), redT(t, []float64{0.2, 0.3}, 2)
	// Momentum at T=0 takes the whole gradient (beta ignored).
	out := redNode{op: "Momentum", opset: 1, domain: reduceTrainingDomain, attrs: map[string]ops.Attr{
		"alpha": redFloat(0.9), "beta": redFloat(0.5), "norm_coefficient": redFloat(0), "mode": redStr("standard")},
		in: []*tensor.Tensor{r, tensor.Scalar(int64(0)), x, g, s}, nOut: 2}.must(t)
	v := []float64{0.9*0.2 + 0.5, 0.9*0.3 + 0.25}
	redCheck(t, "momentum V", redVals(t, out[1]), v, 1e-7)
	redCheck(t, "momentum X", redVals(t, out[0]), []float64{1 - 0.1*v[0], -2 - 0.1*v[1]}, 1e-7)
	// Adam with norm_coefficient_post and T > 0.
	out = redNode{op: "Adam", opset: 1, domain: reduceTrainingDomain, attrs: map[string]ops.Attr{"norm_coefficient_post": redFloat(0.5)},
		in: []*tensor.Tensor{r, tensor.Scalar(int64(2)), x, g, s, s}, nOut: 3}.must(t)
	alpha, beta := float64(float32(0.9)), float64(float32(0.999))
	vn := alpha*0.2 + (1-alpha)*0.5
	hn := beta*0.2 + (1-beta)*0.25
	rate := 0.1 * math.Sqrt(1-beta*beta) / (1 - alpha*alpha)
	xn := 0.5 * (1 - rate*vn/(math.Sqrt(hn)+float64(float32(1e-6))))
	redCheck(t, "adam X", redVals(t, out[0])[:1], []float64{xn}, 1e-9)
}

// TestReduceConcurrentRuns runs shared plans from several goroutines (the
// engine caches one plan per input signature): run with -race.
func TestReduceConcurrentRuns(t *testing.T) {
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	prepare := func(op string, opset int, attrs map[string]ops.Attr, in []*tensor.Tensor) *ops.Plan {
		o, err := reg.Lookup("", op, opset)
		if err != nil {
			t.Fatal(err)
		}
		n := &ops.Node{OpType: op, Opset: opset, Attrs: ops.NewAttrs(attrs), NumOutputs: 1}
		for _, x := range in {
			ty := ops.TypeOf(x)
			ty.Value = nil // contents known only when running
			n.Inputs = append(n.Inputs, ty)
		}
		plan, err := ops.PrepareOp(o, n)
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	x := redF32(t, redRandF32(rand.New(rand.NewPCG(11, 12)), 2*8*1), 2, 8, 1)
	type job struct {
		plan *ops.Plan
		in   [][]*tensor.Tensor // alternative inputs for the same plan
	}
	jobs := []job{
		{prepare("DFT", 17, nil, []*tensor.Tensor{x, tensor.Scalar(int64(8))}),
			[][]*tensor.Tensor{{x, tensor.Scalar(int64(5))}, {x, tensor.Scalar(int64(12))}}},
		{prepare("ReduceSum", 13, nil, []*tensor.Tensor{x, redT(t, []int64{0}, 1)}),
			[][]*tensor.Tensor{{x, redT(t, []int64{0}, 1)}, {x, redT(t, []int64{1}, 1)}}},
		{prepare("RandomNormalLike", 1, nil, []*tensor.Tensor{x}), [][]*tensor.Tensor{{x}}},
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 20 {
				j := jobs[(g+i)%len(jobs)]
				in := j.in[(g+i)%len(j.in)]
				if err = j.plan.Kernel(&ops.Env{Workers: reduceTestWorkers}, in, []*tensor.Tensor{nil}); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
