// A wait group on one futex word, over any futex backend: the word is (counter << 1) | waiting, and waiters
// sleep on the word itself, so the last finish() changes the very value they sleep on.
//
// Why the last finish() cannot miss a sleeper ([wg.wait.no-lost-wake]): T1 (finish) does one fetch_sub and
// decides to wake from the value it returns; T2 (wait) sets the waiting bit with a CAS that requires
// counter > 0, then sleeps on exactly the value it wrote. Both are RMWs on one word, so they are ordered:
//   - T2's CAS first: T1's fetch_sub returns a value with the bit set and wakes; if T2 is not asleep yet its
//     futex value check sees the word changed and it re-reads the counter (0) instead of sleeping;
//   - T1's fetch_sub first: T2's CAS fails or reads counter 0, and T2 returns without sleeping.
// The mutant `check_before_decrement` splits T1 into a load (the decision) and the fetch_sub, and a T2 that
// sets the bit and falls asleep between the two is never woken.
//
// The bit stays set after the round (the word ends at `kWaiting`); it only costs a wake syscall in a later
// round, and reset() clears it.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#include <string>

#include "futex_atomic_wait/atomic_wait_futex.h"
#include "futex_linux/linux_futex.h"
#include "jostle/chaos.h"
#include "jostle/contracts/backend.h"
#include "jostle/contracts/futex.h"
#include "jostle/contracts/waitgroup.h"
#include "waitgroup_common/waitgroup_defect.h"
#include "jostle/typelist.h"

namespace jostle {

template <FutexBackend F, waitgroup::Defect D = waitgroup::Defect::none, bool Widen = true>
class FutexWaitGroupT {
 public:
  static constexpr std::string_view kPrimitive = "waitgroup";
  static std::string name() { return "wg.futex." + backend_name<F>(); }
  static std::string description() {
    return "FutexWaitGroup over the `" + backend_name<F>() + "` futex (waiters sleep on the state word)";
  }
  static bool available() { return backend_available<F>(); }

  void start() { start(1); }
  void start(std::uint32_t n) { word_.fetch_add(n * waitgroup::kOne, std::memory_order_relaxed); }

  void finish() {
    using waitgroup::kWaiting;
    std::uint32_t seen = 0;
    if constexpr (D == waitgroup::Defect::check_before_decrement) {
      // The defect: the wake decision is taken from a load that precedes the decrement.
      seen = word_.load(std::memory_order_relaxed);
      JOSTLE_CHAOS("wg.finish.check-decrement-gap");
      waitgroup::window<Widen>();
    }
    // acq_rel: the release publishes this worker's writes to the waiter (its acquire load of the final value
    // reads the end of the release sequence every finisher's fetch_sub belongs to).
    const std::uint32_t s = word_.fetch_sub(waitgroup::kOne, std::memory_order_acq_rel);
    if constexpr (D != waitgroup::Defect::check_before_decrement) seen = s;
    if (waitgroup::count(s) == 1 && (seen & kWaiting) != 0) {
      JOSTLE_CHAOS("wg.finish.before-wake");
      F::wake(word_, D == waitgroup::Defect::wake_one ? 1 : INT_MAX);
    }
  }

  void wait() {
    std::uint32_t s;
    while (announce(s)) {
      JOSTLE_CHAOS("wg.wait.before-sleep");
      // Spurious returns (and every intermediate finish, which changes the word) just loop: only the counter
      // decides.
      F::wait(word_, s);
    }
  }

  bool wait_for(Nanos timeout) requires TimedFutexBackend<F> {
    const Nanos deadline = now_ns() + timeout;
    std::uint32_t s;
    while (announce(s)) {
      const Nanos left = deadline - now_ns();
      if (timeout <= 0 || left <= 0) return false;
      JOSTLE_CHAOS("wg.wait.before-sleep");
      F::timed_wait(word_, s, left);
    }
    return true;
  }

  bool is_done() const { return waitgroup::done<D>(word_.load(std::memory_order_acquire)); }

  void reset() {
    if constexpr (D == waitgroup::Defect::reset_keeps_waiting) {
      word_.fetch_and(waitgroup::kWaiting, std::memory_order_relaxed);
    } else {
      word_.store(0, std::memory_order_relaxed);
    }
  }

 private:
  // Returns false once the group is done; otherwise sets the waiting bit (if no one did yet) and returns in `s`
  // the word to sleep on.
  bool announce(std::uint32_t& s) {
    s = word_.load(std::memory_order_acquire);
    for (;;) {
      if (waitgroup::done<D>(s)) return false;
      if ((s & waitgroup::kWaiting) != 0) return true;
      if (word_.compare_exchange_weak(s, s | waitgroup::kWaiting, std::memory_order_acquire,
                                      std::memory_order_acquire)) {
        s |= waitgroup::kWaiting;
        return true;
      }
    }
  }

  FutexWord word_{0};
};

// The algorithm as the backend map composes it: over every futex (wait_for only over a timed one).
template <FutexBackend F>
using FutexWaitGroup = FutexWaitGroupT<F>;

struct MutantWgCheckBeforeDecrement
    : FutexWaitGroupT<LinuxFutex, waitgroup::Defect::check_before_decrement> {
  static constexpr std::string_view kName = "mutant.waitgroup.check_before_decrement";
  static constexpr std::string_view kDescription =
      "FutexWaitGroup whose finish() reads the waiting bit, then decrements: a waiter that announces itself and "
      "sleeps in between is never woken (window widened by a spin)";
  static constexpr std::string_view kCatches = "futex/wg_finish_races_wait,futex/wg_waiter_meets_last_finish";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource =
      "catalog E5: Zig's WaitGroup.finish decides to wake from the value its one fetchSub returns; a decision "
      "read before the decrement is the check-then-act lost wakeup (cf. mutant.futex.check_then_enqueue)";
};
struct MutantWgCheckBeforeDecrementNatural
    : FutexWaitGroupT<LinuxFutex, waitgroup::Defect::check_before_decrement, false> {
  static constexpr std::string_view kName = "mutant.waitgroup.check_before_decrement_natural";
  static constexpr std::string_view kDescription =
      "mutant.waitgroup.check_before_decrement without the widening spin: one load, then the decrement";
  static constexpr std::string_view kCatches = "futex/wg_waiter_meets_last_finish,futex/wg_finish_races_wait";
  static constexpr std::string_view kCatchesUnder = "p=0.1,actions=yield+sleep";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = MutantWgCheckBeforeDecrement::kSource;
};
struct MutantWgWakeOne : FutexWaitGroupT<LinuxFutex, waitgroup::Defect::wake_one> {
  static constexpr std::string_view kName = "mutant.waitgroup.wake_one";
  static constexpr std::string_view kDescription =
      "FutexWaitGroup whose last finish() wakes one waiter: the others sleep forever";
  static constexpr std::string_view kCatches = "futex/wg_all_waiters_released";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "a broadcast done as a single wake (the shape of mutant.condvar.broadcast_as_signals, Zig #12877)";
};
struct MutantWgDoneOffByOne : FutexWaitGroupT<LinuxFutex, waitgroup::Defect::done_off_by_one> {
  static constexpr std::string_view kName = "mutant.waitgroup.done_off_by_one";
  static constexpr std::string_view kDescription =
      "FutexWaitGroup whose wait() and is_done() test counter <= 1: they return with one unit outstanding";
  static constexpr std::string_view kCatches = "futex/wg_smoke,futex/wg_wait_blocks,futex/wg_finish_races_wait";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "off-by-one on a packed counter (fetch_sub returns the old value)";
};

static_assert(TimedWaitGroupBackend<FutexWaitGroup<LinuxFutex>>);
static_assert(WaitGroupBackend<FutexWaitGroup<AtomicWaitFutex>> && !TimedWaitGroupBackend<FutexWaitGroup<AtomicWaitFutex>>);
static_assert(TimedWaitGroupBackend<MutantWgCheckBeforeDecrement> && TimedWaitGroupBackend<MutantWgWakeOne>);
static_assert(TimedWaitGroupBackend<MutantWgDoneOffByOne> && TimedWaitGroupBackend<MutantWgCheckBeforeDecrementNatural>);

using FutexWaitGroupMutants =
    TypeList<MutantWgCheckBeforeDecrement, MutantWgCheckBeforeDecrementNatural, MutantWgWakeOne, MutantWgDoneOffByOne>;

}  // namespace jostle
