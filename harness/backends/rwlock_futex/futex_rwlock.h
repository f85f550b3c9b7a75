// `futex`: a writer-preferring reader-writer lock of our own, over any timed futex backend. A small internal
// futex mutex guards the counts (readers inside, writer inside, writers waiting); readers sleep on one sequence
// word and writers on another, each bumped under the guard before a wake, so a sleeper that read the sequence
// under the guard cannot miss the wake (its futex value check fails instead).
//
// Mutants (RwLockDefect), declared at the bottom with their catchers.
#pragma once

#include <climits>
#include <string>
#include <string_view>

#include "futex_linux/linux_futex.h"
#include "jostle/chaos.h"
#include "jostle/contracts/futex.h"
#include "jostle/contracts/rwlock.h"
#include "mutex_futex/futex_mutex.h"
#include "jostle/typelist.h"

namespace jostle {

enum class RwLockDefect {
  none,
  timed_writer_strands_readers,  // a writer giving up does not wake the readers it held back (glibc 3c9c61febe)
  reader_ignores_holder,         // readers only look for waiting writers, not for the writer inside
  unlock_wakes_one_reader,       // a writer's unlock wakes one blocked reader instead of all (STL #4448 symptom)
};

template <TimedFutexBackend F, RwLockDefect D = RwLockDefect::none>
class FutexRwLockT {
 public:
  static constexpr std::string_view kPrimitive = "rwlock";
  static std::string name() { return name_over_futex<F>("futex"); }
  static bool available() { return backend_available<F>(); }
  static constexpr std::string_view kDescription =
      "writer-preferring rwlock: guarded counts, readers and writers parked on separate futex sequence words";

  void lock() { (void)lock_impl(-1); }
  bool try_lock_for(Nanos t) { return lock_impl(t < 0 ? 0 : t); }
  bool try_lock() {
    guard_.lock();
    const bool ok = !writer_ && readers_ == 0;
    if (ok) writer_ = true;
    guard_.unlock();
    return ok;
  }
  void unlock() {
    guard_.lock();
    writer_ = false;
    const bool to_writer = writers_waiting_ > 0;
    (to_writer ? wseq_ : rseq_).fetch_add(1, std::memory_order_relaxed);
    guard_.unlock();
    JOSTLE_CHAOS("rwlock.futex.unlock-before-wake");
    if (to_writer) {
      F::wake(wseq_, 1);
    } else {
      F::wake(rseq_, D == RwLockDefect::unlock_wakes_one_reader ? 1 : INT_MAX);
    }
  }

  void lock_shared() { (void)lock_shared_impl(-1); }
  bool try_lock_shared_for(Nanos t) { return lock_shared_impl(t < 0 ? 0 : t); }
  bool try_lock_shared() {
    guard_.lock();
    const bool ok = !reader_blocked();
    if (ok) ++readers_;
    guard_.unlock();
    return ok;
  }
  void unlock_shared() {
    guard_.lock();
    const bool wake_writer = --readers_ == 0 && writers_waiting_ > 0;
    if (wake_writer) wseq_.fetch_add(1, std::memory_order_relaxed);
    guard_.unlock();
    if (wake_writer) F::wake(wseq_, 1);
  }

 private:
  bool reader_blocked() const {
    if constexpr (D == RwLockDefect::reader_ignores_holder) {
      return writers_waiting_ > 0;
    } else {
      return writer_ || writers_waiting_ > 0;  // writer preference: waiting writers hold new readers back
    }
  }

  // Sleeps on `seq` (read under the guard) with the guard released; false if the deadline passed first.
  bool sleep_on(FutexWord& seq, Nanos timeout, Nanos deadline) {
    const std::uint32_t s = seq.load(std::memory_order_relaxed);
    if (timeout >= 0 && deadline - now_ns() <= 0) return false;
    guard_.unlock();
    if (timeout < 0) {
      F::wait(seq, s);
    } else {
      F::timed_wait(seq, s, deadline - now_ns());
    }
    guard_.lock();
    return true;
  }

  bool lock_shared_impl(Nanos timeout) {
    const Nanos deadline = timeout < 0 ? 0 : now_ns() + timeout;
    guard_.lock();
    while (reader_blocked()) {
      if (!sleep_on(rseq_, timeout, deadline)) {
        guard_.unlock();
        return false;
      }
    }
    ++readers_;
    guard_.unlock();
    return true;
  }

  bool lock_impl(Nanos timeout) {
    const Nanos deadline = timeout < 0 ? 0 : now_ns() + timeout;
    guard_.lock();
    ++writers_waiting_;
    while (writer_ || readers_ > 0) {
      if (!sleep_on(wseq_, timeout, deadline)) {
        give_up_writer();
        return false;
      }
    }
    --writers_waiting_;
    writer_ = true;
    guard_.unlock();
    return true;
  }

  // Called with the guard held by a writer whose deadline passed; releases the guard.
  void give_up_writer() {
    --writers_waiting_;
    bool wake_readers = false, wake_writer = false;
    if (!writer_ && writers_waiting_ == 0) {
      // Readers that this writer was holding back may enter now.
      wake_readers = D != RwLockDefect::timed_writer_strands_readers;
    } else if (!writer_ && readers_ == 0 && writers_waiting_ > 0) {
      // We may have taken a wake meant for the next writer: pass it on.
      wake_writer = true;
    }
    if (wake_readers) rseq_.fetch_add(1, std::memory_order_relaxed);
    if (wake_writer) wseq_.fetch_add(1, std::memory_order_relaxed);
    guard_.unlock();
    if (wake_readers) F::wake(rseq_, INT_MAX);
    if (wake_writer) F::wake(wseq_, 1);
  }

  FutexMutex<F> guard_;
  int readers_ = 0;
  bool writer_ = false;
  int writers_waiting_ = 0;
  FutexWord rseq_{0};
  FutexWord wseq_{0};
};

template <TimedFutexBackend F>
using FutexRwLock = FutexRwLockT<F>;
static_assert(TimedRwLockBackend<FutexRwLock<LinuxFutex>>);

struct MutantRwTimedWriterStrandsReaders : FutexRwLockT<LinuxFutex, RwLockDefect::timed_writer_strands_readers> {
  static constexpr std::string_view kName = "mutant.rwlock.timed_writer_strands_readers";
  static constexpr std::string_view kDescription =
      "a writer whose timed lock gives up does not wake the readers queued behind it";
  static constexpr std::string_view kCatches = "condvar/rwlock_timed_writer_releases_readers";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "glibc 3c9c61febe (pthread_rwlock_clockwrlock, writer-preferring)";
};
struct MutantRwReaderIgnoresHolder : FutexRwLockT<LinuxFutex, RwLockDefect::reader_ignores_holder> {
  static constexpr std::string_view kName = "mutant.rwlock.reader_ignores_holder";
  static constexpr std::string_view kDescription =
      "readers are held back only by waiting writers, not by the writer inside";
  static constexpr std::string_view kCatches = "condvar/rwlock_smoke,condvar/rwlock_concurrent_access";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "Zig RwLock tests (smoke, concurrent access) target this class";
};
struct MutantRwUnlockWakesOneReader : FutexRwLockT<LinuxFutex, RwLockDefect::unlock_wakes_one_reader> {
  static constexpr std::string_view kName = "mutant.rwlock.unlock_wakes_one_reader";
  static constexpr std::string_view kDescription =
      "a writer's unlock wakes one blocked reader; the others sleep although shared access is free";
  static constexpr std::string_view kCatches = "condvar/rwlock_shared_really_shared";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "microsoft/STL #4448 (readers not all admitted after unlock)";
};

using FutexRwLockMutants =
    TypeList<MutantRwTimedWriterStrandsReaders, MutantRwReaderIgnoresHolder, MutantRwUnlockWakesOneReader>;

}  // namespace jostle
