package opencl

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocann/gocann/runtime"
)

// Info is what kernels need to know of an OpenCL device beyond
// runtime.Properties: limits that choose work-group and tile sizes.
type Info struct {
	Platform         string   // platform name, e.g. "Portable Computing Language"
	PlatformVersion  string   // e.g. "OpenCL 3.0 PoCL 3.1+debian …"
	Version          string   // CL_DEVICE_VERSION, e.g. "OpenCL 3.0 PoCL …"
	CVersion         string   // CL_DEVICE_OPENCL_C_VERSION, e.g. "OpenCL C 1.2 PoCL"
	Major, Minor     int      // the device's OpenCL version, e.g. 3, 0
	Extensions       []string // e.g. "cl_khr_fp16", "cl_khr_fp64"
	MaxWorkGroupSize int      // work items in one work group
	MaxWorkItemSizes [3]int   // per dimension
	LocalMemSize     int64    // bytes of local (shared) memory per work group
	MaxAllocSize     int64    // largest single buffer
	ClockMHz         int
}

// HasExtension reports whether the device lists the extension.
func (i Info) HasExtension(name string) bool { return slices.Contains(i.Extensions, name) }

// Device is one OpenCL device with its own context.
type Device struct {
	backend  *Backend
	lib      *lib
	id       clDevice
	platform clPlatform
	props    runtime.Properties
	info     Info

	// The context and the clock calibration are made on first use, so that
	// listing devices (cann devices) costs no driver start-up.
	initOnce sync.Once
	initErr  error
	ctx      clContext
	// clockOffset converts the device's profiling clock (ns) to Unix ns;
	// clockOK is false when the device gives no profiling information.
	clockOffset int64
	clockOK     bool

	live  atomic.Int64 // bytes of live buffers
	limit int64

	progs programCache
}

func newDevice(b *Backend, index int, p clPlatform, pinfo platformInfo, id clDevice) (*Device, error) {
	l := b.lib
	str := func(param uint32) string {
		s, _ := infoString("clGetDeviceInfo", l.clGetDeviceInfo, uintptr(id), param)
		return strings.TrimSpace(s)
	}
	u32 := func(param uint32) int64 {
		v, _ := infoValue[uint32]("clGetDeviceInfo", l.clGetDeviceInfo, uintptr(id), param)
		return int64(v)
	}
	u64 := func(param uint32) int64 {
		v, _ := infoValue[uint64]("clGetDeviceInfo", l.clGetDeviceInfo, uintptr(id), param)
		return int64(v)
	}
	size := func(param uint32) int64 {
		v, _ := infoValue[uintptr]("clGetDeviceInfo", l.clGetDeviceInfo, uintptr(id), param)
		return int64(v)
	}
	name := str(clDeviceName)
	if avail := u32(clDeviceAvailable); avail == 0 {
		return nil, fmt.Errorf("device %q: not available: %w", name, runtime.ErrDeviceLost)
	}
	info := Info{
		Platform:         pinfo.name,
		PlatformVersion:  pinfo.version,
		Version:          str(clDeviceVersion),
		CVersion:         str(clDeviceOpenCLCVersion),
		Extensions:       strings.Fields(str(clDeviceExtensions)),
		MaxWorkGroupSize: int(size(clDeviceMaxWorkGroupSize)),
		LocalMemSize:     u64(clDeviceLocalMemSize),
		MaxAllocSize:     u64(clDeviceMaxMemAllocSize),
		ClockMHz:         int(u32(clDeviceMaxClockFrequency)),
	}
	info.Major, info.Minor = parseVersion(info.Version)
	if info.Major == 1 && info.Minor < 2 || info.Major < 1 {
		return nil, fmt.Errorf("device %q: %q, OpenCL 1.2 is the minimum: %w", name, info.Version, runtime.ErrUnsupported)
	}
	if dims := u32(clDeviceMaxWorkItemDimensions); dims >= 1 {
		if raw, err := infoBytes("clGetDeviceInfo", l.clGetDeviceInfo, uintptr(id), clDeviceMaxWorkItemSizes); err == nil {
			for i := 0; i < 3 && i < int(dims) && 8*(i+1) <= len(raw); i++ {
				info.MaxWorkItemSizes[i] = int(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
	}
	if info.MaxWorkGroupSize < 1 {
		info.MaxWorkGroupSize = 1
	}
	kind := runtime.KindAccelerator
	switch t := u64(clDeviceType); {
	case t&clDeviceTypeGPU != 0:
		kind = runtime.KindGPU
	case t&clDeviceTypeCPU != 0:
		kind = runtime.KindCPU
	}
	mem := u64(clDeviceGlobalMemSize)
	d := &Device{
		backend:  b,
		lib:      l,
		id:       id,
		platform: p,
		info:     info,
		limit:    mem,
		props: runtime.Properties{
			Backend:      "opencl",
			Index:        index,
			Name:         name,
			Vendor:       str(clDeviceVendor),
			Driver:       str(clDriverVersion),
			Kind:         kind,
			ComputeUnits: int(u32(clDeviceMaxComputeUnits)),
			Memory:       mem,
			L2Cache:      u64(clDeviceGlobalMemCacheSize),
			Features:     features(info, u64(clDeviceDoubleFPConfig) != 0),
		},
	}
	if d.limit <= 0 {
		d.limit = 1 << 62
	}
	d.progs.init()
	return d, nil
}

// parseVersion reads "OpenCL 3.0 …" into 3, 0.
func parseVersion(v string) (major, minor int) {
	f := strings.Fields(v)
	if len(f) < 2 || f[0] != "OpenCL" {
		return 0, 0
	}
	a, b, _ := strings.Cut(f[1], ".")
	major, _ = strconv.Atoi(a)
	minor, _ = strconv.Atoi(b)
	return major, minor
}

// features lists the device's capabilities as lower-case words: the
// OpenCL and OpenCL C versions, fp16/fp64 when present, and the extensions.
func features(info Info, fp64 bool) []string {
	var fs []string
	add := func(f string) {
		f = strings.ToLower(f)
		if f != "" && !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	if info.Major > 0 {
		add(fmt.Sprintf("opencl-%d.%d", info.Major, info.Minor))
	}
	if f := strings.Fields(info.CVersion); len(f) >= 3 && f[0] == "OpenCL" && f[1] == "C" {
		add("opencl-c-" + f[2])
	}
	if slices.Contains(info.Extensions, "cl_khr_fp16") {
		add("fp16")
	}
	if fp64 || slices.Contains(info.Extensions, "cl_khr_fp64") {
		add("fp64")
	}
	for _, e := range info.Extensions {
		add(e)
	}
	return fs
}

// Properties describes the device. The Features slice is a copy.
func (d *Device) Properties() runtime.Properties {
	p := d.props
	p.Features = slices.Clone(p.Features)
	return p
}

// Info returns the device's OpenCL limits and versions.
func (d *Device) Info() Info {
	i := d.info
	i.Extensions = slices.Clone(i.Extensions)
	return i
}

// Backend returns the backend the device belongs to.
func (d *Device) Backend() *Backend { return d.backend }

// init makes the device's context and calibrates its clock, once.
func (d *Device) init() error {
	d.initOnce.Do(func() {
		ctx, err := d.lib.createContext(d.id)
		if err != nil {
			d.initErr = fmt.Errorf("opencl: %s: %w", d.props.ID(), err)
			return
		}
		d.ctx = ctx
		d.calibrateClock()
	})
	return d.initErr
}

// calibrateClock finds the offset between the device's profiling clock and
// the host's wall clock: a marker's end time, read right after it
// completes. Event times are then exact relative to each other (elapsed
// times come from the device clock alone) and close to the wall clock.
func (d *Device) calibrateClock() {
	q, err := d.lib.createQueue(d.ctx, d.id, true)
	if err != nil {
		return
	}
	defer call(d.lib.clReleaseCommandQueue, uintptr(q))
	var ev clEvent
	if d.lib.enqueueMarker(q, &ev) != nil {
		return
	}
	defer d.lib.release(ev)
	if d.lib.finishQueue(q) != nil {
		return
	}
	now := time.Now().UnixNano()
	end, err := d.lib.eventEnd(ev)
	if err != nil || end == 0 {
		return
	}
	d.clockOffset, d.clockOK = now-int64(end), true
}

// usable reports why the device cannot take new work.
func (d *Device) usable(what string) error {
	if d.backend.closed.Load() {
		return fmt.Errorf("opencl: %s: %w", what, runtime.ErrClosed)
	}
	return d.init()
}

// enter holds the device's context alive for an OpenCL call that uses it
// (Close releases contexts only once no such call is under way); the
// caller calls leave when done.
func (d *Device) enter(what string) (leave func(), err error) {
	b := d.backend
	b.life.RLock()
	if err := d.usable(what); err != nil {
		b.life.RUnlock()
		return nil, err
	}
	return b.life.RUnlock, nil
}

// close releases the device's programs and context.
func (d *Device) close() error {
	d.progs.release(d.lib)
	if d.ctx != 0 {
		call(d.lib.clReleaseContext, uintptr(d.ctx))
		d.ctx = 0
	}
	return nil
}

// Alloc returns n bytes of device memory (contents undefined). Sizes past
// the device's largest allocation or its free memory are ErrOutOfMemory.
func (d *Device) Alloc(n int64) (runtime.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("opencl: alloc %d bytes: negative size: %w", n, runtime.ErrInvalidArgument)
	}
	leave, err := d.enter(fmt.Sprintf("alloc %d bytes", n))
	if err != nil {
		return nil, err
	}
	defer leave()
	if n > d.info.MaxAllocSize && d.info.MaxAllocSize > 0 {
		return nil, fmt.Errorf("opencl: %s: alloc %d bytes: past the largest allocation of %d: %w", d.props.ID(), n, d.info.MaxAllocSize, runtime.ErrOutOfMemory)
	}
	for {
		live := d.live.Load()
		if n > d.limit-live {
			return nil, fmt.Errorf("opencl: %s: alloc %d bytes: %d of %d in use: %w", d.props.ID(), n, live, d.limit, runtime.ErrOutOfMemory)
		}
		if d.live.CompareAndSwap(live, live+n) {
			break
		}
	}
	buf := &Buffer{dev: d, size: n}
	if n == 0 {
		// OpenCL has no empty buffers; a zero-byte one needs no memory.
		return buf, nil
	}
	mem, err := d.lib.createBuffer(d.ctx, n)
	if err != nil {
		d.live.Add(-n)
		return nil, fmt.Errorf("opencl: %s: alloc %d bytes: %w", d.props.ID(), n, err)
	}
	buf.mem = mem
	return buf, nil
}

// NewStream returns an in-order queue of work on the device.
func (d *Device) NewStream() (runtime.Stream, error) {
	return d.newStream()
}

// NewEvent returns an event that has never been recorded.
func (d *Device) NewEvent() (runtime.Event, error) {
	if err := d.usable("new event"); err != nil {
		return nil, err
	}
	return &Event{dev: d}, nil
}

// Buffer is device memory (a cl_mem) of one OpenCL device.
type Buffer struct {
	dev   *Device
	mem   clMem // 0 for a zero-byte buffer
	size  int64
	freed atomic.Bool
}

// Device returns the device that owns the memory.
func (b *Buffer) Device() runtime.Device { return b.dev }

// Size is the buffer's length in bytes.
func (b *Buffer) Size() int64 { return b.size }

// Free releases the memory. Work still pending that uses the buffer keeps
// it alive (OpenCL counts references), but its contents are then lost to
// the caller. A second Free returns ErrClosed.
func (b *Buffer) Free() error {
	if !b.freed.CompareAndSwap(false, true) {
		return fmt.Errorf("opencl: free buffer of %d bytes: %w", b.size, runtime.ErrClosed)
	}
	if b.mem != 0 {
		call(b.dev.lib.clReleaseMemObject, uintptr(b.mem))
	}
	b.dev.live.Add(-b.size)
	return nil
}

// deviceBuffer resolves buf (possibly a pool's wrapper) to a live buffer of
// d, with the size the caller sees (the wrapper's).
func (d *Device) deviceBuffer(buf runtime.Buffer) (*Buffer, int64, error) {
	if buf == nil {
		return nil, 0, fmt.Errorf("nil buffer: %w", runtime.ErrInvalidArgument)
	}
	raw, ok := runtime.Unwrap(buf).(*Buffer)
	if !ok || raw == nil {
		return nil, 0, fmt.Errorf("buffer %T is not an OpenCL buffer: %w", buf, runtime.ErrInvalidArgument)
	}
	if raw.dev != d || buf.Device() != runtime.Device(d) {
		return nil, 0, fmt.Errorf("buffer of %s used on %s: %w", raw.dev.props.ID(), d.props.ID(), runtime.ErrInvalidArgument)
	}
	if raw.freed.Load() {
		return nil, 0, fmt.Errorf("buffer was freed: %w", runtime.ErrClosed)
	}
	size := buf.Size()
	if size > raw.size || size < 0 {
		return nil, 0, fmt.Errorf("buffer wrapper of %d bytes over %d: %w", size, raw.size, runtime.ErrInvalidArgument)
	}
	return raw, size, nil
}
