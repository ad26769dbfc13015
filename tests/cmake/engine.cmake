# CUDA engine tests: the per-thread body on the host (every build but the sanitizer pass), and
# GPU-vs-CPU on a device
# (CUDA builds; each test skips with the reason when no GPU is usable).
# The sanitizer pass (ACTGRAD_CPU_TESTS_ONLY) leaves it out: it drives the CUDA per-thread body,
# not a CPU path, and its guard cells already catch any write outside a view.
if(NOT ACTGRAD_CPU_TESTS_ONLY)
  actgrad_add_test(test_engine_body SOURCES test_engine_body.cpp)
  target_include_directories(test_engine_body PRIVATE ${PROJECT_SOURCE_DIR}/kernels)
  # This one file instantiates the body for every activation x op x dtype (~750 copies). GCC 12
  # spends ~180 s of CPU on it at -O3 and ~47 s at -O1 (measured on the 2-core CI machine); the
  # test checks indexing and values, not speed, so it is built at -O1 in every configuration.
  target_compile_options(test_engine_body PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-O1>)
endif()
if(ACTGRAD_WITH_CUDA)
  actgrad_add_test(test_cuda_device SOURCES test_cuda_device.cpp LIBS CUDA::cudart)
  actgrad_add_test(test_cuda_exhaustive SOURCES test_cuda_exhaustive.cu LIBS CUDA::cudart)
  target_compile_options(test_cuda_exhaustive PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>)
endif()
# No FP64 instruction in the PTX of any f32, f16 or bf16 elementwise kernel (issue 10; the
# script compiles those three translation units to PTX, about 40 s, no GPU needed).
find_package(Python3 COMPONENTS Interpreter)
if(ACTGRAD_WITH_CUDA AND NOT ACTGRAD_CPU_TESTS_ONLY AND Python3_FOUND)
  add_test(NAME check_ptx_fp64
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/check-ptx-fp64
                   --nvcc ${CMAKE_CUDA_COMPILER} --arch 90)
endif()
