// Smooth rectifier functors: elu, selu, celu, softplus, squareplus, sparse_plus.
#pragma once

#include "actgrad/functors/base.hpp"

namespace actgrad {} // namespace actgrad
