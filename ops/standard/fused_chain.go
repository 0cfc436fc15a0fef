package standard

import (
	"math"
	"slices"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// ElementwiseChain (com.gocann, 1): Y = f_n(… f_2(f_1(X)) …) on float32,
// each step one element-wise operator applied to the running value, which
// keeps X's shape. Attributes, one entry per step:
//
//   - ops: the operator: Add, Sub, Mul, Div (binary); Relu, Sigmoid, Tanh,
//     Exp, Erf, Sqrt, Neg, Abs (unary);
//   - operands: for a binary step, the input holding its other operand (0
//     is X itself, as in x·sigmoid(x)); -1 for a unary step;
//   - swap: 1 where the running value is the binary operator's right
//     operand (c - x, c / x), else 0.
//
// Every operand input has X's shape or a single element. The chain runs
// over blocks of elements small enough to stay in L1, so the
// intermediate values never reach memory: one pass where the unfused graph
// makes one per operator. Arithmetic, Relu, Neg, Abs and Sqrt round as the standard
// operators do; Sigmoid, Tanh, Exp and Erf are the kernels' float32 functions
// (within their documented bounds, a few ulp).

// chainBlock is the block of elements each step runs over (16 KiB).
const chainBlock = 4096

type chainStep struct {
	unary   func(dst, src []float32) // nil for binary steps
	bin     kernels.BinaryOp
	operand int // input index; -1 for unary steps
	swap    bool
}

var chainUnary = map[string]func(dst, src []float32){
	"Relu": kernels.ReluF32, "Sigmoid": kernels.SigmoidSlice, "Tanh": kernels.TanhSlice, "Exp": kernels.ExpSlice,
	"Erf": kernels.ErfSlice, "Sqrt": kernels.SqrtF32, "Neg": chainNeg, "Abs": chainAbs,
}

var chainBinary = map[string]kernels.BinaryOp{"Add": kernels.Add, "Sub": kernels.Sub, "Mul": kernels.Mul, "Div": kernels.Div}

func prepareElementwiseChain(n *ops.Node) (*ops.Plan, error) {
	f32 := []tensor.DType{tensor.Float32}
	for i := range n.Inputs {
		if err := checkType(n, i, f32); err != nil {
			return nil, err
		}
	}
	at := n.Attrs
	names := at.Strings("ops", nil)
	operands := at.Ints("operands", nil)
	swaps := at.Ints("swap", nil)
	if err := at.Err(); err != nil {
		return nil, err
	}
	if len(names) == 0 || len(operands) != len(names) || len(swaps) != len(names) {
		return nil, n.Errorf("ops, operands and swap must have one entry per step, got %d, %d and %d", len(names), len(operands), len(swaps))
	}
	x := n.Inputs[0]
	steps := make([]chainStep, len(names))
	for i, name := range names {
		st := chainStep{unary: chainUnary[name], operand: int(operands[i]), swap: swaps[i] == 1}
		if swaps[i] != 0 && swaps[i] != 1 {
			return nil, n.Errorf("step %d: swap must be 0 or 1, got %d", i, swaps[i])
		}
		if bin, ok := chainBinary[name]; ok {
			st.bin = bin
			if st.operand < 0 || st.operand >= len(n.Inputs) {
				return nil, n.Errorf("step %d (%s): operand %d is not an input", i, name, st.operand)
			}
			o := n.Inputs[st.operand]
			one := !o.UnknownRank && o.Static() && o.Shape.NumElements() == 1
			same := !o.UnknownRank && !x.UnknownRank && o.Shape.Equal(x.Shape) && x.Static()
			if !one && !same {
				return nil, n.Errorf("step %d (%s): operand %s must have the shape of X %s or one element", i, name, o, x)
			}
		} else if st.unary == nil {
			return nil, n.Errorf("step %d: unknown operator %q", i, name)
		} else if st.operand != -1 || st.swap {
			return nil, n.Errorf("step %d (%s): a unary step takes no operand", i, name)
		}
		steps[i] = st
	}
	plan := &ops.Plan{Outputs: []ops.Type{x}, Kernel: chainKernel(steps, x.Shape), Overwrites: true}
	// Y may take over X's memory unless a later step reads X again: each
	// block reads X's elements before writing the same positions.
	if !slices.ContainsFunc(steps, func(st chainStep) bool { return st.operand == 0 }) {
		plan.InPlace = sameShapeInputs(n, x.Shape, 0)
	}
	return plan, nil
}

func chainKernel(steps []chainStep, shape tensor.Shape) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		x, err := tensor.View[float32](in[0])
		if err != nil {
			return err
		}
		operands := make([][]float32, len(in))
		for i := range in {
			if operands[i], err = tensor.View[float32](in[i]); err != nil {
				return err
			}
		}
		y, err := nnOut[float32](env, out, 0, shape)
		if err != nil {
			return err
		}
		blocks := (len(y) + chainBlock - 1) / chainBlock
		env.ParallelFor(blocks, 1, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				s, e := b*chainBlock, min((b+1)*chainBlock, len(y))
				src := x[s:e]
				for _, st := range steps {
					var operand []float32
					if st.operand >= 0 {
						operand = operands[st.operand]
					}
					chainApply(st, y[s:e], src, operand, s, e)
					src = y[s:e]
				}
			}
		})
		return nil
	}
}

// chainApply runs one step over elements [s, e): dst = st(src), the
// operand (when binary) of X's shape or one element.
func chainApply(st chainStep, dst, src, operand []float32, s, e int) {
	if st.unary == nil {
		switch {
		case len(operand) == 1 && st.swap:
			kernels.ScalarBinaryF32(st.bin, dst, operand[0], src)
		case len(operand) == 1:
			kernels.BinaryScalarF32(st.bin, dst, src, operand[0])
		case st.swap:
			kernels.BinaryF32(st.bin, dst, operand[s:e], src)
		default:
			kernels.BinaryF32(st.bin, dst, src, operand[s:e])
		}
		return
	}
	st.unary(dst, src)
}

func chainNeg(dst, src []float32) {
	for i, v := range src {
		dst[i] = -v
	}
}

// chainAbs clears the sign bit: no branch to mispredict on random signs.
func chainAbs(dst, src []float32) {
	for i, v := range src {
		dst[i] = math.Float32frombits(math.Float32bits(v) &^ (1 << 31))
	}
}
