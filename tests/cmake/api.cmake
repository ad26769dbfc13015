# Host API tests: parsing, views, sizes, alignment, in place, bad input, buffers.
actgrad_add_test(test_api SOURCES test_api.cpp)
actgrad_add_test(test_examples SOURCES test_examples.cpp)
target_compile_definitions(test_examples PRIVATE ACTGRAD_README="${PROJECT_SOURCE_DIR}/README.md")
