// actgrad::Error, the one exception type the library throws for bad arguments and failures.
#pragma once

#include <stdexcept>
#include <string>

namespace actgrad {

// Thrown for every bad argument (the message names the argument and what is allowed) and for
// runtime failures (CUDA errors, allocation). Library code never prints or exits.
class Error : public std::runtime_error {
public:
  enum class Kind { invalid_argument, unavailable, runtime };
  explicit Error(const std::string& what, Kind kind = Kind::invalid_argument)
      : std::runtime_error(what), kind_(kind) {}
  // Defined out of line (host/api.cpp), so the vtable and destructor have one home: no
  // translation unit compiled for another instruction set (host/cpu/) emits its own copy.
  ~Error() override;
  Kind kind() const noexcept { return kind_; }

private:
  Kind kind_;
};

} // namespace actgrad
