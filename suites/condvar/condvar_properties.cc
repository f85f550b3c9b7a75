// glibc's condition variable properties (catalog C1, C2, C4, C6, C7, C8), the ordering case of glibc BZ 13165,
// signal conservation under timeouts, and the strict profile's FIFO order.
// Long because: a suite file holds every case of its contract; the cases are independent and share only the
// helpers at the top.
#include <sched.h>

#include <atomic>
#include <memory>
#include <vector>

#include "backend_map.h"
#include "jostle/jostle.h"
#include "jostle/sys.h"
#include "other_thread.h"

namespace jostle {

namespace {

// Busy-waits until `t` on chaos::now() (the monotonic clock): a sleep would add the timer slack we are trying to
// aim inside. Under PCT with vclock=1 the clock is the schedule's, and a sleep on it is what lands exactly.
void spin_until(Nanos t) {
  if (chaos::vclock()) {
    chaos::sleep_for(t - chaos::now());
    return;
  }
  while (now_ns() < t) sys::cpu_relax();
}

void wait_for_go(std::atomic<std::uint32_t>& go) {
  JOSTLE_CHAOS_BLOCKING_BEGIN("case.wait_for_go");
  while (go.load(std::memory_order_acquire) == 0) sys::futex_wait(go, 0);
  JOSTLE_CHAOS_BLOCKING_END("case.wait_for_go");
}
void let_go(std::atomic<std::uint32_t>& go) {
  go.store(1, std::memory_order_release);
  sys::futex_wake(go);
}

}  // namespace

JOSTLE_CASE(condvar, cv_one_signal_one_waiter)
    .describe("one signal wakes the one confirmed-parked waiter (glibc tst-cond1)")
    .clause("condvar.signal.one")
    .threads(1)
    .iterations(50)
    .timeout(20 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      typename C::Mutex m;
      C cv;
      std::atomic<bool> returned{false};
      ActorGroup g = ctx.spawn(1, [&](int) {
        m.lock();
        phase("wait");
        cv.wait(m);
        m.unlock();
        returned.store(true);
      });
      JOSTLE_REQUIRE(ctx.await_parked(0, "wait")) << "the waiter never blocked";
      m.lock();
      cv.notify_one();
      m.unlock();
      JOSTLE_REQUIRE(probe::await([&] { return returned.load(); }, 5 * kSecond))
          << "the one blocked waiter was not woken by the signal";
      g.join();
    });

JOSTLE_CASE(condvar, cv_broadcast_parked)
    .describe("broadcast wakes all 10 confirmed-parked waiters (glibc tst-cond2)")
    .clause("condvar.broadcast.all")
    .threads(10)
    .iterations(20)
    .timeout(20 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kWaiters = 10;
      typename C::Mutex m;
      C cv;
      bool go = false;
      std::atomic<int> returned{0};
      ActorGroup g = ctx.spawn(kWaiters, [&](int) {
        m.lock();
        phase("wait");
        while (!go) cv.wait(m);
        m.unlock();
        returned.fetch_add(1);
      });
      for (int i = 0; i < kWaiters; ++i) JOSTLE_REQUIRE(ctx.await_parked(i, "wait")) << "waiter " << i;
      m.lock();
      go = true;
      cv.notify_all();
      m.unlock();
      JOSTLE_REQUIRE(probe::await([&] { return returned.load() == kWaiters; }, 5 * kSecond))
          << returned.load() << " of " << kWaiters << " parked waiters woke after one broadcast";
      g.join();
    });

JOSTLE_CASE(condvar, cv_unlocked_signals_exact)
    .describe("N signals sent without the mutex to N parked waiters wake all N, each taking one token "
              "(glibc tst-cond10, with wake accounting)")
    .clauses({"condvar.signal.exact", "condvar.wait.spurious"})
    .threads(8)
    .iterations(30)
    .timeout(20 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kWaiters = 8;
      typename C::Mutex m;
      C cv;
      int tokens = 0;
      WakeTally tally;
      ActorGroup g = ctx.spawn(kWaiters, [&](int) {
        m.lock();
        phase("wait");
        for (;;) {
          cv.wait(m);
          if (tokens > 0) break;
          tally.count(WaitOutcome::spurious);
        }
        --tokens;
        tally.count(WaitOutcome::notified);
        m.unlock();
        phase("done");
      });
      for (int i = 0; i < kWaiters; ++i) JOSTLE_REQUIRE(ctx.await_parked(i, "wait")) << "waiter " << i;
      for (int i = 0; i < kWaiters; ++i) {
        m.lock();
        ++tokens;
        m.unlock();
        cv.notify_one();
      }
      JOSTLE_REQUIRE(probe::await([&] { return tally.notified.load() == kWaiters; }, 5 * kSecond))
          << tally.notified.load() << " of " << kWaiters << " waiters woke for " << kWaiters << " signals";
      g.join();
      ctx.metric("spurious", static_cast<double>(tally.spurious.load()), "wakeups");
      if (claims_strict(ctx)) {
        JOSTLE_CHECK_EQ(tally.spurious.load(), 0u) << "strict profile";
      }
    });

JOSTLE_CASE(condvar, cv_timeout_not_early)
    .describe("a timed wait that reports a timeout has waited at least the requested (fractional-ms) time")
    .clauses({"condvar.timed.lower-bound"})
    .iterations(10)
    .timeout(20 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      typename C::Mutex m;
      C cv;
      m.lock();
      for (Nanos t : {1500 * kMicro, 2300 * kMicro, 7700 * kMicro}) {
        for (int rep = 0; rep < 3; ++rep) {
          phase("timed_wait");
          const Nanos t0 = now_ns();
          const bool woken = cv.wait_for(m, t);
          const Nanos elapsed = now_ns() - t0;
          if (woken) continue;  // a spurious wakeup says nothing about the timeout
          ctx.metric("late_by_ns", static_cast<double>(elapsed - t), "ns");
          JOSTLE_CHECK(elapsed >= t) << "timed out after " << elapsed << " ns, asked for " << t;
          JOSTLE_CHECK(elapsed < t + 2 * kSecond) << "timed out " << elapsed - t << " ns late";
        }
      }
      m.unlock();
    });

JOSTLE_CASE(condvar, cv_past_deadline_prompt)
    .describe("timed waits of 0, -10 ms and -10 s return promptly instead of blocking")
    .clauses({"condvar.timed.past-deadline"})
    .iterations(20)
    .timeout(10 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context&) {
      typename C::Mutex m;
      C cv;
      m.lock();
      for (Nanos t : {Nanos{0}, -10 * kMilli, -10 * kSecond}) {
        phase("timed_wait");
        const Nanos t0 = now_ns();
        (void)cv.wait_for(m, t);
        const Nanos elapsed = now_ns() - t0;
        JOSTLE_CHECK(elapsed < kSecond) << "wait_for(" << t << " ns) took " << elapsed << " ns";
      }
      m.unlock();
    });

JOSTLE_CASE(condvar, cv_destroy_after_last_waiter)
    .describe("the last waiter to leave destroys the condvar at once, after signals and broadcasts "
              "(glibc tst-cond20/21, gcc 54185); run under ASan to see late touches")
    .clauses({"condvar.destroy"})
    .threads(3)
    .iterations(20)
    .timeout(20 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kWaiters = 3, kRounds = 10;
      typename C::Mutex m;
      for (int round = 0; round < kRounds; ++round) {
        C* cv = new C;
        bool go = false;
        int left = 0;
        std::atomic<bool> notifies_returned{false};
        std::atomic<bool> freed{false};
        ActorGroup g = ctx.spawn(kWaiters, [&](int) {
          m.lock();
          phase("wait");
          while (!go) cv->wait(m);
          if (++left == kWaiters) {
            // The notifier signals after unlocking, so a waiter can get here while it is still inside
            // notify_one/notify_all on this condvar; destroying it then would be our race, not the
            // backend's. Once every notify call returned, no thread is blocked on or using it: destroying it
            // at once is allowed.
            while (!notifies_returned.load(std::memory_order_acquire)) sys::cpu_relax();
            delete cv;
            freed.store(true);
          }
          m.unlock();
        });
        for (int i = 0; i < kWaiters; ++i) JOSTLE_REQUIRE(ctx.await_parked(i, "wait")) << "waiter " << i;
        m.lock();
        go = true;
        m.unlock();
        if (ctx.rng().chance(0.5)) {
          cv->notify_all();
        } else {
          for (int i = 0; i < kWaiters; ++i) cv->notify_one();
        }
        notifies_returned.store(true, std::memory_order_release);
        JOSTLE_REQUIRE(probe::await([&] { return freed.load(); }, 5 * kSecond))
            << "waiters did not all leave after the wakeups";
        g.join();
      }
    });

JOSTLE_CASE(condvar, cv_producer_consumer_soak)
    .kind(Kind::stress)
    .describe("one producer posts tokens with random signal counts, signals before or after unlocking, and "
              "occasional broadcasts; 4 consumers mix waits and short timed waits (glibc tst-cond16/18)")
    .clauses({"condvar.signal.one", "condvar.timed.no-swallow", "condvar.broadcast.all"})
    .threads(5)
    .iterations(10)
    .timeout(60 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kConsumers = 4, kTokens = 3000;
      typename C::Mutex m;
      C cv;
      int tokens = 0;
      bool done = false;
      std::atomic<int> consumed{0};
      ctx.actors(kConsumers + 1, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i)));
        if (i == kConsumers) {
          for (int sent = 0; sent < kTokens;) {
            const int k = 1 + static_cast<int>(rng.below(4));
            const bool after_unlock = rng.chance(0.5), broadcast = rng.chance(0.05);
            m.lock();
            tokens += k;
            sent += k;
            if (!after_unlock) broadcast ? cv.notify_all() : [&] { for (int j = 0; j < k; ++j) cv.notify_one(); }();
            m.unlock();
            if (after_unlock) broadcast ? cv.notify_all() : [&] { for (int j = 0; j < k; ++j) cv.notify_one(); }();
            if (rng.chance(0.1)) sched_yield();
          }
          m.lock();
          done = true;
          m.unlock();
          cv.notify_all();
          return;
        }
        m.lock();
        for (;;) {
          while (tokens == 0 && !done) {
            phase("wait");
            if (rng.chance(0.5)) {
              cv.wait(m);
            } else {
              (void)cv.wait_for(m, static_cast<Nanos>(rng.below(200)) * kMicro);
            }
          }
          if (tokens == 0) break;
          --tokens;
          consumed.fetch_add(1);
        }
        m.unlock();
        phase("done");
      });
      JOSTLE_CHECK(consumed.load() >= kTokens) << "consumed " << consumed.load();
    });

JOSTLE_CASE(condvar, cv_signal_before_wait_not_taken)
    .describe("A blocks; S1; C and D start waiting; S2: A must have been woken by S1, whose signal a later "
              "waiter may not take (glibc BZ 13165)")
    .clauses({"condvar.signal.no-steal", "condvar.signal.one"})
    .threads(3)
    .iterations(30)
    .timeout(30 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      typename C::Mutex m;
      C cv;
      std::atomic<bool> a_back{false}, go_c{false}, go_d{false};
      std::atomic<int> cd_back{0};
      ActorGroup g = ctx.spawn(3, [&](int i) {
        if (i == 0) {
          m.lock();
          phase("wait");
          cv.wait(m);
          m.unlock();
          a_back.store(true);
          return;
        }
        // C spins so that it reaches wait() the moment S1 is out; D follows.
        std::atomic<bool>& go = i == 1 ? go_c : go_d;
        while (!go.load()) sys::cpu_relax();
        m.lock();
        phase("wait");
        cv.wait(m);
        m.unlock();
        cd_back.fetch_add(1);
      });
      JOSTLE_REQUIRE(ctx.await_parked(0, "wait")) << "A never blocked";
      m.lock();
      cv.notify_one();  // S1: A is the only blocked waiter, so S1 is A's
      go_c.store(true);
      m.unlock();
      go_d.store(true);
      const bool a_woke = probe::await([&] { return a_back.load(); }, 3 * kSecond);
      JOSTLE_REQUIRE(a_woke) << "S1 was sent while only A was blocked, yet A stayed blocked (" << cd_back.load()
                           << " of the later waiters returned): a later waiter took A's signal";
      (void)ctx.await_parked(1, "wait", kSecond);
      (void)ctx.await_parked(2, "wait", kSecond);
      m.lock();
      cv.notify_one();  // S2
      m.unlock();
      // Let everyone out, however the signals went.
      const Nanos deadline = now_ns() + 5 * kSecond;
      while ((!a_back.load() || cd_back.load() < 2) && now_ns() < deadline) {
        m.lock();
        cv.notify_all();
        m.unlock();
        sleep_ns(kMilli);
      }
      JOSTLE_REQUIRE(a_back.load() && cd_back.load() == 2) << "waiters still blocked after repeated broadcasts";
      g.join();
    });

JOSTLE_CASE(condvar, cv_timeout_signal_handoff)
    .describe("W1 times out just as a signal arrives while W2 waits untimed: W1 reports the wakeup or W2 gets "
              "it, the signal is never dropped (POSIX; wasmtime PR #5871)")
    .clauses({"condvar.timed.no-swallow", "condvar.signal.one"})
    .threads(2)
    .iterations(150)
    .timeout(60 * kSecond)
    .outcome("w1_woken", Grade::acceptable, "the timing-out waiter took the signal and said so")
    .outcome("w2_woken", Grade::acceptable, "W1 timed out cleanly; the signal woke W2")
    .outcome("lost", Grade::forbidden, "W1 reported a timeout and W2 was never woken")
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      if constexpr (!TimeoutKeepsSignal<C>) {
        ctx.unsupported("POSIX lets a timed wait that times out consume a concurrent signal; this backend does not "
                        "promise more (docs/profiles.md)");
      }
      constexpr Nanos kTimeout = 50 * kMilli;
      typename C::Mutex m;
      C cv;
      std::atomic<Nanos> w1_deadline{0};
      std::atomic<int> w1_result{-1};
      std::atomic<bool> w2_back{false};
      std::atomic<std::uint32_t> w2_go{0};
      ActorGroup g = ctx.spawn(2, [&](int i) {
        if (i == 0) {
          m.lock();
          phase("timed_wait");
          w1_deadline.store(chaos::now() + kTimeout);
          const bool woken = cv.wait_for(m, kTimeout);
          m.unlock();
          w1_result.store(woken ? 1 : 0);
        } else {
          // Blocked on a futex the main thread wakes, inside the blocking hooks, not spinning: under PCT the first
          // step does not wait for W2, and with vclock=1 the schedule knows W2 is waiting for one of its threads.
          wait_for_go(w2_go);
          m.lock();
          phase("wait");
          cv.wait(m);
          m.unlock();
          w2_back.store(true);
        }
      });
      // W1 parks first, so a futex-queue backend wakes it first. (If the machine is so slow that W1 times out
      // before that, the iteration still checks the signal reaches W2.)
      JOSTLE_REQUIRE(probe::await([&] { return w1_deadline.load() != 0; })) << "W1 never started waiting";
      (void)ctx.await_parked(0, "timed_wait", kTimeout);
      let_go(w2_go);
      JOSTLE_REQUIRE(ctx.await_parked(1, "wait")) << "W2 never blocked";
      // Aim the signal at W1's deadline, within the window where its timer has fired but it has not run yet.
      const Nanos aim = w1_deadline.load() + static_cast<Nanos>(ctx.rng().below(150 * kMicro)) - 30 * kMicro;
      spin_until(aim);
      m.lock();
      cv.notify_one();
      m.unlock();
      JOSTLE_REQUIRE(probe::await([&] { return w1_result.load() >= 0; }, 5 * kSecond)) << "W1 never returned";
      if (w1_result.load() == 1) {
        ctx.record("w1_woken");
      } else {
        const bool w2 = probe::await([&] { return w2_back.load(); }, 2 * kSecond);
        ctx.record(w2 ? "w2_woken" : "lost");
        JOSTLE_REQUIRE(w2) << "W1 timed out, W2 was not woken: the signal was swallowed";
      }
      while (!w2_back.load()) {
        m.lock();
        cv.notify_all();
        m.unlock();
        sleep_ns(100 * kMicro);
      }
      g.join();
    });

JOSTLE_CASE(condvar, cv_timeout_signal_conservation)
    .describe("a lone waiter times out just as a signal arrives; afterwards the same condvar still wakes a new "
              "waiter with one signal (glibc BZ 25847: a given-back signal must not be left over)")
    .clauses({"condvar.timed.no-swallow", "condvar.signal.exact"})
    .threads(2)
    .iterations(150)
    .timeout(60 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr Nanos kTimeout = 50 * kMilli;
      typename C::Mutex m;
      C cv;
      std::atomic<Nanos> w1_deadline{0};
      std::atomic<bool> w1_back{false}, w2_back{false};
      std::atomic<std::uint32_t> w2_go{0};
      ActorGroup g = ctx.spawn(2, [&](int i) {
        if (i == 0) {
          m.lock();
          phase("timed_wait");
          w1_deadline.store(chaos::now() + kTimeout);
          (void)cv.wait_for(m, kTimeout);
          m.unlock();
          w1_back.store(true);
        } else {
          // Blocked on a futex the main thread wakes, inside the blocking hooks, not spinning: under PCT the first
          // step does not wait for W2, and with vclock=1 the schedule knows W2 is waiting for one of its threads.
          wait_for_go(w2_go);
          m.lock();
          phase("wait");
          cv.wait(m);
          m.unlock();
          w2_back.store(true);
        }
      });
      JOSTLE_REQUIRE(probe::await([&] { return w1_deadline.load() != 0; })) << "W1 never started waiting";
      spin_until(w1_deadline.load() + static_cast<Nanos>(ctx.rng().below(150 * kMicro)) - 30 * kMicro);
      m.lock();
      cv.notify_one();
      m.unlock();
      JOSTLE_REQUIRE(probe::await([&] { return w1_back.load(); }, 5 * kSecond)) << "W1 never returned";
      let_go(w2_go);
      JOSTLE_REQUIRE(ctx.await_parked(1, "wait") || w2_back.load()) << "W2 never blocked";
      m.lock();
      cv.notify_one();
      m.unlock();
      JOSTLE_REQUIRE(probe::await([&] { return w2_back.load(); }, 2 * kSecond))
          << "a fresh waiter was not woken by a signal after a timeout raced an earlier one";
      g.join();
    });

JOSTLE_CASE(condvar, cv_no_spurious_on_new_waiters)
    .describe("4 waiters block on a condvar nobody signals, then 6 more arrive one at a time: none may return "
              "before the closing broadcast (glibc tst-cond3; strict: a failure, posix: an interesting outcome)")
    .clauses({"condvar.strict.no-spurious", "condvar.wait.spurious"})
    .threads(10)
    .iterations(10)
    .timeout(20 * kSecond)
    .outcome("none", Grade::acceptable, "every waiter stayed blocked until the broadcast")
    .outcome("spurious", Grade::interesting, "a waiter returned while nobody signalled (allowed by POSIX)")
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kWaiters = 10, kFirst = 4;
      typename C::Mutex m;
      C cv;
      std::atomic<int> admitted{0};      // actors below this index may start waiting
      std::atomic<bool> released{false};  // set before the only notify of the iteration
      std::atomic<int> spurious{0};
      std::atomic<bool> left[kWaiters] = {};
      ActorGroup g = ctx.spawn(kWaiters, [&](int i) {
        (void)probe::await([&] { return admitted.load() > i; }, 10 * kSecond);
        m.lock();
        phase("wait");
        cv.wait(m);  // the wait "should never return" until the broadcast (tst-cond3): no predicate loop
        // Read before m is given back: main sets `released` before it broadcasts, so a waiter that returned
        // earlier and sees false was not woken by anyone.
        if (!released.load()) spurious.fetch_add(1);
        m.unlock();
        phase("done");
        left[i].store(true);
      });
      // The first waiters block together, then the newcomers one at a time: each arrives once the previous one
      // is confirmed asleep in the wait (or has already come back out of it).
      auto settled = [&](int i) {
        return probe::await([&] { return left[i].load() || ctx.await_parked(i, "wait", 10 * kMilli); });
      };
      admitted.store(kFirst);
      for (int i = 0; i < kFirst; ++i) JOSTLE_REQUIRE(settled(i)) << "waiter " << i << " never blocked";
      for (int i = kFirst; i < kWaiters; ++i) {
        admitted.store(i + 1);
        JOSTLE_REQUIRE(settled(i)) << "newcomer " << i << " never blocked";
      }
      m.lock();
      released.store(true);
      cv.notify_all();
      m.unlock();
      g.join();
      const int n = spurious.load();
      ctx.metric("spurious", static_cast<double>(n), "returns");
      ctx.record(n == 0 ? "none" : "spurious");
      if (claims_strict(ctx)) {
        JOSTLE_CHECK_EQ(n, 0) << "strict profile: waiters returned while only more waiters were added";
      }
    });

JOSTLE_CASE(condvar, cv_strict_fifo)
    .strict_only()
    .describe("strict profile: notify_one wakes waiters in the order they blocked, and none wakes early")
    .clauses({"condvar.strict.fifo", "condvar.strict.no-spurious"})
    .threads(4)
    .iterations(20)
    .timeout(30 * kSecond)
    .body<CondvarBackends>([]<CondvarBackend C>(Context& ctx) {
      constexpr int kWaiters = 4;
      typename C::Mutex m;
      C cv;
      std::vector<int> order;
      std::atomic<int> back{0};
      ActorGroup g = ctx.spawn(kWaiters, [&](int i) {
        if (i > 0) (void)probe::await_parked(i - 1, "wait", 5 * kSecond);  // block in index order
        m.lock();
        phase("wait");
        cv.wait(m);
        order.push_back(i);
        m.unlock();
        back.fetch_add(1);
      });
      for (int i = 0; i < kWaiters; ++i) JOSTLE_REQUIRE(ctx.await_parked(i, "wait")) << "waiter " << i;
      for (int k = 0; k < kWaiters; ++k) {
        m.lock();
        cv.notify_one();
        m.unlock();
        JOSTLE_REQUIRE(probe::await([&] { return back.load() == k + 1; }, 5 * kSecond)) << "signal " << k;
      }
      g.join();
      for (int k = 0; k < kWaiters; ++k) JOSTLE_CHECK_EQ(order[static_cast<std::size_t>(k)], k) << "wake order";
    });

}  // namespace jostle
