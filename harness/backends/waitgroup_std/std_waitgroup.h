// The reference wait group: a counter under std::mutex and a std::condition_variable. No packed state and no
// fast path, so it is the obviously-correct baseline the packed backends are compared with.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "jostle/chaos.h"
#include "jostle/contracts/waitgroup.h"

namespace jostle {

class StdWaitGroup {
 public:
  static constexpr std::string_view kPrimitive = "waitgroup";
  static constexpr std::string_view kName = "wg.std";
  static constexpr std::string_view kDescription = "counter under std::mutex + std::condition_variable::notify_all";

  void start() { start(1); }
  void start(std::uint32_t n) {
    std::lock_guard<std::mutex> l(m_);
    count_ += n;
  }

  void finish() {
    // Notified under the lock: a waiter that returns may destroy the group at once, so the condition
    // variable must not be touched after the unlock.
    std::lock_guard<std::mutex> l(m_);
    if (--count_ == 0) cv_.notify_all();
  }

  void wait() {
    std::unique_lock<std::mutex> l(m_);
    while (count_ != 0) {
      JOSTLE_CHAOS_BLOCKING_BEGIN("wg.std.wait");
      cv_.wait(l);
      JOSTLE_CHAOS_BLOCKING_END("wg.std.wait");
    }
  }

  bool wait_for(Nanos timeout) {
    // steady_clock is CLOCK_MONOTONIC with libstdc++, the clock [wg.wait-for] is measured on.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout);
    std::unique_lock<std::mutex> l(m_);
    JOSTLE_CHAOS_BLOCKING_BEGIN("wg.std.wait_for");
    const bool done = cv_.wait_until(l, deadline, [&] { return count_ == 0; });
    JOSTLE_CHAOS_BLOCKING_END("wg.std.wait_for");
    return done;
  }

  bool is_done() {
    std::lock_guard<std::mutex> l(m_);
    return count_ == 0;
  }

  void reset() {
    std::lock_guard<std::mutex> l(m_);
    count_ = 0;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::uint32_t count_ = 0;
};

static_assert(TimedWaitGroupBackend<StdWaitGroup>);

}  // namespace jostle
