// Test helper shared by the chain and dense decay-model tests (CPU and GPU): run configurations
// and the skip of GPU tests when no CUDA device is usable.
#pragma once

#include <cstdint>

#include <gtest/gtest.h>

#include "actgrad/decay.hpp"

// Skips the current test, with the reason, when no CUDA device is usable.
#define ACTGRAD_SKIP_WITHOUT_GPU()                                                                 \
  if (!actgrad::Device::cuda_available())                                                          \
  GTEST_SKIP() << "no usable CUDA device: " << actgrad::Device::automatic_reason()

namespace actgrad_test {

// A run of `model` on `device` with the fields the tests vary; width keeps DecayConfig's default.
inline actgrad::DecayConfig decay_config(actgrad::DecayModel model, const char* act,
                                         std::int64_t depth, std::int64_t batch, double sigma_w2,
                                         double sigma_b2, actgrad::DType dtype, std::uint64_t seed,
                                         actgrad::Device device) {
  actgrad::DecayConfig c;
  c.act = actgrad::Activation::parse(act);
  c.model = model;
  c.depth = depth;
  c.batch = batch;
  c.sigma_w2 = sigma_w2;
  c.sigma_b2 = sigma_b2;
  c.dtype = dtype;
  c.seed = seed;
  c.device = device;
  return c;
}

} // namespace actgrad_test
