package standard_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/gocann/gocann/conformance"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/tensor"
)

// The control-flow test cases of the ONNX suite run bodies made of
// operators from other families (Identity, Constant, Slice, ...). Where the
// standard registry lacks one, these minimal doubles stand in, so that the
// control operators can be checked on their own; once the real operators
// are registered the doubles are not used.

func controlDoubles() []*ops.Op {
	eval := func(out ops.Type, f func(in []ops.Value) (ops.Value, error)) *ops.Plan {
		return &ops.Plan{Outputs: []ops.Type{out}, Eval: func(_ context.Context, _ *ops.Env, in []ops.Value) ([]ops.Value, error) {
			v, err := f(in)
			if err != nil {
				return nil, err
			}
			return []ops.Value{v}, nil
		}}
	}
	unknown := ops.Type{Kind: ops.KindTensor, UnknownRank: true}
	ints := func(v ops.Value) []int64 {
		t := v.(*tensor.Tensor)
		if t.DType() == tensor.Int32 {
			s, _ := tensor.ToSlice[int32](t)
			out := make([]int64, len(s))
			for i, x := range s {
				out[i] = int64(x)
			}
			return out
		}
		s, _ := tensor.ToSlice[int64](t)
		return s
	}
	return []*ops.Op{
		{Name: "Identity", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1, Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return eval(n.Inputs[0], func(in []ops.Value) (ops.Value, error) { return in[0], nil }), nil
		}},
		{Name: "Constant", Since: 1, MinInputs: 0, MaxInputs: 0, MinOutputs: 1, MaxOutputs: 1, Prepare: func(n *ops.Node) (*ops.Plan, error) {
			t := n.Attrs.Tensor("value")
			return eval(ops.TypeOf(t), func([]ops.Value) (ops.Value, error) { return t, nil }), nil
		}},
		{Name: "Not", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1, Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return eval(unknown, func(in []ops.Value) (ops.Value, error) {
				b, _ := tensor.ToSlice[bool](in[0].(*tensor.Tensor))
				for i := range b {
					b[i] = !b[i]
				}
				return tensor.FromSlice(b, in[0].(*tensor.Tensor).Shape()...)
			}), nil
		}},
		{Name: "Shape", Since: 1, MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 1, Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return eval(unknown, func(in []ops.Value) (ops.Value, error) {
				s := in[0].(*tensor.Tensor).Shape()
				d := make([]int64, len(s))
				for i, x := range s {
					d[i] = int64(x)
				}
				return tensor.FromSlice(d, len(d))
			}), nil
		}},
		{Name: "Unsqueeze", Since: 1, MinInputs: 1, MaxInputs: 2, MinOutputs: 1, MaxOutputs: 1, Prepare: func(n *ops.Node) (*ops.Plan, error) {
			attrAxes := n.Attrs.Ints("axes", nil)
			return eval(unknown, func(in []ops.Value) (ops.Value, error) {
				axes := attrAxes
				if len(in) > 1 {
					axes = ints(in[1])
				}
				x := in[0].(*tensor.Tensor)
				s := x.Shape()
				for _, a := range axes { // non-negative, ascending in these tests
					s = append(s[:a:a], append(tensor.Shape{1}, s[a:]...)...)
				}
				return x.Reshape(s)
			}), nil
		}},
		{Name: "Slice", Since: 10, MinInputs: 3, MaxInputs: 3, MinOutputs: 1, MaxOutputs: 1, Prepare: func(n *ops.Node) (*ops.Plan, error) {
			return eval(unknown, func(in []ops.Value) (ops.Value, error) { // 1-D float32 only
				x, _ := tensor.ToSlice[float32](in[0].(*tensor.Tensor))
				lo, hi := ints(in[1])[0], ints(in[2])[0]
				hi = min(hi, int64(len(x)))
				return tensor.FromSlice(append([]float32(nil), x[lo:hi]...), int(hi-lo))
			}), nil
		}},
	}
}

// controlRegistry is the standard registry plus the doubles it lacks.
func controlRegistry(t *testing.T) *ops.Registry {
	t.Helper()
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range controlDoubles() {
		if _, err := reg.Lookup("", op.Name, 21); err == nil {
			continue
		}
		if err := reg.Register(op); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// TestControlBackendCases runs this family's ONNX backend cases.
func TestControlBackendCases(t *testing.T) {
	root := "/usr/share/libonnx-testdata/data"
	if d := os.Getenv("GOCANN_ONNX_TESTDATA"); d != "" {
		root = d
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("ONNX test data missing at %s", root)
	}
	cases, err := conformance.Cases(root, "node", "simple")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^(node/test_(if|loop|scan|sequence|split_to_sequence|concat_from_sequence|optional|identity_sequence|identity_opt)|simple/test_sequence_model)`)
	reg := controlRegistry(t)
	ran := 0
	for _, c := range cases {
		if !re.MatchString(c.Name) {
			continue
		}
		ran++
		t.Run(filepath.Base(c.Name), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Run(ctx, conformance.Default, model.WithOps(reg), model.WithThreads(1)); err != nil {
				t.Error(err)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no cases matched")
	}
}
