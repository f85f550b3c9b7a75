// `futex_epoch`: the algorithm of Zig's std.Thread.Condition (futex implementation), over any timed futex
// backend, with one correction (below). One 32-bit state word counts waiters (bits 0-10) and reserved signals
// (bits 11-21) and holds a wake generation (bits 22-31); waiters sleep on a separate epoch word that every wake
// bumps.
//
//   waiter: read epoch, register (waiters+1, noting the generation), unlock, sleep while epoch is unchanged,
//           then take a reserved signal (waiters-1, signals-1) if a wake came after it registered, or sleep again.
//   wake:   reserve signals for waiters that have none (all of them, or one) and advance the generation in one
//           CAS, bump the epoch, futex-wake every sleeper.
//
// The correction. In Zig's algorithm a reserved signal belongs to nobody: any registered waiter that wakes takes
// it. A waiter that returned from one notify_all and waited again can take a signal the same broadcast reserved
// for a waiter still on its way out (the waker's futex wake, running late, wakes the re-waiter instead), and that
// waiter goes back to sleep: [condvar.broadcast.all] and [condvar.signal.no-steal] broken (found by
// condvar/cv_broadcasting_wake_all under chaos sleeps and PCT). Here a waiter takes a signal only once the
// generation has moved past the one it registered in, i.e. only a signal reserved while it was registered.
// Because the kernel does not know which sleeper may take a signal, a wake futex-wakes all sleepers; the ones
// that may not take it sleep again. The generation is 10 bits: a waiter that stays unscheduled across exactly a
// multiple of 1024 wakes would wrongly wait on until the next one (accepted, like Zig's 32-bit epoch ABA).
//
// Mutants are this algorithm with one defect each (CondvarDefect), declared at the bottom with their catchers.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "futex_linux/linux_futex.h"
#include "jostle/chaos.h"
#include "jostle/contracts/condvar.h"
#include "jostle/contracts/futex.h"
#include "mutex_futex/futex_mutex.h"
#include "jostle/typelist.h"

namespace jostle {

enum class CondvarDefect {
  none,
  token_steal,           // a new waiter takes a signal reserved before it registered (glibc BZ 13165)
  steal_undo,            // a timing-out waiter gives a signal back without fixing the count (glibc BZ 25847)
  broadcast_as_signals,  // notify_all is a loop of notify_one (Zig #12877)
  timeout_swallow,       // a timing-out waiter takes a reserved signal and still reports a timeout
  wake_shared_key,       // sleeps on the private futex key, wakes the shared one: wakes reach nobody
  ms_timeout,            // timeouts truncated to whole milliseconds, and 0 ms means "no timeout"
};

template <TimedFutexBackend F, CondvarDefect D = CondvarDefect::none>
class FutexEpochCondvarT {
 public:
  static constexpr std::string_view kPrimitive = "condvar";
  static std::string name() { return name_over_futex<F>("futex_epoch"); }
  static bool available() { return backend_available<F>(); }
  static constexpr std::string_view kDescription =
      "Zig std.Thread.Condition's epoch + (waiters, signals) state algorithm over a futex";
  using Mutex = FutexMutex<F>;
  static constexpr bool kTimeoutKeepsSignal = true;  // a signal met by a timeout is reported as woken

  void wait(Mutex& m) { (void)wait_impl(m, -1); }
  bool wait_for(Mutex& m, Nanos t) { return wait_impl(m, t < 0 ? 0 : t); }
  void notify_one() { wake(false); }
  void notify_all() {
    if constexpr (D == CondvarDefect::broadcast_as_signals) {
      const std::uint32_t n = state_.load(std::memory_order_relaxed) & kWaiterMask;
      for (std::uint32_t i = 0; i < n; ++i) {
        wake(false);
        JOSTLE_CHAOS("condvar.broadcast.between-signals");
      }
    } else {
      wake(true);
    }
  }

 private:
  static constexpr std::uint32_t kOneWaiter = 1;
  static constexpr std::uint32_t kWaiterMask = 0x7ff;  // at most 2047 waiters
  static constexpr std::uint32_t kOneSignal = 1u << 11;
  static constexpr std::uint32_t kSignalMask = 0x7ffu << 11;
  static constexpr std::uint32_t kOneGeneration = 1u << 22;
  static constexpr std::uint32_t kGenerationMask = 0x3ffu << 22;

  // A signal in `state` may be taken by a waiter that registered in generation `gen`.
  static bool can_take(std::uint32_t state, std::uint32_t gen) {
    return (state & kSignalMask) != 0 && (state & kGenerationMask) != gen;
  }
  // The two timeout mutants decide "timed out" from the clock even when the futex reported a wake (a signal
  // that dequeued this waiter as its timer fired), and then mishandle the signal that wake came with.
  static constexpr bool kDeadlineFirst = D == CondvarDefect::timeout_swallow || D == CondvarDefect::steal_undo;

  // Returns true when woken by a signal (or spuriously), false when the timeout passed; timeout < 0 waits
  // without one.
  bool wait_impl(Mutex& m, Nanos timeout) {
    // The epoch is read before registering. T1 (waiter): load epoch e; register; unlock; sleep while epoch == e.
    // T2 (wake): sees T1 registered, reserves a signal, bumps epoch, wakes. If T2's bump lands before T1 sleeps,
    // T1's futex value check fails and it does not sleep, so the wake cannot be missed. Acquire pairs with the
    // waker's release bump.
    std::uint32_t epoch = epoch_.load(std::memory_order_acquire);
    std::uint32_t state = state_.fetch_add(kOneWaiter, std::memory_order_relaxed);
    const std::uint32_t gen = state & kGenerationMask;
    if constexpr (D == CondvarDefect::token_steal) {
      // The defect: a signal reserved for the waiters already blocked is taken by this newcomer.
      state += kOneWaiter;
      while ((state & kSignalMask) != 0) {
        if (state_.compare_exchange_weak(state, state - kOneWaiter - kOneSignal, std::memory_order_acquire,
                                         std::memory_order_relaxed))
          return true;
      }
    }
    m.unlock();
    JOSTLE_CHAOS("condvar.wait.after-unlock");
    // chaos::Deadline: the monotonic clock, or under PCT with vclock=1 the schedule's (docs/amplification.md).
    const chaos::Deadline deadline = chaos::Deadline::after(timeout < 0 ? 0 : timeout, kScheduleTimed<F>);
    bool woken = true;
    for (;;) {
      if (timeout < 0) {
        F::wait(epoch_, epoch);
      } else if (!timed_sleep(epoch, deadline) || (kDeadlineFirst && deadline.left() <= 0)) {
        woken = on_timeout(gen);
        if (!woken) deadline.floor();
        break;
      }
      epoch = epoch_.load(std::memory_order_acquire);
      state = state_.load(std::memory_order_relaxed);
      bool consumed = false;
      while (can_take(state, gen)) {
        // Acquire pairs with the waker's release CAS: what it wrote before notifying is visible.
        if (state_.compare_exchange_weak(state, state - kOneWaiter - kOneSignal, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
          consumed = true;
          break;
        }
      }
      if (consumed) break;
    }
    m.lock();
    return woken;
  }

  // Sleeps on the epoch until it changes, a wake, or the deadline. False once the deadline has passed.
  bool timed_sleep(std::uint32_t epoch, const chaos::Deadline& deadline) {
    const Nanos left = deadline.left();
    if constexpr (D == CondvarDefect::ms_timeout) {
      const Nanos ms = left / kMilli;  // the defect: truncation, and 0 taken as "no timeout"
      if (ms <= 0) {
        F::wait(epoch_, epoch);
        return true;
      }
      return F::timed_wait(epoch_, epoch, ms * kMilli) != FutexStatus::timed_out;
    } else {
      if (left <= 0) return false;
      if (F::timed_wait(epoch_, epoch, left) != FutexStatus::timed_out) return true;
      return deadline.left() > 0;  // a futex timeout is final only when our own deadline agrees
    }
  }

  // The timer fired: deregister, unless a signal was reserved meanwhile, which must not be lost.
  bool on_timeout(std::uint32_t gen) {
    JOSTLE_CHAOS("condvar.timeout.before-deregister");
    std::uint32_t state = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (can_take(state, gen)) {
        if constexpr (D == CondvarDefect::steal_undo) {
          // The defect: "give back" the signal by leaving it reserved and waking someone, without lowering the
          // signal count to match the waiters that remain.
          if (state_.compare_exchange_weak(state, state - kOneWaiter, std::memory_order_relaxed,
                                           std::memory_order_relaxed)) {
            epoch_.fetch_add(1, std::memory_order_release);
            wake_futex(1);
            return false;
          }
        } else {
          if (state_.compare_exchange_weak(state, state - kOneWaiter - kOneSignal, std::memory_order_acquire,
                                           std::memory_order_relaxed))
            return D != CondvarDefect::timeout_swallow;  // the swallow defect reports the taken signal as a timeout
        }
      } else if (state_.compare_exchange_weak(state, state - kOneWaiter, std::memory_order_relaxed,
                                              std::memory_order_relaxed)) {
        return false;
      }
    }
  }

  void wake(bool all) {
    std::uint32_t state = state_.load(std::memory_order_relaxed);
    for (;;) {
      const int waiters = static_cast<int>(state & kWaiterMask);
      const int signals = static_cast<int>((state & kSignalMask) >> 11);
      // Signals are never more than waiters; waiters that already have one need no futex wake.
      const int wakeable = waiters - signals;
      if (wakeable <= 0) return;
      const int n = all ? wakeable : 1;
      // The generation lives in the top bits: its increment wraps off the word.
      if (state_.compare_exchange_weak(state, state + static_cast<std::uint32_t>(n) * kOneSignal + kOneGeneration,
                                       std::memory_order_release, std::memory_order_relaxed)) {
        epoch_.fetch_add(1, std::memory_order_release);
        JOSTLE_CHAOS("condvar.wake.before-futex-wake");
        wake_futex(kWakeEveryone);
        return;
      }
    }
  }

  static constexpr int kWakeEveryone = 0x7fffffff;

  void wake_futex(int n) {
    if constexpr (D == CondvarDefect::wake_shared_key) {
      LinuxSharedFutex::wake(epoch_, n);
    } else {
      F::wake(epoch_, n);
    }
  }

  FutexWord state_{0};
  FutexWord epoch_{0};
};

template <TimedFutexBackend F>
using FutexEpochCondvar = FutexEpochCondvarT<F>;
static_assert(CondvarBackend<FutexEpochCondvar<LinuxFutex>>);

template <CondvarDefect D>
using EpochMutantBase = FutexEpochCondvarT<LinuxFutex, D>;

struct MutantCvTokenSteal : EpochMutantBase<CondvarDefect::token_steal> {
  static constexpr std::string_view kName = "mutant.condvar.token_steal";
  static constexpr std::string_view kDescription =
      "a waiter takes any reserved signal on entry, even one sent before it started waiting";
  static constexpr std::string_view kCatches = "condvar/cv_signal_before_wait_not_taken";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "glibc BZ 13165 (fix ed19993b5b); golang/go #14064";
};
struct MutantCvStealUndo : EpochMutantBase<CondvarDefect::steal_undo> {
  static constexpr std::string_view kName = "mutant.condvar.steal_undo_miscount";
  static constexpr std::string_view kDescription =
      "a timing-out waiter hands its reserved signal back without fixing the signal count";
  static constexpr std::string_view kCatches = "condvar/cv_timeout_signal_conservation";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "glibc BZ 25847 (fixes 1db84775f8, b42cc6af11)";
};
struct MutantCvBroadcastAsSignals : EpochMutantBase<CondvarDefect::broadcast_as_signals> {
  static constexpr std::string_view kName = "mutant.condvar.broadcast_as_signals";
  static constexpr std::string_view kDescription =
      "notify_all signals the registered waiters one by one; a waiter that re-waits absorbs a wakeup";
  static constexpr std::string_view kCatches = "condvar/cv_broadcasting_wake_all";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "ziglang/zig #12877 (fix PR #13577)";
};
struct MutantCvTimeoutSwallow : EpochMutantBase<CondvarDefect::timeout_swallow> {
  static constexpr std::string_view kName = "mutant.condvar.timeout_swallows_signal";
  static constexpr std::string_view kDescription =
      "a waiter whose timer fired takes the signal reserved for it and still reports a timeout";
  static constexpr std::string_view kCatches = "condvar/cv_timeout_signal_handoff";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "wasmtime PR #5871, #7623 -> #7629; Zig Condition timeout path";
};
struct MutantCvWakeSharedKey : EpochMutantBase<CondvarDefect::wake_shared_key> {
  static constexpr std::string_view kName = "mutant.condvar.wake_wrong_key";
  static constexpr std::string_view kDescription =
      "waits with FUTEX_WAIT_PRIVATE but wakes with FUTEX_WAKE (shared key): wakeups reach no sleeper";
  static constexpr std::string_view kCatches =
      "condvar/cv_one_signal_one_waiter,condvar/cv_broadcast_parked,condvar/cv_unlocked_signals_exact,"
      "condvar/cv_wait_and_signal,condvar/cv_signal,condvar/cv_multi_signal,condvar/cv_broadcast,"
      "condvar/cv_destroy_after_last_waiter";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "private/shared futex flag mismatch between wait and wake (the key the kernel hashes differs)";
};
struct MutantCvMsTimeout : EpochMutantBase<CondvarDefect::ms_timeout> {
  static constexpr std::string_view kName = "mutant.condvar.ms_timeout";
  static constexpr std::string_view kDescription =
      "timeouts truncated to whole milliseconds (early wakeups) and 0 ms read as 'wait forever'";
  static constexpr std::string_view kCatches =
      "condvar/cv_smoke,condvar/cv_timeout_not_early,condvar/cv_past_deadline_prompt";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "gcc PR 68519 (duration rounding woke early); libuv ms timers";
};

using FutexEpochCondvarMutants = TypeList<MutantCvTokenSteal, MutantCvStealUndo, MutantCvBroadcastAsSignals,
                                          MutantCvTimeoutSwallow, MutantCvWakeSharedKey, MutantCvMsTimeout>;

}  // namespace jostle
