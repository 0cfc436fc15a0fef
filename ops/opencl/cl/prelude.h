// GoCANN kernel prelude. Kernel sources use only these macros and types for
// what differs between OpenCL C and CUDA C, so that the same sources can be
// compiled by NVRTC with the CUDA branch below. Kernels index with i64,
// take every buffer as a base pointer plus an element offset, and declare
// local (shared) memory as fixed-size arrays inside the kernel.
#ifdef __OPENCL_VERSION__

#define KERNEL __kernel
#define GLOBAL __global
#define CONSTANT __constant
#define LOCAL_MEM __local
#define DEVICE_FN static inline
#define RESTRICT restrict
#define GLOBAL_ID(d) ((i64)get_global_id(d))
#define GLOBAL_SIZE(d) ((i64)get_global_size(d))
#define LOCAL_ID(d) ((int)get_local_id(d))
#define LOCAL_SIZE(d) ((int)get_local_size(d))
#define GROUP_ID(d) ((i64)get_group_id(d))
#define NUM_GROUPS(d) ((i64)get_num_groups(d))
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
#define ATOMIC_OR(p, v) atomic_or((p), (v))
typedef long i64;
typedef ulong u64;
typedef int i32;
typedef uint u32;
typedef short i16;
typedef ushort u16;
typedef char i8;
typedef uchar u8;
#ifdef USE_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#else // CUDA C++ (NVRTC)

#define KERNEL extern "C" __global__
#define GLOBAL
#define CONSTANT
#define LOCAL_MEM __shared__
#define DEVICE_FN static __device__ inline
#define RESTRICT __restrict__
#define GLOBAL_ID(d) ((i64)(d == 0 ? blockIdx.x * blockDim.x + threadIdx.x : d == 1 ? blockIdx.y * blockDim.y + threadIdx.y : blockIdx.z * blockDim.z + threadIdx.z))
#define GLOBAL_SIZE(d) ((i64)(d == 0 ? gridDim.x * blockDim.x : d == 1 ? gridDim.y * blockDim.y : gridDim.z * blockDim.z))
#define LOCAL_ID(d) ((int)(d == 0 ? threadIdx.x : d == 1 ? threadIdx.y : threadIdx.z))
#define LOCAL_SIZE(d) ((int)(d == 0 ? blockDim.x : d == 1 ? blockDim.y : blockDim.z))
#define GROUP_ID(d) ((i64)(d == 0 ? blockIdx.x : d == 1 ? blockIdx.y : blockIdx.z))
#define NUM_GROUPS(d) ((i64)(d == 0 ? gridDim.x : d == 1 ? gridDim.y : gridDim.z))
#define BARRIER() __syncthreads()
#define ATOMIC_OR(p, v) atomicOr((p), (v))
typedef long long i64;
typedef unsigned long long u64;
typedef int i32;
typedef unsigned int u32;
typedef short i16;
typedef unsigned short u16;
typedef signed char i8;
typedef unsigned char u8;
#define INFINITY __int_as_float(0x7f800000)
DEVICE_FN float rint(float x) { return rintf(x); }

#endif

// Shapes and strides travel by value in small structs (all i64, so host
// and device agree on the layout without padding rules).
#define MAX_RANK 8

// shape_t describes an iteration space and up to three operands' strides
// (in elements) over it; a stride of 0 broadcasts.
typedef struct {
	i64 rank;
	i64 dims[MAX_RANK];
	i64 s0[MAX_RANK];
	i64 s1[MAX_RANK];
	i64 s2[MAX_RANK];
} shape_t;
