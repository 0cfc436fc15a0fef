// Package opencl holds the OpenCL kernels of GoCANN's standard operators:
// OpenCL C sources embedded in the binary (cl/), compiled per device on
// first use through runtime/opencl (and kept in its program cache), and the
// ops.DeviceOp values that check what a device can run and launch them.
//
// Register adds them to an operator registry; ops.Registry.PrepareDevice
// then prepares a node for an OpenCL device, or says why it cannot run
// there. The sources use only the macros of cl/prelude.h for what differs
// between OpenCL C and CUDA C (KERNEL, GLOBAL, LOCAL_MEM, GLOBAL_ID,
// BARRIER…), so that a CUDA backend can compile them with NVRTC.
package opencl
