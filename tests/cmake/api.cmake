# Host API tests: parsing, views, sizes, alignment, in place, bad input, buffers.
actgrad_add_test(test_api SOURCES test_api.cpp)
