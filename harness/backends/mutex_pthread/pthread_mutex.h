// `pthread`, `pthread_errorcheck`, `pthread_recursive`: pthread_mutex_t of the three POSIX kinds. The two
// owner-tracking kinds also offer checked_lock/checked_unlock (EDEADLK and EPERM mapped to LockResult). All
// three offer try_lock_for through pthread_mutex_clocklock on CLOCK_MONOTONIC (glibc 2.30+), so a timed lock
// is not at the mercy of the wall clock as pthread_mutex_timedlock's CLOCK_REALTIME deadline is.
//
// The blocking calls go straight to glibc, not through a futex backend of ours, so they carry the chaos
// BLOCKING hooks themselves.
#pragma once

#include <pthread.h>
#include <time.h>

#include <cerrno>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/contracts/mutex.h"
#include "mutex_pthread/tsan_lock_annotations.h"

namespace jostle {

enum class PthreadMutexKind { normal, errorcheck, recursive };

template <PthreadMutexKind K>
class PthreadMutexT {
 public:
  static constexpr std::string_view kPrimitive = "mutex";
  static constexpr std::string_view kName = K == PthreadMutexKind::normal       ? "pthread"
                                            : K == PthreadMutexKind::errorcheck ? "pthread_errorcheck"
                                                                                : "pthread_recursive";
  static constexpr std::string_view kDescription =
      K == PthreadMutexKind::normal       ? "pthread_mutex_t, PTHREAD_MUTEX_NORMAL"
      : K == PthreadMutexKind::errorcheck ? "pthread_mutex_t, PTHREAD_MUTEX_ERRORCHECK (owner checked)"
                                          : "pthread_mutex_t, PTHREAD_MUTEX_RECURSIVE (owner and count)";

  PthreadMutexT() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, K == PthreadMutexKind::normal       ? PTHREAD_MUTEX_NORMAL
                                     : K == PthreadMutexKind::errorcheck ? PTHREAD_MUTEX_ERRORCHECK
                                                                         : PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~PthreadMutexT() { pthread_mutex_destroy(&m_); }
  PthreadMutexT(const PthreadMutexT&) = delete;
  PthreadMutexT& operator=(const PthreadMutexT&) = delete;

  void lock() { (void)blocking_lock(); }
  bool try_lock() { return pthread_mutex_trylock(&m_) == 0; }
  bool try_lock_for(Nanos t) {
    // An absolute deadline: a past one (t <= 0) still takes a free mutex, as POSIX requires.
    const timespec deadline = to_timespec(now_ns() + (t < 0 ? 0 : t));
    TsanTimedLock tsan(&m_, false);  // TSan does not intercept pthread_mutex_clocklock
    JOSTLE_CHAOS_BLOCKING_BEGIN("mutex.pthread.clocklock");
    const int rc = pthread_mutex_clocklock(&m_, CLOCK_MONOTONIC, &deadline);
    JOSTLE_CHAOS_BLOCKING_END("mutex.pthread.clocklock");
    tsan.done(rc == 0);
    return rc == 0;
  }
  void unlock() { pthread_mutex_unlock(&m_); }
  pthread_mutex_t* native() { return &m_; }

  static constexpr bool kRecursive = K == PthreadMutexKind::recursive;

  LockResult checked_lock()
    requires(K != PthreadMutexKind::normal)
  {
    return map(blocking_lock());
  }
  LockResult checked_unlock()
    requires(K != PthreadMutexKind::normal)
  {
    return map(pthread_mutex_unlock(&m_));
  }

 private:
  int blocking_lock() {
    JOSTLE_CHAOS_BLOCKING_BEGIN("mutex.pthread.lock");
    const int rc = pthread_mutex_lock(&m_);
    JOSTLE_CHAOS_BLOCKING_END("mutex.pthread.lock");
    return rc;
  }
  static LockResult map(int rc) {
    return rc == 0 ? LockResult::ok : rc == EDEADLK ? LockResult::deadlock : rc == EPERM ? LockResult::not_owner
                                                                                         : LockResult::busy;
  }
  pthread_mutex_t m_;
};

using PthreadMutex = PthreadMutexT<PthreadMutexKind::normal>;
using PthreadErrorCheckMutex = PthreadMutexT<PthreadMutexKind::errorcheck>;
using PthreadRecursiveMutex = PthreadMutexT<PthreadMutexKind::recursive>;
static_assert(MutexBackend<PthreadMutex> && !OwnerCheckedMutex<PthreadMutex>);
static_assert(ErrorCheckMutexBackend<PthreadErrorCheckMutex>);
static_assert(RecursiveMutexBackend<PthreadRecursiveMutex>);
static_assert(TimedMutexBackend<PthreadMutex> && TimedMutexBackend<PthreadRecursiveMutex>);

}  // namespace jostle
