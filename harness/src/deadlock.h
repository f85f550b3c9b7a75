// Early detection of a lost wakeup or deadlock, for the watchdog.
//
// A process in which every thread (the watchdog excepted) sleeps in an untimed futex wait, none has run for a
// while, and no child process exists that could wake a shared futex, cannot make progress again by itself:
// only a timer, a child or a signal could wake it, and an untimed futex wait has no timer. The watchdog can
// then report the hang after a short quiet period (--deadlock-after, 200 ms by default) instead of waiting
// for the case's deadline (10-60 s). Everything else (a thread running, in a timed wait, in nanosleep, in
// epoll over a timerfd, stopped by a debugger, a child process alive) counts as "might progress", so the check
// errs towards the deadline, never towards a false hang.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace jostle::deadlock {

struct Blocked {
  pid_t tid = 0;
  std::uint64_t slices = 0;  // times the thread has been scheduled (/proc/.../schedstat): unchanged = did not run
  std::uint64_t word = 0;    // the futex word it sleeps on
};

// Fills `out` and returns true when every thread of this process but `skip` sleeps in an untimed futex wait
// and the process has no child; false as soon as one thread might progress (or /proc cannot tell).
bool snapshot(pid_t skip, std::vector<Blocked>& out);

// The same threads, none of them scheduled in between.
bool unchanged(const std::vector<Blocked>& a, const std::vector<Blocked>& b);

}  // namespace jostle::deadlock
