#include "jostle/watchdog.h"

#include <unistd.h>

#include <cstdlib>

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
}

void release_actor_slot(int actor) {
  PhaseSlot& s = phase_slot(actor);
  s.phase.store("done", std::memory_order_relaxed);
  s.tid.store(0, std::memory_order_release);
}

void phase(const char* what) {
  PhaseSlot& s = phase_slot(t_actor);
  s.since.store(now_ns(), std::memory_order_relaxed);
  s.phase.store(what, std::memory_order_release);
}

Watchdog::Watchdog(Run& run, Nanos deadline_abs, Nanos hold) : run_(run), deadline_(deadline_abs), hold_(hold) {
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
    const Nanos wake_at = std::min(deadline_, next_progress);
    sys::futex_wait(stop_, 0, wake_at - now);
  }
  if (stop_.load(std::memory_order_acquire) != 0) return;

  // The deadline passed with the case still running: report where every thread is.
  chaos::report(run_, "hang");
  Json j = run_.events().begin("hang");
  j.kv("deadline_ms", static_cast<double>(deadline_ - process_start_ns()) / 1e6);
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
  std::fprintf(stderr, "jostle: watchdog deadline passed in %s; hang event written\n", run_.instance().id.c_str());
  if (hold_ > 0) sleep_ns(hold_);
  std::_Exit(4);
}

}  // namespace jostle
