// The $262.agent model: test262's agent tests re-expressed natively with the same expectations (FIFO wake
// order, notify-all with a waiter elsewhere, no spurious wakeup per RMW op, wait results, broadcast
// rendezvous, report order) plus what test262 lacks (many agents, mixed sync/async waiters, notify racing a
// timeout, teardown of parked and wedged agents, a crashing agent process).
//
// Agent bodies never use JOSTLE_CHECK (in the process backend they run in a child process): they report what
// they saw, and the main agent checks the reports. Ordering uses the waiter list's own count (the exact
// parked probe), never sleeps.
// Long because: a suite file holds every case of its contract; the cases are independent and share only the
// helpers at the top.
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "agent_backends.h"
#include "jostle/contracts/agent.h"
#include "jostle/jostle.h"

namespace jostle {

namespace {

constexpr Nanos kProbe = 3 * kSecond;  // how long the main agent waits for something that must happen

template <AgentBackend A>
std::atomic_ref<std::int32_t> at(typename A::Buffer& b, std::size_t i) {
  return std::atomic_ref<std::int32_t>(*A::cell(b, i));
}

// getReport made blocking, like test262's atomicsHelper, but bounded.
template <class C>
std::optional<std::string> await_report(C& c, Nanos timeout = kProbe) {
  const Nanos deadline = now_ns() + timeout;
  for (;;) {
    if (auto r = c.get_report()) return r;
    if (now_ns() > deadline) return std::nullopt;
    sleep_ns(200 * kMicro);
  }
}

template <class C, class B>
bool await_waiters(C& c, B& b, std::size_t i, std::size_t n, Nanos timeout = kProbe) {
  return probe::await([&] { return c.waiters(b, i) == n; }, timeout);
}

// Parked-or-reported: for an agent in a short timed wait, a slow schedule (a loaded machine, chaos delays) can
// let the wait run out before the probe looks. Waits until `n` agents are in cell i's waiter list, or until a
// report arrives (it is returned in `early`, and the round is inconclusive about whatever was to race the
// wait, never a failure by itself). False only when neither happened.
template <class C, class B>
bool await_parked_or_report(C& c, B& b, std::size_t i, std::size_t n, std::optional<std::string>& early,
                            Nanos timeout = kProbe) {
  return probe::await(
      [&] {
        if (c.waiters(b, i) == n) return true;
        early = c.get_report();
        return early.has_value();
      },
      timeout);
}

std::string fmt(const char* f, double a, double b = 0) {
  char s[96];
  std::snprintf(s, sizeof s, f, a, b);
  return s;
}

}  // namespace

JOSTLE_CASE(agents, agent_start_runs)
    .primitive("agent")
    .describe("start() returns with the agent running: it makes progress before any broadcast; both sides use "
              "one monotonic clock in fractional ms; agent sleep is a lower bound")
    .clauses({"agent.start.running", "agent.broadcast.rendezvous"})
    .iterations(5)
    .timeout(30 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      const double before = c.main().monotonic_now();
      c.start(
          [buf](typename A::Api& api) mutable {
            at<A>(buf, 0).store(1);
            api.report(fmt("now:%.6f", api.monotonic_now()));
            const double t0 = api.monotonic_now();
            api.sleep(15.5);
            api.report(fmt("slept:%.6f", api.monotonic_now() - t0));
            auto [b, num] = api.receive_broadcast();
            api.report("got:" + std::to_string(num));
          },
          AgentOptions{});
      const bool ran = probe::await([&] { return at<A>(buf, 0).load() == 1; }, kProbe);
      JOSTLE_REQUIRE(ran) << "the agent did not run on its own after start() returned";
      auto now_report = await_report(c);
      JOSTLE_REQUIRE(now_report.has_value());
      const double agent_now = std::atof(now_report->c_str() + 4);
      JOSTLE_CHECK(agent_now >= before && agent_now <= c.main().monotonic_now())
          << "agent clock " << agent_now << " outside the main agent's [" << before << ", now]";
      JOSTLE_CHECK(agent_now != std::floor(agent_now) || before != std::floor(before)) << "whole milliseconds only";
      auto slept = await_report(c);
      JOSTLE_REQUIRE(slept.has_value());
      JOSTLE_CHECK(std::atof(slept->c_str() + 6) >= 15.5) << *slept;
      JOSTLE_CHECK(c.broadcast(buf, 7) == BroadcastStatus::ok);
      auto got = await_report(c);
      JOSTLE_CHECK(got && *got == "got:7") << (got ? *got : "no report");
      const TeardownReport t = c.teardown();
      JOSTLE_CHECK_EQ(t.wedged, 0);
    });

JOSTLE_CASE(agents, agent_fifo_wake_order)
    .primitive("agent")
    .describe("test262 waiterlist-order-of-operations-is-fifo: three agents enter the list one at a time; "
              "notify(1) three times wakes them in arrival order")
    .clause("waiter.notify.fifo")
    .iterations(10)
    .timeout(30 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      for (int k = 0; k < 3; ++k) {
        c.start(
            [buf, k](typename A::Api& api) mutable {
              const WaitStatus s = api.wait(buf, 0, 0, NAN);
              api.report(std::to_string(k) + ":" + to_string(s));
            },
            AgentOptions{});
        JOSTLE_REQUIRE(await_waiters(c, buf, 0, static_cast<std::size_t>(k + 1)))
            << "agent " << k << " never entered the waiter list";
      }
      for (int k = 0; k < 3; ++k) {
        JOSTLE_CHECK_EQ(c.main().notify(buf, 0, NotifyCount{1}), 1u);
        auto r = await_report(c);
        JOSTLE_CHECK(r && *r == std::to_string(k) + ":ok") << "wake " << k << " woke " << (r ? *r : "nobody");
      }
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_notify_all_on_loc)
    .primitive("agent")
    .describe("test262 notify-all-on-loc: notify(all) on one cell wakes exactly its three waiters; a fourth "
              "waiting on another cell times out, after the notify and no earlier than its timeout")
    .clauses({"waiter.notify.exact-count", "waiter.wait.timeout-lower-bound"})
    .iterations(3)
    .timeout(30 * kSecond)
    .outcome("spared", Grade::acceptable, "the other-cell waiter was still waiting at the notify and timed out")
    .outcome("timed-out-first", Grade::acceptable,
             "the other-cell waiter's 800 ms ran out before the notify (inconclusive round: a slow schedule)")
    .body<AgentBackends>([]<AgentBackend A>(Context& ctx) {
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      constexpr double kOther = 800;
      for (int k = 0; k < 4; ++k) {
        c.start(
            [buf, k](typename A::Api& api) mutable {
              const double t0 = api.monotonic_now();
              const WaitStatus s = api.wait(buf, k == 3 ? 1 : 0, 0, k == 3 ? kOther : 10000);
              const double t1 = api.monotonic_now();
              api.report(std::to_string(k) + ":" + to_string(s) + fmt(":%.6f:%.6f", t1 - t0, t1));
            },
            AgentOptions{});
      }
      JOSTLE_REQUIRE(await_waiters(c, buf, 0, 3)) << "waiters never parked";
      // The other-cell waiter's 800 ms can run out before the probe or the notify gets there on a slow
      // schedule: that round says nothing about notify(all) sparing it (inconclusive), but is no failure.
      std::optional<std::string> early;
      JOSTLE_REQUIRE(await_parked_or_report(c, buf, 1, 1, early)) << "the other-cell waiter never parked";
      const double notified_at = c.main().monotonic_now();
      JOSTLE_CHECK_EQ(c.main().notify(buf, 0, NotifyCount::all()), 3u);
      int ok = 0;
      bool spared = false;
      for (int k = 0; k < 4; ++k) {
        std::optional<std::string> r = k == 0 && early ? early : await_report(c, 5 * kSecond);
        JOSTLE_REQUIRE(r.has_value()) << "missing report " << k;
        if (r->rfind("3:", 0) == 0) {
          double lapse = 0, at_ms = 0;
          JOSTLE_CHECK(std::sscanf(r->c_str(), "3:timed-out:%lf:%lf", &lapse, &at_ms) == 2) << *r;
          JOSTLE_CHECK(lapse >= kOther) << "timed out early: " << *r;
          spared = at_ms >= notified_at;
        } else {
          ok += r->find(":ok:") != std::string::npos;
        }
      }
      JOSTLE_CHECK_EQ(ok, 3);
      ctx.record(spared ? "spared" : "timed-out-first");
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_no_spurious_wakeup)
    .primitive("agent")
    .describe("test262 no-spurious-wakeup-on-*: a store or RMW on the waited cell wakes nobody; the waiter "
              "times out no earlier than its timeout")
    .clause("waiter.wait.no-spurious")
    .param("op", {"store", "add", "sub", "and", "or", "xor", "exchange", "compareExchange"})
    .iterations(2)
    .timeout(30 * kSecond)
    .outcome("changed-while-waiting", Grade::acceptable, "the operation came while the agent was parked")
    .outcome("slow-probe", Grade::acceptable,
             "the 200 ms wait ran out before the probe saw the agent parked (inconclusive round)")
    .body<AgentBackends>([]<AgentBackend A>(Context& ctx) {
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      constexpr double kSmall = 200;
      c.start(
          [buf](typename A::Api& api) mutable {
            const double t0 = api.monotonic_now();
            const WaitStatus s = api.wait(buf, 0, 0, kSmall);
            api.report(std::string(to_string(s)) + fmt(":%.6f", api.monotonic_now() - t0));
          },
          AgentOptions{});
      // A slow schedule can let the 200 ms run out before the probe sees the agent parked: the operation then
      // comes after the wait (inconclusive round), and the report must still be a timeout no earlier than asked.
      std::optional<std::string> early;
      JOSTLE_REQUIRE(await_parked_or_report(c, buf, 0, 1, early)) << "the agent never parked";
      ctx.record(early ? "slow-probe" : "changed-while-waiting");
      auto cell = at<A>(buf, 0);
      const std::string& op = ctx.param("op");
      if (op == "store") cell.store(1);
      else if (op == "add") cell.fetch_add(1);
      else if (op == "sub") cell.fetch_sub(1);
      else if (op == "and") cell.fetch_and(0);
      else if (op == "or") cell.fetch_or(1);
      else if (op == "xor") cell.fetch_xor(1);
      else if (op == "exchange") cell.exchange(1);
      else {
        std::int32_t e = 0;
        cell.compare_exchange_strong(e, 1);
      }
      auto r = early ? early : await_report(c, 5 * kSecond);
      JOSTLE_REQUIRE(r.has_value());
      double lapse = 0;
      JOSTLE_CHECK(std::sscanf(r->c_str(), "timed-out:%lf", &lapse) == 1 && lapse >= kSmall)
          << op << " on the cell ended the wait: " << *r;
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_wait_results)
    .primitive("agent")
    .describe("Atomics.wait results in agents: not-equal, timed-out for 0, ok when notified (NaN timeout = "
              "forever), TypeError for an agent whose [[CanBlock]] is false even on a value mismatch; the main "
              "agent (CanBlockIsTrue) times out no earlier than asked")
    .clauses({"waiter.wait.not-equal", "waiter.wait.ok", "waiter.wait.can-block", "waiter.wait.timeout-lower-bound"})
    .iterations(5)
    .timeout(30 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      c.start(
          [buf](typename A::Api& api) mutable {
            std::string r = to_string(api.wait(buf, 0, 1, 1000));
            r += std::string(",") + to_string(api.wait(buf, 0, 0, 0));
            r += std::string(",") + to_string(api.wait(buf, 0, 0, NAN));
            api.report(r);
          },
          AgentOptions{});
      c.start(
          [buf](typename A::Api& api) mutable {
            try {
              api.wait(buf, 1, 12345, 0);  // value mismatch, still a TypeError: CanBlock is checked first
              api.report("no-throw");
            } catch (const AtomicsError& e) {
              api.report(e.kind == AtomicsError::type_error ? "type-error" : "range-error");
            }
          },
          AgentOptions{false});
      JOSTLE_REQUIRE(await_waiters(c, buf, 0, 1)) << "the NaN-timeout waiter never parked";
      JOSTLE_CHECK_EQ(c.main().notify(buf, 0, NotifyCount::all()), 1u);
      std::vector<std::string> got;
      for (int k = 0; k < 2; ++k) {
        auto r = await_report(c);
        JOSTLE_REQUIRE(r.has_value());
        got.push_back(*r);
      }
      const bool a = got[0] == "not-equal,timed-out,ok" || got[1] == "not-equal,timed-out,ok";
      const bool b = got[0] == "type-error" || got[1] == "type-error";
      JOSTLE_CHECK(a) << "wait results " << got[0] << " | " << got[1];
      JOSTLE_CHECK(b) << "CanBlock=false agent: " << got[0] << " | " << got[1];
      const double t0 = c.main().monotonic_now();
      JOSTLE_CHECK(c.main().wait(buf, 2, 0, 10.25) == WaitStatus::timed_out);
      JOSTLE_CHECK(c.main().monotonic_now() - t0 >= 10.25) << "main agent's wait ended early";
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_broadcast_rendezvous)
    .primitive("agent")
    .describe("broadcast returns only once every agent retrieved it: back-to-back broadcasts reach every "
              "agent, each one, in order; an agent that called leaving() is not waited for")
    .clause("agent.broadcast.rendezvous")
    .iterations(5)
    .timeout(30 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      constexpr int kAgents = 4, kRounds = 40;
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      for (int k = 0; k < kAgents; ++k) {
        c.start(
            [](typename A::Api& api) {
              long sum = 0;
              int skips = 0;
              for (int r = 1; r <= kRounds; ++r) {
                auto [b, num] = api.receive_broadcast();
                if (num != r) ++skips;
                sum += num;
                at<A>(b, 0).fetch_add(1);
              }
              api.report("sum:" + std::to_string(sum) + ":skips:" + std::to_string(skips));
            },
            AgentOptions{});
      }
      // An agent that said leaving() and then parks: broadcasts must not wait for it.
      c.start(
          [buf](typename A::Api& api) mutable {
            api.leaving();
            api.wait(buf, 3, 0, NAN);
          },
          AgentOptions{});
      for (int r = 1; r <= kRounds; ++r) JOSTLE_CHECK(c.broadcast(buf, r) == BroadcastStatus::ok);
      const std::string want = "sum:" + std::to_string(kRounds * (kRounds + 1) / 2) + ":skips:0";
      for (int k = 0; k < kAgents; ++k) {
        auto r = await_report(c);
        JOSTLE_REQUIRE(r && *r == want) << "agent saw " << (r ? *r : "no report (it is still waiting for "
                                                                   "broadcasts it missed)") << ", want " << want;
      }
      JOSTLE_CHECK_EQ(at<A>(buf, 0).load(), kAgents * kRounds);
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_report_order)
    .primitive("agent")
    .describe("reports are FIFO per agent and copied (the agent reuses its buffer); get_report never blocks; "
              "reports flow while the agent still runs")
    .clauses({"agent.report.fifo-copy", "agent.report.nonblocking"})
    .iterations(5)
    .timeout(30 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      constexpr int kFirst = 20, kTotal = 40;
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      const Nanos t0 = now_ns();
      JOSTLE_CHECK(!c.get_report().has_value()) << "a report before any agent started";
      JOSTLE_CHECK(now_ns() - t0 < 250 * kMilli) << "get_report blocked";
      for (int a = 0; a < 2; ++a) {
        c.start(
            [buf, a](typename A::Api& api) mutable {
              char text[32];
              for (int k = 0; k < kTotal; ++k) {
                if (k == kFirst) api.report(std::string("w") + std::to_string(a) + ":" + to_string(api.wait(buf, static_cast<std::size_t>(a), 0, NAN)));
                std::snprintf(text, sizeof text, "%c%d", 'a' + a, k);
                api.report(text);
                std::snprintf(text, sizeof text, "XXXX");  // the copy must not see this
              }
            },
            AgentOptions{});
      }
      int next[2] = {0, 0};
      auto take = [&](int want_total) {
        while (next[0] + next[1] < want_total) {
          auto r = await_report(c);
          JOSTLE_REQUIRE(r.has_value()) << "reports stopped at " << next[0] << "/" << next[1];
          if ((*r)[0] == 'w') {
            JOSTLE_CHECK(r->substr(2) == ":ok") << *r;
            continue;
          }
          const int a = (*r)[0] - 'a';
          JOSTLE_REQUIRE(a == 0 || a == 1) << "unexpected report " << *r;
          JOSTLE_CHECK(*r == std::string(1, static_cast<char>('a' + a)) + std::to_string(next[a]))
              << "agent " << a << " report out of order: " << *r << ", expected #" << next[a];
          ++next[a];
        }
      };
      take(2 * kFirst);
      for (int a = 0; a < 2; ++a) {
        JOSTLE_REQUIRE(await_waiters(c, buf, static_cast<std::size_t>(a), 1)) << "agent " << a << " not parked";
        at<A>(buf, static_cast<std::size_t>(a)).store(1);
        JOSTLE_CHECK_EQ(c.main().notify(buf, static_cast<std::size_t>(a), NotifyCount{1}), 1u);
      }
      take(2 * kTotal);
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_many)
    .primitive("agent")
    .describe("many agents (test262 uses at most 4): all check in, all park on one cell, notify(all) wakes "
              "exactly all of them")
    .clause("waiter.notify.exact-count")
    .param("agents", {"8", "32"})
    .iterations(3)
    .timeout(60 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context& ctx) {
      const int n = static_cast<int>(ctx.param_int("agents"));
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      for (int k = 0; k < n; ++k) {
        c.start(
            [buf](typename A::Api& api) mutable {
              at<A>(buf, 1).fetch_add(1);  // RUNNING check-in
              api.report(to_string(api.wait(buf, 0, 0, NAN)));
            },
            AgentOptions{});
      }
      JOSTLE_REQUIRE(await_waiters(c, buf, 0, static_cast<std::size_t>(n), 10 * kSecond))
          << c.waiters(buf, 0) << " of " << n << " agents parked";
      JOSTLE_CHECK_EQ(at<A>(buf, 1).load(), n);
      JOSTLE_CHECK_EQ(c.main().notify(buf, 0, NotifyCount::all()), static_cast<std::uint64_t>(n));
      for (int k = 0; k < n; ++k) {
        auto r = await_report(c, 10 * kSecond);
        JOSTLE_CHECK(r && *r == "ok") << "agent report " << (r ? *r : "missing");
      }
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_mixed_sync_async)
    .primitive("agent")
    .describe("sync and async waiters share one FIFO: sync, async, sync, async agents enter in order and "
              "notify(1) wakes them in that order")
    .clauses({"waiter.list.mixed", "waiter.notify.fifo"})
    .iterations(10)
    .timeout(30 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      for (int k = 0; k < 4; ++k) {
        c.start(
            [buf, k](typename A::Api& api) mutable {
              WaitStatus s;
              if (k % 2 == 0) {
                s = api.wait(buf, 0, 0, NAN);
              } else {
                const AsyncWait w = api.wait_async(buf, 0, 0, NAN);
                s = w.async ? api.await_async(w) : WaitStatus::not_equal;
                if (!w.async) api.report(std::to_string(k) + ":settled-at-once");
              }
              api.report(std::to_string(k) + ":" + to_string(s));
            },
            AgentOptions{});
        JOSTLE_REQUIRE(await_waiters(c, buf, 0, static_cast<std::size_t>(k + 1))) << "agent " << k << " not queued";
      }
      for (int k = 0; k < 4; ++k) {
        JOSTLE_CHECK_EQ(c.main().notify(buf, 0, NotifyCount{1}), 1u);
        auto r = await_report(c);
        JOSTLE_CHECK(r && *r == std::to_string(k) + ":ok") << "wake " << k << " woke " << (r ? *r : "nobody");
      }
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_notify_vs_timeout)
    .primitive("agent")
    .kind(Kind::stress)
    .describe("notify racing the waiter's deadline: notify returning 1 means the waiter reports ok, 0 means it "
              "reports timed-out no earlier than its timeout")
    .clauses({"waiter.wait.notify-wins", "waiter.notify.exact-count"})
    .iterations(20)
    .timeout(30 * kSecond)
    .outcome("notified", Grade::acceptable)
    .outcome("timed-out", Grade::acceptable)
    .outcome("timed-out-unobserved", Grade::interesting,
             "the wait timed out before the probe saw the agent parked (inconclusive round: a slow schedule)")
    .outcome("inconsistent", Grade::forbidden, "notify count and the waiter's result disagree")
    .body<AgentBackends>([]<AgentBackend A>(Context& ctx) {
      typename A::Cluster c(ClusterOptions{});
      auto buf = c.new_buffer(64);
      constexpr double kT = 20;
      c.start(
          [buf](typename A::Api& api) mutable {
            const double t0 = api.monotonic_now();
            const WaitStatus s = api.wait(buf, 0, 0, kT);
            api.report(std::string(to_string(s)) + fmt(":%.6f", api.monotonic_now() - t0));
          },
          AgentOptions{});
      // Parked-or-reported: the 20 ms can run out before the probe sees the agent parked (a loaded machine,
      // chaos delays). That round did not race anything (inconclusive): the notify must then find nobody and
      // the report must be a timeout no earlier than asked, the same rule as a notify that came too late.
      std::optional<std::string> early;
      JOSTLE_REQUIRE(await_parked_or_report(c, buf, 0, 1, early)) << "the agent never parked";
      if (!early)
        sleep_ns(static_cast<Nanos>((kT - 2) * 1e6) + static_cast<Nanos>(ctx.rng().below(4000)) * kMicro);
      const std::uint64_t n = c.main().notify(buf, 0, NotifyCount{1});
      auto r = early ? early : await_report(c);
      JOSTLE_REQUIRE(r.has_value());
      double lapse = 0;
      char status[16] = {};
      JOSTLE_REQUIRE(std::sscanf(r->c_str(), "%15[^:]:%lf", status, &lapse) == 2) << *r;
      const bool consistent = (n == 1 && std::string(status) == "ok") ||
                              (n == 0 && std::string(status) == "timed-out" && lapse >= kT);
      JOSTLE_CHECK(consistent) << "notify returned " << n << ", waiter reported " << *r;
      ctx.record(!consistent ? "inconsistent" : early ? "timed-out-unobserved" : n == 1 ? "notified" : "timed-out");
      JOSTLE_CHECK_EQ(c.teardown().wedged, 0);
    });

JOSTLE_CASE(agents, agent_teardown_parked)
    .primitive("agent")
    .describe("teardown wakes agents parked in wait, receive_broadcast and sleep through the stop word and "
              "joins them well within the hard timeout")
    .clauses({"agent.teardown.wakes", "agent.teardown.bounded"})
    .iterations(3)
    .timeout(20 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      ClusterOptions o;
      o.hard_timeout = 2 * kSecond;
      typename A::Cluster c(o);
      auto buf = c.new_buffer(64);
      for (int k = 0; k < 3; ++k)
        c.start([buf](typename A::Api& api) mutable { api.wait(buf, 0, 0, NAN); }, AgentOptions{});
      c.start([](typename A::Api& api) { api.receive_broadcast(); }, AgentOptions{});
      c.start([](typename A::Api& api) { api.sleep(60000); }, AgentOptions{});
      JOSTLE_REQUIRE(await_waiters(c, buf, 0, 3)) << "agents never parked";
      const TeardownReport t = c.teardown();
      JOSTLE_CHECK_EQ(t.agents, 5);
      JOSTLE_REQUIRE_EQ(t.wedged, 0) << "teardown left parked agents wedged";
      JOSTLE_CHECK_EQ(t.joined, 5);
      JOSTLE_CHECK(t.elapsed < o.hard_timeout) << "teardown took " << t.elapsed << " ns";
    });

JOSTLE_CASE(agents, agent_teardown_wedged)
    .primitive("agent")
    .describe("an agent that never reaches a stop point is reported wedged at the hard timeout: teardown "
              "returns instead of hanging")
    .clause("agent.teardown.bounded")
    .iterations(2)
    .timeout(15 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) {
      ClusterOptions o;
      o.hard_timeout = 300 * kMilli;
      typename A::Cluster c(o);
      auto buf = c.new_buffer(64);
      c.start(
          [buf](typename A::Api&) mutable {
            while (at<A>(buf, 0).load() == 0) sys::cpu_relax();  // polls no stop word
          },
          AgentOptions{});
      const Nanos t0 = now_ns();
      const TeardownReport t = c.teardown();
      const Nanos took = now_ns() - t0;
      at<A>(buf, 0).store(1);  // lets a wedged agent thread finish
      JOSTLE_CHECK_EQ(t.wedged, 1);
      JOSTLE_CHECK(took >= o.hard_timeout && took < o.hard_timeout + 5 * kSecond) << "teardown took " << took;
    });

JOSTLE_CASE(agents, agent_crash_isolated)
    .primitive("agent")
    .describe("a crashing agent process is reported as crashed, a broadcast does not hang on it, and the other "
              "agents are torn down cleanly")
    .clause("agent.crash.reported")
    .iterations(3)
    .timeout(20 * kSecond)
    .body<AgentBackends>([]<AgentBackend A>(Context&) requires(A::kIsolatesCrashes) {
      ClusterOptions o;
      o.hard_timeout = 2 * kSecond;
      typename A::Cluster c(o);
      auto buf = c.new_buffer(64);
      for (int k = 0; k < 2; ++k)
        c.start([buf](typename A::Api& api) mutable { api.wait(buf, 0, 0, NAN); }, AgentOptions{});
      JOSTLE_REQUIRE(await_waiters(c, buf, 0, 2));
      c.start(
          [](typename A::Api& api) {
            api.report("crashing");
            const rlimit none{0, 0};
            setrlimit(RLIMIT_CORE, &none);
            signal(SIGABRT, SIG_DFL);
            raise(SIGABRT);
          },
          AgentOptions{});
      auto r = await_report(c);
      JOSTLE_CHECK(r && *r == "crashing");
      JOSTLE_CHECK(c.broadcast(buf, 1) == BroadcastStatus::agent_crashed) << "broadcast ignored a dead agent";
      const TeardownReport t = c.teardown();
      JOSTLE_CHECK_EQ(t.crashed, 1);
      JOSTLE_CHECK_EQ(t.joined, 2);
      JOSTLE_REQUIRE_EQ(t.wedged, 0) << "the surviving agents were not torn down";
    });

}  // namespace jostle
