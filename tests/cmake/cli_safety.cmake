# Hostile-input tests of the CLI (issue 15): no user text reaching gnuplot's commands, stdout
# failures, parser slips and size limits. The gnuplot quoting unit test compiles
# host/cli/gnuplot.cpp in directly; the rest run the built `actgrad` binary.
if(TARGET actgrad_cli)
  find_package(CLI11 CONFIG REQUIRED)
  actgrad_add_test(test_cli_safety SOURCES test_cli_safety.cpp
                   ${PROJECT_SOURCE_DIR}/host/cli/gnuplot.cpp LIBS CLI11::CLI11)
  target_include_directories(test_cli_safety PRIVATE ${PROJECT_SOURCE_DIR}/host/cli)
  target_compile_definitions(test_cli_safety
                             PRIVATE ACTGRAD_CLI_PATH="$<TARGET_FILE:actgrad_cli>")
  add_dependencies(test_cli_safety actgrad_cli)
endif()
