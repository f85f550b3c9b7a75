// ThreadSanitizer does not intercept glibc's CLOCK_MONOTONIC lock calls (pthread_mutex_clocklock,
// pthread_rwlock_clockwrlock/clockrdlock; libstdc++'s timed_mutex and shared_timed_mutex use them too), so under
// TSan an acquisition through them is invisible: the following unlock is reported as "unlock of an unlocked
// mutex" and everything done under the lock as a data race. TsanTimedLock tells TSan about such an acquisition
// through its mutex annotations, on the same address the intercepted unlock uses. Without TSan it is empty.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define JOSTLE_TSAN_ANNOTATE 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JOSTLE_TSAN_ANNOTATE 1
#endif
#endif

#ifdef JOSTLE_TSAN_ANNOTATE
#include <sanitizer/tsan_interface.h>
#endif

namespace jostle {

// Brackets one timed acquisition attempt of the lock at `addr` (shared = a read lock).
class TsanTimedLock {
 public:
#ifdef JOSTLE_TSAN_ANNOTATE
  TsanTimedLock(void* addr, bool shared)
      : addr_(addr), flags_(__tsan_mutex_try_lock | (shared ? __tsan_mutex_read_lock : 0u)) {
    __tsan_mutex_pre_lock(addr_, flags_);
  }
  // Call once with the attempt's outcome.
  void done(bool acquired) {
    __tsan_mutex_post_lock(addr_, flags_ | (acquired ? 0u : __tsan_mutex_try_lock_failed), 0);
  }

 private:
  void* addr_;
  unsigned flags_;
#else
  TsanTimedLock(void*, bool) {}
  void done(bool) {}
#endif
};

}  // namespace jostle
