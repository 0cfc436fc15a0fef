// Package passes is the graph engine's optimizer: rewrites of a
// *graph.Model, in place, that keep what the model computes and make it
// cheaper to run.
//
// A pass is a value (Pass: a name, an optimization level and a function
// over a Context). Optimize runs the passes of every level up to the one
// asked for, repeatedly, until none changes the graph (or an iteration
// bound is reached), over the main graph and every subgraph, and returns a
// Report of what each did. The levels follow ONNX Runtime's:
//
//	0  nothing
//	1  basic: shape and type inference, constant folding (Shape and Size of
//	   statically known shapes included), dead-code and common-subexpression
//	   elimination, Identity/Dropout removal, Conv+BatchNormalization (and
//	   Conv+Mul/Add by constants) folding, transpose and reshape elimination
//	2  extended: fusions into com.gocann operators (Conv/MatMul/Gemm with
//	   bias, residual and activation; LayerNorm, GELU, attention;
//	   element-wise chains)
//	3  layout selection for the CPU kernels: constant GEMM weights stored
//	   prepacked in the micro-kernel's panels (PackWeights)
//
// A Context gives passes what rewrites need: the producer and the consumers
// of each value (consumers include nodes whose subgraphs read the value),
// constants (initializers and Constant nodes), inferred types, replacing a
// value's uses, adding and removing nodes, fresh names. Graph outputs keep
// their names: a rewrite that would rename one is refused (see
// Context.ReplaceValue).
package passes
