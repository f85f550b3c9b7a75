// Thread lifecycle (catalog conformance.md §1.6, T1-T5) over every thread backend.
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "jostle/contracts/thread.h"
#include "jostle/jostle.h"
#include "jostle/sys.h"
#include "thread_backends.h"

namespace jostle {

namespace {

// Waits (bounded) until `n` more threads of backend T went through their exit path since `before`, so that a
// case never returns while a thread it started can still touch the case's stack.
template <ThreadBackend T>
bool await_exits(std::uint64_t before, std::uint64_t n, Nanos timeout = 10 * kSecond) {
  return probe::await([&] { return T::stats().exited >= before + n; }, timeout);
}

void spin_for(Nanos ns) {
  const Nanos until = now_ns() + ns;
  while (now_ns() < until) sys::cpu_relax();
}

}  // namespace

JOSTLE_CASE(agents, thread_join_visible)
    .primitive("thread")
    .describe("T1: join returns the callable's result and makes every write of the thread visible")
    .clause("thread.join.visible")
    .clause("thread.spawn")
    .threads(5)
    .iterations(200)
    .timeout(60 * kSecond)
    .body<ThreadBackends>([]<ThreadBackend T>(Context& ctx) {
      constexpr int kThreads = 4;
      int plain[kThreads] = {};  // written by the threads without atomics: join is the only synchronisation
      const std::uint64_t exits_before = T::stats().exited;
      std::vector<JoinHandle<T, long>> handles;
      for (int i = 0; i < kThreads; ++i) {
        const Nanos work = static_cast<Nanos>(ctx.rng().below(40)) * kMicro;
        auto h = spawn_thread<T>(
            [&plain, work](int idx, long mul) {
              spin_for(work);
              plain[idx] = idx + 1;
              return mul * (idx + 1);
            },
            i, 1000L);
        JOSTLE_REQUIRE(h.has_value()) << "spawn failed";
        handles.push_back(std::move(*h));
      }
      for (int i = 0; i < kThreads; ++i) {
        const long r = handles[static_cast<std::size_t>(i)].join();
        JOSTLE_CHECK_EQ(r, 1000L * (i + 1)) << "join returned the wrong result";
        JOSTLE_CHECK_EQ(plain[i], i + 1) << "a write of the joined thread is not visible after join";
      }
      JOSTLE_REQUIRE(await_exits<T>(exits_before, kThreads)) << "threads did not finish their exit path";
    });

JOSTLE_CASE(agents, thread_detached_runs)
    .primitive("thread")
    .describe("T2: detached threads run to completion and their control blocks are released exactly once")
    .clause("thread.detach.no-leak")
    .threads(17)
    .iterations(300)
    .timeout(60 * kSecond)
    .body<ThreadBackends>([]<ThreadBackend T>(Context& ctx) {
      constexpr int kThreads = 16;
      std::atomic<std::uint32_t> ran{0};
      const ThreadStats before = T::stats();
      for (int i = 0; i < kThreads; ++i) {
        auto h = spawn_thread<T>([&ran] {
          ran.fetch_add(1, std::memory_order_acq_rel);
          sys::futex_wake(ran);
        });
        JOSTLE_REQUIRE(h.has_value()) << "spawn failed";
        // Detach at once or a little later: before, during or after the thread's own exit.
        if (ctx.rng().chance(0.75)) spin_for(static_cast<Nanos>(ctx.rng().below(100)) * kMicro);
        h->detach();
      }
      for (std::uint32_t seen; (seen = ran.load(std::memory_order_acquire)) < kThreads;)
        JOSTLE_REQUIRE(sys::futex_wait(ran, seen, 10 * kSecond) != ETIMEDOUT) << "a detached thread never ran";
      JOSTLE_REQUIRE(await_exits<T>(before.exited, kThreads)) << "detached threads never exited";
      const ThreadStats after = T::stats();
      JOSTLE_CHECK_EQ(after.acquired - before.acquired, after.released - before.released)
          << "control blocks leaked by detached threads";
      JOSTLE_CHECK_EQ(after.double_released - before.double_released, 0u) << "a control block was released twice";
    });

JOSTLE_CASE(agents, thread_names)
    .primitive("thread")
    .describe("T3: names round-trip from the thread and from outside; 15 bytes fit, 16 fail with ERANGE and "
              "leave the name unchanged; a too-small buffer fails with ERANGE")
    .clause("thread.name.round-trip")
    .clause("thread.name.too-long")
    .clause("thread.name.buffer")
    .threads(2)
    .iterations(50)
    .body<ThreadBackends>([]<ThreadBackend T>(Context&) {
      static_assert(T::kMaxNameLen == 15, "Linux limit");
      const std::string max_name(T::kMaxNameLen, 'm');
      const std::string too_long(T::kMaxNameLen + 1, 'x');
      std::atomic<std::uint32_t> step{0};
      const std::uint64_t exits_before = T::stats().exited;
      auto h = spawn_thread<T>([&] {
        char buf[64];
        JOSTLE_CHECK_EQ(T::set_name_self("mythread"), 0);
        JOSTLE_CHECK_EQ(T::get_name_self(buf, sizeof buf), 0);
        JOSTLE_CHECK(std::string(buf) == "mythread") << "self name read back as '" << buf << "'";
        JOSTLE_CHECK_EQ(T::set_name_self(max_name.c_str()), 0) << "a 15-byte name must fit";
        JOSTLE_CHECK_EQ(T::get_name_self(buf, sizeof buf), 0);
        JOSTLE_CHECK(std::string(buf) == max_name) << "max-length name read back as '" << buf << "'";
        JOSTLE_CHECK_EQ(T::set_name_self(too_long.c_str()), ERANGE) << "a 16-byte name must be refused";
        JOSTLE_CHECK_EQ(T::get_name_self(buf, sizeof buf), 0);
        JOSTLE_CHECK(std::string(buf) == max_name) << "a refused name changed the name to '" << buf << "'";
        JOSTLE_CHECK_EQ(T::get_name_self(buf, T::kMaxNameLen), ERANGE) << "15-byte buffer must be refused";
        step.store(1, std::memory_order_release);
        sys::futex_wake(step);
        while (step.load(std::memory_order_acquire) != 2) sys::futex_wait(step, 1);
        JOSTLE_CHECK_EQ(T::get_name_self(buf, sizeof buf), 0);
        JOSTLE_CHECK(std::string(buf) == "outside") << "name set from outside read by the thread as '" << buf << "'";
      });
      JOSTLE_REQUIRE(h.has_value());
      while (step.load(std::memory_order_acquire) != 1) sys::futex_wait(step, 0);
      char buf[64];
      JOSTLE_CHECK_EQ(T::get_name(h->handle(), buf, sizeof buf), 0);
      JOSTLE_CHECK(std::string(buf) == max_name) << "name read from outside as '" << buf << "'";
      JOSTLE_CHECK_EQ(T::set_name(h->handle(), "outside"), 0);
      JOSTLE_CHECK_EQ(T::set_name(h->handle(), too_long.c_str()), ERANGE) << "from outside";
      JOSTLE_CHECK_EQ(T::get_name(h->handle(), buf, 8), ERANGE) << "an 8-byte buffer must be refused";
      step.store(2, std::memory_order_release);
      sys::futex_wake(step);
      h->join();
      JOSTLE_REQUIRE(await_exits<T>(exits_before, 1));
    });

namespace {
thread_local int t_tls_value = 7;
}

JOSTLE_CASE(agents, thread_ids_unique)
    .primitive("thread")
    .describe("T4: ids of threads alive together are distinct and differ from the parent's; TLS starts at its "
              "initial value in every thread; sleep is a lower bound; cpu_count >= 1")
    .clause("thread.id.unique")
    .clause("thread.sleep.lower-bound")
    .clause("thread.cpu-count")
    .threads(9)
    .iterations(50)
    .body<ThreadBackends>([]<ThreadBackend T>(Context& ctx) {
      constexpr int kThreads = 8;
      std::uint64_t ids[kThreads] = {};
      int tls_seen[kThreads] = {};
      std::atomic<std::uint32_t> arrived{0};
      const std::uint64_t parent = T::current_id();
      const std::uint64_t exits_before = T::stats().exited;
      std::vector<JoinHandle<T, void>> hs;
      for (int i = 0; i < kThreads; ++i) {
        auto h = spawn_thread<T>([&, i] {
          tls_seen[i] = t_tls_value;
          t_tls_value = 100 + i;
          ids[i] = T::current_id();
          // Stay alive until every thread has its id: ids only need to be unique among live threads.
          arrived.fetch_add(1, std::memory_order_acq_rel);
          sys::futex_wake(arrived);
          for (std::uint32_t a; (a = arrived.load(std::memory_order_acquire)) < kThreads;)
            sys::futex_wait(arrived, a);
          JOSTLE_CHECK_EQ(t_tls_value, 100 + i) << "TLS shared between threads";
          T::yield();
        });
        JOSTLE_REQUIRE(h.has_value());
        hs.push_back(std::move(*h));
      }
      for (auto& h : hs) h.join();
      JOSTLE_REQUIRE(await_exits<T>(exits_before, kThreads));
      for (int i = 0; i < kThreads; ++i) {
        JOSTLE_CHECK_EQ(tls_seen[i], 7) << "thread " << i << " did not start with the TLS initial value";
        JOSTLE_CHECK(ids[i] != parent) << "thread " << i << " has the parent's id " << parent;
        for (int j = 0; j < i; ++j) JOSTLE_CHECK(ids[i] != ids[j]) << "threads " << j << " and " << i << " share id";
      }
      JOSTLE_CHECK(T::cpu_count() >= 1);
      if (ctx.iteration() < 3) {
        const Nanos want = 2 * kMilli;
        const Nanos t0 = now_ns();
        T::sleep(want);
        const Nanos got = now_ns() - t0;
        JOSTLE_CHECK(got >= want) << "sleep(2ms) returned after " << got << " ns";
      }
    });

JOSTLE_CASE(agents, thread_detach_exit_race)
    .primitive("thread")
    .kind(Kind::stress)
    .describe("T5: detach racing the thread's exit neither leaks nor double-releases the control block "
              "(ownership counters, so it fails without ASan too)")
    .clause("thread.detach.once")
    .threads(17)
    .iterations(400)
    .timeout(60 * kSecond)
    .body<ThreadBackends>([]<ThreadBackend T>(Context& ctx) {
      constexpr int kThreads = 16;
      const ThreadStats before = T::stats();
      for (int i = 0; i < kThreads; ++i) {
        auto h = spawn_thread<T>([] {});
        JOSTLE_REQUIRE(h.has_value());
        // A random delay spreads the detach over the child's start-up and exit (tens of microseconds).
        spin_for(static_cast<Nanos>(ctx.rng().below(120)) * kMicro);
        h->detach();
      }
      JOSTLE_REQUIRE(await_exits<T>(before.exited, kThreads)) << "detached threads never exited";
      const ThreadStats after = T::stats();
      const std::uint64_t acquired = after.acquired - before.acquired;
      const std::uint64_t released = after.released - before.released;
      const std::uint64_t doubles = after.double_released - before.double_released;
      JOSTLE_CHECK_EQ(acquired, released) << "leaked " << (acquired - released) << " control blocks";
      JOSTLE_CHECK_EQ(doubles, 0u) << "control blocks released twice";
      ctx.record(acquired != released ? "leak" : doubles != 0 ? "double-release" : "once");
    })
    .outcome("once", Grade::acceptable, "every block released exactly once")
    .outcome("leak", Grade::forbidden, "detach and exit both left the block to the other")
    .outcome("double-release", Grade::forbidden, "detach and exit both released the block");

JOSTLE_CASE(agents, thread_timed_join_running)
    .primitive("thread")
    .describe("timed join of a running thread: times out no earlier than asked (CLOCK_MONOTONIC, from the call) "
              "and consumes nothing: a later join returns the thread's result after the thread finished")
    .clause("thread.timed-join.lower-bound")
    .clause("thread.timed-join.no-consume")
    .threads(2)
    .iterations(8)
    .timeout(30 * kSecond)
    .body<ThreadBackends>([]<TimedJoinThreadBackend T>(Context& ctx) {
      // Fractional milliseconds, so a deadline rounded to whole ms shows too.
      const Nanos want = 15 * kMilli + static_cast<Nanos>(ctx.rng().below(1000)) * kMicro;
      std::atomic<std::uint32_t> go{0};
      std::atomic<std::uint32_t> finished{0};
      const std::uint64_t exits_before = T::stats().exited;
      auto h = spawn_thread<T>([&go, &finished] {
        while (go.load(std::memory_order_acquire) == 0) sys::futex_wait(go, 0);
        // Still busy for a while after the release: a join that returns without waiting shows.
        spin_for(20 * kMilli);
        finished.store(1, std::memory_order_release);
        return 4242L;
      });
      JOSTLE_REQUIRE(h.has_value()) << "spawn failed";
      // The call comes well after spawn, so a deadline counted from the wrong instant shows.
      sleep_ns(10 * kMilli);
      const Nanos t0 = now_ns();
      const auto early = h->join_for(want);
      const Nanos took = now_ns() - t0;
      const bool timed_out = !early.has_value();
      JOSTLE_CHECK(timed_out) << "timed join of a thread blocked on a word nobody set returned " << *early;
      JOSTLE_CHECK(took >= want) << "timed join gave up after " << took << " ns, asked " << want;
      JOSTLE_CHECK(took < want + 2 * kSecond) << "timed join overslept: " << took << " ns for " << want;
      ctx.metric("timeout_margin_us", static_cast<double>(took - want) / 1e3, "us");
      go.store(1, std::memory_order_release);
      sys::futex_wake(go);
      if (timed_out) {
        const long r = h->join();
        JOSTLE_CHECK_EQ(r, 4242L) << "join after a timed-out timed join did not return the result";
        JOSTLE_CHECK_EQ(finished.load(std::memory_order_acquire), 1u)
            << "join after a timed-out timed join returned while the thread was still running";
      }
      // The thread may outlive join() (mutants): wait for its exit path before the stack goes.
      JOSTLE_REQUIRE(await_exits<T>(exits_before, 1)) << "the thread never finished its exit path";
    });

JOSTLE_CASE(agents, thread_timed_join_finished)
    .primitive("thread")
    .describe("timed join of a thread that already finished returns its result at once, not at the timeout")
    .clause("thread.timed-join.finished")
    .threads(2)
    .iterations(8)
    .timeout(30 * kSecond)
    .body<ThreadBackends>([]<TimedJoinThreadBackend T>(Context&) {
      const Nanos want = kSecond;
      std::atomic<std::uint32_t> returned{0};
      const std::uint64_t exits_before = T::stats().exited;
      auto h = spawn_thread<T>([&returned] {
        returned.store(1, std::memory_order_release);
        sys::futex_wake(returned);
        return 77L;
      });
      JOSTLE_REQUIRE(h.has_value()) << "spawn failed";
      // Finished: its callable returned and its exit path is over.
      JOSTLE_REQUIRE(await_exits<T>(exits_before, 1)) << "the thread never finished";
      const Nanos t0 = now_ns();
      const auto r = h->join_for(want);
      const Nanos took = now_ns() - t0;
      if (!r) h->join();  // still owed
      JOSTLE_REQUIRE(r.has_value()) << "timed join of a finished thread timed out after " << took << " ns";
      JOSTLE_CHECK_EQ(*r, 77L) << "timed join of a finished thread returned the wrong result";
      // "At once": well before the timeout (generous: the machine is shared).
      JOSTLE_CHECK(took < want / 2) << "timed join of a finished thread took " << took << " ns";
      JOSTLE_CHECK_EQ(returned.load(), 1u);
    });

}  // namespace jostle
