package standard

import (
	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
)

// float32 products go to kernels.Sgemm (packed, cache-blocked, parallel,
// with assembly micro-kernels and a fused bias/ReLU epilogue).

// nnWorkers is the env's worker pool, nil (one thread) without one.
func nnWorkers(env *ops.Env) *cpu.Workers {
	if env == nil {
		return nil
	}
	return env.Workers
}

// nnSgemm computes C = alpha*op(A)*op(B) + beta*C, then the epilogue (may
// be nil); see kernels.Sgemm.
func nnSgemm(env *ops.Env, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *kernels.Epilogue) {
	kernels.Sgemm(nnWorkers(env), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep)
}

// nnScratch32 returns a pooled float32 scratch slice and its release.
func nnScratch32(n int) ([]float32, func()) {
	p := kernels.GetScratch(n)
	return *p, func() { kernels.PutScratch(p) }
}
