package main

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Random inputs for commands that time or profile a model without data
// (profile, bench): every tensor input gets values of its element type,
// symbolic dimensions are 1 unless --shapes names them.

// parseShapes reads --shapes "name:1x3x224x224,other:1x128".
func parseShapes(s string) (map[string]tensor.Shape, error) {
	shapes := map[string]tensor.Shape{}
	if strings.TrimSpace(s) == "" {
		return shapes, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, dims, ok := strings.Cut(part, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("--shapes: want NAME:DxDx…, got %q: %w", part, errUsage)
		}
		shape, err := tensor.ParseShape(dims)
		if err != nil {
			return nil, fmt.Errorf("--shapes %s: %w", name, err)
		}
		shapes[strings.TrimSpace(name)] = shape
	}
	return shapes, nil
}

// randomInputs makes one value per model input: floats uniform in [0, 1),
// integers 0 or 1 (valid token ids, masks, indices and counts for most
// models), bools at random. Inputs with an initializer (which Inputs does
// not list) keep it.
func randomInputs(m *model.Model, shapes map[string]tensor.Shape, seed uint64) (map[string]ops.Value, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	feeds := map[string]ops.Value{}
	known := map[string]bool{}
	for _, in := range m.Inputs() {
		known[in.Name] = true
		if in.Type.Kind != ops.KindTensor {
			return nil, fmt.Errorf("input %q is a %s: random values only for tensors", in.Name, in.Type)
		}
		shape, given := shapes[in.Name]
		if !given {
			if in.Type.UnknownRank {
				return nil, fmt.Errorf("input %q has unknown rank: give it with --shapes %s:DxD…: %w", in.Name, in.Name, errUsage)
			}
			shape = in.Type.Shape.Clone()
			for i, d := range shape {
				if d < 0 {
					shape[i] = 1
				}
			}
		}
		t, err := randomTensor(r, in.Type.DType, shape)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		feeds[in.Name] = t
	}
	for name := range shapes {
		if !known[name] {
			return nil, fmt.Errorf("--shapes %s: the model has no such input: %w", name, errUsage)
		}
	}
	return feeds, nil
}

func randomTensor(r *rand.Rand, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error) {
	t, err := tensor.New(dt, shape)
	if err != nil {
		return nil, err
	}
	switch dt {
	case tensor.Float32:
		fill(t, func() float32 { return r.Float32() })
	case tensor.Float64:
		fill(t, func() float64 { return r.Float64() })
	case tensor.Float16:
		fill(t, func() tensor.F16 { return tensor.Float16FromFloat32(r.Float32()) })
	case tensor.BFloat16:
		fill(t, func() tensor.BF16 { return tensor.BFloat16FromFloat32(r.Float32()) })
	case tensor.Int64:
		fill(t, func() int64 { return int64(r.IntN(2)) })
	case tensor.Int32:
		fill(t, func() int32 { return int32(r.IntN(2)) })
	case tensor.Int16:
		fill(t, func() int16 { return int16(r.IntN(2)) })
	case tensor.Int8:
		fill(t, func() int8 { return int8(r.IntN(2)) })
	case tensor.Uint8:
		fill(t, func() uint8 { return uint8(r.IntN(2)) })
	case tensor.Bool:
		fill(t, func() bool { return r.IntN(2) == 1 })
	case tensor.String:
		// empty strings
	default:
		// zeros: a valid value of any other type
	}
	return t, nil
}

func fill[T tensor.Element](t *tensor.Tensor, next func() T) {
	v, err := tensor.View[T](t)
	if err != nil {
		return
	}
	for i := range v {
		v[i] = next()
	}
}
