// `linux`: the raw futex(2) syscall on a process-private word. The kernel makes the value check and the
// enqueue one step under its hash-bucket lock, which is exactly [futex.wait.no-lost-wake].
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "jostle/chaos.h"
#include "jostle/contracts/futex.h"

namespace jostle {

template <bool Shared>
struct LinuxFutexT {
  static constexpr std::string_view kName = Shared ? "linux_shared" : "linux";
  static constexpr std::string_view kDescription =
      Shared ? "futex(2) without FUTEX_PRIVATE_FLAG: works on MAP_SHARED memory across processes"
             : "futex(2) with FUTEX_PRIVATE_FLAG";
  static constexpr bool kCountsWakes = true;
  static constexpr bool kProcessShared = Shared;
  static constexpr int kWaitOp = Shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE;
  static constexpr int kWakeOp = Shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE;

  static std::uint32_t* addr(FutexWord& w) { return reinterpret_cast<std::uint32_t*>(&w); }

  static void wait(FutexWord& w, std::uint32_t expected) {
    JOSTLE_CHAOS("futex.wait.before");
    ::syscall(SYS_futex, addr(w), kWaitOp, expected, nullptr, nullptr, 0);
    JOSTLE_CHAOS("futex.wait.after");
  }

  static FutexStatus timed_wait(FutexWord& w, std::uint32_t expected, Nanos timeout) {
    JOSTLE_CHAOS("futex.wait.before");
    // Relative FUTEX_WAIT timeouts are measured on CLOCK_MONOTONIC. An EINTR restart re-arms the full relative
    // timeout, so keep an absolute deadline and recompute the remainder.
    const Nanos deadline = now_ns() + timeout;
    for (;;) {
      const Nanos left = deadline - now_ns();
      if (left <= 0) return FutexStatus::timed_out;
      timespec ts = to_timespec(left);
      long rc = ::syscall(SYS_futex, addr(w), kWaitOp, expected, &ts, nullptr, 0);
      JOSTLE_CHAOS("futex.wait.after");
      if (rc == 0) return FutexStatus::woken;
      if (errno == EAGAIN) return FutexStatus::value_changed;
      if (errno == ETIMEDOUT) return FutexStatus::timed_out;
      if (errno != EINTR) return FutexStatus::woken;  // EFAULT/EINVAL cannot happen on a valid word
      return FutexStatus::woken;                      // EINTR: a spurious return, callers re-check
    }
  }

  static int wake(FutexWord& w, int n) {
    JOSTLE_CHAOS("futex.wake.before");
    if (n <= 0) return 0;
    long rc = ::syscall(SYS_futex, addr(w), kWakeOp, n, nullptr, nullptr, 0);
    return rc < 0 ? 0 : static_cast<int>(rc);
  }
};

using LinuxFutex = LinuxFutexT<false>;
using LinuxSharedFutex = LinuxFutexT<true>;
static_assert(TimedFutexBackend<LinuxFutex>);
static_assert(TimedFutexBackend<LinuxSharedFutex>);

}  // namespace jostle
