# Dense gradient-decay model: CPU tests in every build, CPU-vs-GPU agreement in CUDA builds (it
# skips with the reason when no GPU is usable).
actgrad_add_test(test_decay_dense SOURCES test_decay_dense.cpp)
if(ACTGRAD_WITH_CUDA)
  actgrad_add_test(test_decay_dense_cuda SOURCES test_decay_dense_cuda.cpp)
endif()
