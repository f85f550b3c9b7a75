// The reader-writer lock contract.
//
// R r;  (default-constructed unlocked)
//
// r.lock() / r.try_lock() -> bool / r.unlock()
//   Exclusive: while held, no other thread holds r in either mode                     [rwlock.exclusive]
//   try_lock() fails at once while r is held in any mode                              [rwlock.try-lock]
// r.lock_shared() / r.try_lock_shared() -> bool / r.unlock_shared()
//   Shared: any number of readers hold r together when no writer holds or (for writer-preferring locks)
//   waits for it; readers really overlap, they are not admitted one at a time         [rwlock.shared.concurrent]
//   try_lock_shared() fails at once while a writer holds r; while only readers hold r it may succeed or fail
//   (a queue lock admits a non-blocking reader only into an empty queue; C++ lets try_lock_shared fail
//   spuriously): that readers really share is a promise of lock_shared                [rwlock.try-lock-shared]
//   A reader's view is consistent: it never sees a writer's update half done         [rwlock.shared.consistent]
//
// Timed backends (TimedRwLockBackend):
//   r.try_lock_for(t) -> bool, r.try_lock_shared_for(t) -> bool
//     false only after t has passed on the monotonic clock                            [rwlock.timed.lower-bound]
//     a writer that gives up leaves no trace: readers it was holding back are admitted at once
//                                                                                     [rwlock.timed.writer-gives-up]
#pragma once

#include <concepts>

#include "jostle/clock.h"
#include "jostle/contracts/mutex.h"

namespace jostle {

template <class R>
concept RwLockBackend = NamedBackend<R> && std::default_initializable<R> && requires(R& r) {
  r.lock();
  { r.try_lock() } -> std::same_as<bool>;
  r.unlock();
  r.lock_shared();
  { r.try_lock_shared() } -> std::same_as<bool>;
  r.unlock_shared();
};

template <class R>
concept TimedRwLockBackend = RwLockBackend<R> && requires(R& r, Nanos t) {
  { r.try_lock_for(t) } -> std::same_as<bool>;
  { r.try_lock_shared_for(t) } -> std::same_as<bool>;
};

}  // namespace jostle
