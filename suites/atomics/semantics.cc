// Single-thread semantics of every Atomics operation on every element type and ops backend: the old value,
// per-type wraparound, ToIntN/ToBigInt64 conversion of the operand, store's return value, compareExchange's
// converted comparison, neighbours untouched, range errors; plus the shared buffer's growth and isLockFree.
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "atomics_backends.h"
#include "jostle/contracts/atomics.h"
#include "jostle/jostle.h"

namespace jostle {
namespace {

enum class Op { load, store, add, sub, and_, or_, xor_, exchange, compare_exchange };

// The conversion reference, written independently of the front end's fmod-based one: through int64.
template <class T>
T ref_coerce(JsValue<T> v) {
  if constexpr (sizeof(T) == 8) {
    return v;
  } else {
    if (!std::isfinite(v)) return T{0};
    return static_cast<T>(static_cast<std::uint64_t>(static_cast<std::int64_t>(std::trunc(v))));
  }
}

template <class T>
std::vector<T> edge_values() {
  using L = std::numeric_limits<T>;
  return {T{0}, T{1}, static_cast<T>(-1), L::min(), L::max(), static_cast<T>(L::min() + 1),
          static_cast<T>(L::max() - 1), static_cast<T>(0x5555555555555555ULL), static_cast<T>(0xAAAAAAAAAAAAAAAAULL)};
}

// JS operands: in-range, out-of-range (wrap), fractional, -0, NaN and infinities for Numbers.
template <class T>
std::vector<JsValue<T>> operand_values() {
  if constexpr (sizeof(T) == 8) {
    std::vector<JsValue<T>> v;
    for (T x : edge_values<T>()) v.push_back(x);
    return v;
  } else {
    const double m = std::ldexp(1.0, static_cast<int>(sizeof(T) * 8));
    return {0.0, 1.0, -1.0, 3.7, -3.7, -0.0, 300.0, -129.0, m, m + 5, -m - 1, 65535.0, 2147483647.0,
            2147483648.0, 9007199254740992.0, std::nan(""), INFINITY, -INFINITY};
  }
}

template <class T>
T read_cell(const TypedView<T>& v, std::size_t i) {
  T x;
  std::memcpy(&x, v.element(i), sizeof(T));
  return x;
}

constexpr unsigned char kFill = 0xA5;

template <AtomicsOps O, class T>
void check_type(Context& ctx, Op op, Sharing sharing) {
  using A = Atomics<O>;
  using J = JsValue<T>;
  const char* tname = ElementTraits<T>::kName.data();
  SharedBuffer buf = SharedBuffer::create(64, 0, sharing);
  TypedView<T> view(buf);
  const std::size_t n = view.length();
  int reported = 0;
  auto fail = [&](std::size_t idx, T init, J operand, const char* what, double got, double want) {
    if (++reported > 8) return;
    JOSTLE_CHECK(false) << tname << (sharing == Sharing::shared ? "" : " (unshared)") << " index " << idx
                        << " init " << static_cast<double>(init) << " operand " << static_cast<double>(operand)
                        << ": " << what << " = " << got << ", expected " << want;
  };
  for (std::size_t idx : {std::size_t{0}, std::size_t{1}, n / 2 + 1, n - 1}) {
    if (idx >= n) continue;
    for (T init : edge_values<T>()) {
      for (J operand : operand_values<T>()) {
        std::memset(buf.data(), kFill, 64);
        std::memcpy(view.element(idx), &init, sizeof(T));
        const T c = ref_coerce<T>(operand);
        T want_cell = init;
        J got{};
        double want_ret = static_cast<double>(init);
        J second = operand;  // compareExchange's replacement
        switch (op) {
          case Op::load: got = A::load(view, idx); break;
          case Op::store:
            got = A::store(view, idx, operand);
            want_cell = c;
            if constexpr (sizeof(T) < 8) {
              want_ret = std::isnan(operand) ? 0.0 : std::isinf(operand) ? operand : std::trunc(operand) + 0.0;
              if (got == 0 && std::signbit(static_cast<double>(got))) fail(idx, init, operand, "store returned -0", -0.0, 0.0);
            } else {
              want_ret = static_cast<double>(operand);
            }
            break;
          case Op::add: got = A::add(view, idx, operand); want_cell = static_cast<T>(static_cast<std::uint64_t>(init) + static_cast<std::uint64_t>(c)); break;
          case Op::sub: got = A::sub(view, idx, operand); want_cell = static_cast<T>(static_cast<std::uint64_t>(init) - static_cast<std::uint64_t>(c)); break;
          case Op::and_: got = A::and_(view, idx, operand); want_cell = static_cast<T>(init & c); break;
          case Op::or_: got = A::or_(view, idx, operand); want_cell = static_cast<T>(init | c); break;
          case Op::xor_: got = A::xor_(view, idx, operand); want_cell = static_cast<T>(init ^ c); break;
          case Op::exchange: got = A::exchange(view, idx, operand); want_cell = c; break;
          case Op::compare_exchange: {
            // Expected is `operand` half the time and the cell's own value, possibly shifted by 2^bits
            // (equal after conversion), the other half, so both outcomes are exercised.
            J expected = operand;
            if ((ctx.rng().next() & 1) != 0) {
              expected = to_js(init);
              if constexpr (sizeof(T) < 8) {
                if (std::abs(expected) < 1e6) expected += std::ldexp(1.0, static_cast<int>(sizeof(T) * 8));
              }
            }
            second = to_js(static_cast<T>(init ^ T{0x3c}));
            got = A::compare_exchange(view, idx, expected, second);
            if (ref_coerce<T>(expected) == init) want_cell = ref_coerce<T>(second);
            break;
          }
        }
        if (static_cast<double>(got) != want_ret && !(sizeof(T) == 8 && static_cast<T>(got) == static_cast<T>(want_ret)))
          fail(idx, init, operand, "returned", static_cast<double>(got), want_ret);
        if (read_cell(view, idx) != want_cell)
          fail(idx, init, operand, "cell", static_cast<double>(read_cell(view, idx)), static_cast<double>(want_cell));
        for (std::size_t b = 0; b < 64; ++b) {
          if (b >= idx * sizeof(T) && b < (idx + 1) * sizeof(T)) continue;
          if (static_cast<unsigned char>(buf.data()[b]) != kFill) {
            fail(idx, init, operand, "neighbour byte changed", static_cast<double>(b), -1);
            break;
          }
        }
      }
    }
  }
  bool threw = false;
  try {
    A::load(view, n);
  } catch (const AtomicsError& e) {
    threw = e.kind == AtomicsError::range_error;
  }
  JOSTLE_CHECK(threw) << tname << ": index == length did not throw a RangeError";
}

template <AtomicsOps O>
void check_all_types(Context& ctx, Op op) {
  for (Sharing s : {Sharing::shared, Sharing::unshared}) {
    check_type<O, std::int8_t>(ctx, op, s);
    check_type<O, std::uint8_t>(ctx, op, s);
    check_type<O, std::int16_t>(ctx, op, s);
    check_type<O, std::uint16_t>(ctx, op, s);
    check_type<O, std::int32_t>(ctx, op, s);
    check_type<O, std::uint32_t>(ctx, op, s);
    check_type<O, std::int64_t>(ctx, op, s);
    check_type<O, std::uint64_t>(ctx, op, s);
  }
}

// Spot checks straight from the test262 expectations, on top of the generated table.
template <AtomicsOps O>
void check_spec_examples() {
  using A = Atomics<O>;
  SharedBuffer buf = SharedBuffer::create(16);
  Int8View i8(buf);
  JOSTLE_CHECK_EQ(A::store(i8, 0, 300.0), 300.0) << "store returns ToIntegerOrInfinity(v), not the stored byte";
  JOSTLE_CHECK_EQ(A::load(i8, 0), 44.0);
  JOSTLE_CHECK_EQ(A::compare_exchange(i8, 0, 300.0, 7.0), 44.0) << "expected 300 converts to 44";
  JOSTLE_CHECK_EQ(A::load(i8, 0), 7.0) << "compareExchange compared the converted expected value";
  const double z = A::store(i8, 1, -0.0);
  JOSTLE_CHECK(z == 0.0 && !std::signbit(z)) << "store(-0) must return +0";
  Uint32View u32(buf);
  A::store(u32, 1, 0.0);
  JOSTLE_CHECK_EQ(A::sub(u32, 1, 1.0), 0.0);
  JOSTLE_CHECK_EQ(A::load(u32, 1), 4294967295.0) << "Uint32 wraps to 2^32-1 and reads back unsigned";
  BigInt64View b64(buf);
  A::store(b64, 1, std::numeric_limits<std::int64_t>::max());
  JOSTLE_CHECK_EQ(A::add(b64, 1, std::int64_t{1}), std::numeric_limits<std::int64_t>::max());
  JOSTLE_CHECK_EQ(A::load(b64, 1), std::numeric_limits<std::int64_t>::min()) << "BigInt64 wraps modulo 2^64";
}

template <class B>
concept Ops = AtomicsOps<B>;

#define JOSTLE_SEMANTICS_CASE(NAME, OP, CLAUSE)                                                               \
  JOSTLE_CASE(atomics, semantics_##NAME)                                                                      \
      .primitive("atomics")                                                                                   \
      .describe("Atomics." #NAME " on every element type (shared and unshared): result, wraparound, "       \
                "operand conversion, neighbours untouched, RangeError past the end")                         \
      .clauses({CLAUSE, "atomics.element.isolated", "atomics.rmw.unshared"})                                 \
      .iterations(3)                                                                                          \
      .body<AtomicsBackends>([]<Ops O>(Context& ctx) {                                                        \
        check_all_types<O>(ctx, OP);                                                                          \
        check_spec_examples<O>();                                                                             \
      })

JOSTLE_SEMANTICS_CASE(load, Op::load, "atomics.load");
JOSTLE_SEMANTICS_CASE(store, Op::store, "atomics.store.returns-coerced");
JOSTLE_SEMANTICS_CASE(add, Op::add, "atomics.rmw.wrap");
JOSTLE_SEMANTICS_CASE(sub, Op::sub, "atomics.rmw.wrap");
JOSTLE_SEMANTICS_CASE(and, Op::and_, "atomics.rmw.old-value");
JOSTLE_SEMANTICS_CASE(or, Op::or_, "atomics.rmw.old-value");
JOSTLE_SEMANTICS_CASE(xor, Op::xor_, "atomics.rmw.old-value");
JOSTLE_SEMANTICS_CASE(exchange, Op::exchange, "atomics.rmw.old-value");
JOSTLE_SEMANTICS_CASE(compareExchange, Op::compare_exchange, "atomics.cmpxchg.converted");

}  // namespace

JOSTLE_CASE(atomics, islockfree_pause)
    .primitive("atomics")
    .describe("isLockFree(n) gives the same answer on every call and every thread; true for 4 on native "
              "backends; pause() returns")
    .clauses({"atomics.islockfree.stable", "atomics.pause"})
    .kind(Kind::stress)
    .iterations(20)
    .body<AtomicsBackends>([]<Ops O>(Context&) {
      for (std::size_t n : {1, 2, 3, 4, 8, 16}) {
        const bool first = Atomics<O>::is_lock_free(n);
        bool other = !first;
        std::thread([&] { other = Atomics<O>::is_lock_free(n); }).join();
        JOSTLE_CHECK_EQ(first, other) << "isLockFree(" << n << ") differs between threads";
        for (int k = 0; k < 100; ++k) JOSTLE_CHECK_EQ(Atomics<O>::is_lock_free(n), first) << "n=" << n;
      }
      if constexpr (O::kNativeAtomics) {
        JOSTLE_CHECK(Atomics<O>::is_lock_free(4)) << "isLockFree(4) must be true";
      }
      for (int k = 0; k < 10; ++k) Atomics<O>::pause();
    });

JOSTLE_CASE(atomics, buffer_grow)
    .primitive("shared_buffer")
    .describe("a growable shared buffer grows in place while other threads race to grow and touch it: the "
              "address never changes, lengths only increase, every byte below a seen length is accessible and "
              "new bytes read 0")
    .clauses({"buffer.grow.in-place", "buffer.grow.atomic-length", "buffer.grow.bounds", "buffer.create.zeroed"})
    .kind(Kind::stress)
    .threads(3)
    .iterations(20)
    .body<TypeList<StdOps>>([]<Ops O>(Context& ctx) {
      constexpr std::size_t kMax = 1 << 20;
      SharedBuffer buf = SharedBuffer::create(8, kMax);
      std::byte* const base = buf.data();
      JOSTLE_CHECK(!buf.grow(kMax + 1)) << "grow past the maximum succeeded";
      JOSTLE_CHECK(!buf.grow(4)) << "shrinking succeeded";
      Int32View tracking(buf);
      JOSTLE_CHECK_EQ(tracking.length(), 2u);
      std::atomic<int> bad{0};
      ctx.actors(3, [&](int a) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(a)));
        std::size_t last = 0;
        for (int k = 0; k < 200; ++k) {
          if (a < 2) {
            const std::size_t want = 8 + rng.below(kMax - 8);
            // A grow may only fail because another thread already grew past the request.
            JOSTLE_CHECK(buf.grow(want) || buf.byte_length() > want) << "grow(" << want << ") failed";
          }
          const std::size_t len = buf.byte_length();
          if (len < last) bad.fetch_add(1);
          last = len;
          const std::size_t i = tracking.length() - 1;  // the last element below the length this view sees
          // A write to the last element this view sees: faults if its page was not committed before the
          // length was published.
          Atomics<O>::add(tracking, i, 0.0);
        }
      });
      JOSTLE_CHECK_EQ(bad.load(), 0) << "a length went down";
      JOSTLE_CHECK(buf.data() == base) << "the block moved";
      JOSTLE_CHECK(buf.grow(kMax));
      Uint8View bytes(buf);
      JOSTLE_CHECK_EQ(Atomics<O>::load(bytes, kMax - 1), 0.0) << "a new byte does not read 0";
      const long before = buf.use_count();
      SharedBuffer copy = buf;
      JOSTLE_CHECK_EQ(buf.use_count(), before + 1);
    });

}  // namespace jostle
