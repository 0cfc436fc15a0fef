package standard

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// nnOps lists this family's operators: GEMM and matrix products,
// convolution, pooling, normalization, softmax, quantization and the
// detection helpers (RoiAlign, NonMaxSuppression, GridSample).
func nnOps() []def {
	return []def{
		{name: "Gemm", since: []int{1, 6, 7, 9, 11, 13}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, prepare: prepareGemm, doc: "general matrix product alpha*A'*B' + beta*C"},
		{name: "MatMul", since: []int{1, 9, 13}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, prepare: prepareMatMul, doc: "numpy matrix product with batch broadcasting"},
		{name: "MatMulInteger", since: []int{10}, inputs: [2]int{2, 4}, outputs: [2]int{1, 1}, prepare: prepareMatMulInteger, doc: "8-bit integer matrix product with zero points, to int32"},
		{name: "Conv", since: []int{1, 11}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, prepare: prepareConv, doc: "N-d convolution with groups, dilations and padding"},
		{name: "ConvTranspose", since: []int{1, 11}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, prepare: prepareConvTranspose, doc: "N-d transposed convolution"},
		{name: "ConvInteger", since: []int{10}, inputs: [2]int{2, 4}, outputs: [2]int{1, 1}, prepare: prepareConvInteger, doc: "8-bit integer convolution with zero points, to int32"},
		{name: "QLinearConv", since: []int{10}, inputs: [2]int{8, 9}, outputs: [2]int{1, 1}, prepare: prepareQLinearConv, doc: "quantized convolution"},
		{name: "MaxPool", since: []int{1, 8, 10, 11, 12}, inputs: [2]int{1, 1}, outputs: [2]int{1, 2}, prepare: prepareMaxPool, doc: "N-d max pooling, with optional argmax indices"},
		{name: "AveragePool", since: []int{1, 7, 10, 11, 19}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareAveragePool, doc: "N-d average pooling"},
		{name: "LpPool", since: []int{1, 2, 11, 18}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareLpPool, doc: "N-d Lp-norm pooling"},
		{name: "GlobalAveragePool", since: []int{1}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareGlobalPool("avg"), doc: "mean over all spatial dims"},
		{name: "GlobalMaxPool", since: []int{1}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareGlobalPool("max"), doc: "max over all spatial dims"},
		{name: "GlobalLpPool", since: []int{1, 2}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareGlobalPool("lp"), doc: "Lp norm over all spatial dims"},
		{name: "MaxUnpool", since: []int{9, 11}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, valueInputs: []int{2}, prepare: prepareMaxUnpool, doc: "scatter pooled values back to their argmax positions"},
		{name: "BatchNormalization", since: []int{1, 6, 7, 9, 14, 15}, inputs: [2]int{5, 5}, outputs: [2]int{1, 5}, prepare: prepareBatchNorm, doc: "batch normalization (inference, or training statistics)"},
		{name: "InstanceNormalization", since: []int{1, 6}, inputs: [2]int{3, 3}, outputs: [2]int{1, 1}, prepare: prepareInstanceNorm, doc: "per-sample, per-channel normalization"},
		{name: "LayerNormalization", since: []int{17}, inputs: [2]int{2, 3}, outputs: [2]int{1, 3}, prepare: prepareLayerNorm, doc: "normalization over the trailing axes from axis"},
		{name: "GroupNormalization", since: []int{18, 21}, inputs: [2]int{3, 3}, outputs: [2]int{1, 1}, prepare: prepareGroupNorm, doc: "normalization over groups of channels"},
		{name: "LRN", since: []int{1, 13}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareLRN, doc: "local response normalization across channels"},
		{name: "MeanVarianceNormalization", since: []int{9, 13}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareMVN, doc: "zero mean, unit variance over axes"},
		{name: "Softmax", since: []int{1, 11, 13}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareSoftmaxFamily("Softmax"), doc: "softmax along axis (2-D coerced before 13)"},
		{name: "LogSoftmax", since: []int{1, 11, 13}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareSoftmaxFamily("LogSoftmax"), doc: "log of softmax along axis"},
		{name: "Hardmax", since: []int{1, 11, 13}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareSoftmaxFamily("Hardmax"), doc: "one-hot of the first maximum along axis"},
		{name: "QuantizeLinear", since: []int{10, 13, 19, 21}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, prepare: prepareQuantizeLinear, doc: "float to 8/16-bit integers, per tensor or per axis"},
		{name: "DequantizeLinear", since: []int{10, 13, 19, 21}, inputs: [2]int{2, 3}, outputs: [2]int{1, 1}, prepare: prepareDequantizeLinear, doc: "integers to float, per tensor or per axis"},
		{name: "DynamicQuantizeLinear", since: []int{11}, inputs: [2]int{1, 1}, outputs: [2]int{3, 3}, prepare: prepareDynamicQuantizeLinear, doc: "uint8 quantization with computed scale and zero point"},
		{name: "Einsum", since: []int{12}, inputs: [2]int{1, -1}, outputs: [2]int{1, 1}, prepare: prepareEinsum, doc: "Einstein summation (diagonals, ellipsis, implicit output)"},
		{name: "RoiAlign", since: []int{10, 16}, inputs: [2]int{3, 3}, outputs: [2]int{1, 1}, prepare: prepareRoiAlign, doc: "region-of-interest pooling with bilinear sampling"},
		{name: "NonMaxSuppression", since: []int{10, 11}, inputs: [2]int{2, 5}, outputs: [2]int{1, 1}, prepare: prepareNMS, doc: "greedy box selection by score and IoU"},
		{name: "GridSample", since: []int{16, 20}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, prepare: prepareGridSample, doc: "sample an image at grid coordinates"},
		{name: "Det", since: []int{11}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareDet, doc: "determinant of square matrices"},
		{name: "QLinearMatMul", since: []int{10, 21}, inputs: [2]int{8, 8}, outputs: [2]int{1, 1}, prepare: prepareQLinearMatMul, doc: "quantized matrix product"},
	}
}

// nnFloat picks the float32 or float64 kernel for a float type, running
// float16 and bfloat16 through the float32 one.
func nnFloat(n *ops.Node, dt tensor.DType, k32, k64 ops.Kernel) (ops.Kernel, error) {
	switch dt {
	case tensor.Float32:
		return k32, nil
	case tensor.Float64:
		if k64 != nil {
			return k64, nil
		}
	case tensor.Float16, tensor.BFloat16:
		return halfAsFloat32(dt, k32), nil
	}
	return nil, n.Errorf("unsupported type %s", dt)
}

// nnView returns the elements of t, or nil for an absent tensor.
func nnView[T tensor.Element](t *tensor.Tensor) ([]T, error) {
	if t == nil {
		return nil, nil
	}
	return tensor.View[T](t)
}

// nnOut allocates (or fetches) output i and returns its elements.
func nnOut[T tensor.Element](env *ops.Env, out []*tensor.Tensor, i int, shape tensor.Shape) ([]T, error) {
	t, err := env.Output(out, i, tensor.DTypeOf[T](), shape)
	if err != nil {
		return nil, err
	}
	return tensor.View[T](t)
}

// nnStatic fails unless input i has a known rank and dims.
func nnStatic(n *ops.Node, i int) error {
	t := n.Input(i)
	if t.UnknownRank || !t.Static() {
		return n.Errorf("input %d has unknown shape %s", i, t)
	}
	return nil
}
