// `linux`: the raw futex(2) syscall on a process-private word. The kernel makes the value check and the
// enqueue one step under its hash-bucket lock, which is exactly [futex.wait.no-lost-wake].
// `linux_shared`: the same without FUTEX_PRIVATE_FLAG, keyed by the page, so it works across processes.
//
// The mutants here are the same code with one `LinuxDefect` switched on.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "jostle/chaos.h"
#include "jostle/contracts/futex.h"
#include "jostle/typelist.h"

namespace jostle {

enum class LinuxDefect {
  none,
  early_timeout,        // the deadline is computed ~0.5-1 ms short (Node's early waitAsync timer, libuv#4773)
  wake_zero_wakes_one,  // wake(0) passed to the kernel, whose FUTEX_WAKE with nr_wake = 0 still wakes one
  shared_uses_private,  // claims process-shared but keeps FUTEX_PRIVATE_FLAG (pshared flag ignored)
};

template <bool Shared, LinuxDefect D = LinuxDefect::none>
struct LinuxFutexT {
  static constexpr std::string_view kPrimitive = "futex";
  static constexpr bool kCountsWakes = true;
  static constexpr bool kProcessShared = Shared;
  static constexpr bool kPrivateOps = !Shared || D == LinuxDefect::shared_uses_private;
  static constexpr int kWaitOp = kPrivateOps ? FUTEX_WAIT_PRIVATE : FUTEX_WAIT;
  static constexpr int kWakeOp = kPrivateOps ? FUTEX_WAKE_PRIVATE : FUTEX_WAKE;

  static std::uint32_t* addr(FutexWord& w) { return reinterpret_cast<std::uint32_t*>(&w); }

  static void wait(FutexWord& w, std::uint32_t expected) {
    JOSTLE_CHAOS("futex.wait.before");
    JOSTLE_CHAOS_BLOCKING_BEGIN("futex.wait");
    // EINTR (a signal handler without SA_RESTART): wait again, the kernel re-checks the value. The strict profile
    // returns for a wake or a changed value only.
    while (::syscall(SYS_futex, addr(w), kWaitOp, expected, nullptr, nullptr, 0) != 0 && errno == EINTR) {
    }
    JOSTLE_CHAOS_BLOCKING_END("futex.wait");
    JOSTLE_CHAOS("futex.wait.after");
  }

  static constexpr bool kScheduleTimed = true;  // timed_wait goes through chaos::timed_wait
  static FutexStatus timed_wait(FutexWord& w, std::uint32_t expected, Nanos timeout) {
    JOSTLE_CHAOS("futex.wait.before");
    // Relative FUTEX_WAIT timeouts are measured on CLOCK_MONOTONIC. An EINTR restart would re-arm the full
    // relative timeout, so keep an absolute deadline and recompute the remainder.
    Nanos deadline = now_ns() + timeout;
    if constexpr (D == LinuxDefect::early_timeout) {
      // The defect: a timer rounded to the wrong side, up to a millisecond early.
      deadline -= 500 * kMicro + static_cast<Nanos>(reinterpret_cast<std::uintptr_t>(&w) >> 4) % (500 * kMicro);
    }
    const Nanos left = deadline - now_ns();
    if (timeout <= 0 || left <= 0) {
      // Non-blocking: report the value check first, as a zero-timeout FUTEX_WAIT would.
      return w.load(std::memory_order_relaxed) != expected ? FutexStatus::value_changed : FutexStatus::timed_out;
    }
    // No JOSTLE_CHAOS_TIMEOUT here: the kernel decides timer against wake atomically, so there is no user-space
    // window to widen, and a waiter faking a timeout outside the kernel queue would look parked to the probe
    // while a wake could not reach it.
    for (Nanos rest = left;;) {
      // chaos::timed_wait: one FUTEX_WAIT here, or under PCT with vclock=1 slices of it until the schedule
      // decides the timeout (never before the deadline).
      const int err = chaos::timed_wait("futex.timed_wait", rest, [&](const timespec* ts) {
        return ::syscall(SYS_futex, addr(w), kWaitOp, expected, ts, nullptr, 0) == 0 ? 0 : errno;
      });
      const long rc = err == 0 ? 0 : -1;
      if (rc != 0 && err == EINTR) {
        // A signal handler ran (timed FUTEX_WAIT returns EINTR even under SA_RESTART). The strict profile
        // promises no spurious return, so wait out the rest; preempt mode found this (docs/amplification.md).
        rest = deadline - now_ns();
        if (rest > 0) continue;
        JOSTLE_CHAOS("futex.wait.after");
        return w.load(std::memory_order_relaxed) != expected ? FutexStatus::value_changed : FutexStatus::timed_out;
      }
      JOSTLE_CHAOS("futex.wait.after");
      if (rc == 0) return FutexStatus::woken;
      if (err == EAGAIN) return FutexStatus::value_changed;
      return FutexStatus::timed_out;
    }
  }

  static int wake(FutexWord& w, int n) {
    JOSTLE_CHAOS("futex.wake.before");
    // FUTEX_WAKE with nr_wake = 0 wakes one waiter (the kernel counts after waking), hence the guard.
    if (D != LinuxDefect::wake_zero_wakes_one && n <= 0) return 0;
    long rc = ::syscall(SYS_futex, addr(w), kWakeOp, n, nullptr, nullptr, 0);
    return rc < 0 ? 0 : static_cast<int>(rc);
  }
};

struct LinuxFutex : LinuxFutexT<false> {
  static constexpr std::string_view kName = "linux";
  static constexpr std::string_view kDescription = "futex(2) with FUTEX_PRIVATE_FLAG";
  static constexpr std::string_view kProfile = "strict";
};

struct LinuxSharedFutex : LinuxFutexT<true> {
  static constexpr std::string_view kName = "linux_shared";
  static constexpr std::string_view kDescription =
      "futex(2) without FUTEX_PRIVATE_FLAG: works on MAP_SHARED memory across processes";
  static constexpr std::string_view kProfile = "strict";
};

struct MutantEarlyTimeout : LinuxFutexT<false, LinuxDefect::early_timeout> {
  static constexpr std::string_view kName = "mutant.futex.early_timeout";
  static constexpr std::string_view kDescription = "linux whose timed wait gives up 0.5-1 ms before its deadline";
  static constexpr std::string_view kCatches = "futex/timed_wait_timeout,futex/deadline_loop";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "Node's early waitAsync timer (libuv#4773)";
};

struct MutantWakeZeroWakesOne : LinuxFutexT<false, LinuxDefect::wake_zero_wakes_one> {
  static constexpr std::string_view kName = "mutant.futex.wake_zero_wakes_one";
  static constexpr std::string_view kDescription =
      "linux passing wake(0) to the kernel, whose FUTEX_WAKE with nr_wake = 0 wakes one waiter";
  static constexpr std::string_view kCatches = "futex/wake_n_exact";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "futex(2) nr_wake = 0 quirk; Zig Futex.wake's early return for 0";
};

struct MutantSharedUsesPrivate : LinuxFutexT<true, LinuxDefect::shared_uses_private> {
  static constexpr std::string_view kName = "mutant.futex.shared_uses_private";
  static constexpr std::string_view kDescription =
      "claims process-shared but keeps FUTEX_PRIVATE_FLAG: a wake from another process never reaches the waiter";
  static constexpr std::string_view kCatches = "futex/cross_process";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "pshared attributes ignored by futex users (private flag on shared memory)";
};

static_assert(TimedFutexBackend<LinuxFutex>);
static_assert(TimedFutexBackend<LinuxSharedFutex>);

using LinuxFutexMutants = TypeList<MutantEarlyTimeout, MutantWakeZeroWakesOne, MutantSharedUsesPrivate>;

}  // namespace jostle
