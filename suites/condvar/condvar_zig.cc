// Zig's std.Thread.Condition tests, ported: smoke, wait and signal, signal, multi signal, broadcast,
// broadcasting - wake all threads. Catalog C2 (Zig form), C12-C15.
#include <atomic>

#include "backend_map.h"
#include "jostle/jostle.h"
#include "other_thread.h"

namespace jostle {

JOSTLE_CASE(condvar, cv_smoke)
    .describe("a 1 ns timed wait returns (timed out unless spurious); signal and broadcast with no waiters")
    .clauses({"condvar.timed.past-deadline", "condvar.timed.lower-bound"})
    .iterations(200)
    .timeout(10 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      typename C::Mutex m;
      C cv;
      m.lock();
      phase("timed_wait");
      const bool woken = cv.wait_for(m, 1);
      if (claims_strict(ctx)) {
        JOSTLE_CHECK(!woken) << "a strict backend woke with nobody signalling";
      }
      cv.notify_one();
      cv.notify_all();
      m.unlock();
    });

JOSTLE_CASE(condvar, cv_wait_and_signal)
    .describe("4 threads each wait, timed-wait 1 ms, then signal; one signal from main drives the chain")
    .clauses({"condvar.signal.one", "condvar.wait.atomic-release"})
    .threads(4)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kThreads = 4;
      typename C::Mutex m;
      C cv;
      ActorGroup g = ctx.spawn(kThreads, [&](int) {
        m.lock();
        phase("wait");
        cv.wait(m);
        phase("timed_wait");
        (void)cv.wait_for(m, kMilli);
        cv.notify_one();
        m.unlock();
        phase("done");
      });
      for (int i = 0; i < kThreads; ++i) JOSTLE_REQUIRE(ctx.await_parked(i, "wait")) << "actor " << i;
      m.lock();
      cv.notify_one();
      m.unlock();
      g.join();
    });

JOSTLE_CASE(condvar, cv_signal)
    .describe("waiters timed-wait 1 ns x5 then wait; main sets `notified` and signals after unlocking; each woken "
              "waiter signals the next")
    .clauses({"condvar.signal.one", "condvar.timed.no-swallow"})
    .threads(4)
    .iterations(50)
    .timeout(10 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kThreads = 4;
      typename C::Mutex m;
      C cv;
      bool notified = false;
      ActorGroup g = ctx.spawn(kThreads, [&](int) {
        m.lock();
        int round = 0;
        while (!notified) {  // set by main under m; the waits release m
          phase("wait");
          if (round++ < 5) {
            (void)cv.wait_for(m, 1);
          } else {
            cv.wait(m);
          }
        }
        cv.notify_one();  // pass it on, inside the lock
        m.unlock();
        phase("done");
      });
      m.lock();
      notified = true;
      m.unlock();
      cv.notify_one();
      g.join();
    });

JOSTLE_CASE(condvar, cv_multi_signal)
    .describe("4 paddles in a ring, each with its own mutex and condvar: paddle 0 ends at 5, the rest at 4")
    .clauses({"condvar.signal.one", "condvar.wait.atomic-release"})
    .threads(4)
    .iterations(50)
    .timeout(10 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kThreads = 4, kHits = 4;
      struct Paddle {
        typename C::Mutex m;
        C cv;
        int value = 0;
        void hit() {
          m.lock();
          ++value;
          m.unlock();
          cv.notify_one();
        }
      };
      Paddle paddles[kThreads];
      ActorGroup g = ctx.spawn(kThreads, [&](int i) {
        Paddle& self = paddles[i];
        int current = 0;
        for (int n = 0; n < kHits; ++n) {
          self.m.lock();
          phase("wait");
          while (current == self.value) self.cv.wait(self.m);
          current = self.value;
          self.m.unlock();
          paddles[(i + 1) % kThreads].hit();
        }
        phase("done");
      });
      paddles[0].hit();
      g.join();
      for (int i = 0; i < kThreads; ++i) {
        paddles[i].m.lock();
        const int v = paddles[i].value;
        paddles[i].m.unlock();
        JOSTLE_CHECK_EQ(v, i == 0 ? kHits + 1 : kHits) << "paddle " << i;
      }
    });

JOSTLE_CASE(condvar, cv_broadcast)
    .describe("10 threads timed-wait 1 ns ten times then wait; one broadcast after all arrived wakes them all")
    .clauses({"condvar.broadcast.all"})
    .threads(10)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kThreads = 10;
      typename C::Mutex m;
      C cv, completed;
      int count = 0;
      ActorGroup g = ctx.spawn(kThreads, [&](int) {
        m.lock();
        if (++count == kThreads) completed.notify_one();
        int round = 0;
        while (count != 0) {  // reset by main under m; the waits release m
          phase("wait");
          if (round++ < 10) {
            (void)cv.wait_for(m, 1);
          } else {
            cv.wait(m);
          }
        }
        m.unlock();
        phase("done");
      });
      m.lock();
      while (count != kThreads) (void)completed.wait_for(m, 100 * kMilli);
      count = 0;
      cv.notify_all();
      m.unlock();
      g.join();
    });

JOSTLE_CASE(condvar, cv_broadcasting_wake_all)
    .describe("10 waiters keyed by id loop on a 2 s timed wait until it is their turn, then bump the turn and "
              "broadcast after unlocking; a broadcast must reach every waiter, so nobody ever times out "
              "(Zig #12877)")
    .clauses({"condvar.broadcast.all"})
    .threads(10)
    .iterations(50)
    .timeout(60 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kThreads = 10;
      typename C::Mutex m;
      C cv;
      int to_wake = 0, arrived = 0;
      std::atomic<int> timeouts{0};
      ActorGroup g = ctx.spawn(kThreads, [&](int i) {
        const int id = i + 1;
        m.lock();
        ++arrived;
        while (to_wake != id) {
          phase("wait");
          if (!cv.wait_for(m, 2 * kSecond)) timeouts.fetch_add(1);
        }
        ++to_wake;
        m.unlock();
        cv.notify_all();
        phase("done");
      });
      JOSTLE_REQUIRE(probe::await([&] {
        m.lock();
        const bool all = arrived == kThreads;
        m.unlock();
        return all;
      }));
      m.lock();
      to_wake = 1;
      m.unlock();
      cv.notify_all();
      g.join();
      // REQUIRE: a run stops at the first iteration with a miss (each miss costs a 2 s wait).
      JOSTLE_REQUIRE_EQ(timeouts.load(), 0) << "a waiter missed a broadcast and had to time out";
    });

}  // namespace jostle
