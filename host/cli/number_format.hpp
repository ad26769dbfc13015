// Number text for the CLI: correctly rounded parsing into each dtype, and shortest printing that
// reads back to the same value in that dtype.
//
// Reading: the whole (already trimmed) text must be what C strtod accepts: decimal, hex-float
// (0x1.8p+3), inf/infinity, nan, each with an optional sign, case-insensitive. The value is
// rounded once, to nearest even, from the exact value of the text into the dtype (so a long
// decimal next to a half-way point of f16 is not double rounded through float).
//
// Printing: `nan`, `inf`, `-inf` for specials, `-0` for negative zero, otherwise the fewest
// significant digits that read back to the same bits both through a correctly rounded reader and
// through "strtof, then round to nearest even into f16/bf16" (SPEC §5's round-trip rule); among
// those, the decimal nearest the value. The digits are laid out in fixed notation (integers
// padded with zeros, e.g. 100) or scientific (1e+30), whichever is shorter, fixed on a tie.
#pragma once

#include <string>
#include <string_view>

#include "actgrad/dtype.hpp"

namespace actgrad::cli {

// Parses all of `text` as a double (round to nearest even). False if empty or not fully consumed.
bool parse_double(std::string_view text, double& out);

// Parses all of `text`, rounded correctly into the storage type. False if malformed.
bool parse_value(std::string_view text, float& out);
bool parse_value(std::string_view text, double& out);
bool parse_value(std::string_view text, half_t& out);
bool parse_value(std::string_view text, bfloat16_t& out);

// Rounds a double into the storage type with a single round-to-nearest-even step.
template <class S>
S round_from_double(double v);

// Appends the shortest round-trip text of v (see above) to out.
void append_number(std::string& out, float v);
void append_number(std::string& out, double v);
void append_number(std::string& out, half_t v);
void append_number(std::string& out, bfloat16_t v);

// Shortest round-trip text of a double, for metadata (parameters, traits): `inf`, `-inf`, `nan`.
std::string format_double(double v);

} // namespace actgrad::cli
