// Chaos points: the hooks' slow paths, configure(), and the schedule event. The modes live beside this file
// (chaos_internal.h lists them); jostle/chaos.h has the hooks and docs/amplification.md the spec grammar, the
// schedule event and what each mode can promise.
//
// Everything here is harness plumbing: the PCT scheduler's lock is a spinlock of its own and threads park on raw
// futex words, never on a primitive under test.
#include "jostle/chaos.h"

#include <algorithm>

#include "chaos_internal.h"
#include "jostle/json.h"
#include "jostle/watchdog.h"
#include "run_hook.h"

namespace jostle::chaos {

std::atomic<bool> g_enabled{false};

namespace detail {

Config g_config;
std::atomic<std::uint64_t> g_generation{0};
std::atomic<std::uint64_t> g_hits{0};
std::atomic<Nanos> g_injected{0};
Nanos g_start = 0;

std::uint64_t current_iteration() {
  RunHook* r = run_hook();
  return r ? r->iterations_done() : 0;
}

int case_threads() {
  RunHook* r = run_hook();
  return r ? std::max(1, r->declared_threads()) : 1;
}

std::uint64_t failures_so_far() {
  RunHook* r = run_hook();
  return r ? r->failures() : 0;
}

bool delay_allowed(Nanos ns) {
  const double budget =
      10.0 * kMilli + g_config.cap * static_cast<double>(now_ns() - g_start) * case_threads();
  Nanos cur = g_injected.load(std::memory_order_relaxed);
  if (static_cast<double>(cur + ns) > budget) return false;
  g_injected.fetch_add(ns, std::memory_order_relaxed);
  return true;
}

namespace {
// Atomic because the preemption signal handler adds to it too, possibly in the middle of a hold's destructor.
thread_local std::atomic<Nanos> t_held{0};
}  // namespace

HeldByChaos::HeldByChaos() : in_chaos_(phase_slot(current_actor()).in_chaos), t0_(now_ns()) {
  in_chaos_.fetch_add(1, std::memory_order_acq_rel);
}

HeldByChaos::~HeldByChaos() {
  in_chaos_.fetch_sub(1, std::memory_order_acq_rel);
  t_held.fetch_add(now_ns() - t0_, std::memory_order_relaxed);
}

void add_held(Nanos ns) { t_held.fetch_add(ns, std::memory_order_relaxed); }

}  // namespace detail

using namespace detail;

std::int64_t held_ns() { return t_held.load(std::memory_order_relaxed); }

void detach_after_fork() {
  g_enabled.store(false, std::memory_order_relaxed);
  preempt_stop();  // timers do not survive fork; threads the child starts are not targets either
}

void point_slow(const char* name) {
  switch (g_config.mode) {
    case Mode::pct: {
      HeldByChaos held;  // may wait for the token
      pct_point();
      return;
    }
    case Mode::random:
      random_point(name);
      return;
    case Mode::preempt:
      return;
  }
}

bool spurious_slow(const char* /*name*/) { return random_decide(kSpurious); }
bool timeout_slow(const char* /*name*/) { return random_decide(kTimeout); }

void blocking_begin_slow(const char* /*name*/) {
  if (g_config.mode == Mode::pct) pct_blocking_begin();
}
void blocking_end_slow(const char* /*name*/) {
  if (g_config.mode != Mode::pct) return;
  HeldByChaos held;  // back from the kernel, now waiting for the token
  pct_blocking_end();
}

void harness_wait_begin_slow() {
  if (g_config.mode == Mode::pct) pct_blocking_begin(false);
}
void harness_wait_end_slow() {
  if (g_config.mode != Mode::pct) return;
  HeldByChaos held;
  pct_blocking_end(false);
}

std::string configure(std::string_view spec, std::uint64_t seed) {
  Config c;
  if (std::string err = parse_spec(spec, seed, c); !err.empty()) return err;
  g_enabled.store(false, std::memory_order_release);
  preempt_stop();
  g_config = c;
  pct_reset();
  g_generation.fetch_add(1, std::memory_order_relaxed);
  g_hits.store(0);
  g_injected.store(0);
  g_start = now_ns();
  if (c.mode == Mode::preempt) {
    // The points stay off (g_enabled false): preemption needs none, and they cost nothing this way.
    if (std::string err = preempt_start(); !err.empty()) {
      g_config = Config{};
      return err;
    }
    return {};
  }
  if (c.vclock) {
    if (std::string err = vclock_start(); !err.empty()) {
      g_config = Config{};
      return err;
    }
  }
  g_enabled.store(c.mode == Mode::pct || c.p > 0, std::memory_order_release);
  return {};
}

bool active() { return g_enabled.load(std::memory_order_acquire) || g_config.mode == Mode::preempt; }

bool pct() { return g_enabled.load(std::memory_order_acquire) && g_config.mode == Mode::pct; }

std::uint64_t hits() { return g_hits.load(std::memory_order_relaxed); }

bool describe_schedule(Json& j, const char* why) {
  if (!active()) return false;
  static constexpr const char* kModeNames[] = {"random", "pct", "preempt"};
  j.kv("mode", kModeNames[static_cast<int>(g_config.mode)]).kv("seed", g_config.seed).kv("spec", g_config.spec);
  j.kv("why", why).kv("hits", hits());
  j.kv("injected_ms", static_cast<double>(g_injected.load(std::memory_order_relaxed)) / 1e6);
  if (g_config.mode == Mode::pct) {
    const bool failing = std::string_view(why) == "fail" || std::string_view(why) == "hang";
    pct_describe(j, failing);
  } else if (g_config.mode == Mode::preempt) {
    preempt_describe(j);
  }
  return true;
}

}  // namespace jostle::chaos
