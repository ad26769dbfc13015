// Counter-based standard normal draws (Philox4x32-10 + Box-Muller), one source for CPU and GPU.
//
// Draw i of (seed, layer, stream) is lane i % 4 of the four normals of Philox block i / 4, so any
// element can be regenerated alone, in any order, on either device: the dense model regenerates
// its weights instead of storing them, and the CPU and GPU paths draw the same numbers.
#pragma once

#include <cmath>
#include <cstdint>

#include <Random123/philox.h>

#include "actgrad/config.hpp"

namespace actgrad {
namespace detail {

// What a draw is for; part of the Philox counter, so the streams never overlap.
enum class DenseStream : std::uint32_t { input = 0, weight = 1, bias = 2, readout = 3, probe = 4 };
constexpr std::uint32_t kDenseStreams = 8; // stream words per network

// Stream s of network k of a multi-network run: network 0 draws what a single run draws, and no
// two networks share a counter (k < 2^29).
ACTGRAD_HOST_DEVICE constexpr DenseStream network_stream(DenseStream s, std::uint32_t network) {
  return static_cast<DenseStream>(static_cast<std::uint32_t>(s) + kDenseStreams * network);
}

struct Normal4 {
  double v[4];
};

// The four standard normals of Philox block `block` of (layer, stream) under `seed`: the key is
// the 64-bit seed, the counter is (block low word, block high word, layer, stream). Each pair of
// 32-bit words gives u1 in (0, 1) and u2 in [0, 1), and Box-Muller turns them into two normals,
// in double on host and device alike (the host and CUDA libm differ by an ulp at most, far
// below the f32 storage rounding). The tails are cut at sqrt(-2 ln 2^-33) = 6.77 sigma.
ACTGRAD_HOST_DEVICE Normal4 philox_normal4(std::uint64_t seed, std::uint32_t layer,
                                           DenseStream stream, std::uint64_t block) {
  const r123::Philox4x32 gen;
  const r123::Philox4x32::ctr_type ctr = {{static_cast<std::uint32_t>(block),
                                           static_cast<std::uint32_t>(block >> 32), layer,
                                           static_cast<std::uint32_t>(stream)}};
  const r123::Philox4x32::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const r123::Philox4x32::ctr_type r = gen(ctr, key);
  constexpr double k2pm32 = 2.3283064365386962890625e-10; // 2^-32
  constexpr double two_pi = 6.283185307179586476925286766559;
  Normal4 out;
  for (int p = 0; p < 2; ++p) {
    const double u1 = (static_cast<double>(r[2 * p]) + 0.5) * k2pm32;
    const double u2 = static_cast<double>(r[2 * p + 1]) * k2pm32;
    const double radius = sqrt(-2.0 * log(u1));
    out.v[2 * p] = radius * cos(two_pi * u2);
    out.v[2 * p + 1] = radius * sin(two_pi * u2);
  }
  return out;
}

// Element i of (seed, layer, stream): one standard normal.
ACTGRAD_HOST_DEVICE double philox_normal(std::uint64_t seed, std::uint32_t layer,
                                         DenseStream stream, std::uint64_t i) {
  return philox_normal4(seed, layer, stream, i / 4).v[i % 4];
}

} // namespace detail
} // namespace actgrad
