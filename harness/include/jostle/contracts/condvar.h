// The condition variable contract. Each backend names the mutex it works with (C::Mutex).
//
// C c;  (default-constructed; destroying it is allowed as soon as no thread is inside one of its operations,
//        including right after the last waiter returned                               [condvar.destroy])
//
// c.wait(m)          (the caller holds m)
//   Atomically releases m and blocks; a notify_one()/notify_all() that follows the release (in m's order)
//   is never missed                                                                   [condvar.wait.atomic-release]
//   Returns with m held again, after one of:
//     - a notify that picked this waiter                                              [condvar.wait.notified]
//     - a spurious wakeup (posix profile only; callers re-check their predicate)     [condvar.wait.spurious]
//
// c.wait_for(m, t) -> bool
//   As wait(); returns false (timed out) only after t has passed on the monotonic clock, never before
//                                                                                     [condvar.timed.lower-bound]
//   and within a slack after it; t <= 0 returns promptly                              [condvar.timed.past-deadline]
//   Backends that claim TimeoutKeepsSignal (kTimeoutKeepsSignal): a notify that picked this waiter is not lost
//   when its timer fires too: the waiter reports true, or the notify moves on to another waiter
//                                                                                     [condvar.timed.no-swallow]
//   (POSIX does not promise this: a pthread_cond_timedwait that times out "may consume a condition signal
//   directed concurrently at the condition variable". Zig's Condition and the strict profile do.)
//
// c.notify_one()
//   Unblocks at least one of the threads blocked on c at the time of the call, if any [condvar.signal.one]
//   A thread that started waiting after the call cannot take it in place of one that was blocked
//                                                                                     [condvar.signal.no-steal]
//   N notify_one() calls with at least N blocked waiters unblock N distinct waiters  [condvar.signal.exact]
//
// c.notify_all()
//   Unblocks every thread blocked on c at the time of the call; a waiter that returns and waits again does
//   not use up a wakeup meant for another                                            [condvar.broadcast.all]
//
// Profiles: "posix" allows spurious wakeups; "strict" allows none and wakes in FIFO order
//                                                                         [condvar.strict.no-spurious] [condvar.strict.fifo]
#pragma once

#include <concepts>

#include "jostle/clock.h"
#include "jostle/contracts/mutex.h"

namespace jostle {

template <class C>
concept CondvarBackend = NamedBackend<C> && std::default_initializable<C> && MutexBackend<typename C::Mutex> &&
                         requires(C& c, typename C::Mutex& m, Nanos t) {
                           c.wait(m);
                           { c.wait_for(m, t) } -> std::same_as<bool>;
                           c.notify_one();
                           c.notify_all();
                         };

// The backend promises [condvar.timed.no-swallow].
template <class C>
concept TimeoutKeepsSignal = CondvarBackend<C> && requires {
  requires C::kTimeoutKeepsSignal;
};

}  // namespace jostle
