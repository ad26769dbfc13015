// CPU loops for f16 storage: every activation x operation, compiled once per instruction set
// (cpu_isa.hpp), computed in float (detail/dispatch.hpp).
#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
namespace ACTGRAD_CPU_ISA_NS {
template void run_cpu_typed<half_t>(const Call&);
} // namespace ACTGRAD_CPU_ISA_NS
} // namespace detail
} // namespace actgrad
