package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

func TestBenchJSON(t *testing.T) {
	dir := t.TempDir()
	modelPath, _ := writeAffine(t, dir)
	code, out, errOut := cann(t, "bench", modelPath, "--iterations", "7", "--warmup", "2", "--threads", "1", "--format", "json", "--shapes", "x:4x3", "--opt-level", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, key := range []string{"model", "device", "threads", "iterations", "load_ms", "p50_ms", "p90_ms", "p99_ms", "throughput"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("JSON lacks %q:\n%s", key, out)
		}
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Iterations != 7 || r.Warmup != 2 || r.Threads != 1 || r.Device != "cpu:0" || r.Inputs != "random" {
		t.Errorf("result %+v", r)
	}
	if r.InputShapes["x"] != "float32[4 3]" {
		t.Errorf("input shapes %v, want x float32[4 3]", r.InputShapes)
	}
	if !(r.MinMS <= r.P50MS && r.P50MS <= r.P90MS && r.P90MS <= r.P99MS && r.P99MS <= r.MaxMS) || r.MinMS <= 0 {
		t.Errorf("percentiles out of order: %+v", r)
	}
	if r.Throughput <= 0 || r.LoadMS <= 0 {
		t.Errorf("throughput %v, load %v", r.Throughput, r.LoadMS)
	}
}

func TestBenchTextAndInputDir(t *testing.T) {
	dir := t.TempDir()
	modelPath, _ := writeAffine(t, dir)
	code, out, errOut := cann(t, "bench", modelPath, "--input-dir", dir, "--duration", "50ms", "--warmup", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"load", "p50", "p90", "p99", "throughput", "x float32[2 3]", dir + " inputs"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchErrors(t *testing.T) {
	dir := t.TempDir()
	modelPath, _ := writeAffine(t, dir)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", []string{"bench"}, 2, "one MODEL"},
		{"bad format", []string{"bench", modelPath, "--format", "xml"}, 2, "unknown format"},
		{"negative iterations", []string{"bench", modelPath, "--iterations", "-1"}, 2, "must not be negative"},
		{"bad shapes syntax", []string{"bench", modelPath, "--shapes", "x=1x3"}, 2, "NAME:DIMS"},
		{"bad dims", []string{"bench", modelPath, "--shapes", "x:1xzx3"}, 2, "not an integer"},
		{"fixed dim differs", []string{"bench", modelPath, "--shapes", "x:2x4"}, 1, "fixes it at 3"},
		{"rank differs", []string{"bench", modelPath, "--shapes", "x:2"}, 1, "rank 1"},
		{"unknown input", []string{"bench", modelPath, "--shapes", "z:1x3"}, 1, `"z", which is not an input`},
		{"missing file", []string{"bench", filepath.Join(dir, "nope.onnx")}, 1, "no such file"},
		{"empty input dir", []string{"bench", modelPath, "--input-dir", t.TempDir()}, 1, "no input_0.pb"},
		{"bad opt level", []string{"bench", modelPath, "--opt-level", "4"}, 1, "optimization level 4: want 0 to 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := cann(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errOut, tt.want)
			}
		})
	}
}

// Token ids feed an embedding Gather: random ids must index the table, so a
// model with a 2-row table runs on any random input.
func TestBenchGatherIndices(t *testing.T) {
	dir := t.TempDir()
	table, _ := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	m := &graph.Model{Opsets: map[string]int{"": 17}, Graph: &graph.Graph{
		Inputs: []*graph.ValueInfo{
			{Name: "tok", Type: ops.TensorType(tensor.Int64, tensor.Shape{1, -1}), DimParams: []string{"", "seq"}},
		},
		Outputs:      []*graph.ValueInfo{{Name: "y", Type: ops.TensorType(tensor.Float32, tensor.Shape{1, -1, 2})}},
		Initializers: map[string]*tensor.Tensor{"table": table},
		Nodes:        []*graph.Node{{OpType: "Gather", Inputs: []string{"table", "tok"}, Outputs: []string{"y"}}},
	}}
	path := filepath.Join(dir, "emb.onnx")
	if err := onnx.WriteModelFile(path, m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		code, out, errOut := cann(t, "bench", path, "--iterations", "2", "--warmup", "0", "--shapes", "tok:1x64", "--seed", string(rune('1'+i)))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "tok int64[1 64]") {
			t.Errorf("output:\n%s", out)
		}
	}
	if got := indexInputs(m.Graph); !got["tok"] || got["table"] {
		t.Errorf("indexInputs = %v, want tok only", got)
	}
}

func TestRandomInputs(t *testing.T) {
	ins := []model.Info{
		{Name: "pixels", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, 3, 8, 8}), DimParams: []string{"batch"}},
		{Name: "input_ids", Type: ops.TensorType(tensor.Int64, tensor.Shape{1, -1})},
		{Name: "attention_mask", Type: ops.TensorType(tensor.Int32, tensor.Shape{1, -1})},
		{Name: "lengths", Type: ops.TensorType(tensor.Uint8, tensor.Shape{5})},
		{Name: "half", Type: ops.TensorType(tensor.Float16, tensor.Shape{4})},
		{Name: "flag", Type: ops.TensorType(tensor.Bool, tensor.Shape{})},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	feeds, err := randomInputs(ins, inputShapes{"input_ids": {1, 16}, "attention_mask": {1, 16}}, nil, rng)
	if err != nil {
		t.Fatal(err)
	}
	shape := func(name string) string { return feeds[name].(*tensor.Tensor).Shape().String() }
	if shape("pixels") != "[1 3 8 8]" || shape("input_ids") != "[1 16]" || shape("flag") != "[]" {
		t.Errorf("shapes %s %s %s", shape("pixels"), shape("input_ids"), shape("flag"))
	}
	px, _ := tensor.View[float32](feeds["pixels"].(*tensor.Tensor))
	for _, v := range px {
		if v < -1 || v >= 1 {
			t.Fatalf("pixel %v outside [-1, 1)", v)
		}
	}
	ids, _ := tensor.View[int64](feeds["input_ids"].(*tensor.Tensor))
	seen := map[int64]bool{}
	for _, v := range ids {
		if v < 0 || v > 1 {
			t.Fatalf("id %d outside {0, 1}", v)
		}
		seen[v] = true
	}
	if len(seen) != 2 {
		t.Errorf("16 random ids are all %v", seen)
	}
	mask, _ := tensor.View[int32](feeds["attention_mask"].(*tensor.Tensor))
	for _, v := range mask {
		if v != 1 {
			t.Fatalf("mask value %d, want 1", v)
		}
	}
	lens, _ := tensor.View[uint8](feeds["lengths"].(*tensor.Tensor))
	for _, v := range lens {
		if v > 3 {
			t.Fatalf("small integer %d outside [0, 4)", v)
		}
	}
	if feeds["half"].(*tensor.Tensor).DType() != tensor.Float16 {
		t.Errorf("half input is %s", feeds["half"].(*tensor.Tensor).DType())
	}

	if _, err := randomInputs([]model.Info{{Name: "s", Type: ops.TensorType(tensor.String, tensor.Shape{1})}}, nil, nil, rng); err == nil || !strings.Contains(err.Error(), "--input-dir") {
		t.Errorf("string input: %v", err)
	}
	unknown := model.Info{Name: "u", Type: ops.Type{Kind: ops.KindTensor, DType: tensor.Float32, UnknownRank: true}}
	if _, err := randomInputs([]model.Info{unknown}, nil, nil, rng); err == nil || !strings.Contains(err.Error(), "--shapes u:") {
		t.Errorf("unknown rank without --shapes: %v", err)
	}
	if f, err := randomInputs([]model.Info{unknown}, inputShapes{"u": {2, 2}}, nil, rng); err != nil || f["u"].(*tensor.Tensor).Len() != 4 {
		t.Errorf("unknown rank with --shapes: %v", err)
	}
}

func TestShapesFlag(t *testing.T) {
	var s inputShapes
	if err := s.Set("a:1x3x224x224,input:0:2x5"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("c:scalar"); err != nil {
		t.Fatal(err)
	}
	if s["a"].String() != "[1 3 224 224]" || s["input:0"].String() != "[2 5]" || len(s["c"]) != 0 {
		t.Errorf("parsed %v", s)
	}
	if got := s.String(); got != "a:1x3x224x224,c:,input:0:2x5" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"a", ":1x2", "a:", "a:1x-2", "a:1xx2"} {
		var s inputShapes
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	d := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{d(5), 50, 5 * time.Millisecond},
		{d(1, 2, 3), 50, 2 * time.Millisecond},
		{d(1, 2, 3, 4), 50, 2500 * time.Microsecond},
		{d(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 90, 10 * time.Millisecond},
		{d(1, 2), 99, 1990 * time.Microsecond},
		{d(1, 2), 100, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}

func TestBenchCPUProfile(t *testing.T) {
	dir := t.TempDir()
	modelPath, _ := writeAffine(t, dir)
	prof := filepath.Join(dir, "cpu.pprof")
	code, _, errOut := cann(t, "bench", modelPath, "--iterations", "3", "--cpuprofile", prof)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("profile: %v", err)
	}
	if code, _, _ := cann(t, "bench", modelPath, "--iterations", "1", "--cpuprofile", filepath.Join(dir, "no", "such", "dir")); code != 1 {
		t.Errorf("unwritable profile: exit %d", code)
	}
}
