# Fuzz targets (tests/fuzz/, libFuzzer): built when ACTGRAD_BUILD_FUZZ is on (clang by default).
if(ACTGRAD_BUILD_FUZZ)
  add_subdirectory(${CMAKE_CURRENT_SOURCE_DIR}/fuzz ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
endif()
