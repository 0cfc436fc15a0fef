package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
)

// fusedOps lists GoCANN's own operators (domain com.gocann, opset 1): the
// fused forms the graph engine's level-2 passes put in place of subgraphs
// of standard operators, one family per file (fused_conv.go,
// fused_gemm.go, fused_norm.go, fused_gelu.go, fused_attention.go,
// fused_chain.go). Each
// computes what its unfused composition computes, in one pass.
func fusedOps() []def {
	d := ops.DomainGoCANN
	return []def{
		{domain: d, name: "FusedConv", since: []int{1}, inputs: [2]int{2, 4}, outputs: [2]int{1, 1}, prepare: prepareFusedConv, doc: "act(Conv(X, W) + B + Z): convolution with bias, residual and activation in its epilogue"},
		{domain: d, name: "FusedMatMul", since: []int{1}, inputs: [2]int{2, 4}, outputs: [2]int{1, 1}, prepare: prepareFusedMatMul, doc: "act(alpha·MatMul(A', B') + Bias + Z) with batch broadcasting"},
		{domain: d, name: "FusedGemm", since: []int{1}, inputs: [2]int{2, 4}, outputs: [2]int{1, 1}, prepare: prepareFusedGemm, doc: "act(alpha·A'·B' + beta·C + Z)"},
		{domain: d, name: "LayerNormalization", since: []int{1}, inputs: [2]int{2, 3}, outputs: [2]int{1, 3}, prepare: prepareFusedLayerNorm, doc: "ONNX-17 LayerNormalization for models of any opset"},
		{domain: d, name: "SkipLayerNormalization", since: []int{1}, inputs: [2]int{3, 5}, outputs: [2]int{1, 4}, prepare: prepareSkipLayerNorm, doc: "LayerNorm over the last axis of input + skip + bias, optionally returning the sum"},
		{domain: d, name: "Gelu", since: []int{1}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1}, prepare: prepareGeluFamily(kernels.ActGelu, 0), doc: "x/2·(1 + erf(x/√2))"},
		{domain: d, name: "FastGelu", since: []int{1}, inputs: [2]int{1, 2}, outputs: [2]int{1, 1}, prepare: prepareGeluFamily(kernels.ActGeluTanh, 1), doc: "tanh-approximated GELU of x + bias"},
		{domain: d, name: "BiasGelu", since: []int{1}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, prepare: prepareGeluFamily(kernels.ActGelu, 1), doc: "GELU (erf) of x + bias"},
		{domain: d, name: "ElementwiseChain", since: []int{1}, inputs: [2]int{1, -1}, outputs: [2]int{1, 1}, prepare: prepareElementwiseChain, doc: "a chain of element-wise operators on float32, run block by block in cache"},
		{domain: d, name: "Attention", since: []int{1}, inputs: [2]int{3, 4}, outputs: [2]int{1, 1}, prepare: prepareAttention, doc: "multi-head scaled dot-product attention over projected Q, K, V with mask or causal flag"},
	}
}
