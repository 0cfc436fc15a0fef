// Package onnx imports ONNX files into GoCANN.
//
// Tensors are TensorProto messages: ONNX uses them for initializers,
// constant attributes and the input_N.pb / output_N.pb files of its backend
// test suite. [DecodeTensor], [ReadTensor] and [ReadTensorFile] turn one
// into a host [tensor.Tensor]; [EncodeTensor] and [WriteTensorFile] go the
// other way. Models embed tensors and are decoded with the same checks and
// the same [Option] values.
//
// Everything read is treated as untrusted. Dims, element counts and external
// data ranges are checked before anything is allocated from them, sizes are
// capped (see [WithMaxTensorBytes]), external data cannot be read from
// outside its base directory, and no input makes these functions panic.
// Errors say which tensor (and file) they concern and wrap [ErrInvalidModel]
// for malformed content or runtime.ErrUnsupported for valid ONNX that GoCANN
// does not implement.
//
// The protobuf bindings live in onnx/internal/onnxpb and are not part of the
// API.
package onnx
