// Gated linear units: out = act(a) * b with da = b act'(a), db = act(a) (SPEC §2).
//
// Accuracy: out and da are act(a) and act'(a) times b with one more rounding, so they carry the
// gate's error plus 0.5 ulp; db is the gate value itself. Gates with parts() (double-words) are
// multiplied by b before that one rounding; 16-bit storage uses the gate's fused_narrow, whose
// few float ulps are far below a 16-bit ulp.
// NaN in a or b gives NaN in all three outputs; 0 * inf (a gate at exactly 0 times b = inf) is
// NaN, as the product has no limit. Measured max error: see docs/accuracy.md.
#pragma once

#include <limits>
#include <type_traits>
#include <utility>

#include "actgrad/functors/base.hpp"
#include "actgrad/functors/relu_family.hpp"
#include "actgrad/functors/sigmoid_gated.hpp"
#include "actgrad/functors/squashing.hpp"

namespace actgrad {
namespace detail {
namespace gated_units {

// Gates with parts(x) return f and f' as double-words (scaled where tiny, see
// squashing::Parts); their units then round out and d/da once, after multiplying by b.
template <class G, class T, class = void>
struct HasParts : std::false_type {};
template <class G, class T>
struct HasParts<G, T, std::void_t<decltype(std::declval<const G&>().parts(std::declval<T>()))>>
    : std::true_type {};

// (p.hi + p.lo) * b * unscale with one rounding. Where p.hi * b is not finite (b = +-inf, an
// infinite gate, or a scaled product beyond the range) the plain product gives the limit or NaN.
template <class T>
ACTGRAD_HOST_DEVICE T times(squashing::Pair<T> p, T unscale, T b) {
  if (!(math::fabs(p.hi * b) < math::inf<T>())) return (squashing::value(p) * unscale) * b;
  return squashing::value(squashing::mul(p, b)) * unscale;
}

// p * b * unscale for 16-bit storage: the product scaled back once; where p b is not finite
// (b = +-inf, or a scaled product beyond the range), the plain product gives the limit or NaN.
ACTGRAD_HOST_DEVICE float times_narrow(float p, float unscale, float b) {
  const float pb = p * b;
  return math::fabs(pb) < math::inf<float>() ? pb * unscale : (p * unscale) * b;
}

} // namespace gated_units
} // namespace detail

// Generic act(a) * b over a unary gate functor; the gate's parameters are the unit's parameters.
template <template <class> class Gate, class T>
struct GatedOp : ActBase {
  Gate<T> gate;
  explicit GatedOp(const Params& p) : gate(p) {}
  static const char* validate(const Params& p) { return Gate<double>::validate(p); }
  // Gate metadata with the gated formula; traits stay those of the gate act(a).
  static ActMeta gated_meta(const char* formula, const char* reference) {
    ActMeta m = Gate<double>::meta();
    m.formula = formula;
    m.derivative = "d/da = b act'(a), d/db = act(a)";
    m.reference = reference;
    return m;
  }
  ACTGRAD_HOST_DEVICE T forward(T a, T b) const {
    if constexpr (detail::gated_units::HasParts<Gate<T>, T>::value) {
      const auto g = gate.parts(a);
      return detail::gated_units::times(g.y, g.y_unscale, b);
    } else {
      return gate.forward(a) * b;
    }
  }
  ACTGRAD_HOST_DEVICE GatedFused<T> fused(T a, T b) const {
    if constexpr (detail::gated_units::HasParts<Gate<T>, T>::value) {
      namespace gu = detail::gated_units;
      const auto g = gate.parts(a);
      return {gu::times(g.y, g.y_unscale, b), gu::times(g.dy, g.dy_unscale, b),
              detail::squashing::value(g.y) * g.y_unscale};
    } else {
      const Fused<T> g = gate.fused(a);
      return {g.y * b, g.dy * b, g.y};
    }
  }
  // 16-bit storage, where the gate has a narrow formula (detail/element_ops.hpp).
  template <class G = Gate<T>,
            class = std::enable_if_t<HasNarrow<G>::value && std::is_same_v<T, float>>>
  ACTGRAD_HOST_DEVICE GatedFused<float> fused_narrow(float a, float b) const {
    namespace gu = detail::gated_units;
    const Narrow<float> g = gate.fused_narrow(a);
    return {gu::times_narrow(g.y, g.y_unscale, b), gu::times_narrow(g.dy, g.dy_unscale, b),
            g.y * g.y_unscale};
  }
};

// glu: sigmoid(a) * b. PyTorch's F.glu gates the *second* half (first * sigmoid(second)); pass
// the halves swapped to reproduce it. Dauphin et al. 2017.
template <class T>
struct GluOp : GatedOp<SigmoidOp, T> {
  using GatedOp<SigmoidOp, T>::GatedOp;
  static ActMeta meta() {
    return GatedOp<SigmoidOp, T>::gated_meta("sigmoid(a) * b", "Dauphin et al. 2017 (GLU)");
  }
};

// reglu: relu(a) * b. Shazeer 2020, "GLU Variants Improve Transformer".
template <class T>
struct RegluOp : GatedOp<ReluOp, T> {
  using GatedOp<ReluOp, T>::GatedOp;
  static ActMeta meta() { return GatedOp<ReluOp, T>::gated_meta("relu(a) * b", "Shazeer 2020"); }
};

// geglu: gelu(a) * b with the erf gelu (GeluOp, which evaluates 16-bit and f32 inputs in double).
// Shazeer 2020, "GLU Variants Improve Transformer", https://arxiv.org/abs/2002.05202.
template <class T>
struct GegluOp : GatedOp<GeluOp, T> {
  using GatedOp<GeluOp, T>::GatedOp;
  static ActMeta meta() {
    return GatedOp<GeluOp, T>::gated_meta("gelu(a) * b", "Shazeer 2020 (arXiv:2002.05202)");
  }
};

// geglu_tanh: gelu_tanh(a) * b, the tanh-approximated GEGLU (Transformer Engine "geglu" with
// approximate gelu). Shazeer 2020, https://arxiv.org/abs/2002.05202.
template <class T>
struct GegluTanhOp : GatedOp<GeluTanhOp, T> {
  using GatedOp<GeluTanhOp, T>::GatedOp;
  static ActMeta meta() {
    return GatedOp<GeluTanhOp, T>::gated_meta("gelu_tanh(a) * b",
                                              "Shazeer 2020 (arXiv:2002.05202); TE geglu");
  }
};

// swiglu: silu(a) * b. Shazeer 2020, https://arxiv.org/abs/2002.05202 (LLaMA's FFN).
template <class T>
struct SwigluOp : GatedOp<SiluOp, T> {
  using GatedOp<SiluOp, T>::GatedOp;
  static ActMeta meta() {
    return GatedOp<SiluOp, T>::gated_meta("silu(a) * b", "Shazeer 2020 (arXiv:2002.05202)");
  }
};

// qgeglu: quick_gelu(a) * b = a sigmoid(1.702 a) * b (Transformer Engine "qgeglu").
template <class T>
struct QgegluOp : GatedOp<QuickGeluOp, T> {
  using GatedOp<QuickGeluOp, T>::GatedOp;
  static ActMeta meta() {
    return GatedOp<QuickGeluOp, T>::gated_meta("quick_gelu(a) * b",
                                               "Transformer Engine qgeglu; Shazeer 2020");
  }
};

// sreglu: squared_relu(a) * b = max(0, a)^2 * b (Transformer Engine "sreglu"; So et al. 2021).
// For a > 0: out = (a b) a and d/da = 2 (a b), so that a^2 or 2a overflowing where the product
// does not (or b = 0) never gives inf or inf * 0; each within 1 ulp. d/db = a^2.
template <class T>
struct SregluOp : GatedOp<SquaredReluOp, T> {
  using GatedOp<SquaredReluOp, T>::GatedOp;
  static ActMeta meta() {
    return GatedOp<SquaredReluOp, T>::gated_meta("squared_relu(a) * b",
                                                 "Transformer Engine sreglu; So et al. 2021");
  }
  ACTGRAD_HOST_DEVICE T forward(T a, T b) const { return fused(a, b).y; }
  ACTGRAD_HOST_DEVICE GatedFused<T> fused(T a, T b) const {
    if (a > T(0)) {
      const T ab = a * b;
      return {ab * a, T(2) * ab, a * a};
    }
    if (math::isnan(a)) return {a, a, a};
    return {T(0) * b, T(0) * b, T(0)};
  }
};

// clamped_swiglu, as in GPT-OSS (OpenAI 2025, gpt-oss model card; "swiglu" with limit):
//   a_c = min(a, limit), b_c = clamp(b, -limit, limit), out = a_c sigmoid(alpha a_c) (b_c + 1).
// Derivatives follow PyTorch's clamp backward, which passes the gradient where the bound is met
// with equality:
//   d/da = (b_c + 1) swish'(a_c) for a <= limit, 0 for a > limit,
//   d/db = a_c sigmoid(alpha a_c)  for -limit <= b <= limit, 0 outside,
// with swish'(x) = sigmoid(z) (1 + z sigmoid(-z)), z = alpha x. NaN in a or b gives NaN in all
// three outputs (PyTorch's clamp backward would mask a NaN input's gradient to 0 instead). alpha is
// used as the double it is given (the default is RN(1.702); quick_gelu's 1.702 is the exact
// decimal). The swish value and b_c + 1 are double-words, so out is rounded once: error = the swish
// gate's (exp's error, scaled by at most 1) + 0.5 ulp. Not of the form act(a) * b, hence its own
// functor.
template <class T>
struct ClampedSwigluOp : ActBase {
  T limit;
  detail::squashing::Pair<T> alpha;
  static ActMeta meta() {
    const double dmax = detail::sigmoid_gated::swish_dmax();
    constexpr double kInf = std::numeric_limits<double>::infinity();
    return {"min(a, limit) sigmoid(alpha min(a, limit)) (clamp(b, -limit, limit) + 1)",
            "d/da = (b_c + 1) swish'(a_c) if a <= limit else 0; "
            "d/db = swish(a_c) if -limit <= b <= limit else 0 (PyTorch clamp backward)",
            "OpenAI 2025 (gpt-oss); Shazeer 2020 (arXiv:2002.05202)",
            "",
            2,
            {{"limit", 7.0, 0.0, kInf, true, true, "clamp bound of both inputs"},
             {"alpha", 1.702, -kInf, kInf, true, true, "slope of the sigmoid gate"}},
            {1 - dmax, dmax, 0.5, Saturation::soft, Saturation::hard, false, true}};
  }
  explicit ClampedSwigluOp(const Params& p)
      : limit(T(p[0])), alpha{T(p[1]), T(p[1] - double(T(p[1])))} {}
  ACTGRAD_HOST_DEVICE T forward(T a, T b) const { return fused(a, b).y; }
  ACTGRAD_HOST_DEVICE GatedFused<T> fused(T a, T b) const {
    namespace sq = detail::squashing;
    if (math::isnan(a) || math::isnan(b)) {
      const T nan = a + b;
      return {nan, nan, nan};
    }
    const T ac = a > limit ? limit : a;
    const T bc = sq::clamp_keep_nan(b, -limit, limit);
    const detail::sigmoid_gated::Parts<T> g = detail::sigmoid_gated::swish_parts(ac, alpha);
    const sq::Pair<T> b1 = sq::two_sum(bc, T(1)); // b_c + 1 exactly (b_c is finite or NaN)
    const T y = sq::value(sq::mul(g.y, b1)) * g.y_unscale;
    const T da = a > limit ? T(0) : sq::value(sq::mul(g.dy, b1)) * g.dy_unscale;
    const T gy = sq::value(g.y) * g.y_unscale;
    const T db = b < -limit || b > limit ? T(0) : gy;
    return {y, da, db};
  }
  // 16-bit storage: the gate from swish_narrow; b_c + 1 is exact in float for 16-bit b.
  ACTGRAD_HOST_DEVICE GatedFused<float> fused_narrow(float a, float b) const {
    namespace gu = detail::gated_units;
    const float lim = float(limit);
    const float ac = a > lim ? lim : a; // NaN stays NaN
    const float b1 = detail::squashing::clamp_keep_nan(b, -lim, lim) + 1.0f;
    const Narrow<float> g = detail::sigmoid_gated::swish_narrow(ac, float(alpha.hi));
    const float gy = g.y * g.y_unscale;
    const float db = math::fabs(b) > lim ? 0.0f : gy; // one compare (NaN: selected below)
    return {gu::times_narrow(g.y, g.y_unscale, b1),
            a > lim ? 0.0f : gu::times_narrow(g.dy, g.dy_unscale, b1), math::isnan(b) ? b : db};
  }
};

} // namespace actgrad
