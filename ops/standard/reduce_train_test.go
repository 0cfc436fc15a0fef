package standard_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gocann/gocann/conformance"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/ops/standard"
)

// TestTrainingConformance runs the ONNX backend cases of the
// ai.onnx.preview.training optimizers against a registry that holds them
// (the standard registry does not register that domain yet).
func TestTrainingConformance(t *testing.T) {
	root := os.Getenv("GOCANN_ONNX_TESTDATA")
	if root == "" {
		root = "/usr/share/libonnx-testdata/data"
	}
	dir := filepath.Join(root, "node")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("ONNX test data missing at %s", root)
	}
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"test_adagrad", "test_adagrad_multiple", "test_adam", "test_adam_multiple",
		"test_momentum", "test_momentum_multiple", "test_nesterov_momentum"} {
		t.Run(name, func(t *testing.T) {
			c := conformance.Case{Name: "node/" + name, Dir: filepath.Join(dir, name)}
			if _, err := os.Stat(c.Dir); err != nil {
				t.Skip("case not installed")
			}
			if name == "test_adam_multiple" {
				// The model's node lacks the epsilon=1e-2 its expected
				// outputs were computed with, so it runs with the default
				// 1e-6 (a bug in the ONNX 1.12 test generator).
				t.Skip("test data inconsistent: node has no epsilon attribute")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Run(ctx, conformance.Default, model.WithOps(reg)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
