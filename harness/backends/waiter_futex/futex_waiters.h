// `futex`: the list lock is a three-state futex mutex and every waiter parks on its own 32-bit futex word
// (0 = waiting, 1 = released), with raw futex(2) syscalls.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "waiter_core/waiter_list_core.h"
#include "jostle/typelist.h"

namespace jostle {

namespace futex_waiters_detail {
inline long futex(std::atomic<std::uint32_t>& w, int op, std::uint32_t val, const timespec* ts = nullptr) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), op, val, ts, nullptr, 0);
}
}  // namespace futex_waiters_detail

// Drepper's "futexes are tricky" mutex 2: 0 unlocked, 1 locked, 2 locked with (possible) waiters.
class FutexMutex {
 public:
  void lock() {
    std::uint32_t c = 0;
    if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
    while (c != 0) {
      futex_waiters_detail::futex(state_, FUTEX_WAIT_PRIVATE, 2);
      c = state_.exchange(2, std::memory_order_acquire);
    }
  }
  bool try_lock() {
    std::uint32_t c = 0;
    return state_.compare_exchange_strong(c, 1, std::memory_order_acquire);
  }
  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2) futex_waiters_detail::futex(state_, FUTEX_WAKE_PRIVATE, 1);
  }

 private:
  std::atomic<std::uint32_t> state_{0};
};

struct FutexParker {
  using Lock = FutexMutex;
  struct Ticket {
    std::atomic<std::uint32_t> word{0};
  };
  static void park(std::unique_lock<FutexMutex>& lk, Ticket& t, Nanos deadline) {
    lk.unlock();
    // unpark sets the word before waking, so a release between unlock() and the syscall makes FUTEX_WAIT
    // return EAGAIN instead of sleeping: no lost wakeup.
    if (t.word.load(std::memory_order_acquire) == 0) {
      if (deadline == kForever) {
        JOSTLE_CHAOS_BLOCKING_BEGIN("waiters.park");
        futex_waiters_detail::futex(t.word, FUTEX_WAIT_PRIVATE, 0);
        JOSTLE_CHAOS_BLOCKING_END("waiters.park");
      } else {
        const Nanos left = deadline - now_ns();
        if (left > 0) {
          const timespec ts = to_timespec(left);
          JOSTLE_CHAOS_BLOCKING_BEGIN("waiters.timed_park");
          futex_waiters_detail::futex(t.word, FUTEX_WAIT_PRIVATE, 0, &ts);
          JOSTLE_CHAOS_BLOCKING_END("waiters.timed_park");
        }
      }
    }
    if (!lk.try_lock()) {
      JOSTLE_CHAOS_BLOCKING_BEGIN("waiters.list_lock");
      lk.lock();
      JOSTLE_CHAOS_BLOCKING_END("waiters.list_lock");
    }
  }
  static void unpark(Ticket& t) {
    t.word.store(1, std::memory_order_release);
    futex_waiters_detail::futex(t.word, FUTEX_WAKE_PRIVATE, 1);
  }
};

template <unsigned Defects>
using FutexWaitersT = WaiterListCore<FutexParker, Defects>;

struct FutexWaiters : FutexWaitersT<waiter_defect::none> {
  static constexpr std::string_view kName = "futex";
  static constexpr std::string_view kDescription =
      "futex mutex list lock, one futex word per waiter, raw futex(2) syscalls";
};
static_assert(WaiterListBackend<FutexWaiters>);


struct MutantNotifyCountRequested : FutexWaitersT<waiter_defect::count_requested> {
  static constexpr std::string_view kName = "mutant.waiter_list.notify_count_requested";
  static constexpr std::string_view kDescription = "notify returns the requested count, not the number woken";
  static constexpr std::string_view kCatches = "atomics/notify_exact_count,atomics/notify_other_index";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 notify count tests (notify-one/two/all, count-boundary-cases)";
};

struct MutantWaitCheckOutsideLock : FutexWaitersT<waiter_defect::check_outside_lock> {
  static constexpr std::string_view kName = "mutant.waiter_list.wait_check_outside_lock";
  static constexpr std::string_view kDescription = "wait compares the value before taking the list lock";
  static constexpr std::string_view kCatches = "atomics/wait_notify_storm";
  // Natural window (nothing widens the check-to-lock gap): plain repetition catches it in 3-9 of 10 runs
  // depending on the machine's load; random chaos at waiter.wait.between-check-and-lock in every run.
  static constexpr std::string_view kCatchesUnder = "p=0.1,actions=yield+sleep";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "test262 'no lost wakeup' class; check-then-enqueue futex bugs";
};

struct MutantSpuriousFromRmw : FutexWaitersT<waiter_defect::spurious_from_write> {
  static constexpr std::string_view kName = "mutant.waiter_list.spurious_from_rmw";
  static constexpr std::string_view kDescription = "every store/RMW on the cell wakes its waiters";
  static constexpr std::string_view kCatches = "atomics/wait_no_spurious";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 wait/no-spurious-wakeup-on-*.js";
};

using FutexWaitersMutants = TypeList<MutantNotifyCountRequested, MutantWaitCheckOutsideLock, MutantSpuriousFromRmw>;

}  // namespace jostle
