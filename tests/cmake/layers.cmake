# Layering: scripts/check-layers passes on the tree and fails on planted upward includes.
add_test(NAME check_layers
         COMMAND ${PROJECT_SOURCE_DIR}/tests/check_layers_test.sh ${PROJECT_SOURCE_DIR})
