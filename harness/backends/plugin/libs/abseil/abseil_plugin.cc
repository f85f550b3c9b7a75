// Abseil's synchronization through the jostle plugin ABI: absl::Mutex as the mutex and (with ReaderLock) as the
// reader-writer lock, absl::CondVar with absl::Mutex as the condition variable, absl::Notification as the reset
// event. Abseil spells its operations Lock/ReaderLock/...; the adapters give them the standard names
// cxx_plugin.h expects.
//
// Not offered: absl::BlockingCounter and absl::Barrier as the wait group. The wait group contract (and its
// cases) needs start(n) at any time on a live counter, several concurrent waiters, a finish that never blocks
// and reset() for another round; BlockingCounter takes its count once in the constructor and allows one Wait()
// call in its life, and Barrier::Block() makes every participant wait (a finish would block). Neither fits
// without rebuilding the wait group around them, which would test our glue, not Abseil.
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
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

// The reset event. absl::Notification is single-shot: it starts unnotified, Notify() latches it for good (a second
// Notify() is a fatal error in debug builds) and there is no reset. So each "generation" of the event is one
// Notification, and reset() starts a new one when the current one is notified: set() notifies the current
// generation at most once; a waiter takes a reference to the current generation and blocks in Abseil's
// WaitForNotification[WithTimeout] on it, so a set()+reset() pair racing a sleeper still releases it (it waits on
// the old, notified generation) and the old Notification lives until its last waiter left. `mu` only orders
// set/reset/the choice of generation; the blocking, the wakeup, the timeout and the happens-before edge from
// Notify() to a returning wait are Abseil's.
struct Event {
  struct Gen {
    absl::Notification n;
  };
  absl::Mutex mu;
  std::shared_ptr<Gen> cur = std::make_shared<Gen>();

  std::shared_ptr<Gen> current() {
    absl::MutexLock l(&mu);
    return cur;
  }
  void set() {
    absl::MutexLock l(&mu);
    if (!cur->n.HasBeenNotified()) cur->n.Notify();  // under mu: never twice on one Notification
  }
  void reset() {
    absl::MutexLock l(&mu);
    if (cur->n.HasBeenNotified()) cur = std::make_shared<Gen>();
  }
  bool is_set() { return current()->n.HasBeenNotified(); }
  void wait() { current()->n.WaitForNotification(); }
  bool timed_wait(int64_t t) { return current()->n.WaitForNotificationWithTimeout(absl::Nanoseconds(t)); }
};

constexpr jostle_event_ops event_table() {
  using jostle_libs::as;
  jostle_event_ops t{};
  t.size = sizeof(Event);
  t.align = alignof(Event);
  t.init = jostle_libs::construct<Event>;
  t.destroy = jostle_libs::destruct<Event>;
  t.set = [](void* e) noexcept { as<Event>(e).set(); };
  t.reset = [](void* e) noexcept { as<Event>(e).reset(); };
  t.is_set = [](void* e) noexcept -> int { return as<Event>(e).is_set() ? 1 : 0; };
  t.wait = [](void* e) noexcept { as<Event>(e).wait(); };
  t.timed_wait = [](void* e, int64_t timeout) noexcept -> int {
    return as<Event>(e).timed_wait(timeout) ? JOSTLE_OK : JOSTLE_TIMEDOUT;
  };
  return t;
}

constexpr jostle_mutex_ops kMutex = jostle_libs::mutex_table<Mutex>();
constexpr jostle_rwlock_ops kRwLock = jostle_libs::rwlock_table<Mutex>();
// absl::CondVar::Wait "may wake spuriously" (mutex.h): the posix profile.
constexpr jostle_condvar_ops kCondVar = jostle_libs::condvar_table<CondVar, Mutex>("posix");
constexpr jostle_event_ops kEvent = event_table();
constexpr jostle_plugin kPlugin = [] {
  jostle_plugin t = jostle_libs::plugin_table(
      "abseil", "Abseil absl::Mutex (exclusive and reader), absl::CondVar, absl::Notification (event)", &kMutex,
      &kRwLock, &kCondVar);
  t.event = &kEvent;
  return t;
}();

}  // namespace

JOSTLE_LIBS_EXPORT_ENTRY(kPlugin)
