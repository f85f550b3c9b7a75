// `condvar`: the portable, spec-shaped waiter list. The list lock is a std::mutex and every waiter parks on
// its own std::condition_variable (a per-waiter condition ticket), so notify wakes exactly the waiters it
// removed, in list order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "waiter_core/waiter_list_core.h"
#include "jostle/typelist.h"

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


struct MutantLifoNotify : CondvarWaitersT<waiter_defect::lifo> {
  static constexpr std::string_view kName = "mutant.waiter_list.lifo_notify";
  static constexpr std::string_view kDescription = "notify wakes the newest waiter first";
  static constexpr std::string_view kCatches = "atomics/wait_fifo,atomics/wait_mixed_sync_async";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 notify/notify-in-order.js";
};

struct MutantWaitersEarlyTimeout : CondvarWaitersT<waiter_defect::early_timeout> {
  static constexpr std::string_view kName = "mutant.waiter_list.early_timeout";
  static constexpr std::string_view kDescription = "timed waits report timed-out up to 1 ms before the deadline";
  static constexpr std::string_view kCatches =
      "atomics/wait_results,atomics/wait_timeout_margin,atomics/wait_notify_vs_timeout";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "Node's early waitAsync timer (libuv#4773)";
};

struct MutantClockDecides : CondvarWaitersT<waiter_defect::clock_decides> {
  static constexpr std::string_view kName = "mutant.waiter_list.clock_decides";
  static constexpr std::string_view kDescription =
      "a waiter whose deadline passed reports timed-out even though notify already removed it";
  static constexpr std::string_view kCatches = "atomics/wait_notify_vs_timeout";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "timeout-vs-notify race decided by the clock, not under the list lock";
};

struct MutantLateSyncTimeout : CondvarWaitersT<waiter_defect::late_sync_timeout> {
  static constexpr std::string_view kName = "mutant.waiter_list.late_sync_timeout";
  static constexpr std::string_view kDescription =
      "waitAsync with a positive timeout answers timed-out at once (not async) when its deadline passed before "
      "the enqueue";
  static constexpr std::string_view kCatches = "atomics/wait_results";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "this list's own former deadline check in waitAsync (a settlement the caller awaited never came)";
};

using CondvarWaitersMutants =
    TypeList<MutantLifoNotify, MutantWaitersEarlyTimeout, MutantClockDecides, MutantLateSyncTimeout>;

}  // namespace jostle
