// Host API tests: parsing, validation errors, sizes, misalignment, in place and buffers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"
#include "storage_compare.hpp"

namespace {

using actgrad::Activation;
using actgrad::Error;

// Expects `stmt` to throw actgrad::Error whose message contains every fragment.
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "no actgrad::Error thrown";
  } catch (const Error& e) {
    for (const char* frag : fragments)
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)
          << "message '" << e.what() << "' lacks '" << frag << "'";
  }
}

TEST(Parse, EveryCatalogueNameRoundTrips) {
  ASSERT_GT(actgrad::catalogue_size(), 0);
  for (actgrad::ActId id : actgrad::catalogue()) {
    const Activation a(id);
    EXPECT_EQ(Activation::parse(a.name()).id(), id) << a.name();
    EXPECT_EQ(a.to_string(), a.name()) << "defaults print as the bare name";
    const actgrad::ActInfo& info = a.info();
    if (info.alias[0]) {
      EXPECT_EQ(Activation::parse(info.alias).id(), id) << info.alias;
    }
    for (int p = 0; p < info.num_params; ++p)
      EXPECT_EQ(a.param(info.params[p].name), info.params[p].default_value);
  }
}

TEST(Parse, ParametersAreSetAndPrinted) {
  for (actgrad::ActId id : actgrad::catalogue()) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(id);
    if (info.num_params == 0) continue;
    // A value strictly inside the first parameter's range, different from the default.
    const actgrad::ParamSpec& s = info.params[0];
    double v = s.default_value == 0 ? 0.25 : s.default_value * 0.75;
    if (!(v > s.min && v < s.max)) continue;
    const std::string text = std::string(info.name) + ":" + s.name + "=" + std::to_string(v);
    Activation a = [&] {
      try {
        return Activation::parse(text);
      } catch (const Error&) {
        return Activation(id); // cross-parameter rule may reject; checked below
      }
    }();
    if (a.param(s.name) != v) continue;
    EXPECT_EQ(Activation::parse(a.to_string()).params().v[0], v) << a.to_string();
  }
}

TEST(Parse, UnknownNameListsCloseNames) {
  expect_error([] { Activation::parse("sigmod"); }, {"unknown activation 'sigmod'", "sigmoid"});
  expect_error([] { Activation::parse(""); }, {"unknown activation"});
  expect_error([] { Activation::parse("zzzzzzzzzzzz"); }, {"actgrad list"});
}

TEST(Parse, UnknownParameterListsAllowed) {
  expect_error([] { Activation::parse("relu:alpha=2"); }, {"unknown parameter 'alpha'", "relu"});
  for (actgrad::ActId id : actgrad::catalogue()) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(id);
    if (info.num_params == 0) continue;
    expect_error([&] { Activation::parse(std::string(info.name) + ":nosuch=1"); },
                 {"unknown parameter 'nosuch'", info.params[0].name});
  }
}

TEST(Parse, BadValuesAreRejected) {
  for (actgrad::ActId id : actgrad::catalogue()) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(id);
    for (int p = 0; p < info.num_params; ++p) {
      const std::string base = std::string(info.name) + ":" + info.params[p].name + "=";
      expect_error([&] { Activation::parse(base + "abc"); }, {info.params[p].name, "number"});
      expect_error([&] { Activation::parse(base); }, {info.params[p].name});
      expect_error([&] { Activation::parse(base + "nan"); }, {info.params[p].name});
      if (std::isfinite(info.params[p].min))
        expect_error([&] { Activation::parse(base + std::to_string(info.params[p].min - 1)); },
                     {info.params[p].name, "must be in"});
    }
    expect_error([&] { Activation::parse(std::string(info.name) + ":novalue"); }, {"param=value"});
  }
}

TEST(Parse, RepeatedParameterIsAnError) {
  expect_error([] { Activation::parse("elu:alpha=1,alpha=2"); },
               {"'alpha'", "more than once", "elu:alpha=1,alpha=2"});
  expect_error([] { Activation::parse("hardtanh:min_val=-2,max_val=2,min_val=-3"); },
               {"'min_val'", "more than once"});
  // Each parameter once, in either order, is still fine.
  EXPECT_EQ(Activation::parse("hardtanh:max_val=2,min_val=-2").to_string(),
            "hardtanh:min_val=-2,max_val=2");
}

TEST(Parse, NanParameterMessageSaysNan) {
  try {
    Activation::parse("elu:alpha=nan");
    ADD_FAILURE() << "nan accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("got nan"), std::string::npos) << m;
  }
  actgrad::Params p = Activation::parse("elu").params();
  p.v[0] = std::nan("");
  expect_error([&] { Activation(actgrad::ActId::Elu, p); }, {"alpha", "got nan"});
}

TEST(Parse, SubnormalsAreAcceptedAndOutOfRangeTextIsNamed) {
  EXPECT_EQ(Activation::parse("elu:alpha=0x1p-1074").to_string(), "elu:alpha=5e-324");
  EXPECT_EQ(Activation::parse("elu:alpha=5e-324").param("alpha"), 0x1p-1074);
  EXPECT_EQ(Activation::parse("elu:alpha=2.2250738585072009e-308").param("alpha"),
            0x0.fffffffffffffp-1022);
  expect_error([] { Activation::parse("elu:alpha=1e-400"); }, {"'alpha'", "rounds to 0"});
  expect_error([] { Activation::parse("elu:alpha=1e400"); }, {"'alpha'", "too large"});
}

// parse(to_string()) is the identity for every catalogue entry, at a spread of valid values per
// parameter including subnormals, extremes and values with 17 significant digits.
TEST(Parse, ToStringRoundTripsEveryEntryIncludingSubnormals) {
  const double candidates[] = {0.0,
                               -0.0,
                               5e-324,
                               -5e-324,
                               0x1p-1060,
                               0x0.fffffffffffffp-1022,
                               0x1p-1022,
                               1e-300,
                               0.1,
                               1.0 / 3,
                               -1.5,
                               0.5,
                               2.0,
                               1e8,
                               1e300,
                               -1e300,
                               INFINITY,
                               -INFINITY,
                               1.7976931348623157e308};
  int tried = 0, subnormal = 0;
  for (actgrad::ActId id : actgrad::catalogue()) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(id);
    for (int p = 0; p < info.num_params; ++p) {
      std::vector<double> values(std::begin(candidates), std::end(candidates));
      values.push_back(info.params[p].min);
      values.push_back(info.params[p].max);
      values.push_back(std::nextafter(info.params[p].min, INFINITY));
      values.push_back(std::nextafter(info.params[p].max, -INFINITY));
      for (const double v : values) {
        actgrad::Params params = Activation(id).params();
        params.v[p] = v;
        std::string text;
        try {
          text = Activation(id, params).to_string();
        } catch (const Error&) {
          continue; // not a valid value of this parameter
        }
        ++tried;
        if (v != 0 && std::fpclassify(v) == FP_SUBNORMAL) ++subnormal;
        try {
          const Activation back = Activation::parse(text);
          EXPECT_EQ(back.to_string(), text);
          // Bit for bit: -0 differs from a default of 0 (found by fuzz_activation_parse).
          for (int k = 0; k < info.num_params; ++k) {
            EXPECT_EQ(back.params().v[k], params.v[k]) << text << " parameter " << k;
            EXPECT_EQ(std::signbit(back.params().v[k]), std::signbit(params.v[k]))
                << text << " parameter " << k;
          }
        } catch (const Error& e) {
          ADD_FAILURE() << "'" << text << "' does not parse back: " << e.what();
        }
      }
    }
  }
  EXPECT_GT(tried, 2 * actgrad::catalogue_size());
  EXPECT_GT(subnormal, 0) << "no parameter accepted a subnormal value";
}

// Deterministic inputs spanning signs and magnitudes.
std::vector<float> inputs(std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(std::sin(0.37 * double(i)) * (1.0 + double(i % 97) / 8.0));
  return x;
}

// Reference: element-by-element calls with n = 1, which exercise no loop structure.
void one_by_one(const Activation& a, const std::vector<float>& x, std::vector<float>& y,
                std::vector<float>& d) {
  for (std::size_t i = 0; i < x.size(); ++i)
    actgrad::forward_with_derivative(a, actgrad::view(&x[i], 1), actgrad::view(&y[i], 1),
                                     actgrad::view(&d[i], 1));
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(Sizes, BoundarySizesAndMisalignment) {
  const Activation act = Activation::parse("sigmoid");
  for (std::int64_t n : {0, 1, 15, 16, 17, 4095, 4097, 1000003}) {
    for (int offset : {0, 1, 3}) {
      std::vector<float> xs = inputs(std::size_t(n) + 4), ys(xs.size(), -7.f), ds(xs.size(), -7.f);
      const float* x = xs.data() + offset;
      float* y = ys.data() + offset;
      float* d = ds.data() + offset;
      actgrad::forward_with_derivative(act, actgrad::view(x, n), actgrad::view(y, n),
                                       actgrad::view(d, n));
      // Untouched guard cells prove nothing outside [0, n) is written.
      for (int g = 0; g < offset; ++g) EXPECT_EQ(ys[std::size_t(g)], -7.f);
      for (std::size_t g = std::size_t(offset + n); g < ys.size(); ++g) EXPECT_EQ(ys[g], -7.f);
      if (n > 5000) {
        // Spot-check the large case against single-element calls.
        for (std::int64_t i = 0; i < n; i += 9973) {
          float y1, d1;
          actgrad::forward_with_derivative(act, actgrad::view(x + i, 1), actgrad::view(&y1, 1),
                                           actgrad::view(&d1, 1));
          ASSERT_TRUE(same_bits(y[i], y1) && same_bits(d[i], d1)) << "n=" << n << " i=" << i;
        }
        continue;
      }
      std::vector<float> xv(x, x + n), y1(static_cast<std::size_t>(n)),
          d1(static_cast<std::size_t>(n));
      one_by_one(act, xv, y1, d1);
      for (std::int64_t i = 0; i < n; ++i)
        ASSERT_TRUE(same_bits(y[i], y1[std::size_t(i)]) && same_bits(d[i], d1[std::size_t(i)]))
            << "n=" << n << " offset=" << offset << " i=" << i;
    }
  }
}

// Calls over 32 MiB write their outputs through a local block and streaming stores
// (host/cpu/cpu_engine.hpp): vector-wide from each output's first aligned address, the head and
// tail of every block by ordinary copies. Outputs at every offset within a 64-byte line, each
// stream at its own, must hold the same bits as calls small enough for ordinary stores, and
// nothing outside [0, n) may be written.
template <class S>
void check_streamed_call(std::int64_t n) {
  const Activation act = Activation::parse("silu");
  std::vector<S> x(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    x[std::size_t(i)] = actgrad_test::from_double<S>(-8.0 + 16.0 * double(i % 4099) / 4099.0);
  std::vector<S> y_ref(x.size()), d_ref(x.size());
  const std::int64_t piece = 65536; // 768 KiB: ordinary stores
  for (std::int64_t b = 0; b < n; b += piece) {
    const std::int64_t m = std::min(piece, n - b);
    actgrad::forward_with_derivative(act, actgrad::view(x.data() + b, m),
                                     actgrad::view(y_ref.data() + b, m),
                                     actgrad::view(d_ref.data() + b, m));
  }
  const int per_line = int(64 / sizeof(S));
  const std::pair<int, int> offsets[] = {{0, 0}, {1, per_line - 1}, {per_line / 2, 3}};
  for (const auto& [oy, od] : offsets) {
    const S guard = actgrad_test::from_double<S>(-7.0);
    std::vector<S> ys(x.size() + std::size_t(per_line) * 2, guard), ds(ys.size(), guard);
    // Start at a 64-byte boundary plus the offset (vectors are only 16-byte aligned).
    const auto at = [&](std::vector<S>& v, int off) {
      const auto addr = reinterpret_cast<std::uintptr_t>(v.data());
      return v.data() + (64 - addr % 64) % 64 / sizeof(S) + std::size_t(off);
    };
    S* y = at(ys, oy);
    S* d = at(ds, od);
    actgrad::forward_with_derivative(act, actgrad::view(x.data(), n), actgrad::view(y, n),
                                     actgrad::view(d, n));
    EXPECT_EQ(0, std::memcmp(y, y_ref.data(), x.size() * sizeof(S))) << "y offset " << oy;
    EXPECT_EQ(0, std::memcmp(d, d_ref.data(), x.size() * sizeof(S))) << "d offset " << od;
    for (S* p = ys.data(); p < y; ++p) ASSERT_EQ(0, std::memcmp(p, &guard, sizeof(S)));
    for (S* p = y + n; p < ys.data() + ys.size(); ++p)
      ASSERT_EQ(0, std::memcmp(p, &guard, sizeof(S)));
    for (S* p = ds.data(); p < d; ++p) ASSERT_EQ(0, std::memcmp(p, &guard, sizeof(S)));
    for (S* p = d + n; p < ds.data() + ds.size(); ++p)
      ASSERT_EQ(0, std::memcmp(p, &guard, sizeof(S)));
  }
}

// Sets an environment variable for one scope, then restores its old value.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }

private:
  const char* name_;
  bool had_;
  std::string old_;
};

// Each store mode of large calls (ACTGRAD_CPU_STORES): streaming stores everywhere, ordinary
// stores everywhere, and the default, where each thread streams its first two chunks and then
// chooses (silu, the activation here, usually gets ordinary stores after them).
TEST(Sizes, StreamedCallsMatchSmallCallsAtEveryOffset) {
  for (const char* mode : {"stream", "plain", "auto"}) {
    SCOPED_TRACE(mode);
    const ScopedEnv env("ACTGRAD_CPU_STORES", mode);
    check_streamed_call<float>(3000017);           // 36 MB over x, y and f'
    check_streamed_call<actgrad::half_t>(6000011); // 36 MB
  }
}

TEST(Sizes, UnknownStoreModeIsAnError) {
  const ScopedEnv env("ACTGRAD_CPU_STORES", "fast");
  const std::int64_t n = 3000017; // over the streaming size: the mode is read
  std::vector<float> x(static_cast<std::size_t>(n), 0.5f), y(x.size()), d(x.size());
  try {
    actgrad::forward_with_derivative(Activation::parse("relu"), actgrad::view(x.data(), n),
                                     actgrad::view(y.data(), n), actgrad::view(d.data(), n));
    FAIL() << "no error for ACTGRAD_CPU_STORES=fast";
  } catch (const actgrad::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ACTGRAD_CPU_STORES"), std::string::npos) << what;
    EXPECT_NE(what.find("auto, stream or plain"), std::string::npos) << what;
  }
}

TEST(InPlace, EveryActivationAndOp) {
  const std::size_t n = 4097;
  const std::vector<float> x = inputs(n);
  for (actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    if (act.is_gated()) {
      std::vector<float> a = x, b(n, 0.5f), o(n), da(n), db(n);
      actgrad::gated_forward_with_derivative(
          act, actgrad::view(a.data(), n), actgrad::view(b.data(), n), actgrad::view(o.data(), n),
          actgrad::view(da.data(), n), actgrad::view(db.data(), n));
      std::vector<float> a2 = x, b2(n, 0.5f), o2(n);
      // out written over a, dfda over b: every element read before it is written.
      actgrad::gated_forward_with_derivative(
          act, actgrad::view(a2.data(), n), actgrad::view(b2.data(), n),
          actgrad::view(a2.data(), n), actgrad::view(b2.data(), n), actgrad::view(o2.data(), n));
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_TRUE(same_bits(a2[i], o[i]) && same_bits(b2[i], da[i]) && same_bits(o2[i], db[i]))
            << act.name() << " i=" << i;
      continue;
    }
    std::vector<float> y(n), d(n);
    actgrad::forward_with_derivative(act, actgrad::view(x.data(), n), actgrad::view(y.data(), n),
                                     actgrad::view(d.data(), n));
    std::vector<float> io = x, d2(n);
    actgrad::forward_with_derivative(act, actgrad::view(io.data(), n), actgrad::view(io.data(), n),
                                     actgrad::view(d2.data(), n));
    std::vector<float> f = x;
    actgrad::forward(act, actgrad::view(f.data(), n), actgrad::view(f.data(), n));
    std::vector<float> g(n, 2.0f);
    actgrad::backward(act, actgrad::view(x.data(), n), actgrad::view(g.data(), n),
                      actgrad::view(g.data(), n));
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(same_bits(io[i], y[i]) && same_bits(d2[i], d[i])) << act.name() << " i=" << i;
      ASSERT_TRUE(same_bits(f[i], y[i])) << act.name() << " forward i=" << i;
      // 2 * f' is exact in double, so its f32 rounding is 2 * (f' rounded) unless that is
      // subnormal or overflows.
      if (std::isnormal(d[i]) && std::isfinite(2.0f * d[i])) {
        ASSERT_TRUE(same_bits(g[i], 2.0f * d[i])) << act.name() << " backward i=" << i;
      }
    }
  }
}

TEST(BadInput, NullSizeDtypeDeviceAndOverlap) {
  const Activation act = Activation::parse("tanh");
  std::vector<float> x(8), y(8), d(8);
  std::vector<double> xd(8);
  expect_error(
      [&] {
        actgrad::forward(act, {nullptr, 8}, actgrad::view(y.data(), 8));
      },
      {"'x'", "null", "8"});
  // Null with n = 0 is fine.
  actgrad::forward(act, {nullptr, 0}, {nullptr, 0});
  expect_error(
      [&] { actgrad::forward(act, actgrad::view(x.data(), 8), actgrad::view(y.data(), 7)); },
      {"'y'", "7", "8", "same size"});
  expect_error(
      [&] { actgrad::forward(act, actgrad::view(xd.data(), 8), actgrad::view(y.data(), 8)); },
      {"'y'", "f32", "f64", "dtype"});
  expect_error(
      [&] { actgrad::forward(act, actgrad::view(x.data(), -1), actgrad::view(y.data(), -1)); },
      {"negative"});
  expect_error(
      [&] {
        actgrad::forward_with_derivative(act, actgrad::view(x.data(), 8),
                                         actgrad::view(y.data(), 8), actgrad::view(y.data(), 8));
      },
      {"same memory"});
  expect_error(
      [&] { actgrad::forward(act, actgrad::view(x.data(), 7), actgrad::view(x.data() + 1, 7)); },
      {"overlap"});
  actgrad::TensorView on_gpu{y.data(), 8, actgrad::DType::f32, actgrad::Device::cuda()};
  expect_error([&] { actgrad::forward(act, actgrad::view(x.data(), 8), on_gpu); }, {"device"});
  if (!actgrad::Device::cuda_available()) {
    actgrad::ConstTensorView gx{x.data(), 8, actgrad::DType::f32, actgrad::Device::cuda()};
    try {
      actgrad::forward(act, gx, on_gpu);
      ADD_FAILURE() << "cuda views ran without a usable GPU";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::unavailable) << e.what();
    }
  }
}

// A pointer that is not a multiple of the element size is rejected on every entry point (reading
// it as S would be undefined behaviour); an element offset (p + 1) is fine (see Sizes above).
TEST(BadInput, PointersNotAlignedToTheElementAreRejected) {
  alignas(16) static unsigned char raw[4096];
  const Activation act = Activation::parse("tanh");
  const Activation glu = Activation::parse("glu");
  using actgrad::ConstTensorView;
  using actgrad::DType;
  using actgrad::TensorView;
  const actgrad::Device cpu = actgrad::Device::cpu();
  for (const DType t : {DType::f64, DType::f32, DType::f16, DType::bf16}) {
    const int size = actgrad::dtype_size(t);
    const std::string need = std::to_string(size) + "-byte";
    for (int off = 1; off < size; ++off) {
      ConstTensorView bad_in{raw + off, 8, t, cpu};
      TensorView bad_out{raw + 2048 + off, 8, t, cpu};
      ConstTensorView ok_in{raw + 1024 + size, 8, t, cpu}; // one element in: fine
      TensorView ok_out{raw + 3072 + size, 8, t, cpu};
      TensorView ok_out2{raw + 3584, 8, t, cpu};
      expect_error([&] { actgrad::forward(act, bad_in, ok_out); },
                   {"forward", "'x'", need.c_str()});
      expect_error([&] { actgrad::forward(act, ok_in, bad_out); }, {"'y'", need.c_str()});
      expect_error([&] { actgrad::backward(act, ok_in, bad_in, ok_out); },
                   {"backward", "'grad_out'", need.c_str()});
      expect_error([&] { actgrad::forward_with_derivative(act, ok_in, ok_out, bad_out); },
                   {"'dydx'", need.c_str()});
      expect_error([&] { actgrad::gated_forward(glu, ok_in, bad_in, ok_out); },
                   {"gated_forward", "'b'", need.c_str()});
      expect_error([&] { actgrad::saturation_stats(act, bad_in); },
                   {"saturation_stats", "'x'", need.c_str()});
      // Element-aligned views of the same type still run.
      actgrad::forward(act, ok_in, ok_out2);
      // An empty view's pointer is not read: any value is fine.
      actgrad::forward(act, ConstTensorView{raw + off, 0, t, cpu}, TensorView{raw + 1, 0, t, cpu});
    }
  }
}

// n * dtype_size overflowed for n >= 2^61, which skipped the overlap check and then ran over
// memory; n is now checked against Buffer's limit (2^60 - 1 elements) before any multiplication.
TEST(BadInput, HugeCountsAreRejectedBeforeTheyOverflow) {
  const Activation act = Activation::parse("tanh");
  static float x[16];
  const std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 8;
  for (const std::int64_t n : {limit + 1, std::int64_t(1) << 61, std::int64_t(1) << 62,
                               std::numeric_limits<std::int64_t>::max()}) {
    expect_error([&] { actgrad::forward(act, actgrad::view(x, n), actgrad::view(x + 1, n)); },
                 {"'x'", "elements", std::to_string(n).c_str()});
    expect_error([&] { actgrad::saturation_stats(act, actgrad::view(x, n)); }, {"'x'"});
    expect_error([&] { actgrad::copy(actgrad::view(x, n), actgrad::view(x + 1, n)); },
                 {"copy", "too large"});
  }
  // At the limit the byte count fits, so the partial overlap is still seen.
  expect_error([&] { actgrad::forward(act, actgrad::view(x, limit), actgrad::view(x + 1, limit)); },
               {"overlap"});
}

TEST(BadInput, KindAndFromOutputMismatch) {
  std::vector<float> x(4), y(4), z(4), w(4), v(4);
  expect_error(
      [&] {
        actgrad::gated_forward(Activation::parse("tanh"), actgrad::view(x.data(), 4),
                               actgrad::view(y.data(), 4), actgrad::view(z.data(), 4));
      },
      {"not a gated unit"});
  expect_error(
      [&] {
        actgrad::forward(Activation::parse("glu"), actgrad::view(x.data(), 4),
                         actgrad::view(y.data(), 4));
      },
      {"gated"});
  for (actgrad::ActId id : actgrad::catalogue()) {
    const Activation a(id);
    if (a.is_gated() || a.has_derivative_from_output()) continue;
    expect_error(
        [&] {
          actgrad::derivative_from_output(a, actgrad::view(x.data(), 4),
                                          actgrad::view(y.data(), 4));
        },
        {a.name(), "not a function of its output"});
  }
}

TEST(Dtypes, HalfAndBfloatAgreeWithTheF64Path) {
  // 16-bit results are computed in float and rounded once (RNE), so they lie within 1 ulp of
  // the f64 result rounded to the 16-bit type (the accuracy suite bounds this against MPFR).
  const Activation act = Activation::parse("tanh");
  const std::size_t n = 1000;
  std::vector<actgrad::half_t> h(n), hy(n), hd(n);
  std::vector<actgrad::bfloat16_t> b(n), by(n), bd(n);
  std::vector<float> xf = inputs(n);
  for (std::size_t i = 0; i < n; ++i) {
    h[i] = actgrad::to_half(xf[i]);
    b[i] = actgrad::to_bfloat16(xf[i]);
  }
  actgrad::forward_with_derivative(act, actgrad::view(h.data(), n), actgrad::view(hy.data(), n),
                                   actgrad::view(hd.data(), n));
  actgrad::forward_with_derivative(act, actgrad::view(b.data(), n), actgrad::view(by.data(), n),
                                   actgrad::view(bd.data(), n));
  // Distance in representable 16-bit steps between two same-sign finite values.
  auto steps = [](std::uint16_t a, std::uint16_t c) { return a > c ? a - c : c - a; };
  for (std::size_t i = 0; i < n; ++i) {
    double y, d;
    const double xh = actgrad::to_float(h[i]);
    actgrad::forward_with_derivative(act, actgrad::view(&xh, 1), actgrad::view(&y, 1),
                                     actgrad::view(&d, 1));
    EXPECT_LE(steps(hy[i].bits, actgrad::to_half(float(y)).bits), 1) << "x=" << xh;
    EXPECT_LE(steps(hd[i].bits, actgrad::to_half(float(d)).bits), 1) << "x=" << xh;
    const double xb = actgrad::to_float(b[i]);
    actgrad::forward_with_derivative(act, actgrad::view(&xb, 1), actgrad::view(&y, 1),
                                     actgrad::view(&d, 1));
    EXPECT_LE(steps(by[i].bits, actgrad::to_bfloat16(float(y)).bits), 1) << "x=" << xb;
    EXPECT_LE(steps(bd[i].bits, actgrad::to_bfloat16(float(d)).bits), 1) << "x=" << xb;
  }
}

TEST(Dtypes, HalfConversionsAreExactAndRoundToNearestEven) {
  for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const actgrad::half_t h{std::uint16_t(bits)};
    const float f = actgrad::to_float(h);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(actgrad::to_float(actgrad::to_half(f))));
      continue;
    }
    ASSERT_EQ(actgrad::to_half(f).bits, h.bits) << std::hex << bits;
    const actgrad::bfloat16_t b{std::uint16_t(bits)};
    const float fb = actgrad::to_float(b);
    if (!std::isnan(fb)) {
      ASSERT_EQ(actgrad::to_bfloat16(fb).bits, b.bits) << std::hex << bits;
    }
  }
  // Ties go to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
  EXPECT_EQ(actgrad::to_half(1.0f + 0x1p-11f).bits, actgrad::to_half(1.0f).bits);
  EXPECT_EQ(actgrad::to_half(1.0f + 3 * 0x1p-11f).bits, actgrad::to_half(1.0f + 0x1p-9f).bits);
  EXPECT_EQ(actgrad::to_float(actgrad::to_half(65520.0f)), INFINITY);
  EXPECT_EQ(actgrad::to_float(actgrad::to_half(65519.0f)), 65504.0f);
  EXPECT_EQ(actgrad::to_float(actgrad::to_half(0x1p-25f)), 0.0f); // tie to even (zero)
  EXPECT_EQ(actgrad::to_float(actgrad::to_half(0x1.8p-25f)), 0x1p-24f);
  EXPECT_EQ(actgrad::to_float(actgrad::to_bfloat16(1.0f + 0x1p-8f)), 1.0f);
  EXPECT_EQ(actgrad::to_float(actgrad::to_bfloat16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);
}

TEST(Buffer, HostAllocationCopyAndErrors) {
  actgrad::Buffer a(actgrad::DType::f32, 1000);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 64, 0u);
  for (int i = 0; i < 1000; ++i) a.as<float>()[i] = float(i);
  actgrad::Buffer b(actgrad::DType::f32, 1000);
  actgrad::copy(a.view(), b.view());
  EXPECT_EQ(b.as<float>()[999], 999.0f);
  actgrad::Buffer moved = std::move(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(moved.size(), 1000);
  actgrad::Buffer empty(actgrad::DType::f64, 0);
  EXPECT_EQ(empty.bytes(), 0);
  expect_error([] { actgrad::Buffer(actgrad::DType::f32, -5); }, {"size", "-5"});
  actgrad::Buffer c(actgrad::DType::f64, 1000);
  expect_error([&] { actgrad::copy(a.view(), c.view()); }, {"dtype"});
  if (!actgrad::Device::cuda_available()) {
    try {
      actgrad::Buffer g(actgrad::DType::f32, 10, actgrad::Device::cuda());
      ADD_FAILURE() << "device buffer without a GPU";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::unavailable);
    }
  }
}

// Host-to-host copy_async completes on return; stream-ordered device buffers, cuda copies and
// synchronising a cuda device are "unavailable" errors without a GPU, never crashes.
TEST(Buffer, AsyncCopiesAndStreamOrderedBuffersWithoutGpu) {
  actgrad::Buffer a(actgrad::DType::f32, 100), b(actgrad::DType::f32, 100);
  for (int i = 0; i < 100; ++i) a.as<float>()[i] = float(3 * i);
  if (!actgrad::Device::cuda_available()) {
    actgrad::copy_async(a.view(), b.view(), nullptr);
    EXPECT_EQ(b.as<float>()[99], 297.0f);
    const auto unavailable = [](auto f) {
      try {
        f();
        ADD_FAILURE() << "no actgrad::Error without a GPU";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::unavailable) << e.what();
      }
    };
    unavailable([] { actgrad::Buffer::device_async(actgrad::DType::f32, 10, nullptr); });
    unavailable([] { actgrad::Device::cuda().synchronize(); });
    const actgrad::TensorView dev{b.data(), 100, actgrad::DType::f32, actgrad::Device::cuda()};
    unavailable([&] { actgrad::copy_async(a.view(), dev, nullptr); });
  }
  actgrad::Device::cpu().synchronize(); // a no-op on the CPU
  expect_error(
      [&] {
        actgrad::copy_async(a.view(), actgrad::TensorView{b.data(), 99}, nullptr);
      },
      {"copy_async", "elements"});
  expect_error([] { actgrad::Buffer::device_async(actgrad::DType::f32, -1, nullptr); },
               {"size", "-1"});
}

TEST(Device, AutomaticSaysWhy) {
  const actgrad::Device d = actgrad::Device::automatic();
  const std::string why = actgrad::Device::automatic_reason();
  EXPECT_FALSE(why.empty());
  if (actgrad::Device::cuda_available()) {
    EXPECT_EQ(d.kind, actgrad::DeviceKind::cuda);
  } else {
    EXPECT_EQ(d.kind, actgrad::DeviceKind::cpu);
    EXPECT_NE(why.find("CPU"), std::string::npos) << why;
  }
}

TEST(Threads, ResultsDoNotDependOnThreadCount) {
  const std::size_t n = 200001;
  const std::vector<float> x = inputs(n);
  for (actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    if (act.is_gated()) continue;
    std::vector<float> y1(n), d1(n), y2(n), d2(n);
    actgrad::ExecOptions one;
    one.threads = 1;
    actgrad::ExecOptions two;
    two.threads = 2;
    actgrad::forward_with_derivative(act, actgrad::view(x.data(), n), actgrad::view(y1.data(), n),
                                     actgrad::view(d1.data(), n), one);
    actgrad::forward_with_derivative(act, actgrad::view(x.data(), n), actgrad::view(y2.data(), n),
                                     actgrad::view(d2.data(), n), two);
    ASSERT_EQ(0, std::memcmp(y1.data(), y2.data(), n * sizeof(float))) << act.name();
    ASSERT_EQ(0, std::memcmp(d1.data(), d2.data(), n * sizeof(float))) << act.name();
  }
}

} // namespace

namespace {

bool quick_mode() {
  const char* q = std::getenv("ACTGRAD_QUICK");
  return q && std::string(q) == "1";
}

TEST(Sizes, MoreThanTwoToThe31Elements) {
  if (quick_mode()) GTEST_SKIP() << "ACTGRAD_QUICK=1: skips the 4 GiB allocation";
  // 2^31 + 17 f16 elements (4 GiB), relu in place: indices past 2^31 must be reached.
  const std::int64_t n = (std::int64_t(1) << 31) + 17;
  actgrad::Buffer buf(actgrad::DType::f16, n);
  auto* h = buf.as<actgrad::half_t>();
  const actgrad::half_t one = actgrad::to_half(1.0f), minus = actgrad::to_half(-2.0f);
  for (std::int64_t i = 0; i < n; ++i) h[i] = one;
  const std::int64_t probes[] = {0, (std::int64_t(1) << 31) - 1, std::int64_t(1) << 31,
                                 (std::int64_t(1) << 31) + 1, n - 1};
  for (std::int64_t i : probes) h[i] = minus;
  actgrad::forward(Activation::parse("relu"), buf.view(), buf.view());
  for (std::int64_t i : probes) EXPECT_EQ(actgrad::to_float(h[i]), 0.0f) << "i=" << i;
  for (std::int64_t i : {std::int64_t(1), (std::int64_t(1) << 31) + 2, n - 2})
    EXPECT_EQ(actgrad::to_float(h[i]), 1.0f) << "i=" << i;
}

} // namespace
