package model

import (
	"fmt"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/passes"
)

// DefaultOptLevel is the optimization level Load and Convert use unless
// told otherwise (see WithOptLevel), on the CPU.
const DefaultOptLevel = 3

// DefaultDeviceOptLevel is the optimization level for a device other than
// the CPU (WithDevice("opencl")): the fused operators of level 2 (domain
// com.gocann) and the layouts of level 3 have CPU kernels only, so they
// would fall back to the CPU.
const DefaultDeviceOptLevel = 1

// WithOptLevel sets the graph optimization level (see package passes): 0
// none, 1 basic (constant folding, dead code, Conv+BatchNormalization…),
// 2 extended (fused operators), 3 layout selection. The default is 3 on
// the CPU and 1 on other devices (DefaultDeviceOptLevel); an explicit
// level wins, and then nodes the device has no kernel for fall back to the
// CPU (visibly: Model.Placement). Compiled models were optimized when
// converted; Load ignores it for them.
func WithOptLevel(n int) Option {
	return func(o *options) { o.optLevel, o.optLevelSet = n, true }
}

// WithShapes fixes the dimensions of inputs, by name (symbolic ones such
// as the batch size included), so that the optimizer can fold what
// depends on them. The model then accepts only inputs of these shapes.
// Load ignores it for compiled models, whose shapes were fixed when they
// were converted.
func WithShapes(shapes map[string][]int64) Option {
	return func(o *options) { o.shapes = shapes }
}

// registry returns the operator registry of the options: WithOps's, or
// the standard set, made once.
func (o *options) registry() (*ops.Registry, error) {
	if o.ops == nil {
		r, err := standard.NewRegistry()
		if err != nil {
			return nil, err
		}
		o.ops = r
	}
	return o.ops, nil
}

// optimize runs the optimization passes on an imported graph (fixing the
// input shapes WithShapes gives first). Load and Convert both go through
// it, so a compiled model holds exactly what loading the ONNX file would
// have run.
func optimize(g *graph.Model, o *options) (*passes.Report, error) {
	reg, err := o.registry()
	if err != nil {
		return nil, err
	}
	rep, err := passes.Optimize(g, passes.Options{Level: o.optLevel, Ops: reg, Shapes: o.shapes, OwnsConstants: true})
	if err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	return rep, nil
}
