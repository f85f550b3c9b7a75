// The waiter list behind Atomics.wait / waitAsync / notify (catalog atomics-agents.md, "Waiter lists and
// notify", "waitAsync"): results, FIFO order, exact counts, per-index lists, timeout lower bounds, the
// notify-vs-timeout decision, no spurious wakeups, no lost wakeups.
// Long because: a suite file holds every case of its contract; the cases are independent and share only the
// helpers at the top.
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "atomics_backends.h"
#include "jostle/contracts/atomics.h"
#include "jostle/contracts/waiter_list.h"
#include "jostle/jostle.h"
#include "waiter_list_backends.h"

namespace jostle {
namespace {

using A = Atomics<StdOps>;
constexpr Nanos kSlack = 2 * kSecond;  // generous upper bound: the machine is shared and noisy
// How long a waitAsync may take to settle before the case calls it lost. Wall time, not blamed time (the
// loop's deadline is absolute), so it is far above kSlack: a starved or chaos-held thread must not turn a
// slow settlement into a failure. A lost settlement still fails, only later.
constexpr Nanos kSettle = 10 * kSecond;

template <class W, class T>
bool await_waiters(W& list, const TypedView<T>& v, std::size_t i, std::size_t n, Nanos timeout = 5 * kSecond) {
  return probe::await([&] { return list.waiter_count(v, i) == n; }, timeout);
}

template <class F>
bool throws(F f, AtomicsError::Kind kind) {
  try {
    f();
  } catch (const AtomicsError& e) {
    return e.kind == kind;
  }
  return false;
}

// A timed wait that reports timed-out must have lasted at least its timeout on CLOCK_MONOTONIC (`lapse`), and
// not much more than it in the time the primitive can be blamed for (`blamed`: the lapse minus run-queue waits
// and chaos holds, probe::BlameClock): a thread the OS or the amplifier did not run is not an oversleep.
void check_lapse(WaitStatus r, Nanos lapse, Nanos blamed, Nanos t, const char* what) {
  if (r != WaitStatus::timed_out) return;
  // An early timeout is decided at once (a REQUIRE ends the run: a defective list may also leave a later
  // waitAsync unsettled, whose 10 s settle bound would otherwise delay the verdict past detect's budget).
  JOSTLE_REQUIRE(lapse >= t) << what << ": timed-out after " << lapse << " ns < timeout " << t << " ns";
  JOSTLE_CHECK(blamed < t + kSlack) << what << ": timed-out only after " << lapse << " ns, " << blamed
                                    << " ns not excused (timeout " << t << ")";
}

}  // namespace

JOSTLE_CASE(atomics, wait_results)
    .primitive("waiter_list")
    .describe("wait/waitAsync/notify results on one thread: not-equal, converted expected value, timeout 0, "
              "timed-out no earlier than the timeout, [[CanBlock]] false and unshared buffers refused, notify "
              "on an unshared buffer returns 0 after validating the index, a positive timeout already past still "
              "async, argument conversions")
    .clauses({"waiter.wait.not-equal", "waiter.wait.timeout-lower-bound", "waiter.wait.can-block",
              "waiter.wait.unshared", "waiter.notify.unshared", "waiter.async.own-loop",
              "waiter.async.positive-timeout"})
    .iterations(5)
    .timeout(20 * kSecond)
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View i32(buf);
      BigInt64View i64(buf);
      A::store(i32, 0, 42.0);
      JOSTLE_CHECK_EQ(to_string(list.wait(i32, 0, 0, kForever, true)), std::string("not-equal"));
      A::store(i32, 1, 251.0);
      // Atomics.wait(i32, 1, 251.4, 0): ToInt32(251.4) = 251 equals the cell, so it times out (not not-equal).
      JOSTLE_CHECK_EQ(to_string(list.wait(i32, 1, coerce<std::int32_t>(251.4), 0, true)), std::string("timed-out"));
      JOSTLE_CHECK_EQ(to_string(list.wait(i64, 3, std::int64_t{0}, 0, true)), std::string("timed-out"));
      JOSTLE_CHECK(throws([&] { list.wait(i32, 2, 0, kForever, false); }, AtomicsError::type_error))
          << "[[CanBlock]] false must throw TypeError";
      JOSTLE_CHECK(throws([&] { list.wait(i32, 0, 0, kForever, false); }, AtomicsError::type_error))
          << "the [[CanBlock]] check comes before the compare (value differs here)";
      JOSTLE_CHECK(throws([&] { list.wait(i32, 16, 0, 0, true); }, AtomicsError::range_error));
      const Nanos t = (5 + static_cast<Nanos>(ctx.rng().below(10))) * kMilli;
      for (int k = 0; k < 2; ++k) {
        const probe::BlameClock clock;
        const WaitStatus r = k == 0 ? list.wait(i32, 2, 0, t, true) : list.wait(i64, 3, std::int64_t{0}, t, true);
        JOSTLE_CHECK_EQ(to_string(r), std::string("timed-out"));
        check_lapse(r, clock.elapsed(), clock.blamed(), t, "wait");
      }
      // waitAsync: immediate results, then a timeout settled as a job on this thread's loop.
      AgentLoop loop;
      auto ignore = [](WaitStatus) {};
      WaitAsyncResult ar = list.wait_async(i32, 0, 0, kForever, loop, ignore);
      JOSTLE_CHECK(!ar.async && ar.value == WaitStatus::not_equal) << "waitAsync on a differing value";
      ar = list.wait_async(i32, 2, 0, 0, loop, ignore);
      JOSTLE_CHECK(!ar.async && ar.value == WaitStatus::timed_out) << "waitAsync with timeout 0";
      int settled = 0;
      WaitStatus got = WaitStatus::ok;
      std::thread::id where;
      const probe::BlameClock clock;
      ar = list.wait_async(i32, 2, 0, t, loop, [&](WaitStatus s) {
        ++settled;
        got = s;
        where = std::this_thread::get_id();
      });
      JOSTLE_CHECK(ar.async);
      JOSTLE_CHECK(loop.run_until([&] { return settled > 0; }, now_ns() + t + kSettle)) << "waitAsync never settled";
      JOSTLE_CHECK_EQ(to_string(got), std::string("timed-out"));
      check_lapse(got, clock.elapsed(), clock.blamed(), t, "waitAsync");
      JOSTLE_CHECK(where == std::this_thread::get_id()) << "settled off the waiter's own loop";
      // A 1 ns timeout has passed by the time the waiter is enqueued: still async, settled timed-out by the
      // loop (only timeout 0 answers at once).
      settled = 0;
      ar = list.wait_async(i32, 2, 0, 1, loop, [&](WaitStatus s) {
        ++settled;
        got = s;
      });
      JOSTLE_CHECK(ar.async) << "waitAsync with a 1 ns timeout answered " << to_string(ar.value)
                             << " at once; only timeout 0 may [waiter.async.positive-timeout]";
      if (ar.async) {
        JOSTLE_CHECK(loop.run_until([&] { return settled > 0; }, now_ns() + kSettle)) << "1 ns waitAsync never settled";
        JOSTLE_CHECK_EQ(to_string(got), std::string("timed-out"));
      }
      JOSTLE_CHECK_EQ(list.notify(i32, 2, NotifyCount::all()), 0u) << "nobody is left to notify";
      // Unshared buffers: wait and waitAsync throw, notify validates the index and then returns 0.
      SharedBuffer plain = SharedBuffer::create(16, 0, Sharing::unshared);
      Int32View p32(plain);
      JOSTLE_CHECK(throws([&] { list.wait(p32, 0, 0, 0, true); }, AtomicsError::type_error));
      JOSTLE_CHECK(throws([&] { list.wait_async(p32, 0, 0, 0, loop, ignore); }, AtomicsError::type_error));
      JOSTLE_CHECK_EQ(list.notify(p32, 0, NotifyCount::all()), 0u);
      JOSTLE_CHECK(throws([&] { list.notify(p32, 4, NotifyCount::all()); }, AtomicsError::range_error))
          << "notify validates the index before the unshared check";
      // Argument conversions.
      JOSTLE_CHECK_EQ(timeout_from_ms(std::nan("")), kForever);
      JOSTLE_CHECK_EQ(timeout_from_ms(INFINITY), kForever);
      JOSTLE_CHECK_EQ(timeout_from_ms(-5), 0);
      JOSTLE_CHECK_EQ(timeout_from_ms(1.5), 1'500'000);
      JOSTLE_CHECK(NotifyCount::undefined().is_all());
      JOSTLE_CHECK(NotifyCount::from_number(INFINITY).is_all());
      JOSTLE_CHECK_EQ(NotifyCount::from_number(-3).n, 0u);
      JOSTLE_CHECK_EQ(NotifyCount::from_number(std::nan("")).n, 0u);
      JOSTLE_CHECK_EQ(NotifyCount::from_number(2.9).n, 2u);
    });

JOSTLE_CASE(atomics, wait_timeout_margin)
    .primitive("waiter_list")
    .describe("timed-out waits (sync and async, 1-8 ms, two agents at once) never end before their timeout; "
              "the margin lapse - t is recorded as a metric and its minimum must be >= 0")
    .clause("waiter.wait.timeout-lower-bound")
    .threads(2)
    .iterations(10)
    .timeout(30 * kSecond)
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View i32(buf);
      ctx.actors(2, [&](int a) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(a)));
        AgentLoop loop;
        for (int k = 0; k < 4; ++k) {
          const Nanos t = (1 + static_cast<Nanos>(rng.below(8))) * kMilli + static_cast<Nanos>(rng.below(1000));
          const std::size_t idx = static_cast<std::size_t>(a);
          probe::BlameClock clock;
          WaitStatus r;
          if (k % 2 == 0) {
            phase("wait");
            r = list.wait(i32, idx, 0, t, true);
          } else {
            phase("waitAsync");
            bool done = false;
            r = WaitStatus::ok;
            clock = probe::BlameClock();
            const WaitAsyncResult ar = list.wait_async(i32, idx, 0, t, loop, [&](WaitStatus s) {
              r = s;
              done = true;
            });
            // A positive timeout is always async, even one already past when the waiter is enqueued
            // [waiter.async.positive-timeout]; an answer at once has no settlement to wait for.
            JOSTLE_CHECK(ar.async) << "waitAsync(" << t << " ns) answered " << to_string(ar.value) << " at once";
            if (!ar.async) {
              r = ar.value;
            } else {
              JOSTLE_CHECK(loop.run_until([&] { return done; }, now_ns() + t + kSettle)) << "waitAsync never settled";
            }
          }
          const Nanos lapse = clock.elapsed();
          JOSTLE_CHECK_EQ(to_string(r), std::string("timed-out"));
          ctx.metric(k % 2 == 0 ? "wait_margin_ns" : "wait_async_margin_ns", static_cast<double>(lapse - t), "ns");
          check_lapse(r, lapse, clock.blamed(), t, k % 2 == 0 ? "wait" : "waitAsync");
        }
      });
    });

JOSTLE_CASE(atomics, wait_fifo)
    .primitive("waiter_list")
    .describe("waiters enqueued one at a time on one cell (each confirmed in the list before the next) are "
              "woken by notify(1) in arrival order")
    .clause("waiter.notify.fifo")
    .param("waiters", {"3", "6"})
    .iterations(10)
    .timeout(20 * kSecond)
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      const int n = static_cast<int>(ctx.param_int("waiters"));
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View i32(buf);
      std::atomic<int> turn{-1};
      std::atomic<int> woken_slot{0};   // the next free slot in `order`
      std::atomic<int> recorded{0};     // how many woken waiters have written their slot
      std::vector<std::atomic<int>> order(static_cast<std::size_t>(n));
      ActorGroup g = ctx.spawn(n, [&](int a) {
        while (turn.load(std::memory_order_acquire) != a) sys::cpu_relax();
        phase("wait");
        const WaitStatus r = list.wait(i32, 5, 0, kForever, true);
        JOSTLE_CHECK_EQ(to_string(r), std::string("ok"));
        order[static_cast<std::size_t>(woken_slot.fetch_add(1))].store(a);
        recorded.fetch_add(1);  // after the store: the main thread reads order[i] once this counts it
      });
      // Each actor enters in a seeded-random order; the expected wake order is the entry order.
      std::vector<int> entry(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) entry[static_cast<std::size_t>(i)] = i;
      for (int i = n - 1; i > 0; --i) std::swap(entry[static_cast<std::size_t>(i)], entry[ctx.rng().below(static_cast<std::uint64_t>(i) + 1)]);
      for (int i = 0; i < n; ++i) {
        turn.store(entry[static_cast<std::size_t>(i)], std::memory_order_release);
        JOSTLE_REQUIRE(await_waiters(list, i32, 5, static_cast<std::size_t>(i) + 1)) << "waiter " << i << " never enqueued";
      }
      for (int i = 0; i < n; ++i) {
        JOSTLE_CHECK_EQ(list.notify(i32, 5, NotifyCount::from_number(1)), 1u);
        JOSTLE_REQUIRE(probe::await([&] { return recorded.load() == i + 1; })) << "notify(1) woke nobody";
        const int took = order[static_cast<std::size_t>(i)].load();
        JOSTLE_CHECK_EQ(took, entry[static_cast<std::size_t>(i)]) << "wake " << i << " took the wrong waiter (FIFO)";
      }
      g.join();
    });

JOSTLE_CASE(atomics, notify_exact_count)
    .primitive("waiter_list")
    .describe("notify returns exactly how many waiters it removed: count 1, 0, -3, NaN, more than are left, a "
              "re-notify, and notify with nobody waiting")
    .clause("waiter.notify.exact-count")
    .iterations(10)
    .timeout(20 * kSecond)
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      constexpr int kWaiters = 3;
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      BigInt64View i64(buf);
      std::atomic<int> ok{0};
      JOSTLE_CHECK_EQ(list.notify(i64, 1, NotifyCount::from_number(3)), 0u) << "nobody waiting";
      ActorGroup g = ctx.spawn(kWaiters, [&](int) {
        phase("wait");
        if (list.wait(i64, 1, std::int64_t{0}, kForever, true) == WaitStatus::ok) ok.fetch_add(1);
      });
      JOSTLE_REQUIRE(await_waiters(list, i64, 1, kWaiters));
      for (double c : {0.0, -3.0, std::nan("")})
        JOSTLE_CHECK_EQ(list.notify(i64, 1, NotifyCount::from_number(c)), 0u) << "count " << c;
      JOSTLE_CHECK_EQ(list.notify(i64, 1, NotifyCount::from_number(1)), 1u);
      JOSTLE_CHECK(probe::await([&] { return ok.load() == 1; }));
      JOSTLE_CHECK_EQ(list.waiter_count(i64, 1), std::size_t{kWaiters - 1});
      const double more = static_cast<double>(kWaiters + ctx.rng().below(5));
      JOSTLE_CHECK_EQ(list.notify(i64, 1, NotifyCount::from_number(more)), std::uint64_t{kWaiters - 1})
          << "count " << more << " with " << kWaiters - 1 << " left";
      JOSTLE_CHECK_EQ(list.notify(i64, 1, NotifyCount::from_number(2)), 0u) << "re-notify";
      g.join();
      JOSTLE_CHECK_EQ(ok.load(), kWaiters);
    });

JOSTLE_CASE(atomics, notify_other_index)
    .primitive("waiter_list")
    .describe("waiters on indices 0 and 2: notify on indices 1 and 3 returns 0 and wakes nobody; each index's "
              "notify wakes only its own waiter")
    .clause("waiter.list.per-cell")
    .iterations(10)
    .timeout(20 * kSecond)
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View i32(buf);
      std::atomic<int> woke[2] = {0, 0};
      ActorGroup g = ctx.spawn(2, [&](int a) {
        phase("wait");
        if (list.wait(i32, a == 0 ? 0 : 2, 0, kForever, true) == WaitStatus::ok) woke[a].store(1);
      });
      JOSTLE_REQUIRE(await_waiters(list, i32, 0, 1) && await_waiters(list, i32, 2, 1));
      JOSTLE_CHECK_EQ(list.notify(i32, 1, NotifyCount::from_number(1)), 0u);
      JOSTLE_CHECK_EQ(list.notify(i32, 3, NotifyCount::all()), 0u);
      JOSTLE_CHECK(list.waiter_count(i32, 0) == 1 && list.waiter_count(i32, 2) == 1) << "a waiter left its list";
      JOSTLE_CHECK_EQ(list.notify(i32, 0, NotifyCount::from_number(1)), 1u);
      JOSTLE_CHECK(probe::await([&] { return woke[0].load() == 1; }));
      JOSTLE_CHECK_EQ(woke[1].load(), 0) << "notify on index 0 woke the waiter on index 2";
      JOSTLE_CHECK_EQ(list.notify(i32, 2, NotifyCount::from_number(1)), 1u);
      g.join();
      JOSTLE_CHECK_EQ(woke[1].load(), 1);
    });

JOSTLE_CASE(atomics, wait_notify_vs_timeout)
    .primitive("waiter_list")
    .describe("notify(1) lands within a few hundred microseconds either side of a waiter's deadline: notify "
              "returned 1 exactly when the waiter reports ok (a removed waiter is ok even past its deadline), and "
              "a timed-out waiter waited at least its timeout")
    .clauses({"waiter.wait.notify-wins", "waiter.wait.timeout-lower-bound"})
    .threads(1)
    .iterations(300)
    .timeout(30 * kSecond)
    .outcome("notified", Grade::acceptable, "notify removed the waiter")
    .outcome("timed-out", Grade::acceptable, "the deadline came first")
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View i32(buf);
      const Nanos t = 2 * kMilli;
      std::atomic<Nanos> start{0};
      std::atomic<int> result{-1};
      std::atomic<Nanos> lapse{0};
      std::atomic<Nanos> blamed{0};
      ActorGroup g = ctx.spawn(1, [&](int) {
        const probe::BlameClock clock;
        start.store(now_ns(), std::memory_order_release);
        phase("wait");
        const WaitStatus r = list.wait(i32, 0, 0, t, true);
        lapse.store(clock.elapsed());
        blamed.store(clock.blamed());
        result.store(static_cast<int>(r), std::memory_order_release);
      });
      JOSTLE_REQUIRE(probe::await([&] { return list.waiter_count(i32, 0) == 1 || result.load() >= 0; }));
      // Aim notify at deadline + delta, delta in [-300 us, +300 us], spinning (not sleeping) to land precisely.
      const Nanos delta = static_cast<Nanos>(ctx.rng().below(600)) * kMicro - 300 * kMicro;
      const Nanos at = start.load(std::memory_order_acquire) + t + delta;
      while (now_ns() < at) sys::cpu_relax();
      const std::uint64_t n = list.notify(i32, 0, NotifyCount::from_number(1));
      g.join();
      const auto r = static_cast<WaitStatus>(result.load());
      JOSTLE_CHECK_EQ(n == 1, r == WaitStatus::ok)
          << "notify returned " << n << " but the waiter reported " << to_string(r) << " (delta " << delta << " ns)";
      check_lapse(r, lapse.load(), blamed.load(), t, "wait racing notify");
      ctx.record(r == WaitStatus::ok ? "notified" : "timed-out");
    });

JOSTLE_CASE(atomics, wait_no_spurious)
    .primitive("waiter_list")
    .describe("a sync and an async waiter on a cell are not woken when another agent changes the cell with "
              "the given operation (without notify): both time out no earlier than the timeout, and a later "
              "notify finds nobody")
    .clause("waiter.wait.no-spurious")
    .param("op", {"store", "add", "sub", "and", "or", "xor", "exchange", "compareExchange"})
    .threads(2)
    .iterations(4)
    .timeout(20 * kSecond)
    .outcome("changed-while-waiting", Grade::acceptable, "the cell changed while both waiters were waiting")
    .outcome("slow-writer", Grade::acceptable,
             "a waiter's 60 ms ran out before the cell changed (inconclusive round: a slow schedule)")
    .outcome("late-waiter", Grade::acceptable,
             "a waiter arrived after the change and got not-equal at once (inconclusive round: the other one "
             "timed out before it registered, so the main thread did not wait for it)")
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      const std::string op = ctx.param("op");
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View i32(buf);
      const Nanos t = 60 * kMilli;
      A::store(i32, 3, 5.0);
      std::atomic<bool> changed{false};
      // The 60 ms is not a bound on the writer: a schedule that delays it past the deadline (chaos, PCT, a
      // loaded machine) makes the round inconclusive, never a failure. A spurious wakeup shows as a return
      // after the change that is not a timeout.
      std::atomic<int> returned_first{0};
      std::atomic<bool> late{false};
      // A waiter that found the cell changed: legitimate only when it no longer holds 5. The cell changes
      // once, so the not-equal this waiter saw is still visible in the reload.
      auto arrived_late = [&](WaitStatus r, const char* what) {
        JOSTLE_CHECK(r == WaitStatus::not_equal && A::load(i32, 3) != 5.0)
            << what << " returned " << to_string(r) << " at once while the cell held its expected value ("
            << A::load(i32, 3) << ")";
        late.store(true);
      };
      ActorGroup g = ctx.spawn(2, [&](int a) {
        const probe::BlameClock clock;
        WaitStatus r = WaitStatus::ok;
        if (a == 0) {
          phase("wait");
          r = list.wait(i32, 3, 5, t, true);
          if (r == WaitStatus::not_equal) return arrived_late(r, "wait");
        } else {
          AgentLoop loop;
          bool done = false;
          const WaitAsyncResult ar = list.wait_async(i32, 3, 5, t, loop, [&](WaitStatus s) {
            r = s;
            done = true;
          });
          // Not async: the change came before this waiter registered, which a slow schedule allows when the
          // sync waiter timed out first (the main thread waits for one of the two, not both).
          if (!ar.async) return arrived_late(ar.value, "waitAsync");
          phase("waitAsync");
          JOSTLE_CHECK(loop.run_until([&] { return done; }, now_ns() + t + kSettle)) << "waitAsync never settled";
        }
        if (!changed.load()) returned_first.fetch_add(1);
        JOSTLE_CHECK_EQ(to_string(r), std::string("timed-out")) << (a == 0 ? "wait" : "waitAsync") << " after " << op;
        check_lapse(r, clock.elapsed(), clock.blamed(), t, a == 0 ? "wait" : "waitAsync");
      });
      // Both registered, or (slow schedule) one already timed out: either way the change comes now.
      (void)probe::await([&] { return list.waiter_count(i32, 3) == 2 || returned_first.load() != 0; }, kSettle);
      double v = 0;
      if (op == "store") v = A::store(i32, 3, 9.0);
      if (op == "add") v = A::add(i32, 3, 1.0);
      if (op == "sub") v = A::sub(i32, 3, 1.0);
      if (op == "and") v = A::and_(i32, 3, 4.0);
      if (op == "or") v = A::or_(i32, 3, 2.0);
      if (op == "xor") v = A::xor_(i32, 3, 3.0);
      if (op == "exchange") v = A::exchange(i32, 3, 11.0);
      if (op == "compareExchange") v = A::compare_exchange(i32, 3, 5.0, 6.0);
      (void)v;
      changed.store(true);
      list.on_write(buf, i32.byte_index(3));  // what the engine's Atomics.<op> tells the waiter list
      g.join();
      ctx.record(late.load()                   ? "late-waiter"
                 : returned_first.load() == 0 ? "changed-while-waiting"
                                              : "slow-writer");
      JOSTLE_CHECK_EQ(list.notify(i32, 3, NotifyCount::all()), 0u) << "waiters left in the list";
    });

JOSTLE_CASE(atomics, wait_mixed_sync_async)
    .primitive("waiter_list")
    .describe("sync and async waiters alternate in one cell's list; notify(1) wakes them in arrival order, and "
              "each async waiter is settled by a job on its own agent's loop")
    .clauses({"waiter.list.mixed", "waiter.notify.fifo", "waiter.async.own-loop"})
    .threads(4)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      constexpr int kAgents = 4;
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      BigInt64View i64(buf);
      std::atomic<int> turn{-1};
      std::atomic<int> woken_slot{0};  // the next free slot in `order`
      std::atomic<int> recorded{0};    // how many woken agents have written their slot
      std::atomic<int> order[kAgents] = {-1, -1, -1, -1};
      const bool async_first = (ctx.rng().next() & 1) != 0;
      ActorGroup g = ctx.spawn(kAgents, [&](int a) {
        while (turn.load(std::memory_order_acquire) != a) sys::cpu_relax();
        const bool is_async = ((a % 2) == 0) == async_first;
        if (!is_async) {
          phase("wait");
          JOSTLE_CHECK_EQ(to_string(list.wait(i64, 2, std::int64_t{0}, kForever, true)), std::string("ok"));
          order[woken_slot.fetch_add(1)].store(a);
          recorded.fetch_add(1);
          return;
        }
        AgentLoop loop;
        bool done = false;
        const auto me = std::this_thread::get_id();
        const WaitAsyncResult ar = list.wait_async(i64, 2, std::int64_t{0}, kForever, loop, [&](WaitStatus s) {
          JOSTLE_CHECK(std::this_thread::get_id() == me) << "agent " << a << " settled off its own loop";
          JOSTLE_CHECK_EQ(to_string(s), std::string("ok"));
          order[woken_slot.fetch_add(1)].store(a);
          recorded.fetch_add(1);
          done = true;
        });
        JOSTLE_REQUIRE(ar.async);
        phase("loop");
        loop.run_until([&] { return done; });
      });
      for (int i = 0; i < kAgents; ++i) {
        turn.store(i, std::memory_order_release);
        JOSTLE_REQUIRE(await_waiters(list, i64, 2, static_cast<std::size_t>(i) + 1)) << "agent " << i << " never enqueued";
      }
      for (int i = 0; i < kAgents; ++i) {
        JOSTLE_CHECK_EQ(list.notify(i64, 2, NotifyCount::from_number(1)), 1u);
        // Wait for the record, not the slot claim: order[i] is written after woken_slot is bumped.
        JOSTLE_REQUIRE(probe::await([&] { return recorded.load() == i + 1; })) << "notify(1) woke nobody";
        const int took = order[i].load();
        JOSTLE_CHECK_EQ(took, i) << "wake " << i << " took the wrong waiter (FIFO across sync/async)";
      }
      g.join();
    });

namespace {
// A two-party barrier for lockstep rounds (harness plumbing: raw atomics and the raw futex). The first to
// arrive spins briefly, then sleeps on the round word: a spinner that only yields competes with its partner
// for the two cores on a loaded machine, and thousands of rounds then take minutes.
class RoundBarrier {
 public:
  void arrive(std::uint64_t round) {
    const auto done = static_cast<std::uint32_t>(round + 1);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) % 2 == 1) {
      round_.store(done, std::memory_order_release);
      sys::futex_wake(round_);
      return;
    }
    if (round_.load(std::memory_order_acquire) == done) return;
    // Waiting for the other party: under PCT, a waiter holding the token would only burn token_wait_us
    // until a forced take-over, round after round. The blocking hooks hand the token over while we wait.
    JOSTLE_CHAOS_BLOCKING_BEGIN("atomics.storm.barrier");
    for (int spins = 0; round_.load(std::memory_order_acquire) != done; ++spins) {
      if (spins < 2000) {
        sys::cpu_relax();
      } else {
        sys::futex_wait(round_, done - 1);
      }
    }
    JOSTLE_CHAOS_BLOCKING_END("atomics.storm.barrier");
  }

 private:
  std::atomic<std::uint64_t> arrived_{0};
  std::atomic<std::uint32_t> round_{0};
};
}  // namespace

JOSTLE_CASE(atomics, wait_notify_storm)
    .primitive("waiter_list")
    .describe("thousands of rounds of wait(cell, 0) racing store(cell, 1) + notify: a waiter that timed out "
              "although the notify finished before its deadline was a lost wakeup (the compare and the enqueue "
              "were not one step)")
    .clauses({"waiter.wait.no-lost-wakeup", "waiter.notify.exact-count"})
    .kind(Kind::stress)
    .threads(2)
    .iterations(3)
    .timeout(20 * kSecond)
    .outcome("ok", Grade::acceptable, "the waiter was enqueued first and notified")
    .outcome("not-equal", Grade::acceptable, "the store came first")
    .outcome("slow-notifier", Grade::acceptable, "timed out before the notifier ran (inconclusive round)")
    .outcome("lost-wakeup", Grade::forbidden, "timed out although notify completed before the deadline")
    .body<WaiterListBackends>([]<WaiterListBackend W>(Context& ctx) {
      constexpr int kRounds = 4000;
      const Nanos t = 50 * kMilli;
      W list;
      SharedBuffer buf = SharedBuffer::create(64);
      Int32View i32(buf);
      RoundBarrier barrier;
      std::atomic<Nanos> notify_done{0};
      std::atomic<std::uint64_t> notified{0};
      int counts[4] = {0, 0, 0, 0};
      std::atomic<int> last{-1};
      std::atomic<bool> out_of_time{false};
      const Nanos budget_end = now_ns() + 4 * kSecond;
      ctx.actors(2, [&](int a) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(a)));
        std::uint64_t round = 0;
        int delay = 0;  // the notifier's head start, steered to the not-equal/ok boundary where the race is
        for (int k = 0; k < kRounds; ++k) {
          if (a == 0) {
            A::store(i32, 0, 0.0);
            // A time budget, so a loaded machine gets fewer rounds instead of a watchdog TIMEOUT. Decided by
            // the waiter before the barrier and read by both after it, so both leave at the same round.
            if (now_ns() > budget_end) out_of_time.store(true, std::memory_order_relaxed);
          }
          barrier.arrive(round++);
          if (out_of_time.load(std::memory_order_relaxed)) break;
          if (a == 1) {
            const int prev = last.load(std::memory_order_acquire);
            if (prev == static_cast<int>(WaitStatus::not_equal)) ++delay;
            if (prev == static_cast<int>(WaitStatus::ok) && delay > 0) --delay;
          }
          const int spin = a == 1 ? delay + static_cast<int>(rng.below(6)) : static_cast<int>(rng.below(3));
          for (int s = 0; s < spin; ++s) sys::cpu_relax();
          if (a == 0) {
            const Nanos t0 = now_ns();
            phase("wait");
            const WaitStatus r = list.wait(i32, 0, 0, t, true);
            last.store(static_cast<int>(r), std::memory_order_release);
            barrier.arrive(round++);  // the notifier has published its results
            const Nanos done = notify_done.load(std::memory_order_acquire);
            const std::uint64_t n = notified.load(std::memory_order_acquire);
            if (r == WaitStatus::timed_out) {
              const bool lost = done < t0 + t;
              ++counts[lost ? 3 : 2];
              JOSTLE_CHECK(!lost) << "round " << k << ": lost wakeup (notify returned " << n << " "
                                  << (t0 + t - done) / kMicro << " us before the deadline)";
              if (lost) out_of_time.store(true, std::memory_order_relaxed);  // found: end the iteration
            } else {
              ++counts[r == WaitStatus::ok ? 0 : 1];
              JOSTLE_CHECK_EQ(n, r == WaitStatus::ok ? 1u : 0u) << "round " << k << ": " << to_string(r);
            }
          } else {
            A::store(i32, 0, 1.0);
            list.on_write(buf, 0);
            notified.store(list.notify(i32, 0, NotifyCount::all()), std::memory_order_release);
            notify_done.store(now_ns(), std::memory_order_release);
            barrier.arrive(round++);
          }
        }
      });
      const char* keys[4] = {"ok", "not-equal", "slow-notifier", "lost-wakeup"};
      for (int i = 0; i < 4; ++i)
        for (int k = 0; k < counts[i]; ++k) ctx.record(keys[i]);
    });

}  // namespace jostle
