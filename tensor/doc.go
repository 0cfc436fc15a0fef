// Package tensor holds n-dimensional arrays of every ONNX element type,
// placed on the host or on any [runtime.Device].
//
// A [Tensor] is an element type ([DType]), a row-major [Shape] and storage:
// a [runtime.Buffer] plus a byte offset, or a []string for string tensors.
// Host tensors keep their bytes in a private buffer that implements
// [runtime.HostAccessible] and whose Device is nil; device tensors keep a
// buffer from an [Allocator] (a device or a [runtime.Pool]).
//
// Code in this package reads device memory only through a [runtime.Stream]'s
// copies ([Tensor.CopyTo], [Tensor.ToHost], [EnqueueCopy]), except where a
// buffer is [runtime.HostAccessible], whose bytes [Tensor.HostBytes],
// [ToSlice] and [View] read in place. The caller must then make sure that no
// work still pending on a stream writes them.
//
// Mistakes in arguments (bad shapes, sizes, mismatched types) are returned as
// errors wrapping the runtime's sentinel errors; nothing here panics on them.
package tensor
