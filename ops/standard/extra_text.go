package standard

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// RegexFullMatch, StringConcat and StringSplit (opset 20).

var extraStringType = []tensor.DType{tensor.String}

func extraPrepareRegexFullMatch(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, extraStringType); err != nil {
		return nil, err
	}
	if err := extraKnown(n, 0); err != nil {
		return nil, err
	}
	n.Attrs.Require("pattern")
	pattern := n.Attrs.String("pattern", "")
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	// Go's regexp implements RE2 syntax. Anchoring both ends makes a match
	// one that spans the whole string, as RE2::FullMatch requires; the
	// non-capturing group keeps alternations inside the anchors.
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, n.Errorf("pattern %q is not valid RE2 syntax: %v", pattern, err)
	}
	shape := n.Inputs[0].Shape.Clone()
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[string](in[0])
		if err != nil {
			return err
		}
		y, err := nnOut[bool](env, out, 0, shape)
		if err != nil {
			return err
		}
		env.ParallelFor(len(x), 64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				y[i] = re.MatchString(x[i])
			}
		})
		return nil
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Bool, shape)}, Kernel: k}, nil
}

func extraPrepareStringConcat(n *ops.Node) (*ops.Plan, error) {
	out, err := binaryShape(n, extraStringType)
	if err != nil {
		return nil, err
	}
	aShape, bShape := n.Inputs[0].Shape.Clone(), n.Inputs[1].Shape.Clone()
	k := func(env *ops.Env, in, outs []*tensor.Tensor) error {
		a, err := tensor.View[string](in[0])
		if err != nil {
			return err
		}
		b, err := tensor.View[string](in[1])
		if err != nil {
			return err
		}
		// Bound the result before building it: a long string broadcast
		// widely. The cheap bound (longest plus longest, per element) is
		// refined to the exact size only when it is over the limit.
		if err := extraCheckBytes(env, "StringConcat", 16, out.NumElements()); err != nil {
			return err
		}
		la, lb := 0, 0
		for _, s := range a {
			la = max(la, len(s))
		}
		for _, s := range b {
			lb = max(lb, len(s))
		}
		if extraCheckBytes(env, "StringConcat", int64(la+lb)+16, out.NumElements()) != nil {
			sizes := make([]int64, out.NumElements())
			binaryMap(env, sizes, a, b, out, aShape, bShape, func(x, z string) int64 { return int64(len(x)+len(z)) + 16 })
			var total int64
			for _, v := range sizes {
				total += v
			}
			if err := extraCheckBytes(env, "StringConcat", total); err != nil {
				return err
			}
		}
		y, err := nnOut[string](env, outs, 0, out)
		if err != nil {
			return err
		}
		binaryMap(env, y, a, b, out, aShape, bShape, func(x, z string) string { return x + z })
		return nil
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.String, out)}, Kernel: k}, nil
}

func extraPrepareStringSplit(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, extraStringType); err != nil {
		return nil, err
	}
	if err := extraKnown(n, 0); err != nil {
		return nil, err
	}
	delim := n.Attrs.String("delimiter", "")
	maxsplit := n.Attrs.Int("maxsplit", -1)
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	if !n.Attrs.Has("maxsplit") || maxsplit < 0 {
		maxsplit = -1 // unlimited, as Python's str.split
	}
	xs := n.Inputs[0].Shape.Clone()
	yShape := append(xs.Clone(), -1)
	if xs.NumElements() == 0 {
		yShape[len(xs)] = 0
	}
	outs := []ops.Type{ops.TensorType(tensor.String, yShape), ops.TensorType(tensor.Int64, xs)}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[string](in[0])
		if err != nil {
			return err
		}
		parts := make([][]string, len(x))
		width := 0
		for i, s := range x {
			if delim == "" {
				parts[i] = extraSplitSpace(s, maxsplit)
			} else if maxsplit < 0 {
				parts[i] = strings.Split(s, delim)
			} else {
				parts[i] = strings.SplitN(s, delim, int(min(maxsplit, 1<<40))+1)
			}
			width = max(width, len(parts[i]))
		}
		// The padded output holds len(x)*width strings; each is at most as
		// long as its input, so headers dominate the size.
		if err := extraCheckBytes(env, "StringSplit", 16, len(x), width); err != nil {
			return err
		}
		y, err := nnOut[string](env, out, 0, append(xs.Clone(), width))
		if err != nil {
			return err
		}
		for i, p := range parts {
			row := y[i*width : (i+1)*width]
			copy(row, p)
			clear(row[len(p):])
		}
		if len(out) > 1 {
			z, err := nnOut[int64](env, out, 1, xs)
			if err != nil {
				return err
			}
			for i, p := range parts {
				z[i] = int64(len(p))
			}
		}
		return nil
	}
	return &ops.Plan{Outputs: outs[:n.NumOutputs], Kernel: k}, nil
}

// extraIsSpace is Python's str.isspace for one rune: Unicode white space
// plus the information separators U+001C..U+001F.
func extraIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// extraSplitSpace is Python's str.split() with no separator: runs of white
// space separate, leading and trailing white space is dropped, and after
// maxsplit splits (maxsplit >= 0) the rest, less its leading white space,
// is the last part.
func extraSplitSpace(s string, maxsplit int64) []string {
	var parts []string
	i := 0
	skip := func() {
		for i < len(s) {
			r, sz := utf8.DecodeRuneInString(s[i:])
			if !extraIsSpace(r) {
				return
			}
			i += sz
		}
	}
	for maxsplit < 0 || int64(len(parts)) < maxsplit {
		skip()
		if i == len(s) {
			return parts
		}
		j := i
		for i < len(s) {
			r, sz := utf8.DecodeRuneInString(s[i:])
			if extraIsSpace(r) {
				break
			}
			i += sz
		}
		parts = append(parts, s[j:i])
	}
	skip()
	if i < len(s) {
		parts = append(parts, s[i:])
	}
	return parts
}
