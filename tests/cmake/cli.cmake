# CLI tests: run the built `actgrad` binary (SPEC §5) and compare its output with the library.
if(TARGET actgrad_cli)
  find_package(nlohmann_json CONFIG REQUIRED)
  actgrad_add_test(test_cli SOURCES test_cli.cpp LIBS nlohmann_json::nlohmann_json)
  target_compile_definitions(test_cli PRIVATE ACTGRAD_CLI_PATH="$<TARGET_FILE:actgrad_cli>")
  add_dependencies(test_cli actgrad_cli)
endif()
