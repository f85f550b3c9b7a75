// Abseil's synchronization through the jostle plugin ABI: absl::Mutex as the mutex and (with ReaderLock) as the
// reader-writer lock, absl::CondVar with absl::Mutex as the condition variable. Abseil spells its operations
// Lock/ReaderLock/...; the adapters give them the standard names cxx_plugin.h expects.
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cxx_plugin.h"

namespace {

struct Mutex {
  absl::Mutex mu;
  void lock() { mu.Lock(); }
  bool try_lock() { return mu.TryLock(); }
  void unlock() { mu.Unlock(); }
  void lock_shared() { mu.ReaderLock(); }
  bool try_lock_shared() { return mu.ReaderTryLock(); }
  void unlock_shared() { mu.ReaderUnlock(); }
};

struct CondVar {
  absl::CondVar cv;
  void wait(Mutex& m) { cv.Wait(&m.mu); }
  // WaitWithTimeout returns true when the timeout passed (and, per its comment, may also wake spuriously).
  bool wait_for(Mutex& m, std::chrono::nanoseconds t) { return !cv.WaitWithTimeout(&m.mu, absl::FromChrono(t)); }
  void notify_one() { cv.Signal(); }
  void notify_all() { cv.SignalAll(); }
};

constexpr jostle_mutex_ops kMutex = jostle_libs::mutex_table<Mutex>();
constexpr jostle_rwlock_ops kRwLock = jostle_libs::rwlock_table<Mutex>();
// absl::CondVar::Wait "may wake spuriously" (mutex.h): the posix profile.
constexpr jostle_condvar_ops kCondVar = jostle_libs::condvar_table<CondVar, Mutex>("posix");
constexpr jostle_plugin kPlugin = jostle_libs::plugin_table(
    "abseil", "Abseil absl::Mutex (exclusive and reader), absl::CondVar", &kMutex, &kRwLock, &kCondVar);

}  // namespace

JOSTLE_LIBS_EXPORT_ENTRY(kPlugin)
