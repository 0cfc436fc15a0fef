package passes

// extendedPasses are level 2: fusions into com.gocann operators
// (fuse_*.go). Their order matters within a round: attention before the
// MatMul fusion (which would otherwise take the mask's Add as a
// residual), GELU before the MatMul and Conv fusions (which absorb it as
// their activation), LayerNorm before SkipLayerNorm (which needs it) and
// both before the MatMul fusion (so a residual Add feeding a LayerNorm
// becomes SkipLayerNormalization rather than a GEMM residual), and the
// element-wise chains last (the others absorb the chains they know).
func extendedPasses() []Pass {
	return []Pass{
		GeluFusion,
		SoftmaxFusion,
		LayerNormFusion,
		SkipLayerNormFusion,
		AttentionFusion,
		MatMulFusion,
		ConvFusion,
		ElementwiseFusion,
	}
}
