// CPU loops for f32 storage: every activation x operation, compiled once per instruction set
// (cpu_isa.hpp), computed in float (detail/dispatch.hpp): actgrad's own float math, libm's powf
// only for pow (scripts/check-cpu-loops).
#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
namespace ACTGRAD_CPU_ISA_NS {
template void run_cpu_typed<float>(const Call&);
} // namespace ACTGRAD_CPU_ISA_NS
} // namespace detail
} // namespace actgrad
