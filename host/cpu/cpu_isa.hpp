// The instruction sets the CPU engine is built for, the entry point of each build, and the store
// mode of large calls.
//
// CMake compiles cpu_run_f32/f64/f16/bf16.cpp once per instruction set (baseline; AVX2 + FMA +
// F16C; AVX-512), each time with that set's compiler flags and ACTGRAD_CPU_ISA_NS naming its
// namespace (isa_baseline, isa_avx2, isa_avx512). The math then sees __FMA__ where it may use FMA
// (squashing.hpp's kHardwareFma), and no symbol is shared between the builds. cpu_dispatch.cpp
// picks one build at the first call.
#pragma once

#include "actgrad/detail/call.hpp"

namespace actgrad {
namespace detail {

enum class CpuIsa { baseline, avx2, avx512 };

// The best instruction set this CPU and this build support, capped by ACTGRAD_CPU_ISA when set.
// Throws Error naming ACTGRAD_CPU_ISA and the allowed values for any other value.
CpuIsa cpu_isa_selected();
const char* cpu_isa_name(CpuIsa isa);

// How calls over the engine's streaming size (cpu_engine.hpp, kStreamingBytes) store their
// outputs: the environment variable ACTGRAD_CPU_STORES = auto (unset or empty: each thread of
// cpu_loop chooses from a streamed chunk's time and the math's), stream or plain. Read at each
// such call; any other value throws Error naming the variable and the allowed values.
enum class StoreMode { automatic, stream, plain };
StoreMode cpu_store_mode();

#define ACTGRAD_CPU_ISA_DECLARE(ns)                                                                \
  namespace ns {                                                                                   \
  template <class S>                                                                               \
  void run_cpu_typed(const Call& call);                                                            \
  }
ACTGRAD_CPU_ISA_DECLARE(isa_baseline)
ACTGRAD_CPU_ISA_DECLARE(isa_avx2)
ACTGRAD_CPU_ISA_DECLARE(isa_avx512)
#undef ACTGRAD_CPU_ISA_DECLARE

} // namespace detail
} // namespace actgrad
