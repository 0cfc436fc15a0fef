// Package opencl is GoCANN's OpenCL backend: every device of every OpenCL
// platform on the machine (GPUs of any vendor; in CI, the CPU through
// PoCL), reached without cgo. The OpenCL library (the ICD loader,
// libOpenCL.so.1) is opened at run time with purego; a machine without it
// gets a backend with no devices and a reason ([Backend.Err]), not a failure.
//
// Devices are numbered opencl:0, opencl:1… in platform order. Each has its
// own context; a [Buffer] is a cl_mem; a [Stream] is an in-order command
// queue fed by a goroutine (see stream.go for how host callbacks, events
// and errors fit OpenCL's model); an [Event] is a marker whose time comes
// from the device's profiling clock.
//
// Kernels are OpenCL C: [Device.BuildProgram] compiles a source once per
// process and keeps the binary in a disk cache keyed by source, options,
// device and driver, so later runs compile nothing. A [Launch] of a
// [Kernel] with its arguments and ND-range is this backend's
// runtime.Kernel.
package opencl
