// Error types shared by every module. Helpers throw; only the CLI turns an Error into an exit code.
#pragma once
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ptq {

// Each kind maps to one documented exit code (see README "Exit codes").
enum class ErrorKind {
  Internal = 1,     // a bug or an unexpected system failure
  Usage = 2,        // bad command line / options
  BadInput = 3,     // corrupt or inconsistent model or data
  Unsupported = 4,  // valid input that this tool cannot handle (op, type, attribute)
  Output = 6,       // the output cannot be written (unwritable path, exists without --force, disk full)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(kind, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void bad_input(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::BadInput, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void unsupported(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::Unsupported, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void internal_error(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::Internal, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ptq
