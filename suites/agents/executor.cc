// Virtual threads and executors (catalog conformance.md §1.7, X1-X5, and the error precedence rules) over
// every executor backend.
// Long because: a suite file holds every case of its contract; the cases are independent and share only the
// helpers at the top.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "executor_backends.h"
#include "jostle/contracts/executor.h"
#include "jostle/jostle.h"
#include "jostle/sys.h"

namespace jostle {

namespace {

ExecutorPolicy policy(int max_carriers, int queue_limit, Saturation sat = Saturation::timeout,
                      Nanos timeout = kVtForever) {
  ExecutorPolicy p;
  p.min_carriers = 1;
  p.max_carriers = max_carriers;
  p.queue_limit = queue_limit;
  p.on_saturation = sat;
  p.timeout = timeout;
  return p;
}

constexpr Nanos kSleepWant = 12 * kMilli + 500 * kMicro;  // fractional ms, so truncation shows

bool conserved(const SlotCount& s) { return s.in_use + s.free == s.limit && s.in_use >= 0 && s.free >= 0; }

// Waits on a raw futex word until it is nonzero (bounded).
bool await_flag(std::atomic<std::uint32_t>& w, Nanos timeout = 10 * kSecond) {
  const Nanos deadline = now_ns() + timeout;
  while (w.load(std::memory_order_acquire) == 0) {
    const Nanos left = deadline - now_ns();
    if (left <= 0) return false;
    sys::futex_wait(w, 0, left);
  }
  return true;
}
void raise_flag(std::atomic<std::uint32_t>& w) {
  w.store(1, std::memory_order_release);
  sys::futex_wake(w);
}

// Every admitted task finished and gave its slot back (the slot goes back just after the result is
// published, so a join may return a moment before).
template <class Ex>
bool await_idle(Ex& ex) {
  return probe::await([&] { return ex.slots().in_use == 0; }, 10 * kSecond);
}

template <ExecutorBackend E>
bool join_timeout_invalid(typename E::Task& t) {
  return E::join_timeout(t, -1).status == VtStatus::invalid && E::join_timeout(t, -kSecond).status == VtStatus::invalid;
}

}  // namespace

JOSTLE_CASE(agents, vt_precedence)
    .primitive("executor")
    .describe("join precedence: failed dominates cancelled, closed only for a second join, a terminal state "
              "wins over timeout; cancel is idempotent; negative durations and bad policies are invalid; "
              "a scope reports the first failure and cancels the rest")
    .clauses({"vt.join.precedence", "vt.join-timeout.terminal-wins", "vt.cancel.idempotent",
              "vt.duration.negative", "vt.policy.invalid"})
    .iterations(20)
    .timeout(60 * kSecond)
    .body<ExecutorBackends>([]<ExecutorBackend E>(Context&) {
      typename E::Executor ex(policy(2, 16));
      typename E::Task t;

      // ok, then closed for the second join (and for a join_timeout after it).
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [] { return std::int64_t{42}; }) == VtStatus::ok);
      VtResult r = E::join(t);
      JOSTLE_CHECK(r.status == VtStatus::ok && r.value == 42) << "join: " << to_string(r.status);
      JOSTLE_CHECK(E::join(t).status == VtStatus::closed) << "second join must be closed";
      JOSTLE_CHECK(E::join_timeout(t, 0).status == VtStatus::closed) << "join_timeout after join";

      // failed, then closed.
      JOSTLE_REQUIRE(E::spawn_on(ex, t, []() -> std::int64_t { throw std::runtime_error("boom"); }) ==
                     VtStatus::ok);
      JOSTLE_CHECK(E::join(t).status == VtStatus::failed);
      JOSTLE_CHECK(E::join(t).status == VtStatus::closed) << "second join of a failed task";

      // failed dominates a cancel request the body saw.
      std::atomic<std::uint32_t> started{0};
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [&]() -> std::int64_t {
                       raise_flag(started);
                       const VtStatus s = E::park(kVtForever);
                       if (s == VtStatus::cancelled && E::cancelled()) throw std::runtime_error("after cancel");
                       return 1;
                     }) == VtStatus::ok);
      JOSTLE_REQUIRE(await_flag(started));
      E::cancel(t);
      E::cancel(t);  // idempotent
      r = E::join(t);
      JOSTLE_CHECK(r.status == VtStatus::failed) << "failure after cancel reported as " << to_string(r.status);

      // A body acknowledging the cancel: cancelled.
      started.store(0);
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [&]() -> std::int64_t {
                       raise_flag(started);
                       while (E::sleep(10 * kSecond) != VtStatus::cancelled) {
                       }
                       throw VtCancelled{};
                     }) == VtStatus::ok);
      JOSTLE_REQUIRE(await_flag(started));
      E::cancel(t);
      JOSTLE_CHECK(E::join(t).status == VtStatus::cancelled);

      // A cancel that comes too late to matter changes nothing; a terminal state wins over join_timeout(0).
      started.store(0);
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [&] {
                       raise_flag(started);
                       return std::int64_t{7};
                     }) == VtStatus::ok);
      JOSTLE_REQUIRE(join_timeout_invalid<E>(t)) << "negative join_timeout must be invalid";
      JOSTLE_REQUIRE(await_flag(started));
      E::cancel(t);
      E::cancel(t);
      JOSTLE_REQUIRE(await_idle(ex)) << "the task never released its slot";  // so it is finished
      r = E::join_timeout(t, 0);
      JOSTLE_CHECK(r.status == VtStatus::ok && r.value == 7)
          << "finished task after a late cancel: " << to_string(r.status) << " " << r.value;

      // Negative durations inside a virtual thread.
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [] {
                       std::int64_t bad = 0;
                       bad += E::sleep(-1) == VtStatus::invalid ? 0 : 1;
                       bad += E::park(-kMilli) == VtStatus::invalid ? 0 : 10;
                       return bad;
                     }) == VtStatus::ok);
      r = E::join(t);
      JOSTLE_CHECK(r.status == VtStatus::ok && r.value == 0) << "sleep/park(-1) not invalid: " << r.value;

      // Bad policies are refused; a closed executor refuses new tasks.
      ExecutorPolicy bad = policy(0, 4);
      typename E::Executor bad_ex(bad);
      JOSTLE_CHECK(E::spawn_on(bad_ex, t, [] { return std::int64_t{0}; }) == VtStatus::invalid) << "max 0";
      typename E::Executor bad_ex2(policy(1, 4, Saturation::timeout, -kMilli));
      JOSTLE_CHECK(E::spawn_on(bad_ex2, t, [] { return std::int64_t{0}; }) == VtStatus::invalid) << "timeout<0";

      // A scope: one failure cancels the others and is what join_all reports.
      {
        // The parked members end only through the cancel the failure triggers (started or not, they end).
        VtScope<E> scope(ex);
        for (int i = 0; i < 3; ++i) {
          scope.spawn([i]() -> std::int64_t {
            if (i == 1) throw std::runtime_error("scope member fails");
            if (E::park(20 * kSecond) == VtStatus::cancelled) throw VtCancelled{};
            return 0;
          });
        }
        const Nanos s0 = now_ns();
        JOSTLE_CHECK(scope.join_all() == VtStatus::failed);
        JOSTLE_CHECK(now_ns() - s0 < 10 * kSecond) << "the failure did not cancel the rest of the scope";
      }
      JOSTLE_CHECK(await_idle(ex));
      ex.close();
      JOSTLE_CHECK(E::spawn_on(ex, t, [] { return std::int64_t{0}; }) == VtStatus::closed) << "after close";
      JOSTLE_CHECK(conserved(ex.slots()) && ex.slots().in_use == 0);
    });

JOSTLE_CASE(agents, vt_join_timeout_no_consume)
    .primitive("executor")
    .kind(Kind::stress)
    .describe("X1: a join_timeout that times out consumes nothing, even when the completion races the "
              "deadline: a later join returns the result")
    .clause("vt.join-timeout.no-consume")
    .iterations(100)
    .timeout(60 * kSecond)
    .outcome("joined-in-time", Grade::acceptable)
    .outcome("timeout-then-join", Grade::acceptable)
    .outcome("result-lost", Grade::forbidden, "join after a timed-out join_timeout did not return the value")
    .body<ExecutorBackends>([]<ExecutorBackend E>(Context& ctx) {
      constexpr int kTasks = 10;
      typename E::Executor ex(policy(2, 64));
      for (int i = 0; i < kTasks; ++i) {
        typename E::Task t;
        const Nanos d = 200 * kMicro + static_cast<Nanos>(ctx.rng().below(200)) * kMicro;
        std::atomic<Nanos> start{0};
        JOSTLE_REQUIRE(E::spawn_on(ex, t, [d, i, &start] {
                         start.store(now_ns(), std::memory_order_release);
                         E::sleep(d);
                         return std::int64_t{i + 100};
                       }) == VtStatus::ok);
        // The joiner's deadline lands where the task's own sleep ends, give or take the jitter.
        Nanos s0;
        while ((s0 = start.load(std::memory_order_acquire)) == 0) sys::cpu_relax();
        const Nanos jitter = static_cast<Nanos>(ctx.rng().below(100)) * kMicro - 50 * kMicro;
        VtResult r = E::join_timeout(t, std::max<Nanos>(0, s0 + d + jitter - now_ns()));
        if (r.status == VtStatus::timeout) {
          r = E::join(t);
          const bool ok = r.status == VtStatus::ok && r.value == i + 100;
          JOSTLE_CHECK(ok) << "join after a timed-out join_timeout: " << to_string(r.status);
          ctx.record(ok ? "timeout-then-join" : "result-lost");
        } else {
          JOSTLE_CHECK(r.status == VtStatus::ok && r.value == i + 100) << to_string(r.status);
          ctx.record("joined-in-time");
        }
      }
      // The deterministic half: a parked task, a short join_timeout, then unpark and join.
      typename E::Task t;
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [] { return E::park(10 * kSecond) == VtStatus::ok ? 5 : -1; }) ==
                     VtStatus::ok);
      JOSTLE_CHECK(E::join_timeout(t, kMilli).status == VtStatus::timeout);
      E::unpark(t);
      const VtResult r = E::join(t);
      JOSTLE_CHECK(r.status == VtStatus::ok && r.value == 5) << to_string(r.status) << " " << r.value;
    });

JOSTLE_CASE(agents, vt_cancel_handoff)
    .primitive("executor")
    .describe("X2: cancelling a queued task releases its slot at once and admits a blocked submitter; the "
              "cancelled body never runs; slots in use + free == limit throughout")
    .clauses({"vt.cancel.handoff", "vt.slots.conserved"})
    .threads(2)
    .iterations(20)
    .timeout(60 * kSecond)
    .body<ExecutorBackends>([]<ExecutorBackend E>(Context& ctx) {
      typename E::Executor ex(policy(1, 2, Saturation::timeout, 30 * kSecond));
      std::atomic<std::uint32_t> a_running{0}, release_a{0}, b_ran{0}, admitted{0};
      typename E::Task a, b, c;
      // A holds the only carrier (it spins, it does not park), B waits in the queue behind it.
      JOSTLE_REQUIRE(E::spawn_on(ex, a, [&] {
                       raise_flag(a_running);
                       while (release_a.load(std::memory_order_acquire) == 0) sys::cpu_relax();
                       return std::int64_t{1};
                     }) == VtStatus::ok);
      JOSTLE_REQUIRE(await_flag(a_running));
      JOSTLE_REQUIRE(E::spawn_on(ex, b, [&] {
                       raise_flag(b_ran);
                       return std::int64_t{2};
                     }) == VtStatus::ok);
      JOSTLE_CHECK(conserved(ex.slots()) && ex.slots().free == 0);
      ActorGroup g = ctx.spawn(1, [&](int) {
        phase("spawn");
        const VtStatus s = E::spawn_on(ex, c, [] { return std::int64_t{3}; });
        phase("admitted");
        JOSTLE_CHECK(s == VtStatus::ok) << "blocked submitter got " << to_string(s);
        raise_flag(admitted);
      });
      JOSTLE_REQUIRE(ctx.await_parked(0, "spawn")) << "the submitter never blocked on the full executor";
      E::cancel(b);
      const bool handed_off = await_flag(admitted, 2 * kSecond);
      if (!handed_off) release_a.store(1, std::memory_order_release);  // let the run end quickly
      JOSTLE_REQUIRE(handed_off) << "cancelling a queued task did not admit the blocked submitter";
      JOSTLE_CHECK(conserved(ex.slots()));
      release_a.store(1, std::memory_order_release);
      g.join();
      JOSTLE_CHECK(E::join(a).status == VtStatus::ok);
      JOSTLE_CHECK(E::join(b).status == VtStatus::cancelled);
      const VtResult rc = E::join(c);
      JOSTLE_CHECK(rc.status == VtStatus::ok && rc.value == 3);
      JOSTLE_CHECK_EQ(b_ran.load(), 0u) << "a task cancelled in the queue ran anyway";
      JOSTLE_CHECK(await_idle(ex));
      const SlotCount s = ex.slots();
      JOSTLE_CHECK(conserved(s) && s.in_use == 0) << "in_use " << s.in_use << " free " << s.free;
    });

JOSTLE_CASE(agents, vt_saturation)
    .primitive("executor")
    .describe("X3/X4: a full executor answers busy at once or timeout no earlier than its deadline; a slot "
              "freed before the deadline admits the submitter; a submitter that timed out strands nobody; "
              "slots in use + free == limit")
    .clauses({"vt.spawn.busy", "vt.spawn.timeout", "vt.spawn.admit", "vt.spawn.no-strand", "vt.slots.conserved"})
    .threads(2)
    .iterations(4)
    .timeout(60 * kSecond)
    .outcome("late-handoff", Grade::acceptable,
             "the filler's slot was freed less than 200 ms before the second submitter's deadline (inconclusive "
             "round: a slow schedule, not a stranded submitter)")
    .body<ExecutorBackends>([]<ExecutorBackend E>(Context& ctx) {
      auto parked_filler = [] { return E::park(30 * kSecond) == VtStatus::ok ? std::int64_t{1} : -1; };
      {
        typename E::Executor ex(policy(1, 2, Saturation::busy));
        typename E::Task f1, f2, t;
        JOSTLE_REQUIRE(E::spawn_on(ex, f1, parked_filler) == VtStatus::ok);
        JOSTLE_REQUIRE(E::spawn_on(ex, f2, parked_filler) == VtStatus::ok);
        const Nanos t0 = now_ns();
        JOSTLE_CHECK(E::spawn_on(ex, t, parked_filler) == VtStatus::busy);
        JOSTLE_CHECK(now_ns() - t0 < 250 * kMilli) << "busy must be immediate";
        const SlotCount s = ex.slots();
        JOSTLE_CHECK(conserved(s) && s.in_use == 2 && s.free == 0) << s.in_use << "+" << s.free;
        E::unpark(f1);
        E::unpark(f2);
        JOSTLE_CHECK(E::join(f1).value == 1 && E::join(f2).value == 1);
      }
      {
        // Timeout: never before the deadline (a fractional-millisecond one, so truncation shows).
        const Nanos limit = 20 * kMilli + 700 * kMicro;
        typename E::Executor ex(policy(1, 1, Saturation::timeout, limit));
        typename E::Task f, t;
        JOSTLE_REQUIRE(E::spawn_on(ex, f, parked_filler) == VtStatus::ok);
        const Nanos t0 = now_ns();
        JOSTLE_CHECK(E::spawn_on(ex, t, parked_filler) == VtStatus::timeout);
        const Nanos took = now_ns() - t0;
        JOSTLE_CHECK(took >= limit) << "timed out after " << took << " ns, deadline " << limit << " ns";
        ctx.metric("spawn_timeout_late_ns", static_cast<double>(took - limit), "ns");
        JOSTLE_CHECK(conserved(ex.slots()));
        E::unpark(f);
        JOSTLE_CHECK(E::join(f).value == 1);
      }
      {
        // X4: S1 and S2 both blocked on a full executor; S1 times out first; the slot freed after that must
        // admit S2 (0.5 s of margin before S2's own deadline). A slot freed too close to that deadline (the main
        // thread or the filler descheduled for most of the margin) proves nothing either way: inconclusive.
        const Nanos limit = kSecond;
        typename E::Executor ex(policy(1, 1, Saturation::timeout, limit));
        typename E::Task f, t1, t2;
        JOSTLE_REQUIRE(E::spawn_on(ex, f, parked_filler) == VtStatus::ok);
        std::atomic<std::uint32_t> s1_done{0};
        std::atomic<Nanos> s2_start{0};
        VtStatus s1 = VtStatus::ok, s2 = VtStatus::ok;
        const Nanos t0 = now_ns();
        ActorGroup g = ctx.spawn(2, [&](int i) {
          if (i == 1) sleep_ns(t0 + limit / 2 - now_ns());
          if (i == 1) s2_start.store(now_ns());
          phase("spawn");
          (i == 0 ? s1 : s2) = E::spawn_on(ex, i == 0 ? t1 : t2, [] { return std::int64_t{9}; });
          phase(i == 0 ? "timed-out" : "admitted");
          if (i == 0) raise_flag(s1_done);
        });
        JOSTLE_REQUIRE(await_flag(s1_done));
        JOSTLE_CHECK(s1 == VtStatus::timeout) << "S1: " << to_string(s1);
        const Nanos freed_at = now_ns();
        E::unpark(f);  // the filler finishes: its slot must go to S2, still blocked
        g.join();
        const bool late = s2 == VtStatus::timeout && s2_start.load() + limit - freed_at < 200 * kMilli;
        if (late) {
          ctx.record("late-handoff");
        } else {
          JOSTLE_CHECK(s2 == VtStatus::ok) << "S2 stranded behind a submitter that timed out: " << to_string(s2);
        }
        if (s2 == VtStatus::ok) {
          JOSTLE_CHECK(E::join(t2).value == 9);
        }
        JOSTLE_CHECK(E::join(f).value == 1);
        JOSTLE_CHECK(await_idle(ex));
        const SlotCount s = ex.slots();
        JOSTLE_CHECK(conserved(s) && s.in_use == 0);
      }
    });

JOSTLE_CASE(agents, vt_sleep_park)
    .primitive("executor")
    .describe("sleep is a lower bound (through the reactor where there is one) and ends early on cancel; park "
              "keeps an unpark made before it; park timeouts are lower bounds; a park/unpark ping-pong hands "
              "over plain data; fd readiness through the reactor")
    .clauses({"vt.sleep.lower-bound", "vt.park.permit"})
    .iterations(10)
    .timeout(60 * kSecond)
    .body<ExecutorBackends>([]<ExecutorBackend E>(Context& ctx) {
      typename E::Executor ex(policy(2, 16));
      std::uint64_t fires_before = 0;
      if constexpr (requires { ex.timer_fires(); }) fires_before = ex.timer_fires();
      typename E::Task t;
      constexpr Nanos want = kSleepWant;
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [] {
                       const Nanos t0 = now_ns();
                       if (E::sleep(kSleepWant) != VtStatus::ok) return std::int64_t{-1};
                       return static_cast<std::int64_t>(now_ns() - t0);
                     }) == VtStatus::ok);
      VtResult r = E::join(t);
      JOSTLE_CHECK(r.status == VtStatus::ok && r.value >= want) << "slept " << r.value << " ns of " << want;
      ctx.metric("sleep_late_ns", static_cast<double>(r.value - want), "ns");
      if constexpr (requires { ex.timer_fires(); }) {
        JOSTLE_CHECK(ex.timer_fires() > fires_before) << "the sleep did not go through the reactor's timer";
      }

      // Cancel ends a long sleep early.
      std::atomic<std::uint32_t> started{0};
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [&] {
                       raise_flag(started);
                       return E::sleep(20 * kSecond) == VtStatus::cancelled ? std::int64_t{1} : 0;
                     }) == VtStatus::ok);
      JOSTLE_REQUIRE(await_flag(started));
      const Nanos c0 = now_ns();
      E::cancel(t);
      r = E::join(t);
      JOSTLE_CHECK(r.status == VtStatus::ok && r.value == 1);
      JOSTLE_CHECK(now_ns() - c0 < 5 * kSecond) << "cancel did not interrupt the sleep";

      // Unpark before park is not lost; a park with no permit times out no earlier than asked.
      std::atomic<std::uint32_t> go{0};
      JOSTLE_REQUIRE(E::spawn_on(ex, t, [&] {
                       while (go.load(std::memory_order_acquire) == 0) E::sleep(100 * kMicro);
                       if (E::park(10 * kSecond) != VtStatus::ok) return std::int64_t{-1};
                       const Nanos p = 7 * kMilli + 300 * kMicro;
                       const Nanos t0 = now_ns();
                       if (E::park(p) != VtStatus::timeout) return std::int64_t{-2};
                       return now_ns() - t0 >= p ? std::int64_t{1} : std::int64_t{-3};
                     }) == VtStatus::ok);
      E::unpark(t);
      go.store(1, std::memory_order_release);
      r = E::join(t);
      JOSTLE_CHECK(r.status == VtStatus::ok && r.value == 1) << "park/permit result " << r.value;

      // Ping-pong: plain data handed over by unpark/park only.
      constexpr int kRounds = 200;
      long plain = 0;
      typename E::Task ping, pong;
      std::atomic<std::uint32_t> both{0};
      JOSTLE_REQUIRE(E::spawn_on(ex, pong, [&]() -> std::int64_t {
                       while (both.load(std::memory_order_acquire) == 0) E::sleep(50 * kMicro);
                       for (int i = 0; i < kRounds; ++i) {
                         if (E::park(10 * kSecond) != VtStatus::ok) return -1;
                         if (plain != 2 * i + 1) return -100 - i;
                         plain = 2 * i + 2;
                         E::unpark(ping);
                       }
                       return 0;
                     }) == VtStatus::ok);
      JOSTLE_REQUIRE(E::spawn_on(ex, ping, [&]() -> std::int64_t {
                       while (both.load(std::memory_order_acquire) == 0) E::sleep(50 * kMicro);
                       for (int i = 0; i < kRounds; ++i) {
                         if (plain != 2 * i) return -100 - i;
                         plain = 2 * i + 1;
                         E::unpark(pong);
                         if (E::park(10 * kSecond) != VtStatus::ok) return -1;
                       }
                       return 0;
                     }) == VtStatus::ok);
      both.store(1, std::memory_order_release);
      JOSTLE_CHECK_EQ(E::join(ping).value, 0);
      JOSTLE_CHECK_EQ(E::join(pong).value, 0);

      if constexpr (requires(int fd) { E::wait_readable(fd, Nanos{0}); }) {
        int fds[2];
        JOSTLE_REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
        std::atomic<std::uint32_t> first_done{0};
        JOSTLE_REQUIRE(E::spawn_on(ex, t, [&] {
                         const Nanos w = 5 * kMilli + 100 * kMicro;
                         const Nanos t0 = now_ns();
                         const VtStatus s1 = E::wait_readable(fds[0], w);
                         const Nanos took = now_ns() - t0;
                         raise_flag(first_done);
                         if (s1 != VtStatus::timeout || took < w) return -1;
                         if (E::wait_readable(fds[0], 10 * kSecond) != VtStatus::ok) return -2;
                         char ch = 0;
                         return ::read(fds[0], &ch, 1) == 1 && ch == 'x' ? 1 : -3;
                       }) == VtStatus::ok);
        // The write comes after the timed-out wait; the second wait may start before or after it (readiness
        // is level-triggered, either order is correct).
        JOSTLE_REQUIRE(await_flag(first_done));
        if (ctx.rng().chance(0.5)) sleep_ns(2 * kMilli);
        JOSTLE_REQUIRE(::write(fds[1], "x", 1) == 1);
        r = E::join(t);
        JOSTLE_CHECK(r.status == VtStatus::ok && r.value == 1) << "wait_readable result " << r.value;
        ::close(fds[0]);
        ::close(fds[1]);
      }
    });

JOSTLE_CASE(agents, vt_runqueue_integrity)
    .primitive("executor")
    .kind(Kind::stress)
    .describe("X5: the run queue under pop/push churn with node recycling: no node held twice, none lost "
              "(element-conservation checksum); then a spawn storm through the executor joins every task")
    .clause("vt.runqueue.integrity")
    .threads(6)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<ExecutorBackends>([]<ExecutorBackend E>(Context& ctx) requires requires { typename E::RunQueue; } {
      constexpr std::uint32_t kNodes = 4;
      typename E::RunQueue q(kNodes);
      std::atomic<std::uint32_t> held[kNodes];
      for (std::uint32_t i = 0; i < kNodes; ++i) {
        held[i].store(0);
        q.push(i);
      }
      std::atomic<std::uint64_t> dup{0}, pops{0};
      // More actors than cores: preemptions inside a popper's read-next/CAS window are what exposes ABA.
      const Nanos run_for = 150 * kMilli;
      ctx.actors(6, [&](int) {
        const Nanos until = now_ns() + run_for;
        while (now_ns() < until && dup.load(std::memory_order_relaxed) == 0) {
          for (int k = 0; k < 64; ++k) {
            // Pop two, push them back in pop order: the stack keeps being permuted, as a scheduler's is.
            std::int64_t got[2];
            for (auto& i : got) {
              i = q.pop();
              if (i < 0 || i >= kNodes) {
                i = -1;
                continue;
              }
              if (held[i].exchange(1, std::memory_order_acq_rel) != 0) dup.fetch_add(1);
              pops.fetch_add(1, std::memory_order_relaxed);
            }
            for (std::int64_t i : got) {
              if (i < 0) continue;
              held[i].store(0, std::memory_order_release);
              q.push(static_cast<std::uint32_t>(i));
            }
          }
        }
      });
      JOSTLE_CHECK_EQ(dup.load(), 0u) << "a node was popped while another thread held it";
      // Conservation: draining returns each node exactly once.
      std::uint32_t seen = 0, count = 0, xor_sum = 0;
      for (std::int64_t i; count <= 2 * kNodes && (i = q.pop()) >= 0; ++count) {
        if (i < kNodes) seen |= 1u << i;
        xor_sum ^= static_cast<std::uint32_t>(i) + 1;
      }
      JOSTLE_CHECK(count == kNodes && seen == (1u << kNodes) - 1 && xor_sum == (1 ^ 2 ^ 3 ^ 4))
          << "drained " << count << " nodes (mask " << seen << "): lost or duplicated by the run queue";
      ctx.metric("pops", static_cast<double>(pops.load()), "n");

      // End to end: many tiny tasks, every one joined with its value.
      typename E::Executor ex(policy(2, 256));
      std::vector<typename E::Task> ts(200);
      for (std::size_t i = 0; i < ts.size(); ++i)
        JOSTLE_REQUIRE(E::spawn_on(ex, ts[i], [i] { return static_cast<std::int64_t>(i); }) == VtStatus::ok);
      std::int64_t sum = 0;
      for (auto& t : ts) sum += E::join(t).value;
      JOSTLE_CHECK_EQ(sum, 199 * 200 / 2);
    });

}  // namespace jostle
