package standard

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// Every plan of the standard set that declares InPlace inputs must compute
// the same bits when its output is given exactly the memory of one of
// them. The test tries every registered operator version on float inputs
// of a few shapes (same shape, broadcast; short, and long enough to be
// split across workers), so operators flagged later are covered too.
func TestInPlaceKernels(t *testing.T) {
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	w := cpu.NewWorkers(2)
	defer w.Close()
	env := &ops.Env{Workers: w}
	r := rand.New(rand.NewPCG(1, 2))
	tested := map[string]bool{}
	for _, op := range reg.Ops() {
		for nin := max(op.MinInputs, 1); nin <= 3 && (op.MaxInputs < 0 || nin <= op.MaxInputs); nin++ {
			for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16} {
				for _, shapes := range [][]tensor.Shape{
					{{4, 33}, {4, 33}, {4, 33}},
					{{4, 33}, {33}, {1, 33}},
					{{1}, {4, 33}, {1}}, // Clip's scalar bounds; input 1 broadcasts input 0
					{{4, 5000}, {4, 5000}, {4, 5000}},
				} {
					in := make([]*tensor.Tensor, nin)
					types := make([]ops.Type, nin)
					for i := range in {
						in[i] = randomFloats(r, dt, shapes[i])
						types[i] = ops.TypeOf(in[i])
						types[i].Value = nil
					}
					n := &ops.Node{OpType: op.Name, Domain: op.Domain, Opset: op.Since, Inputs: types, NumOutputs: 1}
					plan, err := ops.PrepareOp(op, n)
					if err != nil || plan.Kernel == nil || len(plan.InPlace) == 0 {
						continue
					}
					name := fmt.Sprintf("%s-%d/%d inputs/%s%v", op.Name, op.Since, nin, dt, shapes[0])
					if !plan.Overwrites {
						t.Errorf("%s: InPlace without Overwrites", name)
					}
					ref, err := runOnce(env, plan, in, -1)
					if err != nil {
						continue // inputs outside the operator's domain
					}
					for _, j := range plan.InPlace {
						o := plan.Outputs[0]
						if j >= nin || in[j].DType() != o.DType || !in[j].Shape().Equal(o.Shape) {
							t.Errorf("%s: InPlace names input %d (%s%v), output is %s", name, j, in[j].DType(), in[j].Shape(), o)
							continue
						}
						got, err := runOnce(env, plan, in, j)
						if err != nil {
							t.Errorf("%s in place over input %d: %v", name, j, err)
							continue
						}
						if !bytes.Equal(got, ref) {
							t.Errorf("%s in place over input %d: results differ", name, j)
						}
						tested[op.Name] = true
					}
				}
			}
		}
	}
	for _, want := range []string{"Relu", "Sigmoid", "Tanh", "Exp", "Add", "Sub", "Mul", "Div", "Sum", "Max", "Clip", "Neg"} {
		if !tested[want] {
			t.Errorf("%s: not tested in place (not flagged?)", want)
		}
	}
}

// runOnce runs a kernel on copies of the inputs, with output 0 in fresh
// memory (over < 0) or over input over, and returns output 0's bytes.
func runOnce(env *ops.Env, plan *ops.Plan, in []*tensor.Tensor, over int) ([]byte, error) {
	cp := make([]*tensor.Tensor, len(in))
	for i, x := range in {
		c, err := tensor.New(x.DType(), x.Shape())
		if err != nil {
			return nil, err
		}
		src, _ := x.HostBytes()
		dst, _ := c.HostBytes()
		copy(dst, src)
		cp[i] = c
	}
	out := make([]*tensor.Tensor, 1)
	if over >= 0 {
		out[0] = cp[over]
	} else {
		t, err := tensor.New(plan.Outputs[0].DType, plan.Outputs[0].Shape)
		if err != nil {
			return nil, err
		}
		out[0] = t
	}
	if err := plan.Kernel(env, cp, out); err != nil {
		return nil, err
	}
	b, _ := out[0].HostBytes()
	return b, nil
}

func randomFloats(r *rand.Rand, dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	v := make([]float32, shape.NumElements())
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	t, _ := tensor.FromSlice(v, shape...)
	if dt == tensor.Float32 {
		return t
	}
	out, _ := tensor.New(dt, shape)
	switch dt {
	case tensor.Float64:
		d, _ := tensor.View[float64](out)
		for i, x := range v {
			d[i] = float64(x)
		}
	case tensor.Float16:
		d, _ := tensor.View[tensor.F16](out)
		for i, x := range v {
			d[i] = tensor.Float16FromFloat32(x)
		}
	}
	return out
}
