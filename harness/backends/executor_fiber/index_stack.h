// A Treiber stack of small integer indices (nodes live in a caller's array and are pushed again and again:
// node recycling). The head packs (tag << 32 | index + 1); every successful pop and push bumps the tag, so a
// head that went A -> B -> A in between is not mistaken for the one a popper read (the ABA problem).
// kTagged = false keeps the tag at 0: the classic untagged stack (the runqueue-ABA mutant).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "jostle/chaos.h"

namespace jostle::fiber_detail {

template <bool kTagged>
class IndexStack {
 public:
  explicit IndexStack(std::uint32_t capacity) : next_(new std::atomic<std::uint32_t>[capacity]) {
    for (std::uint32_t i = 0; i < capacity; ++i) next_[i].store(0, std::memory_order_relaxed);
  }

  void push(std::uint32_t i) {
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    for (;;) {
      next_[i].store(static_cast<std::uint32_t>(h), std::memory_order_relaxed);
      const std::uint64_t nh = (bump(h) << 32) | (i + 1);
      // Release: the node's `next` (and whatever the pusher wrote before) is visible to the popper.
      if (head_.compare_exchange_weak(h, nh, std::memory_order_release, std::memory_order_relaxed)) return;
    }
  }

  // Returns the index, or -1 when empty.
  std::int64_t pop() {
    std::uint64_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t top = static_cast<std::uint32_t>(h);
      if (top == 0) return -1;
      const std::uint32_t next = next_[top - 1].load(std::memory_order_relaxed);
      // The window: between reading `next` and the CAS, others may pop `top`, pop `next`, and push `top`
      // back. Without the tag the CAS below then succeeds and installs a `next` that is no longer in the stack.
      JOSTLE_CHAOS("fiber.runqueue.pop.window");
      const std::uint64_t nh = (bump(h) << 32) | next;
      if (head_.compare_exchange_weak(h, nh, std::memory_order_acq_rel, std::memory_order_acquire))
        return static_cast<std::int64_t>(top - 1);
    }
  }

  bool empty() const { return static_cast<std::uint32_t>(head_.load(std::memory_order_acquire)) == 0; }

 private:
  static std::uint64_t bump(std::uint64_t h) { return kTagged ? ((h >> 32) + 1) & 0xffffffffu : 0; }

  std::atomic<std::uint64_t> head_{0};
  std::unique_ptr<std::atomic<std::uint32_t>[]> next_;
};

}  // namespace jostle::fiber_detail
