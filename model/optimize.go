package model

import (
	"fmt"
	"sort"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// DefaultOptLevel is the optimization level Load and Convert use unless
// told otherwise (see WithOptLevel).
const DefaultOptLevel = 3

// WithOptLevel sets the graph optimization level, as ONNX Runtime's: 0
// none, 1 basic, 2 extended (fusions), 3 layout selection. Compiled
// models were optimized when converted; Load ignores it for them.
func WithOptLevel(n int) Option { return func(o *options) { o.optLevel = n } }

// WithShapes fixes the shapes of inputs (by name) whose dimensions the
// model leaves symbolic, so that optimization can specialize the graph;
// runs must then feed exactly these shapes. Load ignores it for compiled
// models, whose shapes were fixed when they were converted.
func WithShapes(shapes map[string]tensor.Shape) Option {
	return func(o *options) { o.shapes = shapes }
}

// optimize prepares an imported graph for the engine: it fixes the input
// shapes WithShapes gives and runs the optimization passes. Load and
// Convert both go through it, so a compiled model holds exactly what
// loading the ONNX file would have run. It returns the level applied and
// a description of what each pass did (for --explain).
func optimize(g *graph.Model, o *options) (level int, explain string, err error) {
	if o.optLevel < 0 || o.optLevel > 3 {
		return 0, "", fmt.Errorf("optimization level %d: want 0 to 3: %w", o.optLevel, runtime.ErrInvalidArgument)
	}
	if err := applyShapes(g.Graph, o.shapes); err != nil {
		return 0, "", err
	}
	// The optimization passes (package passes) plug in here; until they
	// do, no level is applied.
	return 0, "", nil
}

// applyShapes fixes the dimensions of graph inputs. A given shape must
// agree with what the model declares: the same rank, and the same size
// wherever the model fixes one.
func applyShapes(g *graph.Graph, shapes map[string]tensor.Shape) error {
	names := make([]string, 0, len(shapes))
	for name := range shapes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		shape := shapes[name]
		var in *graph.ValueInfo
		for _, v := range g.Inputs {
			if v.Name == name {
				in = v
			}
		}
		if in == nil {
			return fmt.Errorf("shape for %q: the model has no such input: %w", name, runtime.ErrInvalidArgument)
		}
		if err := shape.Validate(); err != nil {
			return fmt.Errorf("shape for %q: %w", name, err)
		}
		t := in.Type
		if t.Kind != ops.KindTensor {
			return fmt.Errorf("shape for %q: the input is a %s, not a tensor: %w", name, t, runtime.ErrInvalidArgument)
		}
		if !t.UnknownRank {
			if len(t.Shape) != len(shape) {
				return fmt.Errorf("shape %v for %q: the model declares %s: %w", shape, name, t, runtime.ErrInvalidArgument)
			}
			for i, d := range t.Shape {
				if d >= 0 && d != shape[i] {
					return fmt.Errorf("shape %v for %q: the model declares %s: %w", shape, name, t, runtime.ErrInvalidArgument)
				}
			}
		}
		t.Shape, t.UnknownRank = shape.Clone(), false
		in.Type, in.DimParams = t, nil
	}
	return nil
}
