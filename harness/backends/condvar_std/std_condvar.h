// `std`: std::condition_variable with std::mutex (libstdc++ waits on CLOCK_MONOTONIC for wait_for).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>

#include "jostle/contracts/condvar.h"
#include "mutex_std/std_mutex.h"

namespace jostle {

class StdCondvar {
 public:
  static constexpr std::string_view kName = "std";
  static constexpr std::string_view kDescription = "std::condition_variable over std::mutex";
  using Mutex = StdMutex;

  void wait(Mutex& m) {
    std::unique_lock<std::mutex> lk(m.native(), std::adopt_lock);
    cv_.wait(lk);
    lk.release();
  }
  bool wait_for(Mutex& m, Nanos t) {
    std::unique_lock<std::mutex> lk(m.native(), std::adopt_lock);
    const auto st = cv_.wait_for(lk, std::chrono::nanoseconds(t));
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
