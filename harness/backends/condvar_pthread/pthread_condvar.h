// `pthread`: pthread_cond_t on CLOCK_MONOTONIC (pthread_condattr_setclock) with a normal pthread mutex.
#pragma once

#include <pthread.h>

#include <string_view>

#include "jostle/chaos.h"
#include "jostle/contracts/condvar.h"
#include "mutex_pthread/pthread_mutex.h"

namespace jostle {

class PthreadCondvar {
 public:
  static constexpr std::string_view kPrimitive = "condvar";
  static constexpr std::string_view kName = "pthread";
  static constexpr std::string_view kDescription = "pthread_cond_t (CLOCK_MONOTONIC) over a normal pthread mutex";
  using Mutex = PthreadMutex;

  PthreadCondvar() {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv_, &attr);
    pthread_condattr_destroy(&attr);
  }
  ~PthreadCondvar() { pthread_cond_destroy(&cv_); }
  PthreadCondvar(const PthreadCondvar&) = delete;
  PthreadCondvar& operator=(const PthreadCondvar&) = delete;

  // The waits block inside glibc (no futex backend of ours under them): chaos BLOCKING hooks here.
  void wait(Mutex& m) {
    JOSTLE_CHAOS_BLOCKING_BEGIN("condvar.pthread.wait");
    pthread_cond_wait(&cv_, m.native());
    JOSTLE_CHAOS_BLOCKING_END("condvar.pthread.wait");
  }
  bool wait_for(Mutex& m, Nanos t) {
    const timespec deadline = to_timespec(now_ns() + (t < 0 ? 0 : t));
    JOSTLE_CHAOS_BLOCKING_BEGIN("condvar.pthread.timedwait");
    const int rc = pthread_cond_timedwait(&cv_, m.native(), &deadline);
    JOSTLE_CHAOS_BLOCKING_END("condvar.pthread.timedwait");
    return rc == 0;
  }
  void notify_one() { pthread_cond_signal(&cv_); }
  void notify_all() { pthread_cond_broadcast(&cv_); }

 private:
  pthread_cond_t cv_;
};
static_assert(CondvarBackend<PthreadCondvar>);

}  // namespace jostle
