// Compiler portability macros shared by host and device code (the only host/device macro).
#pragma once

#if defined(__CUDACC__) || defined(__HIP__)
#define ACTGRAD_HOST_DEVICE __forceinline__ __host__ __device__
#define ACTGRAD_DEVICE_COMPILE 1
#else
#define ACTGRAD_HOST_DEVICE inline
#define ACTGRAD_DEVICE_COMPILE 0
#endif

#define ACTGRAD_VERSION_MAJOR 0
#define ACTGRAD_VERSION_MINOR 1
#define ACTGRAD_VERSION_PATCH 0
