// CPU loops for f16 storage: every activation x operation, instantiated in its own translation unit.
#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
template void run_cpu_typed<half_t>(const Call&);
} // namespace detail
} // namespace actgrad
