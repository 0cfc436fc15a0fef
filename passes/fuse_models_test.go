package passes_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// sharedModelsDir is the reference models beside the repository
// (GOCANN_SHARED_MODELS overrides).
func sharedModelsDir() string {
	if d := os.Getenv("GOCANN_SHARED_MODELS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "models")
}

// TestFusionsOnSharedModels optimizes each shared model at level 2 (with
// its symbolic dimensions, as a model is loaded by default, and with the
// test input's shapes fixed), checks the outputs against PyTorch's
// (atol 1e-4, rtol 1e-3), the symbolic ones after a round trip through
// the ONNX writer and reader, and logs which fusions fired and how often.
func TestFusionsOnSharedModels(t *testing.T) {
	root := sharedModelsDir()
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared models missing at %s", root)
	}
	reg := registry(t)
	for _, name := range []string{"resnet18", "mobilenet_v2", "efficientnet_b0", "bert_mini", "gpt_mini"} {
		for _, fixed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fixed=%v", name, fixed), func(t *testing.T) {
				dir := filepath.Join(root, name)
				m, err := onnx.LoadModel(filepath.Join(dir, "model.onnx"))
				if err != nil {
					t.Fatal(err)
				}
				feeds := map[string]ops.Value{}
				shapes := map[string][]int64{}
				for i, in := range m.Graph.Inputs {
					_, x, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
					if err != nil {
						t.Fatal(err)
					}
					feeds[in.Name] = x
					for _, d := range x.Shape() {
						shapes[in.Name] = append(shapes[in.Name], int64(d))
					}
				}
				opts := passes.Options{Level: 2, Ops: reg}
				if fixed {
					opts.Shapes = shapes
				}
				rep, err := passes.Optimize(m, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("fusions: %s", fusionCounts(m.Graph.Nodes))
				for _, e := range rep.Entries {
					if e.Level == 2 {
						t.Logf("  %s: %s", e.Pass, strings.Join(e.Notes, "; "))
					}
				}
				if !fixed {
					// The optimized graph is still a model: it survives the
					// ONNX writer and reader, com.gocann nodes and all.
					data, err := onnx.EncodeModel(m)
					if err != nil {
						t.Fatal(err)
					}
					if m, err = onnx.DecodeModel(data); err != nil {
						t.Fatal(err)
					}
					if m.Opset(ops.DomainGoCANN) != 1 {
						t.Fatalf("opsets after the round trip: %v", m.Opsets)
					}
				}
				exe, err := engine.Compile(m, engine.Options{Ops: reg})
				if err != nil {
					t.Fatal(err)
				}
				outs, err := exe.Run(context.Background(), feeds)
				if err != nil {
					t.Fatal(err)
				}
				_, want, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", "output_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				got := outs[0].(*tensor.Tensor)
				if !got.Shape().Equal(want.Shape()) {
					t.Fatalf("output shape %v, want %v", got.Shape(), want.Shape())
				}
				g, _ := tensor.ToSlice[float32](got)
				w, _ := tensor.ToSlice[float32](want)
				worst := 0.0
				for i := range w {
					d := math.Abs(float64(g[i] - w[i]))
					worst = math.Max(worst, d)
					if !(d <= 1e-4+1e-3*math.Abs(float64(w[i]))) {
						t.Fatalf("output[%d] = %g, want %g", i, g[i], w[i])
					}
				}
				t.Logf("largest difference from PyTorch: %.3g", worst)
			})
		}
	}
}

// fusionCounts lists the com.gocann operators of a graph with their counts.
func fusionCounts(nodes []*graph.Node) string {
	count := map[string]int{}
	for _, n := range nodes {
		if n.Domain == ops.DomainGoCANN {
			count[n.OpType]++
		}
	}
	var s []string
	for k, v := range count {
		s = append(s, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// BenchmarkFusionsSharedModels times one inference of each shared model
// optimized at level 1 (no fusions) and level 2 (fusions), symbolic
// dimensions kept, on GOMAXPROCS threads: the fusions' effect alone. It
// also reports the process's CPU time per inference (cpu-ms/op), which a
// loaded machine disturbs far less than wall time. Interleave runs and
// compare medians with benchstat.
func BenchmarkFusionsSharedModels(b *testing.B) {
	root := sharedModelsDir()
	if _, err := os.Stat(root); err != nil {
		b.Skipf("shared models missing at %s", root)
	}
	reg := registry(b)
	w := cpu.NewWorkers(runtime.GOMAXPROCS(0))
	defer w.Close()
	for _, name := range []string{"resnet18", "mobilenet_v2", "efficientnet_b0", "bert_mini", "gpt_mini"} {
		for _, level := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/level=%d", name, level), func(b *testing.B) {
				dir := filepath.Join(root, name)
				m, err := onnx.LoadModel(filepath.Join(dir, "model.onnx"))
				if err != nil {
					b.Fatal(err)
				}
				feeds := map[string]ops.Value{}
				for i, in := range m.Graph.Inputs {
					_, x, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
					if err != nil {
						b.Fatal(err)
					}
					feeds[in.Name] = x
				}
				if _, err := passes.Optimize(m, passes.Options{Level: level, Ops: reg}); err != nil {
					b.Fatal(err)
				}
				exe, err := engine.Compile(m, engine.Options{Ops: reg, Workers: w})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				if _, err := exe.Run(ctx, feeds); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				c0 := processCPU()
				for i := 0; i < b.N; i++ {
					if _, err := exe.Run(ctx, feeds); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(processCPU()-c0)/1e6/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
