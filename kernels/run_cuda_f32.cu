// CUDA kernels for f32 storage: every activation x operation, instantiated in its own translation
// unit.
#include "elementwise.cuh"

namespace actgrad {
namespace detail {
template void run_cuda_typed<float>(const Call&, const LaunchConfig&);
} // namespace detail
} // namespace actgrad
