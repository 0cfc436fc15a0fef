package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
)

// The shared models on the OpenCL device through the model API, strict:
// every node must run on the device (zero fallbacks to the CPU) and the
// outputs must match the PyTorch references.

// loadOpenCL loads a shared model on the first OpenCL device, strict, with
// its test inputs; it skips without the models or a device (unless
// GOCANN_REQUIRE_OPENCL is set).
func loadOpenCL(tb testing.TB, name string, opts ...model.Option) (*model.Model, map[string]ops.Value) {
	tb.Helper()
	dir := filepath.Join(sharedModels(), name)
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("shared models missing at %s", sharedModels())
	}
	opts = append([]model.Option{model.WithDevice("opencl"), model.WithStrict(true), model.WithThreads(2)}, opts...)
	m, err := model.Load(filepath.Join(dir, "model.onnx"), opts...)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) && os.Getenv("GOCANN_REQUIRE_OPENCL") == "" {
			tb.Skipf("no OpenCL device: %v", err)
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	feeds, err := readFeeds(m, filepath.Join(dir, "test_data_set_0"))
	if err != nil {
		tb.Fatal(err)
	}
	return m, feeds
}

func TestSharedModelsOpenCL(t *testing.T) {
	for _, name := range modelNames {
		t.Run(name, func(t *testing.T) {
			m, feeds := loadOpenCL(t, name)
			dev := m.Device().Properties().ID()
			pm, err := m.Placement(feeds)
			if err != nil {
				t.Fatal(err) // strict: a fallback is an error naming the node
			}
			if len(pm.Fallbacks) > 0 {
				t.Errorf("fell back to the CPU:\n%s", pm)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			outs, err := m.RunValues(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d nodes on %s, %d copies (%v, kernels compiled included)", pm.Counts()[dev], dev, pm.Copies, time.Since(start).Round(time.Millisecond))
			for i, got := range outs {
				_, want, err := onnx.ReadTensorFile(filepath.Join(sharedModels(), name, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := CompareValues(got, want, modelTolerance); err != nil {
					t.Errorf("output %d: %v", i, err)
				}
			}
			if strings.Contains(pm.String(), "cpu:0") {
				t.Errorf("placement names the CPU:\n%s", pm)
			}
		})
	}
}

// TestSharedModelsOpenCLFallbacks runs the shared models optimized at
// level 3, whose fused operators and layouts have no OpenCL kernels: the
// placement alternates between device and CPU, and the answers must not
// change.
func TestSharedModelsOpenCLFallbacks(t *testing.T) {
	for _, name := range modelNames {
		t.Run(name, func(t *testing.T) {
			m, feeds := loadOpenCL(t, name, model.WithStrict(false), model.WithOptLevel(3))
			pm, err := m.Placement(feeds)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			outs, err := m.RunValues(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v nodes per device, %d fallbacks, %d copies", pm.Counts(), len(pm.Fallbacks), pm.Copies)
			for i, got := range outs {
				_, want, err := onnx.ReadTensorFile(filepath.Join(sharedModels(), name, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := CompareValues(got, want, modelTolerance); err != nil {
					t.Errorf("output %d: %v", i, err)
				}
			}
		})
	}
}

// BenchmarkSharedModelsOpenCL times one inference of each shared model on
// the OpenCL device through the model API, kernels compiled and nodes
// prepared beforehand; inputs are copied to the device and outputs read
// back as in any run.
func BenchmarkSharedModelsOpenCL(b *testing.B) {
	for _, name := range modelNames {
		b.Run(name, func(b *testing.B) {
			m, feeds := loadOpenCL(b, name)
			ctx := context.Background()
			// One run first: kernels compile and nodes prepare on first use.
			if _, err := m.RunValues(ctx, feeds); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := m.RunValues(ctx, feeds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
