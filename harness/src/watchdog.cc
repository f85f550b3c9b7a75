#include "jostle/watchdog.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "chaos_internal.h"
#include "deadlock.h"
#include "jostle/chaos.h"
#include "jostle/sys.h"
#include "run.h"

namespace jostle {

namespace {
PhaseSlot g_slots[kMaxActors + 1];
thread_local int t_actor = -1;
}  // namespace

PhaseSlot& phase_slot(int actor) {
  int i = actor + 1;
  if (i < 0 || i > kMaxActors) i = 0;
  return g_slots[i];
}

int current_actor() { return t_actor; }

void bind_current_thread(int actor) {
  t_actor = actor;
  PhaseSlot& s = phase_slot(actor);
  s.phase.store("start", std::memory_order_relaxed);
  s.since.store(now_ns(), std::memory_order_relaxed);
  s.tid.store(sys::gettid(), std::memory_order_release);
  chaos::preempt_thread_begin(actor);
}

void release_actor_slot(int actor) {
  chaos::preempt_thread_end();
  chaos::detail::pct_actor_finished(actor);
  PhaseSlot& s = phase_slot(actor);
  s.phase.store("done", std::memory_order_relaxed);
  s.tid.store(0, std::memory_order_release);
}

void phase(const char* what) {
  PhaseSlot& s = phase_slot(t_actor);
  s.since.store(now_ns(), std::memory_order_relaxed);
  s.phase.store(what, std::memory_order_release);
}

Watchdog::Watchdog(Run& run, Nanos deadline_abs, Nanos hold, Nanos deadlock_after)
    : run_(run), deadline_(deadline_abs), hold_(hold), deadlock_after_(deadlock_after) {
  thread_ = std::make_unique<std::thread>([this] { loop(); });
}

Watchdog::~Watchdog() { stop(); }

void Watchdog::stop() {
  if (!thread_) return;
  stop_.store(1, std::memory_order_release);
  sys::futex_wake(stop_);
  thread_->join();
  thread_.reset();
}

void Watchdog::loop() {
  constexpr Nanos kProgressEvery = kSecond;
  // How often the deadlock check samples /proc while it is on: a tenth of the quiet period, 5-50 ms.
  const Nanos poll = std::clamp<Nanos>(deadlock_after_ / 10, 5 * kMilli, 50 * kMilli);
  const pid_t self = sys::gettid();
  chaos::preempt_plumbing_thread(true);  // not a target of preempt's others_us sweeper
  struct Unmark {
    ~Unmark() { chaos::preempt_plumbing_thread(false); }
  } unmark;
  std::vector<deadlock::Blocked> first, now_blocked;
  Nanos quiet_since = -1;  // when the current all-blocked, nobody-ran stretch began (-1: not in one)
  Nanos next_progress = now_ns() + kProgressEvery;
  while (stop_.load(std::memory_order_acquire) == 0) {
    const Nanos now = now_ns();
    if (now >= deadline_) break;
    if (now >= next_progress) {
      Json j = run_.events().begin("progress");
      j.kv("iterations_done", run_.iterations_done());
      run_.write_outcomes(j);
      run_.events().emit(j);
      next_progress = now + kProgressEvery;
    }
    if (deadlock_after_ > 0) {
      if (!deadlock::snapshot(self, now_blocked)) {
        quiet_since = -1;
      } else if (quiet_since < 0 || !deadlock::unchanged(first, now_blocked)) {
        first.swap(now_blocked);
        quiet_since = now;
      } else if (now - quiet_since >= deadlock_after_) {
        report_hang("deadlock", now - quiet_since);
      }
    }
    Nanos wake_at = std::min(deadline_, next_progress);
    if (deadlock_after_ > 0) wake_at = std::min(wake_at, now + poll);
    sys::futex_wait(stop_, 0, wake_at - now);
  }
  if (stop_.load(std::memory_order_acquire) != 0) return;
  report_hang("deadline", 0);
}

// Reports where every thread is, in one `hang` event, then ends the process (after --hang-hold, so that the
// runner can attach a debugger for stacks).
void Watchdog::report_hang(const char* reason, Nanos quiet) {
  run_.write_schedule("hang");
  Json j = run_.events().begin("hang");
  j.kv("reason", reason);
  j.kv("deadline_ms", static_cast<double>(deadline_ - process_start_ns()) / 1e6);
  if (quiet > 0) j.kv("quiet_ms", static_cast<double>(quiet) / 1e6);
  j.kv("iteration", run_.iterations_done());
  j.key("threads").begin_array();
  const Nanos now = now_ns();
  for (int actor = -1; actor < kMaxActors; ++actor) {
    PhaseSlot& s = phase_slot(actor);
    const pid_t tid = s.tid.load(std::memory_order_acquire);
    if (tid == 0) continue;
    const char* ph = s.phase.load(std::memory_order_acquire);
    j.begin_object();
    j.kv("actor", actor).kv("tid", static_cast<std::int64_t>(tid)).kv("phase", ph ? ph : "");
    j.kv("since_ms", static_cast<double>(now - s.since.load(std::memory_order_relaxed)) / 1e6);
    j.end_object();
  }
  j.end_array();
  run_.write_outcomes(j);
  run_.events().emit(j);
  if (quiet > 0) {
    std::fprintf(stderr,
                 "jostle: every thread of %s slept in an untimed futex wait for %.0f ms without running (a lost "
                 "wakeup or a deadlock); hang event written\n",
                 run_.instance().id.c_str(), static_cast<double>(quiet) / 1e6);
  } else {
    std::fprintf(stderr, "jostle: watchdog deadline passed in %s; hang event written\n", run_.instance().id.c_str());
  }
  if (hold_ > 0) sleep_ns(hold_);
  std::_Exit(4);
}

}  // namespace jostle
