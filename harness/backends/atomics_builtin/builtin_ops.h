// `builtin`: the compiler's __atomic builtins, seq_cst. `wordcas`: 1- and 2-byte operations emulated with a
// 32-bit compare-exchange loop on the aligned word that contains the element (what LL/SC targets without
// sub-word atomics do); 4- and 8-byte operations are the builtins. Its mutant picks the lane of a big-endian
// machine on this little-endian one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "atomics_std/std_ops.h"
#include "jostle/chaos.h"
#include "jostle/contracts/atomics.h"
#include "jostle/typelist.h"

namespace jostle {

struct BuiltinOps {
  static constexpr std::string_view kName = "builtin";
  static constexpr std::string_view kDescription = "GCC/Clang __atomic builtins, __ATOMIC_SEQ_CST";
  static constexpr std::string_view kPrimitive = "atomics";
  static constexpr bool kNativeAtomics = true;

  static constexpr int order(std::memory_order mo) {
    switch (mo) {
      case std::memory_order_relaxed: return __ATOMIC_RELAXED;
      case std::memory_order_consume:
      case std::memory_order_acquire: return __ATOMIC_ACQUIRE;
      case std::memory_order_release: return __ATOMIC_RELEASE;
      case std::memory_order_acq_rel: return __ATOMIC_ACQ_REL;
      default: return __ATOMIC_SEQ_CST;
    }
  }
  template <class T>
  static T load(T* p, std::memory_order mo = std::memory_order_seq_cst) {
    switch (mo) {  // the builtins want a constant order
      case std::memory_order_relaxed: return __atomic_load_n(p, __ATOMIC_RELAXED);
      case std::memory_order_consume:
      case std::memory_order_acquire: return __atomic_load_n(p, __ATOMIC_ACQUIRE);
      default: return __atomic_load_n(p, __ATOMIC_SEQ_CST);
    }
  }
  template <class T>
  static void store(T* p, T v, std::memory_order mo = std::memory_order_seq_cst) {
    switch (mo) {
      case std::memory_order_relaxed: __atomic_store_n(p, v, __ATOMIC_RELAXED); break;
      case std::memory_order_release: __atomic_store_n(p, v, __ATOMIC_RELEASE); break;
      default: __atomic_store_n(p, v, __ATOMIC_SEQ_CST); break;
    }
  }
  template <class T>
  static T fetch_add(T* p, T v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
  }
  template <class T>
  static T fetch_sub(T* p, T v) {
    return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST);
  }
  template <class T>
  static T fetch_and(T* p, T v) {
    return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
  }
  template <class T>
  static T fetch_or(T* p, T v) {
    return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
  }
  template <class T>
  static T fetch_xor(T* p, T v) {
    return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);
  }
  template <class T>
  static T exchange(T* p, T v) {
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
  }
  template <class T>
  static T compare_exchange(T* p, T expected, T replacement) {
    __atomic_compare_exchange_n(p, &expected, replacement, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
  }
  static bool is_lock_free(std::size_t n) {
    switch (n) {
      case 1: return __atomic_always_lock_free(1, 0);
      case 2: return __atomic_always_lock_free(2, 0);
      case 4: return __atomic_always_lock_free(4, 0);
      case 8: return __atomic_always_lock_free(8, 0);
      default: return false;
    }
  }
  static void pause() { spin_pause(); }
};
static_assert(OrderedAtomicsOps<BuiltinOps>);

template <bool WrongLane>
struct WordCasOpsT : RmwFromStep<WordCasOpsT<WrongLane>> {
  static constexpr std::string_view kName = WrongLane ? "mutant.atomics.subword_wrong_lane" : "wordcas";
  static constexpr std::string_view kDescription =
      WrongLane ? "sub-word emulation that shifts to the big-endian lane: touches the neighbouring element"
                : "1/2-byte ops as a 32-bit CAS loop on the containing aligned word (LL/SC-style expansion)";
  static constexpr std::string_view kPrimitive = "atomics";
  static constexpr bool kNativeAtomics = true;

  template <class T>
  struct Lane {
    std::uint32_t* word;
    unsigned shift;
    std::uint32_t mask;
  };
  template <class T>
  static Lane<T> lane(T* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const unsigned byte = static_cast<unsigned>(a & 3);
    const unsigned le_shift = byte * 8;
    const unsigned be_shift = (4 - static_cast<unsigned>(sizeof(T)) - byte) * 8;
    const std::uint32_t mask = sizeof(T) == 1 ? 0xffu : 0xffffu;
    return {reinterpret_cast<std::uint32_t*>(a & ~std::uintptr_t{3}), WrongLane ? be_shift : le_shift, mask};
  }
  template <class T>
  static T extract(const Lane<T>& l, std::uint32_t w) {
    return static_cast<T>((w >> l.shift) & l.mask);
  }
  // One compare-exchange loop over the containing word; f(old element) -> new element. Returns the old one.
  template <class T, class F>
  static T rmw(T* p, F f) {
    if constexpr (sizeof(T) >= 4) {
      T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
      while (!__atomic_compare_exchange_n(p, &old, static_cast<T>(f(old)), true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST)) {
      }
      return old;
    } else {
      const Lane<T> l = lane(p);
      std::uint32_t w = __atomic_load_n(l.word, __ATOMIC_SEQ_CST);
      for (;;) {
        const T old = extract(l, w);
        const auto repl = static_cast<std::uint32_t>(static_cast<std::make_unsigned_t<T>>(f(old)));
        const std::uint32_t nw = (w & ~(l.mask << l.shift)) | (repl << l.shift);
        if (__atomic_compare_exchange_n(l.word, &w, nw, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return old;
      }
    }
  }

  template <class T>
  static T load(T* p) {
    if constexpr (sizeof(T) >= 4) {
      return __atomic_load_n(p, __ATOMIC_SEQ_CST);
    } else {
      const Lane<T> l = lane(p);
      return extract(l, __atomic_load_n(l.word, __ATOMIC_SEQ_CST));
    }
  }
  template <class T>
  static void store(T* p, T v) {
    rmw(p, [v](T) { return v; });
  }
  static bool is_lock_free(std::size_t n) { return n == 1 || n == 2 || n == 4 || n == 8; }
  static void pause() { spin_pause(); }
};

using WordCasOps = WordCasOpsT<false>;
static_assert(AtomicsOps<WordCasOps>);

struct MutantSubwordWrongLane : WordCasOpsT<true> {
  static constexpr std::string_view kCatches =
      "atomics/semantics_load,atomics/semantics_store,atomics/semantics_add,atomics/semantics_sub,"
      "atomics/semantics_and,atomics/semantics_or,atomics/semantics_xor,atomics/semantics_exchange,"
      "atomics/semantics_compareExchange";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "sub-word atomic expansion with the lane shift of the other endianness (LL/SC back ends)";
};
static_assert(AtomicsOps<MutantSubwordWrongLane>);

using BuiltinOpsMutants = TypeList<MutantSubwordWrongLane>;

}  // namespace jostle
