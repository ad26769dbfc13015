// Public elementwise entry points: argument validation, then the CPU or CUDA backend.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include <omp.h>

#include "actgrad/api.hpp"
#include "actgrad/detail/call.hpp"
#include "actgrad/detail/view_check.hpp"
#include "actgrad/error.hpp"

namespace actgrad {

Error::~Error() = default;

namespace detail {

int omp_default_threads() { return omp_get_max_threads(); }

namespace {

struct Arg {
  const char* name;
  const void* data;
  std::int64_t n;
  DType dtype;
  Device device;
  bool output;
};

Arg in(const char* name, ConstTensorView v) {
  return {name, v.data, v.n, v.dtype, v.device, false};
}
Arg out(const char* name, TensorView v) { return {name, v.data, v.n, v.dtype, v.device, true}; }

std::string describe_size(std::int64_t n) { return std::to_string(n); }

// Validates views and runs. `fn` names the public function for messages.
void run(const char* fn, OpKind op, const Activation& act, std::initializer_list<Arg> args,
         const ExecOptions& opt) {
  const bool gated_op =
      op == OpKind::gated_forward || op == OpKind::gated_fused || op == OpKind::gated_backward;
  if (gated_op && !act.is_gated())
    throw Error(
        std::string("actgrad::") + fn + ": activation '" + act.name() +
        "' is not a gated unit; use the unary functions, or a gated unit (glu, swiglu, ...)");
  if (!gated_op && act.is_gated())
    throw Error(std::string("actgrad::") + fn + ": activation '" + act.name() +
                "' is a gated unit taking (a, b); use the gated_* functions");
  if ((op == OpKind::from_output || op == OpKind::backward_from_output) &&
      !act.has_derivative_from_output())
    throw Error(std::string("actgrad::") + fn + ": the derivative of " + act.to_string() +
                " is not a function of its output; pass x to backward() instead");
  const Arg& first = *args.begin();
  for (const Arg& a : args) {
    if (a.n < 0)
      throw Error(std::string("actgrad::") + fn + ": argument '" + a.name + "' has negative size " +
                  describe_size(a.n) + "; sizes must be >= 0");
    if (a.n != first.n)
      throw Error(std::string("actgrad::") + fn + ": argument '" + a.name + "' has " +
                  describe_size(a.n) + " elements but '" + first.name + "' has " +
                  describe_size(first.n) + "; all views must have the same size");
    if (a.dtype != first.dtype)
      throw Error(std::string("actgrad::") + fn + ": argument '" + a.name + "' is " +
                  dtype_name(a.dtype) + " but '" + first.name + "' is " + dtype_name(first.dtype) +
                  "; all views must have the same dtype");
    if (a.device != first.device)
      throw Error(std::string("actgrad::") + fn + ": argument '" + a.name + "' is on " +
                  a.device.describe() + " but '" + first.name + "' is on " +
                  first.device.describe() + "; all views must be on the same device");
    if (a.n > 0 && a.data == nullptr)
      throw Error(std::string("actgrad::") + fn + ": argument '" + a.name + "' is null with " +
                  describe_size(a.n) + " elements; data must be non-null when n > 0");
    // Before any n * dtype_size below: the count limit, and element alignment.
    const std::string problem = view_problem(a.data, a.n, a.dtype);
    if (!problem.empty())
      throw Error(std::string("actgrad::") + fn + ": argument '" + a.name + "' " + problem);
  }
  // Outputs may alias any view exactly (in place); any other overlap is a bug in the caller.
  const std::int64_t bytes = first.n * dtype_size(first.dtype);
  for (const Arg& o : args) {
    if (!o.output || bytes == 0) continue;
    const auto* ob = static_cast<const char*>(o.data);
    for (const Arg& a : args) {
      if (&a == &o) continue;
      const auto* ab = static_cast<const char*>(a.data);
      if (ab == ob) {
        if (a.output)
          throw Error(std::string("actgrad::") + fn + ": outputs '" + a.name + "' and '" + o.name +
                      "' are the same memory; each output needs its own buffer");
        continue;
      }
      if (ab < ob + bytes && ob < ab + bytes)
        throw Error(std::string("actgrad::") + fn + ": argument '" + o.name +
                    "' partially overlaps '" + a.name +
                    "'; an output may alias an input only exactly (in place)");
    }
  }
  Call call;
  call.op = op;
  call.act = &act;
  call.n = first.n;
  call.dtype = first.dtype;
  call.device = first.device;
  call.opt = opt;
  int ni = 0, no = 0;
  call.fn = fn;
  for (const Arg& a : args) {
    if (a.output) {
      call.out_names[no] = a.name;
      call.out[no++] = const_cast<void*>(a.data);
    } else {
      call.in_names[ni] = a.name;
      call.in[ni++] = a.data;
    }
  }
  if (call.n == 0) return;
  if (call.device.kind == DeviceKind::cuda)
    run_cuda(call);
  else
    run_cpu(call);
}

} // namespace
} // namespace detail

using detail::in;
using detail::OpKind;
using detail::out;

void forward(const Activation& act, ConstTensorView x, TensorView y, const ExecOptions& opt) {
  detail::run("forward", OpKind::forward, act, {in("x", x), out("y", y)}, opt);
}
void forward_with_derivative(const Activation& act, ConstTensorView x, TensorView y,
                             TensorView dydx, const ExecOptions& opt) {
  detail::run("forward_with_derivative", OpKind::fused, act,
              {in("x", x), out("y", y), out("dydx", dydx)}, opt);
}
void backward(const Activation& act, ConstTensorView x, ConstTensorView grad_out,
              TensorView grad_in, const ExecOptions& opt) {
  detail::run("backward", OpKind::backward, act,
              {in("x", x), in("grad_out", grad_out), out("grad_in", grad_in)}, opt);
}
void derivative_from_output(const Activation& act, ConstTensorView y, TensorView dydx,
                            const ExecOptions& opt) {
  detail::run("derivative_from_output", OpKind::from_output, act, {in("y", y), out("dydx", dydx)},
              opt);
}
void backward_from_output(const Activation& act, ConstTensorView y, ConstTensorView grad_out,
                          TensorView grad_in, const ExecOptions& opt) {
  detail::run("backward_from_output", OpKind::backward_from_output, act,
              {in("y", y), in("grad_out", grad_out), out("grad_in", grad_in)}, opt);
}
void gated_forward(const Activation& act, ConstTensorView a, ConstTensorView b, TensorView o,
                   const ExecOptions& opt) {
  detail::run("gated_forward", OpKind::gated_forward, act, {in("a", a), in("b", b), out("out", o)},
              opt);
}
void gated_forward_with_derivative(const Activation& act, ConstTensorView a, ConstTensorView b,
                                   TensorView o, TensorView dfda, TensorView dfdb,
                                   const ExecOptions& opt) {
  detail::run("gated_forward_with_derivative", OpKind::gated_fused, act,
              {in("a", a), in("b", b), out("out", o), out("dfda", dfda), out("dfdb", dfdb)}, opt);
}
void gated_backward(const Activation& act, ConstTensorView a, ConstTensorView b,
                    ConstTensorView grad_out, TensorView grad_a, TensorView grad_b,
                    const ExecOptions& opt) {
  detail::run("gated_backward", OpKind::gated_backward, act,
              {in("a", a), in("b", b), in("grad_out", grad_out), out("grad_a", grad_a),
               out("grad_b", grad_b)},
              opt);
}

} // namespace actgrad
