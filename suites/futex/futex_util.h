// Helpers shared by the futex-suite cases (test-side only: no backend is used for plumbing here).
#pragma once

#include <atomic>

#include "jostle/contracts/futex.h"
#include "jostle/jostle.h"

namespace jostle::futex_cases {

// Waits until `count` threads are confirmed blocked on `w`: through the backend's own waiter count when it
// has one (exact), else through the kernel's view of each listed actor sitting in phase `phase_name`.
template <FutexBackend F>
bool await_blocked(Context& ctx, FutexWord& w, int first_actor, int count, const char* phase_name,
                   Nanos timeout = 5 * kSecond) {
  if constexpr (WaiterCountingFutex<F>) {
    (void)ctx;
    (void)first_actor;
    (void)phase_name;
    return probe::await([&] { return F::waiters(w) >= count; }, timeout);
  } else {
    for (int i = first_actor; i < first_actor + count; ++i)
      if (!ctx.await_parked(i, phase_name, timeout)) return false;
    return true;
  }
}

// A generous upper bound for "returns within a stated slack": the machine is shared and noisy, so only a
// gross overshoot (a missed timer, a re-armed full timeout) is a failure.
inline constexpr Nanos kSlack = 400 * kMilli;

}  // namespace jostle::futex_cases
