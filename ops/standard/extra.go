package standard

import (
	"fmt"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// The operators of opsets 18-21 (and two older ones) that the other
// families do not cover: LpNormalization, MaxRoiPool, Col2Im,
// CenterCropPad, DeformConv, AffineGrid (extra_nn.go), RegexFullMatch,
// StringConcat, StringSplit (extra_text.go) and ImageDecoder
// (extra_image.go).

func extraOps() []def {
	return []def{
		{name: "LpNormalization", since: []int{1}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: extraPrepareLpNorm, doc: "divides by the L1 or L2 norm along an axis"},
		{name: "MaxRoiPool", since: []int{1}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
			prepare: extraPrepareMaxRoiPool, doc: "max pooling over regions of interest"},
		{name: "Col2Im", since: []int{18}, inputs: [2]int{3, 3}, outputs: [2]int{1, 1}, valueInputs: []int{1, 2},
			prepare: extraPrepareCol2Im, doc: "folds column blocks back into an N-D image, summing overlaps"},
		{name: "CenterCropPad", since: []int{18}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, valueInputs: []int{1},
			prepare: extraPrepareCenterCropPad, doc: "crops or zero-pads axes to a size, centred"},
		{name: "DeformConv", since: []int{19}, inputs: [2]int{3, 5}, outputs: [2]int{1, 1},
			prepare: extraPrepareDeformConv, doc: "2-D convolution sampling at learned offsets, with optional mask"},
		{name: "AffineGrid", since: []int{20}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1}, valueInputs: []int{1},
			prepare: extraPrepareAffineGrid, doc: "sampling grid of an affine transform, for GridSample"},
		{name: "RegexFullMatch", since: []int{20}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: extraPrepareRegexFullMatch, doc: "whether each string fully matches an RE2 pattern"},
		{name: "StringConcat", since: []int{20}, inputs: [2]int{2, 2}, outputs: [2]int{1, 1},
			prepare: extraPrepareStringConcat, doc: "concatenates strings elementwise with broadcasting"},
		{name: "StringSplit", since: []int{20}, inputs: [2]int{1, 1}, outputs: [2]int{1, 2},
			prepare: extraPrepareStringSplit, doc: "splits strings on a delimiter, padded with empty strings, with counts"},
		{name: "ImageDecoder", since: []int{20}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: extraPrepareImageDecoder, doc: "decodes a BMP, GIF, JPEG, PNG, PNM, TIFF or WebP image to H x W x C uint8"},
	}
}

// extraByteLimit is the largest tensor the env allows (see ops.Env.NewTensor),
// for checking sizes before work that precedes the allocation.
func extraByteLimit(env *ops.Env) int64 {
	if env != nil && env.MaxTensorBytes > 0 {
		return env.MaxTensorBytes
	}
	return ops.DefaultMaxTensorBytes
}

// extraCheckBytes fails, as an allocation over the env's limit would, when
// the product of dims elements of size bytes exceeds the limit; the product
// is checked for overflow on the way.
func extraCheckBytes(env *ops.Env, what string, size int64, dims ...int) error {
	limit := extraByteLimit(env)
	total := size
	for _, d := range dims {
		if d < 0 {
			return errorf("%s: negative size %d", what, d)
		}
		if d > 0 && total > limit/int64(d) {
			return fmt.Errorf("%s: %v elements of %d bytes are over the limit of %d bytes: %w", what, dims, size, limit, runtime.ErrOutOfMemory)
		}
		total *= int64(d)
	}
	if total > limit {
		return fmt.Errorf("%s: %d bytes are over the limit of %d: %w", what, total, limit, runtime.ErrOutOfMemory)
	}
	return nil
}

// extraFloatKernel picks the float32 or float64 kernel for dt; half types
// run the float32 kernel.
func extraFloatKernel(n *ops.Node, dt tensor.DType, k32, k64 ops.Kernel) (ops.Kernel, error) {
	switch dt {
	case tensor.Float32:
		return k32, nil
	case tensor.Float64:
		return k64, nil
	case tensor.Float16, tensor.BFloat16:
		return halfAsFloat32(dt, k32), nil
	}
	return nil, n.Errorf("unsupported type %s", dt)
}

// extraKnown fails unless input i has a known rank and shape.
func extraKnown(n *ops.Node, i int) error {
	t := n.Input(i)
	if t.UnknownRank || !t.Static() {
		return n.Errorf("input %d has unknown shape %s", i, t)
	}
	return nil
}

// extraInts reads attribute name as a list of len n with default def for
// every element, checking each value is at least lo.
func extraInts(n *ops.Node, name string, count int, def, lo int64) ([]int, error) {
	v := n.Attrs.Ints(name, nil)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if v == nil {
		out := make([]int, count)
		for i := range out {
			out[i] = int(def)
		}
		return out, nil
	}
	if len(v) != count {
		return nil, n.Errorf("%s has %d values, want %d", name, len(v), count)
	}
	out := make([]int, count)
	for i, x := range v {
		if x < lo || x > 1<<30 {
			return nil, n.Errorf("%s[%d] = %d out of range", name, i, x)
		}
		out[i] = int(x)
	}
	return out, nil
}
