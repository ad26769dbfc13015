// The elementwise operations: forward, fused value+derivative, backward, from-output and gated.
//
// All views of one call must have the same element count, dtype and device; the call runs on
// that device (CPU, or CUDA on `options.stream`). Outputs may alias an input exactly (in place);
// any other overlap is rejected. Any n from 0 to 2^60 - 1 works. Each data pointer must be a
// multiple of its element size (2 bytes for f16/bf16, 4 for f32, 8 for f64), as any pointer to
// an element of an array of that type is; any element offset into a buffer works (p + 1 is
// fine), a pointer between elements is rejected. Errors throw actgrad::Error naming the function
// and the argument.
#pragma once

#include "actgrad/activation.hpp"
#include "actgrad/tensor.hpp"

namespace actgrad {

struct ExecOptions {
  void* stream = nullptr; // cudaStream_t for CUDA views; ignored on the CPU
  int threads = 0;        // CPU threads; 0 = OpenMP's default (OMP_NUM_THREADS or all cores)
};

// y = f(x)
void forward(const Activation& act, ConstTensorView x, TensorView y, const ExecOptions& opt = {});
// y = f(x), dydx = f'(x) in one pass: read x once, write y and dydx.
void forward_with_derivative(const Activation& act, ConstTensorView x, TensorView y,
                             TensorView dydx, const ExecOptions& opt = {});
// grad_in = grad_out * f'(x) in one pass.
void backward(const Activation& act, ConstTensorView x, ConstTensorView grad_out,
              TensorView grad_in, const ExecOptions& opt = {});
// dydx = f'(x) computed from y = f(x) alone (Activation::has_derivative_from_output()).
void derivative_from_output(const Activation& act, ConstTensorView y, TensorView dydx,
                            const ExecOptions& opt = {});
// grad_in = grad_out * f'(x) computed from y = f(x).
void backward_from_output(const Activation& act, ConstTensorView y, ConstTensorView grad_out,
                          TensorView grad_in, const ExecOptions& opt = {});

// Gated units, out = act(a) * b.
void gated_forward(const Activation& act, ConstTensorView a, ConstTensorView b, TensorView out,
                   const ExecOptions& opt = {});
// out, d out/d a and d out/d b in one pass.
void gated_forward_with_derivative(const Activation& act, ConstTensorView a, ConstTensorView b,
                                   TensorView out, TensorView dfda, TensorView dfdb,
                                   const ExecOptions& opt = {});
// grad_a = g * d out/d a, grad_b = g * d out/d b in one pass.
void gated_backward(const Activation& act, ConstTensorView a, ConstTensorView b,
                    ConstTensorView grad_out, TensorView grad_a, TensorView grad_b,
                    const ExecOptions& opt = {});

// The instruction set the CPU loops run with: "avx512", "avx2" (with FMA) or "baseline". The
// library carries a build of its CPU loops for each and picks the best this CPU supports, capped
// by the environment variable ACTGRAD_CPU_ISA (the same names) when it is set. Results can
// differ between them by rounding only: each meets the accuracy goals (docs/accuracy.md).
const char* cpu_isa();

} // namespace actgrad
