// Chaos points: the random-action mode and the PCT token-passing scheduler. See jostle/chaos.h for the hooks
// and docs/amplification.md for the spec grammar, the schedule event and what each mode can promise.
//
// Everything here is harness plumbing: the scheduler's lock is a spinlock of its own and threads park on raw futex
// words, never on a primitive under test.
#include "jostle/chaos.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "jostle/clock.h"
#include "jostle/context.h"
#include "jostle/json.h"
#include "jostle/probe.h"
#include "jostle/sys.h"
#include "jostle/watchdog.h"
#include "run.h"

namespace jostle::chaos {

std::atomic<bool> g_enabled{false};

namespace {

enum Action : unsigned { kYield = 1, kSpin = 2, kSleep = 4, kStall = 8, kSpurious = 16, kTimeout = 32 };
constexpr unsigned kDelayActions = kYield | kSpin | kSleep | kStall;
constexpr const char* kActionNames = "yield, spin, sleep, stall, spurious, timeout";

enum class Mode { random, pct };

struct Config {
  Mode mode = Mode::random;
  double p = 0.0;
  unsigned actions = kYield;
  Nanos sleep_max = 100 * kMicro;
  Nanos stall = 2 * kMilli;
  double cap = 0.25;    // injected sleep+stall time, as a fraction of wall time per thread of the case
  bool swarm = false;   // each site is on or off for the whole run, by a coin flip on (seed, site)
  int d = 3;            // PCT bug depth: d-1 priority change points per iteration
  std::uint64_t k = 0;  // PCT steps per iteration to draw change points from; 0 = learn it
  // A holder burning this much CPU without reaching a point loses the token. 2 ms: far above any primitive's path
  // between two points, and short enough that a case spinning in its own code (a point-free busy-wait for the
  // other threads, e.g. lost_wakeup_storm's waker) costs 2 ms per round, not 10.
  Nanos token_wait = 2 * kMilli;
  Nanos poll = 200 * kMicro;       // how often a waiting thread checks whether the holder is asleep
  std::uint64_t spin_bound = 200;  // a thread chosen this many steps in a row while others wait is demoted
  Nanos start_wait = 50 * kMilli;  // how long the first step waits for the declared actors to arrive
  int actors = 0;                  // threads to expect at the first step when no run declares them (tests)
  std::uint64_t seed = 1;
  std::string spec;
};

Config g_config;
std::atomic<std::uint64_t> g_generation{0};  // bumped by configure, so per-thread state resets
std::atomic<std::uint64_t> g_hits{0};
std::atomic<Nanos> g_injected{0};
Nanos g_start = 0;

std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) {
  Rng r(a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (c * 0xd1b54a32d192ed03ULL));
  r.next();
  return r.next();
}

std::uint64_t current_iteration() {
  Run* r = current_run();
  return r ? r->iterations_done() : 0;
}

int case_threads() {
  Run* r = current_run();
  return r ? std::max(1, r->instance().def->threads) : 1;
}

bool parse_double(std::string_view s, double& out) {
  std::string tmp(s);
  char* end = nullptr;
  out = std::strtod(tmp.c_str(), &end);
  return end && *end == '\0' && !tmp.empty();
}

// ---- random mode ----

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

// Sleeps and stalls are granted while the run's total stays under cap x wall time x threads (plus a small
// allowance so that the first ones are possible), so chaos cannot turn a correct run into a timeout.
bool delay_allowed(Nanos ns) {
  const double budget =
      10.0 * kMilli + g_config.cap * static_cast<double>(now_ns() - g_start) * case_threads();
  Nanos cur = g_injected.load(std::memory_order_relaxed);
  if (static_cast<double>(cur + ns) > budget) return false;
  g_injected.fetch_add(ns, std::memory_order_relaxed);
  return true;
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

// ---- pct mode ----

constexpr int kSlots = kMaxActors + 1;  // slot = actor index + 1; slot 0 is the case's main thread
constexpr int kNoHolder = -1;
constexpr std::size_t kTraceCap = 1 << 16;
constexpr Nanos kWallFallback = 500;  // x token_wait (1 s) of wall time: the last resort, whatever the CPU says

struct Slot {
  std::atomic<std::uint32_t> grant{0};
  pid_t tid = 0;
  bool registered = false;
  bool wants = false;    // waiting for the token
  bool blocked = false;  // inside a BLOCKING region: not runnable as far as the scheduler knows
  std::int64_t prio = 0;
  std::int64_t initial_prio = 0;
  Nanos asleep_since = 0;  // when a waiter first saw this holder asleep in the kernel (0: not seen)
};

struct Snapshot {
  std::uint64_t iteration = 0;
  std::uint64_t steps = 0;
  std::uint64_t k = 0;
  int n = 0;
  std::vector<std::uint64_t> change_points;
  std::vector<std::pair<int, std::int64_t>> priorities;  // (actor, initial priority)
  std::vector<std::int16_t> trace;                       // actor chosen at each step
};

// The scheduler's own lock never sleeps in the kernel: a thread waiting for it must not look "blocked" to the
// probes above (they read the kernel's task state), so it spins and yields instead of parking.
class SpinLock {
 public:
  void lock() {
    for (unsigned i = 0;; ++i) {
      if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) return;
      if (i < 64) sys::cpu_relax();
      else sched_yield();
    }
  }
  void unlock() { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

using LockGuard = std::lock_guard<SpinLock>;

struct Sched {
  SpinLock lock;
  std::uint64_t iteration = ~0ULL;
  int holder = kNoHolder;
  int top = 0;  // highest slot registered this iteration + 1
  int last = kNoHolder;
  std::uint64_t run_len = 0;
  std::size_t changes_done = 0;
  std::int64_t low_prio = 0;  // demoted priorities count down from here, below every initial one
  std::uint64_t k_learned = 0;
  std::uint64_t checks_at_start = 0;
  Snapshot cur;
  bool have_fail = false;
  Snapshot fail;
  // Totals over the run.
  std::uint64_t steals = 0, forced = 0, demotions = 0, late_starts = 0, steps_max = 0, iterations = 0;
  int n_max = 0;
};

Sched g_sched;
Slot g_slots[kSlots];

std::uint64_t failures_so_far() {
  Run* r = current_run();
  return r ? r->checks_failed() + r->forbidden() : 0;
}

// CPU time the thread has run, from /proc/self/task/TID/schedstat (-1 when it cannot be read). A holder that
// burns CPU without coming back to a point is spinning on something the scheduler cannot see; one that is
// merely preempted on a busy machine burns none and keeps the token.
Nanos cpu_ns(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", static_cast<int>(tid));
  std::FILE* f = std::fopen(path, "re");
  if (!f) return -1;
  long long ns = -1;
  if (std::fscanf(f, "%lld", &ns) != 1) ns = -1;
  std::fclose(f);
  return ns;
}

void give(int slot) {
  Sched& s = g_sched;
  s.holder = slot;
  Slot& t = g_slots[slot];
  t.wants = false;
  t.asleep_since = 0;
  t.grant.store(1, std::memory_order_release);
  sys::futex_wake(t.grant, 1);
}

// Highest-priority runnable waiter, or kNoHolder. Lock held.
int best_waiter(int exclude) {
  int best = kNoHolder;
  for (int i = 0; i < g_sched.top; ++i) {
    const Slot& t = g_slots[i];
    if (i == exclude || !t.registered || !t.wants || t.blocked) continue;
    if (best == kNoHolder || t.prio > g_slots[best].prio) best = i;
  }
  return best;
}

// The token is free: hand it to the best waiter, if any. Lock held.
void dispatch() {
  const int b = best_waiter(kNoHolder);
  if (b == kNoHolder) g_sched.holder = kNoHolder;
  else give(b);
}

// New iteration: new threads, new priorities, new change points. Lock held.
void reset_iteration(std::uint64_t iter) {
  Sched& s = g_sched;
  if (s.iteration != ~0ULL) {
    s.k_learned = std::max(s.k_learned, s.cur.steps);
    s.steps_max = std::max(s.steps_max, s.cur.steps);
    if (!s.have_fail && failures_so_far() > s.checks_at_start) {
      s.fail = s.cur;
      s.have_fail = true;
    }
  }
  for (int i = 0; i < s.top; ++i) {
    g_slots[i].registered = g_slots[i].wants = g_slots[i].blocked = false;
    g_slots[i].tid = 0;
  }
  s.iteration = iter;
  ++s.iterations;
  s.holder = kNoHolder;
  s.top = 0;
  s.last = kNoHolder;
  s.run_len = 0;
  s.changes_done = 0;
  s.low_prio = 0;
  s.checks_at_start = failures_so_far();
  s.cur = Snapshot{};
  s.cur.iteration = iter;
  s.cur.k = g_config.k ? g_config.k : s.k_learned ? s.k_learned : 32;
  Rng r(mix(g_config.seed, iter + 1, 0xc4a6));
  for (int i = 1; i < g_config.d; ++i) s.cur.change_points.push_back(1 + r.below(s.cur.k));
  std::sort(s.cur.change_points.begin(), s.cur.change_points.end());
}

// Registers the calling thread for this iteration. Returns its slot, or -1 if the thread cannot take part
// (its actor slot is taken by another thread: e.g. a helper thread a backend started). Lock held.
int register_thread() {
  Sched& s = g_sched;
  const int slot = std::clamp(current_actor() + 1, 0, kSlots - 1);
  Slot& t = g_slots[slot];
  const pid_t me = sys::gettid();
  if (t.registered) return t.tid == me ? slot : -1;
  t.registered = true;
  t.tid = me;
  t.wants = t.blocked = false;
  t.asleep_since = 0;
  t.grant.store(0, std::memory_order_relaxed);
  // Distinct w.h.p., all far above the demoted priorities (which are <= 0).
  t.initial_prio = t.prio = static_cast<std::int64_t>((mix(g_config.seed, s.iteration + 1, slot + 7) >> 4) | 1);
  s.top = std::max(s.top, slot + 1);
  s.cur.priorities.emplace_back(slot - 1, t.initial_prio);
  s.cur.n = static_cast<int>(s.cur.priorities.size());
  s.n_max = std::max(s.n_max, s.cur.n);
  return slot;
}

struct PctThread {
  std::uint64_t generation = ~0ULL;
  std::uint64_t iteration = ~0ULL;
  int slot = -1;
  ~PctThread();
};
thread_local PctThread t_pct;

// Under the lock: make sure the scheduler is on the current iteration and the caller registered in it.
int enter(PctThread& me) {
  const std::uint64_t gen = g_generation.load(std::memory_order_relaxed);
  const std::uint64_t iter = current_iteration();
  if (g_sched.iteration != iter) reset_iteration(iter);
  if (me.generation != gen || me.iteration != iter) {
    me.generation = gen;
    me.iteration = iter;
    me.slot = register_thread();
  }
  return me.slot;
}

// Waits until the scheduler gives `slot` the token. Lock NOT held on entry or exit. Never waits forever: a
// holder asleep in the kernel (blocked in a call nobody annotated) loses the token after two looks `poll`
// apart, and after token_wait the waiter takes the token regardless (the holder then waits at its next point).
void wait_for_token(int slot) {
  Sched& s = g_sched;
  Slot& me = g_slots[slot];
  const Nanos t0 = now_ns();
  int watched = kNoHolder;  // the holder whose CPU time we measure, and its CPU time when first seen
  Nanos watched_cpu0 = 0;
  for (;;) {
    if (me.grant.load(std::memory_order_acquire) == 0) sys::futex_wait(me.grant, 0, g_config.poll);
    int h;
    pid_t htid;
    {
      LockGuard g(s.lock);
      if (s.holder == slot) {
        me.grant.store(0, std::memory_order_relaxed);
        return;
      }
      // Still waiting, so still a candidate: a token handed to us and taken back before we woke up (forced, below)
      // cleared `wants` in give(), and without this the token could go nowhere while we spin here for ever.
      me.wants = true;
      if (s.holder == kNoHolder) {
        dispatch();
        continue;
      }
      h = s.holder;
      htid = g_slots[h].tid;
    }
    const char st = probe::task_state(htid);
    const Nanos cpu = cpu_ns(htid);
    // '?': the thread is gone. A holder that was handed the token but has not woken up to take it yet is
    // asleep too, but not blocked: only token_wait takes the token from it.
    const bool asleep = (st == 'S' || st == 'D' || st == '?') && g_slots[h].grant.load(std::memory_order_acquire) == 0;
    LockGuard g(s.lock);
    if (s.holder == slot) {
      me.grant.store(0, std::memory_order_relaxed);
      return;
    }
    if (s.holder != h) continue;
    const Nanos now = now_ns();
    Slot& ht = g_slots[h];
    if (!asleep) {
      ht.asleep_since = 0;
    } else if (ht.asleep_since == 0) {
      ht.asleep_since = now;
    } else if (now - ht.asleep_since >= g_config.poll) {
      ++s.steals;
      ht.asleep_since = 0;
      dispatch();
      if (s.holder == slot) {
        me.grant.store(0, std::memory_order_relaxed);
        return;
      }
      continue;
    }
    if (watched != h) {
      watched = h;
      watched_cpu0 = cpu;
    }
    const bool spinning = cpu >= 0 && watched_cpu0 >= 0 ? cpu - watched_cpu0 > g_config.token_wait
                                                        : now - t0 > g_config.token_wait;
    if (spinning || now - t0 > kWallFallback * g_config.token_wait) {
      ++s.forced;
      if (ht.grant.load(std::memory_order_relaxed) != 0) {
        // Handed the token but not awake yet: it goes back to waiting for the token like everyone else.
        ht.grant.store(0, std::memory_order_relaxed);
        ht.wants = true;
      }
      s.holder = slot;
      me.wants = false;
      me.grant.store(0, std::memory_order_relaxed);
      return;
    }
  }
}

// Lock held on entry; released on return.
void acquire_token(int slot, SpinLock& lock) {
  Sched& s = g_sched;
  if (s.holder == slot) {
    g_slots[slot].wants = false;
    g_slots[slot].grant.store(0, std::memory_order_relaxed);
    lock.unlock();
    return;
  }
  g_slots[slot].wants = true;
  if (s.holder == kNoHolder) dispatch();
  if (s.holder == slot) {
    g_slots[slot].grant.store(0, std::memory_order_relaxed);
    lock.unlock();
    return;
  }
  lock.unlock();
  wait_for_token(slot);
}

// Actors leave the start gate together but reach their first point in OS order. So that the first choice is
// made by priority and not by arrival, the first step of an iteration waits (briefly) until every actor the
// case declared has registered. Lock held on entry and on return.
void await_starters(Sched& s) {
  Run* r = current_run();
  const int expected = r ? r->instance().def->threads : g_config.actors;
  if (s.cur.n >= expected) return;
  s.lock.unlock();
  const Nanos until = now_ns() + g_config.start_wait;
  std::vector<Nanos> asleep_since(static_cast<std::size_t>(std::min(expected, kMaxActors)), 0);
  for (;;) {
    sleep_ns(20 * kMicro);
    // Still missing: actors that exist and are runnable (about to arrive), or not started yet (tid 0). One
    // asleep in the kernel on two looks `poll` apart is not coming soon (one look is not enough: it may be
    // waiting for this very lock).
    int missing = 0;
    std::vector<bool> registered(asleep_since.size());
    {
      LockGuard g(s.lock);
      if (s.holder != kNoHolder || s.cur.steps > 0) break;
      if (now_ns() > until) {
        ++s.late_starts;
        break;
      }
      for (std::size_t a = 0; a < registered.size(); ++a) registered[a] = g_slots[a + 1].registered;
    }
    {
      for (int a = 0; a < static_cast<int>(registered.size()); ++a) {
        if (registered[static_cast<std::size_t>(a)]) continue;
        const pid_t tid = phase_slot(a).tid.load(std::memory_order_acquire);
        Nanos& since = asleep_since[static_cast<std::size_t>(a)];
        const char st = tid == 0 ? 'R' : probe::task_state(tid);
        if (st == 'S' || st == 'D') {
          if (since == 0) since = now_ns();
          if (now_ns() - since >= g_config.poll) continue;
        } else {
          since = 0;
        }
        ++missing;
      }
    }
    if (missing == 0) break;
  }
  s.lock.lock();
}

void pct_point() {
  Sched& s = g_sched;
  s.lock.lock();
  const int slot = enter(t_pct);
  if (slot < 0) {
    s.lock.unlock();
    return;
  }
  Slot& me = g_slots[slot];
  me.blocked = false;
  if (s.holder != slot) {
    me.wants = true;
    if (s.holder == kNoHolder && s.cur.steps == 0) await_starters(s);
    acquire_token(slot, s.lock);
    s.lock.lock();
    if (s.iteration != t_pct.iteration) {  // cannot happen with harness-joined actors; be safe
      s.lock.unlock();
      return;
    }
  }
  // A scheduling step: we hold the token.
  ++s.cur.steps;
  g_hits.fetch_add(1, std::memory_order_relaxed);
  while (s.changes_done < s.cur.change_points.size() && s.cur.change_points[s.changes_done] <= s.cur.steps) {
    me.prio = --s.low_prio;
    ++s.changes_done;
  }
  if (s.last == slot) ++s.run_len;
  else s.last = slot, s.run_len = 1;
  int best = best_waiter(slot);
  if (best != kNoHolder && g_slots[best].prio < me.prio) {
    if (s.run_len > g_config.spin_bound) {
      // Shuttle's rule: a thread that keeps running while others wait is likely spinning on one of them.
      me.prio = --s.low_prio;
      ++s.demotions;
      s.run_len = 0;
    } else {
      best = kNoHolder;
    }
  }
  if (best == kNoHolder) best = slot;
  if (s.cur.trace.size() < kTraceCap) s.cur.trace.push_back(static_cast<std::int16_t>(best - 1));
  if (best == slot) {
    s.lock.unlock();
    return;
  }
  me.wants = true;
  give(best);
  s.lock.unlock();
  wait_for_token(slot);
}

void pct_blocking_begin() {
  Sched& s = g_sched;
  LockGuard g(s.lock);
  const int slot = enter(t_pct);
  if (slot < 0) return;
  g_slots[slot].blocked = true;
  g_slots[slot].wants = false;
  if (s.holder == slot) dispatch();
}

void pct_blocking_end() {
  Sched& s = g_sched;
  s.lock.lock();
  const int slot = enter(t_pct);
  if (slot < 0) {
    s.lock.unlock();
    return;
  }
  g_slots[slot].blocked = false;
  if (s.holder == slot) {
    s.lock.unlock();
    return;
  }
  acquire_token(slot, s.lock);
}

PctThread::~PctThread() {
  if (slot < 0 || generation != g_generation.load(std::memory_order_relaxed)) return;
  Sched& s = g_sched;
  LockGuard g(s.lock);
  if (s.iteration != iteration) return;
  Slot& t = g_slots[slot];
  t.registered = t.wants = t.blocked = false;
  t.tid = 0;
  if (s.holder == slot) dispatch();
}

bool decide(unsigned action) {
  if (!(g_config.actions & action) || g_config.p <= 0) return false;
  ThreadState& t = thread_state();
  if (!t.rng.chance(g_config.p)) return false;
  g_hits.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::string trace_text(const std::vector<std::int16_t>& trace, bool& cut) {
  // Run-length encoded: "0*3 1 -1*2" = actor 0 for three steps, actor 1 once, the main thread twice.
  std::string out;
  cut = false;
  for (std::size_t i = 0; i < trace.size();) {
    std::size_t j = i;
    while (j < trace.size() && trace[j] == trace[i]) ++j;
    if (out.size() > 8000) {
      cut = true;
      break;
    }
    if (!out.empty()) out += ' ';
    out += std::to_string(trace[i]);
    if (j - i > 1) out += '*' + std::to_string(j - i);
    i = j;
  }
  return out;
}

}  // namespace

static thread_local Nanos t_held = 0;

// Marks the calling thread as held by chaos (PhaseSlot::in_chaos) for the parked probe, and adds the time to
// held_ns() for slack checks.
struct HeldByChaos {
  PhaseSlot& slot = phase_slot(current_actor());
  const Nanos t0 = now_ns();
  HeldByChaos() { slot.in_chaos.fetch_add(1, std::memory_order_acq_rel); }
  ~HeldByChaos() {
    slot.in_chaos.fetch_sub(1, std::memory_order_acq_rel);
    t_held += now_ns() - t0;
  }
  HeldByChaos(const HeldByChaos&) = delete;
  HeldByChaos& operator=(const HeldByChaos&) = delete;
};

std::int64_t held_ns() { return t_held; }

void detach_after_fork() { g_enabled.store(false, std::memory_order_relaxed); }

void point_slow(const char* name) {
  if (g_config.mode == Mode::pct) {
    HeldByChaos held;  // may wait for the token
    pct_point();
    return;
  }
  ThreadState& t = thread_state();
  if (!t.rng.chance(g_config.p)) return;
  if (g_config.swarm && !site_on(name)) return;
  HeldByChaos held;  // only a point that acts holds the thread: the others stay two loads and a draw
  do_delay_action(t, g_config.actions & kDelayActions);
}

bool spurious_slow(const char* /*name*/) { return decide(kSpurious); }
bool timeout_slow(const char* /*name*/) { return decide(kTimeout); }

void blocking_begin_slow(const char* /*name*/) {
  if (g_config.mode == Mode::pct) pct_blocking_begin();
}
void blocking_end_slow(const char* /*name*/) {
  if (g_config.mode != Mode::pct) return;
  HeldByChaos held;  // back from the kernel, now waiting for the token
  pct_blocking_end();
}

std::string configure(std::string_view spec, std::uint64_t seed) {
  Config c;
  c.seed = seed;
  c.spec = std::string(spec);
  bool actions_given = false;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return "chaos setting '" + std::string(item) + "' is not key=value";
    std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    double d = 0;
    if (k == "mode") {
      if (v == "random") c.mode = Mode::random;
      else if (v == "pct") c.mode = Mode::pct;
      else return "chaos mode must be random or pct, got '" + std::string(v) + "'";
    } else if (k == "p") {
      if (!parse_double(v, d) || d < 0 || d > 1) return "chaos p must be a probability in [0,1], got '" + std::string(v) + "'";
      c.p = d;
    } else if (k == "actions") {
      actions_given = true;
      c.actions = 0;
      while (!v.empty()) {
        auto plus = v.find('+');
        std::string_view a = v.substr(0, plus);
        v = plus == std::string_view::npos ? std::string_view{} : v.substr(plus + 1);
        if (a == "yield") c.actions |= kYield;
        else if (a == "spin") c.actions |= kSpin;
        else if (a == "sleep") c.actions |= kSleep;
        else if (a == "stall") c.actions |= kStall;
        else if (a == "spurious") c.actions |= kSpurious;
        else if (a == "timeout") c.actions |= kTimeout;
        else return "unknown chaos action '" + std::string(a) + "' (accepted: " + kActionNames + ")";
      }
      if (c.actions == 0) return std::string("chaos actions must name at least one of ") + kActionNames;
    } else if (k == "sleep_max_us" || k == "stall_us" || k == "token_wait_us" || k == "poll_us" ||
               k == "start_wait_us") {
      if (!parse_double(v, d) || d < 1 || d > 1e7) return "chaos " + std::string(k) + " must be 1..10000000";
      const Nanos ns = static_cast<Nanos>(d * 1000);
      if (k == "sleep_max_us") c.sleep_max = std::max<Nanos>(ns, 1000);
      else if (k == "stall_us") c.stall = ns;
      else if (k == "token_wait_us") c.token_wait = ns;
      else if (k == "start_wait_us") c.start_wait = ns;
      else c.poll = ns;
    } else if (k == "cap") {
      if (!parse_double(v, d) || d < 0 || d > 100) return "chaos cap must be 0..100 (fraction of wall time), got '" + std::string(v) + "'";
      c.cap = d;
    } else if (k == "swarm") {
      if (v != "0" && v != "1") return "chaos swarm must be 0 or 1";
      c.swarm = v == "1";
    } else if (k == "d") {
      if (!parse_double(v, d) || d < 1 || d > 10 || d != std::floor(d)) return "chaos d (PCT depth) must be 1..10";
      c.d = static_cast<int>(d);
    } else if (k == "actors") {
      if (!parse_double(v, d) || d < 0 || d > kMaxActors || d != std::floor(d)) return "chaos actors must be 0..256";
      c.actors = static_cast<int>(d);
    } else if (k == "k" || k == "spin_bound") {
      if (!parse_double(v, d) || d < 0 || d > 1e9 || d != std::floor(d)) return "chaos " + std::string(k) + " must be a whole number 0..1000000000";
      (k == "k" ? c.k : c.spin_bound) = static_cast<std::uint64_t>(d);
    } else {
      return "unknown chaos setting '" + std::string(k) +
             "' (accepted: mode, p, actions, sleep_max_us, stall_us, cap, swarm, d, k, token_wait_us, poll_us, start_wait_us, spin_bound, actors)";
    }
  }
  if (c.mode == Mode::pct && !actions_given) c.actions = 0;  // pct: no delays; spurious/timeout only if asked
  g_enabled.store(false, std::memory_order_release);
  g_config = c;
  {
    LockGuard g(g_sched.lock);
    g_sched.iteration = ~0ULL;
    g_sched.holder = kNoHolder;
    for (int i = 0; i < g_sched.top; ++i) g_slots[i].registered = g_slots[i].wants = g_slots[i].blocked = false;
    g_sched.top = 0;
    g_sched.k_learned = 0;
    g_sched.have_fail = false;
    g_sched.steals = g_sched.forced = g_sched.demotions = g_sched.late_starts = 0;
    g_sched.steps_max = g_sched.iterations = 0;
    g_sched.n_max = 0;
  }
  g_generation.fetch_add(1, std::memory_order_relaxed);
  g_hits.store(0);
  g_injected.store(0);
  g_start = now_ns();
  g_enabled.store(c.mode == Mode::pct || c.p > 0, std::memory_order_release);
  return {};
}

std::uint64_t hits() { return g_hits.load(std::memory_order_relaxed); }

std::string pct_trace() {
  LockGuard g(g_sched.lock);
  bool cut = false;
  return trace_text(g_sched.cur.trace, cut);
}

PctStats pct_stats() {
  LockGuard g(g_sched.lock);
  return PctStats{g_sched.steals, g_sched.forced, g_sched.demotions, g_sched.late_starts};
}

void report(Run& run, const char* why) {
  if (!g_enabled.load(std::memory_order_acquire)) return;
  Json j = run.events().begin("schedule");
  j.kv("mode", g_config.mode == Mode::pct ? "pct" : "random").kv("seed", g_config.seed).kv("spec", g_config.spec);
  j.kv("why", why).kv("hits", hits());
  j.kv("injected_ms", static_cast<double>(g_injected.load(std::memory_order_relaxed)) / 1e6);
  if (g_config.mode == Mode::pct) {
    Sched& s = g_sched;
    LockGuard g(s.lock);
    const bool failing = std::string_view(why) == "fail" || std::string_view(why) == "hang";
    // The iteration to show: the first one that failed, else (a run ending in failure now) the current one.
    const Snapshot& snap = s.have_fail ? s.fail : s.cur;
    j.kv("d", g_config.d).kv("iterations", s.iterations);
    j.kv("n_max", s.n_max).kv("steps_max", std::max(s.steps_max, s.cur.steps));
    j.kv("steals", s.steals).kv("forced", s.forced).kv("demotions", s.demotions).kv("late_starts", s.late_starts);
    j.key("failing").boolean(failing || s.have_fail);
    j.kv("iteration", snap.iteration).kv("k", snap.k).kv("n", snap.n).kv("steps", snap.steps);
    j.key("change_points").begin_array();
    for (auto cp : snap.change_points) j.num(cp);
    j.end_array();
    j.key("priorities").begin_object();
    for (const auto& [actor, prio] : snap.priorities) j.kv(std::to_string(actor), prio);
    j.end_object();
    bool cut = false;
    j.kv("trace", trace_text(snap.trace, cut));
    j.kv("trace_cut", cut || snap.trace.size() >= kTraceCap);
  }
  run.events().emit(j);
}

}  // namespace jostle::chaos
