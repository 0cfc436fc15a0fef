package opencl

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/gocann/gocann/runtime"
)

// Kernel is a kernel function of a built program (a cl_kernel). One
// Kernel may be launched from many streams at once: setting its arguments
// and enqueueing it is one critical section.
type Kernel struct {
	prog *Program
	name string

	mu sync.Mutex
	h  clKernel // 0 once released

	nargs    int
	args     []argInfo // nil when the driver gives no argument information
	maxGroup int       // CL_KERNEL_WORK_GROUP_SIZE for the device
	multiple int       // CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE
}

// argInfo is what the kernel declares of an argument.
type argInfo struct {
	space    uint32 // CL_KERNEL_ARG_ADDRESS_*
	typeName string // e.g. "float*", "int", "uint4"
}

func (k *Kernel) describe() error {
	l := k.prog.dev.lib
	n, err := infoValue[uint32]("clGetKernelInfo", l.clGetKernelInfo, uintptr(k.h), clKernelNumArgs)
	if err != nil {
		return err
	}
	k.nargs = int(n)
	g, err := l.kernelWorkGroupInfo(k.h, k.prog.dev.id, clKernelWorkGroupSize)
	if err != nil {
		return err
	}
	k.maxGroup = max(int(g), 1)
	if m, err := l.kernelWorkGroupInfo(k.h, k.prog.dev.id, clKernelPreferredWorkGroupMult); err == nil {
		k.multiple = max(int(m), 1)
	} else {
		k.multiple = 1
	}
	args := make([]argInfo, k.nargs)
	for i := range args {
		q, err := l.kernelArgInfo(k.h, i, clKernelArgAddressQualifier)
		if err != nil || len(q) < 4 {
			return nil // no argument information: launches are checked by the driver only
		}
		tn, err := l.kernelArgInfo(k.h, i, clKernelArgTypeName)
		if err != nil {
			return nil
		}
		args[i] = argInfo{space: binary.LittleEndian.Uint32(q), typeName: strings.TrimRight(string(tn), "\x00")}
	}
	k.args = args
	return nil
}

// Name is the kernel function's name.
func (k *Kernel) Name() string { return k.name }

// NumArgs is the number of arguments the kernel takes.
func (k *Kernel) NumArgs() int { return k.nargs }

// MaxWorkGroupSize is the largest work group the kernel can be launched
// with on its device.
func (k *Kernel) MaxWorkGroupSize() int { return k.maxGroup }

// PreferredMultiple is the work-group size multiple the device runs best.
func (k *Kernel) PreferredMultiple() int { return k.multiple }

// LocalMem is a kernel argument for a __local pointer: the number of bytes
// of local memory to give it.
type LocalMem int64

// Launch is the OpenCL backend's runtime.Kernel: one launch of a kernel
// over an ND-range, with its arguments.
//
// Args are, in order, one per kernel argument:
//   - a runtime.Buffer of the stream's device (pool buffers included) for a
//     __global or __constant pointer; a tensor's byte offset is passed as a
//     separate integer argument, as OpenCL 1.2 pointers cannot be offset;
//   - LocalMem for a __local pointer;
//   - int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32 or
//     float64 for a scalar of the same size (char, uchar, short, ushort,
//     int, uint, long, ulong, float, double);
//   - []byte for any other by-value argument (vectors, structs), as its bytes.
//
// Go's int is refused: its size would silently decide the C type.
type Launch struct {
	Kernel *Kernel
	Global []int // work items per dimension, 1 to 3 dimensions
	Local  []int // work-group size per dimension, nil to let the driver choose; must divide Global
	Args   []any
}

// KernelName names the kernel in errors and profiles.
func (l Launch) KernelName() string {
	if l.Kernel == nil {
		return "<nil>"
	}
	return l.Kernel.name
}

// launchOp is a checked launch with its arguments resolved: buffers to
// retained cl_mems, values to bytes.
type launchOp struct {
	k      *Kernel
	dims   int
	empty  bool // a dimension of zero work items: nothing to run
	global [3]uintptr
	local  [3]uintptr
	hasLoc bool
	args   []argVal
}

type argVal struct {
	mem   clMem   // buffer arguments (may be 0 for an empty buffer)
	isMem bool    //
	size  uintptr // bytes of value, or of local memory when local
	local bool
	val   [8]byte
	raw   []byte
}

func (o *launchOp) release(l *lib) {
	for i := range o.args {
		if o.args[i].isMem && o.args[i].mem != 0 {
			call(l.clReleaseMemObject, uintptr(o.args[i].mem))
		}
	}
	o.args = nil
}

// prepareLaunch checks a launch against the kernel and the device, and
// resolves its arguments, so that nothing invalid is enqueued.
func (s *Stream) prepareLaunch(l *Launch) (*launchOp, error) {
	k := l.Kernel
	if k == nil {
		return nil, fmt.Errorf("opencl: launch: nil Kernel: %w", runtime.ErrInvalidArgument)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("opencl: launch %q: %s: %w", k.name, fmt.Sprintf(format, args...), runtime.ErrInvalidArgument)
	}
	if k.prog.dev != s.dev {
		return nil, fail("kernel built for %s, stream of %s", k.prog.dev.props.ID(), s.dev.props.ID())
	}
	o := &launchOp{k: k, dims: len(l.Global)}
	if o.dims < 1 || o.dims > 3 {
		return nil, fail("%d dimensions, want 1 to 3", o.dims)
	}
	if l.Local != nil && len(l.Local) != o.dims {
		return nil, fail("local size %v for global size %v", l.Local, l.Global)
	}
	group := 1
	for i, g := range l.Global {
		if g < 0 || uint64(g) > math.MaxUint32*uint64(1<<20) {
			return nil, fail("global size %v", l.Global)
		}
		o.global[i] = uintptr(g)
		if g == 0 {
			o.empty = true
		}
		if l.Local != nil {
			lc := l.Local[i]
			if lc < 1 || (s.dev.info.MaxWorkItemSizes[i] > 0 && lc > s.dev.info.MaxWorkItemSizes[i]) {
				return nil, fail("local size %v outside the device's limits %v", l.Local, s.dev.info.MaxWorkItemSizes)
			}
			if g%lc != 0 {
				return nil, fail("local size %v does not divide global size %v", l.Local, l.Global)
			}
			o.local[i] = uintptr(lc)
			group *= lc
		}
	}
	if l.Local != nil {
		if group > k.maxGroup {
			return nil, fail("work group of %d items, kernel allows %d on %s", group, k.maxGroup, s.dev.props.ID())
		}
		o.hasLoc = true
	}
	if len(l.Args) != k.nargs {
		return nil, fail("%d arguments, kernel takes %d", len(l.Args), k.nargs)
	}
	o.args = make([]argVal, len(l.Args))
	var localBytes int64
	for i, a := range l.Args {
		v, err := s.resolveArg(k, i, a)
		if err != nil {
			o.release(s.dev.lib)
			return nil, fail("argument %d: %v", i, err)
		}
		if v.local {
			localBytes += int64(v.size)
		}
		o.args[i] = v
	}
	if localBytes > s.dev.info.LocalMemSize && s.dev.info.LocalMemSize > 0 {
		o.release(s.dev.lib)
		return nil, fail("%d bytes of local memory, device has %d", localBytes, s.dev.info.LocalMemSize)
	}
	return o, nil
}

// scalarSizes are the sizes of OpenCL C scalar type names.
var scalarSizes = map[string]int{
	"char": 1, "uchar": 1, "bool": 1, "short": 2, "ushort": 2, "half": 2,
	"int": 4, "uint": 4, "float": 4, "long": 8, "ulong": 8, "double": 8,
	"size_t": 8, "unsigned char": 1, "unsigned short": 2, "unsigned int": 4, "unsigned long": 8,
}

func (s *Stream) resolveArg(k *Kernel, i int, a any) (argVal, error) {
	var info *argInfo
	if k.args != nil {
		info = &k.args[i]
	}
	wantSpace := func(spaces ...uint32) error {
		if info == nil {
			return nil
		}
		for _, sp := range spaces {
			if info.space == sp {
				return nil
			}
		}
		return fmt.Errorf("%T given for a %s parameter (%s)", a, spaceName(info.space), info.typeName)
	}
	var v argVal
	switch x := a.(type) {
	case runtime.Buffer:
		if err := wantSpace(clKernelArgAddressGlobal, clKernelArgAddressConstant); err != nil {
			return v, err
		}
		b, _, err := s.dev.deviceBuffer(x)
		if err != nil {
			return v, err
		}
		v.isMem, v.mem, v.size = true, s.retainMem(b), unsafe.Sizeof(clMem(0))
		return v, nil
	case LocalMem:
		if err := wantSpace(clKernelArgAddressLocal); err != nil {
			return v, err
		}
		if x < 1 {
			return v, fmt.Errorf("local memory of %d bytes", x)
		}
		v.local, v.size = true, uintptr(x)
		return v, nil
	case nil:
		return v, fmt.Errorf("nil argument")
	case int, uint:
		return v, fmt.Errorf("%T has no fixed C size; pass int32, int64, uint32 or uint64", a)
	}
	if err := wantSpace(0, 0x119E); err != nil { // private: a value argument
		return v, err
	}
	switch x := a.(type) {
	case int8:
		v.size, v.val[0] = 1, byte(x)
	case uint8:
		v.size, v.val[0] = 1, x
	case int16:
		v.size = 2
		binary.LittleEndian.PutUint16(v.val[:], uint16(x))
	case uint16:
		v.size = 2
		binary.LittleEndian.PutUint16(v.val[:], x)
	case int32:
		v.size = 4
		binary.LittleEndian.PutUint32(v.val[:], uint32(x))
	case uint32:
		v.size = 4
		binary.LittleEndian.PutUint32(v.val[:], x)
	case int64:
		v.size = 8
		binary.LittleEndian.PutUint64(v.val[:], uint64(x))
	case uint64:
		v.size = 8
		binary.LittleEndian.PutUint64(v.val[:], x)
	case float32:
		v.size = 4
		binary.LittleEndian.PutUint32(v.val[:], math.Float32bits(x))
	case float64:
		v.size = 8
		binary.LittleEndian.PutUint64(v.val[:], math.Float64bits(x))
	case []byte:
		if len(x) == 0 {
			return v, fmt.Errorf("empty []byte value")
		}
		v.size, v.raw = uintptr(len(x)), append([]byte(nil), x...)
		return v, nil
	default:
		return v, fmt.Errorf("unsupported argument type %T", a)
	}
	if info != nil {
		if n, ok := scalarSizes[info.typeName]; ok && uintptr(n) != v.size {
			return v, fmt.Errorf("%T (%d bytes) given for a %s (%d bytes)", a, v.size, info.typeName, n)
		}
	}
	return v, nil
}

func spaceName(space uint32) string {
	switch space {
	case clKernelArgAddressGlobal:
		return "__global"
	case clKernelArgAddressLocal:
		return "__local"
	case clKernelArgAddressConstant:
		return "__constant"
	}
	return "value"
}

// submit sets the arguments and enqueues the kernel, atomically with
// respect to other launches of the same kernel.
func (o *launchOp) submit(s *Stream) (clEvent, error) {
	if o.empty {
		return 0, nil
	}
	l := s.dev.lib
	k := o.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.h == 0 {
		return 0, fmt.Errorf("opencl: launch %q: kernel released: %w", k.name, runtime.ErrClosed)
	}
	for i := range o.args {
		a := &o.args[i]
		var err error
		switch {
		case a.isMem:
			mem := a.mem
			err = l.setArg(k.h, i, a.size, unsafe.Pointer(&mem))
		case a.local:
			err = l.setArg(k.h, i, a.size, nil)
		case a.raw != nil:
			err = l.setArg(k.h, i, a.size, unsafe.Pointer(&a.raw[0]))
		default:
			err = l.setArg(k.h, i, a.size, unsafe.Pointer(&a.val[0]))
		}
		if err != nil {
			return 0, fmt.Errorf("opencl: launch %q: %w", k.name, err)
		}
	}
	var local *[3]uintptr
	if o.hasLoc {
		local = &o.local
	}
	var ev clEvent
	if err := l.enqueueNDRange(s.q, k.h, o.dims, &o.global, local, &ev); err != nil {
		return 0, fmt.Errorf("opencl: launch %q global %v: %w", k.name, o.global[:o.dims], err)
	}
	return ev, nil
}
