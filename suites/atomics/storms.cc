// Storms: many threads hammering RMW operations and compare-exchange loops on shared cells, with
// conservation checks at the end; and a deliberately racy load-then-store increment whose lost updates must
// show up in the outcome histogram (INTERESTING), which proves the histogram can see races at all.
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "atomics_backends.h"
#include "jostle/contracts/atomics.h"
#include "jostle/jostle.h"

namespace jostle {
namespace {

template <class B>
concept Ops = AtomicsOps<B>;

// One storm over element type T: every thread does `ops` operations of the kind given by `op`.
template <AtomicsOps O, class T>
void counter_storm(Context& ctx, const std::string& op, int threads, int ops) {
  using A = Atomics<O>;
  SharedBuffer buf = SharedBuffer::create(64);
  TypedView<T> view(buf);
  const std::size_t cell = 1 + ctx.rng().below(view.length() - 1);
  // cas_loop on a 1/2-byte cell also hammers the other element of its pair with add: both share one aligned
  // 32-bit word, which is what a sub-word emulation on the containing word (LL/SC or CAS with a lane mask)
  // must keep apart.
  constexpr bool kNeighbour = sizeof(T) < 4;
  const std::size_t neighbour = cell ^ 1;
  constexpr int kBits = static_cast<int>(sizeof(T) * 8);
  std::atomic<std::uint64_t> returned_sum{0};  // exchange: conservation of the values passed around
  std::atomic<int> ownership_errors{0};
  std::atomic<int> running{0};
  ctx.actors(threads, [&](int a) {
    // Spin until every thread is here, so that the storms overlap instead of running one after another.
    running.fetch_add(1);
    while (running.load() < threads) sys::cpu_relax();
    const T one = T{1};
    const int bit = a % kBits;
    const T mask = static_cast<T>(T{1} << bit);
    std::uint64_t sum = 0;
    for (int k = 0; k < ops; ++k) {
      if (op == "add") {
        A::add(view, cell, to_js(one));
      } else if (op == "sub") {
        A::sub(view, cell, to_js(one));
      } else if (op == "xor") {
        // Only thread a toggles bit a (with two threads per cell), so the old value shows it as a left it.
        const T before = static_cast<T>(A::xor_(view, cell, to_js(mask)));
        if (((before & mask) != 0) != (k % 2 == 1)) ownership_errors.fetch_add(1, std::memory_order_relaxed);
      } else if (op == "or_and") {
        // Thread a owns bit a: it sets and clears only its own bit, so the old value must show its bit as it
        // left it, whatever the other threads do to theirs.
        const T before = static_cast<T>(A::or_(view, cell, to_js(mask)));
        const T after = static_cast<T>(A::and_(view, cell, to_js(static_cast<T>(~mask))));
        if ((before & mask) != 0 || (after & mask) == 0) ownership_errors.fetch_add(1, std::memory_order_relaxed);
      } else if (op == "exchange") {
        const T mine = static_cast<T>(a * ops + k + 1);
        sum += static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(static_cast<T>(A::exchange(view, cell, to_js(mine)))));
      } else if (op == "cas_loop") {
        T seen = static_cast<T>(A::load(view, cell));
        for (;;) {
          const T got = static_cast<T>(A::compare_exchange(view, cell, to_js(seen), to_js(static_cast<T>(seen + 1))));
          if (got == seen) break;
          seen = got;
          A::pause();
        }
        if constexpr (kNeighbour) A::add(view, neighbour, to_js(one));
      }
    }
    returned_sum.fetch_add(sum, std::memory_order_relaxed);
  });
  const auto final_value = static_cast<T>(A::load(view, cell));
  const std::uint64_t total = static_cast<std::uint64_t>(threads) * static_cast<std::uint64_t>(ops);
  const char* tname = ElementTraits<T>::kName.data();
  if (op == "add" || op == "cas_loop") {
    JOSTLE_CHECK(final_value == static_cast<T>(total))
        << tname << " " << op << ": " << static_cast<double>(final_value) << " after " << total
        << " increments (mod 2^" << kBits << "): lost updates";
    if (op == "cas_loop" && kNeighbour) {
      const auto next = static_cast<T>(A::load(view, neighbour));
      JOSTLE_CHECK(next == static_cast<T>(total))
          << tname << " cas_loop: the neighbouring element (same 32-bit word) holds " << static_cast<double>(next)
          << " after " << total << " adds: an update of one element overwrote the other";
    }
  } else if (op == "sub") {
    JOSTLE_CHECK(final_value == static_cast<T>(0 - total)) << tname << " sub: lost updates";
  } else if (op == "xor") {
    T want{0};
    for (int a = 0; a < threads; ++a)
      if (ops % 2 == 1) want = static_cast<T>(want ^ static_cast<T>(T{1} << (a % kBits)));
    JOSTLE_CHECK(final_value == want) << tname << " xor: final " << static_cast<double>(final_value);
    JOSTLE_CHECK_EQ(ownership_errors.load(), 0) << tname << ": a thread's own bit changed under it";
  } else if (op == "or_and") {
    JOSTLE_CHECK_EQ(ownership_errors.load(), 0) << tname << ": a thread's own bit changed under it";
    JOSTLE_CHECK(final_value == T{0}) << tname << " or/and: final " << static_cast<double>(final_value);
  } else if (op == "exchange") {
    // Every value ever stored is returned exactly once, by the next exchange, or is the final value.
    std::uint64_t want = 0;
    for (std::uint64_t v = 1; v <= total; ++v)
      want += static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(static_cast<T>(v)));
    const std::uint64_t got =
        returned_sum.load() + static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(final_value));
    JOSTLE_CHECK_EQ(got, want) << tname << " exchange: values lost or duplicated";
  }
}

}  // namespace

JOSTLE_CASE(atomics, rmw_counter_storm)
    .primitive("atomics")
    .describe("threads hammer one cell with add / sub / xor / or+and / exchange; the final value (and for "
              "or+and each thread's own bit, for exchange the sum of values handed over) shows every update")
    .clause("atomics.rmw.indivisible")
    .kind(Kind::stress)
    .threads(2)
    .param("op", {"add", "sub", "xor", "or_and", "exchange"})
    .param("type", {"Int8", "Int32", "BigInt64"})
    .iterations(20)
    .timeout(30 * kSecond)
    .body<AtomicsBackends>([]<Ops O>(Context& ctx) {
      const std::string& op = ctx.param("op");
      const std::string& type = ctx.param("type");
      const int ops = O::kNativeAtomics ? 200000 : 50000;
      if (type == "Int8") counter_storm<O, std::int8_t>(ctx, op, 2, ops);
      if (type == "Int32") counter_storm<O, std::int32_t>(ctx, op, 2, ops);
      if (type == "BigInt64") counter_storm<O, std::int64_t>(ctx, op, 2, ops);
    });

JOSTLE_CASE(atomics, cas_loop_storm)
    .primitive("atomics")
    .describe("compareExchange increment loops from 3 threads on one cell (and on an Int16 cell next to a "
              "hammered neighbour): the count is exact")
    .clauses({"atomics.cmpxchg", "atomics.rmw.indivisible"})
    .kind(Kind::stress)
    .threads(3)
    .param("type", {"Int16", "Uint32", "BigUint64"})
    .iterations(20)
    .timeout(30 * kSecond)
    .body<AtomicsBackends>([]<Ops O>(Context& ctx) {
      const std::string& type = ctx.param("type");
      if (type == "Int16") counter_storm<O, std::int16_t>(ctx, "cas_loop", 3, 20000);
      if (type == "Uint32") counter_storm<O, std::uint32_t>(ctx, "cas_loop", 3, 20000);
      if (type == "BigUint64") counter_storm<O, std::uint64_t>(ctx, "cas_loop", 3, 20000);
    });

JOSTLE_CASE(atomics, racy_increment)
    .primitive("atomics")
    .describe("two threads increment a cell with a separate load and store (not an RMW): lost updates are "
              "expected and must appear as the INTERESTING outcome, never fail the run (proves the histogram "
              "sees races)")
    .kind(Kind::stress)
    .threads(2)
    .iterations(200)
    .outcome("exact", Grade::acceptable, "no increment was lost this time")
    .outcome("lost-updates", Grade::interesting, "a load-then-store increment overwrote another")
    .body<TypeList<StdOps>>([]<Ops O>(Context& ctx) {
      constexpr int kIncrements = 20000;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View view(buf);
      ctx.actors(2, [&](int) {
        std::int32_t* p = view.element(0);
        for (int k = 0; k < kIncrements; ++k) O::store(p, static_cast<std::int32_t>(O::load(p) + 1));
      });
      const auto final_value = static_cast<std::int64_t>(O::load(view.element(0)));
      JOSTLE_CHECK(final_value <= 2 * kIncrements && final_value >= 2) << final_value;
      ctx.record(final_value == 2 * kIncrements ? "exact" : "lost-updates");
      ctx.metric("lost_updates", static_cast<double>(2 * kIncrements - final_value), "n");
    });

}  // namespace jostle
