// `std`: std::atomic_ref<T> with seq_cst on every operation (and the requested order for the litmus tests).
// Mutants are the same struct with one defect switched on, so the diff between them is the defect alone.
#pragma once

#include <atomic>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "jostle/chaos.h"
#include "jostle/contracts/atomics.h"
#include "jostle/typelist.h"

namespace jostle {

// Atomics add/sub wrap modulo 2^bits (the value is stored as the element type's bit pattern): computed in the
// unsigned type, since a signed overflow in plain `o + v` is undefined (and UBSan reports it).
template <class T>
constexpr T wrapping_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <class T>
constexpr T wrapping_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}

// Every Atomics read-modify-write expressed through one step of the backend, Derived::rmw(p, f): apply f to
// the old element and store the result in one indivisible step, returning the old element. Backends whose
// indivisibility comes from a lock or a compare-exchange loop (not from a native instruction per operation)
// inherit these rather than spell each one out.
template <class Derived>
struct RmwFromStep {
  template <class T>
  static T fetch_add(T* p, T v) {
    return Derived::rmw(p, [v](T o) { return wrapping_add(o, v); });
  }
  template <class T>
  static T fetch_sub(T* p, T v) {
    return Derived::rmw(p, [v](T o) { return wrapping_sub(o, v); });
  }
  template <class T>
  static T fetch_and(T* p, T v) {
    return Derived::rmw(p, [v](T o) { return static_cast<T>(o & v); });
  }
  template <class T>
  static T fetch_or(T* p, T v) {
    return Derived::rmw(p, [v](T o) { return static_cast<T>(o | v); });
  }
  template <class T>
  static T fetch_xor(T* p, T v) {
    return Derived::rmw(p, [v](T o) { return static_cast<T>(o ^ v); });
  }
  template <class T>
  static T exchange(T* p, T v) {
    return Derived::rmw(p, [v](T) { return v; });
  }
  template <class T>
  static T compare_exchange(T* p, T expected, T replacement) {
    return Derived::rmw(p, [expected, replacement](T o) { return o == expected ? replacement : o; });
  }
};

enum class StdOpsDefect { none, rmw_not_atomic, store_release };

inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

template <StdOpsDefect D>
struct StdOpsT {
  static constexpr std::string_view kName = D == StdOpsDefect::none             ? "std"
                                            : D == StdOpsDefect::rmw_not_atomic ? "mutant.atomics.rmw_not_atomic"
                                                                                : "mutant.atomics.sc_store_release";
  static constexpr std::string_view kDescription =
      D == StdOpsDefect::none ? "std::atomic_ref<T>, seq_cst"
      : D == StdOpsDefect::rmw_not_atomic
          ? "every RMW (add/sub/and/or/xor/exchange/compareExchange) done as an atomic load then an atomic store"
          : "Atomics.store issued as a release store (a plain mov on x86): not sequentially consistent";
  static constexpr std::string_view kPrimitive = "atomics";
  static constexpr bool kNativeAtomics = true;

  template <class T>
  static T load(T* p, std::memory_order mo = std::memory_order_seq_cst) {
    return std::atomic_ref<T>(*p).load(mo);
  }
  template <class T>
  static void store(T* p, T v, std::memory_order mo = std::memory_order_seq_cst) {
    if constexpr (D == StdOpsDefect::store_release) {
      if (mo == std::memory_order_seq_cst) mo = std::memory_order_release;
    }
    std::atomic_ref<T>(*p).store(v, mo);
  }
  // The mutant's two-step RMW: another thread's update between the load and the store is overwritten.
  template <class T, class F>
  static T split_rmw(T* p, F f) {
    std::atomic_ref<T> r(*p);
    const T old = r.load();
    JOSTLE_CHAOS("atomics.rmw.between-load-and-store");
    r.store(static_cast<T>(f(old)));
    return old;
  }
  template <class T>
  static T fetch_add(T* p, T v) {
    if constexpr (D == StdOpsDefect::rmw_not_atomic) return split_rmw(p, [v](T o) { return o + v; });
    return std::atomic_ref<T>(*p).fetch_add(v);
  }
  template <class T>
  static T fetch_sub(T* p, T v) {
    if constexpr (D == StdOpsDefect::rmw_not_atomic) return split_rmw(p, [v](T o) { return o - v; });
    return std::atomic_ref<T>(*p).fetch_sub(v);
  }
  template <class T>
  static T fetch_and(T* p, T v) {
    if constexpr (D == StdOpsDefect::rmw_not_atomic) return split_rmw(p, [v](T o) { return o & v; });
    return std::atomic_ref<T>(*p).fetch_and(v);
  }
  template <class T>
  static T fetch_or(T* p, T v) {
    if constexpr (D == StdOpsDefect::rmw_not_atomic) return split_rmw(p, [v](T o) { return o | v; });
    return std::atomic_ref<T>(*p).fetch_or(v);
  }
  template <class T>
  static T fetch_xor(T* p, T v) {
    if constexpr (D == StdOpsDefect::rmw_not_atomic) return split_rmw(p, [v](T o) { return o ^ v; });
    return std::atomic_ref<T>(*p).fetch_xor(v);
  }
  template <class T>
  static T exchange(T* p, T v) {
    if constexpr (D == StdOpsDefect::rmw_not_atomic) return split_rmw(p, [v](T) { return v; });
    return std::atomic_ref<T>(*p).exchange(v);
  }
  template <class T>
  static T compare_exchange(T* p, T expected, T replacement) {
    if constexpr (D == StdOpsDefect::rmw_not_atomic) {
      return split_rmw(p, [expected, replacement](T o) { return o == expected ? replacement : o; });
    }
    std::atomic_ref<T>(*p).compare_exchange_strong(expected, replacement);
    return expected;  // on failure compare_exchange_strong wrote the old value here; on success it is the old one
  }
  static bool is_lock_free(std::size_t n) {
    switch (n) {
      case 1: return std::atomic_ref<std::uint8_t>::is_always_lock_free;
      case 2: return std::atomic_ref<std::uint16_t>::is_always_lock_free;
      case 4: return std::atomic_ref<std::uint32_t>::is_always_lock_free;
      case 8: return std::atomic_ref<std::uint64_t>::is_always_lock_free;
      default: return false;
    }
  }
  static void pause() { spin_pause(); }
};

using StdOps = StdOpsT<StdOpsDefect::none>;
static_assert(OrderedAtomicsOps<StdOps>);

struct MutantRmwNotAtomic : StdOpsT<StdOpsDefect::rmw_not_atomic> {
  static constexpr std::string_view kCatches = "atomics/rmw_counter_storm,atomics/cas_loop_storm";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "zig-js plan: RMW in interpreter code done as load then store";
};
static_assert(OrderedAtomicsOps<MutantRmwNotAtomic>);

struct MutantScStoreRelease : StdOpsT<StdOpsDefect::store_release> {
  static constexpr std::string_view kCatches = "atomics/litmus_sb_sc";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource =
      "JDK-8351997 (SC volatile stores not sequentially consistent); SC stores lowered to plain stores";
};
static_assert(OrderedAtomicsOps<MutantScStoreRelease>);

using StdOpsMutants = TypeList<MutantRmwNotAtomic, MutantScStoreRelease>;

}  // namespace jostle
