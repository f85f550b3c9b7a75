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

#include "jostle/clock.h"
#include "jostle/watchdog.h"

namespace jostle::probe {

// The state letter of /proc/self/task/TID/stat ('R', 'S', 'D', ...), or '?' when it cannot be read.
char task_state(pid_t tid);

// Waits until actor `actor` has phase `phase_name` and is sleeping in the kernel, for up to `timeout`.
bool await_parked(int actor, const char* phase_name, Nanos timeout = 5 * kSecond);

// Waits until `pred()` holds (polling with short sleeps), for up to `timeout`.
template <class Pred>
bool await(Pred pred, Nanos timeout = 5 * kSecond) {
  const Nanos deadline = now_ns() + timeout;
  while (!pred()) {
    if (now_ns() > deadline) return false;
    sleep_ns(50 * kMicro);
  }
  return true;
}

}  // namespace jostle::probe
