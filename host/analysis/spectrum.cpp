// Jacobian spectrum of simulated dense networks (issue 17); see spectrum.hpp.
#include "actgrad/spectrum.hpp"
