package conformance

import (
	"fmt"

	"context"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gocann/gocann/model"
)

// sharedModels is the folder of reference models beside the repository
// (model.onnx + test_data_set_0, outputs computed by PyTorch); override it
// with GOCANN_SHARED_MODELS.
func sharedModels() string {
	if d := os.Getenv("GOCANN_SHARED_MODELS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "models")
}

// The shared models' README sets their tolerance: float32 summation order
// alone moves gpt_mini's logits (up to ±60) by ~2e-5 near zero.
var modelTolerance = Tolerance{Rtol: 1e-3, Atol: 1e-4}

var modelNames = []string{"resnet18", "mobilenet_v2", "efficientnet_b0", "bert_mini", "gpt_mini"}

func TestSharedModels(t *testing.T) {
	root := sharedModels()
	if _, err := os.Stat(root); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared models missing at %s", root)
		}
		t.Skipf("shared models missing at %s", root)
	}
	for _, name := range modelNames {
		t.Run(name, func(t *testing.T) {
			c := Case{Name: name, Dir: filepath.Join(root, name)}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := c.Run(ctx, modelTolerance); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkSharedModels times one inference of each shared model (inputs
// from its test data set), for comparison with ONNX Runtime in BENCHMARKS.md.
func BenchmarkSharedModels(b *testing.B) {
	root := sharedModels()
	for _, name := range modelNames {
		b.Run(name, func(b *testing.B) {
			dir := filepath.Join(root, name)
			m, err := model.Load(filepath.Join(dir, "model.onnx"))
			if err != nil {
				b.Skip(err)
			}
			defer m.Close()
			feeds, err := readFeeds(m, filepath.Join(dir, "test_data_set_0"))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := m.RunValues(ctx, feeds); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.RunValues(ctx, feeds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// readFeeds reads input_K.pb files of a test data set as the model's
// inputs in order.
func readFeeds(m *model.Model, set string) (map[string]ops.Value, error) {
	feeds := map[string]ops.Value{}
	for i, in := range m.Inputs() {
		_, t, err := onnx.ReadTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			return nil, err
		}
		feeds[in.Name] = t
	}
	return feeds, nil
}
