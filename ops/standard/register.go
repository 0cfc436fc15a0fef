// Package standard is the ONNX standard operator set (domain ai.onnx) for
// GoCANN's operator library: every operator version with its validation,
// shape and type inference and CPU kernel.
package standard

import (
	"fmt"

	"github.com/gocann/gocann/ops"
)

// families lists the operator tables, one per file.
func families() [][]def {
	return [][]def{
		binaryOps(),      // binary.go: arithmetic, comparison, logic with broadcasting
		elementwiseOps(), // elementwise.go: unary math, activations, variadic, casts
		shapeOps(),       // shape.go: shapes, movement, indexing
		nnOps(),          // nn.go: convolution, pooling, normalization, GEMM, softmax, quantization
		reduceOps(),      // reduce.go: reductions, losses, recurrent, signal, random, strings
		controlOps(),     // control.go: If, Loop, Scan, sequences, optionals
		trainingOps(),    // reduce_train.go: ai.onnx.preview.training optimizers
		extraOps(),       // extra.go: opset 18-20 additions (Col2Im, DeformConv, AffineGrid, strings, ImageDecoder), LpNormalization, MaxRoiPool
		fusedOps(),       // fused.go: com.gocann fused operators (FusedConv, FusedMatMul, Attention, ...)
	}
}

// Register adds the standard operator set to r.
func Register(r *ops.Registry) error {
	for _, fam := range families() {
		for _, d := range fam {
			if err := r.Register(d.ops()...); err != nil {
				return err
			}
		}
	}
	return nil
}

// NewRegistry returns a registry holding the standard operator set.
func NewRegistry() (*ops.Registry, error) {
	r := ops.NewRegistry()
	if err := Register(r); err != nil {
		return nil, err
	}
	return r, nil
}

// errorf reports a failure while a kernel runs (bad data, such as an index
// out of range), wrapping ops.ErrInvalidNode.
func errorf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ops.ErrInvalidNode)...)
}
