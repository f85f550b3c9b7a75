#include "run.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <climits>
#include <exception>

#include "jostle/chaos.h"
#include "jostle/check.h"
#include "jostle/context.h"
#include "jostle/watchdog.h"

namespace jostle {

namespace {
std::atomic<Run*> g_run{nullptr};
constexpr std::uint64_t kMaxCheckEvents = 50;
}  // namespace

Run* current_run() { return g_run.load(std::memory_order_acquire); }
RunHook* run_hook() { return current_run(); }
void set_current_run(Run* r) { g_run.store(r, std::memory_order_release); }

Nanos process_start_ns() {
  static const Nanos t0 = now_ns();
  return t0;
}

Json EventSink::begin(const char* ev) const {
  Json j;
  j.begin_object();
  j.kv("v", 1).kv("ev", ev).kv("t_ms", static_cast<double>(now_ns() - process_start_ns()) / 1e6);
  return j;
}

void EventSink::emit(Json& j) {
  j.end_object();
  if (fd_ < 0) return;
  std::string line = j.take();
  line += '\n';
  sys::RawLockGuard g(lock_);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!failed_.exchange(true)) {
        std::fprintf(stderr, "jostle: cannot write events (%s); results from here on are lost\n",
                     std::strerror(errno));
      }
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

Run::Run(const Instance& inst, EventSink& events)
    : inst_(inst),
      events_(events),
      declared_counts_(new std::atomic<std::uint64_t>[inst.def->outcomes.size() + 1]) {
  for (std::size_t i = 0; i <= inst.def->outcomes.size(); ++i) declared_counts_[i].store(0);
}

void Run::record(std::string_view key) {
  const auto& outs = inst_.def->outcomes;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    if (outs[i].key == key) {
      declared_counts_[i].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  sys::RawLockGuard g(extra_lock_);
  for (auto& [k, n] : extra_) {
    if (k == key) {
      ++n;
      return;
    }
  }
  extra_.emplace_back(std::string(key), 1);
}

std::uint64_t Run::forbidden() const {
  std::uint64_t n = 0;
  const auto& outs = inst_.def->outcomes;
  for (std::size_t i = 0; i < outs.size(); ++i)
    if (outs[i].grade == Grade::forbidden) n += declared_counts_[i].load(std::memory_order_relaxed);
  sys::RawLockGuard g(extra_lock_);
  for (const auto& e : extra_) n += e.second;
  return n;
}

void Run::write_outcomes(Json& j) const {
  j.key("outcomes").begin_object();
  const auto& outs = inst_.def->outcomes;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    std::uint64_t n = declared_counts_[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    j.key(outs[i].key).begin_object();
    j.kv("count", n).kv("grade", to_string(outs[i].grade));
    if (!outs[i].desc.empty()) j.kv("desc", outs[i].desc);
    j.end_object();
  }
  sys::RawLockGuard g(extra_lock_);
  for (const auto& [k, n] : extra_) {
    j.key(k).begin_object();
    j.kv("count", n).kv("grade", "FORBIDDEN").kv("desc", "not declared by the case");
    j.end_object();
  }
  j.end_object();
}

void Run::metric(std::string_view name, double v, const char* unit) {
  sys::RawLockGuard g(metric_lock_);
  for (auto& m : metrics_) {
    if (m.name == name) {
      ++m.n;
      m.min = std::min(m.min, v);
      m.max = std::max(m.max, v);
      m.sum += v;
      return;
    }
  }
  metrics_.push_back(Metric{std::string(name), unit ? unit : "", 1, v, v, v});
}

void Run::write_metrics(Json& j) {
  j.key("metrics").begin_object();
  sys::RawLockGuard g(metric_lock_);
  for (const auto& m : metrics_) {
    j.key(m.name).begin_object();
    j.kv("n", m.n).kv("min", m.min).kv("max", m.max).kv("sum", m.sum).kv("unit", m.unit);
    j.end_object();
  }
  j.end_object();
}

void Run::check_failed(const char* file, int line, const char* expr, const std::string& msg, bool fatal) {
  std::uint64_t nth = checks_failed_.fetch_add(1, std::memory_order_relaxed);
  if (nth < kMaxCheckEvents) {
    // Paths are reported from the repository root when the build put them under it.
    std::string_view f(file);
    if (auto pos = f.find("/suites/"); pos != std::string_view::npos) f.remove_prefix(pos + 1);
    else if (auto pos2 = f.find("/harness/"); pos2 != std::string_view::npos) f.remove_prefix(pos2 + 1);
    Json j = events_.begin("check");
    j.kv("fatal", fatal).kv("file", f).kv("line", line).kv("expr", expr).kv("msg", msg);
    j.kv("thread", current_actor()).kv("iteration", iterations_done());
    events_.emit(j);
    if (!events_.enabled() && nth < 5)
      std::fprintf(stdout, "  %s at %.*s:%d: %s %s\n", fatal ? "REQUIRE failed" : "CHECK failed",
                   static_cast<int>(f.size()), f.data(), line, expr, msg.c_str());
  }
  if (fatal) {
    write_end("fail", "");
    std::fflush(stdout);
    std::_Exit(events_.ok() ? 1 : 3);
  }
}

void Run::write_end(const char* status, const std::string& reason) {
  if (ended_.exchange(true)) return;
  write_schedule(status);  // the schedule event (seed, PCT trace) goes before the last event
  Json j = events_.begin("end");
  j.kv("status", status);
  if (!reason.empty()) j.kv("reason", reason);
  j.kv("iterations_done", iterations_done());
  j.kv("elapsed_ms", static_cast<double>(now_ns() - process_start_ns()) / 1e6);
  j.kv("checks_failed", checks_failed()).kv("forbidden", forbidden());
  write_outcomes(j);
  write_metrics(j);
  events_.emit(j);
}

void Run::write_schedule(const char* why) {
  Json j = events_.begin("schedule");
  if (chaos::describe_schedule(j, why)) events_.emit(j);
}

std::string Run::summary_line() const {
  std::string s = inst_.id + ": " + std::to_string(iterations_done()) + " iterations, " +
                  std::to_string(checks_failed()) + " failed checks, " + std::to_string(forbidden()) +
                  " forbidden outcomes";
  return s;
}

namespace detail {

void report_check(const char* file, int line, const char* expr, const std::string& msg, bool fatal) {
  if (Run* r = current_run()) {
    r->check_failed(file, line, expr, msg, fatal);
  } else {
    // Outside a run (harness self-tests): fail loudly.
    std::fprintf(stderr, "%s:%d: check failed outside a run: %s %s\n", file, line, expr, msg.c_str());
    if (fatal) std::abort();
  }
}

void actor_escaped(int actor, std::exception_ptr e) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const Unsupported& u) {
    what = "unsupported() called from an actor thread: " + u.reason;
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  report_check(__FILE__, __LINE__, "actor body returned normally",
               "exception escaped actor " + std::to_string(actor) + ": " + what, false);
}

}  // namespace detail

// ---- Context ----

Context::Context(Run& run, const Instance& inst, std::uint64_t seed)
    : run_(run), inst_(inst), seed_(seed), rng_(seed) {}

std::uint64_t Context::seed_for(std::uint64_t stream) const {
  Rng r(seed_ ^ (iteration_ * 0x9e3779b97f4a7c15ULL) ^ (stream * 0xd1b54a32d192ed03ULL));
  return r.next();
}

void Context::begin_iteration(std::uint64_t i) {
  iteration_ = i;
  rng_ = Rng(seed_for(0xffffffffULL));
}

const std::string& Context::param(std::string_view name) const {
  for (const auto& [k, v] : inst_.params)
    if (k == name) return v;
  static const std::string empty;
  std::fprintf(stderr, "jostle: case %s asked for undeclared parameter '%.*s'\n", inst_.def->case_id().c_str(),
               static_cast<int>(name.size()), name.data());
  return empty;
}

long long Context::param_int(std::string_view name) const { return std::atoll(param(name).c_str()); }

void Context::record(std::string_view key) { run_.record(key); }

void Context::metric(std::string_view name, double value, const char* unit) { run_.metric(name, value, unit); }

void Context::unsupported(std::string reason) { throw Unsupported{std::move(reason)}; }

}  // namespace jostle

namespace jostle {
namespace {
std::atomic<Nanos> g_stop_at{INT64_MAX};
}
void set_stop_at(Nanos t) { g_stop_at.store(t, std::memory_order_relaxed); }
bool Context::stop_requested() const { return now_ns() >= g_stop_at.load(std::memory_order_relaxed); }
}  // namespace jostle
