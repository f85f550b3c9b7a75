// Raw system calls the harness uses for its own plumbing (start gates, watchdog, probes). They never go
// through a backend under test, so a broken backend cannot break the machinery that observes it.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "jostle/clock.h"

namespace jostle::sys {

inline pid_t gettid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

inline std::uint32_t* word_ptr(std::atomic<std::uint32_t>& w) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t*>(&w);
}

// Returns 0 when woken (or spuriously), EAGAIN on a value mismatch, ETIMEDOUT, or EINTR.
inline int futex_wait(std::atomic<std::uint32_t>& w, std::uint32_t expected, Nanos rel_timeout = -1) {
  timespec ts;
  timespec* tsp = nullptr;
  if (rel_timeout >= 0) {
    ts = to_timespec(rel_timeout);
    tsp = &ts;
  }
  long rc = ::syscall(SYS_futex, word_ptr(w), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
  return rc == 0 ? 0 : errno;
}

inline int futex_wake(std::atomic<std::uint32_t>& w, int n = INT_MAX) {
  long rc = ::syscall(SYS_futex, word_ptr(w), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A spinlock on one atomic word for harness-internal bookkeeping (histogram overflow, event writes). Spins
// briefly, then parks on the raw futex.
class RawLock {
 public:
  void lock() {
    for (int i = 0; i < 100; ++i) {
      std::uint32_t expected = 0;
      if (state_.compare_exchange_weak(expected, 1, std::memory_order_acquire)) return;
      cpu_relax();
    }
    while (state_.exchange(2, std::memory_order_acquire) != 0) futex_wait(state_, 2);
  }
  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2) futex_wake(state_, 1);
  }

 private:
  std::atomic<std::uint32_t> state_{0};
};

class RawLockGuard {
 public:
  explicit RawLockGuard(RawLock& l) : l_(l) { l_.lock(); }
  ~RawLockGuard() { l_.unlock(); }
  RawLockGuard(const RawLockGuard&) = delete;
  RawLockGuard& operator=(const RawLockGuard&) = delete;

 private:
  RawLock& l_;
};

}  // namespace jostle::sys
