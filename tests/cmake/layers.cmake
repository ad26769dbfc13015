# Layering: scripts/check-layers passes on the tree and fails on planted upward includes.
if(NOT ACTGRAD_CPU_TESTS_ONLY) # a script, not compiled code: nothing for a sanitizer to see
  add_test(NAME check_layers
           COMMAND ${PROJECT_SOURCE_DIR}/tests/check_layers_test.sh ${PROJECT_SOURCE_DIR})
endif()
