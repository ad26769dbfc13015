// CPU loops for f32 storage: every activation x operation, compiled once per instruction set
// (cpu_isa.hpp), computed in float (detail/dispatch.hpp); libmvec only for gelu's double kernel and pow
// (see simd_math.hpp).
#include "simd_math.hpp"

#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
namespace ACTGRAD_CPU_ISA_NS {
template void run_cpu_typed<float>(const Call&);
} // namespace ACTGRAD_CPU_ISA_NS
} // namespace detail
} // namespace actgrad
