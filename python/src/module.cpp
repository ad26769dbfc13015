// The _actgrad extension: array calls on DLPack arrays (zero copy), the catalogue, and the XLA FFI
// handlers of actgrad.jax. It calls the public C++ API only.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "actgrad/actgrad.hpp"

#include "xla_ffi.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using In = nb::ndarray<nb::ro>;
using Out = nb::ndarray<>;

// numpy's spelling of a DLPack dtype: int64, uint8, bool, complex128, float8, ...
std::string dtype_text(nb::dlpack::dtype t) {
  std::string base;
  switch (static_cast<nb::dlpack::dtype_code>(t.code)) {
  case nb::dlpack::dtype_code::Int:
    base = "int";
    break;
  case nb::dlpack::dtype_code::UInt:
    base = "uint";
    break;
  case nb::dlpack::dtype_code::Float:
    base = "float";
    break;
  case nb::dlpack::dtype_code::Bfloat:
    base = "bfloat";
    break;
  case nb::dlpack::dtype_code::Complex:
    base = "complex";
    break;
  case nb::dlpack::dtype_code::Bool:
    return "bool";
  default:
    base = "type code " + std::to_string(int(t.code)) + " of ";
  }
  std::string s = base + std::to_string(t.bits);
  if (t.lanes != 1) s += "x" + std::to_string(t.lanes);
  return s;
}

actgrad::DType to_dtype(const char* fn, const char* arg, nb::dlpack::dtype t) {
  const auto code = static_cast<nb::dlpack::dtype_code>(t.code);
  if (t.lanes == 1) {
    if (code == nb::dlpack::dtype_code::Float && t.bits == 32) return actgrad::DType::f32;
    if (code == nb::dlpack::dtype_code::Float && t.bits == 64) return actgrad::DType::f64;
    if (code == nb::dlpack::dtype_code::Float && t.bits == 16) return actgrad::DType::f16;
    if (code == nb::dlpack::dtype_code::Bfloat && t.bits == 16) return actgrad::DType::bf16;
  }
  throw nb::type_error((std::string("actgrad.") + fn + ": '" + arg + "' has dtype " +
                        dtype_text(t) + "; allowed: float32, float64, float16, bfloat16")
                           .c_str());
}

// Row-major contiguous (a dimension of extent 1 may have any stride), as DLPack and torch define
// it; zero elements always qualify.
template <class A>
bool contiguous(const A& a) {
  if (a.size() == 0) return true; // numpy gives empty arrays strides of 0
  std::int64_t expect = 1;
  for (std::size_t d = a.ndim(); d-- > 0;) {
    const std::int64_t extent = std::int64_t(a.shape(d));
    if (extent != 1 && a.stride(d) != expect) return false;
    expect *= extent;
  }
  return true;
}

template <class A>
actgrad::Device to_device(const char* fn, const char* arg, const A& a) {
  const int type = a.device_type();
  if (type == nb::device::cpu::value) return actgrad::Device::cpu();
  if (type == nb::device::cuda::value) return actgrad::Device::cuda(int(a.device_id()));
  if (type == nb::device::cuda_host::value || type == nb::device::cuda_managed::value)
    return actgrad::Device::cpu(); // host-addressable memory
  throw nb::type_error((std::string("actgrad.") + fn + ": '" + arg +
                        "' lives on DLPack device type " + std::to_string(type) +
                        "; allowed: CPU and CUDA arrays")
                           .c_str());
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t = "(";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

// Turns each array of one call into a view, checking what the C++ API cannot see: dtype kind,
// contiguity and shape (the API checks counts, dtypes, devices and overlap).
class Call {
public:
  explicit Call(const char* fn) : fn_(fn) {}

  actgrad::ConstTensorView in(const char* arg, const In& a) {
    return check(arg, a, const_cast<void*>(a.data()));
  }
  actgrad::TensorView out(const char* arg, const Out& a) {
    const auto v = check(arg, a, a.data());
    return {const_cast<void*>(v.data), v.n, v.dtype, v.device};
  }

private:
  template <class A>
  actgrad::ConstTensorView check(const char* arg, const A& a, const void* data) {
    const actgrad::DType dt = to_dtype(fn_, arg, a.dtype());
    if (!contiguous(a))
      throw nb::value_error((std::string("actgrad.") + fn_ + ": '" + arg +
                             "' is not contiguous; actgrad reads and writes dense row-major "
                             "arrays only (call .contiguous() or np.ascontiguousarray first)")
                                .c_str());
    std::vector<std::int64_t> shape(a.ndim());
    for (std::size_t d = 0; d < a.ndim(); ++d) shape[d] = std::int64_t(a.shape(d));
    if (first_ == nullptr) {
      first_ = arg;
      shape_ = shape;
    } else if (shape != shape_) {
      throw nb::value_error((std::string("actgrad.") + fn_ + ": '" + arg + "' has shape " +
                             shape_text(shape) + " but '" + first_ + "' has shape " +
                             shape_text(shape_) + "; all arrays of one call must have one shape")
                                .c_str());
    }
    return {data, std::int64_t(a.size()), dt, to_device(fn_, arg, a)};
  }

  const char* fn_;
  const char* first_ = nullptr;
  std::vector<std::int64_t> shape_;
};

actgrad::ExecOptions options(std::uintptr_t stream, int threads) {
  if (threads < 0)
    throw nb::value_error(
        ("actgrad: threads must be >= 0 (0: OpenMP's default), got " + std::to_string(threads))
            .c_str());
  actgrad::ExecOptions o;
  o.stream = reinterpret_cast<void*>(stream);
  o.threads = threads;
  return o;
}

nb::dict param_spec(const actgrad::ParamSpec& p) {
  nb::dict d;
  d["name"] = p.name;
  d["default"] = p.default_value;
  d["min"] = p.min;
  d["max"] = p.max;
  d["min_open"] = p.min_open;
  d["max_open"] = p.max_open;
  d["doc"] = p.doc;
  return d;
}

nb::list catalogue() {
  nb::list out;
  for (actgrad::ActId id : actgrad::catalogue()) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(id);
    nb::dict d;
    d["name"] = info.name;
    d["alias"] = info.alias;
    d["kind"] = info.kind == actgrad::Kind::gated ? "gated" : "unary";
    d["formula"] = info.formula;
    d["derivative"] = info.derivative;
    d["reference"] = info.reference;
    nb::list params;
    for (int i = 0; i < info.num_params; ++i) params.append(param_spec(info.params[i]));
    d["params"] = params;
    d["from_output"] = info.from_output;
    out.append(d);
  }
  return out;
}

} // namespace

NB_MODULE(_actgrad, m) {
  m.doc() = "actgrad's compiled core: array calls on DLPack arrays and the catalogue";

  // actgrad::Error -> ValueError for a bad argument, RuntimeError otherwise; the message is the
  // library's own.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const actgrad::Error& e) {
      if (e.kind() == actgrad::Error::Kind::invalid_argument)
        PyErr_SetString(PyExc_ValueError, e.what());
      else
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  nb::class_<actgrad::Activation>(m, "Activation",
                                  "A catalogue entry with parameter values, parsed from "
                                  "'name' or 'name:param=value,...' as on the command line")
      .def(
          "__init__",
          [](actgrad::Activation* self, const std::string& spec) {
            new (self) actgrad::Activation(actgrad::Activation::parse(spec));
          },
          "spec"_a)
      .def_prop_ro("name", [](const actgrad::Activation& a) { return std::string(a.name()); })
      .def_prop_ro("is_gated", &actgrad::Activation::is_gated)
      .def_prop_ro("has_derivative_from_output", &actgrad::Activation::has_derivative_from_output)
      .def_prop_ro("params",
                   [](const actgrad::Activation& a) {
                     nb::dict d;
                     const actgrad::ActInfo& info = a.info();
                     for (int i = 0; i < info.num_params; ++i)
                       d[info.params[i].name] = a.params()[i];
                     return d;
                   })
      .def("__str__", &actgrad::Activation::to_string)
      .def("__repr__",
           [](const actgrad::Activation& a) {
             return "actgrad.Activation('" + a.to_string() + "')";
           })
      .def("__eq__", [](const actgrad::Activation& a,
                        const actgrad::Activation& b) { return a.to_string() == b.to_string(); })
      .def("__hash__",
           [](const actgrad::Activation& a) { return nb::hash(nb::str(a.to_string().c_str())); });

  m.def("catalogue", &catalogue, "The catalogue, one dict per activation, in catalogue order");

  // Initialisation (actgrad.init): the library's shaping functions.
  m.def("variance_gain", &actgrad::variance_gain, "act"_a);
  m.def("fan_in_std", &actgrad::fan_in_std, "act"_a, "fan_in"_a);
  auto critical_dict = [](const actgrad::CriticalPoint& c) {
    nb::dict d;
    d["sigma_w2"] = c.sigma_w2;
    d["sigma_b2"] = c.sigma_b2;
    d["q_star"] = c.q_star;
    d["chi1"] = c.chi1;
    d["chi_q"] = c.chi_q;
    d["xi_q"] = c.xi_q;
    d["xi_c"] = c.xi_c;
    return d;
  };
  m.def(
      "critical_point_at_q_star",
      [critical_dict](const actgrad::Activation& a, double q) {
        return critical_dict(actgrad::critical_point_at_q_star(a, q));
      },
      "act"_a, "q_star"_a);
  m.def(
      "critical_point_at_sigma_b2",
      [critical_dict](const actgrad::Activation& a, double t) {
        return critical_dict(actgrad::critical_point_at_sigma_b2(a, t));
      },
      "act"_a, "sigma_b2"_a);
  auto network = [](std::int64_t depth, const std::vector<int>& resnet, double w, int k) {
    actgrad::NetworkShape n;
    n.depth = depth;
    n.resnet_blocks = resnet;
    n.shortcut_weight = w;
    n.branch_depth = k;
    return n;
  };
  auto transform_dict = [](const actgrad::ActivationTransform& t) {
    nb::dict d;
    d["input_scale"] = t.input_scale;
    d["input_shift"] = t.input_shift;
    d["output_shift"] = t.output_shift;
    d["output_scale"] = t.output_scale;
    if (!std::isnan(t.negative_slope)) d["negative_slope"] = t.negative_slope;
    return d;
  };
  m.def(
      "dks_transform",
      [network, transform_dict](const actgrad::Activation& a, std::int64_t depth,
                                const std::vector<int>& resnet, double w, int k, double zeta,
                                double q_slope) {
        return transform_dict(
            actgrad::dks_transform(a, network(depth, resnet, w, k), zeta, q_slope));
      },
      "act"_a, "depth"_a, "resnet"_a, "shortcut_weight"_a, "branch_depth"_a, "zeta"_a,
      "local_q_slope"_a);
  m.def(
      "tat_transform",
      [network, transform_dict](const actgrad::Activation& a, std::int64_t depth,
                                const std::vector<int>& resnet, double w, int k, double tau,
                                double eta) {
        return transform_dict(actgrad::tat_transform(a, network(depth, resnet, w, k), tau, eta));
      },
      "act"_a, "depth"_a, "resnet"_a, "shortcut_weight"_a, "branch_depth"_a, "tau"_a, "eta"_a);
  m.def("cpu_isa", [] { return std::string(actgrad::cpu_isa()); });
  m.def("cuda_available", [] { return actgrad::Device::cuda_available(); });
  m.def("device_reason", [] { return actgrad::Device::automatic_reason(); });

  // The array calls. Inputs are read-only views, outputs writable; no argument converts (a
  // wrong dtype, a strided view or a list is refused, never copied). The GIL is released while
  // the loop runs.
#define ACTGRAD_ARGS "stream"_a = 0, "threads"_a = 0
  m.def(
      "forward",
      [](const actgrad::Activation& act, In x, Out y, std::uintptr_t stream, int threads) {
        Call c("forward");
        const auto vx = c.in("x", x);
        const auto vy = c.out("out", y);
        nb::gil_scoped_release r;
        actgrad::forward(act, vx, vy, options(stream, threads));
      },
      "act"_a, "x"_a.noconvert(), "out"_a.noconvert(), ACTGRAD_ARGS);
  m.def(
      "forward_with_derivative",
      [](const actgrad::Activation& act, In x, Out y, Out dydx, std::uintptr_t stream,
         int threads) {
        Call c("forward_with_derivative");
        const auto vx = c.in("x", x);
        const auto vy = c.out("out[0]", y);
        const auto vd = c.out("out[1]", dydx);
        nb::gil_scoped_release r;
        actgrad::forward_with_derivative(act, vx, vy, vd, options(stream, threads));
      },
      "act"_a, "x"_a.noconvert(), "y"_a.noconvert(), "dydx"_a.noconvert(), ACTGRAD_ARGS);
  m.def(
      "backward",
      [](const actgrad::Activation& act, In x, In g, Out gi, std::uintptr_t stream, int threads) {
        Call c("backward");
        const auto vx = c.in("x", x);
        const auto vg = c.in("grad_out", g);
        const auto vo = c.out("out", gi);
        nb::gil_scoped_release r;
        actgrad::backward(act, vx, vg, vo, options(stream, threads));
      },
      "act"_a, "x"_a.noconvert(), "grad_out"_a.noconvert(), "out"_a.noconvert(), ACTGRAD_ARGS);
  m.def(
      "derivative_from_output",
      [](const actgrad::Activation& act, In y, Out d, std::uintptr_t stream, int threads) {
        Call c("derivative_from_output");
        const auto vy = c.in("y", y);
        const auto vd = c.out("out", d);
        nb::gil_scoped_release r;
        actgrad::derivative_from_output(act, vy, vd, options(stream, threads));
      },
      "act"_a, "y"_a.noconvert(), "out"_a.noconvert(), ACTGRAD_ARGS);
  m.def(
      "backward_from_output",
      [](const actgrad::Activation& act, In y, In g, Out gi, std::uintptr_t stream, int threads) {
        Call c("backward_from_output");
        const auto vy = c.in("y", y);
        const auto vg = c.in("grad_out", g);
        const auto vo = c.out("out", gi);
        nb::gil_scoped_release r;
        actgrad::backward_from_output(act, vy, vg, vo, options(stream, threads));
      },
      "act"_a, "y"_a.noconvert(), "grad_out"_a.noconvert(), "out"_a.noconvert(), ACTGRAD_ARGS);
  m.def(
      "gated_forward",
      [](const actgrad::Activation& act, In a, In b, Out o, std::uintptr_t stream, int threads) {
        Call c("gated_forward");
        const auto va = c.in("a", a);
        const auto vb = c.in("b", b);
        const auto vo = c.out("out", o);
        nb::gil_scoped_release r;
        actgrad::gated_forward(act, va, vb, vo, options(stream, threads));
      },
      "act"_a, "a"_a.noconvert(), "b"_a.noconvert(), "out"_a.noconvert(), ACTGRAD_ARGS);
  m.def(
      "gated_forward_with_derivative",
      [](const actgrad::Activation& act, In a, In b, Out o, Out da, Out db, std::uintptr_t stream,
         int threads) {
        Call c("gated_forward_with_derivative");
        const auto va = c.in("a", a);
        const auto vb = c.in("b", b);
        const auto vo = c.out("out[0]", o);
        const auto vda = c.out("out[1]", da);
        const auto vdb = c.out("out[2]", db);
        nb::gil_scoped_release r;
        actgrad::gated_forward_with_derivative(act, va, vb, vo, vda, vdb, options(stream, threads));
      },
      "act"_a, "a"_a.noconvert(), "b"_a.noconvert(), "out"_a.noconvert(), "dfda"_a.noconvert(),
      "dfdb"_a.noconvert(), ACTGRAD_ARGS);
  m.def(
      "gated_backward",
      [](const actgrad::Activation& act, In a, In b, In g, Out ga, Out gb, std::uintptr_t stream,
         int threads) {
        Call c("gated_backward");
        const auto va = c.in("a", a);
        const auto vb = c.in("b", b);
        const auto vg = c.in("grad_out", g);
        const auto vga = c.out("out[0]", ga);
        const auto vgb = c.out("out[1]", gb);
        nb::gil_scoped_release r;
        actgrad::gated_backward(act, va, vb, vg, vga, vgb, options(stream, threads));
      },
      "act"_a, "a"_a.noconvert(), "b"_a.noconvert(), "grad_out"_a.noconvert(),
      "grad_a"_a.noconvert(), "grad_b"_a.noconvert(), ACTGRAD_ARGS);
#undef ACTGRAD_ARGS

  register_xla_ffi(m);
}
