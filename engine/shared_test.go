package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/ops/standard"
)

// sharedModels is the folder of the reference models (see conformance).
func sharedModels() string {
	if d := os.Getenv("GOCANN_SHARED_MODELS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "models")
}

var sharedModelNames = []string{"resnet18", "mobilenet_v2", "efficientnet_b0", "bert_mini", "gpt_mini"}

// loadShared compiles a shared model and reads its test inputs.
func loadShared(t testing.TB, name string) (*Executable, map[string]ops.Value) {
	t.Helper()
	dir := filepath.Join(sharedModels(), name)
	m, err := onnx.LoadModel(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Skip(err)
	}
	reg, err := standard.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := Compile(m, Options{Ops: reg})
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]ops.Value{}
	for i, in := range exe.Inputs() {
		_, x, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			t.Fatal(err)
		}
		feeds[in.Name] = x
	}
	return exe, feeds
}

// Every shared model's plan passes the arena checker: no two values live
// at once share memory, outputs and escaping values stay off the arena.
func TestSharedModelPlans(t *testing.T) {
	for _, name := range sharedModelNames {
		t.Run(name, func(t *testing.T) {
			exe, feeds := loadShared(t, name)
			args, err := exe.bindInputs(feeds)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := exe.planFor(args)
			if err != nil {
				t.Fatal(err)
			}
			if err := pl.checkArena(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", pl.stats)
			if pl.stats.Dynamic > 0 || pl.stats.ArenaBytes >= pl.stats.NaiveBytes {
				t.Errorf("want a static plan with reuse, got %+v", pl.stats)
			}
		})
	}
}
