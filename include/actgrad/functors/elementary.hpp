// Elementary functors as in oneDNN eltwise: linear, square, abs, sqrt, exp, log, pow.
#pragma once

#include "actgrad/functors/base.hpp"

namespace actgrad {} // namespace actgrad
