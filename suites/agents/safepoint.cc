// Stop-the-world safepoints: no mutator runs during the stopped phase, every request completes, and threads
// attaching and detaching while requests are pending neither deadlock nor slip into a stopped world.
#include <atomic>
#include <vector>

#include "jostle/contracts/safepoint.h"
#include "jostle/jostle.h"
#include "jostle/sys.h"
#include "safepoint_backends.h"

namespace jostle {

namespace {

// Each mutator bumps its own counter between safepoints, only while attached. While the world is stopped
// every counter must stay frozen: the collector samples them twice across a short pause.
struct Progress {
  std::atomic<std::uint64_t> n{0};
  char pad[56];
};

template <class S>
bool frozen_across_pause(std::vector<Progress>& p, Nanos pause, int* who) {
  std::vector<std::uint64_t> before(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) before[i] = p[i].n.load(std::memory_order_acquire);
  const Nanos until = now_ns() + pause;
  while (now_ns() < until) sys::cpu_relax();
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].n.load(std::memory_order_acquire) != before[i]) {
      *who = static_cast<int>(i);
      return false;
    }
  return true;
}

}  // namespace

JOSTLE_CASE(agents, safepoint_stopped_phase)
    .primitive("safepoint")
    .describe("between stop_the_world() and resume() no attached mutator makes progress; every request "
              "completes with mutators polling at different rates")
    .clauses({"sp.stop.all-stopped", "sp.stop.completes", "sp.resume", "sp.poll"})
    .threads(4)
    .iterations(20)
    .timeout(30 * kSecond)
    .outcome("all-stopped", Grade::acceptable)
    .outcome("ran-while-stopped", Grade::forbidden, "a mutator made progress during the stopped phase")
    .body<SafepointBackends>([]<SafepointBackend S>(Context& ctx) {
      constexpr int kMutators = 4;
      constexpr int kRequests = 20;
      S sp;
      std::vector<Progress> progress(kMutators);
      std::atomic<std::uint32_t> attached{0}, done{0};
      ActorGroup g = ctx.spawn(kMutators, [&](int i) {
        const auto id = sp.attach();
        attached.fetch_add(1, std::memory_order_acq_rel);
        // Mutator i polls every 1, 16, 256 or 4096 units of work: back-edges, calls, allocations, long loops.
        const int every = 1 << (4 * i);
        phase("mutate");
        while (done.load(std::memory_order_acquire) == 0) {
          for (int k = 0; k < every; ++k) progress[static_cast<std::size_t>(i)].n.fetch_add(1, std::memory_order_release);
          sp.poll(id);
        }
        sp.detach(id);
      });
      JOSTLE_REQUIRE(probe::await([&] { return attached.load() == kMutators; }));
      for (int r = 0; r < kRequests; ++r) {
        phase("stop");
        const Nanos t0 = now_ns();
        sp.stop_the_world();
        ctx.metric("stop_latency_ns", static_cast<double>(now_ns() - t0), "ns");
        int who = -1;
        const bool frozen = frozen_across_pause<S>(progress, 200 * kMicro, &who);
        JOSTLE_CHECK(frozen) << "mutator " << who << " ran during the stopped phase (request " << r << ")";
        ctx.record(frozen ? "all-stopped" : "ran-while-stopped");
        sp.resume();
        sleep_ns(static_cast<Nanos>(ctx.rng().below(300)) * kMicro);
      }
      done.store(1, std::memory_order_release);
      g.join();
    });

JOSTLE_CASE(agents, safepoint_churn)
    .primitive("safepoint")
    .kind(Kind::stress)
    .describe("mutators attach and detach continuously while the collector keeps requesting stops: no "
              "deadlock, every request completes, and no attached mutator runs while the world is stopped")
    .clauses({"sp.attach.waits", "sp.detach.releases", "sp.stop.completes", "sp.stop.all-stopped"})
    .threads(4)
    .iterations(10)
    .timeout(30 * kSecond)
    .body<SafepointBackends>([]<SafepointBackend S>(Context& ctx) {
      constexpr int kMutators = 4;
      constexpr int kRequests = 40;
      S sp;
      std::vector<Progress> progress(kMutators);
      std::atomic<std::uint32_t> done{0};
      std::atomic<std::uint64_t> sessions{0};
      ActorGroup g = ctx.spawn(kMutators, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i) + 1));
        while (done.load(std::memory_order_acquire) == 0) {
          phase("attach");
          const auto id = sp.attach();
          phase("mutate");
          const int polls = 1 + static_cast<int>(rng.below(50));
          for (int k = 0; k < polls; ++k) {
            const int work = 1 + static_cast<int>(rng.below(64));  // units of work between two safepoints
            for (int w = 0; w < work; ++w) progress[static_cast<std::size_t>(i)].n.fetch_add(1, std::memory_order_release);
            sp.poll(id);
          }
          progress[static_cast<std::size_t>(i)].n.fetch_add(1, std::memory_order_release);
          sp.detach(id);  // leaves without a last poll: a pending stop must stop waiting for it
          sessions.fetch_add(1, std::memory_order_relaxed);
          if (rng.chance(0.1)) sleep_ns(static_cast<Nanos>(rng.below(100)) * kMicro);
        }
      });
      int failures = 0;
      for (int r = 0; r < kRequests; ++r) {
        phase("stop");
        sp.stop_the_world();
        int who = -1;
        if (!frozen_across_pause<S>(progress, 100 * kMicro, &who)) ++failures;
        sp.resume();
        sleep_ns(static_cast<Nanos>(ctx.rng().below(200)) * kMicro);
      }
      JOSTLE_CHECK_EQ(failures, 0) << "requests during which an attached mutator ran";
      done.store(1, std::memory_order_release);
      g.join();
      ctx.metric("sessions", static_cast<double>(sessions.load()), "n");
    });

}  // namespace jostle
