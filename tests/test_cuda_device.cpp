// GPU tests of the CUDA engine against the CPU path: every activation x op x dtype, sizes across
// block boundaries and past 2^31, misaligned views, in place, bad pointers, and 4 host threads
// on 4 streams. Each test skips, with the reason, when no CUDA device is usable.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"
#include "storage_compare.hpp"

namespace {

using actgrad_test::agrees_with_cpu;
using actgrad_test::to_double;

using actgrad::Activation;
using actgrad::bfloat16_t;
using actgrad::Buffer;
using actgrad::ConstTensorView;
using actgrad::Device;
using actgrad::DType;
using actgrad::Error;
using actgrad::ExecOptions;
using actgrad::half_t;
using actgrad::Storage;
using actgrad::TensorView;

class CudaDevice : public ::testing::Test {
protected:
  void SetUp() override {
    if (!Device::cuda_available()) GTEST_SKIP() << Device::automatic_reason();
  }
};

enum class Op {
  forward,
  fused,
  backward,
  from_output,
  backward_from_output,
  gated_forward,
  gated_fused,
  gated_backward
};
const char* op_name(Op op) {
  switch (op) {
  case Op::forward:
    return "forward";
  case Op::fused:
    return "forward_with_derivative";
  case Op::backward:
    return "backward";
  case Op::from_output:
    return "derivative_from_output";
  case Op::backward_from_output:
    return "backward_from_output";
  case Op::gated_forward:
    return "gated_forward";
  case Op::gated_fused:
    return "gated_forward_with_derivative";
  case Op::gated_backward:
    return "gated_backward";
  }
  return "?";
}
int inputs_of(Op op) {
  return op == Op::forward || op == Op::fused || op == Op::from_output ? 1
         : op == Op::gated_backward                                    ? 3
                                                                       : 2;
}
int outputs_of(Op op) {
  return op == Op::fused || op == Op::gated_backward ? 2 : op == Op::gated_fused ? 3 : 1;
}
std::vector<Op> ops_of(const Activation& act) {
  if (act.is_gated()) return {Op::gated_forward, Op::gated_fused, Op::gated_backward};
  std::vector<Op> ops = {Op::forward, Op::fused, Op::backward};
  if (act.has_derivative_from_output()) {
    ops.push_back(Op::from_output);
    ops.push_back(Op::backward_from_output);
  }
  return ops;
}

// Runs op through the public API on any device's views.
void call(Op op, const Activation& act, const std::vector<ConstTensorView>& x,
          const std::vector<TensorView>& y, const ExecOptions& opt = {}) {
  switch (op) {
  case Op::forward:
    return actgrad::forward(act, x[0], y[0], opt);
  case Op::fused:
    return actgrad::forward_with_derivative(act, x[0], y[0], y[1], opt);
  case Op::backward:
    return actgrad::backward(act, x[0], x[1], y[0], opt);
  case Op::from_output:
    return actgrad::derivative_from_output(act, x[0], y[0], opt);
  case Op::backward_from_output:
    return actgrad::backward_from_output(act, x[0], x[1], y[0], opt);
  case Op::gated_forward:
    return actgrad::gated_forward(act, x[0], x[1], y[0], opt);
  case Op::gated_fused:
    return actgrad::gated_forward_with_derivative(act, x[0], x[1], y[0], y[1], y[2], opt);
  case Op::gated_backward:
    return actgrad::gated_backward(act, x[0], x[1], x[2], y[0], y[1], opt);
  }
}

template <class S>
S to_storage(double v) {
  return Storage<S>::store(typename Storage<S>::compute(v));
}
template <class S>
DType dtype_of() {
  return Storage<S>::dtype;
}

// A few thousand inputs: specials (zeros, infinities, NaN, subnormals, huge, kinks), uniform
// values over the interesting range, and log-uniform magnitudes from 1e-8 to 1e8.
template <class S>
std::vector<S> test_inputs(std::size_t n, unsigned seed) {
  using C = typename Storage<S>::compute;
  const double inf = std::numeric_limits<double>::infinity();
  const double big = double(std::numeric_limits<C>::max()) / 4;
  const double tiny = double(std::numeric_limits<C>::denorm_min());
  const double specials[] = {0.0,    -0.0,  1.0,   -1.0,  3.0,
                             -3.0,   6.0,   -6.0,  0.5,   -0.5,
                             20.0,   -20.,  1e-7,  -1e-7, 1e-40,
                             -1e-40, 1e30,  -1e30, big,   -big,
                             tiny,   -tiny, inf,   -inf,  std::numeric_limits<double>::quiet_NaN()};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-12.0, 12.0), exponent(-8.0, 8.0);
  std::bernoulli_distribution negative(0.5), log_scale(0.25);
  std::vector<S> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    double x;
    if (i < std::size(specials))
      x = specials[i];
    else if (log_scale(rng))
      x = (negative(rng) ? -1 : 1) * std::pow(10.0, exponent(rng));
    else
      x = uniform(rng);
    v[i] = to_storage<S>(x);
  }
  return v;
}

// Device memory holding n elements at an element offset, with guard cells filled with
// kGuardByte on both sides so stray writes show.
constexpr std::int64_t kGuard = 64;
constexpr int kGuardByte = 0x5A;
class DeviceArray {
public:
  DeviceArray(DType dt, std::int64_t n, int offset = 0)
      : buf_(dt, n + 2 * kGuard + offset, Device::cuda()), n_(n), offset_(offset) {
    EXPECT_EQ(cudaMemset(buf_.data(), kGuardByte, std::size_t(buf_.bytes())), cudaSuccess);
  }
  TensorView view() {
    return {static_cast<char*>(buf_.data()) + (kGuard + offset_) * dtype_size(buf_.dtype()), n_,
            buf_.dtype(), Device::cuda()};
  }
  template <class S>
  void upload(const std::vector<S>& v) {
    actgrad::copy(ConstTensorView{v.data(), n_, buf_.dtype()}, view());
  }
  template <class S>
  std::vector<S> download() {
    std::vector<S> v(static_cast<std::size_t>(n_));
    actgrad::copy(view(), TensorView{v.data(), n_, buf_.dtype()});
    return v;
  }
  // Whether the guard cells around the view are untouched.
  bool guards_intact() {
    std::vector<unsigned char> all(std::size_t(buf_.bytes()));
    if (cudaMemcpy(all.data(), buf_.data(), all.size(), cudaMemcpyDeviceToHost) != cudaSuccess)
      return false;
    const std::size_t es = std::size_t(dtype_size(buf_.dtype()));
    const std::size_t lo = std::size_t(kGuard + offset_) * es, hi = lo + std::size_t(n_) * es;
    for (std::size_t i = 0; i < all.size(); ++i)
      if ((i < lo || i >= hi) && all[i] != kGuardByte) return false;
    return true;
  }

private:
  Buffer buf_;
  std::int64_t n_;
  int offset_;
};

// Runs op on the CPU and on the GPU (views at the given element offsets, in place when asked:
// the first output on the first input) and checks every output element and the guards.
template <class S>
void compare_with_cpu(const Activation& act, Op op, const std::vector<std::vector<S>>& x,
                      const std::vector<int>& offsets, bool in_place, const std::string& where) {
  const DType dt = dtype_of<S>();
  const std::int64_t n = std::int64_t(x[0].size());
  const int ni = inputs_of(op), no = outputs_of(op);
  std::vector<std::vector<S>> want(std::size_t(no), std::vector<S>(x[0].size()));
  {
    std::vector<ConstTensorView> cx;
    std::vector<TensorView> cy;
    for (const auto& v : x) cx.push_back({v.data(), n, dt});
    for (auto& v : want) cy.push_back({v.data(), n, dt});
    call(op, act, cx, cy);
  }
  std::vector<DeviceArray> din, dout;
  for (int k = 0; k < ni; ++k) {
    din.emplace_back(dt, n, offsets[std::size_t(k)]);
    din.back().upload(x[std::size_t(k)]);
  }
  for (int k = 0; k < no; ++k) dout.emplace_back(dt, n, offsets[std::size_t(ni + k)]);
  std::vector<ConstTensorView> gx;
  std::vector<TensorView> gy;
  for (auto& d : din) gx.push_back(d.view());
  for (auto& d : dout) gy.push_back(d.view());
  if (in_place) gy[0] = din[0].view();
  call(op, act, gx, gy);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << where;
  for (int k = 0; k < no; ++k) {
    const std::vector<S> got = (in_place && k == 0 ? din[0] : dout[std::size_t(k)]).download<S>();
    for (std::int64_t i = 0; i < n; ++i) {
      double scale = 1;
      for (int j = 0; j < ni; ++j)
        scale *= std::max(1.0, std::fabs(to_double(x[std::size_t(j)][std::size_t(i)])));
      const S g = got[std::size_t(i)], c = want[std::size_t(k)][std::size_t(i)];
      ASSERT_TRUE(agrees_with_cpu(g, c, scale))
          << where << ": " << act.to_string() << " " << op_name(op) << " "
          << actgrad::dtype_name(dt) << " out" << k << "[" << i << "] gpu " << to_double(g)
          << " cpu " << to_double(c) << " for input " << to_double(x[0][std::size_t(i)]);
    }
  }
  for (auto& d : din) ASSERT_TRUE(d.guards_intact()) << where << ": wrote outside an input";
  for (auto& d : dout) ASSERT_TRUE(d.guards_intact()) << where << ": wrote outside an output";
}

// Inputs of op; the ops from the output get y = f(x) (CPU), the values they are defined on.
template <class S>
std::vector<std::vector<S>> inputs_for(const Activation& act, Op op, std::size_t n) {
  std::vector<std::vector<S>> x;
  for (int k = 0; k < inputs_of(op); ++k) x.push_back(test_inputs<S>(n, unsigned(1 + 31 * k)));
  if (op == Op::from_output || op == Op::backward_from_output) {
    const std::vector<S> pre = x[0];
    actgrad::forward(act, ConstTensorView{pre.data(), std::int64_t(n), dtype_of<S>()},
                     TensorView{x[0].data(), std::int64_t(n), dtype_of<S>()});
  }
  return x;
}

// A few thousand inputs per call: 4099 = 4096 + 3 leaves a ragged tail after the vectors.
constexpr std::size_t kValueInputs = 4099;

template <class S>
void every_activation_and_op() {
  for (actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    for (Op op : ops_of(act)) {
      const std::vector<int> aligned(std::size_t(inputs_of(op) + outputs_of(op)), 0);
      compare_with_cpu<S>(act, op, inputs_for<S>(act, op, kValueInputs), aligned, false, "aligned");
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST_F(CudaDevice, EveryActivationAndOpF32) { every_activation_and_op<float>(); }
TEST_F(CudaDevice, EveryActivationAndOpF64) { every_activation_and_op<double>(); }
TEST_F(CudaDevice, EveryActivationAndOpF16) { every_activation_and_op<half_t>(); }
TEST_F(CudaDevice, EveryActivationAndOpBF16) { every_activation_and_op<bfloat16_t>(); }

// Sizes around the vector width, the 256-thread block, one block of vectors (256 x 4 f32 or
// 256 x 8 f16), and past one full wave of resident blocks so the grid-stride loop repeats.
TEST_F(CudaDevice, SizesAcrossBlockBoundaries) {
  const Activation act = Activation::parse("sigmoid");
  for (std::size_t n : {std::size_t(1), std::size_t(3), std::size_t(255), std::size_t(256),
                        std::size_t(257), std::size_t(1023), std::size_t(1024), std::size_t(1025),
                        std::size_t(2047), std::size_t(2048), std::size_t(2049),
                        std::size_t(1) << 20, (std::size_t(1) << 22) + 5, std::size_t(9000007)}) {
    const std::vector<int> aligned(3, 0);
    compare_with_cpu<float>(act, Op::fused, inputs_for<float>(act, Op::fused, n), aligned, false,
                            "n=" + std::to_string(n));
    compare_with_cpu<half_t>(act, Op::fused, inputs_for<half_t>(act, Op::fused, n), aligned, false,
                             "n=" + std::to_string(n));
    if (HasFatalFailure()) return;
  }
}

// A few thousand elements, odd, so every head and tail is ragged.
constexpr std::size_t kRaggedSize = 5003;

// Every offset 0..3 elements for each of the three views of forward_with_derivative (same
// misalignment: peeled head; different: scalar path), and mixed offsets for gated_backward.
TEST_F(CudaDevice, MisalignedViews) {
  const Activation act = Activation::parse("tanh");
  for (int c = 0; c < 64; ++c) {
    const std::vector<int> offs = {c % 4, (c / 4) % 4, c / 16};
    const std::string where = "offsets " + ::testing::PrintToString(offs);
    compare_with_cpu<float>(act, Op::fused, inputs_for<float>(act, Op::fused, kRaggedSize), offs,
                            false, where);
    compare_with_cpu<half_t>(act, Op::fused, inputs_for<half_t>(act, Op::fused, kRaggedSize), offs,
                             false, where);
    compare_with_cpu<double>(act, Op::fused, inputs_for<double>(act, Op::fused, kRaggedSize), offs,
                             false, where);
    if (HasFatalFailure()) return;
  }
  const Activation glu = Activation::parse("glu");
  for (const std::vector<int>& offs :
       {std::vector<int>{1, 1, 1, 1, 1}, {0, 1, 2, 3, 0}, {3, 3, 3, 3, 3}, {2, 0, 2, 0, 2}}) {
    compare_with_cpu<bfloat16_t>(glu, Op::gated_backward,
                                 inputs_for<bfloat16_t>(glu, Op::gated_backward, kRaggedSize), offs,
                                 false, "glu offsets " + ::testing::PrintToString(offs));
    if (HasFatalFailure()) return;
  }
}

// The first output on the first input, for every op, aligned and misaligned.
TEST_F(CudaDevice, InPlace) {
  for (actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    for (Op op : ops_of(act)) {
      for (int offset : {0, 1}) {
        const std::vector<int> offs(std::size_t(inputs_of(op) + outputs_of(op)), offset);
        compare_with_cpu<float>(act, op, inputs_for<float>(act, op, kRaggedSize), offs, true,
                                "in place");
        compare_with_cpu<half_t>(act, op, inputs_for<half_t>(act, op, kRaggedSize), offs, true,
                                 "in place");
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Indices past 2^31: sigmoid in place over 2^31 + 3075 f16, checked at the start, around 2^31
// and at the end (each window of 4096 inside the buffer: the first GPU run of this test read
// past its end, which CUDA refused with "invalid argument"). Every element starts as bytes 0x3C3C
// (f16 1 + 60/1024), so every output must be the same bits, and close to the CPU result for that
// input.
TEST_F(CudaDevice, MoreThan2Pow31ElementsF16) {
  constexpr std::int64_t kWindow = 4096;
  const std::int64_t n = (std::int64_t(1) << 31) + kWindow / 2 + 1027;
  const std::size_t bytes = std::size_t(n) * sizeof(half_t);
  std::size_t free_b = 0, total_b = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_b, &total_b), cudaSuccess);
  constexpr std::size_t kSpare = std::size_t(256) << 20; // for the context and other tests
  if (free_b < bytes + kSpare)
    GTEST_SKIP() << "needs " << bytes << " bytes of device memory; " << free_b << " free";
  Buffer x(DType::f16, n, Device::cuda());
  constexpr int kPattern = 0x3C;
  ASSERT_EQ(cudaMemset(x.data(), kPattern, bytes), cudaSuccess);
  const Activation act = Activation::parse("sigmoid");
  actgrad::forward(act, x.view(), x.view());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  half_t in{std::uint16_t(kPattern << 8 | kPattern)}, cpu{};
  actgrad::forward(act, actgrad::view(&in, 1), actgrad::view(&cpu, 1));
  half_t first{};
  for (std::int64_t start : {std::int64_t(0), (std::int64_t(1) << 31) - kWindow / 2, n - kWindow}) {
    std::vector<half_t> got(static_cast<std::size_t>(kWindow));
    ASSERT_EQ(cudaMemcpy(got.data(), x.as<half_t>() + start, std::size_t(kWindow) * sizeof(half_t),
                         cudaMemcpyDeviceToHost),
              cudaSuccess)
        << "window at element " << start;
    if (start == 0) {
      first = got[0];
      ASSERT_TRUE(agrees_with_cpu(first, cpu, 1.0))
          << to_double(first) << " vs cpu " << to_double(cpu);
    }
    for (std::int64_t i = 0; i < kWindow; ++i)
      ASSERT_EQ(got[std::size_t(i)].bits, first.bits) << "element " << start + i;
  }
}

// An allocation beyond the free memory throws an Error naming the size asked for and what is
// free, and leaves the free memory as it was (no leak), for both allocation paths.
TEST_F(CudaDevice, OutOfMemoryNamesSizeAndFreeAndLeaksNothing) {
  std::size_t free_before = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
  const std::int64_t n = std::int64_t(total / 4) + (std::int64_t(1) << 28); // > total bytes
  const std::string asked = std::to_string(n * 4) + " bytes";
  for (int async = 0; async < 2; ++async) {
    try {
      Buffer b = async ? Buffer::device_async(DType::f32, n, nullptr)
                       : Buffer(DType::f32, n, Device::cuda());
      ADD_FAILURE() << "allocating " << asked << " did not throw";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(asked), std::string::npos) << m;
      EXPECT_NE(m.find("free"), std::string::npos) << m;
    }
  }
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  std::size_t free_after = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
  // The stream-ordered pool may keep up to a few MiB of bookkeeping; a leak of the request
  // would be gigabytes.
  EXPECT_GE(free_after + (std::size_t(64) << 20), free_before)
      << "free memory fell from " << free_before << " to " << free_after;
  // The device still works after the failures.
  DeviceArray ok(DType::f32, 1024);
  actgrad::forward(Activation::parse("relu"), ok.view(), ok.view());
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

// Stream-ordered buffers and asynchronous copies: allocate, fill, compute and free on one
// non-blocking stream, with pinned host buffers at both ends.
TEST_F(CudaDevice, StreamOrderedBuffersAndAsyncCopies) {
  cudaStream_t s{};
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  constexpr std::int64_t n = (std::int64_t(1) << 20) + 5;
  const std::vector<float> x = test_inputs<float>(std::size_t(n), 7);
  std::vector<float> want_y(x.size()), want_d(x.size());
  const Activation act = Activation::parse("gelu");
  actgrad::forward_with_derivative(act, actgrad::view(x.data(), n), actgrad::view(want_y.data(), n),
                                   actgrad::view(want_d.data(), n));
  {
    Buffer hx(DType::f32, n, Device::cpu(), true), hy(DType::f32, n, Device::cpu(), true),
        hd(DType::f32, n, Device::cpu(), true);
    std::memcpy(hx.data(), x.data(), x.size() * sizeof(float));
    Buffer dx = Buffer::device_async(DType::f32, n, s);
    Buffer dy = Buffer::device_async(DType::f32, n, s);
    Buffer dd = Buffer::device_async(DType::f32, n, s);
    EXPECT_EQ(dx.stream(), static_cast<void*>(s));
    ExecOptions opt;
    opt.stream = s;
    actgrad::copy_async(hx.view(), dx.view(), s);
    actgrad::forward_with_derivative(act, dx.view(), dy.view(), dd.view(), opt);
    actgrad::copy_async(dy.view(), hy.view(), s);
    actgrad::copy_async(dd.view(), hd.view(), s);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    for (std::int64_t i = 0; i < n; ++i) {
      const double scale = std::max(1.0, std::fabs(double(x[std::size_t(i)])));
      ASSERT_TRUE(agrees_with_cpu(hy.as<float>()[i], want_y[std::size_t(i)], scale)) << i;
      ASSERT_TRUE(agrees_with_cpu(hd.as<float>()[i], want_d[std::size_t(i)], scale)) << i;
    }
  } // the device buffers are freed on s here
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

// Host memory in a cuda view is named in the error instead of faulting in the kernel.
TEST_F(CudaDevice, HostPointersAreRejectedByName) {
  const Activation act = Activation::parse("relu");
  std::vector<float> host(64);
  DeviceArray dev(DType::f32, 64);
  const TensorView host_as_cuda{host.data(), 64, DType::f32, Device::cuda()};
  const auto expect_error = [](auto f, const std::vector<std::string>& fragments) {
    try {
      f();
      ADD_FAILURE() << "no actgrad::Error";
    } catch (const Error& e) {
      for (const std::string& s : fragments)
        EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
    }
  };
  expect_error([&] { actgrad::forward(act, host_as_cuda, dev.view()); }, {"'x'", "host memory"});
  expect_error([&] { actgrad::forward(act, dev.view(), host_as_cuda); }, {"'y'", "host memory"});
  Buffer pinned(DType::f32, 64, Device::cpu(), true);
  const TensorView pinned_as_cuda{pinned.data(), 64, DType::f32, Device::cuda()};
  expect_error([&] { actgrad::backward(act, dev.view(), pinned_as_cuda, dev.view()); },
               {"'grad_out'", "pinned host memory"});
  // A pointer one byte into a float: element-misaligned (views of another buffer, so the
  // overlap check does not fire first).
  TensorView odd = dev.view();
  odd.data = static_cast<char*>(odd.data) + 1;
  odd.n = 8;
  DeviceArray other(DType::f32, 8);
  const TensorView y = other.view();
  expect_error([&] { actgrad::forward(act, odd, y); }, {"'x'", "aligned"});
}

// Four host threads, each on its own non-blocking stream with asynchronous copies and only its
// own stream synchronised, give results identical to a single synchronous run. A kernel on
// the wrong stream would race the copies.
TEST_F(CudaDevice, FourThreadsOnFourStreams) {
  constexpr int kThreads = 4, kRounds = 8;
  constexpr std::int64_t n = (std::int64_t(1) << 20) + 3;
  const char* names[kThreads] = {"gelu", "silu", "tanh", "softplus"};
  std::vector<Activation> acts;
  for (const char* name : names) {
    try {
      acts.push_back(Activation::parse(name));
    } catch (const Error&) {
      acts.push_back(Activation::parse("sigmoid")); // not (yet) in the catalogue
    }
  }
  const std::vector<float> x = test_inputs<float>(std::size_t(n), 99);
  std::vector<std::vector<float>> ref_y(kThreads), ref_d(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    DeviceArray dx(DType::f32, n), dy(DType::f32, n), dd(DType::f32, n);
    dx.upload(x);
    actgrad::forward_with_derivative(acts[std::size_t(t)], dx.view(), dy.view(), dd.view());
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    ref_y[std::size_t(t)] = dy.download<float>();
    ref_d[std::size_t(t)] = dd.download<float>();
  }
  std::vector<std::string> failures(kThreads);
  auto worker = [&](int t) {
    try {
      cudaStream_t s{};
      if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess)
        throw std::runtime_error("cudaStreamCreate failed");
      const std::size_t bytes = std::size_t(n) * sizeof(float);
      Buffer hx(DType::f32, n, Device::cpu(), true), hy(DType::f32, n, Device::cpu(), true),
          hd(DType::f32, n, Device::cpu(), true);
      Buffer dx(DType::f32, n, Device::cuda()), dy(DType::f32, n, Device::cuda()),
          dd(DType::f32, n, Device::cuda());
      std::memcpy(hx.data(), x.data(), bytes);
      ExecOptions opt;
      opt.stream = s;
      for (int r = 0; r < kRounds; ++r) {
        std::memset(hy.data(), 0, bytes);
        std::memset(hd.data(), 0, bytes);
        cudaMemsetAsync(dy.data(), 0, bytes, s);
        cudaMemcpyAsync(dx.data(), hx.data(), bytes, cudaMemcpyHostToDevice, s);
        actgrad::forward_with_derivative(acts[std::size_t(t)], dx.view(), dy.view(), dd.view(),
                                         opt);
        cudaMemcpyAsync(hy.data(), dy.data(), bytes, cudaMemcpyDeviceToHost, s);
        cudaMemcpyAsync(hd.data(), dd.data(), bytes, cudaMemcpyDeviceToHost, s);
        if (cudaStreamSynchronize(s) != cudaSuccess) throw std::runtime_error("stream failed");
        if (std::memcmp(hy.data(), ref_y[std::size_t(t)].data(), bytes) != 0 ||
            std::memcmp(hd.data(), ref_d[std::size_t(t)].data(), bytes) != 0)
          throw std::runtime_error("round " + std::to_string(r) + " differs from the reference");
      }
      cudaStreamDestroy(s);
    } catch (const std::exception& e) {
      failures[std::size_t(t)] = e.what();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_TRUE(failures[std::size_t(t)].empty())
        << "thread " << t << " (" << acts[std::size_t(t)].name()
        << "): " << failures[std::size_t(t)];
}

} // namespace
