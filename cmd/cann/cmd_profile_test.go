package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfile(t *testing.T) {
	dir := t.TempDir()
	modelPath, _ := writeAffine(t, dir)
	tracePath := filepath.Join(dir, "trace.json")
	code, out, errOut := cann(t, "profile", modelPath, "-o", tracePath, "--iterations", "3", "--warmup", "1", "--threads", "1", "--shapes", "x:4x3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"3 profiled runs on cpu:0, 2 launches per run", "Mul", "Add", "wrote " + tracePath} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	var trace struct {
		TraceEvents []struct {
			Cat, Ph string
			Args    map[string]any
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(raw, &trace); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	launches := 0
	for _, ev := range trace.TraceEvents {
		if ev.Ph == "X" && ev.Cat == "launch" {
			launches++
			if in, _ := ev.Args["inputs"].([]any); len(in) != 2 || in[0] != "float32[4 3]" {
				t.Errorf("launch inputs %v, want the --shapes shape", ev.Args["inputs"])
			}
		}
	}
	if launches != 3*2 {
		t.Errorf("%d launch events, want one per launch per run (6)", launches)
	}

	code, out, errOut = cann(t, "profile", modelPath, "--iterations", "2", "--format", "json", "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep profileReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out)
	}
	if rep.Iterations != 2 || len(rep.RunsMs) != 2 || len(rep.Ops) != 2 || rep.Ops[0].Count != 2 || rep.Trace != "" {
		t.Errorf("report %+v", rep)
	}

	for _, bad := range [][]string{
		{"profile"},
		{"profile", modelPath, "--iterations", "0"},
		{"profile", modelPath, "--format", "xml"},
		{"profile", modelPath, "--shapes", "x"},
	} {
		if code, _, _ := cann(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, errOut := cann(t, "profile", modelPath, "--shapes", "nope:1x3"); code == 0 || !strings.Contains(errOut, "nope") {
		t.Errorf("unknown input in --shapes: exit %d, %s", code, errOut)
	}
}
