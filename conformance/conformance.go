// Package conformance checks GoCANN against references nobody here wrote:
// the ONNX backend test cases (Debian's libonnx-testdata) and the reference
// models beside the repository. Its tests compare every output; this file
// holds the runner and the comparison they share.
package conformance

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Tolerance bounds float differences: |got-want| <= Atol + Rtol*|want|.
type Tolerance struct{ Rtol, Atol float64 }

// Default is the project's standard tolerance for the backend test data.
var Default = Tolerance{Rtol: 1e-3, Atol: 1e-5}

// Case is one test case directory: model.onnx and test_data_set_N folders.
type Case struct {
	Name string // e.g. "node/test_abs"
	Dir  string
	// Model is the model file to load; "" means Dir/model.onnx. A
	// compiled copy of it, for one.
	Model string
}

// Cases lists the cases under root/{suites...}, sorted by name.
func Cases(root string, suites ...string) ([]Case, error) {
	var cases []Case
	for _, s := range suites {
		entries, err := os.ReadDir(filepath.Join(root, s))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			dir := filepath.Join(root, s, e.Name())
			if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err == nil {
				cases = append(cases, Case{Name: s + "/" + e.Name(), Dir: dir})
			}
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// Run loads the case's model, runs every test data set and compares the
// outputs. The error says what went wrong first.
func (c Case) Run(ctx context.Context, tol Tolerance, opts ...model.Option) error {
	path := c.Model
	if path == "" {
		path = filepath.Join(c.Dir, "model.onnx")
	}
	m, err := model.Load(path, opts...)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer m.Close()
	sets, _ := filepath.Glob(filepath.Join(c.Dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test data sets")
	}
	sort.Strings(sets)
	g, err := onnx.LoadModel(filepath.Join(c.Dir, "model.onnx"))
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	random := usesRandom(g.Graph)
	for _, set := range sets {
		if err := runSet(ctx, m, set, tol, random); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(set), err)
		}
	}
	return nil
}

func runSet(ctx context.Context, m *model.Model, set string, tol Tolerance, random bool) error {
	ins, outInfo := m.Inputs(), m.Outputs()
	feeds := map[string]ops.Value{}
	for i := 0; ; i++ {
		path := filepath.Join(set, fmt.Sprintf("input_%d.pb", i))
		if _, err := os.Stat(path); err != nil {
			break
		}
		if i >= len(ins) {
			return fmt.Errorf("more input files than model inputs (%d)", len(ins))
		}
		// The file's message (tensor, sequence, optional) follows the
		// type the model declares for the input, as in ONNX's runner.
		name, v, err := onnx.ReadNamedValueFile(path, ins[i].Type)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if name == "" {
			name = ins[i].Name
		}
		feeds[name] = bfloat16Bits(v, ins[i].Type)
	}
	outs, err := m.RunValues(ctx, feeds)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	for i := range outs {
		path := filepath.Join(set, fmt.Sprintf("output_%d.pb", i))
		want, err := onnx.ReadValueFile(path, outInfo[i].Type)
		if err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		want = bfloat16Bits(want, outInfo[i].Type)
		if random {
			err = compareRandom(outs[i], want)
		} else {
			err = CompareValues(outs[i], want, tol)
		}
		if err != nil {
			return fmt.Errorf("output %d (%s): %w", i, outInfo[i].Name, err)
		}
	}
	return nil
}

// CompareValues compares run-time values: tensors with Compare, sequences
// element by element, optionals by presence and then by what they hold.
func CompareValues(got, want ops.Value, tol Tolerance) error {
	switch w := want.(type) {
	case *tensor.Tensor:
		g, ok := got.(*tensor.Tensor)
		if !ok || g == nil {
			return fmt.Errorf("got %s, want a tensor", describe(got))
		}
		return Compare(g, w, tol)
	case *ops.Sequence:
		g, ok := got.(*ops.Sequence)
		if !ok || g == nil {
			return fmt.Errorf("got %s, want a sequence", describe(got))
		}
		if len(g.Tensors) != len(w.Tensors) {
			return fmt.Errorf("sequence of %d tensors, want %d", len(g.Tensors), len(w.Tensors))
		}
		if len(w.Tensors) == 0 && g.DType != w.DType && w.DType != tensor.Undefined {
			return fmt.Errorf("empty sequence of %s, want %s", g.DType, w.DType)
		}
		for i := range w.Tensors {
			if err := Compare(g.Tensors[i], w.Tensors[i], tol); err != nil {
				return fmt.Errorf("sequence element %d: %w", i, err)
			}
		}
		return nil
	case *ops.Optional:
		g, ok := got.(*ops.Optional)
		if !ok || g == nil {
			return fmt.Errorf("got %s, want an optional", describe(got))
		}
		switch {
		case w.Value == nil && g.Value == nil:
			return nil
		case w.Value == nil:
			return fmt.Errorf("optional holds %s, want an empty one", describe(g.Value))
		case g.Value == nil:
			return fmt.Errorf("optional is empty, want one holding %s", describe(w.Value))
		}
		if err := CompareValues(g.Value, w.Value, tol); err != nil {
			return fmt.Errorf("optional value: %w", err)
		}
		return nil
	}
	return fmt.Errorf("cannot compare with %s", describe(want))
}

// describe names a value's kind for errors.
func describe(v ops.Value) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case *tensor.Tensor:
		if v == nil {
			return "nothing"
		}
		return fmt.Sprintf("a %s%v tensor", v.DType(), v.Shape())
	case *ops.Sequence:
		if v == nil {
			return "nothing"
		}
		return fmt.Sprintf("a sequence of %d %s tensors", len(v.Tensors), v.DType)
	case *ops.Optional:
		if v == nil {
			return "nothing"
		}
		return "an optional"
	}
	return fmt.Sprintf("a %T", v)
}

// Compare checks got against want: same dtype and shape, floats within
// tol (NaN matches NaN, infinities match exactly), everything else equal.
func Compare(got, want *tensor.Tensor, tol Tolerance) error {
	if got == nil {
		return fmt.Errorf("no output")
	}
	if got.DType() != want.DType() {
		return fmt.Errorf("dtype %s, want %s", got.DType(), want.DType())
	}
	if !got.Shape().Equal(want.Shape()) {
		return fmt.Errorf("shape %v, want %v", got.Shape(), want.Shape())
	}
	if dt := got.DType(); dt.IsInteger() || dt == tensor.Bool {
		gb, _ := got.HostBytes()
		wb, _ := want.HostBytes()
		size := dt.Size()
		for i := 0; i+size <= len(gb); i += size {
			if string(gb[i:i+size]) != string(wb[i:i+size]) {
				g, _ := asFloat64(got)
				w, _ := asFloat64(want)
				return fmt.Errorf("values differ; first at flat index %d: got %v, want %v", i/size, g[i/size], w[i/size])
			}
		}
		return nil
	}
	g, err := asFloat64(got)
	if err == nil {
		w, _ := asFloat64(want)
		bad, worst := 0, -1
		for i := range g {
			if !closeEnough(g[i], w[i], tol) {
				if bad == 0 {
					worst = i
				}
				bad++
			}
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d values differ; first at flat index %d: got %v, want %v", bad, len(g), worst, g[worst], w[worst])
		}
		return nil
	}
	if got.DType() == tensor.String {
		gs, _ := got.Strings()
		ws, _ := want.Strings()
		for i := range gs {
			if gs[i] != ws[i] {
				return fmt.Errorf("string %d is %q, want %q", i, gs[i], ws[i])
			}
		}
		return nil
	}
	return err
}

func closeEnough(g, w float64, tol Tolerance) bool {
	if math.IsNaN(w) || math.IsNaN(g) {
		return math.IsNaN(w) && math.IsNaN(g)
	}
	if math.IsInf(w, 0) || math.IsInf(g, 0) {
		return g == w
	}
	return math.Abs(g-w) <= tol.Atol+tol.Rtol*math.Abs(w)
}

// asFloat64 flattens a numeric tensor (complex as re, im pairs).
func asFloat64(t *tensor.Tensor) ([]float64, error) {
	conv := func(n int, at func(i int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	switch t.DType() {
	case tensor.Float32:
		v, _ := tensor.View[float32](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Float64:
		v, _ := tensor.View[float64](t)
		return conv(len(v), func(i int) float64 { return v[i] }), nil
	case tensor.Float16:
		v, _ := tensor.View[tensor.F16](t)
		return conv(len(v), func(i int) float64 { return float64(v[i].Float32()) }), nil
	case tensor.BFloat16:
		v, _ := tensor.View[tensor.BF16](t)
		return conv(len(v), func(i int) float64 { return float64(v[i].Float32()) }), nil
	case tensor.Int8:
		v, _ := tensor.View[int8](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Int16:
		v, _ := tensor.View[int16](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Int32:
		v, _ := tensor.View[int32](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Int64:
		v, _ := tensor.View[int64](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Uint8:
		v, _ := tensor.View[uint8](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Uint16:
		v, _ := tensor.View[uint16](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Uint32:
		v, _ := tensor.View[uint32](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Uint64:
		v, _ := tensor.View[uint64](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), nil
	case tensor.Bool:
		v, _ := tensor.View[bool](t)
		return conv(len(v), func(i int) float64 {
			if v[i] {
				return 1
			}
			return 0
		}), nil
	case tensor.Complex64:
		v, _ := tensor.View[complex64](t)
		return conv(2*len(v), func(i int) float64 {
			c := complex128(v[i/2])
			if i%2 == 0 {
				return real(c)
			}
			return imag(c)
		}), nil
	case tensor.Complex128:
		v, _ := tensor.View[complex128](t)
		return conv(2*len(v), func(i int) float64 {
			if i%2 == 0 {
				return real(v[i/2])
			}
			return imag(v[i/2])
		}), nil
	}
	return nil, fmt.Errorf("cannot compare %s values", t.DType())
}

// Summary formats an error for the expectations file: one line, bounded.
func Summary(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// bfloat16Bits reinterprets a uint16 tensor as bfloat16 when the model
// declares bfloat16: ONNX 1.12's test data stores bfloat16 values as their
// uint16 bit patterns (as its own runner expects).
func bfloat16Bits(v ops.Value, declared ops.Type) ops.Value {
	t, ok := v.(*tensor.Tensor)
	if !ok || t.DType() != tensor.Uint16 || declared.DType != tensor.BFloat16 {
		return v
	}
	raw, ok := t.HostBytes()
	if !ok {
		return v
	}
	bt, err := tensor.FromBytes(tensor.BFloat16, t.Shape(), raw)
	if err != nil {
		return v
	}
	return bt
}

// randomOps are operators whose outputs cannot match a recorded run.
var randomOps = map[string]bool{
	"Bernoulli": true, "RandomNormal": true, "RandomNormalLike": true,
	"RandomUniform": true, "RandomUniformLike": true, "Multinomial": true,
}

// usesRandom reports whether a graph or any of its subgraphs draws random numbers.
func usesRandom(g *graph.Graph) bool {
	for _, n := range g.Nodes {
		if randomOps[n.OpType] {
			return true
		}
		for _, sub := range n.Graphs {
			if usesRandom(sub) {
				return true
			}
		}
		for _, list := range n.GraphLists {
			for _, sub := range list {
				if usesRandom(sub) {
					return true
				}
			}
		}
	}
	return false
}

// compareRandom checks the outputs of random operators, which cannot match
// a recorded run: element type and shape exactly, and every value within the
// range the recorded values span, widened to [0, 1] (Bernoulli draws 0 or 1,
// uniform draws default to [0, 1)). The operators' distributions are tested
// statistically beside their kernels (ops/standard/reduce_test.go).
func compareRandom(got, want ops.Value) error {
	g, ok1 := got.(*tensor.Tensor)
	w, ok2 := want.(*tensor.Tensor)
	if !ok1 || !ok2 {
		return CompareValues(got, want, Default)
	}
	if g.DType() != w.DType() || !g.Shape().Equal(w.Shape()) {
		return fmt.Errorf("random output %s%v, want %s%v", g.DType(), g.Shape(), w.DType(), w.Shape())
	}
	gv, err := asFloat64(g)
	if err != nil {
		return err
	}
	wv, _ := asFloat64(w)
	lo, hi := 0.0, 1.0
	for _, v := range wv {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for i, v := range gv {
		if !(v >= lo && v <= hi) {
			return fmt.Errorf("random output value %d is %v, outside [%v, %v]", i, v, lo, hi)
		}
	}
	return nil
}
