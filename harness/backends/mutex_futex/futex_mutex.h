// `futex`: the three-state futex mutex (0 free, 1 locked, 2 locked with possible waiters; the "mutex2" of
// Drepper's "Futexes Are Tricky"), over any futex backend. `recursive`: owner tracking and a recursion count
// over any mutex, with the semantics a VM's threading layer gives its locks.
//
// try_lock_for (over a timed futex backend): the same states. Every attempt is an exchange(2), so a locker that
// gives up at its deadline has just left the word at 2 while someone else held it: the holder's unlock still
// wakes a sleeper. It never resets the word to 1 on its way out (it cannot know whether others sleep), and a
// futex wake it received is never dropped: after any return from the wait it tries the exchange before it
// looks at the clock.
//
// Mutants (each the correct algorithm with one defect, chosen by a template flag):
//   mutant.mutex.waiters_flag_dropped      a woken acquirer stores 1 instead of 2 (musl 0db393d3, glibc BZ 20973)
//   mutant.mutex.timeout_clears_contended  a timed-out locker puts the word back to 1: sleepers are stranded
//   mutant.mutex.timed_ms_deadline         try_lock_for truncates its timeout to whole ms; 0 ms waits forever
//   mutant.mutex.timed_wake_means_owned    a timed locker woken by an unlock returns true without taking it
//   mutant.mutex.recursive_owner_unchecked the recursive lock trusts its count instead of comparing the owner
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "futex_linux/linux_futex.h"
#include "jostle/chaos.h"
#include "jostle/contracts/futex.h"
#include "jostle/contracts/mutex.h"
#include "jostle/typelist.h"

#ifndef JOSTLE_FUTEX_MUTEX_SPIN
#define JOSTLE_FUTEX_MUTEX_SPIN 16
#endif

namespace jostle {

// "base" over the real futex, "base+F" over any other futex backend (a plugin's, an emulation).
template <class F>
std::string name_over_futex(std::string_view base) {
  if constexpr (std::is_same_v<F, LinuxFutex>) {
    return std::string(base);
  } else {
    return std::string(base) + "+" + backend_name<F>();
  }
}

inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

enum class FutexMutexDefect {
  none,
  waiters_flag_dropped,
  timeout_clears_contended,  // try_lock_for: on timeout, 2 -> 1 ("I no longer wait")
  timed_ms_deadline,         // try_lock_for: the timeout truncated to whole ms, 0 ms read as "no timeout"
  timed_wake_means_owned,    // try_lock_for: a futex wake is taken as the lock handed over
};

template <FutexBackend F, FutexMutexDefect D = FutexMutexDefect::none>
class FutexMutexT {
 public:
  static constexpr std::string_view kPrimitive = "mutex";
  static std::string name() {
    if constexpr (D == FutexMutexDefect::waiters_flag_dropped) {
      return name_over_futex<F>("mutant.mutex.waiters_flag_dropped");
    } else if constexpr (D == FutexMutexDefect::timeout_clears_contended) {
      return name_over_futex<F>("mutant.mutex.timeout_clears_contended");
    } else if constexpr (D == FutexMutexDefect::timed_ms_deadline) {
      return name_over_futex<F>("mutant.mutex.timed_ms_deadline");
    } else if constexpr (D == FutexMutexDefect::timed_wake_means_owned) {
      return name_over_futex<F>("mutant.mutex.timed_wake_means_owned");
    } else {
      return name_over_futex<F>("futex");
    }
  }
  static bool available() { return backend_available<F>(); }
  static constexpr std::string_view kDescription =
      D == FutexMutexDefect::none
          ? "three-state futex mutex (0 free, 1 locked, 2 contended), brief spin then futex wait"
      : D == FutexMutexDefect::waiters_flag_dropped
          ? "futex mutex whose woken acquirer takes the lock as 1 (uncontended), dropping the waiters flag"
      : D == FutexMutexDefect::timeout_clears_contended
          ? "futex mutex whose timed-out locker sets the word back to 1, so the next unlock wakes nobody"
      : D == FutexMutexDefect::timed_ms_deadline
          ? "futex mutex whose timed lock truncates to whole milliseconds and takes 0 ms as 'wait forever'"
          : "futex mutex whose timed locker, woken by an unlock, reports the lock as its own without taking it";

  static constexpr int kSpin = JOSTLE_FUTEX_MUTEX_SPIN;

  void lock() {
    std::uint32_t c = 0;
    if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire, std::memory_order_relaxed)) return;
    // A short spin: on two cores the holder is often running and about to unlock.
    for (int i = 0; i < kSpin && c != 2; ++i) {
      spin_pause();
      c = state_.load(std::memory_order_relaxed);
      if (c == 0 && state_.compare_exchange_weak(c, 1, std::memory_order_acquire, std::memory_order_relaxed))
        return;
    }
    // From here on we may sleep, so the word says 2: whoever unlocks must wake someone. A thread that takes the
    // lock after sleeping also stores 2, because it cannot know whether others still sleep.
    if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
    while (c != 0) {
      JOSTLE_CHAOS("mutex.futex.before-wait");
      F::wait(state_, 2);
      if constexpr (D == FutexMutexDefect::waiters_flag_dropped) {
        std::uint32_t expected = 0;
        if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed))
          return;  // the defect: other sleepers are forgotten
      }
      c = state_.exchange(2, std::memory_order_acquire);
    }
  }

  bool try_lock() {
    std::uint32_t c = 0;
    return state_.compare_exchange_strong(c, 1, std::memory_order_acquire, std::memory_order_relaxed);
  }

  // Takes the lock or gives up once `t` has passed on the monotonic clock; t <= 0 is a try_lock.
  bool try_lock_for(Nanos t)
    requires TimedFutexBackend<F>
  {
    if (try_lock()) return true;
    Nanos timeout = t;
    if constexpr (D == FutexMutexDefect::timed_ms_deadline) {
      timeout = t / kMilli * kMilli;  // the defect: whole milliseconds, and 0 below means "forever"
      if (timeout <= 0) {
        lock();
        return true;
      }
    }
    if (timeout <= 0) return false;
    // chaos::Deadline: the monotonic clock, or under PCT with vclock=1 the schedule's (docs/amplification.md).
    const chaos::Deadline deadline = chaos::Deadline::after(timeout, kScheduleTimed<F>);
    // Exchange first, clock second: whatever woke us (the unlock's wake included), the word says 2 again
    // before we may leave, so the holder's unlock wakes whoever still sleeps.
    while (state_.exchange(2, std::memory_order_acquire) != 0) {
      const Nanos left = deadline.left();
      if (left <= 0) {
        if constexpr (D == FutexMutexDefect::timeout_clears_contended) {
          // The defect: "I no longer wait", as if this locker had been the only sleeper.
          std::uint32_t two = 2;
          (void)state_.compare_exchange_strong(two, 1, std::memory_order_relaxed, std::memory_order_relaxed);
        }
        deadline.floor();
        return false;
      }
      JOSTLE_CHAOS("mutex.futex.timed.before-wait");
      const FutexStatus st = F::timed_wait(state_, 2, left);
      if constexpr (D == FutexMutexDefect::timed_wake_means_owned) {
        if (st == FutexStatus::woken) return true;  // the defect: a wake is not a hand-over
      }
    }
    return true;
  }

  void unlock() {
    // Release pairs with the acquiring exchange/CAS; a 2 means someone may sleep and must be woken.
    if (state_.exchange(0, std::memory_order_release) == 2) {
      JOSTLE_CHAOS("mutex.futex.before-wake");
      F::wake(state_, 1);
    }
  }

 private:
  FutexWord state_{0};
};

template <FutexBackend F>
using FutexMutex = FutexMutexT<F>;
// mutex_contended_exclusion also hangs on it, but only in about 2 runs of 5: too weak to be a declared catcher
// (the ctest mutant gate would flake), so it stays informative.
struct MutantWaitersFlagDropped : FutexMutexT<LinuxFutex, FutexMutexDefect::waiters_flag_dropped> {
  static constexpr std::string_view kCatches = "condvar/mutex_churn";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "musl 0db393d3; glibc 353683a22e (BZ 20973)";
};
// The timed-lock mutants. Each is caught by the case written for its property; the hanging one (the stranded
// sleeper) ends with every thread in an untimed futex wait, which the watchdog reports within ~0.2 s.
struct MutantTimeoutClearsContended : FutexMutexT<LinuxFutex, FutexMutexDefect::timeout_clears_contended> {
  static constexpr std::string_view kCatches = "condvar/mutex_timed_no_stranding";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "timed futex locks that 'undo' their contended mark on timeout (the 3-state mutex's classic trylock/"
      "timedlock pitfall, Drepper 'Futexes Are Tricky'; glibc lll_timedlock keeps 2)";
};
struct MutantTimedMsDeadline : FutexMutexT<LinuxFutex, FutexMutexDefect::timed_ms_deadline> {
  static constexpr std::string_view kCatches = "condvar/mutex_timed_not_early,condvar/mutex_timed_past_deadline";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "gcc PR 68519 (duration rounding woke early); poll/epoll-style ms timeouts where <= 0 ms meant infinite";
};
struct MutantTimedWakeMeansOwned : FutexMutexT<LinuxFutex, FutexMutexDefect::timed_wake_means_owned> {
  static constexpr std::string_view kCatches =
      "condvar/mutex_timed_handoff_at_deadline,condvar/mutex_timed_exclusion";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource =
      "locks that assume unlock hands ownership to the woken waiter (a barging mutex does not)";
};
static_assert(MutexBackend<FutexMutex<LinuxFutex>>);
static_assert(TimedMutexBackend<FutexMutex<LinuxFutex>>);
static_assert(MutexBackend<MutantWaitersFlagDropped>);

// The calling thread's identity for owner tracking: the address of a thread_local, never 0.
inline std::uintptr_t self_token() {
  static thread_local char tag;
  return reinterpret_cast<std::uintptr_t>(&tag);
}

template <MutexBackend Inner, bool OwnerUnchecked = false>
class RecursiveMutexT {
 public:
  static constexpr std::string_view kPrimitive = "mutex";
  static std::string name() {
    if constexpr (OwnerUnchecked) {
      return "mutant.mutex.recursive_owner_unchecked";
    } else if constexpr (std::is_same_v<Inner, FutexMutex<LinuxFutex>>) {
      return "recursive";
    } else {
      return "recursive+" + backend_name<Inner>();
    }
  }
  static bool available() { return backend_available<Inner>(); }
  static constexpr std::string_view kDescription =
      OwnerUnchecked ? "recursive mutex that decides 'I hold it' from the recursion count, not the owner"
                     : "recursive mutex: owner, recursion count, try_lock, non-owner unlock rejected";
  static constexpr bool kRecursive = true;

  void lock() { (void)checked_lock(); }
  LockResult checked_lock() {
    if (held_by_me()) {
      ++count_;
      return LockResult::ok;
    }
    inner_.lock();
    take();
    return LockResult::ok;
  }
  bool try_lock() {
    if (held_by_me()) {
      ++count_;
      return true;
    }
    if (!inner_.try_lock()) return false;
    take();
    return true;
  }
  bool try_lock_for(Nanos t)
    requires TimedMutexBackend<Inner>
  {
    if (held_by_me()) {
      ++count_;
      return true;
    }
    if (!inner_.try_lock_for(t)) return false;
    take();
    return true;
  }
  void unlock() { (void)checked_unlock(); }
  LockResult checked_unlock() {
    if (!held_by_me()) return LockResult::not_owner;
    if (--count_ == 0) {
      owner_.store(0, std::memory_order_relaxed);
      inner_.unlock();
    }
    return LockResult::ok;
  }
  int recursion_count() const { return count_.load(std::memory_order_relaxed); }

 private:
  // Only the owner writes owner_ and count_; another thread can read owner_ concurrently but never sees its
  // own token there, so a relaxed load is enough.
  bool held_by_me() const {
    if constexpr (OwnerUnchecked) {
      return count_.load(std::memory_order_relaxed) > 0;
    } else {
      return owner_.load(std::memory_order_relaxed) == self_token();
    }
  }
  void take() {
    owner_.store(self_token(), std::memory_order_relaxed);
    count_.store(1, std::memory_order_relaxed);
  }

  Inner inner_;
  std::atomic<std::uintptr_t> owner_{0};
  std::atomic<int> count_{0};
};

using RecursiveMutex = RecursiveMutexT<FutexMutex<LinuxFutex>>;
// The algorithm as the backend map composes it: over every mutex that is not recursive already.
template <MutexBackend M>
  requires(!RecursiveMutexBackend<M>)
using RecursiveOver = RecursiveMutexT<M>;
struct MutantRecursiveOwnerUnchecked : RecursiveMutexT<FutexMutex<LinuxFutex>, true> {
  static constexpr std::string_view kCatches =
      "condvar/mutex_smoke,condvar/mutex_owner_semantics,condvar/mutex_contended_exclusion";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "hand-written reentrant locks that test 'held' instead of 'held by me' (a recurring VM lock bug)";
};
static_assert(RecursiveMutexBackend<MutantRecursiveOwnerUnchecked>);
static_assert(RecursiveMutexBackend<RecursiveMutex>);
static_assert(TimedMutexBackend<RecursiveMutex>);

using FutexMutexMutants = TypeList<MutantWaitersFlagDropped, MutantTimeoutClearsContended, MutantTimedMsDeadline,
                                   MutantTimedWakeMeansOwned, MutantRecursiveOwnerUnchecked>;

}  // namespace jostle
