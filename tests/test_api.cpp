// Host API tests: parsing, validation errors, sizes, misalignment, in place and buffers.
#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"

TEST(Api, Placeholder) { EXPECT_EQ(actgrad::Activation::parse("relu").id(), actgrad::ActId::Relu); }
