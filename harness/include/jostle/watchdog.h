// Per-thread phase markers and the absolute-deadline watchdog.
//
// Every actor thread owns a slot with its kernel tid and a phase string ("wait", "wake", "lock", ...) that the
// case sets before each step. When the watchdog deadline passes it writes one `hang` event listing every slot,
// so a hang report says where each thread was, not only that time ran out.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "jostle/clock.h"

namespace jostle {

inline constexpr int kMaxActors = 256;

struct PhaseSlot {
  std::atomic<pid_t> tid{0};
  std::atomic<const char*> phase{nullptr};  // string literals only: they outlive every reader
  std::atomic<Nanos> since{0};
  // > 0 while a chaos point holds the thread (an injected sleep or stall, a wait for the PCT token): asleep,
  // but not blocked in the primitive, so the parked probe must not count it.
  std::atomic<int> in_chaos{0};
};

// Slot of the calling thread: actor index i uses slot i + 1, the case's main thread slot 0.
PhaseSlot& phase_slot(int actor);
// Index of the calling thread as an actor (-1 for the case's main thread).
int current_actor();
void bind_current_thread(int actor);
void release_actor_slot(int actor);

// Marks the calling thread's phase. Cheap: two relaxed stores.
void phase(const char* what);

}  // namespace jostle
