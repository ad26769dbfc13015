// All activation functors (host and device); the catalogue rows in activations.def name them.
#pragma once

#include "actgrad/functors/base.hpp"
#include "actgrad/functors/relu_family.hpp"
#include "actgrad/functors/smooth.hpp"
#include "actgrad/functors/sigmoid_gated.hpp"
#include "actgrad/functors/squashing.hpp"
#include "actgrad/functors/elementary.hpp"
#include "actgrad/functors/gated_units.hpp"
