// actgrad umbrella header: the whole public C++ API.
#pragma once

#include "actgrad/activation.hpp"
#include "actgrad/api.hpp"
#include "actgrad/buffer.hpp"
#include "actgrad/error.hpp"
#include "actgrad/saturation.hpp"
#include "actgrad/scalar.hpp"
#include "actgrad/shaping.hpp"
#include "actgrad/spectrum.hpp"
#include "actgrad/tensor.hpp"
