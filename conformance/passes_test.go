package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

// TestSharedModelsOptLevels runs the shared models at every optimization
// level, and at the highest with their inputs' shapes fixed (which lets
// the shape arithmetic of bert_mini and gpt_mini fold), against the
// PyTorch outputs. TestSharedModels covers the default level. -short runs
// only the fixed-shape configuration, the one that rewrites the most.
func TestSharedModelsOptLevels(t *testing.T) {
	root := sharedModels()
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared models missing at %s", root)
	}
	type config struct {
		level  int
		shapes bool
	}
	configs := []config{{0, false}, {1, false}, {2, false}, {3, false}, {3, true}}
	if testing.Short() {
		configs = []config{{3, true}}
	}
	for _, name := range modelNames {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			set := filepath.Join(dir, "test_data_set_0")
			var counts []string
			for _, cf := range configs {
				opts := []model.Option{model.WithOptLevel(cf.level)}
				label := fmt.Sprintf("level %d", cf.level)
				if cf.shapes {
					shapes, err := inputShapes(filepath.Join(dir, "model.onnx"), set)
					if err != nil {
						t.Fatal(err)
					}
					opts = append(opts, model.WithShapes(shapes))
					label += "+shapes"
				}
				m, err := model.Load(filepath.Join(dir, "model.onnx"), opts...)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				err = runSet(ctx, m, set, modelTolerance, false)
				cancel()
				rep := m.Report()
				m.Close()
				if err != nil {
					t.Fatalf("%s: %v\n%s", label, err, rep)
				}
				counts = append(counts, fmt.Sprintf("%s %d→%d", label, rep.NodesBefore, rep.NodesAfter))
			}
			t.Logf("nodes: %s", strings.Join(counts, ", "))
		})
	}
}

// inputShapes reads the shapes of a test data set's inputs, by input name.
func inputShapes(modelPath, set string) (map[string][]int64, error) {
	g, err := onnx.LoadModel(modelPath)
	if err != nil {
		return nil, err
	}
	shapes := map[string][]int64{}
	k := 0
	for _, in := range g.Graph.Inputs {
		if _, isConst := g.Graph.Initializers[in.Name]; isConst {
			continue
		}
		_, t, err := onnx.ReadTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
		if err != nil {
			return nil, err
		}
		k++
		dims := make([]int64, t.Rank())
		for i, d := range t.Shape() {
			dims[i] = int64(d)
		}
		shapes[in.Name] = dims
	}
	return shapes, nil
}

// TestInferredShapes holds shape inference to "unknown stays unknown, never
// wrong": every backend case and shared model is optimized at level 1,
// every value of the main graph with an inferred type is made an output,
// and the types of the values a run produces (the graph's own outputs
// included) are checked against it.
func TestInferredShapes(t *testing.T) {
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	if root := testdataRoot(); dirExists(root) {
		if cases, err = Cases(root, suites...); err != nil {
			t.Fatal(err)
		}
	}
	if root := sharedModels(); dirExists(root) && !testing.Short() {
		for _, name := range modelNames {
			cases = append(cases, Case{Name: "shared/" + name, Dir: filepath.Join(root, name)})
		}
	}
	if len(cases) == 0 {
		t.Skip("no test data")
	}
	for _, symbolic := range []bool{false, true} {
		checked, values, known := 0, 0, 0
		for _, c := range cases {
			n, k, err := checkInferred(c, reg, symbolic)
			if err != nil {
				t.Errorf("%s (symbolic inputs %v): %v", c.Name, symbolic, err)
			}
			if n > 0 {
				checked++
			}
			values += n
			known += k
		}
		t.Logf("symbolic inputs %v: %d cases, %d values checked, %d with fully known shapes", symbolic, checked, values, known)
	}
}

func dirExists(d string) bool {
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}

// checkInferred runs one case with its inferred values as outputs and
// compares; cases that do not load or run (expected failures) are skipped.
// With symbolic, every dimension of the inputs is declared unknown first,
// which exercises what each operator's Prepare does with unknown dims.
func checkInferred(c Case, reg *ops.Registry, symbolic bool) (values, known int, err error) {
	m, err := onnx.LoadModel(filepath.Join(c.Dir, "model.onnx"))
	if err != nil {
		return 0, 0, nil
	}
	if symbolic {
		for _, in := range m.Graph.Inputs {
			if _, isConst := m.Graph.Initializers[in.Name]; isConst || in.Type.UnknownRank {
				continue
			}
			in.Type.Shape = in.Type.Shape.Clone()
			for i := range in.Type.Shape {
				in.Type.Shape[i] = -1
			}
		}
	}
	if _, err := passes.Optimize(m, passes.Options{Level: 1, Ops: reg}); err != nil {
		return 0, 0, fmt.Errorf("optimize: %w", err)
	}
	g := m.Graph
	isOutput := map[string]bool{}
	for _, o := range g.Outputs {
		isOutput[o.Name] = true
	}
	var names []string
	for name := range g.ValueInfo {
		if !isOutput[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: name, Type: ops.Type{Kind: g.ValueInfo[name].Type.Kind, UnknownRank: true}})
	}
	exe, err := engine.Compile(m, engine.Options{Ops: reg})
	if err != nil {
		return 0, 0, nil
	}
	feeds := map[string]ops.Value{}
	set := filepath.Join(c.Dir, "test_data_set_0")
	for i, in := range exe.Inputs() {
		_, v, err := onnx.ReadNamedValueFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)), in.Type)
		if err != nil {
			break
		}
		feeds[in.Name] = bfloat16Bits(v, in.Type)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	outs, err := exe.Run(ctx, feeds)
	if err != nil {
		return 0, 0, nil
	}
	for i, o := range g.Outputs {
		vi, ok := g.ValueInfo[o.Name]
		if !ok {
			continue
		}
		name, want := o.Name, vi.Type
		got, err := ops.TypeOfValue(outs[i])
		if err != nil || outs[i] == nil {
			continue
		}
		values++
		if err := fits(got, want); err != nil {
			return values, known, fmt.Errorf("value %q: inferred %s, ran as %s: %v", name, want, got, err)
		}
		if want.Kind == ops.KindTensor && want.Static() {
			known++
		}
	}
	return values, known, nil
}

// fits reports how a run-time type contradicts an inferred one.
func fits(got, want ops.Type) error {
	if got.Kind != want.Kind {
		return fmt.Errorf("kind")
	}
	if want.DType != tensor.Undefined && got.DType != want.DType {
		return fmt.Errorf("element type")
	}
	if got.Kind != ops.KindTensor || want.UnknownRank {
		return nil
	}
	if len(got.Shape) != len(want.Shape) {
		return fmt.Errorf("rank")
	}
	for i, d := range want.Shape {
		if d >= 0 && got.Shape[i] != d {
			return fmt.Errorf("dimension %d", i)
		}
	}
	return nil
}
