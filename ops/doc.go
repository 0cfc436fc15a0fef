// Package ops is GoCANN's operator library (the level CANN calls aclnn):
// every operator as data, callable one at a time on tensors, and the same
// definitions the graph engine plans models with.
//
// An [Op] is one version of one operator (domain, name, since-version). It
// owns its validation, its type and shape inference and its CPU kernel,
// all in one Prepare function that turns a [Node] — attributes plus what is
// known of the inputs — into a [Plan]. A [Registry] maps (domain, name,
// opset) to the Op in force, the way ONNX's opset versioning does.
//
// The eager API is two-phased: [Registry.Prepare] validates once and returns
// an [Executor]; [Executor.Run] executes it on tensors as often as needed.
package ops
