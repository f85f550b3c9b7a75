// CHECK records a failure and continues; REQUIRE records it and ends the run (safe: one instance per process).
// Both take a streamed message:  JOSTLE_CHECK(woken == 1) << "woken=" << woken;
#pragma once

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

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
// Equality with both values in the message. Each operand is evaluated once: the message shows the values that
// were compared (an operand with an effect, e.g. a join that hands its result over once, must not run again).
namespace jostle::detail {
template <class A, class B>
struct EqOperands {  // member names that no macro argument can be
  A jostle_lhs_;
  B jostle_rhs_;
  bool jostle_done_ = false;
};
template <class A, class B>
EqOperands<std::decay_t<A>, std::decay_t<B>> eq_operands(A&& a, B&& b) {
  return {std::forward<A>(a), std::forward<B>(b)};
}
}  // namespace jostle::detail
#define JOSTLE_CHECK_EQ_IMPL(a, b, fatal)                                             \
  for (auto jostle_eq_ = ::jostle::detail::eq_operands((a), (b));                       \
       !jostle_eq_.jostle_done_ && !(jostle_eq_.jostle_lhs_ == jostle_eq_.jostle_rhs_); \
       jostle_eq_.jostle_done_ = true)                                                  \
  ::jostle::detail::CheckFailure(__FILE__, __LINE__, "(" #a ") == (" #b ")", fatal)     \
      << #a " = " << jostle_eq_.jostle_lhs_ << ", " #b " = " << jostle_eq_.jostle_rhs_ << ". "
#define JOSTLE_CHECK_EQ(a, b) JOSTLE_CHECK_EQ_IMPL(a, b, false)
#define JOSTLE_REQUIRE_EQ(a, b) JOSTLE_CHECK_EQ_IMPL(a, b, true)
