// Fuzz target: the elementwise API (forward, forward_with_derivative, backward, the from-output
// and gated calls) with hostile views: sizes from 0 up (and negative or past the limit), every
// dtype, null pointers with n > 0, misaligned pointers, exact aliasing (in place), partial
// overlap, mixed devices and dtypes. Every call either succeeds or throws actgrad::Error; after an
// Error no byte has changed (no partial write), and after success no byte outside the outputs
// has changed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "actgrad/actgrad.hpp"

namespace {

using actgrad::ConstTensorView;
using actgrad::Device;
using actgrad::DType;
using actgrad::TensorView;

// All views point into one arena, so aliasing and overlap arise from offsets alone. Its exact
// size lets AddressSanitizer catch any access past it.
constexpr std::size_t kArenaBytes = 256;
constexpr std::int64_t kMaxViewElements = std::numeric_limits<std::int64_t>::max() / 8;
constexpr std::uint8_t kCanary = 0xA5;

// Reads the fuzz input a byte at a time; zeros once it is used up.
class Input {
public:
  Input(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  std::uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | byte();
    return v;
  }
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  const std::uint8_t* rest() const { return p_; }

private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

enum class Op {
  forward,
  fused,
  backward,
  from_output,
  backward_from_output,
  gated_forward,
  gated_fused,
  gated_backward,
  count
};
constexpr const char* kOpNames[] = {"forward",
                                    "forward_with_derivative",
                                    "backward",
                                    "derivative_from_output",
                                    "backward_from_output",
                                    "gated_forward",
                                    "gated_forward_with_derivative",
                                    "gated_backward"};
constexpr int kInputs[] = {1, 1, 2, 1, 2, 2, 2, 3};
constexpr int kOutputs[] = {1, 2, 1, 1, 1, 1, 3, 2};

struct Views {
  std::vector<ConstTensorView> in;
  std::vector<TensorView> out;
};

std::string describe(Op op, const actgrad::Activation& act, const Views& v,
                     const std::uint8_t* arena) {
  std::string s = std::string(kOpNames[static_cast<int>(op)]) + "(" + act.to_string();
  auto one = [&](const char* io, const void* data, std::int64_t n, DType t, Device d) {
    char buf[160];
    const long long off =
        data ? static_cast<long long>(static_cast<const std::uint8_t*>(data) - arena) : -1;
    std::snprintf(buf, sizeof buf, ", %s{offset %lld, n %lld, %s, %s}", io, off,
                  static_cast<long long>(n), actgrad::dtype_name(t), d.describe().c_str());
    s += buf;
  };
  for (const ConstTensorView& x : v.in) one("in", x.data, x.n, x.dtype, x.device);
  for (const TensorView& x : v.out) one("out", x.data, x.n, x.dtype, x.device);
  return s + ")";
}

void call(Op op, const actgrad::Activation& act, const Views& v, const actgrad::ExecOptions& o) {
  const auto& i = v.in;
  const auto& w = v.out;
  switch (op) {
  case Op::forward:
    return actgrad::forward(act, i[0], w[0], o);
  case Op::fused:
    return actgrad::forward_with_derivative(act, i[0], w[0], w[1], o);
  case Op::backward:
    return actgrad::backward(act, i[0], i[1], w[0], o);
  case Op::from_output:
    return actgrad::derivative_from_output(act, i[0], w[0], o);
  case Op::backward_from_output:
    return actgrad::backward_from_output(act, i[0], i[1], w[0], o);
  case Op::gated_forward:
    return actgrad::gated_forward(act, i[0], i[1], w[0], o);
  case Op::gated_fused:
    return actgrad::gated_forward_with_derivative(act, i[0], i[1], w[0], w[1], w[2], o);
  case Op::gated_backward:
    return actgrad::gated_backward(act, i[0], i[1], i[2], w[0], w[1], o);
  case Op::count:
    break;
  }
}

// The activation: a catalogue entry, with some parameters replaced by fuzzed doubles when the
// input asks (parameters the catalogue refuses leave the defaults).
actgrad::Activation pick_activation(Input& in) {
  const std::vector<actgrad::ActId>& ids = actgrad::catalogue();
  const actgrad::ActId id = ids[in.byte() % ids.size()];
  actgrad::Activation act(id);
  const std::uint8_t mask = in.byte();
  if (mask == 0) return act;
  actgrad::Params p = act.params();
  for (int k = 0; k < act.info().num_params; ++k)
    if (mask & (1u << k)) {
      const std::uint64_t b = in.u64();
      std::memcpy(&p.v[k], &b, sizeof b);
    }
  try {
    return actgrad::Activation(id, p);
  } catch (const actgrad::Error&) {
    return act;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const Op op = static_cast<Op>(in.byte() % static_cast<int>(Op::count));
  const actgrad::Activation act = pick_activation(in);
  actgrad::ExecOptions opt;
  opt.threads = in.byte() % 3;

  const std::unique_ptr<std::uint8_t[]> arena(new std::uint8_t[kArenaBytes]);
  std::uint8_t* const base = arena.get();

  // One element count shared by the views unless a view overrides it, so the common case
  // (everything consistent) is reached often.
  const std::uint8_t n_mode = in.byte();
  std::int64_t common = n_mode % 64;
  if (n_mode >= 248) {
    const std::int64_t odd[] = {-1, std::numeric_limits<std::int64_t>::min(), kMaxViewElements + 1,
                                std::numeric_limits<std::int64_t>::max()};
    common = odd[n_mode % 4];
  }
  const DType common_dtype = static_cast<DType>(in.byte() % 4);

  struct Spec {
    std::uint8_t* data;
    std::int64_t n;
    DType dtype;
    Device device;
    bool own_n;
  };
  const int nin = kInputs[static_cast<int>(op)], nout = kOutputs[static_cast<int>(op)];
  std::vector<Spec> specs;
  for (int k = 0; k < nin + nout; ++k) {
    const std::uint8_t flags = in.byte();
    const std::uint8_t offset = in.byte();
    Spec s{};
    // flags: bit 0-1 pointer (null, aligned offset, any byte offset), bit 2 own dtype, bit 3 own
    // count, bit 4-5 device (cpu, other cpu index, cuda:0, cuda:1; mostly cpu).
    const int ptr_mode = flags & 3;
    s.dtype = (flags & 4) ? static_cast<DType>(in.byte() % 4) : common_dtype;
    const std::size_t es = static_cast<std::size_t>(actgrad::dtype_size(s.dtype));
    const std::size_t off = offset % kArenaBytes;
    s.data = ptr_mode == 0 ? nullptr : base + (ptr_mode == 1 ? off - off % es : off);
    s.own_n = (flags & 8) != 0;
    s.n = s.own_n ? static_cast<std::int64_t>(in.byte() % 64) : common;
    const int dev = (flags >> 4) & 3;
    s.device = (flags & 0xC0) != 0xC0 ? Device::cpu()
               : dev == 0             ? Device::cpu()
               : dev == 1             ? Device{actgrad::DeviceKind::cpu, 1}
                                      : Device::cuda(dev - 2);
    specs.push_back(s);
  }
  // Every view that could be used for real must lie inside the arena: clamp the counts of views
  // with data to what fits after their pointer. The shared count is clamped for all sharing it,
  // so views that agree still agree. Counts that must be refused anyway (negative, past the
  // view limit) stay as they are: the library may not touch memory for them.
  auto fits = [&](const Spec& s) {
    return s.data ? static_cast<std::int64_t>((base + kArenaBytes - s.data) /
                                              actgrad::dtype_size(s.dtype))
                  : std::numeric_limits<std::int64_t>::max();
  };
  const bool refused_count = common < 0 || common > kMaxViewElements;
  if (!refused_count)
    for (const Spec& s : specs)
      if (!s.own_n) common = std::min(common, fits(s));
  for (Spec& s : specs) {
    if (!s.own_n)
      s.n = common;
    else
      s.n = std::min(s.n, fits(s));
  }
  // CUDA views of host memory would be handed to a GPU: only mixed-device calls (which must be
  // refused) are tried where CUDA is usable.
  const bool all_cuda = std::all_of(specs.begin(), specs.end(), [](const Spec& s) {
    return s.device.kind == actgrad::DeviceKind::cuda;
  });
  if (all_cuda && Device::cuda_available()) return 0;

  Views views;
  for (int k = 0; k < nin + nout; ++k) {
    const Spec& s = specs[static_cast<std::size_t>(k)];
    if (k < nin)
      views.in.push_back({s.data, s.n, s.dtype, s.device});
    else
      views.out.push_back({s.data, s.n, s.dtype, s.device});
  }

  // Arena contents: the rest of the input (input values, repeated), or the canary pattern.
  for (std::size_t i = 0; i < kArenaBytes; ++i)
    base[i] = in.left() ? in.rest()[i % in.left()] : kCanary;
  const std::vector<std::uint8_t> before(base, base + kArenaBytes);

  bool ok = false;
  try {
    call(op, act, views, opt);
    ok = true;
  } catch (const actgrad::Error& e) {
    if (std::string(e.what()).empty()) {
      std::fprintf(stderr, "fuzz_api_views: actgrad::Error with an empty message: %s\n",
                   describe(op, act, views, base).c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_api_views: %s threw something other than actgrad::Error: %s\n",
                 describe(op, act, views, base).c_str(), e.what());
    std::abort();
  }

  // Bytes the call may have written: those of its outputs, and only when it succeeded.
  std::vector<bool> writable(kArenaBytes, false);
  if (ok)
    for (const TensorView& o : views.out) {
      if (o.n <= 0 || !o.data) continue;
      const std::size_t start = static_cast<std::size_t>(static_cast<std::uint8_t*>(o.data) - base);
      const std::size_t bytes =
          static_cast<std::size_t>(o.n) * static_cast<std::size_t>(actgrad::dtype_size(o.dtype));
      for (std::size_t i = start; i < start + bytes; ++i) writable[i] = true;
    }
  for (std::size_t i = 0; i < kArenaBytes; ++i)
    if (!writable[i] && base[i] != before[i]) {
      std::fprintf(stderr, "fuzz_api_views: %s %s byte %zu of the arena\n",
                   describe(op, act, views, base).c_str(),
                   ok ? "succeeded but wrote outside its outputs, at" : "failed but changed", i);
      std::abort();
    }
  return 0;
}
