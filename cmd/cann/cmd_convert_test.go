package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConvertInspectRun(t *testing.T) {
	dir := t.TempDir()
	modelPath, inputPath := writeAffine(t, dir)
	out := filepath.Join(dir, "affine.cann")

	code, stdout, stderr := cann(t, "convert", modelPath, "-o", out, "--shapes", "x:2x3", "--explain", "--progress")
	if code != 0 {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, out+":") || !strings.Contains(stdout, "2 nodes") || !strings.Contains(stdout, "optimization level") ||
		!strings.Contains(stdout, "plan for x: float32[2 3]") || !strings.Contains(stdout, "arena:") || strings.Contains(stdout, "symbolic dimensions") {
		t.Errorf("convert output:\n%s", stdout)
	}
	if !strings.Contains(stderr, "write") {
		t.Errorf("--progress drew nothing: %q", stderr)
	}

	// The default output name replaces the extension.
	if code, _, stderr := cann(t, "convert", modelPath, "--cpu", "generic"); code != 0 {
		t.Fatalf("convert without -o: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.cann")); err != nil {
		t.Error(err)
	}

	code, stdout, stderr = cann(t, "inspect", out, "--verify")
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"GoCANN compiled model, format 1", "source", "model.onnx", "ai.onnx 17", "shapes", "x 2x3",
		"runs on this machine", "checksum verified", "x  float32[2 3]", "operators (2 nodes)", "Add", "Mul"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = cann(t, "inspect", out, "--format", "json")
	var r inspectReport
	if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil || !r.Compatible || r.Manifest.OpCounts["Mul"] != 1 || r.Manifest.Shapes["x"][1] != 3 {
		t.Errorf("inspect json (exit %d):\n%s", code, stdout)
	}

	// cann run takes the compiled file like an ONNX one.
	code, stdout, stderr = cann(t, "run", out, "--input", "x="+inputPath)
	if code != 0 || !strings.Contains(stdout, "[3 4 5 21 42 63]") {
		t.Errorf("run compiled: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = cann(t, "bench", out, "--iterations", "2", "--warmup", "0")
	if code != 0 || !strings.Contains(stdout, "latency") {
		t.Errorf("bench compiled: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestConvertInspectErrors(t *testing.T) {
	dir := t.TempDir()
	modelPath, _ := writeAffine(t, dir)
	out := filepath.Join(dir, "a.cann")
	tests := []struct {
		args      []string
		code      int
		stderrHas string
	}{
		{[]string{"convert"}, 2, "want one MODEL"},
		{[]string{"convert", modelPath, "--shapes", "x"}, 2, "want NAME:DIMS"},
		{[]string{"convert", modelPath, "--shapes", "x:2xq"}, 2, "not an integer"},
		{[]string{"convert", modelPath, "-o", out, "--shapes", "y:2x3"}, 1, "no such input"},
		{[]string{"convert", modelPath, "-o", out, "--shapes", "x:2x4"}, 1, "disagrees"},
		{[]string{"convert", modelPath, "-o", out, "--cpu", "avx9000"}, 2, "CPU feature"},
		{[]string{"convert", modelPath, "-o", out, "--opt-level", "9"}, 1, "optimization level 9"},
		{[]string{"convert", filepath.Join(dir, "missing.onnx")}, 1, "no such file"},
		{[]string{"inspect"}, 2, "want one FILE"},
		{[]string{"inspect", modelPath}, 1, "not a compiled model"},
		{[]string{"inspect", modelPath, "--format", "xml"}, 2, "unknown format"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := cann(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tt.code, tt.stderrHas, stderr)
			}
		})
	}

	// A file for CPU features this machine lacks: run refuses it with a
	// clear message, inspect still describes it.
	if code, _, stderr := cann(t, "convert", modelPath, "-o", out, "--cpu", "generic"); code != 0 {
		t.Fatal(stderr)
	}
	b, _ := os.ReadFile(out)
	if code, _, stderr := cann(t, "run", filepath.Join(dir, "trunc.cann")); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing compiled file: %d %s", code, stderr)
	}
	trunc := filepath.Join(dir, "trunc.cann")
	os.WriteFile(trunc, b[:len(b)-10], 0o644)
	if code, _, stderr := cann(t, "run", trunc); code != 1 || !strings.Contains(stderr, "corrupt compiled model") {
		t.Errorf("truncated: %d %s", code, stderr)
	}
	if code, _, stderr := cann(t, "inspect", trunc); code != 1 || !strings.Contains(stderr, "truncated") {
		t.Errorf("inspect truncated: %d %s", code, stderr)
	}
}
