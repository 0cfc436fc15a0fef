package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Random inputs for commands that run a model without data (bench,
// profile): every tensor input gets values of its element type, in ranges
// that keep typical models valid.
//
//   - Floats: uniform in [-1, 1).
//   - Integers that index something (token ids, positions, indices: names
//     containing "ids", "index", "indices", "position" or "token", or any
//     input read by a Gather or GatherElements as its indices) are 0 or 1,
//     valid for every non-empty table.
//   - Other integers and masks: names containing "mask" are all ones (attend
//     everywhere); the rest are uniform in [0, 4).
//   - Bool: true for masks, random otherwise.
//
// Symbolic dimensions are 1 unless --shapes gives the input's shape.

// inputShapes is the parsed --shapes flag: input name to full shape.
type inputShapes map[string]tensor.Shape

func (s *inputShapes) String() string {
	if s == nil || *s == nil {
		return ""
	}
	var parts []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range *s {
			if !yield(k) {
				return
			}
		}
	}) {
		dims := make([]string, len((*s)[name]))
		for i, d := range (*s)[name] {
			dims[i] = fmt.Sprint(d)
		}
		parts = append(parts, name+":"+strings.Join(dims, "x"))
	}
	return strings.Join(parts, ",")
}

// Set parses "name:1x3x224x224,other:1x128" (repeatable). The name ends at
// the last ':' so names holding one ("input:0") work.
func (s *inputShapes) Set(v string) error {
	if *s == nil {
		*s = inputShapes{}
	}
	for _, item := range strings.Split(v, ",") {
		i := strings.LastIndexByte(item, ':')
		if i <= 0 {
			return fmt.Errorf("want NAME:DIMS (as in x:1x3x224x224), got %q", item)
		}
		name, dims := strings.TrimSpace(item[:i]), item[i+1:]
		if strings.Contains(dims, ",") || strings.TrimSpace(dims) == "" {
			return fmt.Errorf("shape of %q: want dimensions separated by 'x', got %q", name, dims)
		}
		shape, err := tensor.ParseShape(dims)
		if err != nil {
			return fmt.Errorf("shape of %q: %w", name, err)
		}
		for _, d := range shape {
			if d < 0 {
				return fmt.Errorf("shape of %q: negative dimension in %q", name, dims)
			}
		}
		(*s)[name] = shape
	}
	return nil
}

// resolveShape gives an input's concrete shape: the --shapes entry when
// there is one (it must agree with the declared rank and fixed dims),
// otherwise the declared shape with symbolic dims set to 1.
func resolveShape(in model.Info, shapes inputShapes) (tensor.Shape, error) {
	want, given := shapes[in.Name]
	if in.Type.UnknownRank {
		if !given {
			return nil, fmt.Errorf("input %q has no declared shape: give it with --shapes %s:DIMS", in.Name, in.Name)
		}
		return want, nil
	}
	decl := in.Type.Shape
	if !given {
		out := make(tensor.Shape, len(decl))
		for i, d := range decl {
			out[i] = d
			if d < 0 {
				out[i] = 1
			}
		}
		return out, nil
	}
	if len(want) != len(decl) {
		return nil, fmt.Errorf("--shapes %s: rank %d, but the model declares %v", in.Name, len(want), declared(in))
	}
	for i, d := range decl {
		if d >= 0 && want[i] != d {
			return nil, fmt.Errorf("--shapes %s: dim %d is %d, but the model fixes it at %d (%v)", in.Name, i, want[i], d, declared(in))
		}
	}
	return want.Clone(), nil
}

// declared prints an input's declared shape with its symbolic names.
func declared(in model.Info) string {
	parts := make([]string, len(in.Type.Shape))
	for i, d := range in.Type.Shape {
		if d < 0 && i < len(in.DimParams) && in.DimParams[i] != "" {
			parts[i] = in.DimParams[i]
		} else if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// indexInputs returns the graph inputs that a Gather or GatherElements
// reads as indices (its second input).
func indexInputs(g *graph.Graph) map[string]bool {
	out := map[string]bool{}
	if g == nil {
		return out
	}
	for _, n := range g.Nodes {
		if (n.OpType == "Gather" || n.OpType == "GatherElements" || n.OpType == "GatherND") && len(n.Inputs) > 1 {
			out[n.Inputs[1]] = true
		}
	}
	return out
}

// indexLike reports whether a name suggests token ids, positions or indices.
func indexLike(name string) bool {
	l := strings.ToLower(name)
	for _, s := range []string{"ids", "index", "indices", "position", "token"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// randomInputs builds a random tensor for every input in ins. indices names
// the inputs read as Gather indices (may be nil); rng is the source, so a
// seed gives the same inputs every time.
func randomInputs(ins []model.Info, shapes inputShapes, indices map[string]bool, rng *rand.Rand) (map[string]ops.Value, error) {
	for name := range shapes {
		if !slices.ContainsFunc(ins, func(in model.Info) bool { return in.Name == name }) {
			return nil, fmt.Errorf("--shapes names %q, which is not an input of the model", name)
		}
	}
	feeds := make(map[string]ops.Value, len(ins))
	for _, in := range ins {
		if in.Type.Kind != ops.KindTensor {
			return nil, fmt.Errorf("input %q is not a tensor: give inputs with --input-dir", in.Name)
		}
		shape, err := resolveShape(in, shapes)
		if err != nil {
			return nil, err
		}
		t, err := randomTensor(in.Name, in.Type.DType, shape, indices[in.Name] || indexLike(in.Name), rng)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		feeds[in.Name] = t
	}
	return feeds, nil
}

// randomTensor fills a new tensor of dt and shape (see the ranges above).
func randomTensor(name string, dt tensor.DType, shape tensor.Shape, index bool, rng *rand.Rand) (*tensor.Tensor, error) {
	t, err := tensor.New(dt, shape)
	if err != nil {
		return nil, err
	}
	mask := strings.Contains(strings.ToLower(name), "mask")
	// intValue is the value of one integer element.
	intValue := func() int64 {
		switch {
		case mask:
			return 1
		case index:
			return rng.Int64N(2)
		}
		return rng.Int64N(4)
	}
	unit := func() float32 { return 2*rng.Float32() - 1 }
	switch dt {
	case tensor.Float32:
		fill(t, unit)
	case tensor.Float64:
		fill(t, func() float64 { return 2*rng.Float64() - 1 })
	case tensor.Float16:
		fill(t, func() tensor.F16 { return tensor.Float16FromFloat32(unit()) })
	case tensor.BFloat16:
		fill(t, func() tensor.BF16 { return tensor.BFloat16FromFloat32(unit()) })
	case tensor.Int8:
		fill(t, func() int8 { return int8(intValue()) })
	case tensor.Int16:
		fill(t, func() int16 { return int16(intValue()) })
	case tensor.Int32:
		fill(t, func() int32 { return int32(intValue()) })
	case tensor.Int64:
		fill(t, intValue)
	case tensor.Uint8:
		fill(t, func() uint8 { return uint8(intValue()) })
	case tensor.Uint16:
		fill(t, func() uint16 { return uint16(intValue()) })
	case tensor.Uint32:
		fill(t, func() uint32 { return uint32(intValue()) })
	case tensor.Uint64:
		fill(t, func() uint64 { return uint64(intValue()) })
	case tensor.Bool:
		fill(t, func() bool { return mask || rng.IntN(2) == 1 })
	default:
		return nil, fmt.Errorf("no random values for %s: give inputs with --input-dir", dt)
	}
	return t, nil
}

func fill[T tensor.Element](t *tensor.Tensor, next func() T) {
	v, err := tensor.View[T](t)
	if err != nil {
		panic(err) // t was created with T's dtype
	}
	for i := range v {
		v[i] = next()
	}
}
