package cpu

import (
	"slices"
	"testing"
	"testing/fstest"
)

const x86CPUInfo = `processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 26
model		: 2
model name	: AMD EPYC 9B14
flags		: fpu vme de pse avx avx2 fma
cache size	: 1024 KB

processor	: 1
vendor_id	: AuthenticAMD
model name	: AMD EPYC 9B14
`

const intelCPUInfo = `processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8480+
`

const arm64CPUInfo = `processor	: 0
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x3
CPU part	: 0xd0c

processor	: 1
CPU implementer	: 0x48
`

func TestParseCPUInfo(t *testing.T) {
	for _, c := range []struct {
		name, in     string
		model, vendr string
	}{
		{"x86 amd, first processor wins", x86CPUInfo, "AMD EPYC 9B14", "AuthenticAMD"},
		{"x86 intel", intelCPUInfo, "Intel(R) Xeon(R) Platinum 8480+", "GenuineIntel"},
		{"arm64 implementer", arm64CPUInfo, "", "ARM"},
		{"hisilicon", "CPU implementer : 0x48\n", "", "HiSilicon"},
		{"unknown implementer kept", "CPU implementer : 0x99\n", "", "0x99"},
		{"malformed implementer kept", "CPU implementer : zz\n", "", "zz"},
		{"empty", "", "", ""},
		{"no colon lines", "garbage\n\n  \n", "", ""},
		{"value with colon", "model name : Foo: Bar\n", "Foo: Bar", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, v := parseCPUInfo(c.in)
			if m != c.model || v != c.vendr {
				t.Errorf("parseCPUInfo = %q, %q; want %q, %q", m, v, c.model, c.vendr)
			}
		})
	}
}

func TestParseMemTotal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"MemTotal:       24683620 kB\nMemFree: 1 kB\n", 24683620 << 10},
		{"MemFree: 1 kB\nMemTotal: 2048 kB", 2048 << 10},
		{"MemTotal: 12", 12},
		{"MemTotal: 3 MB", 3 << 20},
		{"MemTotal:\n", 0},
		{"MemTotal: lots kB\n", 0},
		{"MemTotal: -5 kB\n", 0},
		{"MemTotal: 99999999999999999 kB\n", 0}, // overflows int64 bytes
		{"", 0},
		{"SwapTotal: 100 kB\n", 0},
	} {
		if got := parseMemTotal(c.in); got != c.want {
			t.Errorf("parseMemTotal(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestParseCgroupLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"max\n", 0},
		{"9223372036854771712\n", 0}, // cgroup v1 "unlimited"
		{"1073741824\n", 1 << 30},
		{"0", 0},
		{"", 0},
		{"-1", 0},
	} {
		if got := parseCgroupLimit(c.in); got != c.want {
			t.Errorf("parseCgroupLimit(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestParseCacheSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"48K\n", 48 << 10},
		{"2048K", 2 << 20},
		{"32M", 32 << 20},
		{"1G", 1 << 30},
		{"512", 512},
		{"", 0},
		{"K", 0},
		{"12Q", 0},
		{"-4K", 0},
		{"99999999999999999999K", 0},
	} {
		if got := parseCacheSize(c.in); got != c.want {
			t.Errorf("parseCacheSize(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestCacheSizes(t *testing.T) {
	for _, c := range []struct {
		name       string
		idx        []cacheIndex
		l1, l2, l3 int64
	}{
		{"none", nil, 0, 0, 0},
		{"typical x86", []cacheIndex{
			{"1\n", "Data\n", "48K\n"},
			{"1\n", "Instruction\n", "32K\n"},
			{"2\n", "Unified\n", "2048K\n"},
			{"3\n", "Unified\n", "105M\n"},
		}, 48 << 10, 2 << 20, 105 << 20},
		{"unified L1, no L3", []cacheIndex{{"1", "Unified", "64K"}, {"2", "Unified", "1M"}}, 64 << 10, 1 << 20, 0},
		{"instruction only", []cacheIndex{{"1", "Instruction", "64K"}}, 0, 0, 0},
		{"malformed entries ignored", []cacheIndex{{"x", "Data", "1K"}, {"2", "Unified", "junk"}}, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			l1, l2, l3 := cacheSizes(c.idx)
			if l1 != c.l1 || l2 != c.l2 || l3 != c.l3 {
				t.Errorf("cacheSizes = %d, %d, %d; want %d, %d, %d", l1, l2, l3, c.l1, c.l2, c.l3)
			}
		})
	}
}

func TestFeatures(t *testing.T) {
	all := cpuFlags{
		AVX: true, AVX2: true, FMA: true, F16C: true, AVX512F: true, AVX512BW: true, AVX512VL: true,
		AVX512DQ: true, AVX512BF16: true, VNNI512: true, AVXVNNI: true,
		ASIMD: true, FPHP: true, ASIMDHP: true, SVE: true,
	}
	for _, c := range []struct {
		name, arch string
		flags      cpuFlags
		want       []string
	}{
		{"amd64 none", "amd64", cpuFlags{}, nil},
		{"amd64 avx2 fma", "amd64", cpuFlags{AVX: true, AVX2: true, FMA: true, ASIMD: true}, []string{"avx", "avx2", "fma"}},
		{"amd64 all, arm bits ignored", "amd64", all, []string{
			"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512bf16", "avx512vnni", "avxvnni"}},
		{"arm64 all, x86 bits ignored", "arm64", all, []string{"neon", "fp16", "sve"}},
		{"arm64 fp16 needs scalar and vector", "arm64", cpuFlags{ASIMD: true, FPHP: true}, []string{"neon"}},
		{"riscv64", "riscv64", all, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := features(c.arch, c.flags); !slices.Equal(got, c.want) {
				t.Errorf("features = %q, want %q", got, c.want)
			}
		})
	}
}

func TestReadHostInfo(t *testing.T) {
	full := fstest.MapFS{
		"proc/cpuinfo":             {Data: []byte(intelCPUInfo)},
		"proc/meminfo":             {Data: []byte("MemTotal: 1024 kB\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("524288\n")},
		"sys/devices/system/cpu/cpu0/cache/index0/level": {Data: []byte("1\n")},
		"sys/devices/system/cpu/cpu0/cache/index0/type":  {Data: []byte("Data\n")},
		"sys/devices/system/cpu/cpu0/cache/index0/size":  {Data: []byte("48K\n")},
		"sys/devices/system/cpu/cpu0/cache/index1/level": {Data: []byte("1\n")},
		"sys/devices/system/cpu/cpu0/cache/index1/type":  {Data: []byte("Instruction\n")},
		"sys/devices/system/cpu/cpu0/cache/index1/size":  {Data: []byte("32K\n")},
		"sys/devices/system/cpu/cpu0/cache/index2/level": {Data: []byte("2\n")},
		"sys/devices/system/cpu/cpu0/cache/index2/type":  {Data: []byte("Unified\n")},
		"sys/devices/system/cpu/cpu0/cache/index2/size":  {Data: []byte("2048K\n")},
		"sys/devices/system/cpu/cpu0/cache/index3/level": {Data: []byte("3\n")},
		"sys/devices/system/cpu/cpu0/cache/index3/type":  {Data: []byte("Unified\n")},
		"sys/devices/system/cpu/cpu0/cache/index3/size":  {Data: []byte("64M\n")},
	}
	v1 := fstest.MapFS{
		"proc/cpuinfo": {Data: []byte(arm64CPUInfo)},
		"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
	}
	for _, c := range []struct {
		name string
		fsys fstest.MapFS
		want hostInfo
	}{
		{"linux x86", full, hostInfo{
			Name: "Intel(R) Xeon(R) Platinum 8480+", Vendor: "GenuineIntel", Memory: 1 << 20, MemLimit: 512 << 10,
			L1DCache: 48 << 10, L2Cache: 2 << 20, L3Cache: 64 << 20,
		}},
		{"arm64, unlimited cgroup v1", v1, hostInfo{Name: "arm64", Vendor: "ARM"}},
		{"nothing readable", fstest.MapFS{}, hostInfo{Name: "arm64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := readHostInfo(c.fsys, "arm64"); got != c.want {
				t.Errorf("readHostInfo =\n %+v\nwant\n %+v", got, c.want)
			}
		})
	}
}

func TestNewBackendMemoryLimit(t *testing.T) {
	// Allocation bound: the option, else the smaller of MemTotal and the
	// cgroup limit, else a fixed fallback. Memory reports the option or
	// MemTotal.
	for _, c := range []struct {
		name              string
		opt               int64
		info              hostInfo
		wantLimit, wantMB int64
	}{
		{"option wins", 1 << 20, hostInfo{Memory: 1 << 30, MemLimit: 1 << 25}, 1 << 20, 1 << 20},
		{"cgroup below total", 0, hostInfo{Memory: 1 << 30, MemLimit: 1 << 25}, 1 << 25, 1 << 30},
		{"cgroup above total", 0, hostInfo{Memory: 1 << 30, MemLimit: 1 << 40}, 1 << 30, 1 << 30},
		{"only cgroup", 0, hostInfo{MemLimit: 1 << 25}, 1 << 25, 0},
		{"nothing known", 0, hostInfo{}, fallbackMemory, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBackend(1, c.opt, c.info, nil)
			defer b.Close()
			if b.dev.limit != c.wantLimit || b.dev.props.Memory != c.wantMB {
				t.Errorf("limit %d, Memory %d; want %d, %d", b.dev.limit, b.dev.props.Memory, c.wantLimit, c.wantMB)
			}
		})
	}
}
