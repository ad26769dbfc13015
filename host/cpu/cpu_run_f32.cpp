// CPU loops for f32 storage: every activation x operation, instantiated in its own translation
// unit, computed in float (detail/dispatch.hpp); libmvec only for gelu's double kernel and pow
// (see simd_math.hpp).
#include "simd_math.hpp"

#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
template void run_cpu_typed<float>(const Call&);
} // namespace detail
} // namespace actgrad
