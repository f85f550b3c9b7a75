// A counting semaphore over any futex backend. The futex word is the permit count; `waiters_` lets post()
// skip the wake syscall when nobody can be sleeping.
//
// Why post() cannot miss a sleeper: T1 (post) does count += 1 then loads waiters; T2 (wait) does waiters += 1
// then loads count. All four are seq_cst, so in their total order one of the loads comes after the other side's
// RMW: either T2 sees the permit and does not sleep, or T1 sees the waiter and wakes (and the futex value
// check catches a T2 that is between its load and its sleep).
#pragma once

#include <atomic>
#include <cstdint>

#include <string>

#include "futex_linux/linux_futex.h"
#include "futex_parking/parking_futex.h"
#include "jostle/chaos.h"
#include "jostle/contracts/backend.h"
#include "jostle/contracts/futex.h"
#include "jostle/contracts/semaphore.h"
#include "jostle/typelist.h"

namespace jostle {

template <FutexBackend F, bool SwallowOnTimeout = false>
class FutexSemaphoreT {
 public:
  static constexpr std::string_view kPrimitive = "semaphore";
  static std::string name() { return "sem." + backend_name<F>(); }
  static std::string description() { return "FutexSemaphore over the `" + backend_name<F>() + "` futex"; }
  static bool available() { return backend_available<F>(); }

  void post() {
    count_.fetch_add(1, std::memory_order_seq_cst);
    JOSTLE_CHAOS("sem.post.before-waiters-check");
    if (waiters_.load(std::memory_order_seq_cst) != 0) F::wake(count_, 1);
  }

  bool try_wait() {
    std::uint32_t c = count_.load(std::memory_order_relaxed);
    while (c != 0) {
      if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    }
    return false;
  }

  void wait() {
    if (try_wait()) return;
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    JOSTLE_CHAOS("sem.wait.after-announce");
    while (!try_wait()) {
      // The futex may return spuriously ([futex.wait.spurious]); chaos can make it so, and the loop re-checks.
      if (!JOSTLE_CHAOS_SPURIOUS("sem.futex-wait")) F::wait(count_, 0);
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
  }

  bool timed_wait(Nanos timeout) requires TimedFutexBackend<F> {
    if (try_wait()) return true;
    if (timeout <= 0) return false;
    const Nanos deadline = now_ns() + timeout;
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    JOSTLE_CHAOS("sem.wait.after-announce");
    if (JOSTLE_CHAOS_TIMEOUT("sem.timed_wait")) {
      // Chaos: no permit looked at before the deadline, so the deadline path below decides (and must keep a
      // permit that arrived meanwhile).
      JOSTLE_CHAOS_BLOCKING_BEGIN("sem.timeout");
      for (Nanos left = deadline - now_ns(); left > 0; left = deadline - now_ns()) sleep_ns(left);
      JOSTLE_CHAOS_BLOCKING_END("sem.timeout");
    }
    bool got = false;
    for (;;) {
      const Nanos left = deadline - now_ns();
      if (left <= 0) {
        // A post() may have spent its wake on us just as we timed out: take its permit rather than strand it
        // with a sleeper nobody will wake (Zig's "consume the signal and report woken" rule).
        JOSTLE_CHAOS("sem.timed_wait.at-deadline");
        got = try_wait();
        if (SwallowOnTimeout && got) got = false;  // the defect: the permit is taken and reported as a timeout
        break;
      }
      if ((got = try_wait())) break;
      if (!JOSTLE_CHAOS_SPURIOUS("sem.futex-wait")) F::timed_wait(count_, 0, left);
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return got;
  }

  std::uint32_t permits() const { return count_.load(std::memory_order_acquire); }

 private:
  FutexWord count_{0};
  std::atomic<std::uint32_t> waiters_{0};
};

// The algorithm as the backend map composes it: over every futex with a timed wait (the semaphore contract has
// timed_wait).
template <TimedFutexBackend F>
using FutexSemaphore = FutexSemaphoreT<F>;

struct MutantSemTimeoutSwallowsPermit : FutexSemaphoreT<LinuxFutex, true> {
  static constexpr std::string_view kName = "mutant.semaphore.timeout_swallows_permit";
  static constexpr std::string_view kDescription =
      "FutexSemaphore whose timed wait, finding a permit as its deadline passes, takes it and reports a timeout";
  static constexpr std::string_view kCatches = "futex/semaphore_conservation";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "wasmtime PR #5871; Zig Condition/Semaphore timeout path";
};
struct MutantSemOnCheckThenEnqueue : FutexSemaphoreT<MutantCheckThenEnqueue> {
  static constexpr std::string_view kName = "mutant.semaphore.on_check_then_enqueue";
  static constexpr std::string_view kDescription = "FutexSemaphore over the check-then-enqueue futex mutant";
  static constexpr std::string_view kCatches = "futex/semaphore_as_mutex";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "composition: a correct semaphore over a lost-wakeup futex";
};

static_assert(SemaphoreBackend<FutexSemaphore<LinuxFutex>>);
static_assert(SemaphoreBackend<MutantSemTimeoutSwallowsPermit> && SemaphoreBackend<MutantSemOnCheckThenEnqueue>);

using FutexSemaphoreMutants = TypeList<MutantSemTimeoutSwallowsPermit, MutantSemOnCheckThenEnqueue>;

}  // namespace jostle
