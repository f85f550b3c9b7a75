// A process-shared Atomics waiter list for the `process` agent backend: a fixed table of waiter records in
// the shared arena, one lock (a futex in shared memory), FIFO by arrival sequence per cell key (the cell's
// byte offset in the arena). Each waiter sleeps on its own word: 0 waiting, 1 notified, 2 stopped (teardown).
// The timeout-vs-notify race is decided under the lock by that word, never by the clock.
#pragma once

#include <atomic>
#include <cstdint>

#include "agent_core/agent_core.h"
#include "jostle/contracts/shared_buffer.h"
#include "jostle/contracts/waiter_list.h"

namespace jostle::agent_core {

class ArenaWaiters {
 public:
  static constexpr int kSlots = 256;

  // Enqueues after the compare, under the lock. Returns not_equal / timed_out (timeout 0) at once, or the
  // slot index to block on (>= 0) through `slot`.
  WaitStatus enqueue(Control& c, std::uint64_t key, std::int32_t* cell, std::int32_t expected, Nanos timeout,
                     int& slot) {
    SharedLockGuard g(lock_);
    if (std::atomic_ref<std::int32_t>(*cell).load(std::memory_order_seq_cst) != expected) return WaitStatus::not_equal;
    if (timeout == 0) return WaitStatus::timed_out;
    if (c.stop.load(std::memory_order_acquire) != 0) throw AgentStopped{};
    for (int k = 0; k < kSlots; ++k) {
      Waiter& w = w_[k];
      if (w.in_use) continue;
      w.in_use = true;
      w.key = key;
      w.seq = next_seq_++;
      w.deadline = timeout == kForever ? kForever : now_ns() + timeout;
      w.word.store(0, std::memory_order_relaxed);
      slot = k;
      return WaitStatus::ok;
    }
    throw std::runtime_error("agent waiter table full");
  }

  // Blocks on an enqueued slot until notified (ok), its deadline (timed_out) or teardown (AgentStopped).
  WaitStatus block(int slot) {
    Waiter& w = w_[slot];
    for (;;) {
      const std::uint32_t v = w.word.load(std::memory_order_acquire);
      if (v != 0) return finish(w, v);
      const Nanos left = w.deadline == kForever ? -1 : w.deadline - now_ns();
      if (w.deadline != kForever && left <= 0) {
        SharedLockGuard g(lock_);
        const std::uint32_t v2 = w.word.load(std::memory_order_acquire);
        if (v2 != 0) {  // notified (or stopped) before we could leave: that wins over the clock
          w.in_use = false;
          if (v2 == 2) throw AgentStopped{};
          return WaitStatus::ok;
        }
        w.in_use = false;
        return WaitStatus::timed_out;
      }
      shared_wait(w.word, 0, left);
    }
  }

  std::uint64_t notify(std::uint64_t key, std::uint64_t count) {
    SharedLockGuard g(lock_);
    std::uint64_t n = 0;
    while (n < count) {
      int best = -1;
      for (int k = 0; k < kSlots; ++k) {
        const Waiter& w = w_[k];
        if (w.in_use && w.key == key && w.word.load(std::memory_order_relaxed) == 0 &&
            (best < 0 || w.seq < w_[best].seq))
          best = k;
      }
      if (best < 0) break;
      w_[best].word.store(1, std::memory_order_release);
      shared_wake(w_[best].word);
      ++n;
    }
    return n;
  }

  std::size_t count(std::uint64_t key) {
    SharedLockGuard g(lock_);
    std::size_t n = 0;
    for (const Waiter& w : w_)
      if (w.in_use && w.key == key && w.word.load(std::memory_order_relaxed) == 0) ++n;
    return n;
  }

  // Teardown: every parked waiter wakes with "stopped".
  void stop_all() {
    SharedLockGuard g(lock_);
    for (Waiter& w : w_)
      if (w.in_use && w.word.load(std::memory_order_relaxed) == 0) {
        w.word.store(2, std::memory_order_release);
        shared_wake(w.word);
      }
  }

 private:
  struct Waiter {
    Word word{0};
    bool in_use = false;
    std::uint64_t key = 0;
    std::uint64_t seq = 0;
    Nanos deadline = 0;
  };

  WaitStatus finish(Waiter& w, std::uint32_t v) {
    SharedLockGuard g(lock_);
    w.in_use = false;
    if (v == 2) throw AgentStopped{};
    return WaitStatus::ok;
  }

  SharedLock lock_;
  std::uint64_t next_seq_ = 0;
  Waiter w_[kSlots];
};

}  // namespace jostle::agent_core
