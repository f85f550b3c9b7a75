// `std`: std::condition_variable with std::mutex (libstdc++ waits on CLOCK_MONOTONIC for wait_for).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/contracts/condvar.h"
#include "mutex_std/std_mutex.h"

namespace jostle {

class StdCondvar {
 public:
  static constexpr std::string_view kPrimitive = "condvar";
  static constexpr std::string_view kName = "std";
  static constexpr std::string_view kDescription = "std::condition_variable over std::mutex";
  using Mutex = StdMutex;

  // The waits block inside libstdc++/glibc (no futex backend of ours under them): chaos BLOCKING hooks here.
  void wait(Mutex& m) {
    std::unique_lock<std::mutex> lk(m.native(), std::adopt_lock);
    JOSTLE_CHAOS_BLOCKING_BEGIN("condvar.std.wait");
    cv_.wait(lk);
    JOSTLE_CHAOS_BLOCKING_END("condvar.std.wait");
    lk.release();
  }
  bool wait_for(Mutex& m, Nanos t) {
    std::unique_lock<std::mutex> lk(m.native(), std::adopt_lock);
    JOSTLE_CHAOS_BLOCKING_BEGIN("condvar.std.wait_for");
    const auto st = cv_.wait_for(lk, std::chrono::nanoseconds(t));
    JOSTLE_CHAOS_BLOCKING_END("condvar.std.wait_for");
    lk.release();
    return st == std::cv_status::no_timeout;
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};
static_assert(CondvarBackend<StdCondvar>);

}  // namespace jostle
