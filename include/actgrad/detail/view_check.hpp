// Checks shared by every entry point that takes a view: the element-count limit (the same as
// Buffer's, so n * dtype_size cannot overflow) and element alignment of the data pointer.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "actgrad/dtype.hpp"

namespace actgrad::detail {

// The largest element count of any view or Buffer: n * dtype_size(dtype) (at most 8 bytes per
// element) then fits in int64_t. Buffer (host/buffer.cpp) uses the same limit.
constexpr std::int64_t kMaxViewElements = std::numeric_limits<std::int64_t>::max() / 8;

// Why a view with `n` elements of `dtype` at `data` cannot be used, or "" when it can. `n` is
// assumed >= 0. Pointers must be a multiple of the element size: the CPU loops and CUDA kernels
// read elements as S, and reading an S at a misaligned address is undefined behaviour.
inline std::string view_problem(const void* data, std::int64_t n, DType dtype) {
  if (n > kMaxViewElements)
    return "has " + std::to_string(n) + " elements, more than the " +
           std::to_string(kMaxViewElements) + " any view can address";
  const auto size = static_cast<std::uintptr_t>(dtype_size(dtype));
  if (n > 0 && reinterpret_cast<std::uintptr_t>(data) % size != 0)
    return std::string("is not aligned to its elements: ") + dtype_name(dtype) + " needs " +
           std::to_string(size) + "-byte alignment (an address that is a multiple of " +
           std::to_string(size) + ")";
  return "";
}

} // namespace actgrad::detail
