package comm

import (
	"fmt"
	"strings"

	"github.com/gocann/gocann/runtime"
)

// ReduceOp is how AllReduce, Reduce and ReduceScatter combine the ranks'
// values, element by element.
type ReduceOp uint8

// The reductions. Avg is Sum divided by the world size (truncating for
// integers). On booleans Sum and Max are logical or, Prod and Min logical
// and; complex numbers have no order, so no Min or Max.
const (
	Sum ReduceOp = iota + 1
	Prod
	Min
	Max
	Avg
)

var reduceOpNames = [...]string{Sum: "sum", Prod: "prod", Min: "min", Max: "max", Avg: "avg"}

func (o ReduceOp) String() string {
	if o.valid() {
		return reduceOpNames[o]
	}
	return fmt.Sprintf("ReduceOp(%d)", uint8(o))
}

func (o ReduceOp) valid() bool { return o >= Sum && o <= Avg }

// ParseReduceOp reads "sum", "prod", "min", "max" or "avg" (any case).
func ParseReduceOp(s string) (ReduceOp, error) {
	for o := Sum; o <= Avg; o++ {
		if strings.EqualFold(s, reduceOpNames[o]) {
			return o, nil
		}
	}
	return 0, fmt.Errorf("comm: unknown reduction %q (want sum, prod, min, max or avg): %w", s, runtime.ErrInvalidArgument)
}
