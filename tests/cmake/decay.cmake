# Gradient-decay tests (chain model, mean-field theory, `actgrad decay`/`phase`); the GPU
# comparison of the chain kernel with the CPU path builds only with CUDA and skips without a GPU.
actgrad_add_test(test_decay_chain SOURCES test_decay_chain.cpp LIBS OpenMP::OpenMP_CXX)
actgrad_add_test(test_mean_field SOURCES test_mean_field.cpp)
if(ACTGRAD_WITH_CUDA)
  actgrad_add_test(test_decay_chain_cuda SOURCES test_decay_chain_cuda.cpp)
endif()
if(TARGET actgrad_cli)
  actgrad_add_test(test_decay_cli SOURCES test_decay_cli.cpp)
  target_compile_definitions(test_decay_cli PRIVATE ACTGRAD_CLI_PATH="$<TARGET_FILE:actgrad_cli>")
  add_dependencies(test_decay_cli actgrad_cli)
endif()
# Initialisation (gain, critical points) and `actgrad shape`.
if(TARGET actgrad_cli)
  find_package(nlohmann_json CONFIG REQUIRED)
  actgrad_add_test(test_shaping SOURCES test_shaping.cpp LIBS nlohmann_json::nlohmann_json)
  target_compile_definitions(test_shaping PRIVATE ACTGRAD_CLI_PATH="$<TARGET_FILE:actgrad_cli>")
  add_dependencies(test_shaping actgrad_cli)
endif()
