// float_blocks_report: max ulp error of actgrad's float exp/expm1/log/log1p (float_math.hpp)
// against double libm over every STRIDE-th float bit pattern (STRIDE = 1: all 2^32), with
// OpenMP threads. Not a test and not in the CMake build yet: built and run by hand
// (docs/design.md, "Compute precision"):
//
//   g++ -O2 -std=c++17 -fopenmp -Iinclude tests/float_blocks_report.cpp -o float_blocks_report
//   ./float_blocks_report [STRIDE]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "actgrad/float_math.hpp"

namespace {

// |got - ref| in units of the float ulp at ref; subnormal results are skipped for exp (their
// grid is coarser; checked separately by the accuracy tests).
double ulp_error(float got, double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0 : 1e9;
  const float rf = static_cast<float>(ref);
  if (std::isinf(rf)) return got == rf ? 0 : 1e9;
  int e;
  std::frexp(std::fabs(ref), &e);
  const int ulp_exp = e - 24 < -149 ? -149 : e - 24;
  return std::fabs(double(got) - ref) / std::ldexp(1.0, ulp_exp);
}

} // namespace

int main(int argc, char** argv) {
  const std::int64_t stride = argc > 1 ? std::atoll(argv[1]) : 1;
  if (stride < 1) {
    std::fprintf(stderr, "usage: float_blocks_report [STRIDE >= 1]\n");
    return 2;
  }
  const char* names[] = {"exp", "expm1", "log", "log1p"};
  for (int which = 0; which < 4; ++which) {
    double worst = 0;
    std::uint32_t worst_bits = 0;
#pragma omp parallel
    {
      double w = 0;
      std::uint32_t wb = 0;
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < (std::int64_t(1) << 32); i += stride) {
        const std::uint32_t u = std::uint32_t(i);
        float x;
        std::memcpy(&x, &u, sizeof x);
        float got;
        double ref;
        switch (which) {
        case 0:
          got = actgrad::math::fl::exp(x);
          ref = std::exp(double(x));
          if (std::fabs(ref) < 0x1p-126) ref = got; // subnormal result
          break;
        case 1:
          got = actgrad::math::fl::expm1(x);
          ref = std::expm1(double(x));
          break;
        case 2:
          got = actgrad::math::fl::log(x);
          ref = std::log(double(x));
          break;
        default:
          got = actgrad::math::fl::log1p(x);
          ref = std::log1p(double(x));
          break;
        }
        const double err = ulp_error(got, ref);
        if (err > w) {
          w = err;
          wb = u;
        }
      }
#pragma omp critical
      if (w > worst) {
        worst = w;
        worst_bits = wb;
      }
    }
    float x;
    std::memcpy(&x, &worst_bits, sizeof x);
    std::printf("%-6s max %.4f ulp at x = %a (every %lld-th input)\n", names[which], worst, x,
                static_cast<long long>(stride));
  }
  return 0;
}
