package compiled

import "errors"

var (
	// ErrNotCompiled marks input that is not a compiled model at all (no
	// magic number): an ONNX file, say.
	ErrNotCompiled = errors.New("not a compiled model")
	// ErrIncompatible marks a well-formed file this build cannot use: another
	// format version, an incompatible GoCANN release, another architecture,
	// or CPU features this machine lacks. Convert the model again.
	ErrIncompatible = errors.New("incompatible compiled model")
	// ErrCorrupt marks a damaged file: truncated, checksum mismatch,
	// sections or tensors out of bounds, malformed manifest or graph.
	ErrCorrupt = errors.New("corrupt compiled model")
)
