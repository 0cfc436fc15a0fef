package standard

import (
	"math"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
)

// The activation attribute of the fused operators (FusedConv, FusedMatMul,
// FusedGemm): activation is "" (none), Relu, Clip, LeakyRelu, Sigmoid, Tanh,
// HardSigmoid, HardSwish, SiLU (x·sigmoid x), Gelu (erf) or GeluTanh, and
// activation_params their parameters: Clip [min, max] (default the whole
// float range), LeakyRelu [alpha] (default 0.01), HardSigmoid [alpha, beta]
// (default 0.2, 0.5); none for the others.

// fusedActivation reads the activation attributes of n.
func fusedActivation(n *ops.Node) (kernels.Activation, error) {
	at := n.Attrs
	name := at.String("activation", "")
	params := at.Floats("activation_params", nil)
	if err := at.Err(); err != nil {
		return kernels.Activation{}, err
	}
	kind, ok := kernels.ActKindNamed(name)
	if !ok {
		return kernels.Activation{}, n.Errorf("unknown activation %q", name)
	}
	act := kernels.Activation{Kind: kind}
	want, defaults := 0, []float32(nil)
	switch kind {
	case kernels.ActClip:
		want, defaults = 2, []float32{-math.MaxFloat32, math.MaxFloat32}
	case kernels.ActLeakyReLU:
		want, defaults = 1, []float32{0.01}
	case kernels.ActHardSigmoid:
		want, defaults = 2, []float32{0.2, 0.5}
	}
	if params == nil {
		params = defaults
	}
	if len(params) != want {
		return act, n.Errorf("activation %q takes %d activation_params, got %d", name, want, len(params))
	}
	for _, p := range params {
		if p != p {
			return act, n.Errorf("activation_params %v: NaN", params)
		}
	}
	if want > 0 {
		act.A = params[0]
	}
	if want > 1 {
		act.B = params[1]
	}
	return act, nil
}
