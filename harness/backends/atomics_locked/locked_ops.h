// `locked`: every operation takes one std::mutex from a striped table (address-hashed), as a non-lock-free
// fallback does. `gil`: one global std::mutex around every operation ("concurrency, not parallelism").
// Inside the lock the element is accessed with relaxed std::atomic_ref so that lock-free readers elsewhere (the
// waiter list's compare) are not data races; the mutex supplies the ordering, and because every access of the
// element goes through the same lock the program is data-race-free, hence sequentially consistent.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <string_view>

#include "atomics_std/std_ops.h"
#include "jostle/contracts/atomics.h"

namespace jostle {

template <bool Global>
struct LockedOpsT : RmwFromStep<LockedOpsT<Global>> {
  static constexpr std::string_view kName = Global ? "gil" : "locked";
  static constexpr std::string_view kDescription =
      Global ? "one global std::mutex around every operation"
             : "a 64-stripe table of std::mutex hashed by address (non-lock-free fallback)";
  static constexpr std::string_view kPrimitive = "atomics";
  static constexpr bool kNativeAtomics = false;
  static constexpr std::size_t kStripes = Global ? 1 : 64;

  struct alignas(64) Stripe {
    std::mutex m;
  };
  static Stripe& stripe(const void* p) {
    static Stripe table[kStripes];
    // Every element of up to 8 bytes lies inside one 8-byte granule, so all sizes of access to a byte share
    // a stripe (a 4-byte store and a 1-byte load of one of its bytes exclude each other).
    const auto a = reinterpret_cast<std::uintptr_t>(p) >> 3;
    return table[(a ^ (a >> 7)) % kStripes];
  }

  template <class T, class F>
  static T rmw(T* p, F f) {
    std::lock_guard<std::mutex> g(stripe(p).m);
    std::atomic_ref<T> r(*p);
    const T old = r.load(std::memory_order_relaxed);
    r.store(static_cast<T>(f(old)), std::memory_order_relaxed);
    return old;
  }
  template <class T>
  static T load(T* p) {
    std::lock_guard<std::mutex> g(stripe(p).m);
    return std::atomic_ref<T>(*p).load(std::memory_order_relaxed);
  }
  template <class T>
  static void store(T* p, T v) {
    std::lock_guard<std::mutex> g(stripe(p).m);
    std::atomic_ref<T>(*p).store(v, std::memory_order_relaxed);
  }
  // Honest: these operations take a lock for every size.
  static bool is_lock_free(std::size_t) { return false; }
  static void pause() { spin_pause(); }
};

using LockedOps = LockedOpsT<false>;
using GilOps = LockedOpsT<true>;
static_assert(AtomicsOps<LockedOps>);
static_assert(AtomicsOps<GilOps>);

}  // namespace jostle
