package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gocann/gocann/model"
)

// TestSharedModelsCompiled converts each shared model to a compiled file,
// loads it (weights mapped from the file) and checks that it gives the
// outputs of the ONNX file and of the reference.
func TestSharedModelsCompiled(t *testing.T) {
	root := sharedModels()
	if _, err := os.Stat(root); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared models missing at %s", root)
		}
		t.Skipf("shared models missing at %s", root)
	}
	tmp := t.TempDir()
	for _, name := range modelNames {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			src := filepath.Join(dir, "model.onnx")
			dst := filepath.Join(tmp, name+".cann")
			conv, err := model.Convert(src, dst)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()

			onnxModel, err := model.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			defer onnxModel.Close()
			cm, err := model.Load(dst)
			if err != nil {
				t.Fatal(err)
			}
			defer cm.Close()
			if cm.Manifest() == nil || cm.Manifest().Source.SHA256 != conv.Manifest.Source.SHA256 {
				t.Fatalf("not loaded as a compiled model")
			}
			set := filepath.Join(dir, "test_data_set_0")
			feeds, err := readFeeds(onnxModel, set)
			if err != nil {
				t.Fatal(err)
			}
			want, err := onnxModel.RunValues(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cm.RunValues(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if err := CompareValues(got[i], want[i], modelTolerance); err != nil {
					t.Errorf("output %d against the ONNX file: %v", i, err)
				}
			}
			// And against the reference outputs, through the same runner
			// as TestSharedModels.
			if err := runSet(ctx, cm, set, modelTolerance, false); err != nil {
				t.Errorf("against the reference: %v", err)
			}
		})
	}
}

// TestONNXBackendCompiled converts every backend case expected to pass
// into a compiled file and runs that: the container must carry every
// graph (subgraphs, sequences, every element type) the ONNX file does.
func TestONNXBackendCompiled(t *testing.T) {
	root := testdataRoot()
	if _, err := os.Stat(root); err != nil {
		t.Skipf("ONNX test data missing at %s", root)
	}
	cases, err := Cases(root, suites...)
	if err != nil {
		t.Fatal(err)
	}
	exp := readExpectations(t)
	tmp := t.TempDir()
	n := 0
	for i, c := range cases {
		if !exp[c.Name].pass {
			continue
		}
		n++
		c.Model = filepath.Join(tmp, fmt.Sprintf("%d.cann", i))
		if _, err := model.Convert(filepath.Join(c.Dir, "model.onnx"), c.Model); err != nil {
			t.Errorf("%s: convert: %v", c.Name, err)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := c.Run(ctx, Default); err != nil {
			t.Errorf("%s: compiled: %v", c.Name, err)
		}
		cancel()
		os.Remove(c.Model)
	}
	t.Logf("%d cases converted and run", n)
}
