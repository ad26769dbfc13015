// CUDA kernels for f16 storage: every activation x operation, instantiated in its own translation
// unit.
#include "elementwise.cuh"

namespace actgrad {
namespace detail {
template void run_cuda_typed<half_t>(const Call&, const LaunchConfig&);
} // namespace detail
} // namespace actgrad
