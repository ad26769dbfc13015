// CPU loops for f64 storage: every activation x operation, instantiated in its own translation
// unit.
#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
template void run_cpu_typed<double>(const Call&);
} // namespace detail
} // namespace actgrad
