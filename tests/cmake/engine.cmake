# CUDA engine tests: the per-thread body on the host (every build), and GPU-vs-CPU on a device
# (CUDA builds; each test skips with the reason when no GPU is usable).
actgrad_add_test(test_engine_body SOURCES test_engine_body.cpp)
target_include_directories(test_engine_body PRIVATE ${PROJECT_SOURCE_DIR}/kernels)
if(ACTGRAD_WITH_CUDA)
  actgrad_add_test(test_cuda_device SOURCES test_cuda_device.cpp LIBS CUDA::cudart)
  actgrad_add_test(test_cuda_exhaustive SOURCES test_cuda_exhaustive.cu LIBS CUDA::cudart)
  target_compile_options(test_cuda_exhaustive PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>)
endif()
