// A reset event over any futex backend (the shape of Zig's ResetEvent FutexImpl, with an epoch so that a
// set()+reset() pair racing a sleeper still releases it).
//
// The word is (epoch << 2) | state, state in {unset, waiting, set}. A sleeper sleeps on the exact word it
// saw (epoch, waiting); only set() moves it from there (to (epoch, set)), and reset() only leaves `set` (to
// (epoch + 1, unset)), so any change of the word a sleeper observes means a set() happened.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#include <string>

#include "futex_linux/linux_futex.h"
#include "futex_parking/parking_futex.h"
#include "jostle/chaos.h"
#include "jostle/contracts/backend.h"
#include "jostle/contracts/event.h"
#include "jostle/contracts/futex.h"
#include "jostle/typelist.h"

namespace jostle {

template <FutexBackend F, bool EdgeOnly = false>
class FutexEventT {
 public:
  static constexpr std::string_view kPrimitive = "event";
  static std::string name() { return "event." + backend_name<F>(); }
  static std::string description() { return "FutexEvent over the `" + backend_name<F>() + "` futex"; }
  static bool available() { return backend_available<F>(); }

  void set() {
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    for (;;) {
      if ((s & kMask) == kSet) return;
      // The defect of the edge-only mutant: set() releases the current sleepers and latches nothing.
      const std::uint32_t next = EdgeOnly ? ((s & ~kMask) + kEpoch) : ((s & ~kMask) | kSet);
      if (EdgeOnly && (s & kMask) == kUnset) return;
      if (word_.compare_exchange_weak(s, next, std::memory_order_release, std::memory_order_relaxed)) break;
    }
    if ((s & kMask) == kWaiting) {
      JOSTLE_CHAOS("event.set.before-wake");
      F::wake(word_, INT_MAX);
    }
  }

  void reset() {
    std::uint32_t s = word_.load(std::memory_order_relaxed);
    while ((s & kMask) == kSet) {
      if (word_.compare_exchange_weak(s, (s & ~kMask) + kEpoch, std::memory_order_relaxed)) return;
    }
  }

  bool is_set() const { return (word_.load(std::memory_order_acquire) & kMask) == kSet; }

  void wait() {
    std::uint32_t s;
    while (announce(s)) {
      JOSTLE_CHAOS("event.wait.before-sleep");
      // The futex may return spuriously ([futex.wait.spurious]); chaos can make it so, and the loop re-checks.
      if (!JOSTLE_CHAOS_SPURIOUS("event.futex-wait")) F::wait(word_, s);
      if (word_.load(std::memory_order_acquire) != s) return;
    }
  }

  bool timed_wait(Nanos timeout) requires TimedFutexBackend<F> {
    std::uint32_t s;
    if (timeout <= 0) return is_set();
    const Nanos deadline = now_ns() + timeout;
    if (!announce(s)) return true;
    if (JOSTLE_CHAOS_TIMEOUT("event.timed_wait")) {
      // Chaos: nothing seen before the deadline; the final check below still reports a set() that came.
      JOSTLE_CHAOS_BLOCKING_BEGIN("event.timeout");
      for (Nanos left = deadline - now_ns(); left > 0; left = deadline - now_ns()) sleep_ns(left);
      JOSTLE_CHAOS_BLOCKING_END("event.timeout");
    }
    for (;;) {
      const Nanos left = deadline - now_ns();
      if (left <= 0) break;
      JOSTLE_CHAOS("event.wait.before-sleep");
      if (!JOSTLE_CHAOS_SPURIOUS("event.futex-wait")) F::timed_wait(word_, s, left);
      if (word_.load(std::memory_order_acquire) != s) return true;
    }
    return word_.load(std::memory_order_acquire) != s;
  }

 private:
  static constexpr std::uint32_t kUnset = 0, kWaiting = 1, kSet = 2, kMask = 3, kEpoch = 4;

  // Moves unset -> waiting. Returns false when the event is already set, else the word to sleep on in `s`.
  bool announce(std::uint32_t& s) {
    s = word_.load(std::memory_order_acquire);
    for (;;) {
      if ((s & kMask) == kSet) return false;
      if ((s & kMask) == kWaiting) return true;
      if (word_.compare_exchange_weak(s, s | kWaiting, std::memory_order_acquire, std::memory_order_acquire)) {
        s |= kWaiting;
        return true;
      }
    }
  }

  FutexWord word_{kUnset};
};

// The algorithm as the backend map composes it: over every futex with a timed wait (the event contract has
// timed_wait).
template <TimedFutexBackend F>
using FutexEvent = FutexEventT<F>;

struct MutantEventEdgeNotLatched : FutexEventT<LinuxFutex, true> {
  static constexpr std::string_view kName = "mutant.event.edge_not_latched";
  static constexpr std::string_view kDescription =
      "FutexEvent whose set() only releases current sleepers and keeps no set state";
  static constexpr std::string_view kCatches = "futex/event_state_machine,futex/event_set_before_wait";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "tensorflow PR #4064; grpc PR #12051 (condition variables are not latches)";
};
struct MutantEventOnCheckThenEnqueue : FutexEventT<MutantCheckThenEnqueue> {
  static constexpr std::string_view kName = "mutant.event.on_check_then_enqueue";
  static constexpr std::string_view kDescription = "FutexEvent over the check-then-enqueue futex mutant";
  static constexpr std::string_view kCatches = "futex/event_ping_pong,futex/event_broadcast";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "composition: a correct event over a lost-wakeup futex";
};

static_assert(EventBackend<FutexEvent<LinuxFutex>>);
static_assert(EventBackend<MutantEventEdgeNotLatched> && EventBackend<MutantEventOnCheckThenEnqueue>);

using FutexEventMutants = TypeList<MutantEventEdgeNotLatched, MutantEventOnCheckThenEnqueue>;

}  // namespace jostle
