// XLA FFI handlers for actgrad.jax (declaration): adds `ffi_targets` to the module.
#pragma once

#include <nanobind/nanobind.h>

// Sets m.ffi_targets to {op: {"cpu": capsule, "cuda": capsule}} for every array call that
// actgrad.jax uses, or to {} when the module was built without jaxlib's FFI headers.
void register_xla_ffi(nanobind::module_& m);
