// Monotonic time for the harness and its cases. Raw clock_gettime: no dependency on anything under test.
#pragma once

#include <cstdint>
#include <ctime>

namespace jostle {

using Nanos = std::int64_t;

inline constexpr Nanos kMicro = 1'000;
inline constexpr Nanos kMilli = 1'000'000;
inline constexpr Nanos kSecond = 1'000'000'000;

// Nanoseconds on CLOCK_MONOTONIC: the clock every timeout contract in jostle is measured on.
inline Nanos now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

inline timespec to_timespec(Nanos ns) {
  if (ns < 0) ns = 0;
  return timespec{static_cast<time_t>(ns / kSecond), static_cast<long>(ns % kSecond)};
}

// Sleeps for at least `ns` on the monotonic clock (clock_nanosleep with an absolute deadline, so EINTR cannot
// shorten it).
inline void sleep_ns(Nanos ns) {
  const timespec until = to_timespec(now_ns() + ns);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) != 0) {
  }
}

}  // namespace jostle
