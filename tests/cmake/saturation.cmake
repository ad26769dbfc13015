# Saturation analysis, atlas rows and tensor statistics (CPU), the GPU statistics against the
# CPU (CUDA builds; skips without a device), and the atlas/saturation/plot CLI.
actgrad_add_test(test_saturation SOURCES test_saturation.cpp)
actgrad_add_test(test_stats SOURCES test_stats.cpp)
if(ACTGRAD_WITH_CUDA)
  actgrad_add_test(test_stats_cuda SOURCES test_stats_cuda.cpp LIBS CUDA::cudart)
endif()
if(TARGET actgrad_cli)
  find_package(nlohmann_json CONFIG REQUIRED)
  actgrad_add_test(test_cli_atlas SOURCES test_cli_atlas.cpp LIBS nlohmann_json::nlohmann_json)
  target_compile_definitions(test_cli_atlas PRIVATE ACTGRAD_CLI_PATH="$<TARGET_FILE:actgrad_cli>")
  add_dependencies(test_cli_atlas actgrad_cli)
endif()
