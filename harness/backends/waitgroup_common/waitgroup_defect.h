// What the wait group backends share: the state-word layout and the defects their mutants switch on.
//
// The state word is (counter << 1) | kWaiting. kWaiting says "a waiter announced itself in this round, so the
// last finish() must wake": finish() can then skip the wake entirely when nobody waits, the reason both Zig's
// and Go's groups pack it next to the counter.
#pragma once

#include <cstdint>

#include "jostle/sys.h"

namespace jostle::waitgroup {

inline constexpr std::uint32_t kWaiting = 1;
inline constexpr std::uint32_t kOne = 2;  // one unit of outstanding work

inline constexpr std::uint32_t count(std::uint32_t s) { return s >> 1; }

// One flag per mutant; `none` is the correct algorithm.
enum class Defect {
  none,
  check_before_decrement,  // the last finish() reads the waiting bit before its decrement (lost wakeup)
  wake_one,                // the last finish() wakes one waiter, not all of them
  done_off_by_one,         // "done" is counter <= 1: wait() and is_done() return with one unit outstanding
  reset_keeps_waiting,     // reset() clears the counter but leaves the waiting bit set
};

// The done test wait() and is_done() share; the off-by-one mutant's defect lives here.
template <Defect D>
constexpr bool done(std::uint32_t s) {
  if constexpr (D == Defect::done_off_by_one) return count(s) <= 1;
  return count(s) == 0;
}

// Mutants widen a race window by a short spin (a few microseconds on this machine, the length of a preempted
// slow path) so that plain repetition hits it; the `.natural` mutants keep the window the defect has by itself.
template <bool Widen>
inline void window() {
  if constexpr (Widen) {
    for (int i = 0; i < 2000; ++i) sys::cpu_relax();
  }
}

}  // namespace jostle::waitgroup
