// Every Atomics waiter-list backend compiled in, and its mutants. Adding one is a folder under
// harness/backends/ and one line here.
#pragma once

#include "jostle/registry.h"
#include "plugin/plugin_backends.h"
#include "waiter_condvar/condvar_waiters.h"
#include "waiter_futex/futex_waiters.h"

namespace jostle {

struct MutantLifoNotify : CondvarWaitersT<waiter_defect::lifo> {
  static constexpr std::string_view kName = "mutant.lifo-notify";
  static constexpr std::string_view kDescription = "notify wakes the newest waiter first";
  static constexpr std::string_view kCatches = "atomics/wait_fifo,atomics/wait_mixed_sync_async";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 notify/notify-in-order.js";
};

struct MutantNotifyCountRequested : FutexWaitersT<waiter_defect::count_requested> {
  static constexpr std::string_view kName = "mutant.notify-count-requested";
  static constexpr std::string_view kDescription = "notify returns the requested count, not the number woken";
  static constexpr std::string_view kCatches = "atomics/notify_exact_count,atomics/notify_other_index";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 notify count tests (notify-one/two/all, count-boundary-cases)";
};

struct MutantWaitCheckOutsideLock : FutexWaitersT<waiter_defect::check_outside_lock> {
  static constexpr std::string_view kName = "mutant.wait-check-outside-lock";
  static constexpr std::string_view kDescription = "wait compares the value before taking the list lock";
  static constexpr std::string_view kCatches = "atomics/wait_notify_storm";
  // Natural window (nothing widens the check-to-lock gap): plain repetition catches it in 3-9 of 10 runs
  // depending on the machine's load; random chaos at waiter.wait.between-check-and-lock in every run.
  static constexpr std::string_view kCatchesUnder = "p=0.1,actions=yield+sleep";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "test262 'no lost wakeup' class; check-then-enqueue futex bugs";
};

struct MutantEarlyTimeout : CondvarWaitersT<waiter_defect::early_timeout> {
  static constexpr std::string_view kName = "mutant.early-timeout";
  static constexpr std::string_view kDescription = "timed waits report timed-out up to 1 ms before the deadline";
  static constexpr std::string_view kCatches =
      "atomics/wait_results,atomics/wait_timeout_margin,atomics/wait_notify_vs_timeout";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "Node's early waitAsync timer (libuv#4773)";
};

struct MutantSpuriousFromRmw : FutexWaitersT<waiter_defect::spurious_from_write> {
  static constexpr std::string_view kName = "mutant.spurious-from-rmw";
  static constexpr std::string_view kDescription = "every store/RMW on the cell wakes its waiters";
  static constexpr std::string_view kCatches = "atomics/wait_no_spurious";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 wait/no-spurious-wakeup-on-*.js";
};

struct MutantClockDecides : CondvarWaitersT<waiter_defect::clock_decides> {
  static constexpr std::string_view kName = "mutant.clock-decides";
  static constexpr std::string_view kDescription =
      "a waiter whose deadline passed reports timed-out even though notify already removed it";
  static constexpr std::string_view kCatches = "atomics/wait_notify_vs_timeout";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "timeout-vs-notify race decided by the clock, not under the list lock";
};

using WaiterListBackends =
    TypeList<CondvarWaiters, FutexWaiters, MutantLifoNotify, MutantNotifyCountRequested, MutantWaitCheckOutsideLock,
             MutantEarlyTimeout, MutantSpuriousFromRmw, MutantClockDecides,
             PluginWaiterList<0>, PluginWaiterList<1>>;

}  // namespace jostle
