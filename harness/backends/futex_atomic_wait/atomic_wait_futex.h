// `atomic_wait`: C++20 std::atomic<uint32_t>::wait / notify_one / notify_all from the standard library in use.
//
// Differences from a raw futex, visible to the cases:
//   - wait() returns only once the value differs from `expected` (the library re-checks and re-blocks), so a
//     wake without a value change never releases a waiter; every case changes the value before waking;
//   - there is no timed wait, so the backend does not model TimedFutexBackend and timed cases are not
//     instantiated for it;
//   - notify_* do not say how many threads they woke (kCountsWakes = false), and wake(n) for 1 < n < INT_MAX is
//     n notify_one calls.
#pragma once

#include <atomic>
#include <climits>

#include "jostle/chaos.h"
#include "jostle/contracts/futex.h"

namespace jostle {

struct AtomicWaitFutex {
  static constexpr std::string_view kName = "atomic_wait";
  static constexpr std::string_view kPrimitive = "futex";
  static constexpr std::string_view kDescription =
      "C++20 std::atomic wait/notify (no timed wait: timed cases are not instantiated; wake counts unknown)";
  static constexpr bool kCountsWakes = false;

  static void wait(FutexWord& w, std::uint32_t expected) {
    // No JOSTLE_CHAOS_SPURIOUS: std::atomic::wait re-checks and never returns with the value unchanged, and the
    // cases rely on that for this backend (wake_n_exact counts releases of confirmed-parked waiters).
    JOSTLE_CHAOS("futex.wait.before");
    JOSTLE_CHAOS_BLOCKING_BEGIN("futex.wait");
    w.wait(expected, std::memory_order_seq_cst);
    JOSTLE_CHAOS_BLOCKING_END("futex.wait");
    JOSTLE_CHAOS("futex.wait.after");
  }

  static int wake(FutexWord& w, int n) {
    JOSTLE_CHAOS("futex.wake.before");
    if (n <= 0) return -1;
    if (n == INT_MAX) {
      w.notify_all();
    } else {
      for (int i = 0; i < n; ++i) w.notify_one();
    }
    return -1;
  }
};

static_assert(FutexBackend<AtomicWaitFutex> && !TimedFutexBackend<AtomicWaitFutex>);

}  // namespace jostle
