// CPU loops for f16 storage: every activation x operation, instantiated in its own translation
// unit. libmvec vector math: results are rounded to a narrower type (see simd_math.hpp).
#include "simd_math.hpp"

#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
template void run_cpu_typed<half_t>(const Call&);
} // namespace detail
} // namespace actgrad
