package onnx

import "errors"

// ErrInvalidModel is wrapped by every error that reports malformed or
// self-inconsistent ONNX content: bytes that are not a valid protobuf, a
// tensor whose data does not match its dims, an external-data path that
// leaves the model directory. Callers test it with errors.Is.
//
// Features that are well-formed ONNX but that GoCANN does not implement
// (segmented tensors, element types newer than ONNX 1.12) wrap
// runtime.ErrUnsupported instead, so a caller can tell "fix the file" from
// "wait for GoCANN".
var ErrInvalidModel = errors.New("invalid model")
