// Start gate: releases a known number of actors at the same instant, so the racy part of every case starts
// together instead of being serialised by thread start-up cost. Raw atomics + raw futex only.
#pragma once

#include <atomic>
#include <cstdint>

#include "jostle/sys.h"

namespace jostle {

class StartGate {
 public:
  explicit StartGate(int parties) : parties_(static_cast<std::uint32_t>(parties)) {}

  // Called by each actor: announce arrival, then wait for open(). Spins first (the release is usually
  // microseconds away), then parks.
  void arrive_and_wait() {
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    for (int i = 0; i < 20000; ++i) {
      if (open_.load(std::memory_order_acquire) != 0) return;
      sys::cpu_relax();
    }
    while (open_.load(std::memory_order_acquire) == 0) sys::futex_wait(open_, 0);
  }

  // Called by the coordinator: wait until every party arrived, then release them all.
  void open_when_all_arrived() {
    while (arrived_.load(std::memory_order_acquire) < parties_) sys::cpu_relax();
    open_.store(1, std::memory_order_release);
    sys::futex_wake(open_);
  }

 private:
  std::uint32_t parties_;
  std::atomic<std::uint32_t> arrived_{0};
  std::atomic<std::uint32_t> open_{0};
};

}  // namespace jostle
