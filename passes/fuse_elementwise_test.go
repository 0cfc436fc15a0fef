package passes_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/passes"
)

func TestElementwiseFusion(t *testing.T) {
	note := func(want string) func(t *testing.T, m *graph.Model, rep *passes.Report) {
		return func(t *testing.T, m *graph.Model, rep *passes.Report) {
			if !strings.Contains(rep.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, rep)
			}
		}
	}
	r := func() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
	runPassCases(t, []passCase{
		{name: "unary and scalar steps on symbolic shapes", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 7)
			y := b.op("Mul", "m", nil, x, b.init("k", f32(t, []float32{1.5}, 1)))
			y = b.op("Sub", "s", nil, b.init("one", f32(t, []float32{1}, 1, 1)), y)
			y = b.op("Tanh", "t", nil, y)
			y = b.op("Abs", "a", nil, y)
			y = b.op("Sqrt", "q", nil, y)
			b.output(b.op("Neg", "y", nil, y))
		}, wantOps: []string{"ElementwiseChain"}, check: note("ElementwiseChain ← Mul→Sub→Tanh→Abs→Sqrt→Neg")},
		{name: "operands of the same static shape, X reused (x·sigmoid(x)+z)", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", 3, 5000)
			s := b.op("Sigmoid", "s", nil, x)
			m := b.op("Mul", "m", nil, x, s)
			d := b.op("Div", "d", nil, m, b.input("z", 3, 5000))
			e := b.op("Exp", "e", nil, b.op("Erf", "f", nil, d))
			b.output(b.op("Add", "y", nil, e, b.init("w", randF32(t, r(), 3, 5000))))
		}, wantOps: []string{"ElementwiseChain"}},
		{name: "broadcasting operand ends the chain", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", 4, 6)
			y := b.op("Relu", "r", nil, b.op("Exp", "e", nil, x))
			b.output(b.op("Add", "y", nil, y, b.init("bias", randF32(t, r(), 6))))
		}, wantOps: []string{"ElementwiseChain", "Add"}},
		{name: "a value read twice ends the chain", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", 4, 6)
			e := b.op("Exp", "e", nil, x)
			y := b.op("Neg", "n", nil, b.op("Relu", "r", nil, e))
			b.output(y, b.op("Abs", "z", nil, e))
		}, wantOps: []string{"Exp", "Abs", "ElementwiseChain"}},
		{name: "a one-element operand of higher rank stays", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", 4, 6)
			b.output(b.op("Add", "y", nil, b.op("Exp", "e", nil, x), b.init("k", f32(t, []float32{2}, 1, 1, 1))))
		}, wantOps: []string{"Exp", "Add"}},
		{name: "level 1 leaves chains alone", build: func(t testing.TB, b *builder) {
			b.output(b.op("Neg", "y", nil, b.op("Exp", "e", nil, b.input("x", 4, 6))))
		}, wantOps: []string{"Exp", "Neg"}},
	})
}

func TestSoftmaxFusion(t *testing.T) {
	axes := func(t testing.TB, b *builder) string {
		return b.init("axes", i64(t, []int64{-1}, 1))
	}
	runPassCases(t, []passCase{
		{name: "guarded by the row maximum", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", -1, 4, 9)
			mx := b.op("ReduceMax", "mx", nil, x, axes(t, b))
			e := b.op("Exp", "e", nil, b.op("Sub", "d", nil, x, mx))
			b.output(b.op("Div", "y", nil, e, b.op("ReduceSum", "s", nil, e, axes(t, b))))
		}, wantOps: []string{"Softmax"}},
		{name: "unguarded", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", 3, 9)
			e := b.op("Exp", "e", nil, x)
			b.output(b.op("Div", "y", nil, e, b.op("ReduceSum", "s", nil, e, b.init("axes", i64(t, []int64{1}, 1)))))
		}, wantOps: []string{"Softmax"}},
		{name: "sum over another axis stays", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", 3, 9)
			e := b.op("Exp", "e", nil, x)
			b.output(b.op("Div", "y", nil, e, b.op("ReduceSum", "s", nil, e, b.init("axes", i64(t, []int64{0}, 1)))))
		}, wantOps: []string{"Exp", "ReduceSum", "Div"}},
		{name: "exponentials read elsewhere stay", level: 2, build: func(t testing.TB, b *builder) {
			x := b.input("x", 3, 9)
			e := b.op("Exp", "e", nil, x)
			b.output(b.op("Div", "y", nil, e, b.op("ReduceSum", "s", nil, e, axes(t, b))), e)
		}, wantOps: []string{"Exp", "ReduceSum", "Div"}},
	})
}
