// CUDA kernels for f64 storage: every activation x operation, instantiated in its own translation
// unit.
#include "elementwise.cuh"

namespace actgrad {
namespace detail {
template void run_cuda_typed<double>(const Call&, const LaunchConfig&);
} // namespace detail
} // namespace actgrad
