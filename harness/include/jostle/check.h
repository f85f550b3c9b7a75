// CHECK records a failure and continues; REQUIRE records it and ends the run (safe: one instance per process).
// Both take a streamed message:  JOSTLE_CHECK(woken == 1) << "woken=" << woken;
#pragma once

#include <sstream>
#include <string>

namespace jostle::detail {

void report_check(const char* file, int line, const char* expr, const std::string& msg, bool fatal);

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* expr, bool fatal)
      : file_(file), line_(line), expr_(expr), fatal_(fatal) {}
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  // Reports when the streamed message is complete; a fatal failure ends the process here.
  ~CheckFailure() noexcept(false) { report_check(file_, line_, expr_, msg_.str(), fatal_); }

  template <class T>
  CheckFailure& operator<<(const T& v) {
    msg_ << v;
    return *this;
  }

 private:
  const char* file_;
  int line_;
  const char* expr_;
  bool fatal_;
  std::ostringstream msg_;
};

}  // namespace jostle::detail

// A one-pass for loop instead of if/else: no dangling-else warning wherever the macro is used, and the
// streamed message binds to the CheckFailure temporary that reports from its destructor.
#define JOSTLE_CHECK_IMPL(cond, fatal)                                                  \
  for (bool jostle_check_ok_ = static_cast<bool>(cond); !jostle_check_ok_; jostle_check_ok_ = true) \
  ::jostle::detail::CheckFailure(__FILE__, __LINE__, #cond, fatal)

#define JOSTLE_CHECK(cond) JOSTLE_CHECK_IMPL(cond, false)
#define JOSTLE_REQUIRE(cond) JOSTLE_CHECK_IMPL(cond, true)
// Equality with both values in the message.
#define JOSTLE_CHECK_EQ(a, b) JOSTLE_CHECK((a) == (b)) << #a " = " << (a) << ", " #b " = " << (b) << ". "
#define JOSTLE_REQUIRE_EQ(a, b) JOSTLE_REQUIRE((a) == (b)) << #a " = " << (a) << ", " #b " = " << (b) << ". "
