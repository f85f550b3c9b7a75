// A wait group as Zig's std.Thread.WaitGroup builds it: the state word (counter << 1) | waiting plus a reset
// event the waiters block on. Unlike Zig's (one waiter, announced with fetchAdd), any number of waiters set
// the bit with a CAS, so a second waiter cannot carry into the counter.
//
// finish() sets the event exactly when its fetch_sub returns (counter 1, waiting): the waiter's CAS that set
// the bit required counter > 0, so either it precedes the last decrement (which then sees the bit and sets the
// event, latched for a waiter not asleep yet) or it follows it and reads counter 0.
//
// The event stays set after a round someone waited in, which is why [wg.reuse] asks for reset() before the
// next start(). The bit matters across rounds: a bit left set after reset() makes the next round's last
// finish() set the event with nobody waiting, and the round after that (no reset needed: no one waited) finds
// the event already set, so its wait() returns with work outstanding.
#pragma once

#include <atomic>
#include <cstdint>

#include <string>

#include "event_futex/futex_event.h"
#include "jostle/chaos.h"
#include "jostle/contracts/backend.h"
#include "jostle/contracts/event.h"
#include "jostle/contracts/waitgroup.h"
#include "waitgroup_common/waitgroup_defect.h"
#include "jostle/typelist.h"

namespace jostle {

template <EventBackend E, waitgroup::Defect D = waitgroup::Defect::none>
class EventWaitGroupT {
 public:
  static constexpr std::string_view kPrimitive = "waitgroup";
  static std::string name() { return "wg." + backend_name<E>(); }
  static std::string description() { return "Zig-style EventWaitGroup over the `" + backend_name<E>() + "` reset event"; }
  static bool available() { return backend_available<E>(); }

  void start() { start(1); }
  void start(std::uint32_t n) { state_.fetch_add(n * waitgroup::kOne, std::memory_order_relaxed); }

  void finish() {
    std::uint32_t seen = 0;
    if constexpr (D == waitgroup::Defect::check_before_decrement) {
      seen = state_.load(std::memory_order_relaxed);  // the defect: the decision precedes the decrement
      JOSTLE_CHAOS("wg.finish.check-decrement-gap");
      waitgroup::window<true>();
    }
    const std::uint32_t s = state_.fetch_sub(waitgroup::kOne, std::memory_order_acq_rel);
    if constexpr (D != waitgroup::Defect::check_before_decrement) seen = s;
    if (waitgroup::count(s) == 1 && (seen & waitgroup::kWaiting) != 0) {
      JOSTLE_CHAOS("wg.finish.before-set");
      event_.set();
    }
  }

  void wait() {
    if (announce()) event_.wait();
  }

  bool wait_for(Nanos timeout) {
    if (!announce()) return true;
    // A false from the event with the counter already 0 is a last finish() between its decrement and its
    // set(): done, and the acquire load orders the workers' writes before our return.
    return event_.timed_wait(timeout) || is_done();
  }

  bool is_done() const { return waitgroup::done<D>(state_.load(std::memory_order_acquire)); }

  void reset() {
    if constexpr (D == waitgroup::Defect::reset_keeps_waiting) {
      state_.fetch_and(waitgroup::kWaiting, std::memory_order_relaxed);  // the defect: only the counter goes
    } else {
      state_.store(0, std::memory_order_relaxed);
    }
    event_.reset();
  }

 private:
  // Returns false once the group is done; otherwise makes sure the waiting bit is set.
  bool announce() {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if (waitgroup::done<D>(s)) return false;
      if ((s & waitgroup::kWaiting) != 0) return true;
      if (state_.compare_exchange_weak(s, s | waitgroup::kWaiting, std::memory_order_acquire,
                                       std::memory_order_acquire))
        return true;
    }
  }

  std::atomic<std::uint32_t> state_{0};
  E event_;
};

// The algorithm as the backend map composes it (over events).
template <EventBackend E>
using EventWaitGroup = EventWaitGroupT<E>;

struct MutantWgResetKeepsWaiting : EventWaitGroupT<FutexEvent<LinuxFutex>, waitgroup::Defect::reset_keeps_waiting> {
  static constexpr std::string_view kName = "mutant.waitgroup.reset_keeps_waiting";
  static constexpr std::string_view kDescription =
      "EventWaitGroup whose reset() clears the counter but not the waiting bit: the next round's last finish "
      "sets the event with nobody waiting, and a later wait() returns with work outstanding";
  static constexpr std::string_view kCatches = "futex/wg_reuse_after_reset";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "catalog E5: Zig's WaitGroup.reset must clear the whole state word (its wait() asserts the bit is clear)";
};
struct MutantWgEventCheckBeforeDecrement
    : EventWaitGroupT<FutexEvent<LinuxFutex>, waitgroup::Defect::check_before_decrement> {
  static constexpr std::string_view kName = "mutant.waitgroup.event_check_before_decrement";
  static constexpr std::string_view kDescription =
      "EventWaitGroup whose finish() reads the waiting bit before decrementing: a waiter announcing itself in "
      "between blocks on an event nobody sets (window widened by a spin)";
  static constexpr std::string_view kCatches = "futex/wg_finish_races_wait,futex/wg_waiter_meets_last_finish";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource =
      "catalog E5: the decision must come from the value Zig's one fetchSub returns (check-then-act lost wakeup)";
};

static_assert(TimedWaitGroupBackend<EventWaitGroup<FutexEvent<LinuxFutex>>>);
static_assert(TimedWaitGroupBackend<MutantWgResetKeepsWaiting> &&
              TimedWaitGroupBackend<MutantWgEventCheckBeforeDecrement>);

using EventWaitGroupMutants = TypeList<MutantWgResetKeepsWaiting, MutantWgEventCheckBeforeDecrement>;

}  // namespace jostle
