// The mutex contract.
//
// M m;  (default-constructed unlocked; the object is never moved or copied)
//
// m.lock()
//   Returns once the calling thread holds m exclusively                              [mutex.lock.exclusive]
//   Everything written by the previous holder before its unlock() is visible        [mutex.lock.acquire]
//   A waiter is never stranded: while some thread waits in lock(), an unlock() that leaves m free lets one of
//   them (or a newcomer) take it                                                     [mutex.lock.no-stranding]
//
// m.try_lock() -> bool
//   Takes m and returns true when it is free, returns false at once when it is held by another thread
//                                                                                    [mutex.try-lock]
//
// m.unlock()
//   Releases m; only the holder calls it (a non-owning unlock is undefined unless the backend checks owners).
//
// Owner-checking backends (OwnerCheckedMutex: error-checking and recursive kinds, the semantics a VM's
// threading layer gives its locks) also offer:
//   m.checked_lock() -> LockResult
//     error-checking kind: relocking by the holder returns deadlock, not a hang      [mutex.errorcheck.relock]
//     recursive kind: the holder locks again and the recursion count goes up         [mutex.recursive.count]
//   m.checked_unlock() -> LockResult
//     unlock by a thread that does not hold m returns not_owner and changes nothing  [mutex.owner.unlock]
//     the recursive kind releases m only when the count returns to zero              [mutex.recursive.release]
//   try_lock() by the holder of a recursive mutex succeeds and counts               [mutex.recursive.try-lock]
//
// Timed backends (TimedMutexBackend: std::timed_mutex, pthread_mutex_clocklock, the futex mutex over a timed
// futex, a VM threading layer's timed monitor enter) also offer:
//   m.try_lock_for(t) -> bool
//     true: the caller holds m, exactly as after lock()                              [mutex.timed.owns]
//     false: m was held the whole time; returned only after t has passed on the monotonic clock, never before,
//     and within a slack after it                                                    [mutex.timed.lower-bound]
//     t <= 0 returns promptly: true when m is free (a try_lock), false otherwise     [mutex.timed.past-deadline]
//     a locker that times out leaves m as it found it: the waiters still blocked in lock() or try_lock_for()
//     are woken by the next unlock as if it had never come                           [mutex.timed.no-stranding]
#pragma once

#include <concepts>
#include <string>
#include <string_view>

#include "jostle/clock.h"
#include "jostle/contracts/backend.h"

namespace jostle {

template <class M>
concept MutexBackend = NamedBackend<M> && std::default_initializable<M> && requires(M& m) {
  m.lock();
  { m.try_lock() } -> std::same_as<bool>;
  m.unlock();
};

enum class LockResult { ok, busy, deadlock, not_owner };

inline const char* to_string(LockResult r) {
  switch (r) {
    case LockResult::ok: return "ok";
    case LockResult::busy: return "busy";
    case LockResult::deadlock: return "deadlock";
    case LockResult::not_owner: return "not_owner";
  }
  return "?";
}

template <class M>
concept TimedMutexBackend = MutexBackend<M> && requires(M& m, Nanos t) {
  { m.try_lock_for(t) } -> std::same_as<bool>;
};

template <class M>
concept OwnerCheckedMutex = MutexBackend<M> && requires(M& m) {
  { m.checked_lock() } -> std::same_as<LockResult>;
  { m.checked_unlock() } -> std::same_as<LockResult>;
  { M::kRecursive } -> std::convertible_to<bool>;
};

template <class M>
concept RecursiveMutexBackend = OwnerCheckedMutex<M> && M::kRecursive;

template <class M>
concept ErrorCheckMutexBackend = OwnerCheckedMutex<M> && !M::kRecursive;

}  // namespace jostle
