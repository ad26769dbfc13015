# Accuracy against the MPFR reference (test_accuracy), numerics checks (test_numerics), the
# accuracy_report tool that prints docs/accuracy.md's table and exhaustive_report, which prints
# docs/accuracy-exhaustive.md (tools, not tests).
add_library(actgrad_reference STATIC ${CMAKE_CURRENT_LIST_DIR}/../reference.cpp)
target_link_libraries(actgrad_reference PUBLIC actgrad::actgrad ${MPFR_LIBRARY} ${GMP_LIBRARY})
target_include_directories(actgrad_reference PUBLIC ${PROJECT_SOURCE_DIR}/tests ${MPFR_INCLUDE_DIR})
actgrad_warnings(actgrad_reference)

actgrad_add_test(test_accuracy SOURCES test_accuracy.cpp LIBS actgrad_reference)
actgrad_add_test(test_numerics SOURCES test_numerics.cpp LIBS actgrad_reference)

add_executable(accuracy_report ${CMAKE_CURRENT_LIST_DIR}/../accuracy_report.cpp)
target_link_libraries(accuracy_report PRIVATE actgrad_reference)
actgrad_warnings(accuracy_report)

add_executable(exhaustive_report ${CMAKE_CURRENT_LIST_DIR}/../exhaustive_report.cpp)
target_link_libraries(exhaustive_report PRIVATE actgrad_reference OpenMP::OpenMP_CXX)
actgrad_warnings(exhaustive_report)

# The f32 path against the f64 path on 2^20 stratified inputs per activation (issue 10's CI sample).
actgrad_add_test(test_accuracy_stratified SOURCES test_accuracy_stratified.cpp LIBS actgrad_reference)
