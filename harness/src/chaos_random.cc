// Random mode: at each point, with probability p, one seeded action from the calling thread's own stream.
#include <sched.h>

#include <cmath>

#include "chaos_internal.h"
#include "jostle/sys.h"
#include "jostle/watchdog.h"

namespace jostle::chaos::detail {

namespace {

struct ThreadState {
  std::uint64_t generation = ~0ULL;
  std::uint64_t iteration = ~0ULL;
  int actor = -1;
  Rng rng;
};
thread_local ThreadState t_state;

// The per-thread stream is a function of (seed, iteration, actor index), so a rerun with the same seed draws
// the same decisions at the same points of each actor (the OS still decides what runs in between).
ThreadState& thread_state() {
  ThreadState& t = t_state;
  const std::uint64_t gen = g_generation.load(std::memory_order_relaxed);
  const std::uint64_t iter = current_iteration();
  if (t.generation != gen || t.iteration != iter) {
    t.generation = gen;
    t.iteration = iter;
    t.actor = current_actor();
    t.rng = Rng(mix(g_config.seed, iter + 1, static_cast<std::uint64_t>(t.actor + 2)));
  }
  return t;
}

// This iteration's victim: the one thread that takes long stalls (rr's starvation lesson: a single starved
// thread exposes more than everyone slowed down a little).
int victim(std::uint64_t iter) {
  const int n = case_threads() + 1;  // the actors and the case's main thread
  return static_cast<int>(mix(g_config.seed, iter + 1, 0x51c7) % static_cast<std::uint64_t>(n)) - 1;
}

bool site_on(const char* name) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (const char* c = name; *c; ++c) h = (h ^ static_cast<unsigned char>(*c)) * 1099511628211ULL;
  return (mix(g_config.seed, h, 0x5a) & 1) != 0;
}

void do_delay_action(ThreadState& t, unsigned acts) {
  if (t.actor != victim(t.iteration)) acts &= ~kStall;
  if (acts == 0) return;
  unsigned pick = static_cast<unsigned>(t.rng.below(static_cast<std::uint64_t>(__builtin_popcount(acts))));
  unsigned a = acts;
  for (; pick > 0; --pick) a &= a - 1;
  a &= ~(a - 1);  // lowest remaining bit
  g_hits.fetch_add(1, std::memory_order_relaxed);
  switch (a) {
    case kSpin: {
      const std::uint64_t spins = 1 + t.rng.below(4000);
      for (std::uint64_t i = 0; i < spins; ++i) sys::cpu_relax();
      return;
    }
    case kSleep: {
      // Log-uniform between 1 us and sleep_max: most pauses short, some long, every scale represented.
      const double lo = std::log(1000.0), hi = std::log(static_cast<double>(g_config.sleep_max));
      const double u = static_cast<double>(t.rng.next() >> 11) * 0x1.0p-53;
      const Nanos ns = static_cast<Nanos>(std::exp(lo + (hi - lo) * u));
      if (delay_allowed(ns)) sleep_ns(ns);
      return;
    }
    case kStall:
      if (delay_allowed(g_config.stall)) sleep_ns(g_config.stall);
      return;
    default:
      sched_yield();
      return;
  }
}

}  // namespace

void random_point(const char* name) {
  ThreadState& t = thread_state();
  if (!t.rng.chance(g_config.p)) return;
  if (g_config.swarm && !site_on(name)) return;
  HeldByChaos held;  // only a point that acts holds the thread: the others stay two loads and a draw
  do_delay_action(t, g_config.actions & kDelayActions);
}

bool random_decide(unsigned action) {
  if (!(g_config.actions & action) || g_config.p <= 0) return false;
  ThreadState& t = thread_state();
  if (!t.rng.chance(g_config.p)) return false;
  g_hits.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace jostle::chaos::detail
