package compiled

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// rewrite returns file with its manifest edited, sections moved to fit
// and the checksum recomputed: a well-formed file that says something
// else.
func rewrite(t *testing.T, file []byte, edit func(*Manifest)) []byte {
	t.Helper()
	h, err := parseHeader(file, int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	var man Manifest
	if err := json.Unmarshal(file[h.manifest.off:h.manifest.end()], &man); err != nil {
		t.Fatal(err)
	}
	edit(&man)
	mb, err := man.encode()
	if err != nil {
		t.Fatal(err)
	}
	graph := file[h.graph.off:h.graph.end()]
	weights := file[h.weights.off:]
	h.manifest = section{HeaderSize, uint64(len(mb))}
	h.graph = section{h.manifest.end(), uint64(len(graph))}
	h.weights = section{alignUp(h.graph.end()), uint64(len(weights))}
	h.headerCRC = metaCRC(h.marshal(), mb, graph)
	out := append(h.marshal(), mb...)
	out = append(out, graph...)
	out = append(out, make([]byte, h.weights.off-h.graph.end())...)
	return append(out, weights...)
}

func TestIncompatible(t *testing.T) {
	file, _ := writeBytes(t, branchModel(t), Build{})
	if _, err := Decode(rewrite(t, file, func(*Manifest) {})); err != nil {
		t.Fatalf("rewrite without edits: %v", err)
	}
	otherArch := "riscv64"
	if goruntime.GOARCH == otherArch {
		otherArch = "amd64"
	}
	tests := []struct {
		name, msg string
		edit      func(*Manifest)
	}{
		{"major version", "compiled by GoCANN 7.0.0", func(m *Manifest) { m.Tool.Version = "7.0.0" }},
		{"minor version before 1.0", "GoCANN 0.99.0", func(m *Manifest) { m.Tool.Version = "0.99.0" }},
		{"garbage version", "GoCANN banana", func(m *Manifest) { m.Tool.Version = "banana" }},
		{"architecture", "compiled for " + otherArch, func(m *Manifest) { m.Target.Arch = otherArch }},
		{"device", `device "opencl"`, func(m *Manifest) { m.Target.Device = "opencl" }},
		{"cpu features", "quantum-avx", func(m *Manifest) { m.Target.CPUFeatures = append(m.Target.CPUFeatures, "quantum-avx") }},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := rewrite(t, file, tt.edit)
			_, err := Decode(b)
			if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want ErrIncompatible saying %q", err, tt.msg)
			}
			path := filepath.Join(dir, "x.cann")
			os.WriteFile(path, b, 0o644)
			if _, err := Open(path); !errors.Is(err, ErrIncompatible) {
				t.Errorf("Open: %v", err)
			}
			// inspect still reads what the file is.
			m, err := Decode(b, WithoutCompatCheck())
			if err != nil || Compatible(m.Manifest) == nil {
				t.Errorf("without the check: %v", err)
			}
		})
	}

	// Another format version is reported as such, whatever follows.
	other := append([]byte(nil), file...)
	binary.LittleEndian.PutUint32(other[8:], FormatVersion+1)
	if _, err := Decode(other); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "format version 2") {
		t.Errorf("format version: %v", err)
	}
	if _, err := Decode(other[:12]); !errors.Is(err, ErrIncompatible) {
		t.Errorf("format version, truncated: %v", err)
	}
}

func TestSameRelease(t *testing.T) {
	tests := []struct {
		a, b string
		ok   bool
	}{
		{"0.1.0-dev", "0.1.0-dev", true},
		{"0.1.0", "0.1.7+abc", true},
		{"0.1.0", "0.2.0", false},
		{"1.2.0", "1.9.1", true},
		{"v1.2.0", "1.0.0", true},
		{"1.2.0", "2.0.0", false},
		{"1", "1.0.0", false},
		{"", "0.1.0", false},
		{"-1.0.0", "-1.0.0", false},
	}
	for _, tt := range tests {
		if got := sameRelease(tt.a, tt.b); got != tt.ok {
			t.Errorf("sameRelease(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestParseCPUTarget(t *testing.T) {
	if f, err := ParseCPUTarget("generic"); err != nil || len(f) != 0 || f == nil {
		t.Errorf("generic: %v %v", f, err)
	}
	if f, err := ParseCPUTarget("native"); err != nil || len(f) != len(NativeFeatures()) {
		t.Errorf("native: %v %v", f, err)
	}
	if _, err := ParseCPUTarget("avx9000"); err == nil {
		t.Error("unknown feature accepted")
	}
	if goruntime.GOARCH == "amd64" {
		if f, err := ParseCPUTarget("AVX2, fma,avx2"); err != nil || strings.Join(f, ",") != "avx2,fma" {
			t.Errorf("list: %v %v", f, err)
		}
	}
}

func TestCorrupt(t *testing.T) {
	file, _ := writeBytes(t, branchModel(t), Build{})
	h, _ := parseHeader(file, int64(len(file)))
	flip := func(i int) []byte {
		b := append([]byte(nil), file...)
		b[i] ^= 0x40
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrNotCompiled},
		{"magic only", file[:8], ErrCorrupt},
		{"truncated header", file[:100], ErrCorrupt},
		{"truncated manifest", file[:h.manifest.off+10], ErrCorrupt},
		{"truncated weights", file[:len(file)-1], ErrCorrupt},
		{"appended", append(append([]byte(nil), file...), 0), ErrCorrupt},
		{"flags", flip(12), ErrCorrupt},
		{"section bounds", flip(40), ErrCorrupt},
		{"reserved", flip(100), ErrCorrupt},
		{"header checksum", flip(65), ErrCorrupt},
		{"manifest byte", flip(int(h.manifest.off) + 5), ErrCorrupt},
		{"graph byte", flip(int(h.graph.off + h.graph.len/2)), ErrCorrupt},
	}
	for _, tt := range tests {
		if _, err := Decode(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	// A damaged weight is found when the weights are verified.
	w := flip(int(h.weights.off) + 3)
	if _, err := Decode(w); err != nil {
		t.Errorf("weights are not verified by default: %v", err)
	}
	if _, err := Decode(w, WithVerifyWeights(true)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "weights") {
		t.Errorf("verified weights: %v", err)
	}
	// A tensor pointing outside the section (a well-formed graph that
	// says so) is caught by the reader.
	if _, err := Decode(rewriteSection(t, file)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("tensor outside the section: %v", err)
	}
	// Open reports the same through the file system path.
	dir := t.TempDir()
	for _, tt := range tests[:5] {
		path := filepath.Join(dir, "c.cann")
		os.WriteFile(path, tt.b, 0o644)
		if _, err := Open(path); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open %s: got %v", tt.name, err)
		}
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory succeeded")
	}
	if _, err := Open(filepath.Join(dir, "missing.cann")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// rewriteSection shrinks the weights section of file so that its last
// tensor lies beyond it, keeping every checksum right.
func rewriteSection(t *testing.T, file []byte) []byte {
	t.Helper()
	h, _ := parseHeader(file, int64(len(file)))
	b := append([]byte(nil), file[:len(file)-Alignment]...)
	h.weights.len -= Alignment
	copy(b, h.marshal())
	h.headerCRC = metaCRC(b[:HeaderSize], b[h.manifest.off:h.manifest.end()], b[h.graph.off:h.graph.end()])
	copy(b, h.marshal())
	return b
}
