// Fuzz target: actgrad::Activation::parse on any text. Every spec that parses round-trips,
// parse(a.to_string()) == a (same id, bit-identical parameters), and every failure is an
// actgrad::Error with a message; nothing else may be thrown.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "actgrad/activation.hpp"
#include "actgrad/error.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_activation_parse: %s\n  input: '%.*s'\n  %s\n", what,
               static_cast<int>(input.size()), input.data(), detail.c_str());
  std::abort();
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::string describe(const actgrad::Activation& a) {
  std::string s = a.to_string() + " [";
  for (int k = 0; k < actgrad::kMaxParams; ++k) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s%a", k ? ", " : "", a.params().v[k]);
    s += buf;
  }
  return s + "]";
}

// Parses `text`; an actgrad::Error gives nullopt, any other exception fails the run.
std::optional<actgrad::Activation> parse(std::string_view text, std::string_view input) {
  try {
    return actgrad::Activation::parse(text);
  } catch (const actgrad::Error& e) {
    if (std::string_view(e.what()).empty()) fail("actgrad::Error with an empty message", input, "");
    return std::nullopt;
  } catch (const std::exception& e) {
    fail("parse threw something other than actgrad::Error", input, e.what());
  } catch (...) {
    fail("parse threw a non-standard exception", input, "");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::optional<actgrad::Activation> act = parse(input, input);
  if (!act) return 0;

  // The canonical text parses back to the same activation, bit for bit.
  const std::string text = act->to_string();
  const std::optional<actgrad::Activation> back = parse(text, input);
  if (!back) fail("to_string() does not parse back", input, text);
  if (back->id() != act->id()) fail("round trip changed the activation", input, text);
  for (int k = 0; k < actgrad::kMaxParams; ++k)
    if (!same_bits(back->params().v[k], act->params().v[k]))
      fail("round trip changed a parameter", input, describe(*act) + " -> " + describe(*back));
  // The canonical text is a fixed point, and the constructor accepts what parse accepted.
  if (back->to_string() != text)
    fail("to_string() is not canonical", input, text + " -> " + back->to_string());
  try {
    const actgrad::Activation built(act->id(), act->params());
    (void)built.has_derivative_from_output();
  } catch (const std::exception& e) {
    fail("Activation(id, params) rejects parameters that parse accepted", input, e.what());
  }
  return 0;
}
