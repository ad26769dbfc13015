# Jacobian spectrum by simulation (orthogonal draws, eigen and probes methods against theory) and
# `actgrad spectrum`.
if(TARGET actgrad_cli)
  find_package(nlohmann_json CONFIG REQUIRED)
  actgrad_add_test(test_spectrum SOURCES test_spectrum.cpp LIBS nlohmann_json::nlohmann_json)
  target_compile_definitions(test_spectrum PRIVATE ACTGRAD_CLI_PATH="$<TARGET_FILE:actgrad_cli>")
  add_dependencies(test_spectrum actgrad_cli)
endif()
