package compiled

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/gocann/gocann/internal/version"
	"github.com/gocann/gocann/runtime/cpu"
)

// kernelFeatures are the CPU features GoCANN's kernels choose code paths
// by (see package kernels): the ones a compiled model records by default.
var kernelFeatures = map[string][]string{
	"amd64": {"avx2", "fma", "avx512f"},
	"arm64": {"neon"},
}

// NativeFeatures returns the CPU features of this machine that GoCANN's
// kernels use: what a model compiled here for "native" records.
func NativeFeatures() []string {
	var out []string
	host := cpu.HostFeatures()
	for _, f := range kernelFeatures[goruntime.GOARCH] {
		if slices.Contains(host, f) {
			out = append(out, f)
		}
	}
	return out
}

// Compatible reports why this build on this machine cannot run a model
// with manifest m, as an error wrapping ErrIncompatible, or nil.
func Compatible(m *Manifest) error {
	return compatible(m, version.Version, goruntime.GOARCH, cpu.HostFeatures())
}

func compatible(m *Manifest, tool, arch string, features []string) error {
	if m.FormatVersion != FormatVersion {
		return fmt.Errorf("format version %d, this build reads version %d: %w", m.FormatVersion, FormatVersion, ErrIncompatible)
	}
	if !sameRelease(m.Tool.Version, tool) {
		return fmt.Errorf("compiled by GoCANN %s, which is not compatible with this GoCANN %s (convert the model again): %w", m.Tool.Version, tool, ErrIncompatible)
	}
	if m.Target.Device != "cpu" {
		return fmt.Errorf("compiled for device %q, this build runs compiled models on the CPU only: %w", m.Target.Device, ErrIncompatible)
	}
	if m.Target.Arch != arch {
		return fmt.Errorf("compiled for %s, this machine is %s: %w", m.Target.Arch, arch, ErrIncompatible)
	}
	var missing []string
	for _, f := range m.Target.CPUFeatures {
		if !slices.Contains(features, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("compiled for CPU features %s, which this machine lacks (convert it here, or with --cpu generic): %w",
			strings.Join(missing, ", "), ErrIncompatible)
	}
	return nil
}

// sameRelease reports whether files written by GoCANN version a are read
// by version b: the same major version, and before 1.0, when any minor
// release may change what the graph means, the same minor version too
// (semantic versioning's rule for 0.y.z). Pre-release and build suffixes
// do not matter.
func sameRelease(a, b string) bool {
	amaj, amin, ok1 := majorMinor(a)
	bmaj, bmin, ok2 := majorMinor(b)
	if !ok1 || !ok2 || amaj != bmaj {
		return false
	}
	return amaj != 0 || amin == bmin
}

func majorMinor(v string) (major, minor int, ok bool) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(parts[0])
	minor, err2 = strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil && major >= 0 && minor >= 0
}

// ParseCPUTarget turns the --cpu flag of `cann convert` into features:
// "native" (this machine's, as NativeFeatures), "generic" (none: the file
// runs on any machine of the architecture) or a comma-separated list.
func ParseCPUTarget(s string) ([]string, error) {
	switch s {
	case "", "native":
		return NativeFeatures(), nil
	case "generic":
		return []string{}, nil
	}
	known := kernelFeatures[goruntime.GOARCH]
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if !slices.Contains(known, f) {
			return nil, fmt.Errorf("CPU feature %q: want native, generic or a list of %s", f, strings.Join(known, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}
