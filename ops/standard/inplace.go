package standard

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// inPlace0 is Plan.InPlace for elementwise kernels whose output may take
// over input 0's memory. Plans share it; nobody modifies it.
var inPlace0 = []int{0}

// sameShapeInputs returns, among the candidate inputs, those of the output's
// (static) shape: the inputs an elementwise kernel reads at the very
// position it writes, whose memory the output may therefore take over.
// Broadcast inputs are read at other positions and never qualify.
func sameShapeInputs(n *ops.Node, out tensor.Shape, candidates ...int) []int {
	if !ewStatic(out) {
		return nil
	}
	var ok []int
	for _, i := range candidates {
		in := n.Input(i)
		if in.Present() && !in.UnknownRank && in.Shape.Equal(out) {
			ok = append(ok, i)
		}
	}
	return ok
}
