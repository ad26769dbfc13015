// CUDA backend entry for builds without CUDA: every CUDA request is a clear "unavailable" error.
#include "actgrad/detail/call.hpp"
#include "actgrad/error.hpp"

namespace actgrad {
namespace detail {

void run_cuda(const Call&) {
  throw Error("device cuda: actgrad was built without CUDA support; use --device cpu or auto",
              Error::Kind::unavailable);
}

} // namespace detail
} // namespace actgrad
