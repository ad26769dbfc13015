// CPU benchmark: fused value+derivative and backward for every catalogue entry, each timed in the
// same run beside (a) a plain pass moving the same bytes, (b) the same results from two library
// passes and (c) oneDNN eltwise forward + backward (SPEC §7, STYLE §11).
//
// Benchmarks are registered at startup from actgrad::catalogue(); nothing here lists the
// catalogue by hand. Names are <op>/<activation>/<variant>/threads:<t> with
//   op       fused     forward_with_derivative (gated: gated_forward_with_derivative)
//            backward  backward (gated: gated_backward)
//   variant  actgrad     the library's one pass
//            plain       (a) reads and writes the same streams with one add per element
//            plain_nt    (a) the same with streaming stores (the table uses the faster (a))
//            unfused     (b) two library passes giving the same results (label says which)
//            onednn_src  (c) oneDNN eltwise, backward from x
//            onednn_dst  (c) oneDNN eltwise, backward from y (its *_use_dst_for_bwd algorithm)
//            incache     the library's pass on kCacheElts elements that stay in L2, one thread:
//                        the cost of its math without memory traffic (threads:1 only)
// plus memcpy/threads:<t> for reference. Each plain pass runs next to its kernel so that load
// from other processes drifts both alike.
//
// Bytes processed count every stream a variant moves: fused f32 reads x and writes y and dydx,
// 3 x 4 = 12 bytes per element; the counters reads/writes/bytes_per_elt/elts record it.
//
// Flags (before Google Benchmark's own): --n=<elements> (default 2^24), --threads=1,2,
// --no-onednn. Select subsets with --benchmark_filter, e.g. '^(fused|backward)/(relu|gelu)/'.
// --benchmark_min_time defaults to kDefaultMinTime; a later flag overrides it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <omp.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if ACTGRAD_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

#include "actgrad/actgrad.hpp"
#include "cpu_engine.hpp"

namespace {

using actgrad::Activation;
using actgrad::ExecOptions;
using actgrad::view;

// SPEC §7 states the CPU goals at N = 2^24 f32.
constexpr int kDefaultLog2N = 24;
// Elements of the in-cache run: the widest kernel (gated fused: 5 f32 streams) then holds
// 5 x 4 B x 2^16 = 1.25 MiB, inside one core's 2 MiB L2, so its time is the math and L2 traffic.
constexpr std::int64_t kCacheElts = std::int64_t{1} << 16;
// Per-benchmark minimum time, 50 ms: one to a few passes of 2^24 elements, so that every
// activation x op x thread count x variant (about 1200 cases for 50 activations) runs in minutes
// on 2 cores.
constexpr const char* kDefaultMinTime = "--benchmark_min_time=0.05";
// Baselines split work into the library's chunks with the same static schedule.
constexpr std::int64_t kChunk = actgrad::detail::kCpuChunk;
// Inputs are uniform in [-kInputHalfRange, kInputHalfRange): wide enough to cross every knee of
// the piecewise activations at default parameters (±3 for hardswish and hardsigmoid, 6 for relu6)
// so their branches run in the mix they meet in training.
constexpr float kInputHalfRange = 6.0f;
// Positive inputs for activations undefined below 0 (log, sqrt): |x| + kMinPositive keeps them
// off the pole at 0, where the pass would time only special-value paths.
constexpr float kMinPositive = 1.0f / 64.0f;
// Elements forward() is tried on to decide whether an activation needs positive inputs.
constexpr std::int64_t kDomainProbe = 4096;
// Buffers start at a cache line (64 B, also one AVX-512 vector), as a framework allocator does.
constexpr std::size_t kAlign = 64;

struct Options {
  std::int64_t n = std::int64_t{1} << kDefaultLog2N;
  std::vector<int> threads{1, 2};
  bool onednn = ACTGRAD_BENCH_ONEDNN != 0;
};

// --- buffers -------------------------------------------------------------------------------

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using Array = std::unique_ptr<float[], FreeDeleter>;

Array allocate(std::int64_t n) {
  const std::size_t bytes =
      (static_cast<std::size_t>(n) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  auto* p = static_cast<float*>(std::aligned_alloc(kAlign, std::max(bytes, kAlign)));
  if (!p) {
    std::fprintf(stderr, "bench_cpu: cannot allocate %zu bytes\n", bytes);
    std::exit(1);
  }
  return Array(p);
}

// splitmix64 (Steele, Lea & Flood 2014): a cheap deterministic hash, so any thread can fill any
// index. The multipliers are splitmix64's published mixing constants.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull; // 2^64 / golden ratio, splitmix64's increment
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// Uniform in [0, 1) from the top 24 bits (a float's significand), exactly representable.
float uniform(std::uint64_t seed, std::int64_t i) {
  constexpr int kBits = 24;
  constexpr float kScale = 1.0f / static_cast<float>(std::uint32_t{1} << kBits);
  // Seeds select independent streams: the index is spread by an odd multiplier (xorshift64*'s)
  // before the seed is mixed in, so nearby indices of two seeds share no bits.
  constexpr std::uint64_t kSpread = 0x2545F4914F6CDD1Dull;
  const std::uint64_t h = mix(seed ^ static_cast<std::uint64_t>(i) * kSpread);
  return static_cast<float>(h >> (64 - kBits)) * kScale;
}

struct Buffers {
  std::int64_t n = 0;
  Array xs;    // signed inputs x (gated: a)
  Array xp;    // positive inputs for activations undefined below 0
  Array b;     // gated second input
  Array g;     // grad_out, uniform in [-1, 1)
  Array ones;  // grad_out = 1, to get f' from a backward pass
  Array ysave; // y = f(x) saved by a forward pass outside the timed region (dst-based backward)
  Array o[3];  // outputs
};

Buffers* g_buf = nullptr;

// Allocates and first-touches every buffer with the threads and chunks the passes use, so no
// page fault or zero-page mapping lands inside a timed region.
void make_buffers(Buffers& b, std::int64_t n, int max_threads) {
  b.n = n;
  Array* all[] = {&b.xs, &b.xp, &b.b, &b.g, &b.ones, &b.ysave, &b.o[0], &b.o[1], &b.o[2]};
  for (Array* a : all) *a = allocate(n);
  float *xs = b.xs.get(), *xp = b.xp.get(), *bb = b.b.get(), *g = b.g.get(), *ones = b.ones.get();
  float *ys = b.ysave.get(), *o0 = b.o[0].get(), *o1 = b.o[1].get(), *o2 = b.o[2].get();
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(max_threads)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t end = std::min(n, (c + 1) * kChunk);
    for (std::int64_t i = c * kChunk; i < end; ++i) {
      xs[i] = kInputHalfRange * (2.0f * uniform(1, i) - 1.0f);
      xp[i] = std::fabs(xs[i]) + kMinPositive;
      bb[i] = kInputHalfRange * (2.0f * uniform(2, i) - 1.0f);
      g[i] = 2.0f * uniform(3, i) - 1.0f;
      ones[i] = 1.0f;
      ys[i] = o0[i] = o1[i] = o2[i] = 0.0f;
    }
  }
}

// --- baselines -----------------------------------------------------------------------------

// The baselines' chunk loops get the same instruction-set clones as the library's (x86-64-v3 and
// the baseline where host/cpu/cpu_engine.hpp defines ACTGRAD_CPU_CLONES), so neither side gains
// from wider vectors the other lacks.
#ifndef ACTGRAD_CPU_CLONES
#define ACTGRAD_CPU_CLONES
#endif

// Runs chunk(c) for every chunk of n elements: the library's chunks and static schedule.
template <class Chunk>
void over_chunks(std::int64_t n, int threads, const Chunk& chunk) {
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; ++c) chunk(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// (a), one chunk: every output gets the sum of the inputs. One add per extra input is far below
// memory time, so the pass costs the bytes alone.
template <int R, int W>
ACTGRAD_CPU_CLONES void plain_chunk(const float* const* in, float* const* out, std::int64_t begin,
                                    std::int64_t end) {
  const float* const i0 = in[0];
  const float* const i1 = in[R > 1 ? 1 : 0];
  const float* const i2 = in[R > 2 ? 2 : 0];
  float* const o0 = out[0];
  float* const o1 = out[W > 1 ? 1 : 0];
  float* const o2 = out[W > 2 ? 2 : 0];
#pragma omp simd
  for (std::int64_t i = begin; i < end; ++i) {
    float s = i0[i];
    if constexpr (R > 1) s += i1[i];
    if constexpr (R > 2) s += i2[i];
    o0[i] = s;
    if constexpr (W > 1) o1[i] = s;
    if constexpr (W > 2) o2[i] = s;
  }
}

template <int R, int W>
void plain_pass(const float* const* in, float* const* out, std::int64_t n, int threads) {
  over_chunks(n, threads, [&](std::int64_t begin, std::int64_t end) {
    plain_chunk<R, W>(in, out, begin, end);
  });
}

// (a) with streaming (non-temporal) stores, as memcpy uses for large copies: written lines skip
// the read-for-ownership a plain store costs, so a write moves its 4 bytes once instead of twice.
// It is the faster way to move the same bytes when they do not fit in cache, and it is what a
// one-pass kernel can reach with the same stores, so the table takes the faster of the two (a).
// Our buffers start at 64 B and chunks at multiples of kChunk elements, so every output is
// 16 B aligned at a chunk start; any other start falls back to plain stores.
template <int R, int W>
void plain_nt_chunk(const float* const* in, float* const* out, std::int64_t begin,
                    std::int64_t end) {
#if defined(__SSE2__)
  constexpr std::size_t kVecBytes = sizeof(__m128);
  constexpr std::int64_t kLanes = kVecBytes / sizeof(float);
  bool aligned = true;
  for (int w = 0; w < W; ++w)
    aligned = aligned && reinterpret_cast<std::uintptr_t>(out[w] + begin) % kVecBytes == 0;
  if (!aligned) return plain_chunk<R, W>(in, out, begin, end);
  std::int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    __m128 s = _mm_loadu_ps(in[0] + i);
    for (int r = 1; r < R; ++r) s = _mm_add_ps(s, _mm_loadu_ps(in[r] + i));
    for (int w = 0; w < W; ++w) _mm_stream_ps(out[w] + i, s);
  }
  _mm_sfence(); // streaming stores are weakly ordered: publish them before the team's barrier
  if (i < end) plain_chunk<R, W>(in, out, i, end);
#else
  plain_chunk<R, W>(in, out, begin, end);
#endif
}

template <int R, int W>
void plain_nt_pass(const float* const* in, float* const* out, std::int64_t n, int threads) {
  over_chunks(n, threads, [&](std::int64_t begin, std::int64_t end) {
    plain_nt_chunk<R, W>(in, out, begin, end);
  });
}

using PlainFn = void (*)(const float* const*, float* const*, std::int64_t, int);
PlainFn plain_for(int reads, int writes, bool streaming) {
  if (reads == 1 && writes == 2) return streaming ? plain_nt_pass<1, 2> : plain_pass<1, 2>;
  if (reads == 2 && writes == 1) return streaming ? plain_nt_pass<2, 1> : plain_pass<2, 1>;
  if (reads == 2 && writes == 3) return streaming ? plain_nt_pass<2, 3> : plain_pass<2, 3>;
  if (reads == 3 && writes == 2) return streaming ? plain_nt_pass<3, 2> : plain_pass<3, 2>;
  return nullptr;
}

// d[w][i] *= g[i] for one chunk: the second pass of an unfused backward (derivative, then the
// product with g).
template <int W>
ACTGRAD_CPU_CLONES void multiply_chunk(const float* g, float* const* d, std::int64_t begin,
                                       std::int64_t end) {
  float* const d0 = d[0];
  float* const d1 = d[W > 1 ? 1 : 0];
#pragma omp simd
  for (std::int64_t i = begin; i < end; ++i) {
    d0[i] *= g[i];
    if constexpr (W > 1) d1[i] *= g[i];
  }
}

template <int W>
void multiply_pass(const float* g, float* const* d, std::int64_t n, int threads) {
  static_assert(W == 1 || W == 2, "unary and gated backward have one or two gradients");
  over_chunks(n, threads,
              [&](std::int64_t begin, std::int64_t end) { multiply_chunk<W>(g, d, begin, end); });
}

// Each thread copies one contiguous share with the C library's memcpy.
void memcpy_pass(const float* src, float* dst, std::int64_t n, int threads) {
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const std::int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    std::memcpy(dst + begin, src + begin, static_cast<std::size_t>(end - begin) * sizeof(float));
  }
}

// --- benchmark plumbing ----------------------------------------------------------------------

enum class Op { fused, backward };
const char* op_name(Op op) { return op == Op::fused ? "fused" : "backward"; }

// Streams of the library's one-pass kernel.
struct Streams {
  int reads, writes;
};
Streams streams(Op op, bool gated) {
  if (op == Op::fused) return gated ? Streams{2, 3} : Streams{1, 2};
  return gated ? Streams{3, 2} : Streams{2, 1};
}

void set_counters(benchmark::State& st, std::int64_t n, int reads, int writes) {
  const int bytes_per_elt = (reads + writes) * static_cast<int>(sizeof(float));
  st.SetBytesProcessed(st.iterations() * n * bytes_per_elt);
  st.counters["elts"] = static_cast<double>(n);
  st.counters["reads"] = reads;
  st.counters["writes"] = writes;
  st.counters["bytes_per_elt"] = bytes_per_elt;
}

// Runs `pass` once untimed (thread pool, caches and branch predictors warm), then the timed loop.
// Library and oneDNN errors become a skipped benchmark with the message, never a silent zero.
template <class Pass>
void timed(benchmark::State& st, int threads, Pass&& pass) {
  omp_set_num_threads(threads); // oneDNN's OpenMP runtime takes its team size from here
  try {
    pass();
    for (auto _ : st) {
      pass();
      benchmark::ClobberMemory();
    }
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

std::string bench_name(Op op, const char* act, const char* variant, int threads) {
  return std::string(op_name(op)) + "/" + act + "/" + variant +
         "/threads:" + std::to_string(threads);
}

void add(const std::string& name, std::function<void(benchmark::State&)> fn) {
  benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State& st) { fn(st); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// Inputs of one activation: x (or a) from the signed or positive buffer.
struct Inputs {
  const float* x;
  const float* b;
  const float* g;
};

// Whether f is undefined somewhere in the signed inputs (NaN from a finite x): such an
// activation is timed on positive inputs instead. A forward that throws leaves the signed
// inputs, and the same error then marks each of the activation's benchmarks.
bool needs_positive_inputs(const Activation& act) {
  if (act.is_gated()) return false;
  const std::int64_t n = std::min(kDomainProbe, g_buf->n);
  float* y = g_buf->o[0].get();
  try {
    actgrad::forward(act, view(static_cast<const float*>(g_buf->xs.get()), n), view(y, n));
  } catch (const std::exception&) {
    return false;
  }
  return std::any_of(y, y + n, [](float v) { return std::isnan(v); });
}

// The library's one-pass kernel on the first n elements.
void run_actgrad(Op op, const Activation& act, const Inputs& in, std::int64_t n, int threads) {
  ExecOptions opt;
  opt.threads = threads;
  float *o0 = g_buf->o[0].get(), *o1 = g_buf->o[1].get(), *o2 = g_buf->o[2].get();
  if (op == Op::fused) {
    if (act.is_gated())
      actgrad::gated_forward_with_derivative(act, view(in.x, n), view(in.b, n), view(o0, n),
                                             view(o1, n), view(o2, n), opt);
    else
      actgrad::forward_with_derivative(act, view(in.x, n), view(o0, n), view(o1, n), opt);
  } else {
    if (act.is_gated())
      actgrad::gated_backward(act, view(in.x, n), view(in.b, n), view(in.g, n), view(o0, n),
                              view(o1, n), opt);
    else
      actgrad::backward(act, view(in.x, n), view(in.g, n), view(o0, n), opt);
  }
}

void register_actgrad(Op op, const Activation& act, const Inputs& in, int threads, std::int64_t n,
                      const char* variant) {
  const Streams s = streams(op, act.is_gated());
  add(bench_name(op, act.name(), variant, threads), [=](benchmark::State& st) {
    timed(st, threads, [&] { run_actgrad(op, act, in, n, threads); });
    set_counters(st, n, s.reads, s.writes);
  });
}

// (a) for one activation: the plain pass over the same input and output buffers.
void register_plain(Op op, const Activation& act, const Inputs& in, int threads, std::int64_t n,
                    bool streaming) {
  const Streams s = streams(op, act.is_gated());
  const PlainFn fn = plain_for(s.reads, s.writes, streaming);
  const float* ins[3] = {in.x, act.is_gated() ? in.b : in.g, in.g};
  add(bench_name(op, act.name(), streaming ? "plain_nt" : "plain", threads),
      [=](benchmark::State& st) {
        float* outs[3] = {g_buf->o[0].get(), g_buf->o[1].get(), g_buf->o[2].get()};
        timed(st, threads, [&] { fn(ins, outs, n, threads); });
        set_counters(st, n, s.reads, s.writes);
      });
}

// (b) for one activation. The two-pass form a library without a fused kernel runs:
//   fused, unary:   forward(x) -> y, then derivative_from_output(y) -> f' where f' is a function
//                   of y (the cheaper second pass: 1 read, 1 write), else backward(x, g = 1) -> f'.
//   fused, gated:   gated_forward(a, b) -> out, then gated_backward(a, b, g = 1) -> da, db.
//   backward:       the derivative pass (derivative_from_output(y) from a saved y where it
//                   exists, else forward_with_derivative), then a pass multiplying by g.
// Bytes count both passes' streams.
void register_unfused(Op op, const Activation& act, const Inputs& in, int threads, std::int64_t n) {
  const bool gated = act.is_gated();
  const bool from_y = !gated && act.has_derivative_from_output();
  add(bench_name(op, act.name(), "unfused", threads), [=](benchmark::State& st) {
    ExecOptions opt;
    opt.threads = threads;
    Buffers& b = *g_buf;
    float *o0 = b.o[0].get(), *o1 = b.o[1].get(), *o2 = b.o[2].get(), *ys = b.ysave.get();
    const float* ones = b.ones.get();
    int reads = 0, writes = 0;
    if (op == Op::fused && gated) {
      st.SetLabel("gated_forward + gated_backward(g=1)");
      reads = 2 + 3, writes = 1 + 2;
      timed(st, threads, [&] {
        actgrad::gated_forward(act, view(in.x, n), view(in.b, n), view(o0, n), opt);
        actgrad::gated_backward(act, view(in.x, n), view(in.b, n), view(ones, n), view(o1, n),
                                view(o2, n), opt);
      });
    } else if (op == Op::fused && from_y) {
      st.SetLabel("forward + derivative_from_output");
      reads = 1 + 1, writes = 1 + 1;
      timed(st, threads, [&] {
        actgrad::forward(act, view(in.x, n), view(o0, n), opt);
        actgrad::derivative_from_output(act, view(static_cast<const float*>(o0), n), view(o1, n),
                                        opt);
      });
    } else if (op == Op::fused) {
      st.SetLabel("forward + backward(g=1)");
      reads = 1 + 2, writes = 1 + 1;
      timed(st, threads, [&] {
        actgrad::forward(act, view(in.x, n), view(o0, n), opt);
        actgrad::backward(act, view(in.x, n), view(ones, n), view(o1, n), opt);
      });
    } else if (gated) {
      st.SetLabel("gated_forward_with_derivative + multiply");
      reads = 2 + 3, writes = 3 + 2;
      float* d[2] = {o1, o2};
      timed(st, threads, [&] {
        actgrad::gated_forward_with_derivative(act, view(in.x, n), view(in.b, n), view(o0, n),
                                               view(o1, n), view(o2, n), opt);
        multiply_pass<2>(in.g, d, n, threads);
      });
    } else if (from_y) {
      st.SetLabel("derivative_from_output + multiply");
      reads = 1 + 2, writes = 1 + 1;
      float* d[1] = {o0};
      try {
        actgrad::forward(act, view(in.x, n), view(ys, n), opt);
      } catch (const std::exception& e) {
        st.SkipWithError(e.what());
        return;
      }
      timed(st, threads, [&] {
        actgrad::derivative_from_output(act, view(static_cast<const float*>(ys), n), view(o0, n),
                                        opt);
        multiply_pass<1>(in.g, d, n, threads);
      });
    } else {
      st.SetLabel("forward_with_derivative + multiply");
      reads = 1 + 2, writes = 2 + 1;
      float* d[1] = {o1};
      timed(st, threads, [&] {
        actgrad::forward_with_derivative(act, view(in.x, n), view(o0, n), view(o1, n), opt);
        multiply_pass<1>(in.g, d, n, threads);
      });
    }
    set_counters(st, n, reads, writes);
  });
}

void register_memcpy(int threads, std::int64_t n) {
  add("memcpy/threads:" + std::to_string(threads), [=](benchmark::State& st) {
    timed(st, threads, [&] { memcpy_pass(g_buf->xs.get(), g_buf->o[0].get(), n, threads); });
    set_counters(st, n, 1, 1);
  });
}

// --- (c) oneDNN eltwise ------------------------------------------------------------------------

#if ACTGRAD_BENCH_ONEDNN
using dnnl::algorithm;

// quick_gelu(x) = x * sigmoid(1.702 x) (SPEC §2) is oneDNN's swish with alpha = 1.702.
constexpr double kQuickGeluScale = 1.702;

double zero(const Activation&) { return 0.0; }

// The oneDNN 2.6 eltwise algorithm computing the same function as a catalogue entry, keyed by
// catalogue name. This is a peer mapping, not a catalogue: rows whose name the catalogue lacks
// are skipped (and reported at startup), and entries without a row have no peer. oneDNN 2.6 has
// no hardsigmoid, and its soft_relu has no beta, so softplus maps only at its default beta = 1.
struct OnednnPeer {
  const char* name;
  algorithm alg;
  algorithm dst_alg; // the *_use_dst_for_bwd form, or undef where oneDNN has none
  double (*alpha)(const Activation&);
  double (*beta)(const Activation&);
};
const OnednnPeer kOnednnPeers[] = {
    {"identity", algorithm::eltwise_linear, algorithm::undef, [](const Activation&) { return 1.0; },
     zero},
    {"relu", algorithm::eltwise_relu, algorithm::eltwise_relu_use_dst_for_bwd, zero, zero},
    {"leaky_relu", algorithm::eltwise_relu, algorithm::eltwise_relu_use_dst_for_bwd,
     [](const Activation& a) { return a.param("negative_slope"); }, zero},
    {"relu6", algorithm::eltwise_clip_v2, algorithm::eltwise_clip_v2_use_dst_for_bwd, zero,
     [](const Activation&) { return 6.0; }},
    {"hardtanh", algorithm::eltwise_clip_v2, algorithm::eltwise_clip_v2_use_dst_for_bwd,
     [](const Activation& a) { return a.param("min_val"); },
     [](const Activation& a) { return a.param("max_val"); }},
    {"elu", algorithm::eltwise_elu, algorithm::eltwise_elu_use_dst_for_bwd,
     [](const Activation& a) { return a.param("alpha"); }, zero},
    {"softplus", algorithm::eltwise_soft_relu, algorithm::undef, zero, zero},
    {"gelu", algorithm::eltwise_gelu_erf, algorithm::undef, zero, zero},
    {"gelu_tanh", algorithm::eltwise_gelu_tanh, algorithm::undef, zero, zero},
    {"quick_gelu", algorithm::eltwise_swish, algorithm::undef,
     [](const Activation&) { return kQuickGeluScale; }, zero},
    {"silu", algorithm::eltwise_swish, algorithm::undef, [](const Activation&) { return 1.0; },
     zero},
    {"swish", algorithm::eltwise_swish, algorithm::undef,
     [](const Activation& a) { return a.param("beta"); }, zero},
    {"mish", algorithm::eltwise_mish, algorithm::undef, zero, zero},
    {"hardswish", algorithm::eltwise_hardswish, algorithm::undef, zero, zero},
    {"sigmoid", algorithm::eltwise_logistic, algorithm::eltwise_logistic_use_dst_for_bwd, zero,
     zero},
    {"logsigmoid", algorithm::eltwise_logsigmoid, algorithm::undef, zero, zero},
    {"tanh", algorithm::eltwise_tanh, algorithm::eltwise_tanh_use_dst_for_bwd, zero, zero},
    {"linear", algorithm::eltwise_linear, algorithm::undef,
     [](const Activation& a) { return a.param("alpha"); },
     [](const Activation& a) { return a.param("beta"); }},
    {"square", algorithm::eltwise_square, algorithm::undef, zero, zero},
    {"abs", algorithm::eltwise_abs, algorithm::undef, zero, zero},
    {"sqrt", algorithm::eltwise_sqrt, algorithm::eltwise_sqrt_use_dst_for_bwd, zero, zero},
    {"exp", algorithm::eltwise_exp, algorithm::eltwise_exp_use_dst_for_bwd, zero, zero},
    {"log", algorithm::eltwise_log, algorithm::undef, zero, zero},
    {"pow", algorithm::eltwise_pow, algorithm::undef,
     [](const Activation& a) { return a.param("alpha"); },
     [](const Activation& a) { return a.param("beta"); }},
};

const OnednnPeer* onednn_peer(const char* name) {
  for (const OnednnPeer& p : kOnednnPeers)
    if (std::strcmp(p.name, name) == 0) return &p;
  return nullptr;
}

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A peer is only a peer if it computes the same function, so the first kDomainProbe results of
// every oneDNN run are checked against the library's. The bound, 2^-10 relative (absolute below
// magnitude 1), passes oneDNN's vector approximations (a few f32 ulps) and fails a wrong
// algorithm, parameter or backward form, which differ by far more.
constexpr float kPeerTolerance = 1.0f / 1024.0f;

// "" when got matches want, else what differs and where.
std::string peer_mismatch(const char* what, const float* x, const float* want, const float* got,
                          std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (std::isnan(want[i]) && std::isnan(got[i])) continue;
    if (!(std::fabs(got[i] - want[i]) <= kPeerTolerance * std::max(1.0f, std::fabs(want[i]))))
      return std::string("oneDNN ") + what + " differs from actgrad at x=" + std::to_string(x[i]) +
             ": " + std::to_string(got[i]) + " vs " + std::to_string(want[i]);
  }
  return "";
}

// (c): fused = eltwise forward (x -> y) then eltwise backward with diff_dst = 1 (-> f');
// backward = eltwise backward with diff_dst = g. The backward reads x (src) or y (dst form).
void register_onednn(Op op, const Activation& act, const OnednnPeer& peer, bool use_dst,
                     const Inputs& in, int threads, std::int64_t n) {
  add(bench_name(op, act.name(), use_dst ? "onednn_dst" : "onednn_src", threads),
      [=](benchmark::State& st) {
        using dnnl::memory;
        omp_set_num_threads(threads);
        Buffers& b = *g_buf;
        auto* x = const_cast<float*>(in.x);
        try {
          const algorithm alg = use_dst ? peer.dst_alg : peer.alg;
          const auto alpha = static_cast<float>(peer.alpha(act));
          const auto beta = static_cast<float>(peer.beta(act));
          dnnl::engine& eng = onednn_engine();
          dnnl::stream strm(eng);
          const memory::desc md({n}, memory::data_type::f32, memory::format_tag::a);
          const dnnl::eltwise_forward::primitive_desc fwd_pd(
              dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, alpha, beta),
              eng);
          const dnnl::eltwise_backward::primitive_desc bwd_pd(
              dnnl::eltwise_backward::desc(alg, md, md, alpha, beta), eng, fwd_pd);
          const dnnl::eltwise_forward fwd(fwd_pd);
          const dnnl::eltwise_backward bwd(bwd_pd);
          const memory mx(md, eng, x);
          const int data_arg = use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC;
          st.SetLabel(std::string(use_dst ? "backward from y" : "backward from x") +
                      " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta));
          if (op == Op::fused) {
            const memory my(md, eng, b.o[0].get()), mones(md, eng, b.ones.get()),
                md1(md, eng, b.o[1].get());
            timed(st, threads, [&] {
              fwd.execute(strm, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, my}});
              bwd.execute(strm, {{data_arg, use_dst ? my : mx},
                                 {DNNL_ARG_DIFF_DST, mones},
                                 {DNNL_ARG_DIFF_SRC, md1}});
              strm.wait();
            });
            set_counters(st, n, 1 + 2, 1 + 1);
            const std::int64_t p = std::min(n, kDomainProbe);
            float *y = b.ysave.get(), *dy = b.o[2].get();
            actgrad::forward_with_derivative(act, view(in.x, p), view(y, p), view(dy, p));
            std::string bad = peer_mismatch("y", in.x, y, b.o[0].get(), p);
            if (bad.empty()) bad = peer_mismatch("dy/dx", in.x, dy, b.o[1].get(), p);
            if (!bad.empty() && !st.error_occurred()) st.SkipWithError(bad.c_str());
          } else {
            const memory mys(md, eng, b.ysave.get()), mg(md, eng, const_cast<float*>(in.g)),
                mo(md, eng, b.o[0].get());
            fwd.execute(strm, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, mys}});
            strm.wait();
            timed(st, threads, [&] {
              bwd.execute(strm, {{data_arg, use_dst ? mys : mx},
                                 {DNNL_ARG_DIFF_DST, mg},
                                 {DNNL_ARG_DIFF_SRC, mo}});
              strm.wait();
            });
            set_counters(st, n, 2, 1);
            const std::int64_t p = std::min(n, kDomainProbe);
            float* dx = b.o[1].get();
            actgrad::backward(act, view(in.x, p), view(in.g, p), view(dx, p));
            const std::string bad = peer_mismatch("grad_in", in.x, dx, b.o[0].get(), p);
            if (!bad.empty() && !st.error_occurred()) st.SkipWithError(bad.c_str());
          }
        } catch (const std::exception& e) {
          if (!st.error_occurred()) st.SkipWithError(e.what());
        }
      });
}
#endif

// --- registration and main ---------------------------------------------------------------------

void register_all(const Options& o) {
  for (int t : o.threads) register_memcpy(t, o.n);
  for (Op op : {Op::fused, Op::backward}) {
    for (actgrad::ActId id : actgrad::catalogue()) {
      const Activation act(id);
      const bool positive = needs_positive_inputs(act);
      const Inputs in{positive ? g_buf->xp.get() : g_buf->xs.get(), g_buf->b.get(), g_buf->g.get()};
#if ACTGRAD_BENCH_ONEDNN
      const OnednnPeer* peer = o.onednn ? onednn_peer(act.name()) : nullptr;
#endif
      for (int t : o.threads) {
        register_plain(op, act, in, t, o.n, false);
        register_plain(op, act, in, t, o.n, true);
        register_actgrad(op, act, in, t, o.n, "actgrad");
        register_unfused(op, act, in, t, o.n);
#if ACTGRAD_BENCH_ONEDNN
        if (peer) {
          register_onednn(op, act, *peer, false, in, t, o.n);
          if (peer->dst_alg != algorithm::undef) register_onednn(op, act, *peer, true, in, t, o.n);
        }
#endif
      }
      // One thread: the math cost per element per thread, free of thread start-up at this size.
      register_actgrad(op, act, in, 1, std::min(o.n, kCacheElts), "incache");
    }
  }
}

bool parse_int_list(const char* text, std::vector<int>& out) {
  out.clear();
  std::string s(text);
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const std::size_t comma = std::min(s.find(',', pos), s.size());
    const std::string item = s.substr(pos, comma - pos);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1) return false;
    out.push_back(static_cast<int>(v));
    pos = comma + 1;
  }
  return !out.empty();
}

// Takes this binary's flags out of argv; the rest (with the default min time first, so a
// --benchmark_min_time given later wins) goes to Google Benchmark.
bool parse_flags(int argc, char** argv, Options& o, std::vector<char*>& rest) {
  static std::string min_time = kDefaultMinTime;
  rest = {argv[0], min_time.data()};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--n=", 0) == 0) {
      char* end = nullptr;
      o.n = std::strtoll(a.c_str() + 4, &end, 10);
      if (*end != '\0' || o.n < 1) {
        std::fprintf(stderr, "bench_cpu: --n wants a positive element count, got '%s'\n",
                     a.c_str() + 4);
        return false;
      }
    } else if (a.rfind("--threads=", 0) == 0) {
      if (!parse_int_list(a.c_str() + 10, o.threads)) {
        std::fprintf(stderr, "bench_cpu: --threads wants a list of positive counts like 1,2\n");
        return false;
      }
    } else if (a == "--no-onednn") {
      o.onednn = false;
    } else {
      rest.push_back(argv[i]);
    }
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<char*> args;
  if (!parse_flags(argc, argv, o, args)) return 2;
  int bargc = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&bargc, args.data());
  if (benchmark::ReportUnrecognizedArguments(bargc, args.data())) return 2;

  Buffers buffers;
  make_buffers(buffers, o.n, *std::max_element(o.threads.begin(), o.threads.end()));
  g_buf = &buffers;

  benchmark::AddCustomContext("actgrad_n", std::to_string(o.n));
  benchmark::AddCustomContext("actgrad_dtype", "f32");
  benchmark::AddCustomContext("actgrad_cache_elts", std::to_string(std::min(o.n, kCacheElts)));
  benchmark::AddCustomContext("actgrad_catalogue_size", std::to_string(actgrad::catalogue_size()));
#if ACTGRAD_BENCH_ONEDNN
  if (o.onednn) {
    const dnnl_version_t* v = dnnl::version();
    benchmark::AddCustomContext("onednn", std::to_string(v->major) + "." +
                                              std::to_string(v->minor) + "." +
                                              std::to_string(v->patch));
    // A peer row naming no catalogue entry is a spelling drift between the two; say so.
    for (const OnednnPeer& p : kOnednnPeers) {
      bool found = false;
      for (actgrad::ActId id : actgrad::catalogue())
        found = found || std::strcmp(actgrad::catalogue_info(id).name, p.name) == 0;
      if (!found)
        std::fprintf(stderr, "bench_cpu: oneDNN peer '%s' has no catalogue entry; skipped\n",
                     p.name);
    }
  } else {
    benchmark::AddCustomContext("onednn", "disabled (--no-onednn)");
  }
#else
  benchmark::AddCustomContext("onednn", "not built (oneDNN not found at configure time)");
  std::fprintf(stderr, "bench_cpu: oneDNN peer (c) left out: oneDNN was not found when this "
                       "binary was configured (scripts/setup-deps installs libdnnl-dev)\n");
#endif
  register_all(o);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
