// Package runtime is GoCANN's device contract: the level that CANN calls
// aclrt and CUDA calls its runtime API.
//
// A backend (the CPU, OpenCL, later CUDA) implements a handful of small
// interfaces — [Backend], [Device], [Buffer], [Stream], [Event] — and is
// registered by value in a [Registry]; nothing else in GoCANN changes when a
// backend is added. Everything above this package reaches device memory only
// through the copies a [Stream] performs: a [Buffer] is an opaque handle, and
// only a buffer that also implements [HostAccessible] may be read in place.
//
// Work on a stream is asynchronous and runs in the order it was enqueued.
// Arguments a caller can get wrong (bounds, sizes, foreign buffers) are
// checked when the work is enqueued and reported at once as
// [ErrInvalidArgument]; failures of the work itself are reported by the next
// [Stream.Synchronize]. No method panics on bad input.
package runtime
