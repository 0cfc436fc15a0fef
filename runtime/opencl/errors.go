package opencl

import (
	"fmt"

	"github.com/gocann/gocann/runtime"
)

// Local names for the sentinels this package wraps most.
var (
	errNotFound    = runtime.ErrNotFound
	errUnsupported = runtime.ErrUnsupported
	errInvalid     = runtime.ErrInvalidArgument
)

// OpenCL error codes referred to by the code (the full table is clErrorNames).
const (
	errDeviceNotFound   = -1
	errInvalidBinary    = -42
	errPlatformNotFound = -1001 // CL_PLATFORM_NOT_FOUND_KHR, from the ICD loader
)

// Error is a failed OpenCL call: the function, and the error code it
// returned. It unwraps to the runtime sentinel the code corresponds to, so
// callers test errors.Is(err, runtime.ErrOutOfMemory) and the like.
type Error struct {
	Func string // the OpenCL function, e.g. "clCreateBuffer"
	Code int32  // the CL error code, negative
}

func (e *Error) Error() string {
	return fmt.Sprintf("opencl: %s: %s (%d)", e.Func, CodeName(e.Code), e.Code)
}

// Unwrap returns the runtime sentinel for the code.
func (e *Error) Unwrap() error { return sentinel(e.Code) }

func clError(fn string, code int32) error { return &Error{Func: fn, Code: code} }

// CodeName is the CL_* name of an OpenCL error code.
func CodeName(code int32) string {
	if n, ok := clErrorNames[code]; ok {
		return n
	}
	return fmt.Sprintf("CL_ERROR_%d", code)
}

// sentinel maps an OpenCL error code to the runtime's error classes.
func sentinel(code int32) error {
	switch code {
	case -4, -5, -6, -61: // allocation failure, out of resources, out of host memory, buffer size
		return runtime.ErrOutOfMemory
	case -1, errPlatformNotFound:
		return runtime.ErrNotFound
	case -2, -14: // device not available; a command this one waited for failed
		return runtime.ErrDeviceLost
	case -3, -7, -10, -16, -19: // no compiler, no profiling, no image format, no linker, no arg info
		return runtime.ErrUnsupported
	}
	return runtime.ErrInvalidArgument
}

var clErrorNames = map[int32]string{
	0:     "CL_SUCCESS",
	-1:    "CL_DEVICE_NOT_FOUND",
	-2:    "CL_DEVICE_NOT_AVAILABLE",
	-3:    "CL_COMPILER_NOT_AVAILABLE",
	-4:    "CL_MEM_OBJECT_ALLOCATION_FAILURE",
	-5:    "CL_OUT_OF_RESOURCES",
	-6:    "CL_OUT_OF_HOST_MEMORY",
	-7:    "CL_PROFILING_INFO_NOT_AVAILABLE",
	-8:    "CL_MEM_COPY_OVERLAP",
	-9:    "CL_IMAGE_FORMAT_MISMATCH",
	-10:   "CL_IMAGE_FORMAT_NOT_SUPPORTED",
	-11:   "CL_BUILD_PROGRAM_FAILURE",
	-12:   "CL_MAP_FAILURE",
	-13:   "CL_MISALIGNED_SUB_BUFFER_OFFSET",
	-14:   "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
	-15:   "CL_COMPILE_PROGRAM_FAILURE",
	-16:   "CL_LINKER_NOT_AVAILABLE",
	-17:   "CL_LINK_PROGRAM_FAILURE",
	-18:   "CL_DEVICE_PARTITION_FAILED",
	-19:   "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
	-30:   "CL_INVALID_VALUE",
	-31:   "CL_INVALID_DEVICE_TYPE",
	-32:   "CL_INVALID_PLATFORM",
	-33:   "CL_INVALID_DEVICE",
	-34:   "CL_INVALID_CONTEXT",
	-35:   "CL_INVALID_QUEUE_PROPERTIES",
	-36:   "CL_INVALID_COMMAND_QUEUE",
	-37:   "CL_INVALID_HOST_PTR",
	-38:   "CL_INVALID_MEM_OBJECT",
	-39:   "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
	-40:   "CL_INVALID_IMAGE_SIZE",
	-41:   "CL_INVALID_SAMPLER",
	-42:   "CL_INVALID_BINARY",
	-43:   "CL_INVALID_BUILD_OPTIONS",
	-44:   "CL_INVALID_PROGRAM",
	-45:   "CL_INVALID_PROGRAM_EXECUTABLE",
	-46:   "CL_INVALID_KERNEL_NAME",
	-47:   "CL_INVALID_KERNEL_DEFINITION",
	-48:   "CL_INVALID_KERNEL",
	-49:   "CL_INVALID_ARG_INDEX",
	-50:   "CL_INVALID_ARG_VALUE",
	-51:   "CL_INVALID_ARG_SIZE",
	-52:   "CL_INVALID_KERNEL_ARGS",
	-53:   "CL_INVALID_WORK_DIMENSION",
	-54:   "CL_INVALID_WORK_GROUP_SIZE",
	-55:   "CL_INVALID_WORK_ITEM_SIZE",
	-56:   "CL_INVALID_GLOBAL_OFFSET",
	-57:   "CL_INVALID_EVENT_WAIT_LIST",
	-58:   "CL_INVALID_EVENT",
	-59:   "CL_INVALID_OPERATION",
	-60:   "CL_INVALID_GL_OBJECT",
	-61:   "CL_INVALID_BUFFER_SIZE",
	-62:   "CL_INVALID_MIP_LEVEL",
	-63:   "CL_INVALID_GLOBAL_WORK_SIZE",
	-64:   "CL_INVALID_PROPERTY",
	-65:   "CL_INVALID_IMAGE_DESCRIPTOR",
	-66:   "CL_INVALID_COMPILER_OPTIONS",
	-67:   "CL_INVALID_LINKER_OPTIONS",
	-68:   "CL_INVALID_DEVICE_PARTITION_COUNT",
	-69:   "CL_INVALID_PIPE_SIZE",
	-70:   "CL_INVALID_DEVICE_QUEUE",
	-71:   "CL_INVALID_SPEC_ID",
	-72:   "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
	-1001: "CL_PLATFORM_NOT_FOUND_KHR",
}
