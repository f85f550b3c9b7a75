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

}  // namespace jostle
