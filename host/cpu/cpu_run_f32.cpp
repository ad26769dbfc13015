// CPU loops for f32 storage: every activation x operation, compiled once per instruction set
// (cpu_isa.hpp), computed in float (detail/dispatch.hpp) with actgrad's own float math: no libm
// call (scripts/check-cpu-loops).
#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
namespace ACTGRAD_CPU_ISA_NS {
template void run_cpu_typed<float>(const Call&);
} // namespace ACTGRAD_CPU_ISA_NS
} // namespace detail
} // namespace actgrad
