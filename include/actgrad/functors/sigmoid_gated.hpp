// Functors gated by a sigmoid or Gaussian: gelu, gelu_tanh, quick_gelu, silu, swish, mish, hardswish.
#pragma once

#include "actgrad/functors/base.hpp"

namespace actgrad {} // namespace actgrad
