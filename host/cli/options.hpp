// Option values shared by several subcommands: --device and --dtype.
#pragma once

#include <string>

#include "actgrad/dtype.hpp"
#include "actgrad/tensor.hpp"

namespace actgrad::cli {

// --device auto|cpu|cuda (already checked by one_of). cuda without a usable GPU is a UsageError
// saying why; auto says on stderr what it chose when verbose, prefixed with `command`.
Device resolve_device(const std::string& device, bool verbose, const std::string& command);

// --dtype f32|f64|f16|bf16 (already checked by one_of).
DType parse_dtype(const std::string& dtype);

} // namespace actgrad::cli
