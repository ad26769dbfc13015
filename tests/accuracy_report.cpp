// accuracy_report: measures max ulp error of f and f' for every catalogue activation x dtype
// against the MPFR reference (the samples and bounds of test_accuracy) and prints
// docs/accuracy.md.
//
//   accuracy_report [--date YYYY-MM-DD] [--quick] [--only NAME] > docs/accuracy.md
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <mpfr.h>

#include "actgrad/activation.hpp"
#include "actgrad/api.hpp"
#include "reference.hpp"

namespace {

using namespace actgrad;

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown CPU";
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::localtime(&now));
  return buf;
}

std::string ulps(double v) {
  if (v > 1e15) return std::isinf(v) ? "inf" : "huge";
  std::ostringstream os;
  os << v;
  return os.str();
}

const DType kDtypes[] = {DType::f16, DType::bf16, DType::f32, DType::f64};

// One table row.
std::string row(const Activation& act, const ref::Measurement& m, bool* miss) {
  const int f_slots[] = {int(ref::Out::f), int(ref::Out::fwd)};
  double f_max = 0;
  for (int s : f_slots) f_max = std::max(f_max, m.out[s].max_ulp);
  std::string df = ulps(m.out[int(ref::Out::df)].max_ulp);
  if (m.gated) df = "da " + df + ", db " + ulps(m.out[int(ref::Out::db)].max_ulp);

  // Worst point over all outputs, in units of each output's bound.
  double worst = -1;
  int worst_slot = 0;
  for (int s = 0; s < 4; ++s) {
    if (s == int(ref::Out::db) && !m.gated) continue;
    const double rel = m.out[s].max_ulp / std::max(1.0, ref::bound_for(act, m.dtype, s).max_ulp);
    if (rel > worst) {
      worst = rel;
      worst_slot = s;
    }
  }
  const ref::OutStats& w = m.out[worst_slot];
  std::string input = "x = " + ref::hex(w.worst_x);
  if (m.gated) input = "a = " + ref::hex(w.worst_x) + ", b = " + ref::hex(w.worst_b);
  input += " (" + std::string(ref::out_name(m.gated, worst_slot)) + ")";
  if (worst <= 0) input = "- (all correctly rounded)";

  const ref::Bound bf = ref::bound_for(act, m.dtype, int(ref::Out::f));
  const ref::Bound bd = ref::bound_for(act, m.dtype, int(ref::Out::df));
  std::ostringstream bound;
  bound << "f " << bf.max_ulp << ", f' " << bd.max_ulp;
  std::string notes;
  for (int s = 0; s < 4; ++s) {
    if (s == int(ref::Out::db) && !m.gated) continue;
    const ref::Bound b = ref::bound_for(act, m.dtype, s);
    const ref::OutStats& st = m.out[s];
    if (b.magnitude && s != int(ref::Out::fwd)) {
      std::ostringstream os;
      os << ref::out_name(m.gated, s) << ": abs rule at " << st.abs_points << " points, max "
         << ulps(st.max_abs_units) << " ulp(M)";
      notes += (notes.empty() ? "" : "; ") + os.str();
      bound << "; abs " << b.abs_k << " ulp(M) on " << ref::out_name(m.gated, s);
    }
    if (st.failures) {
      *miss = true;
      std::ostringstream os;
      os << "**MISS** " << ref::out_name(m.gated, s) << ": " << st.failures << " of " << m.points
         << " over the bound";
      notes += (notes.empty() ? "" : "; ") + os.str();
    }
  }
  std::ostringstream os;
  os << "| " << act.to_string() << " | " << dtype_name(m.dtype) << " | " << ulps(f_max) << " | "
     << df << " | " << input << " | " << bound.str() << " | " << notes << " |";
  return os.str();
}

} // namespace

int main(int argc, char** argv) {
  std::string date = today(), only;
  bool quick = ref::quick_mode();
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--date") && i + 1 < argc)
      date = argv[++i];
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      std::fprintf(stderr, "usage: accuracy_report [--date YYYY-MM-DD] [--quick] [--only NAME]\n");
      return 2;
    }
  }
  std::vector<std::string> specs;
  for (ActId id : catalogue()) {
    const std::string name = catalogue_info(id).name;
    if (!only.empty() && name != only) continue;
    specs.push_back(name);
    for (const std::string& v : ref::reference_variants(name)) specs.push_back(name + ":" + v);
  }

  std::printf("# Accuracy\n\n");
  std::printf("Measured %s on %s (g++ %s, Release, CPU path, %s build of the CPU loops), MPFR "
              "%s. Regenerate with\n"
              "`build/tests/accuracy_report --date YYYY-MM-DD > docs/accuracy.md` (set "
              "`ACTGRAD_CPU_ISA=avx2` or `baseline` to measure another build). f32 over every "
              "input against the f64 path: docs/accuracy-exhaustive.md.\n\n",
              date.c_str(), cpu_model().c_str(), __VERSION__, cpu_isa(), mpfr_get_version());
  std::printf(
      "**How.** Each activation runs through the public API on the CPU (`forward_with_derivative` "
      "and `forward`; gated units `gated_forward_with_derivative` and `gated_forward`) and each "
      "output is compared with an independent MPFR reference (`tests/reference.cpp`, 160 bits or "
      "more, Ziv-checked) rounded once to nearest-even into the dtype. An error of *n ulp* means "
      "the result is *n* representable values away from that correctly rounded value (0 = "
      "correctly rounded; ±0 count as equal).\n\n"
      "**Inputs.** f16 and bf16: all 65 536 bit patterns%s. f32: every f16 and bf16 value, %s "
      "random significands for each exponent and sign (subnormals included), uniform points in "
      "[-16, 16] and [-128, 128], each kink and its 16 neighbours, and the special classes (±0, "
      "subnormals, ±1e30, ±FLT_MAX, ±inf, NaN): about 2^18 points. f64: random significands for "
      "each of the 2047 exponents and both signs, the same uniform points, kinks and specials "
      "(about 2^18). Gated units pair each a with a b drawn from values exact in every dtype.\n\n"
      "**Bounds** (SPEC §3): f32 and f64 value ≤ 2 ulp, derivative ≤ 4 ulp; f16 and bf16 ≤ 1 "
      "ulp. Near a zero of f' inside the domain, where the formula's terms of size M cancel, an "
      "absolute rule applies instead: abs(error) ≤ k ulp(M) where abs(exact) ≤ M/2 (the \"abs "
      "rule\" "
      "notes; the one tolerance table is in `tests/reference.cpp`). The max ulp columns exclude "
      "points the abs rule accepted. Parameter variants after a name (e.g. `pow:beta=0.5`) are "
      "run besides the defaults.\n\n",
      quick ? " (every 7th, quick mode)" : "", quick ? "16" : "160");
  std::printf(
      "| activation | dtype | max ulp f | max ulp f' | worst input | bound used | notes |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::vector<std::string> misses;
  for (const std::string& spec : specs) {
    const Activation act = Activation::parse(spec);
    for (DType t : kDtypes) {
      bool miss = false;
      try {
        const ref::Measurement m = ref::measure(act, t, quick);
        std::printf("%s\n", row(act, m, &miss).c_str());
      } catch (const std::exception& e) {
        miss = true;
        std::printf("| %s | %s | - | - | - | - | **no measurement**: %s |\n", spec.c_str(),
                    dtype_name(t), e.what());
      }
      std::fflush(stdout);
      if (miss) misses.push_back(spec + " " + dtype_name(t));
    }
  }
  std::printf("\n## Tolerance table\n\nRows that differ from the SPEC §3 defaults "
              "(`kTolerance` in `tests/reference.cpp`):\n\n");
  std::printf("| activation | output | dtypes | rule | reason |\n|---|---|---|---|---|\n");
  for (const ref::ToleranceInfo& r : ref::tolerance_table())
    std::printf("| %s | %s | %s | %s | %s |\n", r.name.c_str(), r.output.c_str(), r.dtypes.c_str(),
                r.rule.c_str(), r.reason.c_str());
  std::printf("\n## Misses\n\n");
  if (misses.empty()) std::printf("None: every activation meets its bound in every dtype.\n");
  for (const std::string& m : misses) std::printf("- %s\n", m.c_str());
  return 0;
}
