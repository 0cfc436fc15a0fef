package runtime

import "errors"

// Sentinel errors. Backends wrap them with context
// (fmt.Errorf("cpu: alloc %d bytes: %w", n, ErrOutOfMemory)); callers test
// them with errors.Is.
var (
	// ErrOutOfMemory: an allocation exceeded the device memory or a pool limit.
	ErrOutOfMemory = errors.New("out of device memory")
	// ErrUnsupported: the device or backend cannot do what was asked.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalidArgument: the caller passed something out of range or inconsistent.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrDeviceLost: the device failed or was closed and can no longer run work.
	ErrDeviceLost = errors.New("device lost")
	// ErrNotFound: no backend or device by that name.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the object (stream, buffer, pool, backend) was already closed or freed.
	ErrClosed = errors.New("use of closed object")
)
