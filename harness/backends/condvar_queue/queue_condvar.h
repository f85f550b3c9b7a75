// `queue`: an explicit FIFO queue of waiters, each parked on its own futex word. A waiter returns only when a
// notify dequeued it or its timeout passed, so this backend claims the strict profile: no spurious wakeups,
// and notify_one wakes the longest waiter.
//
// Mutants (QueueDefect):
//   mutant.condvar.queue_lifo             pushes new waiters at the head (notify_one wakes the newest)
//   mutant.condvar.arrival_wakes_queued   a new waiter wakes the waiters already queued as it registers
#pragma once

#include <string>
#include <string_view>

#include "futex_linux/linux_futex.h"
#include "jostle/chaos.h"
#include "jostle/contracts/condvar.h"
#include "jostle/contracts/futex.h"
#include "mutex_futex/futex_mutex.h"
#include "jostle/typelist.h"

namespace jostle {

enum class QueueDefect {
  none,
  lifo,                  // push at the head
  arrival_wakes_queued,  // registering dequeues and wakes everyone queued (a spurious wakeup for each)
};

template <TimedFutexBackend F, QueueDefect D = QueueDefect::none>
class QueueCondvarT {
 public:
  static constexpr std::string_view kPrimitive = "condvar";
  static std::string name() { return name_over_futex<F>("queue"); }
  static bool available() { return backend_available<F>(); }
  static constexpr std::string_view kDescription =
      "FIFO waiter queue with per-waiter futex parking: no spurious wakeups, FIFO notify_one";
  static constexpr std::string_view kProfile = "strict";
  using Mutex = FutexMutex<F>;
  static constexpr bool kTimeoutKeepsSignal = true;  // a signal met by a timeout is reported as woken

  void wait(Mutex& m) { (void)wait_impl(m, -1); }
  bool wait_for(Mutex& m, Nanos t) { return wait_impl(m, t < 0 ? 0 : t); }

  void notify_one() {
    guard_.lock();
    if (Node* n = pop_front()) release(n);
    guard_.unlock();
  }
  void notify_all() {
    guard_.lock();
    while (Node* n = pop_front()) release(n);
    guard_.unlock();
  }

 private:
  struct Node {
    FutexWord flag{0};  // 1 once a notify dequeued this waiter
    Node* prev = nullptr;
    Node* next = nullptr;
  };

  bool wait_impl(Mutex& m, Nanos timeout) {
    Node node;
    // Enqueued before m is released, so a notify by anyone who takes m after us finds this waiter.
    guard_.lock();
    push(&node);
    guard_.unlock();
    m.unlock();
    bool woken = false;
    const Nanos deadline = timeout < 0 ? 0 : now_ns() + timeout;
    for (;;) {
      if (node.flag.load(std::memory_order_acquire) != 0) {
        woken = true;
        break;
      }
      if (timeout < 0) {
        F::wait(node.flag, 0);
        continue;
      }
      const Nanos left = deadline - now_ns();
      if (left <= 0) {
        guard_.lock();
        // A notify that dequeued us before we got the guard counts: report woken, never drop it.
        woken = node.flag.load(std::memory_order_acquire) != 0;
        if (!woken) unlink(&node);
        guard_.unlock();
        break;
      }
      F::timed_wait(node.flag, 0, left);
    }
    if (woken) {
      // The notifier sets the flag and wakes while holding the guard; passing through the guard once means it
      // is done with our node, which lives on this stack frame.
      guard_.lock();
      guard_.unlock();
    }
    m.lock();
    return woken;
  }

  void release(Node* n) {
    n->flag.store(1, std::memory_order_release);
    JOSTLE_CHAOS("condvar.queue.before-wake");
    F::wake(n->flag, 1);
  }

  void push(Node* n) {
    if constexpr (D == QueueDefect::arrival_wakes_queued) {
      // The defect: the newcomer "lets the waiters ahead re-check" by releasing them, as if it were a notify.
      while (Node* queued = pop_front()) release(queued);
    }
    if constexpr (D == QueueDefect::lifo) {
      n->next = head_;
      if (head_) head_->prev = n; else tail_ = n;
      head_ = n;
    } else {
      n->prev = tail_;
      if (tail_) tail_->next = n; else head_ = n;
      tail_ = n;
    }
  }
  Node* pop_front() {
    Node* n = head_;
    if (n) unlink(n);
    return n;
  }
  void unlink(Node* n) {
    (n->prev ? n->prev->next : head_) = n->next;
    (n->next ? n->next->prev : tail_) = n->prev;
    n->prev = n->next = nullptr;
  }

  FutexMutex<F> guard_;
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
};

template <TimedFutexBackend F>
using QueueCondvar = QueueCondvarT<F>;
static_assert(CondvarBackend<QueueCondvar<LinuxFutex>>);

struct MutantCvQueueLifo : QueueCondvarT<LinuxFutex, QueueDefect::lifo> {
  static constexpr std::string_view kName = "mutant.condvar.queue_lifo";
  static constexpr std::string_view kDescription = "waiter queue that pushes at the head: notify_one wakes the newest";
  static constexpr std::string_view kCatches = "condvar/cv_strict_fifo";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "WebKit ParkingLot fairness tests (unparkOne must wake the head)";
};

struct MutantCvArrivalWakesQueued : QueueCondvarT<LinuxFutex, QueueDefect::arrival_wakes_queued> {
  static constexpr std::string_view kName = "mutant.condvar.arrival_wakes_queued";
  static constexpr std::string_view kDescription =
      "strict waiter queue whose wait() registers by waking every waiter already queued";
  static constexpr std::string_view kCatches = "condvar/cv_no_spurious_on_new_waiters";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "glibc tst-cond3 (a new waiter's arrival must not end earlier waits); sequence-counter condvars whose "
      "waiters take any change of the shared word for a signal";
};

using QueueCondvarMutants = TypeList<MutantCvQueueLifo, MutantCvArrivalWakesQueued>;

}  // namespace jostle
