// Picks the CPU engine build for this CPU (cpu_isa.hpp) and runs a call on it; reads the store
// mode of large calls (cpu_engine.hpp).
#include <cstdlib>
#include <cstring>
#include <string>

#include "actgrad/api.hpp"
#include "actgrad/error.hpp"
#include "cpu_isa.hpp"

namespace actgrad {
namespace detail {
namespace {

// What this CPU (and its operating system, which must save the wider registers) supports. The
// feature lists match the compiler flags of each build in CMakeLists.txt.
CpuIsa cpu_isa_supported() {
#if ACTGRAD_CPU_HAVE_AVX2 && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                    __builtin_cpu_supports("f16c");
#if ACTGRAD_CPU_HAVE_AVX512
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return CpuIsa::avx512;
#endif
  if (avx2) return CpuIsa::avx2;
#endif
  return CpuIsa::baseline;
}

CpuIsa cpu_isa_from_env(CpuIsa supported) {
  const char* v = std::getenv("ACTGRAD_CPU_ISA");
  if (!v || !*v) return supported;
  CpuIsa cap;
  if (std::strcmp(v, "baseline") == 0)
    cap = CpuIsa::baseline;
  else if (std::strcmp(v, "avx2") == 0)
    cap = CpuIsa::avx2;
  else if (std::strcmp(v, "avx512") == 0)
    cap = CpuIsa::avx512;
  else
    throw Error("ACTGRAD_CPU_ISA: unknown instruction set '" + std::string(v) +
                "'; expected baseline, avx2 or avx512");
  return int(cap) < int(supported) ? cap : supported;
}

} // namespace

CpuIsa cpu_isa_selected() {
  // Read once: the environment does not change the build a process runs with midway.
  static const CpuIsa isa = cpu_isa_from_env(cpu_isa_supported());
  return isa;
}

StoreMode cpu_store_mode() {
  const char* v = std::getenv("ACTGRAD_CPU_STORES");
  if (!v || !*v || std::strcmp(v, "auto") == 0) return StoreMode::automatic;
  if (std::strcmp(v, "stream") == 0) return StoreMode::stream;
  if (std::strcmp(v, "plain") == 0) return StoreMode::plain;
  throw Error("ACTGRAD_CPU_STORES: unknown store mode '" + std::string(v) +
              "'; expected auto, stream or plain");
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
  case CpuIsa::avx512:
    return "avx512";
  case CpuIsa::avx2:
    return "avx2";
  case CpuIsa::baseline:
    break;
  }
  return "baseline";
}

namespace {
template <class S>
void run_cpu_isa(const Call& call) {
  switch (cpu_isa_selected()) {
#if ACTGRAD_CPU_HAVE_AVX512
  case CpuIsa::avx512:
    return isa_avx512::run_cpu_typed<S>(call);
#endif
#if ACTGRAD_CPU_HAVE_AVX2
  case CpuIsa::avx2:
    return isa_avx2::run_cpu_typed<S>(call);
#endif
  default:
    return isa_baseline::run_cpu_typed<S>(call);
  }
}
} // namespace

void run_cpu(const Call& call) {
  switch (call.dtype) {
  case DType::f32:
    return run_cpu_isa<float>(call);
  case DType::f64:
    return run_cpu_isa<double>(call);
  case DType::f16:
    return run_cpu_isa<half_t>(call);
  case DType::bf16:
    return run_cpu_isa<bfloat16_t>(call);
  }
}

} // namespace detail

const char* cpu_isa() { return detail::cpu_isa_name(detail::cpu_isa_selected()); }

} // namespace actgrad
