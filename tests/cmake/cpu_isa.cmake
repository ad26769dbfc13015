# The CPU engine's builds per instruction set (host/cpu/cpu_isa.hpp):
# - test_accuracy_<isa>: test_accuracy (quick mode) on each build below the best, which
#   test_accuracy itself runs on; ACTGRAD_CPU_ISA caps the choice (a build this machine cannot
#   run falls back to the best one it can);
# - check_cpu_isa_symbols: no weak symbol shared between the builds (the linker could otherwise
#   keep one build's copy for another's callers);
# - check_cpu_loops: the compiled float loops are vectorised, with no double arithmetic and no
#   libm call (scripts/check-cpu-loops). GCC optimised builds only: clang
#   -O1 (the sanitizer build) runs no loop vectoriser.
list(LENGTH ACTGRAD_CPU_ISAS _isa_count)
math(EXPR _isa_last "${_isa_count} - 1")
foreach(_i RANGE ${_isa_last})
  list(GET ACTGRAD_CPU_ISAS ${_i} _isa)
  if(_i LESS _isa_last)
    add_test(NAME test_accuracy_${_isa} COMMAND test_accuracy)
    set_tests_properties(test_accuracy_${_isa} PROPERTIES
                         ENVIRONMENT "ACTGRAD_CPU_ISA=${_isa};ACTGRAD_QUICK=1")
  endif()
  list(APPEND _isa_objects $<TARGET_OBJECTS:actgrad_cpu_${_isa}>)
endforeach()
find_program(ACTGRAD_NM nm)
if(ACTGRAD_NM AND _isa_count GREATER 1)
  add_test(NAME check_cpu_isa_symbols
           COMMAND ${PROJECT_SOURCE_DIR}/tests/check_cpu_isa_symbols.sh ${_isa_objects}
           COMMAND_EXPAND_LISTS)
endif()
find_program(ACTGRAD_OBJDUMP objdump)
find_package(Python3 COMPONENTS Interpreter)
if(ACTGRAD_OBJDUMP AND Python3_FOUND AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
   AND CMAKE_BUILD_TYPE STREQUAL "Release" AND "avx2" IN_LIST ACTGRAD_CPU_ISAS
   AND NOT ACTGRAD_SANITIZE)
  add_test(NAME check_cpu_loops
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/check-cpu-loops
                   ${PROJECT_BINARY_DIR})
endif()
