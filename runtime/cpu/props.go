package cpu

// Property detection. Everything that interprets text is a pure function of
// its input (a string, an fs.FS, a struct of feature bits), so the tests feed
// it canned /proc and /sys contents; only hostProps touches the real system.
// Every source is optional: a missing or unreadable file leaves its fields
// at their fallback (GOARCH for the name, 0 for sizes), never an error, so
// the backend works the same on Linux, macOS or inside a minimal container.

import (
	"bufio"
	"io/fs"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/cpu"
)

// hostInfo is what the operating system tells about the processor and memory.
type hostInfo struct {
	Name, Vendor               string
	Memory                     int64 // MemTotal, 0 if unknown
	MemLimit                   int64 // cgroup memory limit, 0 if none
	L1DCache, L2Cache, L3Cache int64
}

// readHostInfo gathers hostInfo from a file system laid out like Linux's
// root (os.DirFS("/") in production, fstest.MapFS in tests).
func readHostInfo(fsys fs.FS, goarch string) hostInfo {
	var h hostInfo
	if b, err := fs.ReadFile(fsys, "proc/cpuinfo"); err == nil {
		h.Name, h.Vendor = parseCPUInfo(string(b))
	}
	if h.Name == "" {
		h.Name = goarch
	}
	if b, err := fs.ReadFile(fsys, "proc/meminfo"); err == nil {
		h.Memory = parseMemTotal(string(b))
	}
	// cgroup v2 first, then v1; a container's limit is what can really be
	// allocated before the kernel's OOM killer steps in.
	for _, p := range []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := fs.ReadFile(fsys, p); err == nil {
			if l := parseCgroupLimit(string(b)); l > 0 {
				h.MemLimit = l
				break
			}
		}
	}
	var idx []cacheIndex
	dirs, _ := fs.Glob(fsys, "sys/devices/system/cpu/cpu0/cache/index*")
	for _, d := range dirs {
		read := func(name string) string {
			b, err := fs.ReadFile(fsys, d+"/"+name)
			if err != nil {
				return ""
			}
			return string(b)
		}
		idx = append(idx, cacheIndex{Level: read("level"), Type: read("type"), Size: read("size")})
	}
	h.L1DCache, h.L2Cache, h.L3Cache = cacheSizes(idx)
	return h
}

// parseCPUInfo returns the processor name and vendor of the first processor
// listed in /proc/cpuinfo. x86 kernels give "model name" and "vendor_id";
// arm64 kernels give neither, only "CPU implementer", which is mapped to a
// vendor name where known.
func parseCPUInfo(s string) (name, vendor string) {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 4096), 1<<20) // the flags line can be long
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "model name", "Model Name", "cpu model": // x86, some arm32, mips
			if name == "" {
				name = val
			}
		case "vendor_id":
			if vendor == "" {
				vendor = val
			}
		case "CPU implementer":
			if vendor == "" {
				vendor = armImplementer(val)
			}
		}
	}
	return name, vendor
}

// armImplementer names the holder of an Arm implementer code (MIDR_EL1
// bits 31:24) as printed by Linux, e.g. "0x41"; unknown codes are kept.
func armImplementer(code string) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(code), "0x"), 16, 8)
	if err != nil {
		return code
	}
	switch v {
	case 0x41:
		return "ARM"
	case 0x42:
		return "Broadcom"
	case 0x43:
		return "Cavium"
	case 0x46:
		return "Fujitsu"
	case 0x48:
		return "HiSilicon"
	case 0x4e:
		return "NVIDIA"
	case 0x50:
		return "APM"
	case 0x51:
		return "Qualcomm"
	case 0x61:
		return "Apple"
	case 0x6d:
		return "Microsoft"
	case 0xc0:
		return "Ampere"
	}
	return code
}

// parseMemTotal returns MemTotal from /proc/meminfo in bytes, 0 if absent.
func parseMemTotal(s string) int64 {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		mult := int64(1)
		if len(f) > 1 {
			switch strings.ToLower(f[1]) {
			case "kb":
				mult = 1 << 10
			case "mb":
				mult = 1 << 20
			case "gb":
				mult = 1 << 30
			}
		}
		if n > (1<<63-1)/mult {
			return 0
		}
		return n * mult
	}
	return 0
}

// parseCgroupLimit reads a cgroup memory limit ("max", or a byte count). It
// returns 0 for "no limit", including cgroup v1's way of saying so, a number
// close to the largest int64.
func parseCgroupLimit(s string) int64 {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}

// cacheIndex is one /sys/devices/system/cpu/cpu0/cache/indexN directory.
type cacheIndex struct{ Level, Type, Size string }

// cacheSizes picks the level-1 data cache and the level-2 and level-3
// caches from the sysfs cache descriptions. Instruction caches are skipped;
// a unified level-1 cache counts as the data cache.
func cacheSizes(idx []cacheIndex) (l1d, l2, l3 int64) {
	for _, c := range idx {
		typ := strings.TrimSpace(c.Type)
		if typ == "Instruction" {
			continue
		}
		size := parseCacheSize(c.Size)
		switch strings.TrimSpace(c.Level) {
		case "1":
			l1d = max(l1d, size)
		case "2":
			l2 = max(l2, size)
		case "3":
			l3 = max(l3, size)
		}
	}
	return l1d, l2, l3
}

// parseCacheSize parses sysfs cache sizes such as "48K", "2048K", "32M" or
// a plain byte count; 0 if malformed.
func parseCacheSize(s string) int64 {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0
	}
	return n * mult
}

// cpuFlags are the instruction-set bits the backend reports, copied out of
// golang.org/x/sys/cpu so that feature naming can be tested for any
// architecture on any machine.
type cpuFlags struct {
	// x86
	AVX, AVX2, FMA, F16C                                       bool
	AVX512F, AVX512BW, AVX512VL, AVX512DQ, AVX512BF16, VNNI512 bool
	AVXVNNI                                                    bool
	// arm64
	ASIMD, FPHP, ASIMDHP, SVE bool
}

// hostFlags reads the running processor's flags. x/sys/cpu already accounts
// for operating-system support (AVX state saved by the kernel, and so on).
func hostFlags() cpuFlags {
	x, a := &cpu.X86, &cpu.ARM64
	return cpuFlags{
		AVX: x.HasAVX, AVX2: x.HasAVX2, FMA: x.HasFMA, F16C: x.HasF16C,
		AVX512F: x.HasAVX512F, AVX512BW: x.HasAVX512BW, AVX512VL: x.HasAVX512VL,
		AVX512DQ: x.HasAVX512DQ, AVX512BF16: x.HasAVX512BF16, VNNI512: x.HasAVX512VNNI,
		AVXVNNI: x.HasAVXVNNI,
		ASIMD:   a.HasASIMD, FPHP: a.HasFPHP, ASIMDHP: a.HasASIMDHP, SVE: a.HasSVE,
	}
}

// features names the flags that matter to kernels on goarch, in a fixed
// order, lower case. Flags of another architecture are ignored. "fp16" on
// arm64 means scalar and vector half-precision arithmetic both.
func features(goarch string, f cpuFlags) []string {
	var out []string
	add := func(name string, ok bool) {
		if ok {
			out = append(out, name)
		}
	}
	switch goarch {
	case "amd64", "386":
		add("avx", f.AVX)
		add("avx2", f.AVX2)
		add("fma", f.FMA)
		add("f16c", f.F16C)
		add("avx512f", f.AVX512F)
		add("avx512bw", f.AVX512BW)
		add("avx512vl", f.AVX512VL)
		add("avx512dq", f.AVX512DQ)
		add("avx512bf16", f.AVX512BF16)
		add("avx512vnni", f.VNNI512)
		add("avxvnni", f.AVXVNNI)
	case "arm64":
		add("neon", f.ASIMD)
		add("fp16", f.FPHP && f.ASIMDHP)
		add("sve", f.SVE)
	}
	return out
}

// HostFeatures names the instruction-set features of the running
// processor that matter to kernels, lower case, in a fixed order: what
// Properties().Features reports, without opening a device. Compiled model
// files record it and are checked against it.
func HostFeatures() []string { return features(goruntime.GOARCH, hostFlags()) }

// hostProps is the running machine's description.
func hostProps() (hostInfo, []string) {
	return readHostInfo(os.DirFS("/"), goruntime.GOARCH), features(goruntime.GOARCH, hostFlags())
}

var hostCaches struct {
	once        sync.Once
	l1d, l2, l3 int64
}

// CacheSizes returns the host's L1 data, L2 and L3 cache sizes in bytes as
// the operating system reports them, 0 where unknown (a container without
// /sys, for one). Kernels size their blocking from it, with defaults for 0.
func CacheSizes() (l1d, l2, l3 int64) {
	c := &hostCaches
	c.once.Do(func() {
		h := readHostInfo(os.DirFS("/"), goruntime.GOARCH)
		c.l1d, c.l2, c.l3 = h.L1DCache, h.L2Cache, h.L3Cache
	})
	return c.l1d, c.l2, c.l3
}
