// Compiler portability macros shared by host and device code (the only host/device macro).
#pragma once

#if defined(__CUDACC__) || defined(__HIP__)
#define ACTGRAD_HOST_DEVICE __forceinline__ __host__ __device__
#define ACTGRAD_DEVICE_COMPILE 1
#elif defined(__GNUC__)
// Always inlined on the host too, as on the device: the CPU loop vectorises only if every
// functor call in it is inlined (GCC otherwise keeps large kernels such as swish_parts out of
// line, and a call stops vectorisation).
#define ACTGRAD_HOST_DEVICE inline __attribute__((always_inline))
#define ACTGRAD_DEVICE_COMPILE 0
#else
#define ACTGRAD_HOST_DEVICE inline
#define ACTGRAD_DEVICE_COMPILE 0
#endif

#define ACTGRAD_VERSION_MAJOR 0
#define ACTGRAD_VERSION_MINOR 1
#define ACTGRAD_VERSION_PATCH 0
