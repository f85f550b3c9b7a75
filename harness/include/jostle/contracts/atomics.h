// The Atomics operations on integer typed views (ECMA-262 "Atomics"), and the ops-backend contract under them.
//
// Layering. An ops backend O does raw, sequentially consistent atomic operations on an element T* (T one of
// int8/uint8/int16/uint16/int32/uint32/int64/uint64). The front end Atomics<O> below adds what the spec adds on
// top: index validation, value coercion (ToInt8 ... ToBigUint64) and the JS-visible results. Number-typed
// views take and return `double` (a JS Number); BigInt64/BigUint64 views take and return the 64-bit value
// (a BigInt already reduced modulo 2^64: a C++ API cannot carry a wider BigInt).
//
// Backend operations (each one indivisible, seq_cst, on a naturally aligned element):
//   O::load(p) -> T                                                          [atomics.load]
//   O::store(p, v)                                                           [atomics.store]
//   O::fetch_add / fetch_sub / fetch_and / fetch_or / fetch_xor (p, v) -> T  the old value; add/sub wrap
//     modulo 2^bits for signed and unsigned types alike                     [atomics.rmw.old-value] [atomics.rmw.wrap]
//   O::exchange(p, v) -> T                                                   the old value
//   O::compare_exchange(p, expected, replacement) -> T                       the old value; stores replacement
//     iff old == expected                                                    [atomics.cmpxchg]
//   Indivisibility: concurrent RMWs on one element never lose an update     [atomics.rmw.indivisible]
//   Neighbours: an operation on one element never changes another          [atomics.element.isolated]
//   O::is_lock_free(bytes) -> bool   the same answer every time it is asked, from any thread
//                                    [atomics.islockfree.stable]; backends with kNativeAtomics say true for 4
//                                    (the spec requires it; lock-table backends answer honestly: false)
//   O::pause()                       a spin-wait hint; returns nothing      [atomics.pause]
//
// Backends that can also issue weaker orders (for the litmus tests) satisfy OrderedAtomicsOps:
//   O::load(p, std::memory_order) / O::store(p, v, std::memory_order).
//
// Front end, Atomics<O> (throws AtomicsError(range_error) when index >= view.length()):
//   load(view, i)                     -> the element                          [atomics.load]
//   store(view, i, v)                 -> ToIntegerOrInfinity(v) for Numbers (-0 becomes +0, 300 stored in an
//                                        Int8 cell returns 300 and stores 44); v itself for BigInts
//                                                                             [atomics.store.returns-coerced]
//   add/sub/and_/or_/xor_/exchange(view, i, v) -> the old element; v is converted with ToIntN/ToUintN first
//   compare_exchange(view, i, expected, replacement) -> the old element; *converted* expected is compared
//                                        (expected 300 matches an Int8 cell holding 44) [atomics.cmpxchg.converted]
//   is_lock_free(n), pause()
//   RMW ops work on unshared buffers too                                     [atomics.rmw.unshared]
#pragma once

#include <atomic>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "jostle/contracts/shared_buffer.h"

namespace jostle {

enum class ElementType { Int8, Uint8, Int16, Uint16, Int32, Uint32, BigInt64, BigUint64 };

template <class T>
struct ElementTraits;

#define JOSTLE_ELEMENT(T, E, JS)                          \
  template <>                                             \
  struct ElementTraits<T> {                               \
    static constexpr ElementType kType = ElementType::E;  \
    static constexpr std::string_view kName = #E;         \
    using Js = JS;                                        \
  }
JOSTLE_ELEMENT(std::int8_t, Int8, double);
JOSTLE_ELEMENT(std::uint8_t, Uint8, double);
JOSTLE_ELEMENT(std::int16_t, Int16, double);
JOSTLE_ELEMENT(std::uint16_t, Uint16, double);
JOSTLE_ELEMENT(std::int32_t, Int32, double);
JOSTLE_ELEMENT(std::uint32_t, Uint32, double);
JOSTLE_ELEMENT(std::int64_t, BigInt64, std::int64_t);
JOSTLE_ELEMENT(std::uint64_t, BigUint64, std::uint64_t);
#undef JOSTLE_ELEMENT

template <class T>
using JsValue = typename ElementTraits<T>::Js;

template <class T>
concept AtomicElement = requires { ElementTraits<T>::kType; };

// ToIntegerOrInfinity: NaN -> +0, truncation towards zero, -0 -> +0, infinities kept.
inline double to_integer_or_infinity(double x) {
  if (std::isnan(x)) return 0.0;
  if (std::isinf(x)) return x;
  return std::trunc(x) + 0.0;  // + 0.0 turns -0 into +0
}

// ToInt8 ... ToUint32 (ECMA-262 7.1.6-7.1.11): non-finite -> 0, else truncate and reduce modulo 2^bits.
template <class T>
T to_element(double x) {
  static_assert(sizeof(T) <= 4);
  if (!std::isfinite(x)) return T{0};
  const double modulus = std::ldexp(1.0, static_cast<int>(sizeof(T) * 8));
  double m = std::fmod(std::trunc(x), modulus);
  if (m < 0) m += modulus;
  return static_cast<T>(static_cast<std::uint64_t>(m));  // two's complement narrowing
}

// The conversion a front end applies to a JS value for element type T.
template <class T>
T coerce(JsValue<T> v) {
  if constexpr (sizeof(T) == 8) {
    return static_cast<T>(v);
  } else {
    return to_element<T>(v);
  }
}

template <class T>
JsValue<T> to_js(T v) {
  return static_cast<JsValue<T>>(v);
}

template <class O, class T>
concept OpsFor = requires(T* p, T v) {
  { O::load(p) } -> std::same_as<T>;
  { O::store(p, v) } -> std::same_as<void>;
  { O::fetch_add(p, v) } -> std::same_as<T>;
  { O::fetch_sub(p, v) } -> std::same_as<T>;
  { O::fetch_and(p, v) } -> std::same_as<T>;
  { O::fetch_or(p, v) } -> std::same_as<T>;
  { O::fetch_xor(p, v) } -> std::same_as<T>;
  { O::exchange(p, v) } -> std::same_as<T>;
  { O::compare_exchange(p, v, v) } -> std::same_as<T>;
};

template <class O>
concept AtomicsOps = requires(std::size_t n) {
  { O::kName } -> std::convertible_to<std::string_view>;
  { O::kNativeAtomics } -> std::convertible_to<bool>;
  { O::is_lock_free(n) } -> std::same_as<bool>;
  { O::pause() } -> std::same_as<void>;
} && OpsFor<O, std::int8_t> && OpsFor<O, std::uint8_t> && OpsFor<O, std::int16_t> &&
    OpsFor<O, std::uint16_t> && OpsFor<O, std::int32_t> && OpsFor<O, std::uint32_t> &&
    OpsFor<O, std::int64_t> && OpsFor<O, std::uint64_t>;

template <class O>
concept OrderedAtomicsOps = AtomicsOps<O> && requires(std::int32_t* p, std::int32_t v, std::memory_order mo) {
  { O::load(p, mo) } -> std::same_as<std::int32_t>;
  { O::store(p, v, mo) } -> std::same_as<void>;
};

// The spec-shaped front end over an ops backend.
template <AtomicsOps O>
struct Atomics {
  template <class T>
  static T* cell(const TypedView<T>& view, std::size_t i) {
    if (i >= view.length()) throw AtomicsError(AtomicsError::range_error, "index out of range");
    return view.element(i);
  }

  template <class T>
  static JsValue<T> load(const TypedView<T>& view, std::size_t i) {
    return to_js(O::load(cell(view, i)));
  }
  template <class T>
  static JsValue<T> store(const TypedView<T>& view, std::size_t i, JsValue<T> v) {
    T* p = cell(view, i);
    O::store(p, coerce<T>(v));
    if constexpr (sizeof(T) == 8) {
      return v;
    } else {
      return to_integer_or_infinity(v);
    }
  }
  template <class T>
  static JsValue<T> add(const TypedView<T>& view, std::size_t i, JsValue<T> v) {
    return to_js(O::fetch_add(cell(view, i), coerce<T>(v)));
  }
  template <class T>
  static JsValue<T> sub(const TypedView<T>& view, std::size_t i, JsValue<T> v) {
    return to_js(O::fetch_sub(cell(view, i), coerce<T>(v)));
  }
  template <class T>
  static JsValue<T> and_(const TypedView<T>& view, std::size_t i, JsValue<T> v) {
    return to_js(O::fetch_and(cell(view, i), coerce<T>(v)));
  }
  template <class T>
  static JsValue<T> or_(const TypedView<T>& view, std::size_t i, JsValue<T> v) {
    return to_js(O::fetch_or(cell(view, i), coerce<T>(v)));
  }
  template <class T>
  static JsValue<T> xor_(const TypedView<T>& view, std::size_t i, JsValue<T> v) {
    return to_js(O::fetch_xor(cell(view, i), coerce<T>(v)));
  }
  template <class T>
  static JsValue<T> exchange(const TypedView<T>& view, std::size_t i, JsValue<T> v) {
    return to_js(O::exchange(cell(view, i), coerce<T>(v)));
  }
  template <class T>
  static JsValue<T> compare_exchange(const TypedView<T>& view, std::size_t i, JsValue<T> expected,
                                     JsValue<T> replacement) {
    T* p = cell(view, i);
    return to_js(O::compare_exchange(p, coerce<T>(expected), coerce<T>(replacement)));
  }
  static bool is_lock_free(std::size_t n) { return O::is_lock_free(n); }
  static void pause() { O::pause(); }
};

}  // namespace jostle
