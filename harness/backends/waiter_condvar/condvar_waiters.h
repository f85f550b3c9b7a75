// `condvar`: the portable, spec-shaped waiter list. The list lock is a std::mutex and every waiter parks on
// its own std::condition_variable (a per-waiter condition ticket), so notify wakes exactly the waiters it
// removed, in list order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "waiter_core/waiter_list_core.h"

namespace jostle {

struct CondvarParker {
  using Lock = std::mutex;
  struct Ticket {
    std::condition_variable cv;
  };
  static void park(std::unique_lock<std::mutex>& lk, Ticket& t, Nanos deadline) {
    if (deadline == kForever) {
      JOSTLE_CHAOS_BLOCKING_BEGIN("waiters.park");
      t.cv.wait(lk);
      JOSTLE_CHAOS_BLOCKING_END("waiters.park");
    } else {
      // steady_clock is CLOCK_MONOTONIC here; the caller re-checks now_ns() anyway, so an early return from
      // the condvar can never become an early "timed-out".
      JOSTLE_CHAOS_BLOCKING_BEGIN("waiters.timed_park");
      t.cv.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline)));
      JOSTLE_CHAOS_BLOCKING_END("waiters.timed_park");
    }
  }
  static void unpark(Ticket& t) { t.cv.notify_one(); }
};

template <unsigned Defects>
using CondvarWaitersT = WaiterListCore<CondvarParker, Defects>;

struct CondvarWaiters : CondvarWaitersT<waiter_defect::none> {
  static constexpr std::string_view kName = "condvar";
  static constexpr std::string_view kDescription =
      "std::mutex list lock, one std::condition_variable per waiter (condition tickets)";
};
static_assert(WaiterListBackend<CondvarWaiters>);

}  // namespace jostle
