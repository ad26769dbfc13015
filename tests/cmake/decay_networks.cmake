# Finite-width statistics over independent dense networks (issue 17): the rectifier law, the
# simulation against it, determinism, and `actgrad decay --networks` when the CLI is built.
actgrad_add_test(test_decay_networks SOURCES test_decay_networks.cpp)
if(TARGET actgrad_cli)
  target_compile_definitions(test_decay_networks
                             PRIVATE ACTGRAD_CLI_PATH="$<TARGET_FILE:actgrad_cli>")
  add_dependencies(test_decay_networks actgrad_cli)
endif()
