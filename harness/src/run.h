// Harness-internal run state: the event sink, the outcome histogram, metrics and check accounting for the one
// instance this process runs. Everything here is guarded by raw atomics or sys::RawLock, never by a primitive
// under test.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "jostle/clock.h"
#include "jostle/json.h"
#include "jostle/registry.h"
#include "jostle/sys.h"
#include "run_hook.h"

namespace jostle {

// Appends whole JSON lines to a file descriptor, one write(2) per event so a crash leaves only whole lines.
class EventSink {
 public:
  void open_fd(int fd) { fd_ = fd; }
  bool enabled() const { return fd_ >= 0; }
  // Returns false once any write failed (disk full, closed pipe); the run then ends with exit code 3.
  bool ok() const { return !failed_.load(std::memory_order_relaxed); }
  // Starts an event object with v, ev and t_ms filled in.
  Json begin(const char* ev) const;
  void emit(Json& j);

 private:
  int fd_ = -1;
  std::atomic<bool> failed_{false};
  sys::RawLock lock_;
};

struct Metric {
  std::string name;
  std::string unit;
  std::uint64_t n = 0;
  double min = 0, max = 0, sum = 0;
};

class Run final : public RunHook {
 public:
  Run(const Instance& inst, EventSink& events);

  const Instance& instance() const { return inst_; }
  EventSink& events() { return events_; }

  void record(std::string_view key);
  void metric(std::string_view name, double v, const char* unit);
  void check_failed(const char* file, int line, const char* expr, const std::string& msg, bool fatal);

  std::uint64_t iterations_done() const override { return iterations_done_.load(std::memory_order_relaxed); }
  int declared_threads() const override { return inst_.def->threads; }
  std::uint64_t failures() const override { return checks_failed() + forbidden(); }
  void set_iterations_done(std::uint64_t n) { iterations_done_.store(n, std::memory_order_relaxed); }
  std::uint64_t checks_failed() const { return checks_failed_.load(std::memory_order_relaxed); }
  std::uint64_t forbidden() const;

  void write_outcomes(Json& j) const;
  void write_metrics(Json& j);
  // Writes the chaos `schedule` event when chaos is on (before the last event); `why` as in the end status.
  void write_schedule(const char* why);
  // Writes the end event; status is "pass", "fail" or "unsupported".
  void write_end(const char* status, const std::string& reason);
  std::string summary_line() const;

 private:
  const Instance& inst_;
  EventSink& events_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> declared_counts_;
  mutable sys::RawLock extra_lock_;
  std::vector<std::pair<std::string, std::uint64_t>> extra_;  // outcomes the case did not declare
  sys::RawLock metric_lock_;
  std::vector<Metric> metrics_;
  std::atomic<std::uint64_t> checks_failed_{0};
  std::atomic<std::uint64_t> iterations_done_{0};
  std::atomic<bool> ended_{false};
};

Run* current_run();
void set_current_run(Run* r);
Nanos process_start_ns();

// The watchdog thread: progress events about once a second, and at the absolute deadline a hang event
// followed by exit code 4 (after holding the process for `hold` so that a caller can capture stacks).
class Watchdog {
 public:
  // deadlock_after > 0: also report a hang once every thread has slept in an untimed futex wait, without being
  // scheduled, for that long (deadlock.h); 0 = only the deadline.
  Watchdog(Run& run, Nanos deadline_abs, Nanos hold, Nanos deadlock_after = 0);
  ~Watchdog();
  void stop();

 private:
  void loop();
  [[noreturn]] void report_hang(const char* reason, Nanos quiet);
  Run& run_;
  Nanos deadline_;
  Nanos hold_;
  Nanos deadlock_after_;
  std::atomic<std::uint32_t> stop_{0};
  std::unique_ptr<std::thread> thread_;
};

}  // namespace jostle

namespace jostle {
// When --duration passes; Context::stop_requested() reads it.
void set_stop_at(Nanos t);
}  // namespace jostle
