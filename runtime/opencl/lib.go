package opencl

// The OpenCL API, reached through purego: the library is opened at run time
// and every entry point is called with purego.SyscallN, so the package
// builds and runs with CGO_ENABLED=0. All OpenCL API arguments are integers
// or pointers, which SyscallN passes in integer registers and stack slots as
// the C ABI does; no float argument crosses the boundary.
//
// Each wrapper converts its pointer arguments inside the SyscallN call
// expression, so that (through SyscallN's go:uintptrescapes) the objects
// stay alive and in place for the call. Memory that OpenCL keeps using
// after a call returns (the host side of a non-blocking copy) is pinned by
// the caller with runtime.Pinner until the command completes.

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"unsafe"

	"github.com/ebitengine/purego"
)

// OpenCL handle types are opaque pointers.
type (
	clPlatform uintptr
	clDevice   uintptr
	clContext  uintptr
	clQueue    uintptr
	clMem      uintptr
	clEvent    uintptr
	clProgram  uintptr
	clKernel   uintptr
)

// Constants of the OpenCL 1.2–3.0 headers that this package uses.
const (
	clSuccess = 0

	clPlatformVersion = 0x0901
	clPlatformName    = 0x0902
	clPlatformVendor  = 0x0903

	clDeviceTypeCPU         = 1 << 1
	clDeviceTypeGPU         = 1 << 2
	clDeviceTypeAccelerator = 1 << 3
	clDeviceTypeAll         = 0xFFFFFFFF

	clDeviceType                   = 0x1000
	clDeviceMaxComputeUnits        = 0x1002
	clDeviceMaxWorkItemDimensions  = 0x1003
	clDeviceMaxWorkGroupSize       = 0x1004
	clDeviceMaxWorkItemSizes       = 0x1005
	clDeviceMaxClockFrequency      = 0x100C
	clDeviceMaxMemAllocSize        = 0x1010
	clDeviceGlobalMemCacheSize     = 0x101E
	clDeviceGlobalMemSize          = 0x101F
	clDeviceLocalMemSize           = 0x1023
	clDeviceAvailable              = 0x1027
	clDeviceName                   = 0x102B
	clDeviceVendor                 = 0x102C
	clDriverVersion                = 0x102D
	clDeviceVersion                = 0x102F
	clDeviceExtensions             = 0x1030
	clDeviceDoubleFPConfig         = 0x1032
	clDeviceOpenCLCVersion         = 0x103D
	clQueueProfilingEnable         = 1 << 1
	clQueuePropertiesKey           = 0x1093
	clMemReadWrite                 = 1 << 0
	clEventCommandExecutionStatus  = 0x11D3
	clComplete                     = 0
	clProfilingCommandEnd          = 0x1283
	clProgramNumDevices            = 0x1162
	clProgramBinarySizes           = 0x1165
	clProgramBinaries              = 0x1166
	clProgramBuildLog              = 0x1183
	clKernelNumArgs                = 0x1191
	clKernelArgAddressQualifier    = 0x1196
	clKernelArgTypeName            = 0x1198
	clKernelArgAddressGlobal       = 0x119B
	clKernelArgAddressLocal        = 0x119C
	clKernelArgAddressConstant     = 0x119D
	clKernelWorkGroupSize          = 0x11B0
	clKernelPreferredWorkGroupMult = 0x11B3
)

// lib is an opened OpenCL library: the addresses of its entry points.
type lib struct {
	path string

	clGetPlatformIDs                   uintptr
	clGetPlatformInfo                  uintptr
	clGetDeviceIDs                     uintptr
	clGetDeviceInfo                    uintptr
	clCreateContext                    uintptr
	clReleaseContext                   uintptr
	clCreateCommandQueue               uintptr
	clReleaseCommandQueue              uintptr
	clFlush                            uintptr
	clFinish                           uintptr
	clCreateBuffer                     uintptr
	clRetainMemObject                  uintptr
	clReleaseMemObject                 uintptr
	clEnqueueWriteBuffer               uintptr
	clEnqueueReadBuffer                uintptr
	clEnqueueCopyBuffer                uintptr
	clEnqueueMarkerWithWaitList        uintptr
	clEnqueueBarrierWithWaitList       uintptr
	clEnqueueNDRangeKernel             uintptr
	clWaitForEvents                    uintptr
	clGetEventInfo                     uintptr
	clGetEventProfilingInfo            uintptr
	clRetainEvent                      uintptr
	clReleaseEvent                     uintptr
	clCreateProgramWithSource          uintptr
	clCreateProgramWithBinary          uintptr
	clBuildProgram                     uintptr
	clGetProgramInfo                   uintptr
	clGetProgramBuildInfo              uintptr
	clReleaseProgram                   uintptr
	clCreateKernel                     uintptr
	clReleaseKernel                    uintptr
	clSetKernelArg                     uintptr
	clGetKernelInfo                    uintptr
	clGetKernelArgInfo                 uintptr
	clGetKernelWorkGroupInfo           uintptr
	clCreateCommandQueueWithProperties uintptr
}

// libraryNames are tried in order when no path is given: the ICD loader's
// versioned name (what distributions install at run time), then the
// development symlink; macOS has a framework instead.
func libraryNames() []string {
	if goruntime.GOOS == "darwin" {
		return []string{"/System/Library/Frameworks/OpenCL.framework/OpenCL"}
	}
	return []string{"libOpenCL.so.1", "libOpenCL.so"}
}

// openLib loads the OpenCL library at path, or the first of libraryNames
// that loads. A missing library is an error wrapping ErrNotFound; one that
// lacks an OpenCL 1.2 entry point, ErrUnsupported.
func openLib(path string) (*lib, error) {
	names := libraryNames()
	if path != "" {
		names = []string{path}
	}
	var handle uintptr
	var errs []error
	for _, name := range names {
		h, err := dlopen(name)
		if err == nil {
			handle, path = h, name
			break
		}
		errs = append(errs, err)
	}
	if handle == 0 {
		return nil, fmt.Errorf("opencl: load %v: %w: %w", names, errors.Join(errs...), errNotFound)
	}
	l := &lib{path: path}
	var missing []string
	sym := func(dst *uintptr, name string, required bool) {
		addr, err := dlsym(handle, name)
		if err != nil || addr == 0 {
			if required {
				missing = append(missing, name)
			}
			return
		}
		*dst = addr
	}
	for _, s := range []struct {
		dst  *uintptr
		name string
	}{
		{&l.clGetPlatformIDs, "clGetPlatformIDs"},
		{&l.clGetPlatformInfo, "clGetPlatformInfo"},
		{&l.clGetDeviceIDs, "clGetDeviceIDs"},
		{&l.clGetDeviceInfo, "clGetDeviceInfo"},
		{&l.clCreateContext, "clCreateContext"},
		{&l.clReleaseContext, "clReleaseContext"},
		{&l.clCreateCommandQueue, "clCreateCommandQueue"},
		{&l.clReleaseCommandQueue, "clReleaseCommandQueue"},
		{&l.clFlush, "clFlush"},
		{&l.clFinish, "clFinish"},
		{&l.clCreateBuffer, "clCreateBuffer"},
		{&l.clRetainMemObject, "clRetainMemObject"},
		{&l.clReleaseMemObject, "clReleaseMemObject"},
		{&l.clEnqueueWriteBuffer, "clEnqueueWriteBuffer"},
		{&l.clEnqueueReadBuffer, "clEnqueueReadBuffer"},
		{&l.clEnqueueCopyBuffer, "clEnqueueCopyBuffer"},
		{&l.clEnqueueMarkerWithWaitList, "clEnqueueMarkerWithWaitList"},
		{&l.clEnqueueBarrierWithWaitList, "clEnqueueBarrierWithWaitList"},
		{&l.clEnqueueNDRangeKernel, "clEnqueueNDRangeKernel"},
		{&l.clWaitForEvents, "clWaitForEvents"},
		{&l.clGetEventInfo, "clGetEventInfo"},
		{&l.clGetEventProfilingInfo, "clGetEventProfilingInfo"},
		{&l.clRetainEvent, "clRetainEvent"},
		{&l.clReleaseEvent, "clReleaseEvent"},
		{&l.clCreateProgramWithSource, "clCreateProgramWithSource"},
		{&l.clCreateProgramWithBinary, "clCreateProgramWithBinary"},
		{&l.clBuildProgram, "clBuildProgram"},
		{&l.clGetProgramInfo, "clGetProgramInfo"},
		{&l.clGetProgramBuildInfo, "clGetProgramBuildInfo"},
		{&l.clReleaseProgram, "clReleaseProgram"},
		{&l.clCreateKernel, "clCreateKernel"},
		{&l.clReleaseKernel, "clReleaseKernel"},
		{&l.clSetKernelArg, "clSetKernelArg"},
		{&l.clGetKernelInfo, "clGetKernelInfo"},
		{&l.clGetKernelArgInfo, "clGetKernelArgInfo"},
		{&l.clGetKernelWorkGroupInfo, "clGetKernelWorkGroupInfo"},
	} {
		sym(s.dst, s.name, true)
	}
	// OpenCL 2.0; clCreateCommandQueue (deprecated there) is the fallback.
	sym(&l.clCreateCommandQueueWithProperties, "clCreateCommandQueueWithProperties", false)
	if len(missing) > 0 {
		return nil, fmt.Errorf("opencl: %s lacks %v (OpenCL 1.2 is the minimum): %w", path, missing, errUnsupported)
	}
	return l, nil
}

// libraryFromEnv is the library path GOCANN_OPENCL_LIBRARY names, if any.
func libraryFromEnv() string { return os.Getenv("GOCANN_OPENCL_LIBRARY") }

func call(fn uintptr, args ...uintptr) int32 {
	r, _, _ := purego.SyscallN(fn, args...)
	return int32(r)
}

func (l *lib) platformIDs() ([]clPlatform, error) {
	var n uint32
	r, _, _ := purego.SyscallN(l.clGetPlatformIDs, 0, 0, uintptr(unsafe.Pointer(&n)))
	if code := int32(r); code != clSuccess {
		return nil, clError("clGetPlatformIDs", code)
	}
	if n == 0 {
		return nil, nil
	}
	ids := make([]clPlatform, n)
	r, _, _ = purego.SyscallN(l.clGetPlatformIDs, uintptr(n), uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&n)))
	if code := int32(r); code != clSuccess {
		return nil, clError("clGetPlatformIDs", code)
	}
	return ids[:n], nil
}

func (l *lib) deviceIDs(p clPlatform) ([]clDevice, error) {
	var n uint32
	r, _, _ := purego.SyscallN(l.clGetDeviceIDs, uintptr(p), clDeviceTypeAll, 0, 0, uintptr(unsafe.Pointer(&n)))
	if code := int32(r); code == errDeviceNotFound || (code == clSuccess && n == 0) {
		return nil, nil
	} else if code != clSuccess {
		return nil, clError("clGetDeviceIDs", code)
	}
	ids := make([]clDevice, n)
	r, _, _ = purego.SyscallN(l.clGetDeviceIDs, uintptr(p), clDeviceTypeAll, uintptr(n), uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&n)))
	if code := int32(r); code != clSuccess {
		return nil, clError("clGetDeviceIDs", code)
	}
	return ids[:n], nil
}

// infoBytes calls a clGet*Info function of the usual shape
// (object, param, size, value, size_ret) twice: once for the size, once for
// the value.
func infoBytes(what string, fn uintptr, obj uintptr, param uint32) ([]byte, error) {
	var size uintptr
	r, _, _ := purego.SyscallN(fn, obj, uintptr(param), 0, 0, uintptr(unsafe.Pointer(&size)))
	if code := int32(r); code != clSuccess {
		return nil, clError(what, code)
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	r, _, _ = purego.SyscallN(fn, obj, uintptr(param), size, uintptr(unsafe.Pointer(&buf[0])), 0)
	if code := int32(r); code != clSuccess {
		return nil, clError(what, code)
	}
	return buf, nil
}

// infoString is infoBytes for a NUL-terminated string.
func infoString(what string, fn uintptr, obj uintptr, param uint32) (string, error) {
	b, err := infoBytes(what, fn, obj, param)
	if err != nil {
		return "", err
	}
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return string(b), nil
}

// infoValue reads a fixed-size value (cl_uint, cl_ulong, size_t, a handle).
func infoValue[T any](what string, fn uintptr, obj uintptr, param uint32) (T, error) {
	var v T
	r, _, _ := purego.SyscallN(fn, obj, uintptr(param), unsafe.Sizeof(v), uintptr(unsafe.Pointer(&v)), 0)
	if code := int32(r); code != clSuccess {
		return v, clError(what, code)
	}
	return v, nil
}

func (l *lib) createContext(dev clDevice) (clContext, error) {
	var code int32
	r, _, _ := purego.SyscallN(l.clCreateContext, 0, 1, uintptr(unsafe.Pointer(&dev)), 0, 0, uintptr(unsafe.Pointer(&code)))
	if code != clSuccess {
		return 0, clError("clCreateContext", code)
	}
	return clContext(r), nil
}

// createQueue makes an in-order queue, with profiling if asked.
func (l *lib) createQueue(ctx clContext, dev clDevice, profiling bool) (clQueue, error) {
	var flags uint64
	if profiling {
		flags = clQueueProfilingEnable
	}
	var code int32
	var r uintptr
	if l.clCreateCommandQueueWithProperties != 0 {
		props := [3]uint64{clQueuePropertiesKey, flags, 0}
		r, _, _ = purego.SyscallN(l.clCreateCommandQueueWithProperties, uintptr(ctx), uintptr(dev), uintptr(unsafe.Pointer(&props[0])), uintptr(unsafe.Pointer(&code)))
	} else {
		r, _, _ = purego.SyscallN(l.clCreateCommandQueue, uintptr(ctx), uintptr(dev), uintptr(flags), uintptr(unsafe.Pointer(&code)))
	}
	if code != clSuccess {
		return 0, clError("clCreateCommandQueue", code)
	}
	return clQueue(r), nil
}

func (l *lib) createBuffer(ctx clContext, n int64) (clMem, error) {
	var code int32
	r, _, _ := purego.SyscallN(l.clCreateBuffer, uintptr(ctx), clMemReadWrite, uintptr(n), 0, uintptr(unsafe.Pointer(&code)))
	if code != clSuccess {
		return 0, clError("clCreateBuffer", code)
	}
	return clMem(r), nil
}

// enqueueWrite copies n bytes from host address src (which the caller keeps
// valid and pinned until ev completes) into mem at off.
func (l *lib) enqueueWrite(q clQueue, mem clMem, off int64, n int64, src unsafe.Pointer, ev *clEvent) error {
	r, _, _ := purego.SyscallN(l.clEnqueueWriteBuffer, uintptr(q), uintptr(mem), 0, uintptr(off), uintptr(n), uintptr(src), 0, 0, uintptr(unsafe.Pointer(ev)))
	if code := int32(r); code != clSuccess {
		return clError("clEnqueueWriteBuffer", code)
	}
	return nil
}

func (l *lib) enqueueRead(q clQueue, mem clMem, off int64, n int64, dst unsafe.Pointer, ev *clEvent) error {
	r, _, _ := purego.SyscallN(l.clEnqueueReadBuffer, uintptr(q), uintptr(mem), 0, uintptr(off), uintptr(n), uintptr(dst), 0, 0, uintptr(unsafe.Pointer(ev)))
	if code := int32(r); code != clSuccess {
		return clError("clEnqueueReadBuffer", code)
	}
	return nil
}

func (l *lib) enqueueCopy(q clQueue, src, dst clMem, srcOff, dstOff, n int64, ev *clEvent) error {
	r, _, _ := purego.SyscallN(l.clEnqueueCopyBuffer, uintptr(q), uintptr(src), uintptr(dst), uintptr(srcOff), uintptr(dstOff), uintptr(n), 0, 0, uintptr(unsafe.Pointer(ev)))
	if code := int32(r); code != clSuccess {
		return clError("clEnqueueCopyBuffer", code)
	}
	return nil
}

func (l *lib) enqueueMarker(q clQueue, ev *clEvent) error {
	r, _, _ := purego.SyscallN(l.clEnqueueMarkerWithWaitList, uintptr(q), 0, 0, uintptr(unsafe.Pointer(ev)))
	if code := int32(r); code != clSuccess {
		return clError("clEnqueueMarkerWithWaitList", code)
	}
	return nil
}

// enqueueBarrier makes later commands of q wait for ev (of q's context).
func (l *lib) enqueueBarrier(q clQueue, ev clEvent) error {
	r, _, _ := purego.SyscallN(l.clEnqueueBarrierWithWaitList, uintptr(q), 1, uintptr(unsafe.Pointer(&ev)), 0)
	if code := int32(r); code != clSuccess {
		return clError("clEnqueueBarrierWithWaitList", code)
	}
	return nil
}

func (l *lib) enqueueNDRange(q clQueue, k clKernel, dims int, global, local *[3]uintptr, ev *clEvent) error {
	var localp uintptr
	if local != nil {
		localp = uintptr(unsafe.Pointer(local))
	}
	r, _, _ := purego.SyscallN(l.clEnqueueNDRangeKernel, uintptr(q), uintptr(k), uintptr(dims), 0, uintptr(unsafe.Pointer(global)), localp, 0, 0, uintptr(unsafe.Pointer(ev)))
	if code := int32(r); code != clSuccess {
		return clError("clEnqueueNDRangeKernel", code)
	}
	return nil
}

func (l *lib) waitEvent(ev clEvent) error {
	r, _, _ := purego.SyscallN(l.clWaitForEvents, 1, uintptr(unsafe.Pointer(&ev)))
	if code := int32(r); code != clSuccess {
		return clError("clWaitForEvents", code)
	}
	return nil
}

// eventStatus is the event's execution status: CL_COMPLETE (0), a positive
// pending state, or a negative error code of the failed command.
func (l *lib) eventStatus(ev clEvent) (int32, error) {
	return infoValue[int32]("clGetEventInfo", l.clGetEventInfo, uintptr(ev), clEventCommandExecutionStatus)
}

// eventEnd is the device time in nanoseconds at which ev's command ended.
func (l *lib) eventEnd(ev clEvent) (uint64, error) {
	return infoValue[uint64]("clGetEventProfilingInfo", l.clGetEventProfilingInfo, uintptr(ev), clProfilingCommandEnd)
}

func (l *lib) retain(ev clEvent)  { call(l.clRetainEvent, uintptr(ev)) }
func (l *lib) release(ev clEvent) { call(l.clReleaseEvent, uintptr(ev)) }

func (l *lib) flushQueue(q clQueue) error {
	if code := call(l.clFlush, uintptr(q)); code != clSuccess {
		return clError("clFlush", code)
	}
	return nil
}

func (l *lib) finishQueue(q clQueue) error {
	if code := call(l.clFinish, uintptr(q)); code != clSuccess {
		return clError("clFinish", code)
	}
	return nil
}

func (l *lib) createProgramWithSource(ctx clContext, src string) (clProgram, error) {
	b := []byte(src)
	if len(b) == 0 {
		b = []byte{'\n'}
	}
	strs := [1]*byte{&b[0]}
	lens := [1]uintptr{uintptr(len(b))}
	var code int32
	r, _, _ := purego.SyscallN(l.clCreateProgramWithSource, uintptr(ctx), 1, uintptr(unsafe.Pointer(&strs[0])), uintptr(unsafe.Pointer(&lens[0])), uintptr(unsafe.Pointer(&code)))
	if code != clSuccess {
		return 0, clError("clCreateProgramWithSource", code)
	}
	return clProgram(r), nil
}

func (l *lib) createProgramWithBinary(ctx clContext, dev clDevice, bin []byte) (clProgram, error) {
	if len(bin) == 0 {
		return 0, clError("clCreateProgramWithBinary", errInvalidBinary)
	}
	bins := [1]*byte{&bin[0]}
	lens := [1]uintptr{uintptr(len(bin))}
	var status, code int32
	r, _, _ := purego.SyscallN(l.clCreateProgramWithBinary, uintptr(ctx), 1, uintptr(unsafe.Pointer(&dev)), uintptr(unsafe.Pointer(&lens[0])), uintptr(unsafe.Pointer(&bins[0])), uintptr(unsafe.Pointer(&status)), uintptr(unsafe.Pointer(&code)))
	if code != clSuccess {
		return 0, clError("clCreateProgramWithBinary", code)
	}
	if status != clSuccess {
		call(l.clReleaseProgram, r)
		return 0, clError("clCreateProgramWithBinary", status)
	}
	return clProgram(r), nil
}

func (l *lib) build(p clProgram, dev clDevice, options string) int32 {
	opts := append([]byte(options), 0)
	r, _, _ := purego.SyscallN(l.clBuildProgram, uintptr(p), 1, uintptr(unsafe.Pointer(&dev)), uintptr(unsafe.Pointer(&opts[0])), 0, 0)
	return int32(r)
}

func (l *lib) buildLog(p clProgram, dev clDevice) string {
	var size uintptr
	r, _, _ := purego.SyscallN(l.clGetProgramBuildInfo, uintptr(p), uintptr(dev), clProgramBuildLog, 0, 0, uintptr(unsafe.Pointer(&size)))
	if int32(r) != clSuccess || size == 0 {
		return ""
	}
	buf := make([]byte, size)
	r, _, _ = purego.SyscallN(l.clGetProgramBuildInfo, uintptr(p), uintptr(dev), clProgramBuildLog, size, uintptr(unsafe.Pointer(&buf[0])), 0)
	if int32(r) != clSuccess {
		return ""
	}
	for i, c := range buf {
		if c == 0 {
			buf = buf[:i]
			break
		}
	}
	return string(buf)
}

// binary returns the program's executable for its one device.
func (l *lib) binary(p clProgram) ([]byte, error) {
	n, err := infoValue[uint32]("clGetProgramInfo", l.clGetProgramInfo, uintptr(p), clProgramNumDevices)
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, fmt.Errorf("opencl: program for %d devices, want 1: %w", n, errInvalid)
	}
	size, err := infoValue[uintptr]("clGetProgramInfo", l.clGetProgramInfo, uintptr(p), clProgramBinarySizes)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	bin := make([]byte, size)
	ptrs := [1]*byte{&bin[0]}
	r, _, _ := purego.SyscallN(l.clGetProgramInfo, uintptr(p), clProgramBinaries, unsafe.Sizeof(ptrs), uintptr(unsafe.Pointer(&ptrs[0])), 0)
	if code := int32(r); code != clSuccess {
		return nil, clError("clGetProgramInfo", code)
	}
	return bin, nil
}

func (l *lib) createKernel(p clProgram, name string) (clKernel, error) {
	cname := append([]byte(name), 0)
	var code int32
	r, _, _ := purego.SyscallN(l.clCreateKernel, uintptr(p), uintptr(unsafe.Pointer(&cname[0])), uintptr(unsafe.Pointer(&code)))
	if code != clSuccess {
		return 0, clError("clCreateKernel", code)
	}
	return clKernel(r), nil
}

// setArg sets argument i to the size bytes at value (nil: local memory of
// that size, or a NULL buffer when size is the size of a cl_mem).
func (l *lib) setArg(k clKernel, i int, size uintptr, value unsafe.Pointer) error {
	r, _, _ := purego.SyscallN(l.clSetKernelArg, uintptr(k), uintptr(i), size, uintptr(value))
	if code := int32(r); code != clSuccess {
		return clError(fmt.Sprintf("clSetKernelArg(%d)", i), code)
	}
	return nil
}

func (l *lib) kernelArgInfo(k clKernel, i int, param uint32) ([]byte, error) {
	var size uintptr
	r, _, _ := purego.SyscallN(l.clGetKernelArgInfo, uintptr(k), uintptr(i), uintptr(param), 0, 0, uintptr(unsafe.Pointer(&size)))
	if code := int32(r); code != clSuccess {
		return nil, clError("clGetKernelArgInfo", code)
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	r, _, _ = purego.SyscallN(l.clGetKernelArgInfo, uintptr(k), uintptr(i), uintptr(param), size, uintptr(unsafe.Pointer(&buf[0])), 0)
	if code := int32(r); code != clSuccess {
		return nil, clError("clGetKernelArgInfo", code)
	}
	return buf, nil
}

func (l *lib) kernelWorkGroupInfo(k clKernel, dev clDevice, param uint32) (uintptr, error) {
	var v uintptr
	r, _, _ := purego.SyscallN(l.clGetKernelWorkGroupInfo, uintptr(k), uintptr(dev), uintptr(param), unsafe.Sizeof(v), uintptr(unsafe.Pointer(&v)), 0)
	if code := int32(r); code != clSuccess {
		return 0, clError("clGetKernelWorkGroupInfo", code)
	}
	return v, nil
}
