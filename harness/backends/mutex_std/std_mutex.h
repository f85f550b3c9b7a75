// `std`: std::mutex, the baseline every other mutex is compared with.
// `std_timed`: std::timed_mutex; try_lock_for waits on steady_clock (libstdc++: pthread_mutex_clocklock on
// CLOCK_MONOTONIC).
//
// Both block inside libstdc++/glibc, not through a futex backend of ours, so the blocking calls carry the
// chaos BLOCKING hooks themselves (the PCT scheduler hands its token over instead of waiting for a sleeper).
#pragma once

#include <chrono>
#include <mutex>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/contracts/mutex.h"
#include "mutex_pthread/tsan_lock_annotations.h"

namespace jostle {

struct StdMutex {
  static constexpr std::string_view kPrimitive = "mutex";
  static constexpr std::string_view kName = "std";
  static constexpr std::string_view kDescription = "std::mutex (libstdc++ over pthread_mutex_t)";

  void lock() {
    JOSTLE_CHAOS_BLOCKING_BEGIN("mutex.std.lock");
    m_.lock();
    JOSTLE_CHAOS_BLOCKING_END("mutex.std.lock");
  }
  bool try_lock() { return m_.try_lock(); }
  void unlock() { m_.unlock(); }
  std::mutex& native() { return m_; }

 private:
  std::mutex m_;
};
static_assert(MutexBackend<StdMutex>);

struct StdTimedMutex {
  static constexpr std::string_view kPrimitive = "mutex";
  static constexpr std::string_view kName = "std_timed";
  static constexpr std::string_view kDescription = "std::timed_mutex (try_lock_for on steady_clock)";

  void lock() {
    JOSTLE_CHAOS_BLOCKING_BEGIN("mutex.std_timed.lock");
    m_.lock();
    JOSTLE_CHAOS_BLOCKING_END("mutex.std_timed.lock");
  }
  bool try_lock() { return m_.try_lock(); }
  bool try_lock_for(Nanos t) {
    // libstdc++ waits with pthread_mutex_clocklock, which TSan does not intercept.
    TsanTimedLock tsan(m_.native_handle(), false);
    JOSTLE_CHAOS_BLOCKING_BEGIN("mutex.std_timed.try_lock_for");
    const bool got = m_.try_lock_for(std::chrono::nanoseconds(t));
    JOSTLE_CHAOS_BLOCKING_END("mutex.std_timed.try_lock_for");
    tsan.done(got);
    return got;
  }
  void unlock() { m_.unlock(); }

 private:
  std::timed_mutex m_;
};
static_assert(TimedMutexBackend<StdTimedMutex>);

}  // namespace jostle
