# Free-probability prediction of the Jacobian spectrum (issue 17): moments, edge, density.
actgrad_add_test(test_spectrum_theory SOURCES test_spectrum_theory.cpp)
