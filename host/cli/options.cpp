// Option values shared by several subcommands (options.hpp).
#include "options.hpp"

#include <iostream>

#include "command.hpp"

namespace actgrad::cli {

Device resolve_device(const std::string& device, bool verbose, const std::string& command) {
  if (device == "cpu") return Device::cpu();
  if (device == "cuda") {
    if (!Device::cuda_available()) {
      // automatic_reason() explains the probe, e.g. "... no usable CUDA device: built without
      // CUDA".
      const std::string reason = Device::automatic_reason();
      const std::size_t cause = reason.find("no usable CUDA device");
      throw UsageError(
          "--device cuda: " + (cause == std::string::npos ? reason : reason.substr(cause)) +
          "; use --device cpu or --device auto");
    }
    return Device::cuda(0);
  }
  if (verbose) std::cerr << command << ": --device auto: " << Device::automatic_reason() << '\n';
  return Device::automatic();
}

DType parse_dtype(const std::string& dtype) {
  return dtype == "f64"    ? DType::f64
         : dtype == "f16"  ? DType::f16
         : dtype == "bf16" ? DType::bf16
                           : DType::f32;
}

} // namespace actgrad::cli
