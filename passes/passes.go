package passes

import "slices"

// Default returns the built-in passes of every level, in the order they
// run within a level.
func Default() []Pass {
	return slices.Concat(basicPasses(), extendedPasses(), layoutPasses())
}

// basicPasses are level 1: rewrites that every executor benefits from and
// that introduce no operator outside the ONNX standard set.
func basicPasses() []Pass {
	return []Pass{
		ShapeInference,
		ConstantFolding,
		IdentityElimination,
		CommonSubexpressionElimination,
		ConvFolding,
		TransposeElimination,
		ReshapeElimination,
		DeadCodeElimination,
	}
}
