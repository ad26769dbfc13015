// Host tests of the CUDA engine's per-thread body (kernels/elementwise_body.hpp), no GPU needed:
// every element written exactly once with the right value, for every (block, thread), size and
// pointer alignment, and bit-identical to the CPU path for every activation, op and dtype.
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"
#include "storage_compare.hpp"
#include "elementwise_body.hpp"

namespace {

using actgrad_test::agrees_with_cpu;
using actgrad_test::to_double;

using actgrad::Activation;
using actgrad::bfloat16_t;
using actgrad::DType;
using actgrad::half_t;
using actgrad::Storage;
using actgrad::detail::Call;
using actgrad::detail::EwArgs;
using actgrad::detail::kBlockThreads;
using actgrad::detail::kMaxStreams;
using actgrad::detail::LaunchConfig;
using actgrad::detail::OpKind;

// Sizes around vector, warp and block boundaries, plus one spanning many grid-stride rounds.
const std::int64_t kSizes[] = {0, 1, 15, 16, 17, 127, 128, 129, 4095, 4096, 4097, 100003};
// Above this size only a sample of the offset combinations runs (the rest is the same code).
constexpr std::int64_t kAllOffsetsUpTo = 4097;
// Pointer offsets 0..3 elements: every residue mod 16 bytes for f32 (and both for f64), half
// of them for the 8-element f16/bf16 vectors.
constexpr int kOffsets = 4;
// Untouched cells kept on each side of every view: more than the widest vector (8 x 16-bit).
constexpr std::int64_t kGuard = 16;
// Fill byte for guards and not-yet-written outputs; no computed result here has this pattern.
constexpr unsigned char kFill = 0xA5;

// Stand-in device geometries: a single resident block (many grid-stride rounds per thread), and
// an H100 (132 SMs x 2048 threads), where small n leave most threads idle.
const LaunchConfig kOneBlock{nullptr, 1, kBlockThreads};
const LaunchConfig kH100{nullptr, 132, 2048};

template <class S>
using Compute = typename Storage<S>::compute;
template <class S>
S to_storage(double v) {
  return Storage<S>::store(Compute<S>(v));
}
template <class S>
bool same_bits(const S& a, const S& b) {
  return std::memcmp(&a, &b, sizeof(S)) == 0;
}
// Same bits, or both NaN: the sign and payload of a NaN are unspecified (x86 gives a generated
// NaN the sign bit, and which operand's NaN propagates depends on instruction order).
template <class S>
bool same_value(const S& a, const S& b) {
  return same_bits(a, b) || (std::isnan(to_double(a)) && std::isnan(to_double(b)));
}

// Runs the kernel body for every (block, thread) of the grid run_cuda would launch.
template <class S, class C, class E>
EwArgs<S> drive(const E& e, const Call& call, const LaunchConfig& cfg) {
  const EwArgs<S> a = actgrad::detail::make_ew_args<S>(e, call);
  const std::int64_t blocks = actgrad::detail::grid_blocks(a, cfg);
  for (std::int64_t b = 0; b < blocks; ++b)
    for (std::int64_t t = 0; t < kBlockThreads; ++t)
      actgrad::detail::elementwise_body<S, C>(b, t, kBlockThreads, blocks, e, a);
  return a;
}

// Base alignment of every test allocation: a cache line, a multiple of the 16-byte vector, so
// offsets alone set each view's misalignment.
constexpr std::size_t kBaseAlign = 64;

// One view's memory: n elements at `offset` elements past a kBaseAlign boundary, guarded both
// sides.
template <class S>
class Guarded {
public:
  explicit Guarded(std::int64_t capacity)
      : cells_(2 * kGuard + kOffsets + capacity),
        mem_(static_cast<S*>(std::aligned_alloc(kBaseAlign, round_up(cells_ * sizeof(S)))),
             std::free) {}
  // Fills the view and its guards with kFill and places an n-element view at `offset`.
  S* place(std::int64_t n, int offset) {
    n_ = n;
    offset_ = offset;
    std::memset(mem_.get(), kFill, std::size_t(used()) * sizeof(S));
    return data();
  }
  S* data() const { return mem_.get() + kGuard + offset_; }
  // Whether every guard cell around the view still holds the fill.
  bool guards_intact() const {
    const auto* bytes = reinterpret_cast<const unsigned char*>(mem_.get());
    const std::size_t lo = std::size_t(kGuard + offset_) * sizeof(S);
    const std::size_t hi = std::size_t(kGuard + offset_ + n_) * sizeof(S);
    for (std::size_t i = 0; i < std::size_t(used()) * sizeof(S); ++i)
      if ((i < lo || i >= hi) && bytes[i] != kFill) return false;
    return true;
  }

private:
  static std::size_t round_up(std::size_t b) {
    return (b + kBaseAlign - 1) / kBaseAlign * kBaseAlign; // aligned_alloc wants a multiple
  }
  std::int64_t used() const { return 2 * kGuard + offset_ + n_; }
  std::int64_t cells_;
  std::unique_ptr<S, void (*)(void*)> mem_;
  std::int64_t n_ = 0;
  int offset_ = 0;
};

int arity_in(OpKind op) {
  using namespace actgrad::detail;
  switch (op) {
  case OpKind::forward:
    return OpArity<OpKind::forward>::kIn;
  case OpKind::fused:
    return OpArity<OpKind::fused>::kIn;
  case OpKind::backward:
    return OpArity<OpKind::backward>::kIn;
  case OpKind::from_output:
    return OpArity<OpKind::from_output>::kIn;
  case OpKind::backward_from_output:
    return OpArity<OpKind::backward_from_output>::kIn;
  case OpKind::gated_forward:
    return OpArity<OpKind::gated_forward>::kIn;
  case OpKind::gated_fused:
    return OpArity<OpKind::gated_fused>::kIn;
  case OpKind::gated_backward:
    return OpArity<OpKind::gated_backward>::kIn;
  }
  return 0;
}
int arity_out(OpKind op) {
  using namespace actgrad::detail;
  switch (op) {
  case OpKind::forward:
    return OpArity<OpKind::forward>::kOut;
  case OpKind::fused:
    return OpArity<OpKind::fused>::kOut;
  case OpKind::backward:
    return OpArity<OpKind::backward>::kOut;
  case OpKind::from_output:
    return OpArity<OpKind::from_output>::kOut;
  case OpKind::backward_from_output:
    return OpArity<OpKind::backward_from_output>::kOut;
  case OpKind::gated_forward:
    return OpArity<OpKind::gated_forward>::kOut;
  case OpKind::gated_fused:
    return OpArity<OpKind::gated_fused>::kOut;
  case OpKind::gated_backward:
    return OpArity<OpKind::gated_backward>::kOut;
  }
  return 0;
}

// Offsets of the kIn + kOut views for combination c (base-kOffsets digits), or a sample of
// combinations for large n: all views equally misaligned, then mixed patterns.
std::vector<std::vector<int>> offset_combos(int views, std::int64_t n) {
  std::vector<std::vector<int>> combos;
  if (n <= kAllOffsetsUpTo) {
    int count = 1;
    for (int v = 0; v < views; ++v) count *= kOffsets;
    for (int c = 0; c < count; ++c) {
      std::vector<int> o(std::size_t(views), 0);
      for (int v = 0, r = c; v < views; ++v, r /= kOffsets) o[std::size_t(v)] = r % kOffsets;
      combos.push_back(o);
    }
    return combos;
  }
  for (int same = 0; same < kOffsets; ++same) combos.emplace_back(std::size_t(views), same);
  for (int shift = 1; shift < kOffsets; ++shift) {
    std::vector<int> o(static_cast<std::size_t>(views));
    for (int v = 0; v < views; ++v) o[std::size_t(v)] = (v * shift) % kOffsets;
    combos.push_back(o);
  }
  return combos;
}

// ---------------------------------------------------------------------------------------------
// Exactly once: a probe op whose result depends on every input and the output slot, and which is
// not idempotent, so in place a second visit of an element changes it again.

// out[k] = 1 + sum of inputs + k.
template <int I, int O>
struct ProbeOp {
  static constexpr int kIn = I, kOut = O;
  template <class C>
  void operator()(const C* in, C* out) const {
    C s = C(1);
    for (int k = 0; k < I; ++k) s += in[k];
    for (int k = 0; k < O; ++k) out[k] = s + C(k);
  }
};

// Input j at index i: small integers with a period long enough to catch misrouted indices:
// 2^20 for f32/f64; 512 for f16 and 64 for bf16, so that the largest result, 1 + 3 inputs + 2,
// stays below 2^11 and 2^8, beyond which those types no longer hold every integer.
template <class S>
double probe_input(int j, std::int64_t i) {
  const std::int64_t period = sizeof(S) >= 4                   ? (1 << 20)
                              : std::is_same<S, half_t>::value ? 512
                                                               : 64;
  return double((i * (j + 1) + 7 * j) % period);
}

template <class S, int I, int O>
void check_probe(const LaunchConfig& cfg, const char* geometry, bool in_place) {
  const ProbeOp<I, O> op;
  std::vector<Guarded<S>> ins, outs;
  for (int k = 0; k < I; ++k) ins.emplace_back(kSizes[std::size(kSizes) - 1]);
  for (int k = 0; k < O; ++k) outs.emplace_back(kSizes[std::size(kSizes) - 1]);
  constexpr int kN = actgrad::detail::vec_width<S>();
  for (std::int64_t n : kSizes) {
    for (const std::vector<int>& offs : offset_combos(I + O, n)) {
      if (in_place && offs[0] != offs[std::size_t(I)]) continue; // out[0] aliases in[0]
      Call call;
      call.n = n;
      for (int k = 0; k < I; ++k) {
        S* p = ins[std::size_t(k)].place(n, offs[std::size_t(k)]);
        for (std::int64_t i = 0; i < n; ++i) p[i] = to_storage<S>(probe_input<S>(k, i));
        call.in[k] = p;
      }
      for (int k = 0; k < O; ++k)
        call.out[k] = outs[std::size_t(k)].place(n, offs[std::size_t(I + k)]);
      if (in_place) call.out[0] = const_cast<void*>(call.in[0]);
      const EwArgs<S> a = drive<S, Compute<S>>(op, call, cfg);

      const std::string where =
          std::string(actgrad::dtype_name(Storage<S>::dtype)) + " " + std::to_string(I) + "->" +
          std::to_string(O) + (in_place ? " in place" : "") + " " + geometry +
          " n=" + std::to_string(n) + " offsets=" + ::testing::PrintToString(offs);
      // The plan: vectors exactly when every view shares one misalignment.
      // (offsets in elements; a vector is kN elements, so compare residues mod kN)
      bool shared = true;
      for (int v : offs) shared = shared && v % kN == offs[0] % kN;
      const std::int64_t peel = (kN - offs[0] % kN) % kN;
      if (shared) {
        ASSERT_EQ(a.head, std::min(n, peel)) << where;
        ASSERT_EQ(a.vectors, (n - a.head) / kN) << where;
      } else {
        ASSERT_EQ(a.vectors, 0) << where;
      }
      for (std::int64_t i = 0; i < n; ++i) {
        double sum = 1;
        for (int k = 0; k < I; ++k) sum += probe_input<S>(k, i);
        for (int k = 0; k < O; ++k) {
          const S got = static_cast<const S*>(call.out[k])[i];
          ASSERT_TRUE(same_bits(got, to_storage<S>(sum + k)))
              << where << " out" << k << "[" << i << "] = " << to_double(got) << ", want "
              << sum + k << " (a missed write leaves the fill; a second visit adds again)";
        }
      }
      for (int k = in_place ? 1 : 0; k < I; ++k)
        for (std::int64_t i = 0; i < n; ++i)
          ASSERT_TRUE(
              same_bits(static_cast<const S*>(call.in[k])[i], to_storage<S>(probe_input<S>(k, i))))
              << where << " input " << k << " modified at " << i;
      for (auto& g : ins) ASSERT_TRUE(g.guards_intact()) << where << ": wrote outside an input";
      for (auto& g : outs) ASSERT_TRUE(g.guards_intact()) << where << ": wrote outside an output";
    }
  }
}

template <class S>
void check_probe_all_arities() {
  for (bool in_place : {false, true}) {
    for (const auto& [cfg, name] : {std::pair{kOneBlock, "one-block"}, std::pair{kH100, "h100"}}) {
      check_probe<S, 1, 1>(cfg, name, in_place); // forward, from_output
      check_probe<S, 1, 2>(cfg, name, in_place); // fused
      check_probe<S, 2, 1>(cfg, name, in_place); // backward, gated_forward
      check_probe<S, 2, 3>(cfg, name, in_place); // gated_fused
      check_probe<S, 3, 2>(cfg, name, in_place); // gated_backward
    }
  }
}

TEST(EngineBody, EveryElementExactlyOnceF32) { check_probe_all_arities<float>(); }
TEST(EngineBody, EveryElementExactlyOnceF64) { check_probe_all_arities<double>(); }
TEST(EngineBody, EveryElementExactlyOnceF16) { check_probe_all_arities<half_t>(); }
TEST(EngineBody, EveryElementExactlyOnceBF16) { check_probe_all_arities<bfloat16_t>(); }

// ---------------------------------------------------------------------------------------------
// Values: the body over the real catalogue dispatch (visit_element_op, as run_cuda_*.cu
// instantiate it), for every activation, op and dtype. Every alignment, in place and both grid
// geometries give bit-identical results to an aligned run (the vector and scalar paths are one
// computation; NaNs may differ in sign), and that run agrees with the public CPU path within the
// tolerance below.

// Inputs: special values first (zeros, infinities, NaN, subnormals, huge, kinks), then random.
template <class S>
std::vector<S> value_inputs(std::int64_t n, unsigned seed) {
  const double big = double(std::numeric_limits<Compute<S>>::max()) / 4;
  const double tiny = double(std::numeric_limits<Compute<S>>::denorm_min());
  const double inf = std::numeric_limits<double>::infinity();
  // Subnormal in f16 (1e-7 > 2^-24) and in f32 (1e-40 < 2^-126); 1e30 overflows f16 and bf16 is
  // fine; +-20 is softplus' default threshold; 3 and 6 are hard-function kinks.
  const double specials[] = {0.0,    -0.0,  1.0,   -1.0,  3.0,
                             -3.0,   6.0,   -6.0,  0.5,   -0.5,
                             20.0,   -20.0, 1e-7,  -1e-7, 1e-40,
                             -1e-40, 1e30,  -1e30, big,   -big,
                             tiny,   -tiny, inf,   -inf,  std::numeric_limits<double>::quiet_NaN()};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> wide(-12.0, 12.0);
  std::vector<S> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    v[std::size_t(i)] =
        to_storage<S>(std::size_t(i) < std::size(specials) ? specials[i] : wide(rng));
  return v;
}

std::vector<OpKind> ops_of(const Activation& act) {
  if (act.is_gated()) return {OpKind::gated_forward, OpKind::gated_fused, OpKind::gated_backward};
  std::vector<OpKind> ops = {OpKind::forward, OpKind::fused, OpKind::backward};
  if (act.has_derivative_from_output()) {
    ops.push_back(OpKind::from_output);
    ops.push_back(OpKind::backward_from_output);
  }
  return ops;
}

// The public CPU API on contiguous host views.
void cpu_call(OpKind op, const Activation& act, const std::vector<const void*>& in,
              const std::vector<void*>& out, std::int64_t n, DType dt) {
  const auto x = [&](int k) { return actgrad::ConstTensorView{in[std::size_t(k)], n, dt}; };
  const auto y = [&](int k) { return actgrad::TensorView{out[std::size_t(k)], n, dt}; };
  switch (op) {
  case OpKind::forward:
    return actgrad::forward(act, x(0), y(0));
  case OpKind::fused:
    return actgrad::forward_with_derivative(act, x(0), y(0), y(1));
  case OpKind::backward:
    return actgrad::backward(act, x(0), x(1), y(0));
  case OpKind::from_output:
    return actgrad::derivative_from_output(act, x(0), y(0));
  case OpKind::backward_from_output:
    return actgrad::backward_from_output(act, x(0), x(1), y(0));
  case OpKind::gated_forward:
    return actgrad::gated_forward(act, x(0), x(1), y(0));
  case OpKind::gated_fused:
    return actgrad::gated_forward_with_derivative(act, x(0), x(1), y(0), y(1), y(2));
  case OpKind::gated_backward:
    return actgrad::gated_backward(act, x(0), x(1), x(2), y(0), y(1));
  }
}

// Agreement of the body with the CPU path (tests/storage_compare.hpp): the same functors in the
// same compute type, but the CPU loop may be built for another instruction set (FMA contracts
// differently), so results can differ by a few ulps. A body routed to the wrong index, functor, op
// or compute type misses this by far.

// Runs the body for one op over views at `offs` (in place: first output on the first input).
template <class S>
void body_call(const Activation& act, OpKind op, const std::vector<std::vector<S>>& x,
               std::int64_t n, const std::vector<int>& offs, bool in_place, const LaunchConfig& cfg,
               std::vector<Guarded<S>>& ins, std::vector<Guarded<S>>& outs, Call& call) {
  const int ni = arity_in(op), no = arity_out(op);
  call = Call{};
  call.op = op;
  call.act = &act;
  call.n = n;
  call.dtype = Storage<S>::dtype;
  for (int k = 0; k < ni; ++k) {
    S* p = ins[std::size_t(k)].place(n, offs[std::size_t(k)]);
    std::memcpy(p, x[std::size_t(k)].data(), std::size_t(n) * sizeof(S));
    call.in[k] = p;
  }
  for (int k = 0; k < no; ++k)
    call.out[k] = outs[std::size_t(k)].place(n, offs[std::size_t(ni + k)]);
  if (in_place) call.out[0] = const_cast<void*>(call.in[0]);
  actgrad::detail::visit_element_op<S>(
      call, [&](const auto& e, auto ct) { drive<S, typename decltype(ct)::type>(e, call, cfg); });
}

template <class S>
void check_catalogue_values() {
  constexpr DType kDt = Storage<S>::dtype;
  const std::int64_t sizes[] = {1, 17, 4097};
  const std::int64_t cap = 4097;
  std::vector<Guarded<S>> ins, outs;
  for (int k = 0; k < kMaxStreams; ++k) {
    ins.emplace_back(cap);
    outs.emplace_back(cap);
  }
  for (actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    for (OpKind op : ops_of(act)) {
      const int ni = arity_in(op), no = arity_out(op);
      for (std::int64_t n : sizes) {
        const std::string what = std::string(act.name()) + " " + "op " +
                                 std::to_string(static_cast<int>(op)) + " " +
                                 actgrad::dtype_name(kDt) + " n=" + std::to_string(n);
        std::vector<std::vector<S>> x;
        for (int k = 0; k < ni; ++k) x.push_back(value_inputs<S>(n, unsigned(17 * k + 1)));
        if (op == OpKind::from_output || op == OpKind::backward_from_output) {
          // These take y = f(x), the values they are defined on.
          const std::vector<S> pre = x[0];
          actgrad::forward(act, actgrad::ConstTensorView{pre.data(), n, kDt},
                           actgrad::TensorView{x[0].data(), n, kDt});
        }

        // Reference: the body on aligned, separate views.
        const std::vector<int> aligned(std::size_t(ni + no), 0);
        Call call;
        body_call(act, op, x, n, aligned, false, kH100, ins, outs, call);
        std::vector<std::vector<S>> ref;
        for (int k = 0; k < no; ++k) {
          const S* o = static_cast<const S*>(call.out[k]);
          ref.emplace_back(o, o + n);
        }

        // The CPU path, within tolerance.
        std::vector<std::vector<S>> cpu(std::size_t(no),
                                        std::vector<S>(static_cast<std::size_t>(n)));
        std::vector<const void*> xp;
        std::vector<void*> cp;
        for (auto& v : x) xp.push_back(v.data());
        for (auto& v : cpu) cp.push_back(v.data());
        cpu_call(op, act, xp, cp, n, kDt);
        for (std::int64_t i = 0; i < n; ++i) {
          double scale = 1;
          for (int k = 0; k < ni; ++k)
            scale *= std::max(1.0, std::fabs(to_double(x[std::size_t(k)][std::size_t(i)])));
          for (int k = 0; k < no; ++k) {
            const S b = ref[std::size_t(k)][std::size_t(i)],
                    c = cpu[std::size_t(k)][std::size_t(i)];
            ASSERT_TRUE(agrees_with_cpu(b, c, scale))
                << what << " out" << k << "[" << i << "]: body " << to_double(b) << ", cpu "
                << to_double(c) << " (input " << to_double(x[0][std::size_t(i)]) << ")";
          }
        }

        // Every other layout: bit-identical to the reference.
        std::vector<int> mixed;
        for (int v = 0; v < ni + no; ++v) mixed.push_back(v % kOffsets);
        struct Layout {
          std::vector<int> offs;
          bool in_place;
          LaunchConfig cfg;
        };
        const std::vector<Layout> layouts = {
            {std::vector<int>(std::size_t(ni + no), 1), false, kH100},
            {std::vector<int>(std::size_t(ni + no), 3), false, kOneBlock},
            {mixed, false, kH100},
            {aligned, true, kOneBlock},
            {std::vector<int>(std::size_t(ni + no), 1), true, kH100},
        };
        for (const Layout& l : layouts) {
          body_call(act, op, x, n, l.offs, l.in_place, l.cfg, ins, outs, call);
          for (int k = 0; k < no; ++k)
            for (std::int64_t i = 0; i < n; ++i) {
              const S got = static_cast<const S*>(call.out[k])[i];
              const S want = ref[std::size_t(k)][std::size_t(i)];
              ASSERT_TRUE(same_value(got, want))
                  << what << " offsets " << ::testing::PrintToString(l.offs)
                  << (l.in_place ? " in place" : "") << " out" << k << "[" << i
                  << "]: " << to_double(got) << ", aligned run " << to_double(want);
            }
          for (int k = 0; k < ni; ++k) ASSERT_TRUE(ins[std::size_t(k)].guards_intact()) << what;
          for (int k = 0; k < no; ++k) ASSERT_TRUE(outs[std::size_t(k)].guards_intact()) << what;
        }
      }
    }
  }
}

TEST(EngineBody, MatchesCpuPathF32) { check_catalogue_values<float>(); }
TEST(EngineBody, MatchesCpuPathF64) { check_catalogue_values<double>(); }
TEST(EngineBody, MatchesCpuPathF16) { check_catalogue_values<half_t>(); }
TEST(EngineBody, MatchesCpuPathBF16) { check_catalogue_values<bfloat16_t>(); }

// ---------------------------------------------------------------------------------------------
// Plans and grids.

TEST(EngineBody, PlanAndGridFacts) {
  const ProbeOp<1, 2> op;
  alignas(16) static float buf[64];
  Call call;
  call.in[0] = buf;
  call.out[0] = buf + 4;
  call.out[1] = buf + 8;
  call.n = 4096;
  EwArgs<float> a = actgrad::detail::make_ew_args<float>(op, call);
  EXPECT_EQ(a.head, 0);
  EXPECT_EQ(a.vectors, 1024);
  // All three views one element (4 bytes) past a boundary: peel 3 scalars, then vectors.
  call.in[0] = buf + 1;
  call.out[0] = buf + 5;
  call.out[1] = buf + 9;
  a = actgrad::detail::make_ew_args<float>(op, call);
  EXPECT_EQ(a.head, 3);
  EXPECT_EQ(a.vectors, (4096 - 3) / 4);
  // One view disagreeing sends everything to the scalar path.
  call.out[1] = buf + 10;
  a = actgrad::detail::make_ew_args<float>(op, call);
  EXPECT_EQ(a.vectors, 0);
  EXPECT_EQ(a.head, 4096);
  // Pointers not used by the op (here in[1]) do not take part.
  call.out[1] = buf + 9;
  call.in[1] = buf + 2;
  EXPECT_EQ(actgrad::detail::make_ew_args<float>(op, call).vectors, (4096 - 3) / 4);
  // A head longer than n leaves no vectors.
  call.n = 2;
  a = actgrad::detail::make_ew_args<float>(op, call);
  EXPECT_EQ(a.head, 2);
  EXPECT_EQ(a.vectors, 0);

  // Grid: at least one block, work-sized for small n, one wave of resident blocks at most, and
  // 64-bit counts for n beyond 2^32.
  call.n = 0;
  EXPECT_EQ(actgrad::detail::grid_blocks(actgrad::detail::make_ew_args<float>(op, call), kH100), 1);
  call.in[0] = buf;
  call.out[0] = buf;
  call.out[1] = buf + 4;
  call.n = 4 * kBlockThreads * 3 + 1; // 3 blocks of vectors and one scalar
  EXPECT_EQ(actgrad::detail::grid_blocks(actgrad::detail::make_ew_args<float>(op, call), kH100), 4);
  call.n = std::int64_t(1) << 40;
  a = actgrad::detail::make_ew_args<float>(op, call);
  EXPECT_EQ(a.vectors, (std::int64_t(1) << 40) / 4);
  EXPECT_EQ(actgrad::detail::grid_blocks(a, kH100), 132 * (2048 / kBlockThreads));
  EXPECT_EQ(actgrad::detail::grid_blocks(a, kOneBlock), 1);
}

// Indices past 2^31: n = 2^31 + 65539 f16 in place, one element past a 16-byte boundary, in a
// sparse mapping so only the pages the sampled blocks touch are ever allocated. The grid has one
// vector per thread; the first block and the last blocks run, and every element they own (and
// no other) becomes 1.
TEST(EngineBody, IndicesBeyond2Pow31) {
  const std::int64_t n = (std::int64_t(1) << 31) + 65536 + 3;
  const std::size_t bytes = std::size_t(n + 16) * sizeof(half_t);
  void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) GTEST_SKIP() << "cannot reserve " << bytes << " bytes of address space";
  half_t* x = static_cast<half_t*>(map) + 1;
  const ProbeOp<1, 1> op; // x -> 1 + x, so zero pages become 1 where written
  Call call;
  call.in[0] = x;
  call.out[0] = x;
  call.n = n;
  const EwArgs<half_t> a = actgrad::detail::make_ew_args<half_t>(op, call);
  ASSERT_EQ(a.head, 7);
  const std::int64_t blocks =
      (actgrad::detail::ew_work_items(a) + kBlockThreads - 1) / kBlockThreads;
  constexpr std::int64_t kLast = 4; // blocks run at the end of the grid
  const std::int64_t per_block = std::int64_t(kBlockThreads) * 8; // elements per block of vectors
  for (std::int64_t b : {std::int64_t(0), blocks - 4, blocks - 3, blocks - 2, blocks - 1})
    for (std::int64_t t = 0; t < kBlockThreads; ++t)
      actgrad::detail::elementwise_body<half_t, float>(b, t, kBlockThreads, blocks, op, a);
  const half_t one = to_storage<half_t>(1.0), zero{0};
  const std::int64_t vec_end = a.head + a.vectors * 8;
  const std::int64_t scalars = n - a.vectors * 8;
  // Block 0: the scalar head and tail (thread ids < scalars) and its own vectors.
  for (std::int64_t i = 0; i < a.head; ++i) ASSERT_TRUE(same_bits(x[i], one)) << i;
  for (std::int64_t i = a.head; i < a.head + per_block; ++i) ASSERT_TRUE(same_bits(x[i], one)) << i;
  ASSERT_TRUE(same_bits(x[a.head + per_block], zero));
  ASSERT_LT(scalars, kBlockThreads);
  for (std::int64_t i = vec_end; i < n; ++i) ASSERT_TRUE(same_bits(x[i], one)) << i;
  // The last blocks: vectors from (blocks - kLast) * per_block on, up to the end of the vectors.
  const std::int64_t first = a.head + (blocks - kLast) * per_block;
  ASSERT_GT(first, std::int64_t(1) << 31);
  ASSERT_TRUE(same_bits(x[first - 1], zero));
  for (std::int64_t i = first; i < vec_end; ++i) ASSERT_TRUE(same_bits(x[i], one)) << i;
  ASSERT_TRUE(same_bits(x[n], zero)) << "nothing past n";
  munmap(map, bytes);
}

} // namespace
