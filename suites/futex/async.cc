// Cross-thread async notifier with its epoll loop (catalog A1-A3, libxev's AsyncTests).
#include <memory>

#include "async_backends.h"
#include "jostle/contracts/async.h"
#include "jostle/jostle.h"

namespace jostle {

// A1 ("async"): a notify from another thread fires the armed wait once; the next no_wait run fires nothing
// (no stale readiness). Then a burst of notifies completed before the loop runs fires exactly one callback.
JOSTLE_CASE(futex, async_once)
    .primitive("async")
    .describe("notify from another thread: run(once) fires one callback, run(no_wait) after it none")
    .clauses({"async.notify", "async.drain", "async.notify.coalesce"})
    .threads(1)
    .iterations(50)
    .timeout(20 * kSecond)
    .body<AsyncBackends>([]<AsyncNotifier A>(Context& ctx) {
      A a;
      EpollLoop<A> loop;
      int fired = 0;
      loop.wait(a, [&] {
        ++fired;
        return AsyncAction::rearm;
      });
      ActorGroup g = ctx.spawn(1, [&](int) { a.notify(); });
      JOSTLE_REQUIRE(loop.run(RunMode::once, 2 * kSecond)) << "the notification never fired";
      g.join();
      loop.run(RunMode::no_wait);
      JOSTLE_CHECK_EQ(fired, 1) << "one notify, then no_wait";
      const int burst = 2 + static_cast<int>(ctx.rng().below(3));
      ctx.actors(1, [&](int) {
        for (int k = 0; k < burst; ++k) a.notify();
      });
      JOSTLE_REQUIRE(loop.run(RunMode::once, 2 * kSecond)) << "the burst never fired";
      for (int k = 0; k < 3; ++k) loop.run(RunMode::no_wait);
      JOSTLE_CHECK_EQ(fired, 2) << burst << " notifies done before the loop ran";
    });

// A2 ("async: notify first"): a notification sent before the wait is armed fires once it is.
JOSTLE_CASE(futex, async_notify_first)
    .primitive("async")
    .describe("notify() before the wait is armed still fires it (run until_done)")
    .clause("async.notify.latch")
    .iterations(50)
    .timeout(20 * kSecond)
    .body<AsyncBackends>([]<AsyncNotifier A>(Context&) {
      A a;
      EpollLoop<A> loop;
      a.notify();
      int fired = 0;
      loop.wait(a, [&] {
        ++fired;
        return AsyncAction::disarm;
      });
      JOSTLE_REQUIRE(loop.run(RunMode::until_done, 1 * kSecond)) << "a notification sent before arming was lost";
      JOSTLE_CHECK_EQ(fired, 1);
    });

// A3 ("async batches multiple notifications"): 5 notifies before arming and 1 after give exactly one callback.
JOSTLE_CASE(futex, async_coalesce)
    .primitive("async")
    .describe("5 notifies before arming + 1 after: run(once) and 10 run(no_wait) fire exactly one callback")
    .clause("async.notify.coalesce")
    .iterations(50)
    .timeout(20 * kSecond)
    .body<AsyncBackends>([]<AsyncNotifier A>(Context&) {
      A a;
      EpollLoop<A> loop;
      for (int k = 0; k < 5; ++k) a.notify();
      int fired = 0;
      loop.wait(a, [&] {
        ++fired;
        return AsyncAction::rearm;
      });
      a.notify();
      JOSTLE_REQUIRE(loop.run(RunMode::once, 2 * kSecond)) << "nothing fired";
      for (int k = 0; k < 10; ++k) loop.run(RunMode::no_wait);
      JOSTLE_CHECK_EQ(fired, 1) << "6 pending notifications";
    });

// A3's multi-producer stress: producers publish then notify; the loop keeps running until a callback has
// seen every publication. Callbacks never outnumber notifies, and the last notification is never lost (a
// lost one leaves run(once) waiting past its timeout).
JOSTLE_CASE(futex, async_last_not_lost)
    .kind(Kind::stress)
    .primitive("async")
    .describe("3 producers x 2000 notifies against a running loop: <= 1 callback per notify, none lost at the end")
    .clauses({"async.notify.last", "async.notify.coalesce"})
    .threads(3)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<AsyncBackends>([]<AsyncNotifier A>(Context& ctx) {
      constexpr int kProducers = 3, kNotifies = 2000;
      constexpr std::uint64_t kTotal = kProducers * kNotifies;
      A a;
      EpollLoop<A> loop;
      std::atomic<std::uint64_t> published{0};
      std::uint64_t seen = 0;
      loop.wait(a, [&] {
        seen = published.load(std::memory_order_acquire);
        return AsyncAction::rearm;
      });
      ActorGroup g = ctx.spawn(kProducers, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i) + 1));
        phase("notify");
        for (int k = 0; k < kNotifies; ++k) {
          published.fetch_add(1, std::memory_order_release);
          a.notify();
          for (std::uint64_t s = rng.below(200); s > 0; --s) sys::cpu_relax();
        }
      });
      while (seen < kTotal) {
        if (!loop.run(RunMode::once, 2 * kSecond)) break;
      }
      g.join();
      JOSTLE_CHECK_EQ(seen, kTotal) << "the loop stopped hearing notifications";
      JOSTLE_CHECK(static_cast<std::uint64_t>(loop.callbacks()) <= kTotal) << loop.callbacks() << " callbacks";
      ctx.metric("callbacks", static_cast<double>(loop.callbacks()));
    });

}  // namespace jostle
