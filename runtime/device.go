package runtime

import (
	"fmt"
	"strings"
)

// Kind says what sort of processor a device is.
type Kind int

const (
	KindCPU Kind = iota + 1
	KindGPU
	KindAccelerator
)

func (k Kind) String() string {
	switch k {
	case KindCPU:
		return "cpu"
	case KindGPU:
		return "gpu"
	case KindAccelerator:
		return "accelerator"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Properties describe a device. Capabilities are data, so that schedulers
// and kernels choose by reading them rather than by asking the backend.
type Properties struct {
	Backend      string   // backend name, e.g. "cpu", "opencl"
	Index        int      // index of the device within its backend
	Name         string   // marketing name, e.g. "AMD EPYC"
	Vendor       string   // e.g. "AuthenticAMD", "NVIDIA Corporation"
	Driver       string   // driver or runtime version, "" when not applicable
	Kind         Kind     // CPU, GPU or other accelerator
	ComputeUnits int      // cores, or compute units for a GPU
	Threads      int      // worker threads in use (CPU backends); 0 elsewhere
	Memory       int64    // total memory in bytes, 0 if unknown
	Features     []string // instruction-set or device features, lower case: "avx2", "fma", "avx512f", "neon", "fp16"
	// Cache sizes in bytes, 0 if unknown; kernels size their blocking from them.
	L1DCache, L2Cache, L3Cache int64
}

// ID is the name under which a [Registry] opens this device, "backend:index".
func (p Properties) ID() string { return fmt.Sprintf("%s:%d", p.Backend, p.Index) }

// HasFeature reports whether the named feature is present (case-insensitive).
func (p Properties) HasFeature(name string) bool {
	for _, f := range p.Features {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// Backend is what a device driver registers: a named source of devices.
type Backend interface {
	// Name is the prefix under which the backend's devices are opened ("cpu").
	Name() string
	// Devices lists the backend's devices, in index order. A backend whose
	// library or hardware is missing returns an error wrapping ErrNotFound or
	// ErrUnsupported, not a panic.
	Devices() ([]Device, error)
	// Close releases every device of the backend and their resources.
	Close() error
}

// Device is one processor with its own memory.
type Device interface {
	Properties() Properties
	// Alloc returns n bytes of uncached device memory. A size below zero, or
	// above what the device can hold, is an error; zero bytes is valid. Most
	// callers allocate through a [Pool] instead.
	Alloc(n int64) (Buffer, error)
	// NewStream returns a new in-order queue of work on this device.
	NewStream() (Stream, error)
	// NewEvent returns an event that has not been recorded.
	NewEvent() (Event, error)
}

// Buffer is a range of device memory. The host cannot read it except through
// a stream's copies, unless the buffer also implements [HostAccessible].
type Buffer interface {
	// Device is the device that owns the memory.
	Device() Device
	// Size is the usable size in bytes.
	Size() int64
	// Free releases the memory (or returns it to the pool it came from). It
	// must not be called while work that uses the buffer is still pending;
	// a second Free returns ErrClosed.
	Free() error
}

// HostAccessible is implemented by buffers that live in memory the host can
// address directly (the CPU backend's). Kernels and copies use it to skip a
// staging copy; code above the runtime must not rely on it being present.
type HostAccessible interface {
	// HostBytes returns the memory of the buffer itself, not a copy. It is
	// valid until the buffer is freed.
	HostBytes() []byte
}

// CheckRange reports whether [off, off+n) lies inside a buffer of the given
// size, as an error wrapping ErrInvalidArgument. Backends use it to validate
// copies before enqueuing them.
func CheckRange(what string, size, off, n int64) error {
	if off < 0 || n < 0 || off > size || n > size-off {
		return fmt.Errorf("%s: range [%d, %d+%d) outside buffer of %d bytes: %w", what, off, off, n, size, ErrInvalidArgument)
	}
	return nil
}
