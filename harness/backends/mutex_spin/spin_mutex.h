// `spin`: test-and-test-and-set with exponential backoff, yielding the CPU once backoff is long (on two shared
// cores a preempted holder would otherwise be spun against for a whole time slice).
//
// Mutant: mutant.mutex.spin_test_then_set, the classic check-then-store spinlock (the test and the set are
// two separate steps, so two threads both see "free" and both enter).
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/contracts/mutex.h"
#include "mutex_futex/futex_mutex.h"
#include "jostle/typelist.h"

namespace jostle {

template <bool SplitTestAndSet>
class SpinMutexT {
 public:
  static constexpr std::string_view kPrimitive = "mutex";
  static constexpr std::string_view kName = SplitTestAndSet ? "mutant.mutex.spin_test_then_set" : "spin";
  static constexpr std::string_view kDescription =
      SplitTestAndSet ? "spinlock whose acquire is a load of 'free' followed by a separate store of 'held'"
                      : "test-and-test-and-set spinlock with exponential backoff, then sched_yield";

  void lock() {
    unsigned backoff = 1;
    for (;;) {
      if (try_lock()) return;
      // Test (a plain load, no cache-line ping-pong) until it looks free, backing off.
      while (locked_.load(std::memory_order_relaxed) != 0) {
        if (backoff <= 256) {
          for (unsigned i = 0; i < backoff; ++i) spin_pause();
          backoff *= 2;
        } else {
          sched_yield();
        }
      }
    }
  }

  bool try_lock() {
    if constexpr (SplitTestAndSet) {
      // Acquire on the test pairs with the holder's release (no fence: TSan does not model fences).
      if (locked_.load(std::memory_order_acquire) != 0) return false;
      JOSTLE_CHAOS("mutex.spin.between-test-and-set");
      locked_.store(1, std::memory_order_relaxed);
      return true;
    } else {
      return locked_.load(std::memory_order_relaxed) == 0 &&
             locked_.exchange(1, std::memory_order_acquire) == 0;
    }
  }

  void unlock() { locked_.store(0, std::memory_order_release); }

 private:
  std::atomic<std::uint32_t> locked_{0};
};

using SpinMutex = SpinMutexT<false>;
struct MutantSpinTestThenSet : SpinMutexT<true> {
  static constexpr std::string_view kCatches = "condvar/mutex_contended_exclusion";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "the textbook broken spinlock: test and set as two steps";
};
static_assert(MutexBackend<SpinMutex>);
static_assert(MutexBackend<MutantSpinTestThenSet>);

using SpinMutexMutants = TypeList<MutantSpinTestThenSet>;

}  // namespace jostle
