// PCT mode (Burckhardt et al., ASPLOS 2010) on real threads: per-iteration priorities and change points, thread
// registration, the first step's wait for the declared actors, and the scheduling step at each point. The token
// hand-over is in chaos_token.cc; docs/amplification.md says what this can and cannot promise.
#include <algorithm>
#include <cstdio>

#include "chaos_pct.h"
#include "jostle/chaos.h"
#include "jostle/json.h"
#include "jostle/probe.h"
#include "run_hook.h"

namespace jostle::chaos::detail {

namespace {

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
    g_slots[i].registered = g_slots[i].wants = g_slots[i].blocked = g_slots[i].timed = g_slots[i].harness = false;
    g_slots[i].fired.store(false, std::memory_order_relaxed);
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
  // With vclock=1 only the threads the harness started take part: a backend's own thread (an executor's carrier)
  // reads as actor -1 like the case's main thread, and holding slot 0 it would keep the main thread out and have
  // its own timed waits decided by a schedule that cannot see the threads it serves.
  if (g_config.vclock && slot == 0 && phase_slot(-1).tid.load(std::memory_order_acquire) != me) return -1;
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

// Like enter(), for a thread that must not join the schedule: its slot if it already takes part in the
// current iteration, else -1. Lock held.
int enrolled(const PctThread& me) {
  if (me.generation != g_generation.load(std::memory_order_relaxed) || me.iteration != current_iteration() ||
      g_sched.iteration != me.iteration)
    return -1;
  return me.slot;
}


// The iteration in which each actor last finished its body (~0: none yet).
std::atomic<std::uint64_t> g_finished_in[kMaxActors];
struct FinishedInit {
  FinishedInit() {
    for (auto& f : g_finished_in) f.store(~0ULL, std::memory_order_relaxed);
  }
} g_finished_init;

// case declared has registered. Lock held on entry and on return.
void await_starters(Sched& s) {
  RunHook* r = run_hook();
  const int expected = r ? r->declared_threads() : g_config.actors;
  if (s.cur.n >= expected) return;
  const std::uint64_t iter = s.iteration;
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
        if (tid == 0 && g_finished_in[a].load(std::memory_order_acquire) == iter) continue;  // finished already
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

}  // namespace

int enter_current() { return enter(t_pct); }

void pct_actor_finished(int actor) {
  if (actor >= 0 && actor < kMaxActors) g_finished_in[actor].store(current_iteration(), std::memory_order_release);
}
int enrolled_current() { return enrolled(t_pct); }

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
  for (;;) {
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
    settle(slot);
    if (s.holder == slot) break;  // else a waiter forced the token away while we waited for the others
  }
  // A scheduling step: we hold the token.
  ++s.cur.steps;
  g_hits.fetch_add(1, std::memory_order_relaxed);
  if (g_config.vclock) {
    vclock_step(slot);  // may release the lock while fired threads come back
    if (s.holder != slot) {  // overtaken meanwhile (the wall-clock last resort): wait for the token again
      me.wants = true;
      s.lock.unlock();
      wait_for_token(slot);
      return;
    }
  }
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

void pct_blocking_begin(bool enlist) {
  Sched& s = g_sched;
  LockGuard g(s.lock);
  const int slot = enlist ? enter(t_pct) : enrolled(t_pct);
  if (slot < 0) return;
  g_slots[slot].blocked = true;
  g_slots[slot].harness = !enlist;
  g_slots[slot].wants = false;
  if (s.holder != slot) return;
  settle(slot);
  if (s.holder == slot) dispatch();
}

void pct_blocking_end(bool enlist) {
  Sched& s = g_sched;
  s.lock.lock();
  const int slot = enlist ? enter(t_pct) : enrolled(t_pct);
  if (slot < 0) {
    s.lock.unlock();
    return;
  }
  g_slots[slot].blocked = false;
  g_slots[slot].harness = false;
  if (s.holder == slot) {
    s.lock.unlock();
    return;
  }
  acquire_token(slot, s.lock);
}

namespace {

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

void pct_reset() {
  for (auto& f : g_finished_in) f.store(~0ULL, std::memory_order_relaxed);
  LockGuard g(g_sched.lock);
  g_sched.iteration = ~0ULL;
  g_sched.holder = kNoHolder;
  for (int i = 0; i < g_sched.top; ++i) g_slots[i].registered = g_slots[i].wants = g_slots[i].blocked = false;
  g_sched.top = 0;
  g_sched.k_learned = 0;
  g_sched.have_fail = false;
  g_sched.steals = g_sched.forced = g_sched.demotions = g_sched.late_starts = g_sched.unsettled = 0;
  g_sched.steps_max = g_sched.iterations = 0;
  g_sched.n_max = 0;
  g_sched.vnow = now_ns();  // the virtual clock starts at the wall clock's reading, then goes its own way
  g_sched.v_due = g_sched.v_idle = g_sched.v_idle_holder = g_sched.v_wall = g_sched.v_late = g_sched.v_unsettled = 0;
}

void pct_describe(Json& j, bool failing) {
  Sched& s = g_sched;
  LockGuard g(s.lock);
  // The iteration to show: the first one that failed, else (a run ending in failure now) the current one.
  const Snapshot& snap = s.have_fail ? s.fail : s.cur;
  j.kv("d", g_config.d).kv("iterations", s.iterations);
  j.kv("n_max", s.n_max).kv("steps_max", std::max(s.steps_max, s.cur.steps));
  j.kv("steals", s.steals).kv("forced", s.forced).kv("demotions", s.demotions).kv("late_starts", s.late_starts);
  j.kv("unsettled", s.unsettled);
  if (g_config.vclock) {
    j.key("vclock").begin_object();
    j.kv("tick_ns", g_config.tick).kv("virtual_ms", static_cast<double>(s.vnow) / 1e6);
    j.kv("due", s.v_due).kv("idle", s.v_idle).kv("idle_holder", s.v_idle_holder).kv("late", s.v_late);
    j.kv("unsettled", s.v_unsettled);
    j.end_object();
  }
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

}  // namespace jostle::chaos::detail

namespace jostle::chaos {

std::string pct_trace() {
  using namespace detail;
  LockGuard g(g_sched.lock);
  bool cut = false;
  return trace_text(g_sched.cur.trace, cut);
}

PctStats pct_stats() {
  using namespace detail;
  LockGuard g(g_sched.lock);
  return PctStats{g_sched.steals, g_sched.forced, g_sched.demotions, g_sched.late_starts};
}

}  // namespace jostle::chaos
