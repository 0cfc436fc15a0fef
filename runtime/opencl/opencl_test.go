package opencl_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/runtime/runtimetest"
)

// newBackend opens the OpenCL backend with a private program cache. Without
// an OpenCL device the test is skipped, unless GOCANN_REQUIRE_OPENCL is set
// (CI installs PoCL and sets it, so a broken setup fails loudly).
func newBackend(t testing.TB, cacheDir string) *opencl.Backend {
	t.Helper()
	if cacheDir == "" {
		cacheDir = t.TempDir()
	}
	b, err := opencl.New(opencl.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if b.Err() != nil {
		if os.Getenv("GOCANN_REQUIRE_OPENCL") != "" {
			t.Fatalf("no OpenCL device: %v", b.Err())
		}
		t.Skipf("no OpenCL device: %v", b.Err())
	}
	return b
}

func firstDevice(t testing.TB) *opencl.Device {
	t.Helper()
	d, err := newBackend(t, "").Device(0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const fillSource = `
__kernel void fill(__global uchar* p, ulong off, ulong n, uchar v) {
	size_t i = get_global_id(0);
	if (i < n) p[off + i] = v;
}
`

// fillKernel is the conformance suite's fill: a real kernel launch, so the
// suite checks that launches keep their place among copies.
func fillKernel(t testing.TB, d *opencl.Device) func(runtime.Buffer, int64, int64, byte) runtime.Kernel {
	t.Helper()
	p, err := d.BuildProgram(fillSource, "")
	if err != nil {
		t.Fatal(err)
	}
	k, err := p.Kernel("fill")
	if err != nil {
		t.Fatal(err)
	}
	return func(buf runtime.Buffer, off, n int64, v byte) runtime.Kernel {
		return opencl.Launch{Kernel: k, Global: []int{int(n)}, Args: []any{buf, uint64(off), uint64(n), v}}
	}
}

func TestConformance(t *testing.T) {
	d := firstDevice(t)
	t.Logf("%s: %s (%s), %s", d.Properties().ID(), d.Properties().Name, d.Properties().Driver, d.Info().Version)
	runtimetest.Run(t, d, runtimetest.Options{Fill: fillKernel(t, d)})
}

func TestConformanceWithoutKernels(t *testing.T) {
	runtimetest.Run(t, firstDevice(t), runtimetest.Options{})
}

func TestMissingLibrary(t *testing.T) {
	b, err := opencl.New(opencl.Options{Library: "libOpenCL-does-not-exist.so.9", CacheDir: "off"})
	if err != nil {
		t.Fatalf("New with a missing library = %v, want a backend without devices", err)
	}
	defer b.Close()
	devs, err := b.Devices()
	if err != nil || len(devs) != 0 {
		t.Errorf("Devices = %v, %v; want none, nil", devs, err)
	}
	if !errors.Is(b.Err(), runtime.ErrNotFound) {
		t.Errorf("Err = %v, want ErrNotFound", b.Err())
	}
	if _, err := b.Device(0); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Device(0) = %v, want ErrNotFound", err)
	}
}

// TestNoPlatform runs itself in a child process whose ICD loader finds no
// platform (an empty OCL_ICD_VENDORS): the library loads, and the backend
// has no devices and says why. A child, because the loader reads its
// configuration once per process.
func TestNoPlatform(t *testing.T) {
	if os.Getenv("GOCANN_TEST_NO_PLATFORM_CHILD") != "" {
		b, err := opencl.New(opencl.Options{CacheDir: "off"})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		devs, err := b.Devices()
		if err != nil || len(devs) != 0 || !errors.Is(b.Err(), runtime.ErrNotFound) {
			t.Fatalf("Devices = %v, %v; Err = %v; want none and ErrNotFound", devs, err, b.Err())
		}
		t.Logf("reason: %v", b.Err())
		return
	}
	if _, err := os.Stat("/etc/OpenCL/vendors"); err != nil {
		t.Skip("no ICD loader configuration to override here")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoPlatform$", "-test.v")
	cmd.Env = append(os.Environ(), "GOCANN_TEST_NO_PLATFORM_CHILD=1", "OCL_ICD_VENDORS="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "reason:") {
		t.Errorf("child did not check: %s", out)
	}
}
