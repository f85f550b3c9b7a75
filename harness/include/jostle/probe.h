// The confirmed-parked probe: "thread T is really blocked". Deterministic ordering cases (a signal before a
// waiter blocked must not be taken by it) cannot be written without it.
//
// Two sources, best first: a backend hook counting its own waiters on a word (exact), or the kernel's view of
// the thread (/proc/self/task/TID/stat in state S, sleeping) combined with the actor's phase marker saying it
// reached the blocking call. The second is sound for blocking primitives: a thread whose phase says "wait" and
// that the kernel reports sleeping on two reads 200 us apart is inside the wait (or in a spurious-wakeup loop
// around it, which the contract allows).
#pragma once

#include <sys/types.h>

#include <cstring>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/watchdog.h"

namespace jostle::probe {

// The state letter of /proc/self/task/TID/stat ('R', 'S', 'D', ...), or '?' when it cannot be read.
char task_state(pid_t tid);

// Waits until actor `actor` has phase `phase_name` and is sleeping in the kernel, for up to `timeout`.
bool await_parked(int actor, const char* phase_name, Nanos timeout = 5 * kSecond);

// Time the calling thread has spent delayed by things other than the code under test, cumulative since it
// started: waiting on a CPU run queue (/proc/thread-self/schedstat; CPU starvation on a loaded or pinned
// machine) plus time held by chaos points (injected sleeps and stalls, PCT token waits). Take a delta around a
// timed operation and subtract it before checking an upper "slack" bound: the bound is about the primitive
// oversleeping, not about the OS or the amplifier not running the thread. Lower bounds never use it.
Nanos excused_delay_ns();

// elapsed - excused delay over an interval: the time the primitive itself can be blamed for.
class BlameClock {
 public:
  BlameClock() : t0_(now_ns()), e0_(excused_delay_ns()) {}
  Nanos elapsed() const { return now_ns() - t0_; }
  Nanos blamed() const {
    const Nanos b = elapsed() - (excused_delay_ns() - e0_);
    return b < 0 ? 0 : b;
  }

 private:
  Nanos t0_, e0_;
};

// Waits until `pred()` holds (polling with short sleeps), for up to `timeout`.
template <class Pred>
bool await(Pred pred, Nanos timeout = 5 * kSecond) {
  const Nanos deadline = now_ns() + timeout;
  while (!pred()) {
    if (now_ns() > deadline) return false;
    chaos::HarnessWait wait;
    sleep_ns(50 * kMicro);
  }
  return true;
}

}  // namespace jostle::probe
