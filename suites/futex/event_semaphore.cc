// Reset event and semaphore over futex backends (catalog E1-E4, E6).
#include <memory>

#include "backend_map.h"
#include "futex_util.h"
#include "jostle/contracts/event.h"
#include "jostle/contracts/semaphore.h"
#include "jostle/jostle.h"

namespace jostle {

using futex_cases::kSlack;

// E1 (Zig ResetEvent "smoke test").
JOSTLE_CASE(futex, event_state_machine)
    .primitive("event")
    .describe("unset at start; set latches (is_set, wait and timed_wait return at once); reset unsets")
    .clauses({"event.initial-unset", "event.set.latch", "event.reset", "event.is-set", "event.timed-wait"})
    .iterations(50)
    .body<EventBackends>([]<EventBackend E>(Context& ctx) {
      E e;
      JOSTLE_CHECK(!e.is_set()) << "a new event is set";
      JOSTLE_CHECK(!e.timed_wait(0)) << "timed_wait(0) on an unset event";
      const probe::BlameClock clock;
      JOSTLE_CHECK(!e.timed_wait(kMilli)) << "timed_wait(1ms) on an unset event";
      const Nanos took = clock.elapsed();
      JOSTLE_CHECK(took >= kMilli && clock.blamed() <= kMilli + kSlack)
          << "timed_wait(1ms) took " << took << " ns (" << clock.blamed() << " ns not excused)";
      e.set();
      JOSTLE_REQUIRE(e.is_set()) << "is_set() after set()";
      e.wait();  // must not block
      JOSTLE_CHECK(e.timed_wait(0)) << "timed_wait(0) on a set event";
      JOSTLE_CHECK(e.timed_wait(kMilli)) << "timed_wait(1ms) on a set event";
      e.set();  // idempotent
      e.reset();
      JOSTLE_CHECK(!e.is_set()) << "is_set() after reset()";
      JOSTLE_CHECK(!e.timed_wait(0)) << "timed_wait(0) after reset()";
      e.reset();  // idempotent
      e.set();
      JOSTLE_CHECK(e.is_set()) << "is_set() after reset() then set()";
      (void)ctx;
    });

// E6 (tensorflow PR #4064, grpc PR #12051): a set() before anyone waits is latched, for the same thread and
// for another thread.
JOSTLE_CASE(futex, event_set_before_wait)
    .primitive("event")
    .describe("set() before wait(): the later wait returns at once, on this thread and on another")
    .clause("event.set.latch")
    .iterations(50)
    .timeout(20 * kSecond)
    .body<EventBackends>([]<EventBackend E>(Context& ctx) {
      E e;
      e.set();
      JOSTLE_REQUIRE(e.timed_wait(2 * kSecond)) << "wait after set() on the same thread did not return";
      E f;
      ctx.actors(1, [&](int) { f.set(); });
      JOSTLE_REQUIRE(f.timed_wait(2 * kSecond)) << "wait after another thread's set() did not return";
    });

// E2 (Zig ResetEvent "signaling"): two threads bounce a plain payload with two events and reset; values arrive
// in order, and the payload written before set() is visible after wait().
JOSTLE_CASE(futex, event_ping_pong)
    .primitive("event")
    .describe("ping-pong over two events with reset: a plain payload advances 1, 2, 3, ... in order")
    .clauses({"event.wait", "event.reset", "event.happens-before"})
    .threads(1)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<EventBackends>([]<EventBackend E>(Context& ctx) {
      constexpr int kRounds = 300;
      E ping, pong;
      int payload = 0;  // plain: ordered only by the events
      int bad = 0;
      ActorGroup g = ctx.spawn(1, [&](int) {
        for (int r = 0; r < kRounds; ++r) {
          phase("wait-ping");
          ping.wait();
          ping.reset();
          if (payload != 2 * r + 1) ++bad;
          payload = 2 * r + 2;
          pong.set();
        }
      });
      for (int r = 0; r < kRounds; ++r) {
        payload = 2 * r + 1;
        ping.set();
        phase("wait-pong");
        pong.wait();
        pong.reset();
        JOSTLE_CHECK_EQ(payload, 2 * r + 2) << "round " << r;
      }
      g.join();
      JOSTLE_CHECK_EQ(bad, 0) << "the actor saw a stale payload";
    });

template <class E>
struct EventStage {
  E event;
  std::atomic<int> left{0};
};

// E3 (Zig ResetEvent "broadcast", blocking for real): threads meet at barriers built on events; the last
// arriver sets the event everyone else blocks on.
JOSTLE_CASE(futex, event_broadcast)
    .primitive("event")
    .describe("threads pass start/finish barriers built on events; one set() releases every blocked waiter")
    .clause("event.set.wakes-all")
    .threads(6)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<EventBackends>([]<EventBackend E>(Context& ctx) {
      constexpr int kThreads = 6;
      constexpr int kRounds = 50;
      auto stages = std::make_unique<EventStage<E>[]>(2 * kRounds);
      for (int s = 0; s < 2 * kRounds; ++s) stages[static_cast<std::size_t>(s)].left.store(kThreads);
      ctx.actors(kThreads, [&](int) {
        for (int s = 0; s < 2 * kRounds; ++s) {
          EventStage<E>& st = stages[static_cast<std::size_t>(s)];
          phase("barrier");
          if (st.left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            st.event.set();
          } else {
            st.event.wait();
          }
        }
      });
      for (int s = 0; s < 2 * kRounds; ++s) JOSTLE_CHECK(stages[static_cast<std::size_t>(s)].event.is_set());
    });

// E4 (Zig Semaphore tests): one permit used as a mutex by 3 workers; then timed_wait on no permits times out,
// and after a post it succeeds and leaves none.
JOSTLE_CASE(futex, semaphore_as_mutex)
    .primitive("semaphore")
    .describe("permits=1 as a mutex for 3 workers; timed_wait on 0 permits times out; post then timed_wait; "
              "a 500-step hand-off between two threads")
    .clauses({"sem.wait", "sem.post", "sem.timed-wait", "sem.happens-before"})
    .threads(3)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<SemaphoreBackends>([]<SemaphoreBackend S>(Context& ctx) {
      constexpr int kWorkers = 3;
      constexpr int kIncrements = 2000;
      S s;
      s.post();
      WideCounter n;
      ctx.actors(kWorkers, [&](int) {
        for (int k = 0; k < kIncrements; ++k) {
          phase("wait");
          s.wait();
          n.increment();
          s.post();
        }
      });
      JOSTLE_CHECK(n.consistent() && n.value() == kWorkers * kIncrements)
          << "count " << n.value() << " of " << kWorkers * kIncrements << (n.consistent() ? "" : " (torn)");
      JOSTLE_REQUIRE(s.try_wait()) << "the permit did not come back";
      JOSTLE_CHECK_EQ(s.permits(), 0u);
      const probe::BlameClock clock;
      JOSTLE_CHECK(!s.timed_wait(kMilli)) << "timed_wait(1ms) with no permits";
      const Nanos took = clock.elapsed();
      JOSTLE_CHECK(took >= kMilli && clock.blamed() <= kMilli + kSlack)
          << "timed_wait(1ms) took " << took << " ns (" << clock.blamed() << " ns not excused)";
      s.post();
      JOSTLE_CHECK(s.timed_wait(kMilli)) << "timed_wait(1ms) after post()";
      JOSTLE_CHECK_EQ(s.permits(), 0u);
      // Strict hand-off between two threads over two semaphores: any lost wake stops it (the watchdog).
      S to_actor, to_main;
      constexpr int kHandoffs = 500;
      ActorGroup g = ctx.spawn(1, [&](int) {
        for (int k = 0; k < kHandoffs; ++k) {
          phase("wait");
          to_actor.wait();
          to_main.post();
        }
      });
      for (int k = 0; k < kHandoffs; ++k) {
        to_actor.post();
        phase("wait");
        to_main.wait();
      }
      g.join();
    });

// Permit conservation under stress: posters and timed consumers race; posts == taken + permits left. Consumer
// timeouts are short, so timeouts collide with posts (a timed-out wait must not eat a permit).
JOSTLE_CASE(futex, semaphore_conservation)
    .kind(Kind::stress)
    .primitive("semaphore")
    .describe("2 posters and 3 timed consumers: every post is taken exactly once or still available")
    .clauses({"sem.conservation", "sem.timed-wait"})
    .threads(5)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<SemaphoreBackends>([]<SemaphoreBackend S>(Context& ctx) {
      constexpr int kPosters = 2, kConsumers = 3, kPosts = 700;
      S s;
      std::atomic<int> posters_left{kPosters};
      std::atomic<std::uint64_t> taken{0}, timeouts{0};
      ctx.actors(kPosters + kConsumers, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i) + 1));
        if (i < kPosters) {
          phase("post");
          for (int k = 0; k < kPosts; ++k) {
            s.post();
            const Nanos until = now_ns() + static_cast<Nanos>(rng.below(120)) * kMicro;
            while (now_ns() < until) sys::cpu_relax();
          }
          posters_left.fetch_sub(1);
          return;
        }
        phase("timed-wait");
        while (posters_left.load() > 0) {
          if (s.timed_wait(static_cast<Nanos>(10 + rng.below(150)) * kMicro)) {
            taken.fetch_add(1);
          } else {
            timeouts.fetch_add(1);
          }
        }
      });
      const std::uint64_t posts = kPosters * kPosts;
      const std::uint64_t left = s.permits();
      JOSTLE_CHECK(taken.load() + left == posts)
          << "posted " << posts << ", taken " << taken.load() << ", left " << left << ": "
          << static_cast<std::int64_t>(posts - taken.load() - left) << " permits lost";
      ctx.metric("timeouts", static_cast<double>(timeouts.load()));
    });

}  // namespace jostle
