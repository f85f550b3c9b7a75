// The futex contract: wait/wake on a 32-bit word.
//
// F::wait(word, expected)
//   [futex.wait.value-check] If word != expected, returns at once.
//   Otherwise blocks until one of:
//     - a wake() on this word sequenced after the check                     [futex.wait.wake]
//     - a spurious wakeup (callers re-check the word)                       [futex.wait.spurious]
//   Ordering: the check and the block are one atomic step with respect to wake() on the same word: a wake()
//   that follows a store making the value differ is never lost.                    [futex.wait.no-lost-wake]
//
// F::timed_wait(word, expected, timeout_ns) -> FutexStatus
//   As wait, but returns timed_out once `timeout_ns` has passed on the monotonic clock and never before it
//   [futex.timed-wait.lower-bound]; returns within a stated slack after it [futex.timed-wait.slack].
//   timeout_ns == 0 is a non-blocking check [futex.timed-wait.zero]. A wake that dequeued the waiter is
//   reported as woken, never as timed_out [futex.timed-wait.no-swallow].
//
// F::wake(word, n) -> int
//   Wakes at most n waiters blocked on this word (n = 0 wakes none)                [futex.wake.at-most-n]
//   and exactly min(n, blocked) of those confirmed parked                          [futex.wake.exact]
//   and never a waiter on another word, even one sharing a hash bucket             [futex.wake.address]
//   Returns how many it woke when the backend can tell (kCountsWakes), else -1.
//   With no waiters it is a no-op                                                  [futex.wake.no-waiters]
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "jostle/clock.h"

namespace jostle {

enum class FutexStatus { woken, value_changed, timed_out };

inline const char* to_string(FutexStatus s) {
  switch (s) {
    case FutexStatus::woken: return "woken";
    case FutexStatus::value_changed: return "value_changed";
    case FutexStatus::timed_out: return "timed_out";
  }
  return "?";
}

using FutexWord = std::atomic<std::uint32_t>;

template <class F>
concept FutexBackend = requires(FutexWord& w, std::uint32_t v, int n) {
  { F::kName } -> std::convertible_to<std::string_view>;
  { F::kCountsWakes } -> std::convertible_to<bool>;
  { F::wait(w, v) } -> std::same_as<void>;
  { F::wake(w, n) } -> std::same_as<int>;
};

// Backends that can honour a timeout on the monotonic clock.
template <class F>
concept TimedFutexBackend = FutexBackend<F> && requires(FutexWord& w, std::uint32_t v, Nanos t) {
  { F::timed_wait(w, v, t) } -> std::same_as<FutexStatus>;
};

// A timed futex backend whose timed_wait goes through chaos::timed_wait (kScheduleTimed = true), so that under PCT
// with vclock=1 the schedule decides its timeouts. A primitive built over it may measure its own deadline on
// chaos::Deadline; over any other backend it must stay on the wall clock (its waits would not move the virtual one).
template <class F>
inline constexpr bool kScheduleTimed = requires { requires F::kScheduleTimed; };

// Backends that can report how many threads are blocked on a word (the exact parked probe).
template <class F>
concept WaiterCountingFutex = FutexBackend<F> && requires(FutexWord& w) {
  { F::waiters(w) } -> std::convertible_to<int>;
};

}  // namespace jostle
