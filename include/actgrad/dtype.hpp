// Element types: the DType tag, the 16-bit storage types and their round-to-nearest-even
// conversions.
#pragma once

#include <cstdint>
#include <cstring>

#include "actgrad/config.hpp"

#if defined(__CUDACC__)
#include <cuda_bf16.h> // the hardware conversions below, in device code only
#include <cuda_fp16.h>
#endif

namespace actgrad {

enum class DType : int { f32, f64, f16, bf16 };

constexpr int dtype_size(DType t) { return t == DType::f64 ? 8 : t == DType::f32 ? 4 : 2; }
constexpr const char* dtype_name(DType t) {
  return t == DType::f32 ? "f32" : t == DType::f64 ? "f64" : t == DType::f16 ? "f16" : "bf16";
}

namespace detail {
ACTGRAD_HOST_DEVICE std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
ACTGRAD_HOST_DEVICE float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
} // namespace detail

// IEEE binary16 storage. Arithmetic is done in float (SPEC §3); only conversions live here.
struct alignas(2) half_t {
  std::uint16_t bits;
};
// bfloat16 storage: the top 16 bits of a binary32.
struct alignas(2) bfloat16_t {
  std::uint16_t bits;
};

// binary16 -> binary32, exact (every half is a float).
// Device code uses the hardware conversion (one instruction, the same exact result).
ACTGRAD_HOST_DEVICE float to_float(half_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h.bits));
#endif
  const std::uint32_t sign = std::uint32_t(h.bits & 0x8000u) << 16;
  const std::uint32_t exp = (h.bits >> 10) & 0x1fu;
  std::uint32_t mant = h.bits & 0x3ffu;
  if (exp == 0x1fu) return detail::bits_float(sign | 0x7f800000u | (mant << 13)); // inf / nan
  if (exp != 0) return detail::bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  // zero or subnormal: value = mant * 2^-24, exact in float.
  const float mag = float(mant) * 5.9604644775390625e-8f; // 2^-24
  return detail::bits_float(sign | detail::float_bits(mag));
}

// binary32 -> binary16, round to nearest even, overflow to inf, NaN stays NaN (quiet).
// Device code uses the hardware conversion (cvt.rn.f16.f32: the same rounding; a NaN may keep
// another payload, still a quiet NaN).
ACTGRAD_HOST_DEVICE half_t to_half(float f) {
#if defined(__CUDA_ARCH__)
  return half_t{__half_as_ushort(__float2half_rn(f))};
#endif
  const std::uint32_t u = detail::float_bits(f);
  const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return half_t{std::uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu))};
  if (a >= 0x477ff000u) return half_t{std::uint16_t(sign | 0x7c00u)}; // rounds to >= 65520: inf
  if (a < 0x38800000u) {
    // Result is subnormal or zero: scale by 2^24 in float, where rounding to an integer is
    // exactly the half rounding (the 0.5 bias trick would double-round, so use rint semantics).
    const float mag = detail::bits_float(a) * 16777216.0f; // exact: a * 2^24 < 2^10
    // Round half to even via the 2^23 magic constant (mag < 1024, so this is exact arithmetic).
    const float r = (mag + 8388608.0f) - 8388608.0f;
    return half_t{std::uint16_t(sign | std::uint16_t(r))};
  }
  // Normal: rebias exponent, round mantissa from 23 to 10 bits, nearest even.
  const std::uint32_t lsb = (a >> 13) & 1u;
  const std::uint32_t rounded = a + 0xfffu + lsb;
  return half_t{std::uint16_t(sign | ((rounded - 0x38000000u) >> 13))};
}

ACTGRAD_HOST_DEVICE float to_float(bfloat16_t b) {
  return detail::bits_float(std::uint32_t(b.bits) << 16);
}

// binary32 -> bfloat16, round to nearest even, NaN stays NaN (quiet). Device code uses the
// hardware conversion.
ACTGRAD_HOST_DEVICE bfloat16_t to_bfloat16(float f) {
#if defined(__CUDA_ARCH__)
  return bfloat16_t{__bfloat16_as_ushort(__float2bfloat16_rn(f))}; // cvt.rn.bf16.f32
#endif
  const std::uint32_t u = detail::float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bfloat16_t{std::uint16_t((u >> 16) | 0x40u)};
  const std::uint32_t lsb = (u >> 16) & 1u;
  return bfloat16_t{std::uint16_t((u + 0x7fffu + lsb) >> 16)};
}

// Storage <-> compute conversions used by every loop: 16-bit types compute in float.
template <class S>
struct Storage;
template <>
struct Storage<float> {
  using compute = float;
  static constexpr DType dtype = DType::f32;
  ACTGRAD_HOST_DEVICE static float load(float v) { return v; }
  ACTGRAD_HOST_DEVICE static float store(float v) { return v; }
};
template <>
struct Storage<double> {
  using compute = double;
  static constexpr DType dtype = DType::f64;
  ACTGRAD_HOST_DEVICE static double load(double v) { return v; }
  ACTGRAD_HOST_DEVICE static double store(double v) { return v; }
};
template <>
struct Storage<half_t> {
  using compute = float;
  static constexpr DType dtype = DType::f16;
  ACTGRAD_HOST_DEVICE static float load(half_t v) { return to_float(v); }
  ACTGRAD_HOST_DEVICE static half_t store(float v) { return to_half(v); }
};
template <>
struct Storage<bfloat16_t> {
  using compute = float;
  static constexpr DType dtype = DType::bf16;
  ACTGRAD_HOST_DEVICE static float load(bfloat16_t v) { return to_float(v); }
  ACTGRAD_HOST_DEVICE static bfloat16_t store(float v) { return to_bfloat16(v); }
};

} // namespace actgrad
