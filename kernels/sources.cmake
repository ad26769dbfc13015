# CUDA backend sources, included by the top-level CMakeLists.txt when CUDA is enabled.
#
# One translation unit per storage type, so the ~1000 kernel instantiations (activations x ops x
# dtypes) compile in parallel; run_cuda.cpp is plain C++ (checks, device attributes, dtype switch).
target_sources(actgrad PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/run_cuda.cpp
  ${CMAKE_CURRENT_LIST_DIR}/run_cuda_f32.cu
  ${CMAKE_CURRENT_LIST_DIR}/run_cuda_f64.cu
  ${CMAKE_CURRENT_LIST_DIR}/run_cuda_f16.cu
  ${CMAKE_CURRENT_LIST_DIR}/run_cuda_bf16.cu
  ${CMAKE_CURRENT_LIST_DIR}/decay_chain.cu
  ${CMAKE_CURRENT_LIST_DIR}/stats.cu
  ${CMAKE_CURRENT_LIST_DIR}/decay_dense.cu)
# cuBLAS for the dense decay model's GEMMs and cuSOLVER for its orthogonal weights and the
# spectrum's eigensolves, linked dynamically (the carried GPU build stays small; the GPU machine's
# toolkit has both).
target_link_libraries(actgrad PRIVATE CUDA::cublas CUDA::cusolver)
target_include_directories(actgrad PRIVATE ${CMAKE_CURRENT_LIST_DIR})
# --expt-relaxed-constexpr: the functors call constexpr host functions (std::numeric_limits) from
# device code. -lineinfo: source lines for compute-sanitizer and Nsight, at no runtime cost.
target_compile_options(actgrad PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo>)
