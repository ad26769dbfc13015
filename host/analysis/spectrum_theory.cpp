// Free-probability prediction of the Jacobian spectrum (issue 17); see spectrum.hpp.
#include "actgrad/spectrum.hpp"
