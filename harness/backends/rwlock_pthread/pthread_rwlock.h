// `pthread`: pthread_rwlock_t with glibc's default (reader-preferring) kind; `pthread_wpref`: the
// writer-preferring kind (PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP), where glibc 3c9c61febe fixed readers
// stranded behind a writer that timed out. Timed operations use pthread_rwlock_clock*lock on CLOCK_MONOTONIC.
#pragma once

#include <pthread.h>

#include <string_view>

#include "jostle/chaos.h"
#include "jostle/contracts/rwlock.h"
#include "mutex_pthread/tsan_lock_annotations.h"

namespace jostle {

template <bool PreferWriter>
class PthreadRwLockT {
 public:
  static constexpr std::string_view kPrimitive = "rwlock";
  static constexpr std::string_view kName = PreferWriter ? "pthread_wpref" : "pthread";
  static constexpr std::string_view kDescription =
      PreferWriter ? "pthread_rwlock_t, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP"
                   : "pthread_rwlock_t, default (reader-preferring) kind";

  PthreadRwLockT() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    if (PreferWriter) pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&rw_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~PthreadRwLockT() { pthread_rwlock_destroy(&rw_); }
  PthreadRwLockT(const PthreadRwLockT&) = delete;
  PthreadRwLockT& operator=(const PthreadRwLockT&) = delete;

  // The blocking calls go straight to glibc (no futex backend of ours under them): chaos BLOCKING hooks here.
  void lock() {
    JOSTLE_CHAOS_BLOCKING_BEGIN("rwlock.pthread.wrlock");
    pthread_rwlock_wrlock(&rw_);
    JOSTLE_CHAOS_BLOCKING_END("rwlock.pthread.wrlock");
  }
  bool try_lock() { return pthread_rwlock_trywrlock(&rw_) == 0; }
  void unlock() { pthread_rwlock_unlock(&rw_); }
  void lock_shared() {
    JOSTLE_CHAOS_BLOCKING_BEGIN("rwlock.pthread.rdlock");
    pthread_rwlock_rdlock(&rw_);
    JOSTLE_CHAOS_BLOCKING_END("rwlock.pthread.rdlock");
  }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&rw_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&rw_); }
  bool try_lock_for(Nanos t) {
    const timespec deadline = to_timespec(now_ns() + (t < 0 ? 0 : t));
    TsanTimedLock tsan(&rw_, false);  // TSan does not intercept the clock*lock calls
    JOSTLE_CHAOS_BLOCKING_BEGIN("rwlock.pthread.clockwrlock");
    const int rc = pthread_rwlock_clockwrlock(&rw_, CLOCK_MONOTONIC, &deadline);
    JOSTLE_CHAOS_BLOCKING_END("rwlock.pthread.clockwrlock");
    tsan.done(rc == 0);
    return rc == 0;
  }
  bool try_lock_shared_for(Nanos t) {
    const timespec deadline = to_timespec(now_ns() + (t < 0 ? 0 : t));
    TsanTimedLock tsan(&rw_, true);
    JOSTLE_CHAOS_BLOCKING_BEGIN("rwlock.pthread.clockrdlock");
    const int rc = pthread_rwlock_clockrdlock(&rw_, CLOCK_MONOTONIC, &deadline);
    JOSTLE_CHAOS_BLOCKING_END("rwlock.pthread.clockrdlock");
    tsan.done(rc == 0);
    return rc == 0;
  }

 private:
  pthread_rwlock_t rw_;
};

using PthreadRwLock = PthreadRwLockT<false>;
using PthreadWriterPrefRwLock = PthreadRwLockT<true>;
static_assert(TimedRwLockBackend<PthreadRwLock>);

}  // namespace jostle
