package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// cann runs the CLI in-process and returns its exit status and output.
func cann(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, ioStreams{&out, &errb})
	return code, out.String(), errb.String()
}

func TestExitCodesAndHelp(t *testing.T) {
	tests := []struct {
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{args: nil, code: 2, stderrHas: "Commands:"},
		{args: []string{"--help"}, code: 0, stdoutHas: "devices"},
		{args: []string{"help"}, code: 0, stdoutHas: "version"},
		{args: []string{"help", "devices"}, code: 0, stdoutHas: "Usage: cann devices"},
		{args: []string{"frobnicate"}, code: 2, stderrHas: `unknown command "frobnicate"`},
		{args: []string{"version", "extra"}, code: 2, stderrHas: "unexpected arguments"},
		{args: []string{"version", "--format", "yaml"}, code: 2, stderrHas: "unknown format"},
		{args: []string{"devices", "--no-such-flag"}, code: 2, stderrHas: "flag provided but not defined"},
		{args: []string{"devices", "--threads", "-3"}, code: 1, stderrHas: "cann devices:"},
		{args: []string{"--version"}, code: 0, stdoutHas: "cann "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := cann(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out, tt.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdoutHas, out)
			}
			if !strings.Contains(errOut, tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, errOut)
			}
		})
	}
}

// Every command answers --help with its usage line and exit status 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		for _, flagName := range []string{"--help", "-h"} {
			code, out, _ := cann(t, c.name, flagName)
			if code != 0 || !strings.Contains(out, "Usage: cann "+c.name) {
				t.Errorf("cann %s %s: exit %d, output:\n%s", c.name, flagName, code, out)
			}
		}
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, errOut := cann(t, "version", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct{ Version, Go, Platform string }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if v.Version == "" || v.Go != goruntime.Version() || v.Platform != goruntime.GOOS+"/"+goruntime.GOARCH {
		t.Errorf("unexpected version info %+v", v)
	}
}

// The CPU is listed with this machine's core count and the instruction-set
// features the processor reports.
func TestDevicesShowsCPU(t *testing.T) {
	code, out, errOut := cann(t, "devices", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var devs []deviceJSON
	if err := json.Unmarshal([]byte(out), &devs); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	i := slices.IndexFunc(devs, func(d deviceJSON) bool { return d.ID == "cpu:0" })
	if i < 0 {
		t.Fatalf("no cpu:0 in %s", out)
	}
	d := devs[i]
	if d.Kind != "cpu" || d.ComputeUnits != goruntime.NumCPU() || d.Threads != goruntime.NumCPU() || d.MemoryBytes <= 0 {
		t.Errorf("cpu:0 = %+v, want kind cpu, %d compute units and threads, memory > 0", d, goruntime.NumCPU())
	}
	want := map[string]bool{"avx2": cpu.X86.HasAVX2, "fma": cpu.X86.HasFMA, "avx512f": cpu.X86.HasAVX512F, "neon": cpu.ARM64.HasASIMD}
	for f, has := range want {
		if has != slices.Contains(d.Features, f) {
			t.Errorf("feature %s: processor has it %v, listed %v (%v)", f, has, !has, d.Features)
		}
	}

	code, out, _ = cann(t, "devices", "--threads", "1")
	if code != 0 || !strings.Contains(out, "cpu:0") || !strings.Contains(out, "threads:") || !strings.Contains(out, "features:") {
		t.Errorf("text listing (exit %d):\n%s", code, out)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "", 512: "512 B", 1536: "1.5 KiB", 1 << 20: "1 MiB", 24 << 30: "24 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		pos  string
		n    int
	}{
		{[]string{"a", "-n", "3", "b"}, "[a b]", 3},
		{[]string{"-n", "2", "a"}, "[a]", 2},
		{[]string{"-n", "4", "--", "cmd", "-n", "9"}, "[cmd -n 9]", 4},
		{[]string{"a", "--", "-x"}, "[a -x]", 0},
		{nil, "[]", 0},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("n", 0, "")
		pos, err := parseInterspersed(fs, tt.args)
		if err != nil || fmt.Sprint(pos) != tt.pos || *n != tt.n {
			t.Errorf("%q: positional %v n=%d err=%v, want %s n=%d", tt.args, pos, *n, err, tt.pos, tt.n)
		}
	}
}

// OpenCL devices are listed when the library and a platform are present
// (PoCL in CI); without them the backend reports why on stderr and the
// command still succeeds.
func TestDevicesShowsOpenCL(t *testing.T) {
	code, out, errOut := cann(t, "devices", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var devs []deviceJSON
	if err := json.Unmarshal([]byte(out), &devs); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	i := slices.IndexFunc(devs, func(d deviceJSON) bool { return d.ID == "opencl:0" })
	if i < 0 {
		if !strings.Contains(errOut, "opencl: no devices") {
			t.Errorf("no opencl:0 and no reason on stderr: %q", errOut)
		}
		t.Skipf("no OpenCL device: %s", errOut)
	}
	d := devs[i]
	if d.Backend != "opencl" || d.Name == "" || d.Driver == "" || d.ComputeUnits < 1 || d.MemoryBytes <= 0 ||
		!slices.ContainsFunc(d.Features, func(f string) bool { return strings.HasPrefix(f, "opencl-") }) {
		t.Errorf("opencl:0 = %+v", d)
	}
}
