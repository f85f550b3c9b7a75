// The waiter-list algorithm shared by the `condvar` and `futex` backends: per-cell intrusive FIFOs under one
// list lock, a per-waiter ticket to park on, and the timeout decided by "still in the list?" under that lock.
// How a waiter parks (its ticket, the lock type) is the Parker policy; the mutants are this same class with
// one defect bit set, so each mutant's diff is exactly its defect.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "jostle/chaos.h"
#include "jostle/contracts/waiter_list.h"

namespace jostle {

namespace waiter_defect {
enum : unsigned {
  none = 0,
  lifo = 1u << 0,                // notify takes the newest waiter first
  count_requested = 1u << 1,     // notify returns the count it was asked for, not the number it removed
  check_outside_lock = 1u << 2,  // the value is compared before the list lock is taken
  early_timeout = 1u << 3,       // the deadline is computed 1 ms short
  spurious_from_write = 1u << 4, // on_write (every store/RMW on the cell) releases the cell's waiters
  clock_decides = 1u << 5,       // a waiter past its deadline reports timed-out even if notify removed it
  late_sync_timeout = 1u << 6,   // waitAsync answers timed-out at once when its deadline passed before the enqueue
};
}

template <class Parker, unsigned Defects>
class WaiterListCore {
 public:
  static constexpr std::string_view kPrimitive = "waiter_list";

  WaiterListCore() = default;
  WaiterListCore(const WaiterListCore&) = delete;
  WaiterListCore& operator=(const WaiterListCore&) = delete;

  template <WaitableElement T>
  WaitStatus wait(const TypedView<T>& view, std::size_t i, T expected, Nanos timeout, bool can_block) {
    if (!view.buffer().is_shared())
      throw AtomicsError(AtomicsError::type_error, "Atomics.wait on an unshared buffer");
    T* cell = checked_cell(view, i);
    if (!can_block) throw AtomicsError(AtomicsError::type_error, "Atomics.wait with [[CanBlock]] false");
    const Nanos deadline = deadline_after(timeout);
    if constexpr ((Defects & waiter_defect::check_outside_lock) != 0) {
      if (load(cell) != expected) return WaitStatus::not_equal;
      JOSTLE_CHAOS("waiter.wait.between-check-and-lock");
    }
    Node n;
    n.key = cell;
    std::unique_lock<Lock> lk = lock_list();
    // T1 wait: compare and link under lock_; T2 store(1) then notify: notify also takes lock_, so either it
    // runs first (T1's compare then sees 1) or T1 is already linked and gets removed. No lost wakeup.
    if constexpr ((Defects & waiter_defect::check_outside_lock) == 0) {
      if (load(cell) != expected) return WaitStatus::not_equal;
    }
    if (now_ns() >= deadline) return WaitStatus::timed_out;
    link(n);
    for (;;) {
      if constexpr ((Defects & waiter_defect::clock_decides) != 0) {
        if (deadline != kForever && now_ns() >= deadline) {
          if (n.linked) unlink(n);
          return WaitStatus::timed_out;
        }
      }
      if (n.notified) return WaitStatus::ok;  // removed by notify: ok even when the deadline has passed
      if (deadline != kForever && now_ns() >= deadline) {
        unlink(n);
        return WaitStatus::timed_out;
      }
      Parker::park(lk, n.ticket, deadline);  // returns with lk held; may return spuriously
    }
  }

  template <WaitableElement T>
  WaitAsyncResult wait_async(const TypedView<T>& view, std::size_t i, T expected, Nanos timeout, AgentLoop& loop,
                             AsyncSettle settle) {
    if (!view.buffer().is_shared())
      throw AtomicsError(AtomicsError::type_error, "Atomics.waitAsync on an unshared buffer");
    T* cell = checked_cell(view, i);
    const Nanos deadline = deadline_after(timeout);
    auto node = std::make_shared<Node>();
    node->key = cell;
    node->loop = &loop;
    node->settle = std::move(settle);
    {
      std::unique_lock<Lock> lk = lock_list();
      if (load(cell) != expected) return {false, WaitStatus::not_equal};
      // Only timeout 0 answers at once. A positive timeout whose deadline passed before this enqueue (the
      // agent was descheduled, or waited for the list lock) is still async and settles timed-out from the
      // loop: a caller that awaits the settlement of an async wait would otherwise wait for nothing.
      if (timeout <= 0) return {false, WaitStatus::timed_out};
      if constexpr ((Defects & waiter_defect::late_sync_timeout) != 0) {
        if (now_ns() >= deadline) return {false, WaitStatus::timed_out};
      }
      link(*node);
      node->keep = node;  // the list's reference while linked
    }
    if (deadline != kForever) {
      loop.add_timer(deadline, [this, node] {
        {
          std::unique_lock<Lock> lk = lock_list();
          if (!node->linked) return;  // notify removed it first; the job it posted settles "ok"
          unlink(*node);
          node->keep.reset();
        }
        node->settle(WaitStatus::timed_out);
      });
    }
    return {true, WaitStatus::ok};
  }

  template <WaitableElement T>
  std::uint64_t notify(const TypedView<T>& view, std::size_t i, NotifyCount count) {
    T* cell = checked_cell(view, i);
    if (!view.buffer().is_shared()) return 0;
    const std::uint64_t removed = release(cell, count.n);
    if constexpr ((Defects & waiter_defect::count_requested) != 0) {
      if (!count.is_all()) return count.n;
    }
    return removed;
  }

  void on_write(const SharedBuffer& buf, std::size_t byte_index) {
    if constexpr ((Defects & waiter_defect::spurious_from_write) != 0) {
      release(buf.data() + byte_index, NotifyCount::kAll);
    }
  }

  template <WaitableElement T>
  std::size_t waiter_count(const TypedView<T>& view, std::size_t i) {
    const void* key = view.element(i);
    std::unique_lock<Lock> lk = lock_list();
    auto it = lists_.find(key);
    return it == lists_.end() ? 0 : it->second.size;
  }

 private:
  using Lock = typename Parker::Lock;

  // The list lock. A contended acquire may sleep in the kernel: the blocking hooks let the PCT scheduler run
  // the holder meanwhile instead of stealing the token from a sleeper.
  std::unique_lock<Lock> lock_list() {
    std::unique_lock<Lock> lk(lock_, std::try_to_lock);
    if (!lk.owns_lock()) {
      JOSTLE_CHAOS_BLOCKING_BEGIN("waiters.list_lock");
      lk.lock();
      JOSTLE_CHAOS_BLOCKING_END("waiters.list_lock");
    }
    return lk;
  }

  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
    const void* key = nullptr;
    bool linked = false;
    bool notified = false;
    typename Parker::Ticket ticket;
    AgentLoop* loop = nullptr;  // non-null: an async waiter
    AsyncSettle settle;
    std::shared_ptr<Node> keep;
  };
  struct List {
    Node* head = nullptr;
    Node* tail = nullptr;
    std::size_t size = 0;
  };

  template <class T>
  static T* checked_cell(const TypedView<T>& view, std::size_t i) {
    if (i >= view.length()) throw AtomicsError(AtomicsError::range_error, "index out of range");
    return view.element(i);
  }
  template <class T>
  static T load(T* cell) {
    return std::atomic_ref<T>(*cell).load(std::memory_order_seq_cst);
  }

  static Nanos deadline_after(Nanos timeout) {
    if (timeout == kForever) return kForever;
    const Nanos start = now_ns();
    Nanos d = timeout > kForever - start ? kForever : start + timeout;
    if constexpr ((Defects & waiter_defect::early_timeout) != 0) {
      d = d - kMilli > start ? d - kMilli : start;
    }
    return d;
  }

  void link(Node& n) {
    List& l = lists_[n.key];
    n.prev = l.tail;
    n.next = nullptr;
    (l.tail ? l.tail->next : l.head) = &n;
    l.tail = &n;
    ++l.size;
    n.linked = true;
  }
  void unlink(Node& n) {
    auto it = lists_.find(n.key);
    List& l = it->second;
    (n.prev ? n.prev->next : l.head) = n.next;
    (n.next ? n.next->prev : l.tail) = n.prev;
    n.prev = n.next = nullptr;
    n.linked = false;
    if (--l.size == 0) lists_.erase(it);
  }

  std::uint64_t release(const void* key, std::uint64_t count) {
    std::uint64_t removed = 0;
    std::unique_lock<Lock> lk = lock_list();
    while (removed < count) {
      auto it = lists_.find(key);
      if (it == lists_.end()) break;
      Node* n = (Defects & waiter_defect::lifo) != 0 ? it->second.tail : it->second.head;
      unlink(*n);
      n->notified = true;
      ++removed;
      if (n->loop != nullptr) {
        std::shared_ptr<Node> keep = std::move(n->keep);
        n->loop->post([keep] { keep->settle(WaitStatus::ok); });
      } else {
        Parker::unpark(n->ticket);  // under lock_: the waiter cannot leave (and free n) before we are done
      }
    }
    return removed;
  }

  Lock lock_;
  std::unordered_map<const void*, List> lists_;
};

}  // namespace jostle
