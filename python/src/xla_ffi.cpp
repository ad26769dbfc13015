// XLA FFI handlers for actgrad.jax: each array call on the CPU and on CUDA (on the stream XLA
// gives), registered from Python with jax.ffi.register_ffi_target. Built only when jaxlib's FFI
// headers were found at configure time (ACTGRAD_WITH_XLA_FFI).
#include "xla_ffi.hpp"

#include <nanobind/stl/string.h>

#if ACTGRAD_WITH_XLA_FFI
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "xla/ffi/api/ffi.h"

#include "actgrad/actgrad.hpp"

namespace {

namespace ffi = xla::ffi;
using Buf = ffi::AnyBuffer;
using Ret = ffi::Result<ffi::AnyBuffer>;

// One parse per distinct spec and thread: the attribute arrives as text on every call.
const actgrad::Activation& activation(std::string_view spec) {
  thread_local std::unordered_map<std::string, actgrad::Activation> cache;
  auto it = cache.find(std::string(spec));
  if (it == cache.end())
    it = cache.emplace(std::string(spec), actgrad::Activation::parse(spec)).first;
  return it->second;
}

actgrad::DType dtype(ffi::DataType t) {
  switch (t) {
  case ffi::DataType::F32:
    return actgrad::DType::f32;
  case ffi::DataType::F64:
    return actgrad::DType::f64;
  case ffi::DataType::F16:
    return actgrad::DType::f16;
  case ffi::DataType::BF16:
    return actgrad::DType::bf16;
  default:
    throw actgrad::Error("actgrad.jax: unsupported dtype; allowed: float32, float64, float16, "
                         "bfloat16");
  }
}

// Where a call runs: the CPU, or a CUDA device and XLA's stream for it.
struct Where {
  actgrad::Device device;
  void* stream;
  actgrad::ConstTensorView in(const Buf& b) const {
    return {b.untyped_data(), std::int64_t(b.element_count()), dtype(b.element_type()), device};
  }
  actgrad::TensorView out(Ret& b) const {
    return {b->untyped_data(), std::int64_t(b->element_count()), dtype(b->element_type()), device};
  }
  actgrad::ExecOptions opts() const {
    actgrad::ExecOptions o;
    o.stream = stream;
    return o;
  }
};

template <class F>
ffi::Error guarded(F&& f) {
  try {
    f();
    return ffi::Error::Success();
  } catch (const actgrad::Error& e) {
    return e.kind() == actgrad::Error::Kind::invalid_argument
               ? ffi::Error::InvalidArgument(e.what())
               : ffi::Error::Internal(e.what());
  } catch (const std::exception& e) {
    return ffi::Error::Internal(e.what());
  }
}

ffi::Error forward(const Where& w, Buf x, Ret y, std::string_view spec) {
  return guarded([&] { actgrad::forward(activation(spec), w.in(x), w.out(y), w.opts()); });
}
ffi::Error forward_with_derivative(const Where& w, Buf x, Ret y, Ret d, std::string_view spec) {
  return guarded([&] {
    actgrad::forward_with_derivative(activation(spec), w.in(x), w.out(y), w.out(d), w.opts());
  });
}
ffi::Error backward(const Where& w, Buf x, Buf g, Ret gi, std::string_view spec) {
  return guarded(
      [&] { actgrad::backward(activation(spec), w.in(x), w.in(g), w.out(gi), w.opts()); });
}
ffi::Error backward_from_output(const Where& w, Buf y, Buf g, Ret gi, std::string_view spec) {
  return guarded([&] {
    actgrad::backward_from_output(activation(spec), w.in(y), w.in(g), w.out(gi), w.opts());
  });
}
ffi::Error gated_forward(const Where& w, Buf a, Buf b, Ret o, std::string_view spec) {
  return guarded(
      [&] { actgrad::gated_forward(activation(spec), w.in(a), w.in(b), w.out(o), w.opts()); });
}
ffi::Error gated_backward(const Where& w, Buf a, Buf b, Buf g, Ret ga, Ret gb,
                          std::string_view spec) {
  return guarded([&] {
    actgrad::gated_backward(activation(spec), w.in(a), w.in(b), w.in(g), w.out(ga), w.out(gb),
                            w.opts());
  });
}

Where cpu() { return {actgrad::Device::cpu(), nullptr}; }
Where cuda(void* stream, std::int32_t ordinal) { return {actgrad::Device::cuda(ordinal), stream}; }

// Each op's binding: its arrays, then on CUDA the stream and device, then the spec attribute.
auto bind_1_1() { return ffi::Ffi::Bind().Arg<Buf>().Ret<Buf>(); }
auto bind_1_2() { return ffi::Ffi::Bind().Arg<Buf>().Ret<Buf>().Ret<Buf>(); }
auto bind_2_1() { return ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>(); }
auto bind_3_2() { return ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Ret<Buf>().Ret<Buf>(); }
template <class B>
auto on_cpu(B b) {
  return std::move(b).template Attr<std::string_view>("spec");
}
template <class B>
auto on_cuda(B b) {
  return std::move(b)
      .template Ctx<ffi::PlatformStream<void*>>()
      .template Ctx<ffi::DeviceOrdinal>()
      .template Attr<std::string_view>("spec");
}

} // namespace

// The C symbols XLA calls. CUDA handlers take the stream and ordinal before the arrays' spec.
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_forward_cpu, [](Buf x, Ret y, std::string_view s) { return forward(cpu(), x, y, s); },
    on_cpu(bind_1_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_forward_with_derivative_cpu,
    [](Buf x, Ret y, Ret d, std::string_view s) {
      return forward_with_derivative(cpu(), x, y, d, s);
    },
    on_cpu(bind_1_2()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_backward_cpu,
    [](Buf x, Buf g, Ret gi, std::string_view s) { return backward(cpu(), x, g, gi, s); },
    on_cpu(bind_2_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_backward_from_output_cpu,
    [](Buf y, Buf g, Ret gi, std::string_view s) {
      return backward_from_output(cpu(), y, g, gi, s);
    },
    on_cpu(bind_2_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_gated_forward_cpu,
    [](Buf a, Buf b, Ret o, std::string_view s) { return gated_forward(cpu(), a, b, o, s); },
    on_cpu(bind_2_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_gated_backward_cpu,
    [](Buf a, Buf b, Buf g, Ret ga, Ret gb, std::string_view s) {
      return gated_backward(cpu(), a, b, g, ga, gb, s);
    },
    on_cpu(bind_3_2()));

XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_forward_cuda,
    [](Buf x, Ret y, void* st, std::int32_t dev, std::string_view s) {
      return forward(cuda(st, dev), x, y, s);
    },
    on_cuda(bind_1_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_forward_with_derivative_cuda,
    [](Buf x, Ret y, Ret d, void* st, std::int32_t dev, std::string_view s) {
      return forward_with_derivative(cuda(st, dev), x, y, d, s);
    },
    on_cuda(bind_1_2()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_backward_cuda,
    [](Buf x, Buf g, Ret gi, void* st, std::int32_t dev, std::string_view s) {
      return backward(cuda(st, dev), x, g, gi, s);
    },
    on_cuda(bind_2_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_backward_from_output_cuda,
    [](Buf y, Buf g, Ret gi, void* st, std::int32_t dev, std::string_view s) {
      return backward_from_output(cuda(st, dev), y, g, gi, s);
    },
    on_cuda(bind_2_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_gated_forward_cuda,
    [](Buf a, Buf b, Ret o, void* st, std::int32_t dev, std::string_view s) {
      return gated_forward(cuda(st, dev), a, b, o, s);
    },
    on_cuda(bind_2_1()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    actgrad_gated_backward_cuda,
    [](Buf a, Buf b, Buf g, Ret ga, Ret gb, void* st, std::int32_t dev, std::string_view s) {
      return gated_backward(cuda(st, dev), a, b, g, ga, gb, s);
    },
    on_cuda(bind_3_2()));

namespace {
nanobind::capsule capsule(XLA_FFI_Error* (*fn)(XLA_FFI_CallFrame*)) {
  return nanobind::capsule(reinterpret_cast<void*>(fn));
}
} // namespace

void register_xla_ffi(nanobind::module_& m) {
  nanobind::dict t;
#define ACTGRAD_XLA_TARGET(op)                                                                     \
  {                                                                                                \
    nanobind::dict d;                                                                              \
    d["cpu"] = capsule(actgrad_##op##_cpu);                                                        \
    d["cuda"] = capsule(actgrad_##op##_cuda);                                                      \
    t[#op] = d;                                                                                    \
  }
  ACTGRAD_XLA_TARGET(forward)
  ACTGRAD_XLA_TARGET(forward_with_derivative)
  ACTGRAD_XLA_TARGET(backward)
  ACTGRAD_XLA_TARGET(backward_from_output)
  ACTGRAD_XLA_TARGET(gated_forward)
  ACTGRAD_XLA_TARGET(gated_backward)
#undef ACTGRAD_XLA_TARGET
  m.attr("ffi_targets") = t;
}

#else

void register_xla_ffi(nanobind::module_& m) { m.attr("ffi_targets") = nanobind::dict(); }

#endif
