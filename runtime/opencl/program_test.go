package opencl_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/opencl"
)

const scaleSource = `
__kernel void scale(__global float* x, float a, uint n) {
	uint i = get_global_id(0);
	if (i < n) x[i] *= a;
}
`

// build builds src on a fresh backend over dir and returns the device's
// build statistics, after checking that the program works.
func buildIn(t *testing.T, dir, src string) opencl.BuildStats {
	t.Helper()
	d, err := newBackend(t, dir).Device(0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.BuildProgram(src, "-cl-fast-relaxed-math")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Kernel("scale"); err != nil {
		t.Fatalf("kernel of a program from the cache: %v", err)
	}
	checkScale(t, d, p)
	return d.BuildStats()
}

// checkScale runs the scale kernel of p and checks its result.
func checkScale(t *testing.T, d *opencl.Device, p *opencl.Program) {
	t.Helper()
	k, err := p.Kernel("scale")
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(t, d)
	buf := alloc(t, d, 4*5)
	upload(t, s, buf, floatBytes(1, 2, 3, 4, 5))
	must(t, s.Launch(opencl.Launch{Kernel: k, Global: []int{8}, Args: []any{buf, float32(3), uint32(5)}}))
	if got := bytesFloats(download(t, s, buf, 20)); !equalFloats(got, []float32{3, 6, 9, 12, 15}) {
		t.Errorf("scale = %v", got)
	}
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.clbin"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestProgramCache(t *testing.T) {
	dir := t.TempDir()
	first := buildIn(t, dir, scaleSource)
	if first.Compiled != 1 || first.Loaded != 0 {
		t.Fatalf("first build: %+v, want one compile", first)
	}
	files := cacheFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("cache holds %v, want one entry", files)
	}

	// A new process (a new backend) compiles nothing.
	second := buildIn(t, dir, scaleSource)
	if second.Compiled != 0 || second.Loaded != 1 || second.Rejected != 0 {
		t.Errorf("second build: %+v, want one load and no compile", second)
	}

	// Within a process a program is built once.
	d := firstDeviceIn(t, dir)
	for range 3 {
		if _, err := d.BuildProgram(scaleSource, "-cl-fast-relaxed-math"); err != nil {
			t.Fatal(err)
		}
	}
	if st := d.BuildStats(); st.Loaded != 1 || st.Memo != 2 || st.Compiled != 0 {
		t.Errorf("three builds in one backend: %+v, want one load and two memo hits", st)
	}

	// Other options are another program.
	if _, err := d.BuildProgram(scaleSource, ""); err != nil {
		t.Fatal(err)
	}
	if st := d.BuildStats(); st.Compiled != 1 {
		t.Errorf("build with other options: %+v, want a compile", st)
	}
	if n := len(cacheFiles(t, dir)); n != 2 {
		t.Errorf("%d cache entries, want 2", n)
	}
}

func firstDeviceIn(t *testing.T, dir string) *opencl.Device {
	t.Helper()
	d, err := newBackend(t, dir).Device(0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestProgramCacheCorrupt(t *testing.T) {
	// Every way an entry can be wrong is detected before the driver sees
	// it, and the entry is rebuilt (and then loads again).
	for _, c := range []struct {
		name    string
		corrupt func(raw []byte) []byte
	}{
		{"flipped payload bit", func(raw []byte) []byte { raw[len(raw)-7] ^= 0x10; return raw }},
		{"flipped checksum bit", func(raw []byte) []byte { raw[8+32+8+3] ^= 1; return raw }},
		{"truncated", func(raw []byte) []byte { return raw[:len(raw)/2] }},
		{"empty", func([]byte) []byte { return nil }},
		{"bad magic", func(raw []byte) []byte { raw[0] = 'X'; return raw }},
		{"another key", func(raw []byte) []byte { raw[8] ^= 0xff; return raw }},
		{"extra bytes", func(raw []byte) []byte { return append(raw, 0) }},
		{"garbage", func(raw []byte) []byte { return []byte(strings.Repeat("not a program ", 100)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			buildIn(t, dir, scaleSource)
			files := cacheFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("cache holds %v", files)
			}
			raw, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(files[0], c.corrupt(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			st := buildIn(t, dir, scaleSource)
			if st.Rejected != 1 || st.Compiled != 1 || st.Loaded != 0 {
				t.Errorf("build over a corrupt entry: %+v, want it rejected and compiled", st)
			}
			if st := buildIn(t, dir, scaleSource); st.Loaded != 1 || st.Compiled != 0 {
				t.Errorf("build after the rebuild: %+v, want a load", st)
			}
		})
	}

	t.Run("entry of another program", func(t *testing.T) {
		// A valid entry renamed to another program's key: its header names
		// the wrong key, so it is not used for this program.
		dir := t.TempDir()
		buildIn(t, dir, scaleSource)
		other := strings.Replace(scaleSource, "*= a", "*= a + 0.0f", 1)
		buildIn(t, dir, other)
		files := cacheFiles(t, dir)
		if len(files) != 2 {
			t.Fatalf("cache holds %v", files)
		}
		a, _ := os.ReadFile(files[0])
		if err := os.WriteFile(files[1], a, 0o600); err != nil {
			t.Fatal(err)
		}
		// Whichever file was overwritten, exactly one of the two programs
		// now finds a mismatched entry.
		st1 := buildIn(t, dir, scaleSource)
		st2 := buildIn(t, dir, other)
		if st1.Rejected+st2.Rejected != 1 || st1.Compiled+st2.Compiled != 1 {
			t.Errorf("stats %+v and %+v, want one rejection and one compile", st1, st2)
		}
	})
}

func TestProgramCacheOff(t *testing.T) {
	b, err := opencl.New(opencl.Options{CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Err() != nil {
		t.Skip(b.Err())
	}
	if b.CacheDir() != "" {
		t.Errorf("CacheDir = %q with the cache off", b.CacheDir())
	}
	d, _ := b.Device(0)
	p, err := d.BuildProgram(scaleSource, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.FromCache() || d.BuildStats().Compiled != 1 {
		t.Errorf("stats %+v", d.BuildStats())
	}
}

func TestCacheDirFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOCANN_CACHE_DIR", dir)
	b, err := opencl.New(opencl.Options{Library: "libOpenCL-does-not-exist.so.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if want := filepath.Join(dir, "opencl"); b.CacheDir() != want {
		t.Errorf("CacheDir = %q, want %q", b.CacheDir(), want)
	}
	t.Setenv("GOCANN_CACHE_DIR", "")
	t.Setenv("XDG_CACHE_HOME", dir)
	b2, _ := opencl.New(opencl.Options{Library: "libOpenCL-does-not-exist.so.9"})
	defer b2.Close()
	if want := filepath.Join(dir, "gocann", "opencl"); b2.CacheDir() != want {
		t.Errorf("default CacheDir = %q, want %q", b2.CacheDir(), want)
	}
}

func TestBuildErrors(t *testing.T) {
	d := firstDevice(t)
	_, err := d.BuildProgram("__kernel void broken(__global float* x) { x[0] = undeclared; }", "")
	var be *opencl.BuildError
	if !errors.As(err, &be) || !errors.Is(err, runtime.ErrInvalidArgument) || !strings.Contains(be.Log, "undeclared") {
		t.Errorf("build of bad source = %v; want a BuildError with the log, wrapping ErrInvalidArgument", err)
	}
	if _, err := d.BuildProgram(scaleSource, "-no-such-option"); !errors.Is(err, runtime.ErrInvalidArgument) {
		t.Errorf("build with a bad option = %v, want ErrInvalidArgument", err)
	}
	p, err := d.BuildProgram(scaleSource, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Kernel("nope"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Kernel(nope) = %v, want ErrNotFound", err)
	}
	var ce *opencl.Error
	if _, err := p.Kernel("nope"); !errors.As(err, &ce) || ce.Code != -46 || !strings.Contains(err.Error(), "CL_INVALID_KERNEL_NAME") {
		t.Errorf("Kernel(nope) = %v, want the CL error named", err)
	}
}
