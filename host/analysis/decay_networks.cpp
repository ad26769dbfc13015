// Finite-width gradient statistics over independent dense networks (issue 17); see decay.hpp.
#include "actgrad/decay.hpp"
